/* The event ring: every StreamEvents subscriber reads the same bounded history through
 * its own cursor, so one slow subscriber never blocks publishers or other subscribers,
 * and is told how many events it lost instead of silently skipping them. */
#include <string.h>
#include <time.h>

#include "internal.h"

void mp_adapter_event_clear(mp_adapter_event *ev) {
  if (!ev) return;
  mp_free(ev->summary);
  mp_free(ev->details);
  mp_free(ev->operation_id);
  mp_free(ev->probable_cause);
  mp_free(ev->suggested_remediation);
  mp_free(ev->error_code);
  mp_free(ev->component);
  mp_free(ev->component_name);
  memset(ev, 0, sizeof *ev);
}

static char *dup_or_empty(const char *s) { return mp_strdup(s ? s : ""); }

/* Deep copy; every string of dst is set (never NULL). */
static void event_copy(mp_adapter_event *dst, const mp_adapter_event *src) {
  dst->seq = src->seq;
  dst->type = src->type;
  dst->summary = dup_or_empty(src->summary);
  dst->details = dup_or_empty(src->details);
  dst->operation_id = dup_or_empty(src->operation_id);
  dst->probable_cause = dup_or_empty(src->probable_cause);
  dst->suggested_remediation = dup_or_empty(src->suggested_remediation);
  dst->error_code = dup_or_empty(src->error_code);
  dst->component = dup_or_empty(src->component);
  dst->component_name = dup_or_empty(src->component_name);
}

void mp__ring_init(mp__ring *r, size_t cap, const char *component_name) {
  memset(r, 0, sizeof *r);
  pthread_mutex_init(&r->mu, NULL);
  mp_cond_init_mono(&r->cv);
  r->cap = cap ? cap : 1024;
  r->slots = mp_calloc(r->cap, sizeof *r->slots);
  r->next_seq = 1;
  r->component_name = mp_strdup(component_name ? component_name : "");
}

void mp__ring_destroy(mp__ring *r) {
  for (size_t i = 0; i < r->cap; i++) mp_adapter_event_clear(&r->slots[i]);
  mp_free(r->slots);
  mp_free(r->component_name);
  pthread_cond_destroy(&r->cv);
  pthread_mutex_destroy(&r->mu);
}

uint64_t mp__ring_push(mp__ring *r, const mp_adapter_event *ev) {
  mp_adapter_event copy;
  event_copy(&copy, ev); /* allocate outside the lock */
  pthread_mutex_lock(&r->mu);
  uint64_t seq = r->next_seq++;
  copy.seq = seq;
  mp_adapter_event *slot = &r->slots[seq % r->cap];
  mp_adapter_event old = *slot;
  *slot = copy;
  pthread_cond_broadcast(&r->cv);
  pthread_mutex_unlock(&r->mu);
  mp_adapter_event_clear(&old);
  return seq;
}

uint64_t mp__ring_cursor_now(mp__ring *r) {
  pthread_mutex_lock(&r->mu);
  uint64_t c = r->next_seq;
  pthread_mutex_unlock(&r->mu);
  return c;
}

static void missed_notice(mp__ring *r, uint64_t missed, mp_adapter_event *out) {
  memset(out, 0, sizeof *out);
  out->type = MP_EVENT_WARN;
  out->summary =
      mp_asprintf("%llu events missed: this subscriber fell behind", (unsigned long long)missed);
  out->details = mp_asprintf(
      "The adapter keeps the last %zu events for its subscribers; this stream read too slowly "
      "and %llu events were overwritten before it received them. Events continue from the "
      "oldest one still kept.",
      r->cap, (unsigned long long)missed);
  out->operation_id = mp_strdup("");
  out->probable_cause = mp_strdup("The client reads events slower than the adapter emits them.");
  out->suggested_remediation =
      mp_strdup("Read the stream continuously, or start the adapter with a larger --events.");
  out->error_code = mp_strdup(MP_ADAPTER_ERR_EVENTS_MISSED);
  out->component = mp_strdup("adapter");
  out->component_name = mp_strdup(r->component_name);
}

int mp__ring_next(mp__ring *r, uint64_t *cursor, mp_adapter_event *out, int64_t timeout_ms) {
  int64_t until = mp_mono_ns() + timeout_ms * MP_NS_PER_MS;
  pthread_mutex_lock(&r->mu);
  while (*cursor >= r->next_seq && !r->closed) {
    if (mp_cond_wait_until(&r->cv, &r->mu, until) != 0) break;
  }
  if (*cursor >= r->next_seq) {
    int rc = r->closed ? -1 : 0;
    pthread_mutex_unlock(&r->mu);
    return rc;
  }
  uint64_t oldest = r->next_seq > r->cap ? r->next_seq - r->cap : 1;
  if (*cursor < oldest) {
    uint64_t missed = oldest - *cursor;
    *cursor = oldest;
    pthread_mutex_unlock(&r->mu);
    missed_notice(r, missed, out);
    return 1;
  }
  event_copy(out, &r->slots[*cursor % r->cap]);
  (*cursor)++;
  pthread_mutex_unlock(&r->mu);
  return 1;
}

void mp__ring_close(mp__ring *r) {
  pthread_mutex_lock(&r->mu);
  r->closed = true;
  pthread_cond_broadcast(&r->cv);
  pthread_mutex_unlock(&r->mu);
}
