/* One event-loop thread: its own epoll set, its own connections (conn.c), its own
 * statistics. The loop: stop when due, expire timers, send what is due (closed loop: on
 * every free connection; constant rate: per the global schedule), write what multiplexed
 * connections queued, publish progress at each boundary, then wait for events. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

#define MAX_EVENTS 256

/* ---- sending ------------------------------------------------------------------------------ */

bool mp__may_send(const mp__thread *t, int64_t now) { return !t->stopping && now >= t->run->t0; }

/* Stops sending once the measured period is over or the thread's quota is used up, and
 * notes when sending really ended: at the end of the period, or later when a saturated
 * generator sent its last scheduled request late (so the actual rate it reports is the rate
 * it achieved, not the one it was asked for); now for a quota or a cancel. */
void mp__check_stop(mp__thread *t, int64_t now) {
  if (t->stopping) return;
  const mp_loadgen_run *run = t->run;
  bool stop = atomic_load_explicit(&run->cancelled, memory_order_relaxed) ||
              atomic_load_explicit(&run->fatal_set, memory_order_relaxed);
  int64_t at = now;
  bool quota = false;
  if (!stop && t->quota && t->sent >= t->quota) stop = quota = true;
  if (run->rate > 0 && run->t0 + t->pacer.next >= run->end) {
    stop = true;
    quota = false;
    at = now > run->end ? now : run->end;
  } else if (run->rate == 0 && now >= run->end) {
    stop = true;
    quota = false;
    at = run->end;
  }
  if (!stop) return;
  t->stopping = true;
  t->stop_quota = quota;
  t->stop_ns = at;
  /* Idle, connecting and backing-off connections have nothing left to do - unless a
   * refused request may still need them (see mp__requeue). */
  if (!quota)
    for (uint32_t i = 0; i < t->n_conns; i++)
      if (!t->conns[i].active) mp__conn_close(t, &t->conns[i]);
}

/* A request the server refused without processing it (HTTP/2 REFUSED_STREAM, typically
 * beyond a GOAWAY) goes out again, so that a server that rotates its connections causes no
 * errors: closed loop simply sends one more; constant rate resends it at its intended time,
 * ahead of the schedule, so its latency counts from when it was first meant to leave. */
void mp__requeue(mp__thread *t, const mp__req *r, int64_t now) {
  t->retried++;
  if (!r->warmup && t->sent) t->sent--;
  if (t->stopping && t->stop_quota) {
    /* The quota is not used up after all: reopen what closed meanwhile. */
    t->stopping = t->stop_quota = false;
    for (uint32_t i = 0; i < t->n_conns; i++)
      if (t->conns[i].state == MP__C_CLOSED) mp__conn_open(t, &t->conns[i], now);
  }
  if (t->run->rate == 0) return;
  if (t->rq_len == t->rq_cap) {
    uint32_t cap = t->rq_cap ? 2 * t->rq_cap : 16;
    int64_t *q = mp_calloc(cap, sizeof *q);
    for (uint32_t i = 0; i < t->rq_len; i++) q[i] = t->requeue[(t->rq_head + i) % t->rq_cap];
    mp_free(t->requeue);
    t->requeue = q;
    t->rq_cap = cap;
    t->rq_head = 0;
  }
  t->requeue[(t->rq_head + t->rq_len++) % t->rq_cap] = r->intended_ns;
}

/* A free connection of the next endpoint in round-robin order (t->n_free > 0). */
static mp__conn *next_free(mp__thread *t) {
  size_t n = t->run->n_eps;
  uint32_t e = t->rr;
  while (!t->free[e].head) e = (uint32_t)((e + 1) % n);
  t->rr = (uint32_t)((e + 1) % n);
  return t->free[e].head;
}

/* Sends whatever is due: closed loop fills every free connection, constant rate sends
 * each due slot of the schedule on a free connection, round-robin over endpoints. */
static void issue(mp__thread *t, int64_t now) {
  mp_loadgen_run *run = t->run;
  if (run->rate == 0) {
    for (size_t e = 0; e < run->n_eps && t->n_free && mp__may_send(t, now); e++)
      while (t->free[e].head && mp__may_send(t, now)) {
        mp__send(t, t->free[e].head, now, now);
        mp__check_stop(t, now);
      }
    return;
  }
  while (t->rq_len && t->n_free && mp__may_send(t, now)) {
    int64_t intended = t->requeue[t->rq_head];
    t->rq_head = (t->rq_head + 1) % t->rq_cap;
    t->rq_len--;
    mp__send(t, next_free(t), intended, now);
  }
  while (t->n_free && mp__may_send(t, now) && run->t0 + t->pacer.next <= now) {
    mp__conn *c = next_free(t);
    int64_t intended = run->t0 + t->pacer.next;
    int64_t lag = now - intended;
    if (lag > MP_LOADGEN_LATE_NS) t->late_sends++;
    if (lag > t->max_lag_ns) t->max_lag_ns = lag;
    mp__pacer_advance(&t->pacer);
    mp__send(t, c, intended, now);
    mp__check_stop(t, now);
  }
}

/* ---- timers, progress, the loop ------------------------------------------------------------ */

static void expire(mp__thread *t, int64_t now) {
  int64_t timeout = t->run->timeout_ns;
  while (t->timers.head && t->timers.head->sent_ns + timeout <= now)
    mp__timeout(t, t->timers.head, now);
  if (!t->retry.head || now < t->next_retry) return;
  t->next_retry = INT64_MAX;
  for (mp__conn *c = t->retry.head, *next; c; c = next) {
    next = c->next;
    if (c->retry_at <= now) {
      mp__list_remove(c);
      c->state = MP__C_CLOSED;
      mp__conn_open(t, c, now);
    } else if (c->retry_at < t->next_retry) {
      t->next_retry = c->retry_at;
    }
  }
}

/* Hands the interval's histogram and the cumulative counters to the control thread. */
static void publish(mp__thread *t, int64_t now) {
  uint64_t req = 0, err = 0;
  for (size_t e = 0; e < t->run->n_eps; e++) {
    req += t->eps[e].requests;
    err += t->eps[e].errors;
  }
  pthread_mutex_lock(&t->snap_mu);
  if (mp_hdr_count(t->snap.hist) == 0) {
    mp_hdr *h = t->snap.hist; /* empty: swap instead of copying */
    t->snap.hist = t->ival;
    t->ival = h;
  } else {
    mp_hdr_add(t->snap.hist, t->ival);
    mp_hdr_reset(t->ival);
  }
  t->snap.requests = req;
  t->snap.errors = err;
  t->snap.warmup_requests = t->warmup_requests;
  t->snap.warmup_errors = t->warmup_errors;
  t->snap.late_sends = t->late_sends;
  t->snap.max_lag_ns = t->max_lag_ns;
  atomic_store(&t->snap_time, now);
  pthread_mutex_unlock(&t->snap_mu);
}

/* Waits up to timeout_ns. Deadlines a millisecond or more away (timeouts, progress
 * boundaries) use epoll_wait, which is cheaper; sub-millisecond ones (the next intended send
 * of a constant-rate run) need epoll_pwait2. Kernels before 5.11 (and valgrind) lack
 * epoll_pwait2: millisecond resolution then. */
static atomic_bool no_pwait2;

/* epoll_wait itself, not glibc's cancellable wrapper (see plain_read in transport_plain.c):
 * closed-loop runs poll it several times per request. */
static int epoll_wait_raw(int epfd, struct epoll_event *evs, int timeout_ms) {
  return (int)syscall(SYS_epoll_wait, epfd, evs, MAX_EVENTS, timeout_ms);
}

static int wait_events(int epfd, struct epoll_event *evs, int64_t timeout_ns) {
  if (timeout_ns >= MP_NS_PER_MS || timeout_ns == 0 ||
      atomic_load_explicit(&no_pwait2, memory_order_relaxed)) {
    int64_t ms = timeout_ns / MP_NS_PER_MS; /* early by < 1 ms: the loop waits the rest */
    if (ms == 0 && timeout_ns > 0) ms = 1;
    return epoll_wait_raw(epfd, evs, ms > INT32_MAX ? INT32_MAX : (int)ms);
  }
  struct timespec ts = {.tv_sec = 0, .tv_nsec = timeout_ns};
  int n = epoll_pwait2(epfd, evs, MAX_EVENTS, &ts, NULL);
  if (n < 0 && errno == ENOSYS) {
    atomic_store(&no_pwait2, true);
    return epoll_wait_raw(epfd, evs, 1);
  }
  return n;
}

/* Closed-loop runs: nap-then-poll, or spin-then-block. A generator that is faster than its
 * target sleeps in epoll and is woken by almost every response; each sleep/wake costs both
 * sides more than the response itself (measured against nginx: context switches per
 * request 0.2 -> 0.002, nginx's CPU per request -11 %, throughput +13 % once they are gone),
 * and the target then sees one request at a time instead of a batch.
 *
 * Nap: with many requests in flight and responses timed by the kernel (plain TCP, see
 * mp__transport_ops.rx_time), sleep a short while before polling, so that one wake-up
 * collects a batch of responses and the next requests leave together. The nap is 1/32 of
 * the recent response time (2..20 us), so it costs at most ~3 % of a connection's cycle,
 * and it does not move any latency: each response keeps the time the kernel received it.
 * Measured against nginx at -c50: generator CPU per request -25 %, throughput unchanged.
 *
 * Spin (TLS, or few requests in flight): poll without blocking a few times first:
 * epoll_wait with a zero timeout (cheaper than epoll_pwait2, no timespec to copy), counted
 * in polls, not clock reads. The number of polls adapts like KVM's halt polling: an event
 * that came soon after we gave up grows it (to SPIN_MAX), long blocks shrink it to
 * nothing, so a slow target costs no spinning.
 *
 * Constant-rate runs do neither: they sleep until the next intended send. */
#define SPIN_BASE 8
#define SPIN_MAX 64
#define SPIN_SHORT_BLOCK_NS (50 * MP_NS_PER_US)
#define NAP_MIN_INFLIGHT 16
#define NAP_MIN_NS (2 * MP_NS_PER_US)
#define NAP_MAX_NS (20 * MP_NS_PER_US)

static void nap(mp__thread *t) {
  int64_t ns = t->rtt_ns / 32;
  if (ns < NAP_MIN_NS) ns = NAP_MIN_NS;
  if (ns > NAP_MAX_NS) ns = NAP_MAX_NS;
  struct timespec ts = {.tv_sec = 0, .tv_nsec = ns};
  (void)syscall(SYS_clock_nanosleep, CLOCK_MONOTONIC, 0, &ts, NULL);
}

static int poll_or_wait(mp__thread *t, struct epoll_event *evs, int64_t now, int64_t wake) {
  bool closed_loop = t->run->rate == 0 && t->inflight > 0 && !t->stopping;
  if (closed_loop && t->nap && t->inflight >= NAP_MIN_INFLIGHT && wake > now) {
    nap(t);
    int n = epoll_wait_raw(t->epfd, evs, 0);
    if (n != 0) return n;
    now = mp_mono_ns();
    return wait_events(t->epfd, evs, wake > now ? wake - now : 0);
  }
  bool spin = closed_loop;
  if (spin)
    for (uint32_t i = 0; i < t->spin_polls; i++) {
      int n = epoll_wait_raw(t->epfd, evs, 0);
      if (n != 0) return n;
    }
  int64_t before = spin ? mp_mono_ns() : now;
  int n = wait_events(t->epfd, evs, wake > before ? wake - before : 0);
  if (spin) {
    int64_t blocked = mp_mono_ns() - before;
    if (n > 0 && blocked <= SPIN_SHORT_BLOCK_NS)
      t->spin_polls =
          t->spin_polls ? (t->spin_polls * 2 < SPIN_MAX ? t->spin_polls * 2 : SPIN_MAX) : SPIN_BASE;
    else if (blocked > SPIN_SHORT_BLOCK_NS)
      t->spin_polls = t->spin_polls / 2 < SPIN_BASE ? 0 : t->spin_polls / 2;
  }
  return n;
}

void *mp__thread_main(void *arg) {
  mp__thread *t = arg;
  mp_loadgen_run *run = t->run;
  /* Sleep precision matters for pacing: 1 µs timer slack instead of the default 50 µs. */
  (void)prctl(PR_SET_TIMERSLACK, 1000UL, 0, 0, 0);
  struct epoll_event evs[MAX_EVENTS];
  struct epoll_event cev = {.events = EPOLLIN, .data.u64 = UINT64_MAX};
  epoll_ctl(t->epfd, EPOLL_CTL_ADD, run->cancel_fd, &cev);

  int64_t now = mp_mono_ns();
  t->next_boundary = mp__boundary_after(run, now);
  for (uint32_t i = 0; i < t->n_conns; i++) mp__conn_open(t, &t->conns[i], now);

  for (;;) {
    now = mp_mono_ns();
    /* Cancelled or failed: stop at once, in-flight requests count as unfinished. */
    if (atomic_load_explicit(&run->cancelled, memory_order_relaxed) ||
        atomic_load_explicit(&run->fatal_set, memory_order_relaxed))
      break;
    mp__check_stop(t, now);
    if (t->stopping && t->inflight == 0) break;
    expire(t, now);
    issue(t, now);
    mp__flush(t, now);
    if (now >= t->next_boundary) {
      publish(t, now);
      t->next_boundary = mp__boundary_after(run, now);
    }

    int64_t wake = t->next_boundary;
    if (t->timers.head && t->timers.head->sent_ns + run->timeout_ns < wake)
      wake = t->timers.head->sent_ns + run->timeout_ns;
    if (t->retry.head && t->next_retry < wake) wake = t->next_retry;
    if (!t->stopping) {
      if (now < run->t0 && run->t0 < wake) wake = run->t0;
      if (run->end < wake) wake = run->end;
      if (run->rate > 0 && t->n_free && run->t0 + t->pacer.next < wake)
        wake = run->t0 + t->pacer.next;
    }
    int n = poll_or_wait(t, evs, now, wake);
    if (n < 0 && errno != EINTR) {
      char msg[128];
      snprintf(msg, sizeof msg, "epoll_pwait2: %s", strerror(errno));
      mp__run_fail(run, msg);
      break;
    }
    now = mp_mono_ns();
    for (int i = 0; i < n; i++) {
      uint64_t d = evs[i].data.u64;
      if (d == UINT64_MAX) continue; /* cancelled: seen at the top of the loop */
      mp__conn *c = &t->conns[(uint32_t)d];
      if (c->gen != (uint32_t)(d >> 32) || c->fd < 0) continue; /* event of an old socket */
      mp__conn_event(t, c, evs[i].events, now);
    }
  }

  now = mp_mono_ns();
  if (!t->stopping) t->stop_ns = now < run->end ? now : run->end;
  t->unfinished = t->inflight + t->rq_len;
  for (uint32_t i = 0; i < t->n_conns; i++) mp__conn_close(t, &t->conns[i]);
  publish(t, now);
  atomic_store(&t->done, true);
  uint64_t one = 1;
  (void)!write(run->exit_fd, &one, sizeof one);
  return NULL;
}

mp_status mp__thread_init(mp__thread *t, mp_loadgen_run *run, uint32_t index, uint32_t first_conn,
                          uint32_t n_conns, uint64_t quota) {
  t->run = run;
  t->index = index;
  pthread_mutex_init(&t->snap_mu, NULL);
  t->epfd = epoll_create1(EPOLL_CLOEXEC);
  if (t->epfd < 0) return mp_error_set(MP_ERR_IO, "epoll_create1: %s", strerror(errno));
  t->buf = mp_malloc(MP__READ_BUF);
  t->n_conns = n_conns;
  t->conns = mp_calloc(n_conns, sizeof *t->conns);
  t->free = mp_calloc(run->n_eps, sizeof *t->free);
  t->xcache = mp_calloc(run->n_eps, sizeof *t->xcache);
  t->eps = mp_calloc(run->n_eps, sizeof *t->eps);
  for (size_t e = 0; e < run->n_eps; e++) mp__stats_init(&t->eps[e], run->sigfigs);
  if (mp_hdr_new(1, INT64_C(1) << 40, run->sigfigs, &t->sizes) != MP_OK ||
      mp_hdr_new(1, INT64_C(1) << 40, run->sigfigs, &t->header_sizes) != MP_OK)
    return MP_ERR_INTERNAL;
  t->ival = mp_hdr_new_latency(run->sigfigs);
  t->snap.hist = mp_hdr_new_latency(run->sigfigs);
  t->quota = quota;
  t->next_retry = INT64_MAX;
  t->rr = index % (uint32_t)run->n_eps;
  t->nap = true;
  for (size_t e = 0; e < run->n_eps; e++) t->nap = t->nap && run->eps[e].transport->rx_time;
  mp__pacer_init(&t->pacer, run->rate, run->rampup_ns, (uint64_t)run->worker_count * run->n_threads,
                 (uint64_t)run->worker_count * index + run->worker_index);
  for (uint32_t i = 0; i < n_conns; i++) {
    mp__conn *c = &t->conns[i];
    c->t = t;
    c->index = i;
    c->fd = -1;
    c->ep_index = (uint16_t)((first_conn + i) % run->n_eps);
    c->ep = &run->eps[c->ep_index];
    c->req0.c = c;
    c->cap = 1;
    if (c->ep->proto->multiplexed) {
      c->cap = run->streams;
      c->reqs = mp_calloc(c->cap, sizeof *c->reqs);
      for (uint32_t k = 0; k < c->cap; k++) c->reqs[k].c = c;
    }
    if (c->ep->proto->conn_init) c->ep->proto->conn_init(c);
  }
  return MP_OK;
}

void mp__thread_destroy(mp__thread *t) {
  if (!t->run) return;
  for (uint32_t i = 0; t->conns && i < t->n_conns; i++) {
    mp__conn *c = &t->conns[i];
    if (c->fd >= 0) c->ep->transport->close(c);
    if (c->ep->proto->conn_free) c->ep->proto->conn_free(c);
    mp_free(c->reqs);
  }
  mp_free(t->requeue);
  mp_free(t->conns);
  mp_free(t->free);
  for (size_t e = 0; t->xcache && e < t->run->n_eps; e++)
    if (t->xcache[e]) t->run->eps[e].transport->cache_free(t->xcache[e]);
  mp_free(t->xcache);
  for (size_t e = 0; t->eps && e < t->run->n_eps; e++) mp__stats_free(&t->eps[e]);
  mp_free(t->eps);
  mp_hdr_free(t->sizes);
  mp_hdr_free(t->header_sizes);
  mp_hdr_free(t->ival);
  mp_hdr_free(t->snap.hist);
  mp_free(t->buf);
  if (t->epfd >= 0) close(t->epfd);
  pthread_mutex_destroy(&t->snap_mu);
  t->run = NULL;
}
