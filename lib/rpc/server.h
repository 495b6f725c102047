/* Private server structures shared by server.c, call.c and health.c. */
#ifndef MP_RPC_SERVER_H
#define MP_RPC_SERVER_H

#include <pthread.h>

#include "internal.h"

typedef struct mp__method {
  char *path; /* "/pkg.Service/Method" */
  ProtobufCService *service;
  unsigned index; /* into service->descriptor->methods */
  bool is_health; /* exempt from the bearer token */
  bool unary;     /* from the .proto (see lib/rpc/CMakeLists.txt): the reply waits for the status */
  void *handle;   /* from grpc_server_register_method */
  struct mp__method *next;
} mp__method;

/* One armed request for an incoming call, and then that call. */
typedef struct mp__slot {
  mp_rpc_server *srv;
  mp__method *method; /* NULL for the generic slot (unregistered methods) */
  grpc_call *call;
  gpr_timespec deadline;
  grpc_metadata_array md;
  grpc_byte_buffer *payload;
  grpc_call_details details;
  grpc_completion_queue *cq; /* the call's own pluck queue */
} mp__slot;

struct mp_rpc_server {
  mp_rpc_server_opts opts; /* strings owned */
  grpc_server *server;
  grpc_completion_queue *cq; /* notifications: new calls, shutdown */
  int port;
  mp__method *methods;
  mp__health *health;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  unsigned threads, idle, active_calls;
  bool started, draining, shut, shutdown_done;
  int shutdown_tag; /* its address is the shutdown notification's tag */
  struct {
    grpc_completion_queue **items;
    size_t len, cap;
  } free_cqs;
};

/* Runs one call to completion on the calling thread (call.c). The caller unrefs. */
void mp__call_run(mp_rpc_server *s, mp__slot *sl);
grpc_completion_queue *mp__server_cq_get(mp_rpc_server *s);
void mp__server_cq_put(mp_rpc_server *s, grpc_completion_queue *cq);

#endif
