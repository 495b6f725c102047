/* meshplane rpc: gRPC servers and clients on gRPC C core, driven by protobuf-c.
 *
 * Server. A service is the object protoc-c generates for it, initialized with its
 * PREFIX__INIT(handler_prefix_) macro; mp_rpc_server_add_service() registers every
 * method of it under "/<package.Service>/<Method>" in one call. Handlers have protoc-c's
 * signature:
 *
 *   void my_get(Pkg__Svc_Service *svc, const Pkg__Req *in, Pkg__Resp_Closure done,
 *               void *closure_data);
 *
 * closure_data is the call's mp_rpc_ctx. A unary handler calls done(&resp, closure_data)
 * once; a server-streaming handler calls it once per message (each call returns when
 * the previous message has been handed to the transport: that is the backpressure).
 * To fail, call mp_rpc_fail(closure_data, code, "what to fix") and return (calling
 * done(NULL, ...) is optional). Returning without a message or a status ends the call
 * with OK and no message, which a unary client sees as an error. Handler state lives in
 * a struct that embeds the service object as its first member.
 *
 * Each call runs on a thread of a bounded pool that grows from min_threads to
 * max_threads with demand, so a handler may block (a long stream holds one thread). A
 * unary method whose handler has always been quick runs on the thread that received it,
 * with no hand-off; one that then blocks is noticed within a millisecond and the other
 * calls go on (see pool.c). Every server also serves grpc.health.v1.Health (Check, Watch).
 *
 * Client. mp_rpc_unary(), mp_rpc_unary_async() and mp_rpc_stream_*() call a method named
 * by the service descriptor and method name; no per-method glue either. Channels
 * reconnect within about a second after the peer restarts.
 *
 * Call mp_rpc_init() before anything else and mp_rpc_shutdown() at the end (both
 * reference-counted).
 */
#ifndef MESHPLANE_RPC_H
#define MESHPLANE_RPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#include "meshplane/base.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The gRPC status codes. */
typedef enum mp_rpc_code {
  MP_RPC_OK = 0,
  MP_RPC_CANCELLED = 1,
  MP_RPC_UNKNOWN = 2,
  MP_RPC_INVALID_ARGUMENT = 3,
  MP_RPC_DEADLINE_EXCEEDED = 4,
  MP_RPC_NOT_FOUND = 5,
  MP_RPC_ALREADY_EXISTS = 6,
  MP_RPC_PERMISSION_DENIED = 7,
  MP_RPC_RESOURCE_EXHAUSTED = 8,
  MP_RPC_FAILED_PRECONDITION = 9,
  MP_RPC_ABORTED = 10,
  MP_RPC_OUT_OF_RANGE = 11,
  MP_RPC_UNIMPLEMENTED = 12,
  MP_RPC_INTERNAL = 13,
  MP_RPC_UNAVAILABLE = 14,
  MP_RPC_DATA_LOSS = 15,
  MP_RPC_UNAUTHENTICATED = 16,
} mp_rpc_code;

/* "INVALID_ARGUMENT" etc. Static string. */
const char *mp_rpc_code_name(mp_rpc_code code);

/* The outcome of a client call: the code and the server's (or the library's) message. */
typedef struct mp_rpc_status {
  mp_rpc_code code;
  char message[512];
} mp_rpc_status;

void mp_rpc_init(void);
void mp_rpc_shutdown(void);

/* ---- server ------------------------------------------------------------------------ */

typedef struct mp_rpc_server mp_rpc_server;

typedef struct mp_rpc_server_opts {
  const char *listen;        /* "host:port"; port 0 picks a free one (see _port()) */
  unsigned min_threads;      /* threads kept waiting for calls (default 2) */
  unsigned max_threads;      /* calls handled at once; more are refused with
                                RESOURCE_EXHAUSTED (default 256) */
  int64_t grace_ms;          /* shutdown: how long in-flight calls may finish before
                                they are cancelled (default 5000) */
  const char *tls_cert_file; /* PEM server certificate chain and key: both enable TLS */
  const char *tls_key_file;
  const char *tls_client_ca_file; /* when set, clients must present a certificate
                                     signed by this CA */
  const char *auth_token;         /* when set, every call but health checks must carry
                                     "authorization: Bearer <token>" */
  size_t max_message_bytes;       /* default 64 MiB */
} mp_rpc_server_opts;

/* Creates a server bound to opts->listen (strings are copied). MP_ERR_INVALID or
 * MP_ERR_IO with a message when the address is bad, in use, or TLS files unreadable. */
mp_status mp_rpc_server_new(const mp_rpc_server_opts *opts, mp_rpc_server **out);
/* Registers every method of a protoc-c service (borrowed: it must outlive the server).
 * Call before mp_rpc_server_start. */
mp_status mp_rpc_server_add_service(mp_rpc_server *s, ProtobufCService *service);
/* The same service also under another full service name (e.g. "meshes.AdapterService"),
 * with some methods renamed: renames is a NULL-terminated list of pairs
 * {"NewName", "OriginalName", ...} (may be NULL). */
mp_status mp_rpc_server_add_service_alias(mp_rpc_server *s, ProtobufCService *service,
                                          const char *service_name, const char *const *renames);
mp_status mp_rpc_server_start(mp_rpc_server *s);
/* The bound port (useful after listening on port 0). */
int mp_rpc_server_port(const mp_rpc_server *s);
/* Sets the health of `service` ("" = the whole server) for Health.Check/Watch.
 * A started server is SERVING for "" and every registered service. */
void mp_rpc_server_set_health(mp_rpc_server *s, const char *service, bool serving);
/* Graceful shutdown: stop accepting calls, let in-flight calls finish for up to
 * grace_ms, then cancel the rest; returns when every handler has returned. */
void mp_rpc_server_shutdown(mp_rpc_server *s);
/* Shuts down if needed and frees. NULL is fine. */
void mp_rpc_server_free(mp_rpc_server *s);

/* ---- inside a handler: the call context (the handler's closure_data) ------------------- */

typedef struct mp_rpc_ctx mp_rpc_ctx;

/* Sends one message (the same as calling the closure). False when the call is over:
 * cancelled by the client, past its deadline, or the server is shutting down hard. */
bool mp_rpc_send(void *closure_data, const ProtobufCMessage *msg);
/* Sets the final status. The first status set wins; later sends are dropped. */
void mp_rpc_fail(void *closure_data, mp_rpc_code code, const char *fmt, ...) MP_PRINTF(3, 4);
/* True once the client cancelled, the deadline passed, or the call was cancelled by
 * a hard shutdown. Cheap; poll it in long loops. */
bool mp_rpc_cancelled(void *closure_data);
/* True once the server started shutting down: long-lived streams (watches) should end. */
bool mp_rpc_draining(void *closure_data);
/* Sleeps up to ms milliseconds, returning early (false) when the call is cancelled
 * or (true) when the server starts draining. Returns true when the time passed. */
bool mp_rpc_wait(void *closure_data, int64_t ms);
/* Milliseconds left before the call's deadline (INT64_MAX when it has none). */
int64_t mp_rpc_deadline_left_ms(void *closure_data);
/* The first value of request metadata `key` (lower-case), or NULL. Borrowed for the
 * duration of the handler. */
const char *mp_rpc_metadata(void *closure_data, const char *key);
/* "/package.Service/Method" and the peer address ("ipv4:127.0.0.1:5555"). Borrowed. */
const char *mp_rpc_method(void *closure_data);
const char *mp_rpc_peer(void *closure_data);
/* The server this call arrived on. */
mp_rpc_server *mp_rpc_call_server(void *closure_data);

/* ---- client ---------------------------------------------------------------------------- */

typedef struct mp_rpc_channel mp_rpc_channel;

typedef struct mp_rpc_channel_opts {
  bool tls;                  /* TLS with the system roots (or tls_ca_file) */
  const char *tls_ca_file;   /* PEM roots; implies tls */
  const char *tls_cert_file; /* client certificate and key for mutual TLS */
  const char *tls_key_file;
  const char *tls_server_name; /* expected server name if not the target's host */
  const char *auth_token;      /* sent as "authorization: Bearer <token>" */
  size_t max_message_bytes;    /* default 64 MiB */
} mp_rpc_channel_opts;

/* Creates a channel to target ("host:port", "dns:///host:port", "unix:/path").
 * Connection happens lazily. opts may be NULL. Strings are copied. */
mp_status mp_rpc_channel_new(const char *target, const mp_rpc_channel_opts *opts,
                             mp_rpc_channel **out);
/* The target as given. Borrowed. */
const char *mp_rpc_channel_target(const mp_rpc_channel *ch);
/* Waits up to timeout_ms for the channel to be connected; true when it is. */
bool mp_rpc_channel_wait_ready(mp_rpc_channel *ch, int64_t timeout_ms);
/* Frees the channel; calls still in flight on it fail. NULL is fine. */
void mp_rpc_channel_free(mp_rpc_channel *ch);

typedef struct mp_rpc_call_opts {
  int64_t timeout_ms;          /* 0 = no deadline */
  bool wait_for_ready;         /* wait for the server instead of failing fast */
  const char *const *metadata; /* NULL-terminated key, value, key, value, ... */
} mp_rpc_call_opts;

/* Calls a unary method by name. On MP_RPC_OK *resp is the reply (free it with
 * protobuf_c_message_free_unpacked(*resp, NULL)); otherwise *resp is NULL and st (if
 * not NULL) says why. opts may be NULL. */
mp_rpc_code mp_rpc_unary(mp_rpc_channel *ch, const ProtobufCServiceDescriptor *service,
                         const char *method, const ProtobufCMessage *req, ProtobufCMessage **resp,
                         const mp_rpc_call_opts *opts, mp_rpc_status *st);

/* What an asynchronous unary call reports, once: resp on MP_RPC_OK (the callee's to free
 * with protobuf_c_message_free_unpacked), else NULL and st says why. */
typedef void (*mp_rpc_unary_done)(void *arg, mp_rpc_code code, ProtobufCMessage *resp,
                                  const mp_rpc_status *st);

/* Starts a unary call and returns at once; done(arg, ...) runs when it ends, exactly once,
 * on the library's client thread (the one that keeps channels reconnecting and completes
 * every asynchronous call: done must not block, and may start more calls). Many calls in
 * flight cost no thread each - for fanning out to many servers, or keeping N calls in
 * flight on one channel. MP_RPC_OK when the call started; another code (and st) when it
 * could not start, and then done is not called. The channel must stay open until every
 * done on it has run. */
mp_rpc_code mp_rpc_unary_async(mp_rpc_channel *ch, const ProtobufCServiceDescriptor *service,
                               const char *method, const ProtobufCMessage *req,
                               const mp_rpc_call_opts *opts, mp_rpc_unary_done done, void *arg,
                               mp_rpc_status *st);

typedef struct mp_rpc_stream mp_rpc_stream;

/* Starts a server-streaming call. On MP_RPC_OK *out is the stream (free with
 * mp_rpc_stream_free); the request has been sent. Errors are reported by _next. */
mp_rpc_code mp_rpc_stream_open(mp_rpc_channel *ch, const ProtobufCServiceDescriptor *service,
                               const char *method, const ProtobufCMessage *req,
                               const mp_rpc_call_opts *opts, mp_rpc_stream **out,
                               mp_rpc_status *st);
/* Waits for the next message. True with *msg set (the caller frees it with
 * protobuf_c_message_free_unpacked); false at the end of the stream, with st holding the
 * final status (MP_RPC_OK for a clean end). */
bool mp_rpc_stream_next(mp_rpc_stream *s, ProtobufCMessage **msg, mp_rpc_status *st);
/* Cancels the call; safe from any thread. A blocked _next returns false (CANCELLED). */
void mp_rpc_stream_cancel(mp_rpc_stream *s);
/* Cancels if still running and frees. NULL is fine. */
void mp_rpc_stream_free(mp_rpc_stream *s);

#ifdef __cplusplus
}
#endif
#endif
