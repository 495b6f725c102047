/* Private structures of the adapter SDK, shared by its files and its tests. Adapter
 * authors use meshplane/adapter.h only. */
#ifndef MP_ADAPTER_INTERNAL_H
#define MP_ADAPTER_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>

#include "meshplane/adapter.h"

/* Longest details text kept in an event; longer text is cut with a note. */
#define MP__EVENT_DETAILS_MAX (32 * 1024)

/* Events' component: every event an adapter publishes is "adapter", except the one that
 * ends an operation (see mp_adapter_emit_event in adapter.h). */
#define MP__COMPONENT_ADAPTER "adapter"
#define MP__COMPONENT_OPERATION MP_ADAPTER_COMPONENT_OPERATION

/* ---- event ring (ring.c) -------------------------------------------------------------- */

/* The last cap events, numbered from 1. A subscriber holds a cursor (the seq of the
 * next event it wants); when the ring has overwritten events the cursor still needed,
 * the subscriber gets one WARN event saying how many it missed, then continues from
 * the oldest event still held. */
typedef struct mp__ring {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  mp_adapter_event *slots; /* slots[seq % cap] */
  size_t cap;
  uint64_t next_seq; /* seq of the next event pushed */
  char *component_name;
  bool closed;
} mp__ring;

void mp__ring_init(mp__ring *r, size_t cap, const char *component_name);
void mp__ring_destroy(mp__ring *r);
/* Copies ev's strings into the ring (seq is assigned). Returns the seq. */
uint64_t mp__ring_push(mp__ring *r, const mp_adapter_event *ev);
/* The cursor of a subscriber starting now. */
uint64_t mp__ring_cursor_now(mp__ring *r);
/* Waits up to timeout_ms for the event at *cursor: 1 with *out filled (a copy, or a
 * "missed" notice) and *cursor advanced, 0 on timeout, -1 once closed and drained. */
int mp__ring_next(mp__ring *r, uint64_t *cursor, mp_adapter_event *out, int64_t timeout_ms);
/* Wakes every waiter; _next returns -1 once a subscriber has read everything. */
void mp__ring_close(mp__ring *r);

/* ---- runtime: operations, worker pool (runtime.c) ---------------------------------------- */

typedef struct mp__runtime mp__runtime;

typedef struct mp__runtime_opts {
  unsigned workers;
  unsigned queue;
  size_t events;
  int64_t op_timeout_ms;
  const mp_adapter_platform *platform; /* NULL: the adapter's */
  void *platform_data;
} mp__runtime_opts;

struct mp_adapter_ctx {
  mp__runtime *rt;
  const mp_adapter_op *op;
  mp_adapter_request req; /* strings below */
  char *s_op, *s_id, *s_ns, *s_user, *s_body, *s_version;
  char **s_kube;
  atomic_bool cancelled;
  int64_t deadline_ns; /* monotonic; 0 = none */
  bool running;
  void *pstate;
  int pbegun; /* 0 not yet, 1 ok, -1 failed */
  mp_status pbegin_status;
  struct {
    bool set;
    char *code, *summary, *details, *cause, *remedy;
  } problem;
  int64_t started_ns; /* monotonic, when a worker took the operation */
  /* The handler's own ERROR events (component "adapter"): how many, and the first one's
   * summary and error code, which the terminal event points at. */
  unsigned n_errors;
  char *first_error, *first_error_code;
  bool error_emitted; /* n_errors > 0, for ready-made handlers */
  mp_adapter_ctx *next;
};

struct mp_adapter_stream {
  mp__runtime *rt;
};

struct mp__runtime {
  const mp_adapter *ad;
  const mp_adapter_platform *platform;
  void *platform_data;
  void *platform_global; /* what the platform's attach made */
  bool attached;
  struct mp_adapter_stream stream;
  mp__ring ring;
  pthread_mutex_t mu;
  pthread_cond_t work_cv, done_cv;
  mp_adapter_ctx *q_head, *q_tail; /* waiting to run */
  size_t queued, queue_max;
  mp_adapter_ctx *running; /* list of running operations */
  pthread_t *threads;
  unsigned n_threads;
  bool stopping;
  int64_t op_timeout_ms;
};

/* Checks the table's ABI header and contents; MP_ERR_INVALID with a message. */
mp_status mp__adapter_check(const mp_adapter *ad);
/* NULL when the platform's attach hook failed (mp_error_last() says why). */
mp__runtime *mp__runtime_new(const mp_adapter *ad, const mp__runtime_opts *o);
/* Cancels queued and running operations and joins the workers; the ring stays readable.
 * Idempotent. */
void mp__runtime_stop(mp__runtime *rt);
void mp__runtime_free(mp__runtime *rt);
/* Validates and queues an operation. op overrides the lookup by req->op (Provision).
 * Returns NULL with *id_out set (the caller's), or an error message (the caller's). */
char *mp__runtime_submit(mp__runtime *rt, const mp_adapter_request *req, const mp_adapter_op *op,
                         char **id_out);
/* True while an operation with this id is queued or running. */
bool mp__runtime_busy(mp__runtime *rt, const char *id);
bool mp__runtime_wait(mp__runtime *rt, const char *id, int64_t timeout_ms);
/* "a, b, c": the valid operation keys (the caller's). */
char *mp__runtime_keys(const mp__runtime *rt);

/* The platform's per-operation state, beginning it on first use. MP_OK or its failure. */
mp_status mp__platform_state(mp_adapter_ctx *ctx, void **state);

/* ---- processes (exec.c) ------------------------------------------------------------------- */

typedef struct mp__exec {
  const char *const *argv; /* argv[0] is a path or a name looked up on PATH */
  const char *input;       /* fed to stdin; NULL: /dev/null */
  size_t input_len;
  int64_t deadline_ns; /* monotonic; 0 = none */
  atomic_bool *cancel; /* polled; may be NULL */
  size_t max_output;   /* per stream; default 16 MiB for stdout, 256 KiB for stderr */
} mp__exec;

typedef struct mp__exec_result {
  int exit_code; /* 0..255, or 128+signal when killed */
  bool timed_out, cancelled;
  mp_buf out, err;
} mp__exec_result;

/* Runs argv with posix_spawn (no shell): stdin from input, stdout and stderr captured,
 * signals reset to defaults, in its own process group (killed whole on timeout or
 * cancel). MP_ERR_NOT_FOUND when argv[0] is not on PATH; MP_OK once the child ran,
 * whatever its exit code (look at r). r's buffers are the caller's (mp__exec_result_free). */
mp_status mp__exec_run(const mp__exec *x, mp__exec_result *r);
void mp__exec_result_free(mp__exec_result *r);
/* The full path of an executable on PATH (the caller's), or NULL. Names containing a
 * slash are returned as they are when executable. */
char *mp__which(const char *name);

/* ---- YAML (yaml.c) ------------------------------------------------------------------------ */

typedef struct mp__yobj {
  char *api_version, *kind, *name, *ns; /* "" when absent */
  int line;                             /* 1-based line of the document start */
} mp__yobj;

typedef struct mp__ysum {
  mp__yobj *objs;
  size_t n;
} mp__ysum;

/* Parses multi-document YAML and lists its objects (empty documents skipped). With
 * strict, a document that is not a mapping or lacks apiVersion, kind or metadata.name
 * is an error. MP_ERR_INVALID with "line N: what" on bad input. */
mp_status mp__yaml_summary(const char *data, size_t len, bool strict, mp__ysum *out);
void mp__ysum_free(mp__ysum *s);
/* Appends "Kind ns/name, ..." (at most max entries, then "and N more"). */
void mp__ysum_describe(const mp__ysum *s, size_t max, mp_buf *out);
/* Rewrites YAML whose documents may be `kind: List` (kubectl get -o yaml) as one document
 * per object, appended to out. */
mp_status mp__yaml_split_lists(const char *data, size_t len, mp_buf *out);
/* The same, writing objects that name a metadata.namespace to with_ns and the others
 * (cluster-scoped ones, Namespaces, objects for the request's namespace) to no_ns. */
mp_status mp__yaml_split_ns(const char *data, size_t len, mp_buf *no_ns, mp_buf *with_ns);

/* ---- kubernetes internals exposed for tests (kube.c) ---------------------------------------- */

/* Writes each kubeconfig to a 0600 temp file; paths[i] are the caller's (mp__kube_remove). */
mp_status mp__kube_write_configs(const char *const *configs, size_t n, char ***paths);
void mp__kube_remove_configs(char **paths, size_t n);

/* The analyze operation's engine over adapters/analyzer (analyze.c). */
mp_status mp__adapter_analyze(mp_adapter_ctx *ctx, const char *yaml, size_t len);

#endif
