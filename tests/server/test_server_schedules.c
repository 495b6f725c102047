/* Schedules on two server replicas sharing one database: cron validation, and a due
 * schedule starts exactly one run however many replicas race for it (FOR UPDATE SKIP
 * LOCKED). Runs of a replica that vanished are marked INTERRUPTED. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <libpq-fe.h>

#include "meshplane/rpc.h"
#include "meshplane/v1/server.pb-c.h"
#include "testenv.h"
#include "testproc.h"

#define API (&meshplane__v1__meshplane__descriptor)
#define SERVER_BIN MP_BIN_DIR "/meshplane-server"

static char *db;
static mp_proc servers[2];
static mp_rpc_channel *ch;
static PGconn *pg;

static int setup(void **state) {
  db = mp_testenv_fresh_db("sched");
  for (int i = 0; i < 2; i++) {
    const char *argv[] = {SERVER_BIN, "--listen",    "127.0.0.1:0", "--database",
                          db,         "--log-level", "warn",        NULL};
    if (!mp_proc_start(&servers[i], argv, 20000)) return -1;
  }
  mp_rpc_channel_new(servers[0].addr, NULL, &ch);
  pg = PQconnectdb(db);
  return PQstatus(pg) == CONNECTION_OK ? 0 : -1;
}

static int teardown(void **state) {
  PQfinish(pg);
  mp_rpc_channel_free(ch);
  int rc = 0;
  for (int i = 0; i < 2; i++) rc |= mp_proc_stop(&servers[i], SIGTERM, 15000);
  mp_free(db);
  return rc;
}

static mp_rpc_code call(const char *method, const ProtobufCMessage *req, ProtobufCMessage **resp,
                        mp_rpc_status *st) {
  mp_rpc_call_opts o = {.timeout_ms = 10000};
  ProtobufCMessage *dummy = NULL;
  mp_rpc_code c = mp_rpc_unary(ch, API, method, req, resp ? resp : &dummy, &o, st);
  if (dummy) protobuf_c_message_free_unpacked(dummy, NULL);
  return c;
}

static int64_t query_int(const char *sql, const char *arg) {
  const char *params[] = {arg};
  PGresult *r = PQexecParams(pg, sql, arg ? 1 : 0, NULL, params, NULL, NULL, 0);
  if (PQresultStatus(r) != PGRES_TUPLES_OK && PQresultStatus(r) != PGRES_COMMAND_OK)
    fail_msg("%s: %s", sql, PQresultErrorMessage(r));
  int64_t v = PQntuples(r) ? atoll(PQgetvalue(r, 0, 0)) : 0;
  PQclear(r);
  return v;
}

static void test_schedule_fires_once(void **state) {
  Meshplane__V1__PerformanceProfile p = MESHPLANE__V1__PERFORMANCE_PROFILE__INIT;
  char *eps[] = {"http://127.0.0.1:1/"};
  p.name = "nightly";
  p.endpoints = eps;
  p.n_endpoints = 1;
  p.concurrent_request = 1;
  p.duration = "1s";
  Meshplane__V1__CreateProfileRequest cp = MESHPLANE__V1__CREATE_PROFILE_REQUEST__INIT;
  cp.profile = &p;
  ProtobufCMessage *resp;
  mp_rpc_status st;
  assert_int_equal(call("CreateProfile", &cp.base, &resp, &st), MP_RPC_OK);
  char *profile_id = mp_strdup(((Meshplane__V1__PerformanceProfile *)resp)->id);
  protobuf_c_message_free_unpacked(resp, NULL);

  Meshplane__V1__Schedule s = MESHPLANE__V1__SCHEDULE__INIT;
  s.profile_id = profile_id;
  s.cron = "0 0 31 2 *";
  Meshplane__V1__CreateScheduleRequest cs = MESHPLANE__V1__CREATE_SCHEDULE_REQUEST__INIT;
  cs.schedule = &s;
  assert_int_equal(call("CreateSchedule", &cs.base, NULL, &st), MP_RPC_INVALID_ARGUMENT);
  assert_non_null(strstr(st.message, "never fires"));
  s.cron = "*/5 * * *";
  assert_int_equal(call("CreateSchedule", &cs.base, NULL, &st), MP_RPC_INVALID_ARGUMENT);
  assert_non_null(strstr(st.message, "needs 5"));
  s.cron = "0 3 * * *";
  assert_int_equal(call("CreateSchedule", &cs.base, &resp, &st), MP_RPC_OK);
  Meshplane__V1__Schedule *made = (Meshplane__V1__Schedule *)resp;
  char *sched_id = mp_strdup(made->id);
  assert_true(made->next_run_ms > mp_now_ms());
  assert_int_equal((made->next_run_ms / 1000) % 86400, 3 * 3600); /* 03:00 UTC */
  protobuf_c_message_free_unpacked(resp, NULL);

  /* Make it due five times; both replicas race; each time exactly one run appears. */
  for (int round = 1; round <= 5; round++) {
    query_int("UPDATE schedules SET next_run = now() WHERE id = $1::uuid", sched_id);
    int64_t runs = 0;
    for (int i = 0; i < 100 && runs < round; i++) {
      mp_sleep_ms(50);
      runs = query_int("SELECT count(*) FROM runs WHERE schedule_id = $1::uuid", sched_id);
    }
    mp_sleep_ms(1500); /* both replicas have ticked at least once more */
    runs = query_int("SELECT count(*) FROM runs WHERE schedule_id = $1::uuid", sched_id);
    if (runs != round) fail_msg("round %d: %lld runs", round, (long long)runs);
    /* The schedule moved on to its next 03:00. */
    assert_true(query_int("SELECT (next_run > now())::int FROM schedules WHERE id = $1::uuid",
                          sched_id) == 1);
  }

  Meshplane__V1__ListSchedulesRequest ls = MESHPLANE__V1__LIST_SCHEDULES_REQUEST__INIT;
  ls.profile_id = profile_id;
  assert_int_equal(call("ListSchedules", &ls.base, &resp, &st), MP_RPC_OK);
  assert_int_equal(((Meshplane__V1__ListSchedulesResponse *)resp)->n_schedules, 1);
  assert_true(((Meshplane__V1__ListSchedulesResponse *)resp)->schedules[0]->last_run_ms > 0);
  protobuf_c_message_free_unpacked(resp, NULL);
  Meshplane__V1__DeleteScheduleRequest ds = MESHPLANE__V1__DELETE_SCHEDULE_REQUEST__INIT;
  ds.id = sched_id;
  assert_int_equal(call("DeleteSchedule", &ds.base, NULL, &st), MP_RPC_OK);
  assert_int_equal(call("DeleteSchedule", &ds.base, NULL, &st), MP_RPC_NOT_FOUND);

  /* A run left RUNNING by a replica that no longer exists is marked INTERRUPTED. */
  query_int("INSERT INTO runs (id, profile_id, status, server_id) VALUES "
            "('11111111-1111-4111-8111-111111111111', $1::uuid, 'RUNNING', 'ghost')",
            profile_id);
  int64_t interrupted = 0;
  for (int i = 0; i < 100 && !interrupted; i++) {
    mp_sleep_ms(50);
    interrupted = query_int("SELECT count(*) FROM runs WHERE status = 'INTERRUPTED' AND "
                            "server_id = $1",
                            "ghost");
  }
  assert_int_equal(interrupted, 1);
  mp_free(profile_id);
  mp_free(sched_id);
}

int main(void) {
  mp_rpc_init();
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_schedule_fires_once)};
  int rc = cmocka_run_group_tests(tests, setup, teardown);
  mp_rpc_shutdown();
  return rc;
}
