/* The life of a run: start the event-loop threads and the control thread, collect one
 * progress snapshot per interval, cancel, and merge the per-thread statistics exactly into
 * the result once every thread has ended.
 *
 * The only lock a loop thread takes is its own snapshot mutex, once per progress interval
 * (publish() in loop.c); the control thread takes the same mutex to collect. Everything
 * else a thread owns is read by the control thread only after pthread_join. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

/* Without a wall-clock start from the caller, the schedule begins this long after
 * mp_loadgen_start() so that connections are up before the first intended send. */
#define START_LEAD_NS (25 * MP_NS_PER_MS)
/* How long the control thread waits for a busy loop thread to publish its interval. */
#define COLLECT_GRACE_NS (250 * MP_NS_PER_MS)

void mp__stats_init(mp_loadgen_stats *s, int sigfigs) {
  memset(s, 0, sizeof *s);
  s->latency = mp_hdr_new_latency(sigfigs);
  s->uncorrected = mp_hdr_new_latency(sigfigs);
}

void mp__stats_free(mp_loadgen_stats *s) {
  mp_hdr_free(s->latency);
  mp_hdr_free(s->uncorrected);
  s->latency = s->uncorrected = NULL;
}

void mp__stats_add(mp_loadgen_stats *d, const mp_loadgen_stats *s) {
  d->requests += s->requests;
  d->errors += s->errors;
  d->connect_errors += s->connect_errors;
  d->read_errors += s->read_errors;
  d->write_errors += s->write_errors;
  d->timeouts += s->timeouts;
  d->protocol_errors += s->protocol_errors;
  d->bytes_read += s->bytes_read;
  d->bytes_written += s->bytes_written;
  for (int i = 0; i < MP_LOADGEN_MAX_STATUS; i++) d->status[i] += s->status[i];
  mp_hdr_add(d->latency, s->latency);
  mp_hdr_add(d->uncorrected, s->uncorrected);
}

int64_t mp__boundary_after(const mp_loadgen_run *run, int64_t now) {
  int64_t d = now - run->m, k = d / run->interval_ns;
  if (d < 0 && d % run->interval_ns) k--; /* floor division */
  return run->m + (k + 1) * run->interval_ns;
}

void mp__run_fail(mp_loadgen_run *run, const char *msg) {
  if (atomic_exchange(&run->fatal_set, true)) return;
  mp_strlcpy(run->fatal, msg, sizeof run->fatal);
  uint64_t one = 1;
  (void)!write(run->cancel_fd, &one, sizeof one); /* wake every loop */
}

void mp_loadgen_cancel(mp_loadgen_run *run) {
  if (!run) return;
  int64_t zero = 0;
  atomic_compare_exchange_strong(&run->cancel_ns, &zero, mp_mono_ns());
  atomic_store(&run->cancelled, true);
  uint64_t one = 1;
  (void)!write(run->cancel_fd, &one, sizeof one);
}

/* ---- the control thread -------------------------------------------------------------------- */

typedef struct counters {
  uint64_t requests, errors, warmup_requests, warmup_errors, late_sends;
  int64_t max_lag_ns;
} counters;

static bool all_done(const mp_loadgen_run *run) {
  for (uint32_t i = 0; i < run->n_threads; i++)
    if (!atomic_load(&run->threads[i].done)) return false;
  return true;
}

/* Sleeps until `deadline` (monotonic) or until every loop thread has ended. */
static bool wait_until(mp_loadgen_run *run, int64_t deadline) {
  for (;;) {
    if (all_done(run)) return true;
    int64_t now = mp_mono_ns();
    if (now >= deadline) return false;
    struct pollfd pfd = {.fd = run->exit_fd, .events = POLLIN};
    int ms = (int)((deadline - now + MP_NS_PER_MS - 1) / MP_NS_PER_MS);
    if (poll(&pfd, 1, ms) > 0) {
      uint64_t v;
      (void)!read(run->exit_fd, &v, sizeof v);
    }
  }
}

/* Takes every thread's published snapshot: histogram into agg, counters summed. Waits a
 * little for threads that have not yet published at or after `boundary`. */
static void collect(mp_loadgen_run *run, int64_t boundary, mp_hdr *agg, counters *c) {
  memset(c, 0, sizeof *c);
  int64_t give_up = boundary + COLLECT_GRACE_NS;
  for (uint32_t i = 0; i < run->n_threads; i++) {
    mp__thread *t = &run->threads[i];
    while (atomic_load(&t->snap_time) < boundary && !atomic_load(&t->done) &&
           mp_mono_ns() < give_up)
      mp_sleep_ms(1);
    pthread_mutex_lock(&t->snap_mu);
    mp_hdr_add(agg, t->snap.hist);
    mp_hdr_reset(t->snap.hist);
    c->requests += t->snap.requests;
    c->errors += t->snap.errors;
    c->warmup_requests += t->snap.warmup_requests;
    c->warmup_errors += t->snap.warmup_errors;
    c->late_sends += t->snap.late_sends;
    if (t->snap.max_lag_ns > c->max_lag_ns) c->max_lag_ns = t->snap.max_lag_ns;
    pthread_mutex_unlock(&t->snap_mu);
  }
}

static void emit(mp_loadgen_run *run, mp_hdr *agg, const counters *c, counters *prev, int64_t from,
                 int64_t to, bool final) {
  bool warm = to <= run->m;
  uint64_t req = warm ? c->warmup_requests : c->requests;
  uint64_t err = warm ? c->warmup_errors : c->errors;
  uint64_t preq = warm ? prev->warmup_requests : prev->requests;
  uint64_t perr = warm ? prev->warmup_errors : prev->errors;
  /* The first measured interval starts from zero measured requests. */
  mp_loadgen_progress p = {
      .elapsed_ns = to - run->t0,
      .interval_start_ms = run->wall_t0_ms + (from - run->t0) / MP_NS_PER_MS,
      .interval_ns = to - from,
      .warmup = warm,
      .final = final,
      .requests = req,
      .errors = err,
      .interval_requests = req >= preq ? req - preq : req,
      .interval_errors = err >= perr ? err - perr : err,
      .late_sends = c->late_sends,
      .max_lag_ns = c->max_lag_ns,
      .interval_latency = agg,
  };
  if (p.interval_ns > 0) p.interval_rps = (double)p.interval_requests * 1e9 / (double)p.interval_ns;
  if (run->on_progress) run->on_progress(&p, run->progress_arg);
  *prev = *c;
  mp_hdr_reset(agg);
}

static void merge_result(mp_loadgen_run *run) {
  mp_loadgen_result *r = &run->result;
  r->n_endpoints = run->n_eps;
  r->endpoints = mp_calloc(run->n_eps, sizeof *r->endpoints);
  mp__stats_init(&r->total, run->sigfigs);
  (void)mp_hdr_new(1, INT64_C(1) << 40, run->sigfigs, &r->sizes);
  (void)mp_hdr_new(1, INT64_C(1) << 40, run->sigfigs, &r->header_sizes);
  int64_t stop = run->m;
  for (size_t e = 0; e < run->n_eps; e++) {
    r->endpoints[e].url = mp_strdup(run->eps[e].url);
    mp__stats_init(&r->endpoints[e].stats, run->sigfigs);
  }
  for (uint32_t i = 0; i < run->n_threads; i++) {
    mp__thread *t = &run->threads[i];
    for (size_t e = 0; e < run->n_eps; e++) mp__stats_add(&r->endpoints[e].stats, &t->eps[e]);
    mp_hdr_add(r->sizes, t->sizes);
    mp_hdr_add(r->header_sizes, t->header_sizes);
    r->late_sends += t->late_sends;
    if (t->max_lag_ns > r->max_lag_ns) r->max_lag_ns = t->max_lag_ns;
    r->warmup_requests += t->warmup_requests;
    r->warmup_errors += t->warmup_errors;
    r->unfinished += t->unfinished;
    r->connects += t->connects;
    r->tls_handshakes += t->tls_handshakes;
    r->tls_resumed += t->tls_resumed;
    r->retried += t->retried;
    if (t->stop_ns > stop) stop = t->stop_ns;
    if (!r->first_error && t->first_error[0]) r->first_error = mp_strdup(t->first_error);
  }
  for (size_t e = 0; e < run->n_eps; e++) mp__stats_add(&r->total, &r->endpoints[e].stats);
  r->start_ms = run->wall_t0_ms + run->warmup_ns / MP_NS_PER_MS;
  r->requested_duration_ns = run->end == INT64_MAX ? 0 : run->duration_ns;
  r->actual_duration_ns = stop - run->m;
  r->requested_rate = run->worker_rate;
  if (r->actual_duration_ns > 0)
    r->actual_rate = (double)r->total.requests * 1e9 / (double)r->actual_duration_ns;
  r->threads = run->n_threads;
  r->connections = run->n_conns;
  r->streams = run->eps[0].proto->multiplexed ? run->streams : 1;
  r->protocol = run->eps[0].grpc                 ? MP_LOADGEN_GRPC
                : run->eps[0].proto->multiplexed ? MP_LOADGEN_HTTP2
                                                 : MP_LOADGEN_HTTP1;
  r->max_requests = run->max_requests;
  r->warmup_ns = run->warmup_ns;
  r->sigfigs = run->sigfigs;
  r->cancelled = atomic_load(&run->cancelled);
  if (atomic_load(&run->fatal_set)) r->error = mp_strdup(run->fatal);
}

static void *control_main(void *arg) {
  mp_loadgen_run *run = arg;
  mp_hdr *agg = mp_hdr_new_latency(run->sigfigs);
  counters prev = {0}, cur;
  int64_t from = run->t0, b = mp__boundary_after(run, run->t0);
  while (!wait_until(run, b + 2 * MP_NS_PER_MS)) {
    collect(run, b, agg, &cur);
    emit(run, agg, &cur, &prev, from, b, false);
    from = b;
    b = mp__boundary_after(run, b);
  }
  for (uint32_t i = 0; i < run->n_threads; i++) pthread_join(run->threads[i].tid, NULL);
  int64_t now = mp_mono_ns();
  collect(run, 0, agg, &cur);
  emit(run, agg, &cur, &prev, from, now > from ? now : from, true);
  mp_hdr_free(agg);
  merge_result(run);
  pthread_mutex_lock(&run->mu);
  run->finished = true;
  pthread_cond_broadcast(&run->cv);
  pthread_mutex_unlock(&run->mu);
  return NULL;
}

/* ---- public API ------------------------------------------------------------------------------ */

static void run_destroy(mp_loadgen_run *run) {
  for (uint32_t i = 0; run->threads && i < run->n_threads; i++)
    mp__thread_destroy(&run->threads[i]);
  mp_free(run->threads);
  mp_loadgen_result *r = &run->result;
  for (size_t e = 0; r->endpoints && e < r->n_endpoints; e++) {
    mp_free(r->endpoints[e].url);
    mp__stats_free(&r->endpoints[e].stats);
  }
  mp_free(r->endpoints);
  mp__stats_free(&r->total);
  mp_hdr_free(r->sizes);
  mp_hdr_free(r->header_sizes);
  mp_free(r->error);
  mp_free(r->first_error);
  mp__run_release(run);
  if (run->cancel_fd >= 0) close(run->cancel_fd);
  if (run->exit_fd >= 0) close(run->exit_fd);
  pthread_cond_destroy(&run->cv);
  pthread_mutex_destroy(&run->mu);
  mp_free(run);
}

static mp_status start_threads(mp_loadgen_run *run) {
  run->threads = mp_calloc(run->n_threads, sizeof *run->threads);
  for (uint32_t i = 0; i < run->n_threads; i++) run->threads[i].epfd = -1;
  uint32_t first = 0;
  for (uint32_t i = 0; i < run->n_threads; i++) {
    /* Contiguous blocks of the global connection sequence, whose endpoints go
     * round-robin, so every thread with enough connections serves every endpoint. */
    uint32_t n = run->n_conns / run->n_threads + (i < run->n_conns % run->n_threads);
    uint64_t quota = 0;
    if (run->max_requests)
      quota = run->max_requests / run->n_threads + (i < run->max_requests % run->n_threads);
    mp_status st = mp__thread_init(&run->threads[i], run, i, first, n, quota);
    if (st != MP_OK) return st;
    first += n;
  }
  for (uint32_t i = 0; i < run->n_threads; i++) {
    int rc = pthread_create(&run->threads[i].tid, NULL, mp__thread_main, &run->threads[i]);
    if (rc != 0) {
      mp_loadgen_cancel(run);
      for (uint32_t k = 0; k < i; k++) pthread_join(run->threads[k].tid, NULL);
      return mp_error_set(MP_ERR_INTERNAL, "pthread_create: %s", strerror(rc));
    }
  }
  int rc = pthread_create(&run->control, NULL, control_main, run);
  if (rc != 0) {
    mp_loadgen_cancel(run);
    for (uint32_t k = 0; k < run->n_threads; k++) pthread_join(run->threads[k].tid, NULL);
    return mp_error_set(MP_ERR_INTERNAL, "pthread_create: %s", strerror(rc));
  }
  run->control_started = true;
  return MP_OK;
}

mp_status mp_loadgen_start(const mp_loadgen_spec *spec, mp_loadgen_run **out) {
  *out = NULL;
  mp_loadgen_run *run = mp_calloc(1, sizeof *run);
  pthread_mutex_init(&run->mu, NULL);
  mp_cond_init_mono(&run->cv);
  run->cancel_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  run->exit_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  mp_status st = MP_OK;
  if (run->cancel_fd < 0 || run->exit_fd < 0)
    st = mp_error_set(MP_ERR_IO, "eventfd: %s", strerror(errno));
  if (st == MP_OK) st = mp__run_prepare(spec, run);
  if (st != MP_OK) {
    run_destroy(run);
    return st;
  }
  int64_t now = mp_mono_ns(), wall = mp_now_ms();
  if (spec->start_at_ms > wall)
    run->t0 = now + (spec->start_at_ms - wall) * MP_NS_PER_MS;
  else
    run->t0 = now + START_LEAD_NS;
  run->wall_t0_ms = wall + (run->t0 - now) / MP_NS_PER_MS;
  run->m = run->t0 + run->warmup_ns;
  run->end = run->duration_ns ? run->m + run->duration_ns : INT64_MAX;
  if ((st = start_threads(run)) != MP_OK) {
    run_destroy(run);
    return st;
  }
  *out = run;
  return MP_OK;
}

mp_status mp_loadgen_wait(mp_loadgen_run *run, int64_t timeout_ns) {
  int64_t deadline = mp_mono_ns() + (timeout_ns > 0 ? timeout_ns : 0);
  pthread_mutex_lock(&run->mu);
  while (!run->finished && timeout_ns != 0) {
    if (timeout_ns < 0)
      pthread_cond_wait(&run->cv, &run->mu);
    else if (mp_cond_wait_until(&run->cv, &run->mu, deadline) == ETIMEDOUT)
      break;
  }
  bool done = run->finished;
  pthread_mutex_unlock(&run->mu);
  if (done && run->control_started) {
    pthread_join(run->control, NULL);
    run->control_started = false;
  }
  return done ? MP_OK : MP_ERR_TIMEOUT;
}

const mp_loadgen_result *mp_loadgen_result_get(const mp_loadgen_run *run) {
  return run && run->finished && !run->control_started ? &run->result : NULL;
}

void mp_loadgen_free(mp_loadgen_run *run) {
  if (!run) return;
  if (run->control_started) {
    mp_loadgen_cancel(run);
    mp_loadgen_wait(run, -1);
  }
  run_destroy(run);
}
