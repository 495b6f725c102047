/* meshplane-server adapters, operations and events, end to end with real processes:
 * two server replicas on one PostgreSQL and one nats-server, a test adapter process.
 * Checks: operations forwarded with the server's id, events delivered in order and
 * exactly once, each operation's terminal event last (component passed through), resume
 * from an id (replay then live), events crossing replicas, the operation's status settled
 * by its terminal event, an adapter that goes away and comes back, NATS stopped while
 * events arrive. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "meshplane/rpc.h"
#include "meshplane/v1/server.pb-c.h"
#include "testenv.h"
#include "testproc.h"

#define API (&meshplane__v1__meshplane__descriptor)
#define SERVER_BIN MP_BIN_DIR "/meshplane-server"

static char *db;
static mp_proc adapter, server_a, server_b;
static mp_rpc_channel *ch_a, *ch_b;

static bool start_adapter(const char *listen) {
  const char *argv[] = {TEST_ADAPTER, "--listen", listen, "--mesh", "testmesh", NULL};
  return mp_proc_start(&adapter, argv, 10000);
}

static bool start_server(mp_proc *p, const char *adapters) {
  const char *argv[] = {SERVER_BIN,
                        "--listen",
                        "127.0.0.1:0",
                        "--database",
                        db,
                        "--nats",
                        mp_testenv("MP_NATS_URL"),
                        "--log-level",
                        "warn",
                        adapters ? "--adapters" : NULL,
                        adapters,
                        NULL};
  return mp_proc_start(p, argv, 20000);
}

static int setup(void **state) {
  db = mp_testenv_fresh_db("events");
  if (!start_adapter("127.0.0.1:0")) return -1;
  /* Replica A watches the adapter; replica B only shares the database and NATS. */
  if (!start_server(&server_a, adapter.addr) || !start_server(&server_b, NULL)) return -1;
  mp_rpc_channel_new(server_a.addr, NULL, &ch_a);
  mp_rpc_channel_new(server_b.addr, NULL, &ch_b);
  return 0;
}

static int teardown(void **state) {
  mp_rpc_channel_free(ch_a);
  mp_rpc_channel_free(ch_b);
  int a = mp_proc_stop(&server_a, SIGTERM, 20000);
  int b = mp_proc_stop(&server_b, SIGTERM, 20000);
  mp_proc_stop(&adapter, SIGTERM, 10000);
  mp_free(db);
  return a == 0 && b == 0 ? 0 : -1;
}

static mp_rpc_code call(mp_rpc_channel *ch, const char *method, const ProtobufCMessage *req,
                        ProtobufCMessage **resp, mp_rpc_status *st) {
  mp_rpc_call_opts o = {.timeout_ms = 15000};
  ProtobufCMessage *dummy = NULL;
  mp_rpc_code c = mp_rpc_unary(ch, API, method, req, resp ? resp : &dummy, &o, st);
  if (dummy) protobuf_c_message_free_unpacked(dummy, NULL);
  return c;
}

/* Waits until the adapter is listed with the given health on ch. */
static void wait_adapter(mp_rpc_channel *ch, Meshplane__V1__Health want) {
  for (int i = 0; i < 200; i++) {
    Meshplane__V1__ListAdaptersRequest req = MESHPLANE__V1__LIST_ADAPTERS_REQUEST__INIT;
    ProtobufCMessage *resp;
    mp_rpc_status st;
    assert_int_equal(call(ch, "ListAdapters", &req.base, &resp, &st), MP_RPC_OK);
    Meshplane__V1__ListAdaptersResponse *r = (Meshplane__V1__ListAdaptersResponse *)resp;
    bool ok = r->n_adapters == 1 && r->adapters[0]->health == want;
    if (ok && want == MESHPLANE__V1__HEALTH__HEALTH_SERVING) {
      assert_string_equal(r->adapters[0]->mesh_name, "testmesh");
      assert_int_equal(r->adapters[0]->n_operations, 2);
      assert_string_equal(r->adapters[0]->operations[0]->key, "emit");
      assert_int_equal(r->adapters[0]->n_versions, 2);
    }
    protobuf_c_message_free_unpacked(resp, NULL);
    if (ok) return;
    mp_sleep_ms(50);
  }
  fail_msg("the adapter never became %d", want);
}

static char *apply(const char *op, const char *body, mp_rpc_code want) {
  Meshplane__V1__ApplyOperationRequest req = MESHPLANE__V1__APPLY_OPERATION_REQUEST__INIT;
  req.adapter = "testmesh";
  req.op_name = (char *)op;
  req.custom_body = (char *)body;
  ProtobufCMessage *resp = NULL;
  mp_rpc_status st;
  mp_rpc_code code = call(ch_a, "ApplyOperation", &req.base, &resp, &st);
  if (code != want) fail_msg("ApplyOperation %s: %s %s", op, mp_rpc_code_name(code), st.message);
  if (!resp) return mp_strdup(st.message);
  char *id = mp_strdup(((Meshplane__V1__Operation *)resp)->id);
  protobuf_c_message_free_unpacked(resp, NULL);
  return id;
}

static mp_rpc_stream *watch(mp_rpc_channel *ch, int64_t since, const char *op) {
  Meshplane__V1__WatchEventsRequest req = MESHPLANE__V1__WATCH_EVENTS_REQUEST__INIT;
  req.since_id = since;
  req.operation_id = (char *)(op ? op : "");
  mp_rpc_stream *s;
  mp_rpc_status st;
  mp_rpc_call_opts o = {.timeout_ms = 60000};
  assert_int_equal(mp_rpc_stream_open(ch, API, "WatchEvents", &req.base, &o, &s, &st), MP_RPC_OK);
  return s;
}

/* Reads n events for op from s, checking order and content; returns the last id. */
static int64_t expect_events(mp_rpc_stream *s, const char *op, int from, int n, int64_t after) {
  int64_t last = after;
  for (int i = from; i < from + n; i++) {
    ProtobufCMessage *m;
    mp_rpc_status st;
    if (!mp_rpc_stream_next(s, &m, &st)) fail_msg("event %d: stream ended: %s", i, st.message);
    Meshplane__V1__Event *e = (Meshplane__V1__Event *)m;
    char want[32];
    snprintf(want, sizeof want, "event %d", i);
    if (strcmp(e->operation_id, op) || strcmp(e->summary, want) || e->id <= last)
      fail_msg("event %d: got id %lld op %s \"%s\" after id %lld", i, (long long)e->id,
               e->operation_id, e->summary, (long long)last);
    last = e->id;
    protobuf_c_message_free_unpacked(m, NULL);
  }
  return last;
}

/* Reads op's terminal event from s (component "operation", after id `after`): INFO "emit N
 * events: done" or, with failed, ERROR "failed on purpose". Returns its id. */
static int64_t expect_end(mp_rpc_stream *s, const char *op, bool failed, int64_t after) {
  ProtobufCMessage *m;
  mp_rpc_status st;
  if (!mp_rpc_stream_next(s, &m, &st)) fail_msg("terminal event: stream ended: %s", st.message);
  Meshplane__V1__Event *e = (Meshplane__V1__Event *)m;
  const char *want = failed ? "failed on purpose" : "emit N events: done";
  if (strcmp(e->operation_id, op) || strcmp(e->summary, want) ||
      strcmp(e->component, "operation") || e->type != (failed ? 2 : 0) || e->id <= after)
    fail_msg("terminal event: got id %lld op %s type %d component \"%s\" \"%s\" after id %lld",
             (long long)e->id, e->operation_id, e->type, e->component, e->summary,
             (long long)after);
  assert_string_equal(e->component_name, "testmesh");
  int64_t id = e->id;
  protobuf_c_message_free_unpacked(m, NULL);
  return id;
}

/* Waits until ListOperations shows op with this status (and error), failing after 10 s. */
static void expect_status(const char *op, const char *status, const char *error) {
  char got[64] = "", got_error[128] = "";
  for (int i = 0; i < 200; i++) {
    Meshplane__V1__ListOperationsRequest req = MESHPLANE__V1__LIST_OPERATIONS_REQUEST__INIT;
    req.page_size = 1000;
    ProtobufCMessage *resp;
    mp_rpc_status st;
    assert_int_equal(call(ch_b, "ListOperations", &req.base, &resp, &st), MP_RPC_OK);
    Meshplane__V1__ListOperationsResponse *r = (Meshplane__V1__ListOperationsResponse *)resp;
    for (size_t k = 0; k < r->n_operations; k++)
      if (!strcmp(r->operations[k]->id, op)) {
        mp_strlcpy(got, r->operations[k]->status, sizeof got);
        mp_strlcpy(got_error, r->operations[k]->error, sizeof got_error);
      }
    protobuf_c_message_free_unpacked(resp, NULL);
    if (!strcmp(got, status) && !strcmp(got_error, error)) return;
    mp_sleep_ms(50);
  }
  fail_msg("operation %s: status \"%s\" error \"%s\", want \"%s\" \"%s\"", op, got, got_error,
           status, error);
}

static void test_operation_events_and_resume(void **state) {
  wait_adapter(ch_a, MESHPLANE__V1__HEALTH__HEALTH_SERVING);
  mp_rpc_stream *w = watch(ch_a, 0, NULL);
  mp_rpc_stream *w_other_replica = watch(ch_b, 0, NULL);
  mp_sleep_ms(300); /* let the watches subscribe before the events exist */
  char *op = apply("emit", "100", MP_RPC_OK);
  assert_true(mp_uuid_valid(op));
  int64_t last = expect_events(w, op, 0, 100, 0);
  int64_t end = expect_end(w, op, false, last);
  /* The same events reach a client of the other replica, through NATS. */
  int64_t last_b = expect_events(w_other_replica, op, 0, 100, 0);
  assert_int_equal(last, last_b);
  assert_int_equal(expect_end(w_other_replica, op, false, last_b), end);
  mp_rpc_stream_free(w);
  mp_rpc_stream_free(w_other_replica);
  /* The terminal event settled the operation. */
  expect_status(op, "done", "");

  /* Resume after the 50th event: 51..100 and the terminal one replayed, then new ones
   * live, each once. */
  mp_rpc_stream *r = watch(ch_b, last - 50, op);
  int64_t after = expect_events(r, op, 50, 50, last - 50);
  assert_int_equal(after, last);
  assert_int_equal(expect_end(r, op, false, after), end);
  char *op2 = apply("emit", "10", MP_RPC_OK);
  mp_rpc_stream *r2 = watch(ch_a, end, NULL);
  expect_end(r2, op2, false, expect_events(r2, op2, 0, 10, end));
  expect_status(op2, "done", "");
  mp_rpc_stream_free(r);
  mp_rpc_stream_free(r2);
  mp_free(op);
  mp_free(op2);
}

/* A failed operation ends with a terminal ERROR, which settles it as failed; an operation
 * of an adapter that marks no end ("burst") stays submitted. */
static void test_operation_status(void **state) {
  wait_adapter(ch_a, MESHPLANE__V1__HEALTH__HEALTH_SERVING);
  mp_rpc_stream *w = watch(ch_a, 0, NULL);
  mp_sleep_ms(300);
  char *failed = apply("fail", "", MP_RPC_OK);
  expect_end(w, failed, true, 0);
  expect_status(failed, "failed", "failed on purpose");
  char *burst = apply("burst", "3 1000", MP_RPC_OK);
  expect_events(w, burst, 0, 3, 0);
  expect_status(burst, "submitted", "");
  char *ok = apply("emit", "0", MP_RPC_OK);
  expect_end(w, ok, false, 0);
  expect_status(ok, "done", "");
  expect_status(burst, "submitted", ""); /* still: it never said it ended */
  /* An adapter that names the operation itself: the row follows its id. */
  char *own = apply("ownid", "", MP_RPC_OK);
  assert_true(mp_uuid_valid(own));
  expect_status(own, "done", ""); /* its terminal event comes 300 ms after the reply */
  mp_free(own);
  mp_rpc_stream_free(w);
  mp_free(failed);
  mp_free(burst);
  mp_free(ok);
}

static void test_operation_errors(void **state) {
  char *msg = apply("dance", "", MP_RPC_INVALID_ARGUMENT);
  assert_non_null(strstr(msg, "valid keys are emit, burst, ownid, fail"));
  mp_free(msg);
  Meshplane__V1__ApplyOperationRequest req = MESHPLANE__V1__APPLY_OPERATION_REQUEST__INIT;
  req.adapter = "nosuchmesh";
  req.op_name = "emit";
  mp_rpc_status st;
  assert_int_equal(call(ch_a, "ApplyOperation", &req.base, NULL, &st), MP_RPC_NOT_FOUND);
  assert_non_null(strstr(st.message, "RegisterAdapter"));
}

static void test_adapter_restart(void **state) {
  wait_adapter(ch_a, MESHPLANE__V1__HEALTH__HEALTH_SERVING);
  char listen[128];
  mp_strlcpy(listen, adapter.addr, sizeof listen);
  mp_proc_stop(&adapter, SIGKILL, 5000);
  /* While it is gone: UNAVAILABLE naming the address. */
  char *msg = apply("emit", "1", MP_RPC_UNAVAILABLE);
  assert_non_null(strstr(msg, listen));
  mp_free(msg);
  wait_adapter(ch_a, MESHPLANE__V1__HEALTH__HEALTH_UNREACHABLE);
  /* Back on the same address: found again without restarting the server. */
  assert_true(start_adapter(listen));
  wait_adapter(ch_a, MESHPLANE__V1__HEALTH__HEALTH_SERVING);
  mp_rpc_stream *w = watch(ch_b, 0, NULL);
  mp_sleep_ms(300);
  char *op = apply("emit", "5", MP_RPC_OK);
  expect_end(w, op, false, expect_events(w, op, 0, 5, 0));
  mp_rpc_stream_free(w);
  mp_free(op);
}

static void test_nats_outage(void **state) {
  wait_adapter(ch_a, MESHPLANE__V1__HEALTH__HEALTH_SERVING);
  mp_rpc_stream *w = watch(ch_b, 0, NULL);
  mp_sleep_ms(300);
  mp_services_cmd("nats-stop");
  char *op = apply("emit", "100", MP_RPC_OK);
  mp_sleep_ms(500); /* stored, not yet published */
  mp_services_cmd("nats-start");
  /* All 100 and the terminal one, in order, once NATS is back. */
  expect_end(w, op, false, expect_events(w, op, 0, 100, 0));
  mp_rpc_stream_free(w);
  mp_free(op);
}

int main(void) {
  mp_rpc_init();
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_operation_events_and_resume),
      cmocka_unit_test(test_operation_status),
      cmocka_unit_test(test_operation_errors),
      cmocka_unit_test(test_adapter_restart),
      cmocka_unit_test(test_nats_outage),
  };
  int rc = cmocka_run_group_tests(tests, setup, teardown);
  mp_rpc_shutdown();
  return rc;
}
