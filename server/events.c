/* Events: stored with an outbox row in one transaction, relayed to the bus (NATS or
 * in-process) by one replica at a time, and streamed to WatchEvents clients from the
 * bus, so a client of replica A sees what arrived at replica B.
 *
 * Ordering. Writers take a transaction-scoped advisory lock, so event ids (and outbox
 * ids) commit in increasing order; the relay publishes the outbox in id order; a
 * watcher subscribes to the bus first, replays ids after its resume point from
 * PostgreSQL, then takes the live messages whose id is above the last it sent. Hence no
 * gap and no duplicate. Nothing is lost while NATS is down: the outbox keeps every
 * event until the bus has acknowledged it.
 */
#include <pthread.h>
#include <string.h>
#include <sys/select.h>

#include "events.h"

#define EVENTS_LOCK_KEY "7212889302" /* serializes event writers across replicas */
#define RELAY_LOCK_KEY "7212889303"  /* elects the replica that relays the outbox */
#define NOTIFY_CHANNEL "meshplane_outbox"
#define WRITE_BATCH 256
#define RELAY_BATCH 500

typedef struct pending {
  Meshplane__V1__Event *ev;
  char *subject;
  struct pending *next;
} pending;

struct mp_events {
  mp_server *srv;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  pending *head, *tail;
  size_t queued;
  bool stop;
  pthread_t writer, relay;
  uint64_t written, relayed; /* counters for status and tests */
};

/* A subject token: lower-case letters, digits, '-' and '_'; anything else becomes '_'. */
static void token(char *dst, size_t n, const char *src) {
  size_t i = 0;
  for (; src && src[i] && i + 1 < n; i++) {
    char c = src[i];
    dst[i] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a')
             : ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_') ? c
                                                                                          : '_';
  }
  if (i == 0) dst[i++] = '_';
  dst[i] = '\0';
}

void mp_events_record(mp_events *e, const char *mesh, const Meshplane__V1__Event *ev) {
  /* The event is copied through its wire form, so the caller keeps ownership of ev. */
  size_t n = meshplane__v1__event__get_packed_size(ev);
  uint8_t *buf = mp_malloc(n ? n : 1);
  meshplane__v1__event__pack(ev, buf);
  pending *p = mp_calloc(1, sizeof *p);
  p->ev = meshplane__v1__event__unpack(NULL, n, buf);
  mp_free(buf);
  char tok[64];
  token(tok, sizeof tok, mesh && *mesh ? mesh : "server");
  p->subject = mp_asprintf("meshplane.events.%s", tok);
  pthread_mutex_lock(&e->mu);
  if (e->tail)
    e->tail->next = p;
  else
    e->head = p;
  e->tail = p;
  e->queued++;
  pthread_cond_broadcast(&e->cv);
  pthread_mutex_unlock(&e->mu);
}

static void free_pending(pending *p) {
  meshplane__v1__event__free_unpacked(p->ev, NULL);
  mp_free(p->subject);
  mp_free(p);
}

/* Writes up to WRITE_BATCH queued events and their outbox rows with one statement, in one
 * transaction under the writers' lock. On failure the batch goes back to the front of the
 * queue, to be retried. */
static void write_batch(mp_events *e, pending *batch) {
  size_t n = 0;
  for (pending *p = batch; p; p = p->next) n++;
  char **cols[11];
  for (int k = 0; k < 11; k++) cols[k] = mp_calloc(n + 1, sizeof *cols[k]);
  char *types = NULL;
  size_t i = 0;
  mp_buf tb = {0};
  mp_buf_puts(&tb, "{");
  for (pending *p = batch; p; p = p->next, i++) {
    const Meshplane__V1__Event *ev = p->ev;
    cols[0][i] = ev->source;
    cols[1][i] = p->subject + strlen("meshplane.events.");
    cols[2][i] = ev->operation_id;
    cols[4][i] = ev->summary;
    cols[5][i] = ev->details;
    cols[6][i] = ev->probable_cause;
    cols[7][i] = ev->suggested_remediation;
    cols[8][i] = ev->error_code;
    cols[9][i] = ev->component;
    cols[10][i] = ev->component_name;
    mp_buf_printf(&tb, "%s%d", i ? "," : "", ev->type);
  }
  mp_buf_puts(&tb, "}");
  types = mp_buf_steal(&tb);
  mp_dbargs a = {0};
  for (int k = 0; k < 11; k++) {
    if (k == 3)
      mp_dbargs_text(&a, types);
    else
      mp_dbargs_textarray(&a, cols[k], n);
  }
  int64_t t0 = mp_mono_ns();
  mp_dbc *c = mp_db_get(e->srv->db);
  mp_status st = mp_dbc_begin(c);
  if (st == MP_OK)
    PQclear(mp_dbc_exec(c, "SELECT pg_advisory_xact_lock(" EVENTS_LOCK_KEY ")", NULL, &st));
  if (st == MP_OK)
    PQclear(mp_dbc_exec(
        c,
        "WITH ins AS (INSERT INTO events (source, mesh, operation_id, type, summary, details, "
        "probable_cause, suggested_remediation, error_code, component, component_name) SELECT * "
        "FROM unnest($1::text[], $2::text[], $3::text[], $4::int[], $5::text[], $6::text[], "
        "$7::text[], $8::text[], $9::text[], $10::text[], $11::text[]) RETURNING id, mesh) "
        "INSERT INTO outbox (subject, event_id) SELECT 'meshplane.events.' || mesh, id FROM ins "
        "ORDER BY id",
        &a, &st));
  if (st == MP_OK) PQclear(mp_dbc_exec(c, "NOTIFY " NOTIFY_CHANNEL, NULL, &st));
  if (st == MP_OK)
    st = mp_dbc_commit(c);
  else
    mp_dbc_rollback(c);
  mp_db_put(e->srv->db, c);
  mp_dbargs_free(&a);
  for (int k = 0; k < 11; k++) mp_free(cols[k]);
  mp_free(types);

  pthread_mutex_lock(&e->mu);
  if (st != MP_OK) {
    /* Keep the events: put the batch back in front and retry after a pause. */
    pending *last = batch;
    while (last->next) last = last->next;
    last->next = e->head;
    e->head = batch;
    if (!e->tail) e->tail = last;
    pthread_mutex_unlock(&e->mu);
    mp_warn("cannot store events; retrying", "error=\"%s\" queued=%zu", mp_error_last(), e->queued);
    mp_sleep_ms(500);
    return;
  }
  mp_debug("events stored", "n=%zu ms=%.2f", n, (double)(mp_mono_ns() - t0) / 1e6);
  for (pending *p = batch, *next; p; p = next) {
    next = p->next;
    e->written++;
    e->queued--;
    free_pending(p);
  }
  pthread_cond_broadcast(&e->cv);
  pthread_mutex_unlock(&e->mu);
}

static void *writer_main(void *arg) {
  mp_events *e = arg;
  int64_t give_up = 0;
  pthread_mutex_lock(&e->mu);
  for (;;) {
    while (!e->head && !e->stop) pthread_cond_wait(&e->cv, &e->mu);
    if (!e->head) break; /* stopping with nothing left to write */
    if (e->stop && !give_up) give_up = mp_mono_ns() + 10 * MP_NS_PER_S;
    if (give_up && mp_mono_ns() > give_up) {
      mp_error("stopping with events the database did not take", "lost=%zu", e->queued);
      break;
    }
    pending *batch = e->head, *last = batch;
    for (int n = 1; n < WRITE_BATCH && last->next; n++) last = last->next;
    e->head = last->next;
    if (!e->head) e->tail = NULL;
    last->next = NULL;
    pthread_mutex_unlock(&e->mu);
    write_batch(e, batch);
    pthread_mutex_lock(&e->mu);
  }
  pthread_mutex_unlock(&e->mu);
  return NULL;
}

void mp_event_from_row(const PGresult *r, int i, int col, Meshplane__V1__Event *ev) {
  meshplane__v1__event__init(ev);
  ev->id = mp_db_int(r, i, col);
  ev->source = (char *)mp_db_text(r, i, col + 1);
  ev->operation_id = (char *)mp_db_text(r, i, col + 2);
  ev->type = (int32_t)mp_db_int(r, i, col + 3);
  ev->summary = (char *)mp_db_text(r, i, col + 4);
  ev->details = (char *)mp_db_text(r, i, col + 5);
  ev->probable_cause = (char *)mp_db_text(r, i, col + 6);
  ev->suggested_remediation = (char *)mp_db_text(r, i, col + 7);
  ev->error_code = (char *)mp_db_text(r, i, col + 8);
  ev->component = (char *)mp_db_text(r, i, col + 9);
  ev->component_name = (char *)mp_db_text(r, i, col + 10);
  ev->created_at_ms = mp_db_int(r, i, col + 11);
}

/* Publishes outbox rows in id order (a batch at a time, one wait for the bus) and deletes
 * them once the bus has them. Returns how many were published, -1 on a database error. */
static int relay_once(mp_events *e, PGconn *pg) {
  int64_t t0 = mp_mono_ns();
  PGresult *r = PQexec(
      pg,
      "SELECT o.id, o.subject, o.payload IS NOT NULL, o.payload, " MP_EVENT_COLUMNS(
          "e.") " FROM outbox o LEFT JOIN events e ON e.id = o.event_id ORDER BY o.id LIMIT 500");
  if (PQresultStatus(r) != PGRES_TUPLES_OK) {
    PQclear(r);
    return -1;
  }
  int rows = PQntuples(r);
  const char **subjects = mp_calloc((size_t)rows + 1, sizeof *subjects);
  const void **datas = mp_calloc((size_t)rows + 1, sizeof *datas);
  size_t *lens = mp_calloc((size_t)rows + 1, sizeof *lens);
  char **ids = mp_calloc((size_t)rows + 1, sizeof *ids);
  for (int i = 0; i < rows; i++) {
    subjects[i] = PQgetvalue(r, i, 1);
    ids[i] = mp_asprintf("outbox-%s", PQgetvalue(r, i, 0));
    if (mp_db_bool(r, i, 2)) {
      datas[i] = mp_db_bytes(r, i, 3, &lens[i]);
      continue;
    }
    Meshplane__V1__Event ev;
    mp_event_from_row(r, i, 4, &ev);
    lens[i] = meshplane__v1__event__get_packed_size(&ev);
    uint8_t *buf = mp_malloc(lens[i] ? lens[i] : 1);
    meshplane__v1__event__pack(&ev, buf);
    datas[i] = buf;
  }
  int done = 0;
  int64_t t1 = mp_mono_ns();
  if (rows > 0) {
    mp_status st = mp_bus_publish_batch(e->srv->bus, (size_t)rows, subjects, datas, lens,
                                        (const char *const *)ids);
    if (st == MP_OK)
      done = rows;
    else
      mp_debug("relay paused", "error=\"%s\"", mp_error_last());
  }
  int64_t t2 = mp_mono_ns();
  if (done) {
    char sql[96];
    snprintf(sql, sizeof sql, "DELETE FROM outbox WHERE id <= %s", PQgetvalue(r, rows - 1, 0));
    PQclear(PQexec(pg, sql));
    pthread_mutex_lock(&e->mu);
    e->relayed += (uint64_t)done;
    pthread_mutex_unlock(&e->mu);
    mp_debug("events relayed", "n=%d select_ms=%.2f publish_ms=%.2f delete_ms=%.2f", done,
             (double)(t1 - t0) / 1e6, (double)(t2 - t1) / 1e6, (double)(mp_mono_ns() - t2) / 1e6);
  }
  for (int i = 0; i < rows; i++) {
    if (mp_db_bool(r, i, 2))
      PQfreemem((void *)datas[i]);
    else
      mp_free((void *)datas[i]);
    mp_free(ids[i]);
  }
  mp_free(subjects);
  mp_free(datas);
  mp_free(lens);
  mp_free(ids);
  PQclear(r);
  return done;
}

/* Consumes the NOTIFYs libpq holds; true when there was one. */
static bool take_notifies(PGconn *pg) {
  bool any = false;
  for (PGnotify *n; (n = PQnotifies(pg)); any = true) PQfreemem(n);
  return any;
}

/* Waits up to ms for a NOTIFY on the relay connection. False if the connection broke.
 * libpq may already hold one that came in with the reply to the relay's last statement
 * (the DELETE), which select() would not see: that one counts at once. */
static bool wait_notify(PGconn *pg, int ms) {
  if (!PQconsumeInput(pg)) return false;
  if (take_notifies(pg)) return true;
  int fd = PQsocket(pg);
  if (fd < 0) return false;
  fd_set rd;
  FD_ZERO(&rd);
  FD_SET(fd, &rd);
  struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
  select(fd + 1, &rd, NULL, NULL, &tv);
  if (!PQconsumeInput(pg)) return false;
  take_notifies(pg);
  return true;
}

static bool stopping(mp_events *e) {
  pthread_mutex_lock(&e->mu);
  bool s = e->stop;
  pthread_mutex_unlock(&e->mu);
  return s;
}

static void *relay_main(void *arg) {
  mp_events *e = arg;
  PGconn *pg = NULL;
  bool leader = false;
  while (!stopping(e)) {
    if (!pg || PQstatus(pg) != CONNECTION_OK) {
      if (pg) PQfinish(pg);
      pg = PQconnectdb(e->srv->conninfo);
      leader = false;
      if (PQstatus(pg) != CONNECTION_OK) {
        mp_sleep_ms(500);
        continue;
      }
      PQclear(PQexec(pg, "LISTEN " NOTIFY_CHANNEL));
    }
    if (!leader) {
      /* One replica relays at a time, which keeps the published order. */
      PGresult *r = PQexec(pg, "SELECT pg_try_advisory_lock(" RELAY_LOCK_KEY ")");
      leader = PQresultStatus(r) == PGRES_TUPLES_OK && mp_db_bool(r, 0, 0);
      PQclear(r);
      if (!leader) {
        wait_notify(pg, 1000);
        continue;
      }
      mp_info("relaying the event outbox", "replica=%s", e->srv->id);
    }
    int n = relay_once(e, pg);
    if (n == RELAY_BATCH) continue;
    /* Empty or the bus refused: wait for a NOTIFY, or retry the bus shortly. */
    if (!wait_notify(pg, n < 0 || !mp_bus_connected(e->srv->bus) ? 250 : 1000)) {
      PQfinish(pg);
      pg = NULL;
    }
  }
  if (pg) PQfinish(pg);
  return NULL;
}

mp_events *mp_events_start(mp_server *s) {
  mp_events *e = mp_calloc(1, sizeof *e);
  e->srv = s;
  pthread_mutex_init(&e->mu, NULL);
  pthread_cond_init(&e->cv, NULL);
  pthread_create(&e->writer, NULL, writer_main, e);
  pthread_create(&e->relay, NULL, relay_main, e);
  return e;
}

void mp_events_stop(mp_events *e) {
  if (!e) return;
  pthread_mutex_lock(&e->mu);
  e->stop = true;
  pthread_cond_broadcast(&e->cv);
  pthread_mutex_unlock(&e->mu);
  /* The writer drains the queue first, so events received before SIGTERM are stored. */
  pthread_join(e->writer, NULL);
  pthread_join(e->relay, NULL);
  while (e->head) {
    pending *p = e->head;
    e->head = p->next;
    free_pending(p);
  }
  pthread_mutex_destroy(&e->mu);
  pthread_cond_destroy(&e->cv);
  mp_free(e);
}
