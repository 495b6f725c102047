/* Private to the engine (loadgen/engine): the run, its threads, connections and requests,
 * and the two ops tables a connection is built from.
 *
 * A connection = a transport (moves bytes: plain TCP, TLS) + a protocol (frames requests,
 * parses responses: HTTP/1.1, HTTP/2, gRPC over HTTP/2). Both are static const tables
 * chosen per endpoint from its URL and the run's protocol; NULL hooks are skipped. The
 * event loop (loop.c, conn.c) only talks to a connection through them.
 *
 * A connection carries up to `limit` requests at once: one for HTTP/1.1, the streams of a
 * multiplexed protocol (HTTP/2). Every request in flight is an mp__req, which holds what the
 * statistics need (intended and actual send time, warm-up) and sits on its thread's timer
 * list; HTTP/1.1 uses the one embedded in its connection. */
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
  /* Once per endpoint before the run (TLS: the SSL_CTX from the run's options); may fail
   * with a message. release undoes it (also after a failed prepare). */
  mp_status (*prepare)(mp__endpoint *ep, const mp_loadgen_run *run);
  void (*release)(mp__endpoint *ep);
  /* Creates the socket in c->fd and starts a non-blocking connect. 0 or -errno. */
  int (*open)(mp__conn *c, const mp__endpoint *ep);
  /* After the TCP connect: 0 when ready for requests, -EAGAIN to be called again on the
   * next readiness event, another -errno on failure with the reason in why (n bytes).
   * NULL: ready at once. */
  int (*handshake)(mp__conn *c, char *why, size_t n);
  /* recv(2)/send(2) semantics, errno set on -1. A read shorter than len means the
   * connection has nothing more to read until the next readiness edge (the loop relies on
   * it to save a read that would only see EAGAIN). When a read needs the socket to be
   * writable (or a write readable), the transport sets c->io_swap so the loop retries it
   * on the other kind of event. */
  ssize_t (*read)(mp__conn *c, void *buf, size_t len);
  /* read also sets c->rx_real_ns: when the kernel received the last bytes it returned
   * (SO_TIMESTAMPNS, CLOCK_REALTIME), 0 if it did not say. Responses are then timed by the
   * kernel, not by when the loop got round to reading them, which lets a closed-loop run
   * nap between polls without skewing its latencies (see poll_or_wait in loop.c). */
  bool rx_time;
  ssize_t (*write)(mp__conn *c, const void *buf, size_t len);
  /* Closes c->fd (which also leaves the epoll set) and sets it to -1. */
  void (*close)(mp__conn *c);
  /* Frees what the transport keeps per thread and endpoint in t->xcache[e] (TLS: the
   * session to resume). */
  void (*cache_free)(void *entry);
} mp__transport_ops;

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
  const char *grpc_method;     /* NULL: from the URL, or the health check */
  const uint8_t *grpc_payload; /* NULL: the body */
  size_t grpc_payload_len;
} mp__request_parts;

/* What a protocol reports after being fed bytes. RETRY: the server refused the request
 * without processing it (HTTP/2 REFUSED_STREAM, e.g. beyond a GOAWAY): it is sent again. */
typedef enum mp__resp_kind {
  MP__RESP_NONE = 0,
  MP__RESP_DONE,
  MP__RESP_ERROR,
  MP__RESP_RETRY
} mp__resp_kind;

typedef struct mp__req mp__req;

typedef struct mp__response {
  mp__resp_kind kind;
  mp__req *req; /* the request it concerns; NULL with ERROR: the whole connection failed */
  int status;   /* HTTP status, or the gRPC status for gRPC */
  bool bad;     /* counted as an error (HTTP >= 400 or < 200, gRPC status != 0) */
  bool keep_alive;
  uint64_t header_bytes;
  uint64_t wire_bytes;
  const char *error; /* reason for ERROR; static or valid until the next call */
} mp__response;

typedef struct mp__proto_ops {
  const char *name;
  const char *alpn;   /* the ALPN protocol to offer over TLS, wire format ("\x02h2") */
  bool alpn_required; /* the handshake fails unless the server selects it */
  bool multiplexed;   /* several requests in flight per connection (c->reqs) */
  /* Builds the endpoint's request template(s) once, before the run. */
  mp_status (*prepare)(mp__endpoint *ep, const mp__request_parts *parts);
  void (*release)(mp__endpoint *ep);
  void (*conn_init)(mp__conn *c); /* once per connection slot, after c->reqs exists */
  void (*conn_free)(mp__conn *c); /* once per connection slot */
  /* A new transport connection starts (before the connect). Multiplexed protocols queue
   * their connection preface for output(). 0, or -1 when out of resources. */
  int (*conn_reset)(mp__conn *c);
  /* Starts request r. HTTP/1.1 points c->out/out_len at its bytes (borrowed from the
   * endpoint); a multiplexed protocol queues them for output(). 0, or -1 when the
   * connection cannot carry it (the connection then fails). */
  int (*request)(mp__conn *c, mp__req *r);
  /* Multiplexed: the next bytes to write, borrowed until the next call; false when there
   * is nothing to write. */
  bool (*output)(mp__conn *c, const char **data, size_t *len);
  /* Feeds received bytes; returns how many were consumed and sets *r. HTTP/1.1 stops
   * after one completed response or error. A multiplexed protocol consumes everything
   * and reports what completed one result per call: call again (with the rest, possibly
   * nothing) until it reports NONE. */
  size_t (*input)(mp__conn *c, const char *data, size_t len, mp__response *r);
  /* The peer closed: a response delimited by the close completes, else error or none. */
  void (*eof)(mp__conn *c, mp__response *r);
  /* Multiplexed: abandons request r (it timed out); its late answer is ignored. */
  void (*cancel)(mp__conn *c, mp__req *r);
} mp__proto_ops;

extern const mp__transport_ops mp__transport_plain;
/* The plain transport's open and read, which TLS shares: a non-blocking TCP connect (with
 * receive times on), and recv(2) that also sets *rx_real_ns to the kernel's receive time of
 * the data when there was data and the kernel said (else leaves it). */
int mp__tcp_open(mp__conn *c, const mp__endpoint *ep);
ssize_t mp__tcp_recv(int fd, void *buf, size_t len, int64_t *rx_real_ns);
extern const mp__transport_ops mp__transport_tls;
extern const mp__proto_ops mp__proto_http1;
extern const mp__proto_ops mp__proto_h2;
extern const mp__proto_ops mp__proto_grpc;

/* ---- endpoints -------------------------------------------------------------------------- */

struct mp__endpoint {
  char *url; /* as given */
  mp__url u;
  struct sockaddr_storage addr;
  socklen_t addrlen;
  char addr_text[96]; /* "127.0.0.1:8080", for messages */
  const mp__transport_ops *transport;
  const mp__proto_ops *proto;
  void *tls;     /* TLS: the SSL_CTX (owned by the transport) */
  char *request; /* HTTP/1: the pre-serialized request (owned) */
  size_t request_len;
  bool head;
  bool grpc; /* gRPC over HTTP/2 */
  void *h2;  /* HTTP/2: the request template (owned by proto_h2.c) */
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

/* CONNECTING: TCP connect in progress; HANDSHAKE: the transport's (TLS); OPEN: requests
 * may flow (c->active of them in flight); BACKOFF: waiting to reconnect. */
enum { MP__C_CLOSED = 0, MP__C_CONNECTING, MP__C_HANDSHAKE, MP__C_OPEN, MP__C_BACKOFF };

typedef struct mp__list {
  mp__conn *head, *tail;
  uint32_t n;
} mp__list;

typedef struct mp__rlist {
  mp__req *head, *tail;
  uint32_t n;
} mp__rlist;

/* A request in flight, or the timer of a connection being established (c->req0 while
 * CONNECTING or HANDSHAKE). */
struct mp__req {
  mp__conn *c;
  mp__rlist *list; /* the thread's timers, or NULL */
  mp__req *prev, *next;
  int64_t intended_ns; /* when it should have left (constant rate), for the corrected latency */
  int64_t sent_ns;     /* when it left (or the connect started): the timeout counts from here */
  bool warmup;         /* intended during the warm-up */
  bool busy;           /* in flight */
};

struct mp__conn {
  mp__thread *t;
  const mp__endpoint *ep;
  uint32_t index; /* in the thread's array */
  uint32_t gen;   /* bumped on every (re)open: events of an old socket are ignored */
  uint16_t ep_index;
  uint8_t state;
  bool io_swap; /* see mp__transport_ops.read */
  bool is_free; /* on t->free[ep_index]: OPEN and active < limit */
  bool dirty;   /* multiplexed: on t->dirty, has bytes to write */
  int fd;
  int64_t rx_real_ns; /* see mp__transport_ops.rx_time */
  void *xport;        /* the transport's per-connection state (TLS: the SSL), or NULL */
  uint32_t fails;     /* consecutive failures, for the reconnect backoff */
  uint32_t active;    /* requests in flight */
  uint32_t limit;     /* requests it may carry now: 1 for HTTP/1.1; HTTP/2: streams, fewer if
                         the server says so, 0 after GOAWAY */
  uint32_t cap;       /* request slots: 1, or the run's streams per connection */
  uint32_t served;    /* multiplexed: streams answered since the connection opened */
  int64_t retry_at;   /* MP__C_BACKOFF */
  const char *out;    /* bytes being written (borrowed from the endpoint or the protocol) */
  size_t out_len, out_off;
  mp__list *list; /* the free or retry list the connection is on, or NULL */
  mp__conn *prev, *next;
  mp__conn *dnext; /* on t->dirty */
  mp__req req0;    /* HTTP/1.1's request; the connect timer */
  mp__req *reqs;   /* multiplexed: cap slots (owned), else NULL */
  mp__req *idle;   /* multiplexed: free slots, linked by next */
  union {
    mp_h1_parser h1;
    struct mp__h2 *h2;
  } proto;
};

static inline void mp__list_push(mp__list *l, mp__conn *c) {
  c->list = l;
  c->next = NULL;
  c->prev = l->tail;
  if (l->tail)
    l->tail->next = c;
  else
    l->head = c;
  l->tail = c;
  l->n++;
}

static inline void mp__list_remove(mp__conn *c) {
  mp__list *l = c->list;
  if (!l) return;
  if (c->prev)
    c->prev->next = c->next;
  else
    l->head = c->next;
  if (c->next)
    c->next->prev = c->prev;
  else
    l->tail = c->prev;
  l->n--;
  c->list = NULL;
  c->prev = c->next = NULL;
}

static inline void mp__rlist_push(mp__rlist *l, mp__req *r) {
  r->list = l;
  r->next = NULL;
  r->prev = l->tail;
  if (l->tail)
    l->tail->next = r;
  else
    l->head = r;
  l->tail = r;
  l->n++;
}

static inline void mp__rlist_remove(mp__req *r) {
  mp__rlist *l = r->list;
  if (!l) return;
  if (r->prev)
    r->prev->next = r->next;
  else
    l->head = r->next;
  if (r->next)
    r->next->prev = r->prev;
  else
    l->tail = r->prev;
  l->n--;
  r->list = NULL;
  r->prev = r->next = NULL;
}

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
  mp__list *free; /* per endpoint: open and able to take a request */
  uint32_t n_free;
  uint32_t rr;      /* next endpoint, constant rate */
  mp__rlist timers; /* requests in flight and connects, in order of sent_ns */
  mp__list retry;   /* waiting to reconnect */
  mp__conn *dirty;  /* multiplexed connections with bytes to write */
  /* Constant rate: intended times of refused requests (RETRY), sent again first. */
  int64_t *requeue;
  uint32_t rq_head, rq_len, rq_cap;
  int64_t next_retry;
  mp__pacer pacer;
  uint64_t quota; /* measured requests this thread may send (0 = unbounded) */
  uint64_t sent;  /* measured requests sent */
  uint64_t inflight;
  bool stopping;
  bool stop_quota; /* stopped because the quota was used up (a refused request reopens it) */
  int64_t stop_ns; /* when sending stopped */
  int64_t next_boundary;
  uint32_t spin_polls; /* adaptive polls before blocking (closed loop), see poll_or_wait */
  bool nap;            /* every endpoint's responses are timed by the kernel: nap, not spin */
  int64_t rtt_ns;      /* moving average of response times (closed loop), sizes the nap */
  int64_t real_off_ns; /* CLOCK_REALTIME - CLOCK_MONOTONIC, sampled at real_off_at */
  int64_t real_off_at;
  bool ever_ok;
  uint64_t fail_streak;
  uint64_t retry_streak; /* refused requests (RETRY) since the last response */
  /* Statistics: owned by the thread while it runs, read by the control thread after
   * the join. */
  mp_loadgen_stats *eps; /* per endpoint */
  mp_hdr *sizes, *header_sizes;
  mp_hdr *ival; /* latencies of the current progress interval */
  uint64_t warmup_requests, warmup_errors, late_sends, unfinished, connects;
  uint64_t tls_handshakes, tls_resumed, retried;
  void **xcache; /* per endpoint, owned by its transport (see cache_free) */
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
  bool tls_insecure;
  char *tls_ca_pem, *tls_sni;
  char *grpc_method;
  uint8_t *grpc_payload;

  uint32_t n_threads, n_conns;
  uint32_t streams;             /* request slots per multiplexed connection */
  mp_loadgen_protocol protocol; /* the spec's (AUTO: per endpoint from its scheme) */
  double rate;                  /* global (all workers), 0 = closed loop */
  double worker_rate;           /* this worker's */
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

/* conn.c: connections and their requests */
void mp__conn_open(mp__thread *t, mp__conn *c, int64_t now);
void mp__conn_close(mp__thread *t, mp__conn *c);
void mp__conn_event(mp__thread *t, mp__conn *c, uint32_t events, int64_t now);
/* Sends a request intended at `intended` on c, which must be free. */
void mp__send(mp__thread *t, mp__conn *c, int64_t intended, int64_t now);
/* The head of t->timers expired: a connect or a request timed out. */
void mp__timeout(mp__thread *t, mp__req *r, int64_t now);
/* Writes what multiplexed connections have queued. */
void mp__flush(mp__thread *t, int64_t now);
/* loop.c */
bool mp__may_send(const mp__thread *t, int64_t now);
void mp__check_stop(mp__thread *t, int64_t now);
/* A refused request (RETRY) of this thread goes out again. */
void mp__requeue(mp__thread *t, const mp__req *r, int64_t now);

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
