/* Private server structures shared by server.c, call.c and health.c. */
#ifndef MP_RPC_SERVER_H
#define MP_RPC_SERVER_H

#include <pthread.h>
#include <stdatomic.h>

#include "internal.h"

typedef struct mp__method {
  char *path; /* "/pkg.Service/Method" */
  ProtobufCService *service;
  unsigned index; /* into service->descriptor->methods */
  bool is_health; /* exempt from the bearer token */
  bool unary;     /* from the .proto (see lib/rpc/CMakeLists.txt): the reply waits for the status */
  void *handle;   /* from grpc_server_register_method */
  /* How long its handler runs (pool.c): calls run, moving average in ns. Updated without
   * a lock by whichever thread ran a call: an estimate. */
  _Atomic int64_t runs, avg_ns;
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
  /* The pool (pool.c): threads in all; pollers in grpc_completion_queue_next on cq (at
   * most one wanted); parked on park_cv; calls running. poll_gap_since: when the last
   * poller left the queue (0 while one polls). */
  pthread_cond_t park_cv, watchdog_cv;
  unsigned threads, pollers, parked, active_calls;
  int64_t poll_gap_since;
  pthread_t watchdog;
  bool watchdog_running, watchdog_parked, cq_down;
  _Atomic uint64_t calls_started;
  bool started, draining, shut, shutdown_done;
  int shutdown_tag; /* its address is the shutdown notification's tag */
  struct {
    grpc_completion_queue **items;
    size_t len, cap;
  } free_cqs;
};

/* The threads that poll the notification queue and run calls (pool.c). */
void mp__pool_start(mp_rpc_server *s);
void mp__pool_stop(mp_rpc_server *s); /* after the queue was shut down */
/* Frees an armed slot, and one whose call ran (server.c). */
void mp__slot_free(mp__slot *sl);
/* Arms a request for the next call of method m (NULL: any unregistered method). */
void mp__slot_arm(mp_rpc_server *s, mp__method *m);

/* Runs one call to completion on the calling thread (call.c). The caller unrefs. */
void mp__call_run(mp_rpc_server *s, mp__slot *sl);
grpc_completion_queue *mp__server_cq_get(mp_rpc_server *s);
void mp__server_cq_put(mp_rpc_server *s, grpc_completion_queue *cq);

#endif
