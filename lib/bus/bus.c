/* The bus: a NATS backend (nats.c) and an in-process backend behind one API. */
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>

#include <nats/nats.h>

#include "meshplane/bus.h"

/* ---- subjects --------------------------------------------------------------------------- */

bool mp_bus_subject_matches(const char *pattern, const char *subject) {
  const char *p = pattern, *s = subject;
  for (;;) {
    size_t pl = strcspn(p, "."), sl = strcspn(s, ".");
    if (sl == 0) return false;             /* empty token in the subject */
    if (pl == 1 && *p == '>') return true; /* the rest, one token or more */
    if (!(pl == 1 && *p == '*') && (pl != sl || memcmp(p, s, pl) != 0)) return false;
    p += pl;
    s += sl;
    if (!*p || !*s) return !*p && !*s;
    p++; /* both stand on a '.' */
    s++;
  }
}

/* ---- in-process queues ----------------------------------------------------------------------- */

typedef struct qmsg {
  char *subject;
  uint8_t *data;
  size_t len;
  struct qmsg *next;
} qmsg;

struct mp_bus_sub {
  mp_bus *bus;
  char *pattern;
  /* in-process backend */
  qmsg *head, *tail;
  int count, max;
  bool dropped;
  pthread_cond_t cv;
  struct mp_bus_sub *next;
  /* NATS backend */
  natsSubscription *ns;
  int64_t dropped_seen;
};

struct mp_bus {
  char *url, *stream, *stream_subjects;
  int64_t timeout_ms;
  pthread_mutex_t mu;
  pthread_cond_t closed_cv; /* nats.c's closed callback ran: no callback of it runs again */
  bool closing, closed;
  mp_bus_sub *subs; /* in-process subscribers */
  natsOptions *opts;
  natsConnection *nc;
  jsCtx *js;
  bool stream_ready;
  atomic_int async_errors; /* JetStream async publishes that failed */
};

static void queue_free(mp_bus_sub *s) {
  for (qmsg *m = s->head, *next; m; m = next) {
    next = m->next;
    mp_free(m->subject);
    mp_free(m->data);
    mp_free(m);
  }
  s->head = s->tail = NULL;
  s->count = 0;
}

static void local_publish(mp_bus *b, const char *subject, const void *data, size_t len) {
  pthread_mutex_lock(&b->mu);
  for (mp_bus_sub *s = b->subs; s; s = s->next) {
    if (!mp_bus_subject_matches(s->pattern, subject)) continue;
    if (s->count >= s->max) {
      s->dropped = true;
      pthread_cond_signal(&s->cv);
      continue;
    }
    qmsg *m = mp_calloc(1, sizeof *m);
    m->subject = mp_strdup(subject);
    m->data = mp_malloc(len ? len : 1);
    if (len) memcpy(m->data, data, len);
    m->len = len;
    if (s->tail)
      s->tail->next = m;
    else
      s->head = m;
    s->tail = m;
    s->count++;
    pthread_cond_signal(&s->cv);
  }
  pthread_mutex_unlock(&b->mu);
}

static mp_bus_next_result local_next(mp_bus_sub *s, int64_t timeout_ms, char **subject,
                                     uint8_t **data, size_t *len) {
  mp_bus *b = s->bus;
  int64_t until = mp_mono_ns() + timeout_ms * MP_NS_PER_MS;
  pthread_mutex_lock(&b->mu);
  for (;;) {
    if (s->dropped) {
      s->dropped = false;
      pthread_mutex_unlock(&b->mu);
      return MP_BUS_DROPPED;
    }
    if (s->head) break;
    if (b->closing) {
      pthread_mutex_unlock(&b->mu);
      return MP_BUS_CLOSED;
    }
    if (mp_cond_wait_until(&s->cv, &b->mu, until) != 0 && !s->head && !s->dropped) {
      pthread_mutex_unlock(&b->mu);
      return MP_BUS_TIMEOUT;
    }
  }
  qmsg *m = s->head;
  s->head = m->next;
  if (!s->head) s->tail = NULL;
  s->count--;
  pthread_mutex_unlock(&b->mu);
  *subject = m->subject;
  *data = m->data;
  *len = m->len;
  mp_free(m);
  return MP_BUS_MSG;
}

/* ---- NATS ---------------------------------------------------------------------------------- */

static void on_connected(natsConnection *nc, void *closure) {
  mp_bus *b = closure;
  pthread_mutex_lock(&b->mu);
  b->stream_ready = false; /* (re)create the stream on the next publish */
  pthread_mutex_unlock(&b->mu);
  mp_info("connected to NATS", "url=%s", b->url);
}

static void on_disconnected(natsConnection *nc, void *closure) {
  mp_bus *b = closure;
  pthread_mutex_lock(&b->mu);
  bool closing = b->closing;
  pthread_mutex_unlock(&b->mu);
  if (!closing) mp_warn("disconnected from NATS; reconnecting", "url=%s", b->url);
}

/* nats.c calls its callbacks on a thread of its own, after natsConnection_Close returned;
 * this one comes last, so mp_bus_close waits for it before freeing b. */
static void on_closed(natsConnection *nc, void *closure) {
  mp_bus *b = closure;
  pthread_mutex_lock(&b->mu);
  b->closed = true;
  pthread_cond_broadcast(&b->closed_cv);
  pthread_mutex_unlock(&b->mu);
}

/* A JetStream async publish failed (no ack in time, or refused): the batch is retried. */
static void on_async_error(jsCtx *js, jsPubAckErr *pae, void *closure) {
  mp_bus *b = closure;
  atomic_fetch_add(&b->async_errors, 1);
}

static mp_status nats_open(mp_bus *b, const char *name) {
  natsStatus s = natsOptions_Create(&b->opts);
  if (s == NATS_OK) s = natsOptions_SetURL(b->opts, b->url);
  if (s == NATS_OK && name) s = natsOptions_SetName(b->opts, name);
  if (s == NATS_OK) s = natsOptions_SetMaxReconnect(b->opts, -1);
  if (s == NATS_OK) s = natsOptions_SetReconnectWait(b->opts, 250);
  if (s == NATS_OK) s = natsOptions_SetTimeout(b->opts, 2000);
  if (s == NATS_OK) s = natsOptions_SetDisconnectedCB(b->opts, on_disconnected, b);
  if (s == NATS_OK) s = natsOptions_SetReconnectedCB(b->opts, on_connected, b);
  if (s == NATS_OK) s = natsOptions_SetClosedCB(b->opts, on_closed, b);
  /* With a callback the first connect goes on in the background instead of blocking. */
  if (s == NATS_OK) s = natsOptions_SetRetryOnFailedConnect(b->opts, true, on_connected, b);
  if (s != NATS_OK)
    return mp_error_set(MP_ERR_INVALID, "NATS options for %s: %s", b->url, natsStatus_GetText(s));
  s = natsConnection_Connect(&b->nc, b->opts);
  if (s != NATS_OK && s != NATS_NOT_YET_CONNECTED)
    return mp_error_set(MP_ERR_UNAVAILABLE, "cannot use NATS at %s: %s", b->url,
                        natsStatus_GetText(s));
  if (s == NATS_NOT_YET_CONNECTED)
    mp_warn("NATS is not reachable yet; connecting in the background", "url=%s", b->url);
  jsOptions jo;
  jsOptions_Init(&jo);
  jo.PublishAsync.ErrHandler = on_async_error;
  jo.PublishAsync.ErrHandlerClosure = b;
  if (natsConnection_JetStream(&b->js, b->nc, &jo) != NATS_OK) b->js = NULL;
  return MP_OK;
}

/* Creates the JetStream stream once per connection; returns whether it exists. */
static bool ensure_stream(mp_bus *b) {
  if (!b->js || !b->stream || !*b->stream) return false;
  pthread_mutex_lock(&b->mu);
  bool ready = b->stream_ready;
  pthread_mutex_unlock(&b->mu);
  if (ready) return true;
  jsStreamConfig cfg;
  jsStreamConfig_Init(&cfg);
  cfg.Name = b->stream;
  const char *subjects[] = {b->stream_subjects};
  cfg.Subjects = subjects;
  cfg.SubjectsLen = 1;
  jsStreamInfo *si = NULL;
  jsErrCode jerr = 0;
  jsOptions jo;
  jsOptions_Init(&jo);
  jo.Wait = b->timeout_ms;
  natsStatus s = js_AddStream(&si, b->js, &cfg, &jo, &jerr);
  jsStreamInfo_Destroy(si);
  ready = s == NATS_OK || jerr == JSStreamNameExistErr;
  pthread_mutex_lock(&b->mu);
  b->stream_ready = ready;
  pthread_mutex_unlock(&b->mu);
  return ready;
}

static mp_status nats_publish(mp_bus *b, const char *subject, const void *data, size_t len,
                              const char *msg_id) {
  if (natsConnection_Status(b->nc) != NATS_CONN_STATUS_CONNECTED)
    return mp_error_set(MP_ERR_UNAVAILABLE, "NATS at %s is not connected", b->url);
  natsStatus s;
  if (ensure_stream(b) && mp_bus_subject_matches(b->stream_subjects, subject)) {
    jsPubOptions po;
    jsPubOptions_Init(&po);
    po.MaxWait = b->timeout_ms;
    po.MsgId = msg_id;
    jsPubAck *ack = NULL;
    jsErrCode jerr = 0;
    s = js_Publish(&ack, b->js, subject, data, (int)len, &po, &jerr);
    jsPubAck_Destroy(ack);
  } else {
    s = natsConnection_Publish(b->nc, subject, data, (int)len);
    if (s == NATS_OK) s = natsConnection_FlushTimeout(b->nc, b->timeout_ms);
  }
  if (s != NATS_OK)
    return mp_error_set(MP_ERR_UNAVAILABLE, "publish to NATS at %s failed: %s", b->url,
                        natsStatus_GetText(s));
  return MP_OK;
}

/* Publishes n messages and waits once for the server to have them all: JetStream async
 * publishes and one wait for their acks, or core publishes and one flush. */
static mp_status nats_publish_batch(mp_bus *b, size_t n, const char *const *subjects,
                                    const void *const *datas, const size_t *lens,
                                    const char *const *ids) {
  if (natsConnection_Status(b->nc) != NATS_CONN_STATUS_CONNECTED)
    return mp_error_set(MP_ERR_UNAVAILABLE, "NATS at %s is not connected", b->url);
  natsStatus s = NATS_OK;
  bool js = ensure_stream(b);
  atomic_store(&b->async_errors, 0);
  for (size_t i = 0; i < n && s == NATS_OK; i++) {
    if (js && mp_bus_subject_matches(b->stream_subjects, subjects[i])) {
      jsPubOptions po;
      jsPubOptions_Init(&po);
      po.MsgId = ids ? ids[i] : NULL;
      s = js_PublishAsync(b->js, subjects[i], datas[i], (int)lens[i], &po);
    } else {
      s = natsConnection_Publish(b->nc, subjects[i], datas[i], (int)lens[i]);
    }
  }
  if (js) {
    jsPubOptions po;
    jsPubOptions_Init(&po);
    po.MaxWait = b->timeout_ms;
    natsStatus w = js_PublishAsyncComplete(b->js, &po);
    if (s == NATS_OK) s = w;
    if (w != NATS_OK) {
      /* Forget what is still pending: the whole batch is published again. */
      natsMsgList pending = {0};
      if (js_PublishAsyncGetPendingList(&pending, b->js) == NATS_OK) natsMsgList_Destroy(&pending);
    }
  }
  if (s == NATS_OK) s = natsConnection_FlushTimeout(b->nc, b->timeout_ms);
  if (s == NATS_OK && atomic_load(&b->async_errors) > 0) s = NATS_ERR;
  if (s != NATS_OK)
    return mp_error_set(MP_ERR_UNAVAILABLE, "publish to NATS at %s failed: %s", b->url,
                        natsStatus_GetText(s));
  return MP_OK;
}

mp_status mp_bus_publish_batch(mp_bus *b, size_t n, const char *const *subjects,
                               const void *const *datas, const size_t *lens,
                               const char *const *ids) {
  if (b->url) return nats_publish_batch(b, n, subjects, datas, lens, ids);
  for (size_t i = 0; i < n; i++) local_publish(b, subjects[i], datas[i], lens[i]);
  return MP_OK;
}

/* ---- the API --------------------------------------------------------------------------------- */

static bool is_nats(const mp_bus *b) { return b->url != NULL; }

mp_status mp_bus_open(const mp_bus_opts *opts, mp_bus **out) {
  *out = NULL;
  mp_bus *b = mp_calloc(1, sizeof *b);
  pthread_mutex_init(&b->mu, NULL);
  mp_cond_init_mono(&b->closed_cv);
  b->timeout_ms = opts && opts->publish_timeout_ms ? opts->publish_timeout_ms : 2000;
  if (opts && opts->url && *opts->url) {
    b->url = mp_strdup(opts->url);
    b->stream = mp_strdup(opts->stream);
    b->stream_subjects = mp_strdup(opts->stream_subjects ? opts->stream_subjects : ">");
    mp_status st = nats_open(b, opts->name);
    if (st != MP_OK) {
      char msg[512];
      mp_strlcpy(msg, mp_error_last(), sizeof msg);
      mp_bus_close(b);
      return mp_error_set(st, "%s", msg);
    }
  }
  *out = b;
  return MP_OK;
}

void mp_bus_close(mp_bus *b) {
  if (!b) return;
  pthread_mutex_lock(&b->mu);
  b->closing = true;
  for (mp_bus_sub *s = b->subs; s; s = s->next) pthread_cond_broadcast(&s->cv);
  pthread_mutex_unlock(&b->mu);
  jsCtx_Destroy(b->js);
  if (b->nc) {
    natsConnection_Close(b->nc);
    /* Wait (2 s at most) until nats.c is done calling back into b. */
    int64_t until = mp_mono_ns() + 2 * MP_NS_PER_S;
    pthread_mutex_lock(&b->mu);
    while (!b->closed && mp_cond_wait_until(&b->closed_cv, &b->mu, until) == 0) {
    }
    pthread_mutex_unlock(&b->mu);
    natsConnection_Destroy(b->nc);
  }
  natsOptions_Destroy(b->opts);
  pthread_cond_destroy(&b->closed_cv);
  pthread_mutex_destroy(&b->mu);
  mp_free(b->url);
  mp_free(b->stream);
  mp_free(b->stream_subjects);
  mp_free(b);
}

bool mp_bus_connected(mp_bus *b) {
  return !is_nats(b) || natsConnection_Status(b->nc) == NATS_CONN_STATUS_CONNECTED;
}

bool mp_bus_is_nats(const mp_bus *b) { return is_nats(b); }

bool mp_bus_jetstream(mp_bus *b) { return is_nats(b) && ensure_stream(b); }

mp_status mp_bus_publish(mp_bus *b, const char *subject, const void *data, size_t len,
                         const char *msg_id) {
  if (is_nats(b)) return nats_publish(b, subject, data, len, msg_id);
  local_publish(b, subject, data, len);
  return MP_OK;
}

mp_status mp_bus_subscribe(mp_bus *b, const char *subject, int max_pending, mp_bus_sub **out) {
  mp_bus_sub *s = mp_calloc(1, sizeof *s);
  s->bus = b;
  s->pattern = mp_strdup(subject);
  s->max = max_pending > 0 ? max_pending : 100000;
  mp_cond_init_mono(&s->cv);
  if (is_nats(b)) {
    natsStatus ns = natsConnection_SubscribeSync(&s->ns, b->nc, subject);
    if (ns == NATS_OK) ns = natsSubscription_SetPendingLimits(s->ns, s->max, -1);
    if (ns != NATS_OK) {
      pthread_cond_destroy(&s->cv);
      natsSubscription_Destroy(s->ns);
      mp_free(s->pattern);
      mp_free(s);
      return mp_error_set(MP_ERR_UNAVAILABLE, "cannot subscribe to %s on NATS at %s: %s", subject,
                          b->url, natsStatus_GetText(ns));
    }
  } else {
    pthread_mutex_lock(&b->mu);
    s->next = b->subs;
    b->subs = s;
    pthread_mutex_unlock(&b->mu);
  }
  *out = s;
  return MP_OK;
}

void mp_bus_unsubscribe(mp_bus_sub *s) {
  if (!s) return;
  mp_bus *b = s->bus;
  if (s->ns) {
    natsSubscription_Unsubscribe(s->ns);
    natsSubscription_Destroy(s->ns);
  } else {
    pthread_mutex_lock(&b->mu);
    for (mp_bus_sub **pp = &b->subs; *pp; pp = &(*pp)->next) {
      if (*pp == s) {
        *pp = s->next;
        break;
      }
    }
    queue_free(s);
    pthread_mutex_unlock(&b->mu);
  }
  pthread_cond_destroy(&s->cv);
  mp_free(s->pattern);
  mp_free(s);
}

mp_bus_next_result mp_bus_next(mp_bus_sub *s, int64_t timeout_ms, char **subject, uint8_t **data,
                               size_t *len) {
  *subject = NULL;
  *data = NULL;
  *len = 0;
  if (!s->ns) return local_next(s, timeout_ms, subject, data, len);
  int64_t dropped = 0;
  natsSubscription_GetDropped(s->ns, &dropped);
  if (dropped > s->dropped_seen) {
    s->dropped_seen = dropped;
    return MP_BUS_DROPPED;
  }
  natsMsg *m = NULL;
  natsStatus st = natsSubscription_NextMsg(&m, s->ns, timeout_ms > 0 ? timeout_ms : 1);
  if (st == NATS_TIMEOUT) return MP_BUS_TIMEOUT;
  if (st == NATS_SLOW_CONSUMER) return MP_BUS_DROPPED;
  if (st != NATS_OK) return s->bus->closing ? MP_BUS_CLOSED : MP_BUS_TIMEOUT;
  *subject = mp_strdup(natsMsg_GetSubject(m));
  int n = natsMsg_GetDataLength(m);
  *data = mp_malloc(n > 0 ? (size_t)n : 1);
  if (n > 0) memcpy(*data, natsMsg_GetData(m), (size_t)n);
  *len = (size_t)n;
  natsMsg_Destroy(m);
  return MP_BUS_MSG;
}
