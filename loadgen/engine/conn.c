/* Connections of one event-loop thread and the requests in flight on them: open, connect,
 * handshake, send, receive, fail, reconnect. Everything here runs on the connection's own
 * thread.
 *
 * System calls per request, the figure that decides how efficient a generator is: every
 * socket is registered once, edge-triggered for both directions, when it is opened, so an
 * HTTP/1.1 request costs one send() of the pre-built request and one recv() of the
 * response, plus a share of epoll_wait() - no epoll_ctl per request (wrk makes two). A
 * recv() that returns less than the buffer has drained the socket (TCP copies everything
 * queued), so no second recv() is spent to see EAGAIN; the next arrival raises a new edge.
 * Multiplexed (HTTP/2) connections queue their frames and write them once per loop
 * iteration (mp__flush), so the requests sent after one read leave in one write.
 *
 * Stale events: a connection that closes and reopens within one batch of events could
 * see an event of its old socket, so every registration carries (generation, index). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>

#include "internal.h"

#define BACKOFF_BASE_NS (10 * MP_NS_PER_MS)
#define BACKOFF_MAX_NS MP_NS_PER_S

enum { E_CONNECT, E_READ, E_WRITE, E_TIMEOUT, E_PROTOCOL };

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
  /* A failed connection attempt stands for every request slot it would have carried. */
  t->fail_streak += kind == E_CONNECT ? c->cap : 1;
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
   * come from any endpoint on any thread and every connection (every request slot of a
   * multiplexed one) here failed three times. */
  uint64_t limit = 3 * (uint64_t)(t->n_conns ? t->n_conns : 1) * t->run->streams;
  if (!t->ever_ok && t->fail_streak >= limit && !atomic_load(&t->run->any_ok)) {
    char msg[400];
    snprintf(msg, sizeof msg, "no response from the target after %llu attempts: %s",
             (unsigned long long)t->fail_streak, t->first_error);
    mp__run_fail(t->run, msg);
  }
}

static void note_kind(mp__thread *t, mp__conn *c, int kind, const char *why) {
  switch (kind) {
  case E_READ: note_error(t, "read from %s: %s", c->ep->addr_text, why); break;
  case E_WRITE: note_error(t, "write to %s: %s", c->ep->addr_text, why); break;
  case E_TIMEOUT: note_error(t, "no response from %s within the timeout", c->ep->url); break;
  default: note_error(t, "invalid response from %s: %s", c->ep->url, why); break;
  }
}

/* ---- the free lists ------------------------------------------------------------------------- */

static void free_add(mp__thread *t, mp__conn *c) {
  c->is_free = true;
  t->n_free++;
  mp__list_push(&t->free[c->ep_index], c);
}

static void free_remove(mp__thread *t, mp__conn *c) {
  if (!c->is_free) return;
  c->is_free = false;
  t->n_free--;
  mp__list_remove(c);
}

/* A request slot of c is no longer in flight. */
static void slot_release(mp__thread *t, mp__conn *c, mp__req *r) {
  mp__rlist_remove(r);
  r->busy = false;
  t->inflight--;
  c->active--;
  if (c->reqs) {
    r->next = c->idle;
    c->idle = r;
  }
}

static void dirty_add(mp__thread *t, mp__conn *c) {
  if (c->dirty) return;
  c->dirty = true;
  c->dnext = t->dirty;
  t->dirty = c;
}

/* ---- connection lifecycle --------------------------------------------------------------- */

void mp__conn_close(mp__thread *t, mp__conn *c) {
  free_remove(t, c);
  mp__list_remove(c);
  mp__rlist_remove(&c->req0);
  if (c->fd >= 0) c->ep->transport->close(c);
  c->state = MP__C_CLOSED;
}

/* Reopens after a close: at once the first time, then with a growing backoff while the
 * connection keeps failing. Nothing reopens once the thread stops sending. */
static void conn_reopen(mp__thread *t, mp__conn *c, int64_t now) {
  if (t->stopping) return;
  if (c->fails <= 1) {
    mp__conn_open(t, c, now);
    return;
  }
  int64_t wait = BACKOFF_BASE_NS << (c->fails < 8 ? c->fails - 2 : 6);
  if (wait > BACKOFF_MAX_NS) wait = BACKOFF_MAX_NS;
  c->state = MP__C_BACKOFF;
  c->retry_at = now + wait;
  mp__list_push(&t->retry, c);
  if (c->retry_at < t->next_retry) t->next_retry = c->retry_at;
}

/* A connection attempt failed: refused, timed out, or (why set) its handshake failed. */
static void connect_failed(mp__thread *t, mp__conn *c, int err, bool timeout, const char *why,
                           int64_t now) {
  const char *what = c->state == MP__C_HANDSHAKE ? "TLS handshake with" : "connect to";
  if (why)
    note_error(t, "%s %s (%s): %s", what, c->ep->url, c->ep->addr_text, why);
  else if (timeout)
    note_error(t, "%s %s (%s) timed out", what, c->ep->url, c->ep->addr_text);
  else
    note_error(t, "%s %s (%s): %s", what, c->ep->url, c->ep->addr_text, strerror(err));
  c->fails++;
  count_failure(t, c, timeout ? E_TIMEOUT : E_CONNECT, t->run->warmup_ns > 0 && now < t->run->m);
  mp__conn_close(t, c);
  conn_reopen(t, c, now);
}

/* Every request in flight on c is lost: count each, close, reconnect. */
static void conn_failed(mp__thread *t, mp__conn *c, int kind, const char *why, int64_t now) {
  note_kind(t, c, kind, why);
  if (!c->reqs) {
    if (c->req0.busy) {
      slot_release(t, c, &c->req0);
      count_failure(t, c, kind, c->req0.warmup);
    }
  } else {
    for (uint32_t i = 0; i < c->cap && c->active; i++)
      if (c->reqs[i].busy) {
        slot_release(t, c, &c->reqs[i]);
        count_failure(t, c, kind, c->reqs[i].warmup);
      }
  }
  c->fails++;
  mp__conn_close(t, c);
  conn_reopen(t, c, now);
}

void mp__conn_open(mp__thread *t, mp__conn *c, int64_t now) {
  c->gen++;
  c->out = NULL;
  c->out_len = c->out_off = 0;
  c->io_swap = false;
  c->active = 0;
  c->served = 0;
  c->limit = c->cap;
  c->idle = NULL;
  for (uint32_t i = c->reqs ? c->cap : 0; i-- > 0;) {
    c->reqs[i].busy = false;
    c->reqs[i].next = c->idle;
    c->idle = &c->reqs[i];
  }
  int rc = c->ep->transport->open(c, c->ep);
  if (rc < 0) {
    c->fd = -1;
    connect_failed(t, c, -rc, false, NULL, now);
    return;
  }
  struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET,
                           .data.u64 = ((uint64_t)c->gen << 32) | c->index};
  if (epoll_ctl(t->epfd, EPOLL_CTL_ADD, c->fd, &ev) < 0) {
    int err = errno;
    c->ep->transport->close(c);
    connect_failed(t, c, err, false, NULL, now);
    return;
  }
  t->connects++;
  if (c->ep->proto->conn_reset && c->ep->proto->conn_reset(c) < 0) {
    connect_failed(t, c, ENOMEM, false, NULL, now);
    return;
  }
  c->state = MP__C_CONNECTING;
  c->req0.sent_ns = now;
  mp__rlist_push(&t->timers, &c->req0);
}

/* ---- sending ------------------------------------------------------------------------------ */

static void conn_write(mp__thread *t, mp__conn *c, int64_t now) {
  for (;;) {
    while (c->out_off < c->out_len) {
      ssize_t n = c->ep->transport->write(c, c->out + c->out_off, c->out_len - c->out_off);
      if (n > 0) {
        c->out_off += (size_t)n;
        if (c->reqs || !c->req0.warmup) t->eps[c->ep_index].bytes_written += (uint64_t)n;
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return; /* EPOLLOUT resumes */
      conn_failed(t, c, E_WRITE, n < 0 ? strerror(errno) : "short write", now);
      return;
    }
    if (!c->reqs || !c->ep->proto->output(c, &c->out, &c->out_len)) return;
    c->out_off = 0;
  }
}

void mp__send(mp__thread *t, mp__conn *c, int64_t intended, int64_t now) {
  mp__req *r = &c->req0;
  if (c->reqs) {
    r = c->idle;
    c->idle = r->next;
  }
  c->active++;
  free_remove(t, c);
  if (c->active < c->limit) free_add(t, c); /* at the tail: spread over connections */
  r->intended_ns = intended;
  r->sent_ns = now;
  r->warmup = intended < t->run->m;
  r->busy = true;
  if (!r->warmup) t->sent++;
  mp__rlist_push(&t->timers, r);
  t->inflight++;
  if (!c->reqs) {
    c->ep->proto->request(c, r);
    c->out_off = 0;
    conn_write(t, c, now);
    return;
  }
  if (c->ep->proto->request(c, r) < 0) {
    conn_failed(t, c, E_PROTOCOL, "cannot start an HTTP/2 stream", now);
    return;
  }
  dirty_add(t, c);
}

/* c may take more requests: back on the free list; closed loop sends at once, constant
 * rate leaves it for the pacer (issue() in loop.c). */
static void conn_room(mp__thread *t, mp__conn *c, int64_t now) {
  if (c->state != MP__C_OPEN || c->active >= c->limit) {
    free_remove(t, c);
    return;
  }
  if (!c->is_free) free_add(t, c);
  if (t->run->rate == 0)
    while (c->is_free && mp__may_send(t, now)) {
      mp__send(t, c, now, now);
      mp__check_stop(t, now);
    }
}

/* ---- receiving ---------------------------------------------------------------------------- */

static void response_done(mp__thread *t, mp__conn *c, mp__req *q, const mp__response *r,
                          int64_t now) {
  slot_release(t, c, q);
  c->fails = 0;
  t->fail_streak = 0;
  t->retry_streak = 0;
  if (!t->ever_ok) {
    t->ever_ok = true;
    atomic_store(&t->run->any_ok, true);
  }
  if (now < q->sent_ns) now = q->sent_ns; /* a kernel time from before a clock step */
  t->rtt_ns += (now - q->sent_ns - t->rtt_ns) / 16;
  int64_t lat = (now - q->intended_ns) / MP_NS_PER_US;
  if (q->warmup) {
    t->warmup_requests++;
    if (r->bad) t->warmup_errors++;
  } else {
    mp_loadgen_stats *s = &t->eps[c->ep_index];
    s->requests++;
    if (r->status >= 0 && r->status < MP_LOADGEN_MAX_STATUS) s->status[r->status]++;
    if (r->bad) s->errors++;
    s->bytes_read += r->wire_bytes;
    mp_hdr_record(s->latency, lat);
    mp_hdr_record(s->uncorrected, (now - q->sent_ns) / MP_NS_PER_US);
    mp_hdr_record(t->sizes, (int64_t)r->wire_bytes);
    mp_hdr_record(t->header_sizes, (int64_t)r->header_bytes);
  }
  mp_hdr_record(t->ival, lat);
}

/* HTTP/1.1: one response per request. Returns false when the connection was closed or
 * reopened (the caller must stop touching the old socket). */
static bool h1_input(mp__thread *t, mp__conn *c, const char *data, size_t len, int64_t now) {
  uint32_t gen = c->gen;
  if (!c->active) {
    /* Bytes nobody asked for (say a 408 before an idle close): drop the connection. */
    mp__conn_close(t, c);
    conn_reopen(t, c, now);
    return false;
  }
  mp__response r;
  size_t used = c->ep->proto->input(c, data, len, &r);
  if (r.kind == MP__RESP_ERROR) {
    conn_failed(t, c, E_PROTOCOL, r.error, now);
    return false;
  }
  if (r.kind == MP__RESP_NONE) return true;
  response_done(t, c, &c->req0, &r, now);
  if (used < len || !r.keep_alive) {
    /* Extra bytes after a complete response cannot belong to anything: close. */
    if (used < len) {
      note_error(t, "invalid response from %s: data after the end of a response", c->ep->url);
      if (!c->req0.warmup) {
        t->eps[c->ep_index].protocol_errors++;
        t->eps[c->ep_index].errors++;
      }
    }
    mp__conn_close(t, c);
    conn_reopen(t, c, now);
    return false;
  }
  conn_room(t, c, now); /* closed loop: the next request leaves now, and may fail */
  return c->gen == gen;
}

/* Multiplexed: everything that completed. Returns false when the connection was closed. */
static bool mux_input(mp__thread *t, mp__conn *c, const char *data, size_t len, int64_t now) {
  bool fed = len > 0;
  for (;;) {
    mp__response r;
    size_t used = c->ep->proto->input(c, data, len, &r);
    data += used;
    len -= used;
    if (r.kind == MP__RESP_NONE) break;
    if (r.kind == MP__RESP_ERROR && !r.req) {
      conn_failed(t, c, E_PROTOCOL, r.error, now);
      return false;
    }
    mp__req *q = r.req;
    if (r.kind != MP__RESP_RETRY) c->served++; /* answered, if only with a reset */
    if (r.kind == MP__RESP_DONE) {
      response_done(t, c, q, &r, now);
    } else if (r.kind == MP__RESP_RETRY && ++t->retry_streak <= 3 * (uint64_t)t->n_conns * c->cap) {
      slot_release(t, c, q);
      mp__requeue(t, q, now);
    } else if (r.kind == MP__RESP_RETRY) {
      /* A server that refuses everything (or ends every connection before answering) is
       * failing, not rotating connections: count it, so that the run can end. */
      note_kind(t, c, E_PROTOCOL,
                "the server refused the request unprocessed (REFUSED_STREAM "
                "or GOAWAY) again and again");
      slot_release(t, c, q);
      count_failure(t, c, E_PROTOCOL, q->warmup);
    } else {
      note_kind(t, c, E_PROTOCOL, r.error);
      slot_release(t, c, q);
      count_failure(t, c, E_PROTOCOL, q->warmup);
    }
  }
  if (fed) dirty_add(t, c); /* acknowledgements, window updates */
  if (c->limit == 0 && c->active == 0) {
    /* GOAWAY and nothing left in flight: a fresh connection takes over - at once after a
     * connection that served requests, with the backoff of a failed connect after one that
     * was closed (or allowed no streams) before it answered anything. */
    if (!c->served) {
      note_error(t,
                 "connect to %s (%s): the server ended the HTTP/2 connection before "
                 "answering (GOAWAY or no streams allowed)",
                 c->ep->url, c->ep->addr_text);
      c->fails++;
      count_failure(t, c, E_CONNECT, t->run->warmup_ns > 0 && now < t->run->m);
    }
    mp__conn_close(t, c);
    conn_reopen(t, c, now);
    return false;
  }
  conn_room(t, c, now);
  return true;
}

static bool conn_input(mp__thread *t, mp__conn *c, const char *data, size_t len, int64_t now) {
  return c->reqs ? mux_input(t, c, data, len, now) : h1_input(t, c, data, len, now);
}

static void conn_eof(mp__thread *t, mp__conn *c, int64_t now) {
  if (!c->active) { /* an idle keep-alive connection closed by the server */
    mp__conn_close(t, c);
    conn_reopen(t, c, now);
    return;
  }
  mp__response r;
  c->ep->proto->eof(c, &r);
  if (r.kind == MP__RESP_DONE && !c->reqs) {
    response_done(t, c, &c->req0, &r, now);
    mp__conn_close(t, c);
    conn_reopen(t, c, now);
    return;
  }
  conn_failed(t, c, r.kind == MP__RESP_ERROR ? E_PROTOCOL : E_READ,
              r.kind == MP__RESP_ERROR ? r.error : "connection closed before the response", now);
}

/* When the bytes of the last read arrived: the kernel's receive time on the monotonic
 * clock when the transport has it, else now. The offset between the clocks is sampled once
 * per loop iteration (now identifies it). */
static int64_t received_at(mp__thread *t, mp__conn *c, int64_t now) {
  if (!c->rx_real_ns) return now;
  if (t->real_off_at != now) {
    struct timespec rt;
    clock_gettime(CLOCK_REALTIME, &rt);
    t->real_off_ns = (int64_t)rt.tv_sec * MP_NS_PER_S + rt.tv_nsec - mp_mono_ns();
    t->real_off_at = now;
  }
  int64_t at = c->rx_real_ns - t->real_off_ns;
  return at <= now ? at : now;
}

static void conn_readable(mp__thread *t, mp__conn *c, uint32_t events, int64_t now) {
  for (;;) {
    ssize_t n = c->ep->transport->read(c, t->buf, MP__READ_BUF);
    if (n > 0) {
      if (!conn_input(t, c, t->buf, (size_t)n, received_at(t, c, now))) return;
      if ((size_t)n < MP__READ_BUF && !(events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR))) return;
      continue;
    }
    if (n == 0) {
      conn_eof(t, c, now);
      return;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return;
    if (c->active) {
      conn_failed(t, c, E_READ, strerror(errno), now);
    } else {
      mp__conn_close(t, c);
      conn_reopen(t, c, now);
    }
    return;
  }
}

void mp__conn_event(mp__thread *t, mp__conn *c, uint32_t events, int64_t now) {
  uint32_t gen = c->gen;
  if (c->state == MP__C_CONNECTING) {
    if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) return;
    int err = 0;
    socklen_t len = sizeof err;
    if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0) err = errno;
    if (!err && (events & (EPOLLERR | EPOLLHUP))) err = ECONNREFUSED;
    if (err) {
      connect_failed(t, c, err, false, NULL, now);
      return;
    }
    if (c->ep->transport->handshake) c->state = MP__C_HANDSHAKE;
  }
  bool handshaken = false;
  if (c->state == MP__C_HANDSHAKE) {
    char why[256] = "";
    int rc = c->ep->transport->handshake(c, why, sizeof why);
    if (rc == -EAGAIN) return;
    if (rc < 0) {
      connect_failed(t, c, -rc, false, why[0] ? why : NULL, now);
      return;
    }
    handshaken = true;
  }
  if (c->state == MP__C_CONNECTING || handshaken) {
    mp__rlist_remove(&c->req0); /* the connect timer */
    c->state = MP__C_OPEN;
    if (c->reqs) dirty_add(t, c); /* the connection preface */
    conn_room(t, c, now);
    /* A handshake may have read past its own records: look for data without an edge. */
    if (c->gen != gen || !(handshaken || (events & (EPOLLIN | EPOLLRDHUP)))) return;
  }
  /* io_swap: the transport's last read waited for writability, or its write for data. */
  bool swap = c->io_swap;
  if (((events & EPOLLOUT) || swap) && c->out_off < c->out_len) {
    conn_write(t, c, now);
    if (c->gen != gen) return;
  }
  if ((events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) || swap || handshaken)
    conn_readable(t, c, events, now);
}

void mp__timeout(mp__thread *t, mp__req *r, int64_t now) {
  mp__conn *c = r->c;
  if (c->state == MP__C_CONNECTING || c->state == MP__C_HANDSHAKE) {
    connect_failed(t, c, ETIMEDOUT, true, NULL, now);
  } else if (!c->reqs) {
    conn_failed(t, c, E_TIMEOUT, "timeout", now);
  } else {
    /* One stream timed out: reset it and keep the connection for the others. */
    note_kind(t, c, E_TIMEOUT, "timeout");
    c->ep->proto->cancel(c, r);
    slot_release(t, c, r);
    count_failure(t, c, E_TIMEOUT, r->warmup);
    dirty_add(t, c);
    conn_room(t, c, now);
  }
}

void mp__flush(mp__thread *t, int64_t now) {
  while (t->dirty) {
    mp__conn *c = t->dirty;
    t->dirty = c->dnext;
    c->dirty = false;
    if (c->state != MP__C_OPEN) continue;
    uint32_t gen = c->gen;
    conn_write(t, c, now);
    /* Writing may have settled requests (frames that could not be sent). */
    if (c->gen == gen && c->state == MP__C_OPEN) mux_input(t, c, "", 0, now);
  }
}
