/* One event-loop thread: its own epoll set, its own connections, its own statistics.
 *
 * System calls per request, the figure that decides how efficient a generator is: every
 * socket is registered once, edge-triggered for both directions, when it is opened, so a
 * request costs one send() of the pre-built request and one recv() of the response,
 * plus a share of epoll_pwait2() - no epoll_ctl per request (wrk makes two). A recv() that
 * returns less than the buffer has drained the socket (TCP copies everything queued), so
 * no second recv() is spent to see EAGAIN; the next arrival raises a new edge.
 *
 * Stale events: a connection that closes and reopens within one batch of events could
 * see an event of its old socket, so every registration carries (generation, index). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

#define MAX_EVENTS 256
#define BACKOFF_BASE_NS (10 * MP_NS_PER_MS)
#define BACKOFF_MAX_NS MP_NS_PER_S

enum { E_CONNECT, E_READ, E_WRITE, E_TIMEOUT, E_PROTOCOL };

/* ---- intrusive lists --------------------------------------------------------------------- */

static void list_push(mp__list *l, mp__conn *c) {
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

static void list_remove(mp__conn *c) {
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

/* ---- errors and statistics ---------------------------------------------------------------- */

static void note_error(mp__thread *t, const char *fmt, ...) MP_PRINTF(2, 3);
static void note_error(mp__thread *t, const char *fmt, ...) {
  if (t->first_error[0]) return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(t->first_error, sizeof t->first_error, fmt, ap);
  va_end(ap);
}

/* Counts one failure of kind `kind` against the connection's endpoint (or the warm-up). */
static void count_failure(mp__thread *t, mp__conn *c, int kind, bool warm) {
  t->fail_streak++;
  if (warm) {
    t->warmup_errors++;
  } else {
    mp_loadgen_stats *s = &t->eps[c->ep_index];
    s->errors++;
    switch (kind) {
    case E_CONNECT: s->connect_errors++; break;
    case E_READ: s->read_errors++; break;
    case E_WRITE: s->write_errors++; break;
    case E_TIMEOUT: s->timeouts++; break;
    default: s->protocol_errors++; break;
    }
  }
  /* A target that never answers (refused, garbage, silence) ends the run with a clear
   * error instead of being hammered until the duration runs out: when no response has
   * come from any endpoint on any thread and every connection here failed three times. */
  uint64_t limit = 3 * (uint64_t)(t->n_conns ? t->n_conns : 1);
  if (!t->ever_ok && t->fail_streak >= limit && !atomic_load(&t->run->any_ok)) {
    char msg[400];
    snprintf(msg, sizeof msg, "no response from the target after %llu attempts: %s",
             (unsigned long long)t->fail_streak, t->first_error);
    mp__run_fail(t->run, msg);
  }
}

/* ---- connection lifecycle --------------------------------------------------------------- */

static void conn_open(mp__thread *t, mp__conn *c, int64_t now);

static void conn_close(mp__thread *t, mp__conn *c) {
  list_remove(c);
  if (c->fd >= 0) c->ep->transport->close(c);
  if (c->state == MP__C_READY) t->n_free--;
  c->state = MP__C_CLOSED;
}

/* Reopens after a close: at once the first time, then with a growing backoff while the
 * connection keeps failing. Nothing reopens once the thread stops sending. */
static void conn_reopen(mp__thread *t, mp__conn *c, int64_t now) {
  if (t->stopping) return;
  if (c->fails <= 1) {
    conn_open(t, c, now);
    return;
  }
  int64_t wait = BACKOFF_BASE_NS << (c->fails < 8 ? c->fails - 2 : 6);
  if (wait > BACKOFF_MAX_NS) wait = BACKOFF_MAX_NS;
  c->state = MP__C_BACKOFF;
  c->retry_at = now + wait;
  list_push(&t->retry, c);
  if (c->retry_at < t->next_retry) t->next_retry = c->retry_at;
}

static void connect_failed(mp__thread *t, mp__conn *c, int err, bool timeout, int64_t now) {
  if (timeout)
    note_error(t, "connect to %s (%s) timed out", c->ep->url, c->ep->addr_text);
  else
    note_error(t, "connect to %s (%s): %s", c->ep->url, c->ep->addr_text, strerror(err));
  c->fails++;
  count_failure(t, c, timeout ? E_TIMEOUT : E_CONNECT, t->run->warmup_ns > 0 && now < t->run->m);
  conn_close(t, c);
  conn_reopen(t, c, now);
}

/* The request in flight on c is lost: count it, close, reconnect. */
static void request_failed(mp__thread *t, mp__conn *c, int kind, const char *why, int64_t now) {
  switch (kind) {
  case E_READ: note_error(t, "read from %s: %s", c->ep->addr_text, why); break;
  case E_WRITE: note_error(t, "write to %s: %s", c->ep->addr_text, why); break;
  case E_TIMEOUT: note_error(t, "no response from %s within the timeout", c->ep->url); break;
  default: note_error(t, "invalid response from %s: %s", c->ep->url, why); break;
  }
  t->inflight--;
  c->fails++;
  count_failure(t, c, kind, c->warmup);
  conn_close(t, c);
  conn_reopen(t, c, now);
}

static void conn_open(mp__thread *t, mp__conn *c, int64_t now) {
  c->gen++;
  c->out = NULL;
  c->out_len = c->out_off = 0;
  int rc = c->ep->transport->open(c, c->ep);
  if (rc < 0) {
    c->fd = -1;
    connect_failed(t, c, -rc, false, now);
    return;
  }
  struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET,
                           .data.u64 = ((uint64_t)c->gen << 32) | c->index};
  if (epoll_ctl(t->epfd, EPOLL_CTL_ADD, c->fd, &ev) < 0) {
    int err = errno;
    c->ep->transport->close(c);
    connect_failed(t, c, err, false, now);
    return;
  }
  t->connects++;
  if (c->ep->proto->conn_reset) c->ep->proto->conn_reset(c);
  c->state = MP__C_CONNECTING;
  c->since = now;
  list_push(&t->timers, c);
}

/* ---- sending ------------------------------------------------------------------------------ */

static void check_stop(mp__thread *t, int64_t now);

static bool may_send(const mp__thread *t, int64_t now) { return !t->stopping && now >= t->run->t0; }

static void conn_write(mp__thread *t, mp__conn *c, int64_t now) {
  while (c->out_off < c->out_len) {
    ssize_t n = c->ep->transport->write(c, c->out + c->out_off, c->out_len - c->out_off);
    if (n > 0) {
      c->out_off += (size_t)n;
      if (!c->warmup) t->eps[c->ep_index].bytes_written += (uint64_t)n;
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return; /* EPOLLOUT resumes */
    request_failed(t, c, E_WRITE, n < 0 ? strerror(errno) : "short write", now);
    return;
  }
}

static void send_request(mp__thread *t, mp__conn *c, int64_t intended, int64_t now) {
  list_remove(c); /* from the free list */
  t->n_free--;
  c->ep->proto->request(c, &c->out, &c->out_len);
  c->out_off = 0;
  c->intended_ns = intended;
  c->sent_ns = now;
  c->warmup = intended < t->run->m;
  if (!c->warmup) t->sent++;
  c->state = MP__C_BUSY;
  c->since = now;
  list_push(&t->timers, c);
  t->inflight++;
  conn_write(t, c, now);
}

/* A connection became free: closed loop sends on it at once; constant rate leaves it on
 * the free list for the pacer (issue()). */
static void conn_ready(mp__thread *t, mp__conn *c, int64_t now) {
  c->state = MP__C_READY;
  t->n_free++;
  list_push(&t->free[c->ep_index], c);
  if (t->run->rate == 0 && may_send(t, now)) {
    send_request(t, c, now, now);
    check_stop(t, now);
  }
}

/* Stops sending once the measured period is over or the thread's quota is used up, and
 * notes when sending really ended: at the end of the period, or later when a saturated
 * generator sent its last scheduled request late (so the actual rate it reports is the rate
 * it achieved, not the one it was asked for); now for a quota or a cancel. */
static void check_stop(mp__thread *t, int64_t now) {
  if (t->stopping) return;
  const mp_loadgen_run *run = t->run;
  bool stop = atomic_load_explicit(&run->cancelled, memory_order_relaxed) ||
              atomic_load_explicit(&run->fatal_set, memory_order_relaxed);
  int64_t at = now;
  if (t->quota && t->sent >= t->quota) stop = true;
  if (run->rate > 0 && run->t0 + t->pacer.next >= run->end) {
    stop = true;
    at = now > run->end ? now : run->end;
  } else if (run->rate == 0 && now >= run->end) {
    stop = true;
    at = run->end;
  }
  if (!stop) return;
  t->stopping = true;
  t->stop_ns = at;
  /* Idle, connecting and backing-off connections have nothing left to do. */
  for (uint32_t i = 0; i < t->n_conns; i++)
    if (t->conns[i].state != MP__C_BUSY) conn_close(t, &t->conns[i]);
}

/* Sends whatever is due: closed loop fills every free connection, constant rate sends
 * each due slot of the schedule on a free connection, round-robin over endpoints. */
static void issue(mp__thread *t, int64_t now) {
  mp_loadgen_run *run = t->run;
  if (run->rate == 0) {
    for (size_t e = 0; e < run->n_eps && t->n_free && may_send(t, now); e++)
      while (t->free[e].head && may_send(t, now)) {
        send_request(t, t->free[e].head, now, now);
        check_stop(t, now);
      }
    return;
  }
  while (t->n_free && may_send(t, now) && run->t0 + t->pacer.next <= now) {
    uint32_t e = t->rr;
    while (!t->free[e].head) e = (uint32_t)((e + 1) % run->n_eps);
    t->rr = (uint32_t)((e + 1) % run->n_eps);
    int64_t intended = run->t0 + t->pacer.next;
    int64_t lag = now - intended;
    if (lag > MP_LOADGEN_LATE_NS) t->late_sends++;
    if (lag > t->max_lag_ns) t->max_lag_ns = lag;
    mp__pacer_advance(&t->pacer);
    send_request(t, t->free[e].head, intended, now);
    check_stop(t, now);
  }
}

/* ---- receiving ---------------------------------------------------------------------------- */

static void response_done(mp__thread *t, mp__conn *c, const mp__response *r, int64_t now) {
  list_remove(c); /* from the timers */
  t->inflight--;
  c->fails = 0;
  t->fail_streak = 0;
  if (!t->ever_ok) {
    t->ever_ok = true;
    atomic_store(&t->run->any_ok, true);
  }
  int64_t lat = (now - c->intended_ns) / MP_NS_PER_US;
  bool bad = r->status < 200 || r->status >= 400;
  if (c->warmup) {
    t->warmup_requests++;
    if (bad) t->warmup_errors++;
  } else {
    mp_loadgen_stats *s = &t->eps[c->ep_index];
    s->requests++;
    if (r->status > 0 && r->status < MP_LOADGEN_MAX_STATUS) s->status[r->status]++;
    if (bad) s->errors++;
    s->bytes_read += r->wire_bytes;
    mp_hdr_record(s->latency, lat);
    mp_hdr_record(s->uncorrected, (now - c->sent_ns) / MP_NS_PER_US);
    mp_hdr_record(t->sizes, (int64_t)r->wire_bytes);
    mp_hdr_record(t->header_sizes, (int64_t)r->header_bytes);
  }
  mp_hdr_record(t->ival, lat);
}

/* Feeds bytes to the protocol. Returns false when the connection was closed or reopened
 * (the caller must stop touching the old socket). */
static bool conn_input(mp__thread *t, mp__conn *c, const char *data, size_t len, int64_t now) {
  uint32_t gen = c->gen;
  if (c->state != MP__C_BUSY) {
    /* Bytes nobody asked for (say a 408 before an idle close): drop the connection. */
    conn_close(t, c);
    conn_reopen(t, c, now);
    return false;
  }
  mp__response r;
  size_t used = c->ep->proto->input(c, data, len, &r);
  if (r.kind == MP__RESP_ERROR) {
    request_failed(t, c, E_PROTOCOL, r.error, now);
    return false;
  }
  if (r.kind == MP__RESP_NONE) return true;
  response_done(t, c, &r, now);
  if (used < len || !r.keep_alive) {
    /* Extra bytes after a complete response cannot belong to anything: close. */
    if (used < len) {
      note_error(t, "invalid response from %s: data after the end of a response", c->ep->url);
      if (!c->warmup) {
        t->eps[c->ep_index].protocol_errors++;
        t->eps[c->ep_index].errors++;
      }
    }
    conn_close(t, c);
    conn_reopen(t, c, now);
    return false;
  }
  conn_ready(t, c, now); /* closed loop: the next request leaves now, and may fail */
  return c->gen == gen;
}

static void conn_eof(mp__thread *t, mp__conn *c, int64_t now) {
  if (c->state != MP__C_BUSY) { /* an idle keep-alive connection closed by the server */
    conn_close(t, c);
    conn_reopen(t, c, now);
    return;
  }
  mp__response r;
  c->ep->proto->eof(c, &r);
  if (r.kind == MP__RESP_DONE) {
    response_done(t, c, &r, now);
    conn_close(t, c);
    conn_reopen(t, c, now);
    return;
  }
  request_failed(t, c, r.kind == MP__RESP_ERROR ? E_PROTOCOL : E_READ,
                 r.kind == MP__RESP_ERROR ? r.error : "connection closed before the response", now);
}

static void conn_readable(mp__thread *t, mp__conn *c, uint32_t events, int64_t now) {
  for (;;) {
    ssize_t n = c->ep->transport->read(c, t->buf, MP__READ_BUF);
    if (n > 0) {
      if (!conn_input(t, c, t->buf, (size_t)n, now)) return;
      if ((size_t)n < MP__READ_BUF && !(events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR))) return;
      continue;
    }
    if (n == 0) {
      conn_eof(t, c, now);
      return;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return;
    if (c->state == MP__C_BUSY) {
      request_failed(t, c, E_READ, strerror(errno), now);
    } else {
      conn_close(t, c);
      conn_reopen(t, c, now);
    }
    return;
  }
}

static void on_event(mp__thread *t, mp__conn *c, uint32_t events, int64_t now) {
  uint32_t gen = c->gen;
  if (c->state == MP__C_CONNECTING) {
    if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) return;
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0) err = errno;
    if (!err && (events & (EPOLLERR | EPOLLHUP))) err = ECONNREFUSED;
    if (err) {
      connect_failed(t, c, err, false, now);
      return;
    }
    if (c->ep->transport->handshake) {
      int rc = c->ep->transport->handshake(c);
      if (rc == -EAGAIN) return;
      if (rc < 0) {
        connect_failed(t, c, -rc, false, now);
        return;
      }
    }
    list_remove(c); /* from the timers */
    conn_ready(t, c, now);
    if (c->gen != gen || !(events & (EPOLLIN | EPOLLRDHUP))) return;
  }
  if ((events & EPOLLOUT) && c->state == MP__C_BUSY && c->out_off < c->out_len) {
    conn_write(t, c, now);
    if (c->gen != gen) return;
  }
  if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) conn_readable(t, c, events, now);
}

/* ---- timers, progress, the loop ------------------------------------------------------------ */

static void expire(mp__thread *t, int64_t now) {
  int64_t timeout = t->run->timeout_ns;
  while (t->timers.head && t->timers.head->since + timeout <= now) {
    mp__conn *c = t->timers.head;
    if (c->state == MP__C_CONNECTING)
      connect_failed(t, c, ETIMEDOUT, true, now);
    else
      request_failed(t, c, E_TIMEOUT, "timeout", now);
  }
  if (!t->retry.head || now < t->next_retry) return;
  t->next_retry = INT64_MAX;
  for (mp__conn *c = t->retry.head, *next; c; c = next) {
    next = c->next;
    if (c->retry_at <= now) {
      list_remove(c);
      c->state = MP__C_CLOSED;
      conn_open(t, c, now);
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

static int wait_events(int epfd, struct epoll_event *evs, int64_t timeout_ns) {
  if (timeout_ns >= MP_NS_PER_MS || timeout_ns == 0 ||
      atomic_load_explicit(&no_pwait2, memory_order_relaxed)) {
    int64_t ms = timeout_ns / MP_NS_PER_MS; /* early by < 1 ms: the loop waits the rest */
    if (ms == 0 && timeout_ns > 0) ms = 1;
    return epoll_wait(epfd, evs, MAX_EVENTS, ms > INT32_MAX ? INT32_MAX : (int)ms);
  }
  struct timespec ts = {.tv_sec = 0, .tv_nsec = timeout_ns};
  int n = epoll_pwait2(epfd, evs, MAX_EVENTS, &ts, NULL);
  if (n < 0 && errno == ENOSYS) {
    atomic_store(&no_pwait2, true);
    return epoll_wait(epfd, evs, MAX_EVENTS, 1);
  }
  return n;
}

/* Spin-then-block for closed-loop runs. A generator that is faster than its target sleeps
 * in epoll and is woken by almost every response; each sleep/wake costs both sides more
 * than a few non-blocking polls (measured against nginx: context switches per request 0.2
 * -> 0.002, nginx's CPU per request -11 %, throughput +13 %). So while responses are
 * outstanding, poll without blocking a few times first: epoll_wait with a zero timeout
 * (cheaper than epoll_pwait2, no timespec to copy), counted in polls, not clock reads. The
 * number of polls adapts like KVM's halt polling: an event that came soon after we gave up
 * grows it (to SPIN_MAX), long blocks shrink it to nothing, so a slow target costs no
 * spinning. Constant-rate runs never spin: they sleep until the next intended send. */
#define SPIN_BASE 8
#define SPIN_MAX 64
#define SPIN_SHORT_BLOCK_NS (50 * MP_NS_PER_US)

static int poll_or_wait(mp__thread *t, struct epoll_event *evs, int64_t now, int64_t wake) {
  bool spin = t->run->rate == 0 && t->inflight > 0 && !t->stopping;
  if (spin)
    for (uint32_t i = 0; i < t->spin_polls; i++) {
      int n = epoll_wait(t->epfd, evs, MAX_EVENTS, 0);
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
  for (uint32_t i = 0; i < t->n_conns; i++) conn_open(t, &t->conns[i], now);

  for (;;) {
    now = mp_mono_ns();
    /* Cancelled or failed: stop at once, in-flight requests count as unfinished. */
    if (atomic_load_explicit(&run->cancelled, memory_order_relaxed) ||
        atomic_load_explicit(&run->fatal_set, memory_order_relaxed))
      break;
    check_stop(t, now);
    if (t->stopping && t->inflight == 0) break;
    expire(t, now);
    issue(t, now);
    if (now >= t->next_boundary) {
      publish(t, now);
      t->next_boundary = mp__boundary_after(run, now);
    }

    int64_t wake = t->next_boundary;
    if (t->timers.head && t->timers.head->since + run->timeout_ns < wake)
      wake = t->timers.head->since + run->timeout_ns;
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
      on_event(t, c, evs[i].events, now);
    }
  }

  now = mp_mono_ns();
  if (!t->stopping) t->stop_ns = now < run->end ? now : run->end;
  t->unfinished = t->inflight;
  for (uint32_t i = 0; i < t->n_conns; i++) conn_close(t, &t->conns[i]);
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
  mp__pacer_init(&t->pacer, run->rate, run->rampup_ns, (uint64_t)run->worker_count * run->n_threads,
                 (uint64_t)run->worker_count * index + run->worker_index);
  for (uint32_t i = 0; i < n_conns; i++) {
    mp__conn *c = &t->conns[i];
    c->t = t;
    c->index = i;
    c->fd = -1;
    c->ep_index = (uint16_t)((first_conn + i) % run->n_eps);
    c->ep = &run->eps[c->ep_index];
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
  }
  mp_free(t->conns);
  mp_free(t->free);
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
