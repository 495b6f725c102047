/* Private to the engine (loadgen/engine): the run, its threads and connections, and the
 * two ops tables a connection is built from.
 *
 * A connection = a transport (moves bytes: plain TCP now, TLS later) + a protocol (frames
 * requests, parses responses: HTTP/1.1 now, HTTP/2 and gRPC later). Both are static const
 * tables chosen per endpoint from its URL; NULL hooks are skipped. The event loop
 * (loop.c) only talks to a connection through them. */
#ifndef MESHPLANE_LOADGEN_ENGINE_INTERNAL_H
#define MESHPLANE_LOADGEN_ENGINE_INTERNAL_H

#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "meshplane/http1.h"
#include "meshplane/loadgen.h"

#define MP__READ_BUF (64 * 1024)

typedef struct mp__conn mp__conn;
typedef struct mp__thread mp__thread;
typedef struct mp__endpoint mp__endpoint;

/* ---- URLs ------------------------------------------------------------------------------ */

typedef struct mp__url {
  char *scheme; /* lower case: "http" */
  char *host;   /* without brackets for IPv6 literals */
  uint16_t port;
  char *target;      /* path and query, at least "/" */
  char *host_header; /* "host", "host:port", "[::1]:8080" */
} mp__url;

/* Parses an absolute URL; MP_ERR_INVALID with a message saying what is wrong. On success
 * *u owns copies of the parts; free with mp__url_free (NULL-safe). */
mp_status mp__url_parse(const char *s, mp__url *u);
void mp__url_free(mp__url *u);

/* ---- transports and protocols ---------------------------------------------------------- */

typedef struct mp__transport_ops {
  const char *name;
  /* Creates the socket in c->fd and starts a non-blocking connect. 0 or -errno. */
  int (*open)(mp__conn *c, const mp__endpoint *ep);
  /* After the TCP connect: 0 when ready for requests, -EAGAIN to be called again on the
   * next readiness event, another -errno on failure. NULL: ready at once. */
  int (*handshake)(mp__conn *c);
  /* recv(2)/send(2) semantics, errno set on -1. */
  ssize_t (*read)(mp__conn *c, void *buf, size_t len);
  ssize_t (*write)(mp__conn *c, const void *buf, size_t len);
  /* Closes c->fd (which also leaves the epoll set) and sets it to -1. */
  void (*close)(mp__conn *c);
} mp__transport_ops;

/* What a protocol reports after being fed bytes. */
typedef enum mp__resp_kind { MP__RESP_NONE = 0, MP__RESP_DONE, MP__RESP_ERROR } mp__resp_kind;

typedef struct mp__response {
  mp__resp_kind kind;
  int status;
  bool keep_alive;
  uint64_t header_bytes;
  uint64_t wire_bytes;
  const char *error; /* static reason for MP__RESP_ERROR */
} mp__response;

/* The request fields every endpoint of a run shares; borrowed from the run. */
typedef struct mp__request_parts {
  const char *method;
  const char *const *headers;
  size_t n_headers;
  const char *cookies;
  const uint8_t *body;
  size_t body_len;
  const char *content_type;
  const char *user_agent;
} mp__request_parts;

typedef struct mp__proto_ops {
  const char *name;
  /* Builds the endpoint's request template(s) once, before the run. */
  mp_status (*prepare)(mp__endpoint *ep, const mp__request_parts *parts);
  void (*release)(mp__endpoint *ep);
  void (*conn_init)(mp__conn *c);  /* once per connection slot */
  void (*conn_free)(mp__conn *c);  /* once per connection slot */
  void (*conn_reset)(mp__conn *c); /* a new transport connection starts */
  /* The bytes of the next request (borrowed from the endpoint). */
  void (*request)(mp__conn *c, const char **data, size_t *len);
  /* Feeds received bytes; returns how many were consumed and sets *r. Stops after one
   * completed response (MP__RESP_DONE) or error. */
  size_t (*input)(mp__conn *c, const char *data, size_t len, mp__response *r);
  /* The peer closed: a response delimited by the close completes, else error or none. */
  void (*eof)(mp__conn *c, mp__response *r);
} mp__proto_ops;

extern const mp__transport_ops mp__transport_plain;
extern const mp__proto_ops mp__proto_http1;

/* ---- endpoints -------------------------------------------------------------------------- */

struct mp__endpoint {
  char *url; /* as given */
  mp__url u;
  struct sockaddr_storage addr;
  socklen_t addrlen;
  char addr_text[96]; /* "127.0.0.1:8080", for messages */
  const mp__transport_ops *transport;
  const mp__proto_ops *proto;
  char *request; /* HTTP/1: the pre-serialized request (owned) */
  size_t request_len;
  bool head;
};

/* ---- pacing: the global constant-rate schedule ------------------------------------------ */

/* Intended send time, in ns after the start of the run, of global slot s for a run at
 * `rate` requests/s over all workers, ramping up linearly from 0 over ramp_ns. */
int64_t mp__slot_time(double rate, int64_t ramp_ns, uint64_t s);

/* One thread's share of the schedule: global slots offset, offset + stride, ... For
 * thread j of n in worker i of k: stride = k * n, offset = k * j + i, so consecutive global
 * slots go to different workers first and then to different threads. */
typedef struct mp__pacer {
  double rate; /* global */
  int64_t ramp_ns;
  uint64_t stride, offset;
  uint64_t q;   /* local index of the next slot */
  int64_t next; /* its intended time, ns after the start */
} mp__pacer;

void mp__pacer_init(mp__pacer *p, double rate, int64_t ramp_ns, uint64_t stride, uint64_t offset);
void mp__pacer_advance(mp__pacer *p);

/* ---- connections and threads ------------------------------------------------------------- */

enum { MP__C_CLOSED = 0, MP__C_CONNECTING, MP__C_READY, MP__C_BUSY, MP__C_BACKOFF };

typedef struct mp__list {
  mp__conn *head, *tail;
  uint32_t n;
} mp__list;

struct mp__conn {
  mp__thread *t;
  const mp__endpoint *ep;
  uint32_t index; /* in the thread's array */
  uint32_t gen;   /* bumped on every (re)open: events of an old socket are ignored */
  uint16_t ep_index;
  uint8_t state;
  bool warmup; /* the request in flight was intended during the warm-up */
  int fd;
  uint32_t fails; /* consecutive failures, for the reconnect backoff */
  int64_t intended_ns, sent_ns;
  int64_t since;    /* start of the connect or the request, for the timeout */
  int64_t retry_at; /* MP__C_BACKOFF */
  const char *out;  /* request bytes being written (borrowed from the endpoint) */
  size_t out_len, out_off;
  mp__list *list; /* the list the connection is on, or NULL */
  mp__conn *prev, *next;
  union {
    mp_h1_parser h1;
  } proto;
};

/* What a thread publishes at each progress boundary, under snap_mu. */
typedef struct mp__snapshot {
  mp_hdr *hist; /* latencies since the last collection */
  uint64_t requests, errors, warmup_requests, warmup_errors, late_sends;
  int64_t max_lag_ns;
} mp__snapshot;

struct mp__thread {
  mp_loadgen_run *run;
  uint32_t index;
  pthread_t tid;
  bool started;
  int epfd;
  mp__conn *conns;
  uint32_t n_conns;
  mp__list *free; /* per endpoint: connected and idle */
  uint32_t n_free;
  uint32_t rr;     /* next endpoint, constant rate */
  mp__list timers; /* connecting or busy, in order of `since` */
  mp__list retry;  /* waiting to reconnect */
  int64_t next_retry;
  mp__pacer pacer;
  uint64_t quota; /* measured requests this thread may send (0 = unbounded) */
  uint64_t sent;  /* measured requests sent */
  uint64_t inflight;
  bool stopping;
  int64_t stop_ns; /* when sending stopped */
  int64_t next_boundary;
  uint32_t spin_polls; /* adaptive polls before blocking (closed loop), see poll_or_wait */
  bool ever_ok;
  uint64_t fail_streak;
  /* Statistics: owned by the thread while it runs, read by the control thread after
   * the join. */
  mp_loadgen_stats *eps; /* per endpoint */
  mp_hdr *sizes, *header_sizes;
  mp_hdr *ival; /* latencies of the current progress interval */
  uint64_t warmup_requests, warmup_errors, late_sends, unfinished, connects;
  int64_t max_lag_ns;
  char first_error[256];
  /* Progress hand-over. */
  pthread_mutex_t snap_mu;
  mp__snapshot snap;
  _Atomic int64_t snap_time;
  atomic_bool done;
  char *buf; /* MP__READ_BUF bytes */
};

struct mp_loadgen_run {
  mp__endpoint *eps;
  size_t n_eps;
  mp__request_parts parts;
  /* copies behind parts */
  char *method, *cookies, *content_type, *user_agent;
  char **headers;
  uint8_t *body;

  uint32_t n_threads, n_conns;
  double rate;        /* global (all workers), 0 = closed loop */
  double worker_rate; /* this worker's */
  uint32_t worker_index, worker_count;
  uint64_t max_requests;
  int sigfigs;
  int64_t duration_ns, warmup_ns, rampup_ns, timeout_ns, interval_ns;
  int64_t t0;  /* monotonic start of the run */
  int64_t m;   /* start of the measured period: t0 + warm-up */
  int64_t end; /* end of the measured period, INT64_MAX when unbounded */
  int64_t wall_t0_ms;
  mp_loadgen_progress_fn on_progress;
  void *progress_arg;

  mp__thread *threads;
  pthread_t control;
  bool control_started;
  int cancel_fd; /* eventfd, readable once cancelled; never read */
  int exit_fd;   /* eventfd, written by each thread as it ends */
  atomic_bool cancelled;
  atomic_bool any_ok;
  atomic_bool fatal_set;
  char fatal[512]; /* written once, by whoever sets fatal_set first */
  _Atomic int64_t cancel_ns;

  pthread_mutex_t mu;
  pthread_cond_t cv;
  bool finished;
  mp_loadgen_result result;
};

/* spec.c */
mp_status mp__run_prepare(const mp_loadgen_spec *spec, mp_loadgen_run *run);
void mp__run_release(mp_loadgen_run *run);
/* loop.c */
void *mp__thread_main(void *arg);
/* Allocates a thread's connections, stats and buffers; the loop runs in mp__thread_main. */
mp_status mp__thread_init(mp__thread *t, mp_loadgen_run *run, uint32_t index, uint32_t first_conn,
                          uint32_t n_conns, uint64_t quota);
void mp__thread_destroy(mp__thread *t);
/* Records a run-ending failure (first caller wins) and stops every thread. */
void mp__run_fail(mp_loadgen_run *run, const char *msg);
/* The first progress boundary after `now`: boundaries fall every interval_ns on both
 * sides of the start of the measured period, so no interval straddles the warm-up. */
int64_t mp__boundary_after(const mp_loadgen_run *run, int64_t now);
/* stats helpers (run.c) */
void mp__stats_init(mp_loadgen_stats *s, int sigfigs);
void mp__stats_free(mp_loadgen_stats *s);
void mp__stats_add(mp_loadgen_stats *dst, const mp_loadgen_stats *src);

#endif
