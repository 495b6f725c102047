/* Schedules (cron on profiles) and the replica's housekeeping thread: a heartbeat, the
 * sweep that marks runs of vanished replicas INTERRUPTED, and the claim of due schedules
 * with SELECT ... FOR UPDATE SKIP LOCKED, so N replicas never start one run twice. */
#include <pthread.h>
#include <string.h>
#include <unistd.h>

#include "cron.h"
#include "schedules.h"

#define TICK_MS 1000
#define REPLICA_TIMEOUT "6 seconds"

struct mp_sched {
  mp_server *srv;
  pthread_t thread;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  bool stop;
  mp_sched_launch_fn launch;
};

static void heartbeat(mp_sched *sc) {
  char host[256] = "";
  gethostname(host, sizeof host - 1);
  mp_dbargs a = {0};
  mp_dbargs_text(&a, sc->srv->id);
  mp_dbargs_text(&a, host);
  mp_status st;
  PQclear(mp_db_exec(sc->srv->db,
                     "INSERT INTO replicas (id, hostname) VALUES ($1, $2) ON CONFLICT (id) DO "
                     "UPDATE SET last_seen = now()",
                     &a, &st));
  mp_dbargs_free(&a);
  PGresult *r = mp_db_exec(sc->srv->db,
                           "UPDATE runs SET status = 'INTERRUPTED', finished_at = now(), error = "
                           "'the server running it stopped before it finished' WHERE status IN "
                           "('PENDING', 'RUNNING') AND server_id NOT IN (SELECT id FROM replicas "
                           "WHERE last_seen > now() - interval '" REPLICA_TIMEOUT "') RETURNING id",
                           NULL, &st);
  for (int i = 0; r && i < PQntuples(r); i++)
    mp_warn("run interrupted: its server stopped", "run=%s", PQgetvalue(r, i, 0));
  PQclear(r);
  PQclear(mp_db_exec(sc->srv->db, "DELETE FROM replicas WHERE last_seen < now() - interval '1 day'",
                     NULL, &st));
}

/* Claims due schedules and creates their runs in one transaction; launches them after. */
static void claim_due(mp_sched *sc) {
  mp_dbc *c = mp_db_get(sc->srv->db);
  char runs[8][MP_UUID_STRLEN];
  int n = 0;
  mp_status st = mp_dbc_begin(c);
  PGresult *r = NULL;
  if (st == MP_OK)
    r = mp_dbc_exec(c,
                    "SELECT id, profile_id, cron FROM schedules WHERE enabled AND next_run <= "
                    "now() ORDER BY next_run LIMIT 8 FOR UPDATE SKIP LOCKED",
                    NULL, &st);
  for (int i = 0; r && i < PQntuples(r) && st == MP_OK; i++) {
    mp_cron cron;
    int64_t next = 0;
    bool ok = mp_cron_parse(PQgetvalue(r, i, 2), &cron) == MP_OK &&
              mp_cron_next(&cron, mp_now_ms(), &next) == MP_OK;
    mp_dbargs a = {0};
    mp_dbargs_text(&a, PQgetvalue(r, i, 0));
    mp_dbargs_int(&a, next);
    mp_dbargs_bool(&a, ok);
    PQclear(mp_dbc_exec(c,
                        "UPDATE schedules SET next_run = to_timestamp($2::bigint / 1000.0), "
                        "last_run = now(), enabled = $3 WHERE id = $1::uuid",
                        &a, &st));
    mp_dbargs_free(&a);
    if (!ok || st != MP_OK) continue;
    mp_uuid_new(runs[n]);
    mp_dbargs_text(&a, runs[n]);
    mp_dbargs_text(&a, PQgetvalue(r, i, 1));
    mp_dbargs_text(&a, PQgetvalue(r, i, 0));
    mp_dbargs_text(&a, sc->srv->id);
    PQclear(mp_dbc_exec(c,
                        "INSERT INTO runs (id, profile_id, schedule_id, status, server_id, "
                        "metadata) VALUES ($1, $2, $3, 'PENDING', $4, "
                        "jsonb_build_object('trigger', 'schedule'))",
                        &a, &st));
    mp_dbargs_free(&a);
    if (st == MP_OK) n++;
  }
  PQclear(r);
  if (st == MP_OK)
    st = mp_dbc_commit(c);
  else
    mp_dbc_rollback(c);
  mp_db_put(sc->srv->db, c);
  if (st != MP_OK) {
    mp_warn("cannot claim schedules", "error=\"%s\"", mp_error_last());
    return;
  }
  for (int i = 0; i < n; i++) {
    mp_info("scheduled run claimed", "run=%s", runs[i]);
    if (sc->launch) sc->launch(sc->srv, runs[i]);
  }
}

static void *sched_main(void *arg) {
  mp_sched *sc = arg;
  pthread_mutex_lock(&sc->mu);
  while (!sc->stop) {
    pthread_mutex_unlock(&sc->mu);
    heartbeat(sc);
    claim_due(sc);
    pthread_mutex_lock(&sc->mu);
    if (!sc->stop) mp_cond_wait_until(&sc->cv, &sc->mu, mp_mono_ns() + TICK_MS * MP_NS_PER_MS);
  }
  pthread_mutex_unlock(&sc->mu);
  return NULL;
}

mp_sched *mp_sched_start(mp_server *s, mp_sched_launch_fn launch) {
  mp_sched *sc = mp_calloc(1, sizeof *sc);
  sc->srv = s;
  sc->launch = launch;
  pthread_mutex_init(&sc->mu, NULL);
  mp_cond_init_mono(&sc->cv);
  pthread_create(&sc->thread, NULL, sched_main, sc);
  return sc;
}

void mp_sched_stop(mp_sched *sc) {
  if (!sc) return;
  pthread_mutex_lock(&sc->mu);
  sc->stop = true;
  pthread_cond_signal(&sc->cv);
  pthread_mutex_unlock(&sc->mu);
  pthread_join(sc->thread, NULL);
  /* This replica is gone: the others may mark what it ran as interrupted at once. */
  mp_dbargs a = {0};
  mp_dbargs_text(&a, sc->srv->id);
  mp_status st;
  PQclear(mp_db_exec(sc->srv->db, "DELETE FROM replicas WHERE id = $1", &a, &st));
  mp_dbargs_free(&a);
  pthread_mutex_destroy(&sc->mu);
  pthread_cond_destroy(&sc->cv);
  mp_free(sc);
}

/* ---- API ---------------------------------------------------------------------------------- */

#define SCHEDULE_COLUMNS                                                                           \
  "id, profile_id, cron, enabled, (extract(epoch FROM next_run) * 1000)::bigint, "                 \
  "COALESCE((extract(epoch FROM last_run) * 1000)::bigint, 0)"

static void from_row(const PGresult *r, int i, Meshplane__V1__Schedule *out) {
  meshplane__v1__schedule__init(out);
  out->id = (char *)mp_db_text(r, i, 0);
  out->profile_id = (char *)mp_db_text(r, i, 1);
  out->cron = (char *)mp_db_text(r, i, 2);
  out->enabled = mp_db_bool(r, i, 3);
  out->next_run_ms = mp_db_int(r, i, 4);
  out->last_run_ms = mp_db_int(r, i, 5);
}

void mp_schedules_create(mp_server *s, const Meshplane__V1__CreateScheduleRequest *in,
                         Meshplane__V1__Schedule_Closure done, void *cd) {
  const Meshplane__V1__Schedule *sch = in->schedule;
  if (!sch) {
    mp_rpc_fail(cd, MP_RPC_INVALID_ARGUMENT, "schedule is required");
    return;
  }
  mp_status st;
  Meshplane__V1__PerformanceProfile *p = mp_profile_load(s, sch->profile_id, &st);
  if (!p) {
    mp_server_fail_status(cd, st);
    return;
  }
  mp_cron cron;
  int64_t next;
  if (mp_cron_parse(sch->cron, &cron) != MP_OK ||
      mp_cron_next(&cron, mp_now_ms(), &next) != MP_OK) {
    protobuf_c_message_free_unpacked(&p->base, NULL);
    mp_rpc_fail(cd, MP_RPC_INVALID_ARGUMENT, "%s", mp_error_last());
    return;
  }
  char id[MP_UUID_STRLEN];
  mp_uuid_new(id);
  mp_dbargs a = {0};
  mp_dbargs_text(&a, id);
  mp_dbargs_text(&a, p->id);
  mp_dbargs_text(&a, sch->cron);
  mp_dbargs_int(&a, next);
  protobuf_c_message_free_unpacked(&p->base, NULL);
  PGresult *r = mp_db_exec(s->db,
                           "INSERT INTO schedules (id, profile_id, cron, next_run) VALUES ($1, $2, "
                           "$3, to_timestamp($4::bigint / 1000.0)) RETURNING " SCHEDULE_COLUMNS,
                           &a, &st);
  mp_dbargs_free(&a);
  if (!r) {
    mp_server_fail_status(cd, st);
    return;
  }
  Meshplane__V1__Schedule out;
  from_row(r, 0, &out);
  done(&out, cd);
  PQclear(r);
}

void mp_schedules_delete(mp_server *s, const Meshplane__V1__DeleteScheduleRequest *in,
                         Meshplane__V1__DeleteScheduleResponse_Closure done, void *cd) {
  if (!mp_uuid_valid(in->id)) {
    mp_rpc_fail(cd, MP_RPC_INVALID_ARGUMENT, "id \"%s\" is not a schedule id", in->id);
    return;
  }
  mp_dbargs a = {0};
  mp_dbargs_text(&a, in->id);
  mp_status st;
  PGresult *r = mp_db_exec(s->db, "DELETE FROM schedules WHERE id = $1::uuid", &a, &st);
  mp_dbargs_free(&a);
  bool found = r && strcmp(PQcmdTuples(r), "0") != 0;
  PQclear(r);
  if (st != MP_OK) {
    mp_server_fail_status(cd, st);
  } else if (!found) {
    mp_rpc_fail(cd, MP_RPC_NOT_FOUND, "no schedule %s", in->id);
  } else {
    Meshplane__V1__DeleteScheduleResponse resp = MESHPLANE__V1__DELETE_SCHEDULE_RESPONSE__INIT;
    done(&resp, cd);
  }
}

void mp_schedules_list(mp_server *s, const Meshplane__V1__ListSchedulesRequest *in,
                       Meshplane__V1__ListSchedulesResponse_Closure done, void *cd) {
  if (in->profile_id && *in->profile_id && !mp_uuid_valid(in->profile_id)) {
    mp_rpc_fail(cd, MP_RPC_INVALID_ARGUMENT, "profile_id \"%s\" is not a uuid", in->profile_id);
    return;
  }
  mp_dbargs a = {0};
  mp_dbargs_text(&a, in->profile_id && *in->profile_id ? in->profile_id : NULL);
  mp_status st;
  PGresult *r = mp_db_exec(s->db,
                           "SELECT " SCHEDULE_COLUMNS " FROM schedules WHERE $1::uuid IS NULL OR "
                           "profile_id = $1::uuid ORDER BY created_at, id",
                           &a, &st);
  mp_dbargs_free(&a);
  if (!r) {
    mp_server_fail_status(cd, st);
    return;
  }
  size_t n = (size_t)PQntuples(r);
  Meshplane__V1__Schedule *items = mp_calloc(n + 1, sizeof *items);
  Meshplane__V1__Schedule **ptrs = mp_calloc(n + 1, sizeof *ptrs);
  for (size_t i = 0; i < n; i++) {
    from_row(r, (int)i, &items[i]);
    ptrs[i] = &items[i];
  }
  Meshplane__V1__ListSchedulesResponse resp = MESHPLANE__V1__LIST_SCHEDULES_RESPONSE__INIT;
  resp.schedules = ptrs;
  resp.n_schedules = n;
  done(&resp, cd);
  mp_free(items);
  mp_free(ptrs);
  PQclear(r);
}
