/* Proves the "services" fixture: PostgreSQL over the unix socket and over TCP, NATS
 * core publish/subscribe, and one JetStream round trip. */
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <libpq-fe.h>
#include <nats/nats.h>

#include "meshplane/base.h"
#include "testenv.h"

/* Fails the test with libpq's message when res does not have the expected status. */
static void expect_pg(PGresult *res, ExecStatusType want, const char *what) {
  if (PQresultStatus(res) != want) {
    fail_msg("%s: %s (%s)", what, PQresStatus(PQresultStatus(res)), PQresultErrorMessage(res));
  }
}

static void expect_nats(natsStatus s, const char *what) {
  if (s != NATS_OK) fail_msg("%s: %s (%s)", what, natsStatus_GetText(s), nats_GetLastError(NULL));
}

static void test_env_file(void **state) {
  (void)state;
  assert_non_null(mp_testenv("MP_PG_CONNINFO"));
  assert_non_null(mp_testenv("MP_PG_HOST"));
  assert_true(atoi(mp_testenv("MP_PG_PORT")) > 0);
  assert_string_equal(mp_testenv("MP_PG_DB"), "meshplane");
  assert_string_equal(mp_testenv("MP_PG_USER"), "meshplane");
  assert_true(mp_str_has_prefix(mp_testenv("MP_NATS_URL"), "nats://127.0.0.1:"));
  assert_null(mp_testenv("MP_NO_SUCH_KEY"));
}

static void test_pg_roundtrip(void **state) {
  (void)state;
  /* The shared database answers over the socket and, with the password, over TCP. */
  const char *urls[] = {mp_testenv("MP_PG_CONNINFO"), mp_testenv("MP_PG_URL")};
  for (size_t i = 0; i < MP_ARRAY_LEN(urls); i++) {
    PGconn *c = PQconnectdb(urls[i]);
    if (PQstatus(c) != CONNECTION_OK) fail_msg("connect %s: %s", urls[i], PQerrorMessage(c));
    PGresult *r = PQexec(c, "SELECT current_database(), current_user");
    expect_pg(r, PGRES_TUPLES_OK, "SELECT current_database()");
    assert_string_equal(PQgetvalue(r, 0, 0), "meshplane");
    assert_string_equal(PQgetvalue(r, 0, 1), "meshplane");
    PQclear(r);
    PQfinish(c);
  }

  /* A fresh database per test: create, insert with parameters, read back. */
  char *conninfo = mp_testenv_fresh_db("test_services");
  PGconn *c = PQconnectdb(conninfo);
  if (PQstatus(c) != CONNECTION_OK) fail_msg("connect %s: %s", conninfo, PQerrorMessage(c));
  PGresult *r = PQexec(c, "CREATE TABLE kv (id bigserial PRIMARY KEY, name text NOT NULL, "
                          "qps double precision, created_at timestamptz DEFAULT now())");
  expect_pg(r, PGRES_COMMAND_OK, "CREATE TABLE");
  PQclear(r);

  const char *name = "it's a \"mesh\" \xce\xbc"; /* quotes and UTF-8 travel as parameters */
  const char *params[] = {name, "1234.5"};
  r = PQexecParams(c, "INSERT INTO kv (name, qps) VALUES ($1, $2) RETURNING id", 2, NULL, params,
                   NULL, NULL, 0);
  expect_pg(r, PGRES_TUPLES_OK, "INSERT");
  assert_int_equal(PQntuples(r), 1);
  char *id = mp_strdup(PQgetvalue(r, 0, 0));
  PQclear(r);

  const char *sel[] = {id};
  r = PQexecParams(c, "SELECT name, qps, created_at IS NOT NULL FROM kv WHERE id = $1", 1, NULL,
                   sel, NULL, NULL, 0);
  expect_pg(r, PGRES_TUPLES_OK, "SELECT");
  assert_int_equal(PQntuples(r), 1);
  assert_string_equal(PQgetvalue(r, 0, 0), name);
  assert_string_equal(PQgetvalue(r, 0, 1), "1234.5");
  assert_string_equal(PQgetvalue(r, 0, 2), "t");
  PQclear(r);

  r = PQexec(c, "SELECT count(*) FROM kv");
  expect_pg(r, PGRES_TUPLES_OK, "SELECT count(*)");
  assert_string_equal(PQgetvalue(r, 0, 0), "1");
  PQclear(r);

  PQfinish(c);
  mp_free(id);
  mp_free(conninfo);
}

static void test_nats_pubsub(void **state) {
  (void)state;
  natsConnection *nc = NULL;
  natsSubscription *sub = NULL;
  natsMsg *msg = NULL;
  char subject[64];
  snprintf(subject, sizeof subject, "meshplane.test.%d", (int)getpid());

  expect_nats(natsConnection_ConnectTo(&nc, mp_testenv("MP_NATS_URL")), "connect");
  expect_nats(natsConnection_SubscribeSync(&sub, nc, subject), "subscribe");
  /* The server has the subscription once a flush returns, so the publish reaches it. */
  expect_nats(natsConnection_FlushTimeout(nc, 5000), "flush");
  expect_nats(natsConnection_PublishString(nc, subject, "hello mesh"), "publish");
  expect_nats(natsSubscription_NextMsg(&msg, sub, 5000), "next message");
  assert_string_equal(natsMsg_GetSubject(msg), subject);
  assert_int_equal(natsMsg_GetDataLength(msg), strlen("hello mesh"));
  assert_memory_equal(natsMsg_GetData(msg), "hello mesh", strlen("hello mesh"));

  natsMsg_Destroy(msg);
  natsSubscription_Destroy(sub);
  natsConnection_Destroy(nc);
}

static void test_jetstream(void **state) {
  (void)state;
  natsConnection *nc = NULL;
  jsCtx *js = NULL;
  jsStreamInfo *si = NULL;
  jsPubAck *pa = NULL;
  natsMsg *msg = NULL;
  jsErrCode jerr = 0;
  char stream[64], subject[64];
  /* Names of their own, so a rerun against the same server starts at sequence 1, and a
   * subject outside meshplane.> and mptest.>, which the servers of other tests and test_bus keep in
   * their streams (overlapping subjects: jetstream error 10065). */
  snprintf(stream, sizeof stream, "MPTEST_%d", (int)getpid());
  snprintf(subject, sizeof subject, "mpjstest.%d", (int)getpid());

  expect_nats(natsConnection_ConnectTo(&nc, mp_testenv("MP_NATS_URL")), "connect");
  expect_nats(natsConnection_JetStream(&js, nc, NULL), "jetstream context");

  jsStreamConfig cfg;
  jsStreamConfig_Init(&cfg);
  const char *subjects[] = {subject};
  cfg.Name = stream;
  cfg.Subjects = subjects;
  cfg.SubjectsLen = 1;
  cfg.Storage = js_FileStorage;
  natsStatus s = js_AddStream(&si, js, &cfg, NULL, &jerr);
  if (s != NATS_OK) fail_msg("js_AddStream: %s (jetstream error %d)", natsStatus_GetText(s), jerr);
  assert_string_equal(si->Config->Name, stream);
  jsStreamInfo_Destroy(si);

  const char *data = "{\"run\":\"42\"}";
  s = js_Publish(&pa, js, subject, data, (int)strlen(data), NULL, &jerr);
  if (s != NATS_OK) fail_msg("js_Publish: %s (jetstream error %d)", natsStatus_GetText(s), jerr);
  assert_string_equal(pa->Stream, stream);
  assert_int_equal(pa->Sequence, 1);
  assert_false(pa->Duplicate);
  uint64_t seq = pa->Sequence;
  jsPubAck_Destroy(pa);

  /* The stored message reads back by sequence. */
  s = js_GetMsg(&msg, js, stream, seq, NULL, &jerr);
  if (s != NATS_OK) fail_msg("js_GetMsg: %s (jetstream error %d)", natsStatus_GetText(s), jerr);
  assert_string_equal(natsMsg_GetSubject(msg), subject);
  assert_int_equal(natsMsg_GetDataLength(msg), strlen(data));
  assert_memory_equal(natsMsg_GetData(msg), data, strlen(data));
  natsMsg_Destroy(msg);

  s = js_DeleteStream(js, stream, NULL, &jerr);
  if (s != NATS_OK)
    fail_msg("js_DeleteStream: %s (jetstream error %d)", natsStatus_GetText(s), jerr);
  jsCtx_Destroy(js);
  natsConnection_Destroy(nc);
}

/* Releases nats.c's library threads and memory, so valgrind and LeakSanitizer see a
 * clean exit. No nats call may follow. */
static int teardown_nats(void **state) {
  (void)state;
  return nats_CloseAndWait(5000) == NATS_OK ? 0 : -1;
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_env_file),
      cmocka_unit_test(test_pg_roundtrip),
      cmocka_unit_test(test_nats_pubsub),
      cmocka_unit_test(test_jetstream),
  };
  return cmocka_run_group_tests(tests, NULL, teardown_nats);
}
