/* meshplane bus: publish/subscribe of events between processes over NATS (nats.c), or
 * inside one process when no NATS server is configured.
 *
 * Subjects are dot-separated tokens ("meshplane.events.istio"); subscriptions may use
 * NATS wildcards: "*" matches one token, ">" the rest. Delivery is in publish order per
 * publisher. A subscriber that falls too far behind loses messages; mp_bus_next says so
 * (MP_BUS_DROPPED) instead of skipping silently, so it can re-sync from the database.
 */
#ifndef MESHPLANE_BUS_H
#define MESHPLANE_BUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "meshplane/base.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct mp_bus mp_bus;
typedef struct mp_bus_sub mp_bus_sub;

typedef struct mp_bus_opts {
  const char *url;             /* "nats://host:port"; NULL or "" = in-process bus */
  const char *name;            /* connection name shown by the NATS server */
  const char *stream;          /* JetStream stream to create for stream_subjects (optional) */
  const char *stream_subjects; /* e.g. "meshplane.>" */
  int64_t publish_timeout_ms;  /* how long a publish waits for the server (default 2000) */
} mp_bus_opts;

/* Opens the bus. With a URL the connection is made in the background and re-made
 * forever; mp_bus_open succeeds even while NATS is down (publishes fail until it is up).
 * Strings are copied. */
mp_status mp_bus_open(const mp_bus_opts *opts, mp_bus **out);
void mp_bus_close(mp_bus *b);
/* True when the bus can deliver now (always for the in-process bus). */
bool mp_bus_connected(mp_bus *b);
/* True when the bus is NATS (opened with a URL), false for the in-process bus. */
bool mp_bus_is_nats(const mp_bus *b);
/* True when publishes go to a JetStream stream (acknowledged, stored by NATS). */
bool mp_bus_jetstream(mp_bus *b);

/* Publishes data (copied) on subject and returns MP_OK only once the NATS server has it
 * (JetStream ack, or a flush round trip); MP_ERR_UNAVAILABLE while disconnected. msg_id
 * (may be NULL) lets JetStream drop duplicates of a retried publish. */
mp_status mp_bus_publish(mp_bus *b, const char *subject, const void *data, size_t len,
                         const char *msg_id);

/* Publishes n messages (copied) in order and returns MP_OK once the server has all of
 * them: one wait for the batch instead of one per message. On failure some may have been
 * delivered: publish the whole batch again (ids de-duplicate on JetStream). */
mp_status mp_bus_publish_batch(mp_bus *b, size_t n, const char *const *subjects,
                               const void *const *datas, const size_t *lens,
                               const char *const *ids);

/* Subscribes to subject (wildcards allowed). Messages published after this returns are
 * queued for the subscriber (up to max_pending, default 100000). */
mp_status mp_bus_subscribe(mp_bus *b, const char *subject, int max_pending, mp_bus_sub **out);
void mp_bus_unsubscribe(mp_bus_sub *s);

typedef enum mp_bus_next_result {
  MP_BUS_MSG = 0,     /* subject, data and len set; free data and subject with mp_free */
  MP_BUS_TIMEOUT = 1, /* nothing within timeout_ms */
  MP_BUS_DROPPED = 2, /* messages were lost to a full queue since the last call */
  MP_BUS_CLOSED = 3,  /* the bus is closing */
} mp_bus_next_result;

mp_bus_next_result mp_bus_next(mp_bus_sub *s, int64_t timeout_ms, char **subject, uint8_t **data,
                               size_t *len);

/* NATS subject matching: does subject match pattern ("*" one token, ">" the rest)? */
bool mp_bus_subject_matches(const char *pattern, const char *subject);

#ifdef __cplusplus
}
#endif
#endif
