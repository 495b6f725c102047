/* meshplane load-generation engine.
 *
 * A run is described by an mp_loadgen_spec, started with mp_loadgen_start() and runs on its
 * own threads: N event-loop threads (one epoll loop each, non-blocking sockets, connections
 * owned by their thread, no locks on the hot path) plus one control thread that gathers a
 * progress snapshot per interval and hands it to the spec's callback. Any thread may cancel
 * the run; mp_loadgen_wait() blocks until it has ended and the result, merged exactly from
 * the per-thread histograms, is ready.
 *
 * Load models:
 *  - closed loop (rate == 0, like wrk): every connection sends its next request as soon as
 *    the previous response has arrived;
 *  - constant rate (rate > 0, like wrk2): ONE global schedule of intended send times for the
 *    whole run, shared by every thread, connection and worker; latency is measured from the
 *    intended send time (corrected for coordinated omission) and, in a second histogram,
 *    from the actual send. Sends that leave more than MP_LOADGEN_LATE_NS after their
 *    intended time are counted, with the largest lag, so a saturated generator is visible.
 *
 * Latencies are recorded in microseconds in HdrHistogram-compatible histograms (lib/hdr).
 * Thread-safety: mp_loadgen_cancel() from any thread; the other calls from the owner.
 */
#ifndef MESHPLANE_LOADGEN_H
#define MESHPLANE_LOADGEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "meshplane/base.h"
#include "meshplane/hdr.h"

#ifdef __cplusplus
extern "C" {
#endif

#define MP_LOADGEN_NAME "meshplane-loadgen"
/* A constant-rate send that leaves later than this after its intended time is "late". */
#define MP_LOADGEN_LATE_NS (1 * MP_NS_PER_MS)
/* Status codes are counted in an array indexed by code; the parser admits 100..599. */
#define MP_LOADGEN_MAX_STATUS 600
#define MP_LOADGEN_MAX_THREADS 256
#define MP_LOADGEN_MAX_CONNECTIONS 1000000
#define MP_LOADGEN_MAX_ENDPOINTS 1024
#define MP_LOADGEN_DEFAULT_DURATION_NS (10 * MP_NS_PER_S)
#define MP_LOADGEN_DEFAULT_TIMEOUT_NS (2 * MP_NS_PER_S)
#define MP_LOADGEN_MAX_STREAMS 1000 /* HTTP/2 streams per connection */

/* How requests travel. AUTO takes it from each URL's scheme: http:// and https:// ->
 * HTTP/1.1, grpc:// and grpcs:// -> gRPC. HTTP2 is h2c with prior knowledge for http://
 * and h2 by ALPN for https://; GRPC is unary gRPC over either. */
typedef enum mp_loadgen_protocol {
  MP_LOADGEN_AUTO = 0,
  MP_LOADGEN_HTTP1,
  MP_LOADGEN_HTTP2,
  MP_LOADGEN_GRPC,
} mp_loadgen_protocol;

typedef struct mp_loadgen_run mp_loadgen_run;
typedef struct mp_loadgen_progress mp_loadgen_progress;

/* Called on the run's control thread once per progress interval and once more, with
 * final set, after the last request; never after mp_loadgen_wait() has returned. The
 * progress and everything it points to are borrowed for the duration of the call. Keep it
 * short: the next interval is not collected while it runs (the load itself is not held
 * up). */
typedef void (*mp_loadgen_progress_fn)(const mp_loadgen_progress *p, void *arg);

/* What to run. Every pointer is borrowed for the duration of mp_loadgen_start(), which
 * copies what it needs. Zero values mean the documented default. */
typedef struct mp_loadgen_spec {
  const char *const *endpoints; /* http(s):// or grpc(s):// URLs; requests are spread over
                                   them round-robin */
  size_t n_endpoints;
  const char *method;         /* default GET, or POST when a body is set */
  const char *const *headers; /* "Name: value" */
  size_t n_headers;
  const char *cookies; /* Cookie header value, "a=1; b=2" */
  const uint8_t *body;
  size_t body_len;
  const char *content_type;

  uint32_t threads;             /* event-loop threads; default min(CPUs, connections) */
  uint32_t connections;         /* total over all threads; default 10 (at least one per endpoint) */
  double rate;                  /* requests/s of this worker; 0 = closed loop */
  int64_t duration_ns;          /* measured duration after warm-up; default 10 s, or unbounded when
                                   max_requests is set */
  uint64_t max_requests;        /* stop after this many measured requests (0 = duration only) */
  int64_t warmup_ns;            /* excluded from the results, counted separately */
  int64_t rampup_ns;            /* constant rate: linear ramp from 0 to rate over this time */
  int64_t timeout_ns;           /* per request and per connect; default 2 s */
  int sigfigs;                  /* histogram precision 1..5, default 3 */
  int64_t progress_interval_ns; /* default 1 s */
  int64_t start_at_ms;          /* wall-clock start, so several workers start together (0 = now) */
  uint32_t worker_index;        /* this worker's place among worker_count workers sharing one */
  uint32_t worker_count;        /* global schedule (0 = alone); rate is this worker's share */
  const char *user_agent;       /* default "meshplane-loadgen/<version>"; "" for none */

  mp_loadgen_protocol protocol;
  uint32_t streams; /* HTTP/2 and gRPC: requests in flight per connection (default 1) */

  /* TLS, for https:// (and grpcs://) endpoints. */
  bool tls_insecure;      /* do not verify the server's certificate or name */
  const char *tls_ca_pem; /* PEM text of the CAs to trust instead of the system's (NULL: system) */
  const char *tls_sni;    /* server name to send and verify instead of the URL's host */

  /* gRPC: unary calls of grpc_method ("/package.Service/Method"; NULL: the URL's path if it
   * has one, else /grpc.health.v1.Health/Check) with grpc_payload, the serialized request
   * message (NULL: the body, else an empty message). The status counted is grpc-status.
   * Setting either for an endpoint that is not gRPC is MP_ERR_INVALID. */
  const char *grpc_method;
  const uint8_t *grpc_payload;
  size_t grpc_payload_len;

  mp_loadgen_progress_fn on_progress; /* may be NULL */
  void *progress_arg;
} mp_loadgen_spec;

/* Counters and latency of a set of requests (one endpoint, or all of them). */
typedef struct mp_loadgen_stats {
  uint64_t requests;        /* responses received, whatever their status */
  uint64_t errors;          /* responses with status < 200 or >= 400 + every failure below */
  uint64_t connect_errors;  /* connection attempts that failed */
  uint64_t read_errors;     /* requests lost to a read failure or an early close */
  uint64_t write_errors;    /* requests that could not be written */
  uint64_t timeouts;        /* requests (or connects) that got no answer in time */
  uint64_t protocol_errors; /* malformed responses */
  uint64_t bytes_read;
  uint64_t bytes_written;
  uint64_t status[MP_LOADGEN_MAX_STATUS]; /* responses per status code */
  mp_hdr *latency;     /* µs from the intended send time (corrected); owned by the result */
  mp_hdr *uncorrected; /* µs from the actual send; equal to latency in closed loop */
} mp_loadgen_stats;

typedef struct mp_loadgen_endpoint_result {
  char *url; /* owned by the result */
  mp_loadgen_stats stats;
} mp_loadgen_endpoint_result;

typedef struct mp_loadgen_result {
  int64_t start_ms;              /* wall clock at the start of the measured period */
  int64_t requested_duration_ns; /* 0 when bounded by max_requests only */
  int64_t actual_duration_ns;    /* measured period actually covered */
  double requested_rate;         /* 0 = closed loop */
  double actual_rate;            /* requests / actual duration */
  uint32_t threads;
  uint32_t connections;
  uint32_t streams;             /* per connection: 1 unless HTTP/2 */
  mp_loadgen_protocol protocol; /* of the first endpoint (never AUTO) */
  uint64_t max_requests;
  int64_t warmup_ns;
  int sigfigs;
  bool cancelled;
  uint64_t late_sends;      /* constant rate: sends later than MP_LOADGEN_LATE_NS */
  int64_t max_lag_ns;       /* constant rate: the largest lag of any send */
  uint64_t warmup_requests; /* responses to requests sent during the warm-up */
  uint64_t warmup_errors;
  uint64_t unfinished;     /* still in flight when the run stopped: not counted */
  uint64_t connects;       /* connections opened, including reconnects */
  uint64_t tls_handshakes; /* TLS handshakes completed */
  uint64_t tls_resumed;    /* ... of which resumed an earlier session */
  uint64_t retried;        /* HTTP/2: requests the server refused unprocessed (REFUSED_STREAM,
                              beyond a GOAWAY) and that were sent again */
  mp_loadgen_stats total;  /* all endpoints together */
  mp_loadgen_endpoint_result *endpoints; /* n_endpoints entries, in spec order */
  size_t n_endpoints;
  mp_hdr *sizes;        /* response sizes in bytes (headers + body on the wire) */
  mp_hdr *header_sizes; /* response header sizes in bytes */
  char *error;          /* why the run failed (e.g. no endpoint reachable), or NULL */
  char *first_error;    /* the first failure seen, for the summary, or NULL */
} mp_loadgen_result;

/* One progress interval. Counters are cumulative over the measured period; while the
 * warm-up lasts (warmup set) they count the warm-up instead. */
struct mp_loadgen_progress {
  int64_t elapsed_ns;        /* from the start of the run to the end of this interval */
  int64_t interval_start_ms; /* wall clock */
  int64_t interval_ns;
  bool warmup;
  bool final;
  uint64_t requests;
  uint64_t errors;
  uint64_t interval_requests;
  uint64_t interval_errors;
  double interval_rps;
  uint64_t late_sends; /* cumulative, warm-up included */
  int64_t max_lag_ns;
  const mp_hdr *interval_latency; /* corrected latency (µs) of this interval's responses */
};

/* Validates and copies the spec, resolves every host, and starts the run. On failure
 * (MP_ERR_INVALID for bad input, MP_ERR_UNAVAILABLE for a host that does not resolve)
 * nothing was started and the callback never fires. *out is the caller's, released with
 * mp_loadgen_free() after mp_loadgen_wait() returned MP_OK. */
mp_status mp_loadgen_start(const mp_loadgen_spec *spec, mp_loadgen_run **out);

/* Stops the run as soon as possible: no new requests, in-flight ones are abandoned (and
 * counted as unfinished). Thread-safe and async-signal-safe; idempotent. */
void mp_loadgen_cancel(mp_loadgen_run *run);

/* Waits up to timeout_ns (< 0: forever, 0: poll) for the run to end. MP_OK when it has
 * ended (then mp_loadgen_result() is valid), MP_ERR_TIMEOUT otherwise. */
mp_status mp_loadgen_wait(mp_loadgen_run *run, int64_t timeout_ns);

/* The result of an ended run; borrowed, valid until mp_loadgen_free(). NULL before. */
const mp_loadgen_result *mp_loadgen_result_get(const mp_loadgen_run *run);

/* Cancels the run if still going, waits for it, and frees everything. NULL is fine. */
void mp_loadgen_free(mp_loadgen_run *run);

/* Validates a URL the engine can load: returns MP_OK or MP_ERR_INVALID with a message
 * that says what is wrong ("unsupported scheme ...", "invalid port ..."). */
mp_status mp_loadgen_check_url(const char *url);

#ifdef __cplusplus
}
#endif
#endif
