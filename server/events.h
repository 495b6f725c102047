/* Events: storage with an outbox, relay to the bus, and WatchEvents (events.c, watch.c). */
#ifndef MP_SERVER_EVENTS_H
#define MP_SERVER_EVENTS_H

#include "server.h"

/* Starts the writer and relay threads. */
mp_events *mp_events_start(mp_server *s);
/* Stores what is queued (for up to 10 s if the database is down), then stops. */
void mp_events_stop(mp_events *e);
/* Queues an event for storage and delivery; ev is copied (id and created_at are set by
 * the database). mesh names the subject meshplane.events.<mesh> ("server" if empty). */
void mp_events_record(mp_events *e, const char *mesh, const Meshplane__V1__Event *ev);

/* The columns of an event row, for SELECT lists: table alias t (e.g. "e."), and the
 * reader of those 12 columns of row i from column col on. The event's strings point into
 * r (valid until PQclear). */
#define MP_EVENT_COLUMNS(t)                                                                        \
  t "id, " t "source, " t "operation_id, " t "type, " t "summary, " t "details, " t                \
    "probable_cause, " t "suggested_remediation, " t "error_code, " t "component, " t              \
    "component_name, (extract(epoch FROM " t "created_at) * 1000)::bigint"
void mp_event_from_row(const PGresult *r, int i, int col, Meshplane__V1__Event *ev);

/* WatchEvents (watch.c). */
void mp_events_watch(mp_server *s, const Meshplane__V1__WatchEventsRequest *in,
                     Meshplane__V1__Event_Closure done, void *cd);

#endif
