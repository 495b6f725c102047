/* WatchEvents: replay from PostgreSQL after the client's resume point, then live from
 * the bus, delivering each event id once and in order (see events.c for why). */
#include <string.h>

#include "events.h"

#define REPLAY_PAGE 1000

/* Sends the events after *last (matching the operation filter) from the database, page
 * by page; advances *last. False when the client went away or the database failed (the
 * call's status is set then). */
static bool replay(mp_server *s, const Meshplane__V1__WatchEventsRequest *in, int64_t *last,
                   Meshplane__V1__Event_Closure done, void *cd) {
  const char *op = in->operation_id ? in->operation_id : "";
  for (;;) {
    mp_dbargs a = {0};
    mp_dbargs_int(&a, *last);
    mp_dbargs_text(&a, op);
    mp_status st;
    PGresult *r = mp_db_exec(
        s->db,
        "SELECT " MP_EVENT_COLUMNS("") " FROM events WHERE id > $1 AND "
                                       "($2 = '' OR operation_id = $2) ORDER BY id LIMIT 1000",
        &a, &st);
    mp_dbargs_free(&a);
    if (!r) {
      mp_rpc_fail(cd, MP_RPC_UNAVAILABLE, "cannot read events: %s; resume with since_id=%lld",
                  mp_error_last(), (long long)*last);
      return false;
    }
    int rows = PQntuples(r);
    for (int i = 0; i < rows; i++) {
      Meshplane__V1__Event ev;
      mp_event_from_row(r, i, 0, &ev);
      if (!mp_rpc_send(cd, &ev.base)) {
        PQclear(r);
        return false;
      }
      *last = ev.id;
    }
    PQclear(r);
    if (rows < REPLAY_PAGE) return true;
  }
}

void mp_events_watch(mp_server *s, const Meshplane__V1__WatchEventsRequest *in,
                     Meshplane__V1__Event_Closure done, void *cd) {
  if (in->since_id < -1) {
    mp_rpc_fail(cd, MP_RPC_INVALID_ARGUMENT,
                "since_id must be -1 (from the first event), 0 (only new events) or N (the "
                "events after id N)");
    return;
  }
  /* Subscribe before reading the database, so nothing falls between the two. */
  mp_bus_sub *sub;
  if (mp_bus_subscribe(s->bus, "meshplane.events.>", 0, &sub) != MP_OK) {
    mp_rpc_fail(cd, MP_RPC_UNAVAILABLE, "%s", mp_error_last());
    return;
  }
  int64_t last = in->since_id < 0 ? 0 : in->since_id;
  if (in->since_id == 0) {
    mp_status st;
    PGresult *r = mp_db_exec(s->db, "SELECT COALESCE(max(id), 0) FROM events", NULL, &st);
    if (!r) {
      mp_server_fail_status(cd, st);
      mp_bus_unsubscribe(sub);
      return;
    }
    last = mp_db_int(r, 0, 0);
    PQclear(r);
  } else if (!replay(s, in, &last, done, cd)) { /* since_id -1 replays from the first event */
    mp_bus_unsubscribe(sub);
    return;
  }
  const char *op = in->operation_id ? in->operation_id : "";
  int64_t last_check = mp_mono_ns();
  for (;;) {
    if (mp_rpc_cancelled(cd)) break;
    if (mp_rpc_draining(cd)) {
      mp_rpc_fail(cd, MP_RPC_UNAVAILABLE,
                  "the server is shutting down; reconnect with since_id=%lld", (long long)last);
      break;
    }
    char *subject;
    uint8_t *data;
    size_t len;
    mp_bus_next_result nr = mp_bus_next(sub, 200, &subject, &data, &len);
    if (nr == MP_BUS_CLOSED) break;
    if (nr == MP_BUS_DROPPED) {
      /* Fell behind the bus: catch up from the database, which has everything. */
      if (!replay(s, in, &last, done, cd)) break;
      continue;
    }
    if (nr == MP_BUS_TIMEOUT) {
      /* A quiet second: check the database too. Events published while this replica
       * was reconnecting to NATS never reach its subscription; the database has them. */
      if (mp_mono_ns() - last_check > MP_NS_PER_S) {
        last_check = mp_mono_ns();
        if (!replay(s, in, &last, done, cd)) break;
      }
      continue;
    }
    if (nr != MP_BUS_MSG) continue;
    Meshplane__V1__Event *ev = meshplane__v1__event__unpack(NULL, len, data);
    mp_free(subject);
    mp_free(data);
    if (!ev) continue;
    bool ok = true;
    if (ev->id > last) {
      /* An id beyond last+1 may be a gap the bus skipped (a publish lost between
       * replicas): the database decides. */
      if (ev->id > last + 1) ok = replay(s, in, &last, done, cd);
      if (ok && ev->id > last) {
        if (!*op || !strcmp(op, ev->operation_id)) ok = mp_rpc_send(cd, &ev->base);
        last = ev->id;
      }
    }
    meshplane__v1__event__free_unpacked(ev, NULL);
    if (!ok) break;
  }
  mp_bus_unsubscribe(sub);
}
