/* Distributed runs end to end: meshplane-server, two meshplane-loadgen workers, a real
 * HTTP target (lg_target), a private PostgreSQL. The merged result is checked against
 * the workers' own histograms and the target's request count; a worker killed mid-run
 * gives PARTIAL; CancelRun cancels; a watcher that leaves does not; no worker -> FAILED. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "meshplane/hdr.h"
#include "meshplane/rpc.h"
#include "meshplane/v1/loadgen.pb-c.h"
#include "meshplane/v1/server.pb-c.h"
#include "testenv.h"
#include "testproc.h"

#define API (&meshplane__v1__meshplane__descriptor)

static char *db;
static mp_proc target, workers[2], server;
static char target_url[64], worker_addr[2][64];
static mp_rpc_channel *ch;

static bool start_worker(int i) {
  snprintf(worker_addr[i], sizeof worker_addr[i], "127.0.0.1:%d", mp_free_port());
  const char *argv[] = {LOADGEN_BIN,   "serve", "--listen", worker_addr[i],
                        "--log-level", "warn",  NULL};
  return mp_proc_start_opts(&workers[i], argv, false, 0) && mp_wait_tcp(worker_addr[i], 10000);
}

static int setup(void **state) {
  db = mp_testenv_fresh_db("runs");
  const char *targv[] = {TARGET_BIN, "--port", "0", NULL};
  char port[16];
  if (!mp_proc_start_opts(&target, targv, false, 0) ||
      !mp_proc_log_value(&target, "port", port, sizeof port, 10000))
    return -1;
  snprintf(target_url, sizeof target_url, "http://127.0.0.1:%s/", port);
  if (!start_worker(0) || !start_worker(1)) return -1;
  char list[160];
  snprintf(list, sizeof list, "%s,%s", worker_addr[0], worker_addr[1]);
  const char *argv[] = {MP_BIN_DIR "/meshplane-server",
                        "--listen",
                        "127.0.0.1:0",
                        "--database",
                        db,
                        "--workers",
                        list,
                        "--log-level",
                        "warn",
                        NULL};
  if (!mp_proc_start(&server, argv, 20000)) return -1;
  return mp_rpc_channel_new(server.addr, NULL, &ch) == MP_OK ? 0 : -1;
}

static int teardown(void **state) {
  mp_rpc_channel_free(ch);
  int rc = mp_proc_stop(&server, SIGTERM, 20000);
  for (int i = 0; i < 2; i++)
    if (workers[i].pid) mp_proc_stop(&workers[i], SIGTERM, 10000);
  mp_proc_stop(&target, SIGTERM, 5000);
  mp_free(db);
  return rc == 0 ? 0 : -1;
}

static mp_rpc_code call(const char *method, const ProtobufCMessage *req, ProtobufCMessage **resp,
                        mp_rpc_status *st) {
  mp_rpc_call_opts o = {.timeout_ms = 20000};
  ProtobufCMessage *dummy = NULL;
  mp_rpc_code c = mp_rpc_unary(ch, API, method, req, resp ? resp : &dummy, &o, st);
  if (dummy) protobuf_c_message_free_unpacked(dummy, NULL);
  return c;
}

static char *make_profile(const char *name, double qps, int conns, const char *duration) {
  Meshplane__V1__PerformanceProfile p = MESHPLANE__V1__PERFORMANCE_PROFILE__INIT;
  char *eps[] = {target_url};
  p.name = (char *)name;
  p.endpoints = eps;
  p.n_endpoints = 1;
  p.qps = qps;
  p.concurrent_request = conns;
  p.duration = (char *)duration;
  Meshplane__V1__CreateProfileRequest req = MESHPLANE__V1__CREATE_PROFILE_REQUEST__INIT;
  req.profile = &p;
  ProtobufCMessage *resp;
  mp_rpc_status st;
  if (call("CreateProfile", &req.base, &resp, &st) != MP_RPC_OK) fail_msg("%s", st.message);
  char *id = mp_strdup(((Meshplane__V1__PerformanceProfile *)resp)->id);
  protobuf_c_message_free_unpacked(resp, NULL);
  return id;
}

static void wait_workers(unsigned n) {
  for (int i = 0; i < 200; i++) {
    Meshplane__V1__StatusRequest req = MESHPLANE__V1__STATUS_REQUEST__INIT;
    ProtobufCMessage *resp;
    mp_rpc_status st;
    assert_int_equal(call("GetStatus", &req.base, &resp, &st), MP_RPC_OK);
    unsigned healthy = ((Meshplane__V1__StatusResponse *)resp)->workers_healthy;
    protobuf_c_message_free_unpacked(resp, NULL);
    if (healthy == n) return;
    mp_sleep_ms(50);
  }
  fail_msg("the server never saw %u healthy workers", n);
}

/* Runs a profile through RunProfile; returns the result (the caller frees), counts the
 * progress messages and gives the last one's cumulative request count (which must never
 * go back). */
static Meshplane__V1__Result *run_profile(const char *profile_id, int *progress,
                                          uint64_t *last_requests) {
  *last_requests = 0;
  Meshplane__V1__RunProfileRequest req = MESHPLANE__V1__RUN_PROFILE_REQUEST__INIT;
  req.profile_id = (char *)profile_id;
  mp_rpc_stream *s;
  mp_rpc_status st;
  mp_rpc_call_opts o = {.timeout_ms = 60000};
  assert_int_equal(mp_rpc_stream_open(ch, API, "RunProfile", &req.base, &o, &s, &st), MP_RPC_OK);
  Meshplane__V1__Result *result = NULL;
  bool saw_run = false;
  *progress = 0;
  ProtobufCMessage *m;
  while (mp_rpc_stream_next(s, &m, &st)) {
    Meshplane__V1__RunUpdate *u = (Meshplane__V1__RunUpdate *)m;
    if (u->update_case == MESHPLANE__V1__RUN_UPDATE__UPDATE_RUN) saw_run = true;
    if (u->update_case == MESHPLANE__V1__RUN_UPDATE__UPDATE_PROGRESS) {
      assert_true(saw_run);
      assert_string_equal(u->progress->worker, "all");
      assert_true(u->progress->requests >= *last_requests);
      *last_requests = u->progress->requests;
      (*progress)++;
    }
    if (u->update_case == MESHPLANE__V1__RUN_UPDATE__UPDATE_RESULT) {
      result = u->result;
      u->result = NULL;
    }
    protobuf_c_message_free_unpacked(m, NULL);
  }
  if (st.code != MP_RPC_OK) fail_msg("RunProfile ended with %s", st.message);
  mp_rpc_stream_free(s);
  assert_true(saw_run);
  return result;
}

/* GetStatus of a server without --nats: the database is up, NATS is not in use. */
static void test_status(void **state) {
  (void)state;
  Meshplane__V1__StatusRequest req = MESHPLANE__V1__STATUS_REQUEST__INIT;
  ProtobufCMessage *resp;
  mp_rpc_status st;
  assert_int_equal(call("GetStatus", &req.base, &resp, &st), MP_RPC_OK);
  Meshplane__V1__StatusResponse *r = (Meshplane__V1__StatusResponse *)resp;
  assert_true(r->database_ok);
  assert_false(r->nats_ok);
  assert_string_equal(r->version, MESHPLANE_VERSION);
  assert_true(r->uptime_ms >= 0);
  protobuf_c_message_free_unpacked(resp, NULL);
}

static void test_two_worker_run(void **state) {
  wait_workers(2);
  char *pid = make_profile("two workers", 400, 4, "2s");
  int progress;
  uint64_t last_requests;
  Meshplane__V1__Result *r = run_profile(pid, &progress, &last_requests);
  assert_non_null(r);
  assert_int_equal(r->status, MESHPLANE__V1__RUN_STATUS__RUN_STATUS_COMPLETED);
  assert_int_equal(r->n_workers, 2);
  assert_int_equal(r->n_shares, 2);
  assert_true(progress >= 1);
  /* 400/s for 2 s over two workers: each asked for 200/s. */
  assert_true(r->requests > 700 && r->requests < 900);
  /* The last aggregate covers both workers to the end (it once had only the first to end). */
  assert_true(last_requests >= r->requests * 9 / 10 && last_requests <= r->requests);
  assert_true(r->actual_qps > 360 && r->actual_qps < 440);
  for (size_t i = 0; i < 2; i++) {
    assert_true(r->shares[i]->requested_qps == 200);
    assert_int_equal(r->shares[i]->connections, 2);
  }
  /* The merged histogram is exactly the sum of the workers' histograms. */
  mp_hdr *merged, *sum = mp_hdr_new_latency(3);
  assert_int_equal(
      mp_hdr_decode_base64(r->latency->histogram, strlen(r->latency->histogram), &merged), MP_OK);
  uint64_t reqs = 0;
  for (size_t i = 0; i < r->n_shares; i++) {
    mp_hdr *h;
    const char *enc = r->shares[i]->latency->histogram;
    assert_int_equal(mp_hdr_decode_base64(enc, strlen(enc), &h), MP_OK);
    assert_int_equal(mp_hdr_count(h), r->shares[i]->requests);
    mp_hdr_add(sum, h);
    mp_hdr_free(h);
    reqs += r->shares[i]->requests;
  }
  assert_true(mp_hdr_equal(sum, merged));
  assert_int_equal(reqs, r->requests);
  assert_int_equal(mp_hdr_count(merged), r->requests);
  assert_int_equal(r->latency->count, r->requests);
  /* The stored result is the same one. */
  Meshplane__V1__GetResultRequest g = MESHPLANE__V1__GET_RESULT_REQUEST__INIT;
  g.id = r->id;
  ProtobufCMessage *resp;
  mp_rpc_status st;
  if (call("GetResult", &g.base, &resp, &st) == MP_RPC_OK) {
    assert_int_equal(((Meshplane__V1__Result *)resp)->requests, r->requests);
    protobuf_c_message_free_unpacked(resp, NULL);
  }
  mp_hdr_free(merged);
  mp_hdr_free(sum);
  protobuf_c_message_free_unpacked(&r->base, NULL);
  mp_free(pid);
}

/* A worker that is busy when a run starts (still winding down a cancelled run, say)
 * refuses with RESOURCE_EXHAUSTED; the server asks it again, so the run gets both. */
static void test_busy_worker_is_asked_again(void **state) {
  wait_workers(2);
  mp_rpc_channel *wch;
  assert_int_equal(mp_rpc_channel_new(worker_addr[0], NULL, &wch), MP_OK);
  char *eps[] = {target_url};
  Meshplane__V1__LoadSpec spec = MESHPLANE__V1__LOAD_SPEC__INIT;
  spec.run_id = "00000000-0000-4000-8000-000000000001";
  spec.endpoints = eps;
  spec.n_endpoints = 1;
  spec.qps = 50;
  spec.connections = 1;
  spec.duration_ms = 1000;
  spec.progress_interval_ms = 200;
  Meshplane__V1__RunRequest req = MESHPLANE__V1__RUN_REQUEST__INIT;
  req.spec = &spec;
  mp_rpc_stream *busy;
  mp_rpc_status st;
  assert_int_equal(mp_rpc_stream_open(wch, &meshplane__v1__load_generator__descriptor, "Run",
                                      &req.base, NULL, &busy, &st),
                   MP_RPC_OK);
  ProtobufCMessage *m;
  assert_true(mp_rpc_stream_next(busy, &m, &st)); /* the worker is at it */
  protobuf_c_message_free_unpacked(m, NULL);
  char *pid = make_profile("busy worker", 100, 2, "1s");
  int progress;
  uint64_t last_requests;
  Meshplane__V1__Result *r = run_profile(pid, &progress, &last_requests);
  assert_non_null(r);
  if (r->status != MESHPLANE__V1__RUN_STATUS__RUN_STATUS_COMPLETED || r->n_shares != 2)
    fail_msg("with a busy worker: status %d, %zu shares, error \"%s\"", r->status, r->n_shares,
             r->error);
  protobuf_c_message_free_unpacked(&r->base, NULL);
  while (mp_rpc_stream_next(busy, &m, &st)) protobuf_c_message_free_unpacked(m, NULL);
  mp_rpc_stream_free(busy);
  mp_rpc_channel_free(wch);
  mp_free(pid);
}

static void test_watcher_leaves_cancel_and_kill(void **state) {
  wait_workers(2);
  char *pid = make_profile("long", 100, 2, "3s");
  /* A watcher that goes away does not cancel the run. */
  Meshplane__V1__StartRunRequest sr = MESHPLANE__V1__START_RUN_REQUEST__INIT;
  sr.profile_id = pid;
  ProtobufCMessage *resp;
  mp_rpc_status st;
  assert_int_equal(call("StartRun", &sr.base, &resp, &st), MP_RPC_OK);
  char *run_id = mp_strdup(((Meshplane__V1__Run *)resp)->id);
  protobuf_c_message_free_unpacked(resp, NULL);
  Meshplane__V1__WatchRunRequest wr = MESHPLANE__V1__WATCH_RUN_REQUEST__INIT;
  wr.run_id = run_id;
  mp_rpc_stream *w;
  assert_int_equal(mp_rpc_stream_open(ch, API, "WatchRun", &wr.base, NULL, &w, &st), MP_RPC_OK);
  ProtobufCMessage *m;
  assert_true(mp_rpc_stream_next(w, &m, &st));
  protobuf_c_message_free_unpacked(m, NULL);
  mp_rpc_stream_free(w); /* gone */
  Meshplane__V1__GetRunRequest gr = MESHPLANE__V1__GET_RUN_REQUEST__INIT;
  gr.run_id = run_id;
  Meshplane__V1__RunStatus status = 0;
  for (int i = 0; i < 200; i++) {
    assert_int_equal(call("GetRun", &gr.base, &resp, &st), MP_RPC_OK);
    status = ((Meshplane__V1__Run *)resp)->status;
    protobuf_c_message_free_unpacked(resp, NULL);
    if (status != MESHPLANE__V1__RUN_STATUS__RUN_STATUS_RUNNING &&
        status != MESHPLANE__V1__RUN_STATUS__RUN_STATUS_PENDING)
      break;
    mp_sleep_ms(50);
  }
  if (status != MESHPLANE__V1__RUN_STATUS__RUN_STATUS_COMPLETED)
    fail_msg("a run whose watcher left ended %d, not COMPLETED", status);
  mp_free(run_id);

  /* CancelRun does cancel. */
  assert_int_equal(call("StartRun", &sr.base, &resp, &st), MP_RPC_OK);
  run_id = mp_strdup(((Meshplane__V1__Run *)resp)->id);
  protobuf_c_message_free_unpacked(resp, NULL);
  mp_sleep_ms(700);
  Meshplane__V1__CancelRunRequest cr = MESHPLANE__V1__CANCEL_RUN_REQUEST__INIT;
  cr.run_id = run_id;
  assert_int_equal(call("CancelRun", &cr.base, &resp, &st), MP_RPC_OK);
  assert_int_equal(((Meshplane__V1__Run *)resp)->status,
                   MESHPLANE__V1__RUN_STATUS__RUN_STATUS_CANCELLED);
  protobuf_c_message_free_unpacked(resp, NULL);
  assert_int_equal(call("CancelRun", &cr.base, NULL, &st), MP_RPC_FAILED_PRECONDITION);
  mp_free(run_id);

  /* A worker killed mid-run: PARTIAL, with the other worker's data and the reason. */
  Meshplane__V1__RunProfileRequest rp = MESHPLANE__V1__RUN_PROFILE_REQUEST__INIT;
  rp.profile_id = pid;
  mp_rpc_stream *s;
  assert_int_equal(mp_rpc_stream_open(ch, API, "RunProfile", &rp.base, NULL, &s, &st), MP_RPC_OK);
  mp_sleep_ms(1200);
  mp_proc_stop(&workers[1], SIGKILL, 5000);
  Meshplane__V1__Result *res = NULL;
  while (mp_rpc_stream_next(s, &m, &st)) {
    Meshplane__V1__RunUpdate *u = (Meshplane__V1__RunUpdate *)m;
    if (u->update_case == MESHPLANE__V1__RUN_UPDATE__UPDATE_RESULT) {
      res = u->result;
      u->result = NULL;
    }
    protobuf_c_message_free_unpacked(m, NULL);
  }
  mp_rpc_stream_free(s);
  if (!res) fail_msg("no result after a worker was killed: %s", st.message);
  if (res->status != MESHPLANE__V1__RUN_STATUS__RUN_STATUS_PARTIAL ||
      !strstr(res->error, worker_addr[1]) || res->n_shares != 1 || res->requests < 60)
    fail_msg("after killing %s: status %d error \"%s\" shares %zu requests %llu", worker_addr[1],
             res->status, res->error, res->n_shares, (unsigned long long)res->requests);
  protobuf_c_message_free_unpacked(&res->base, NULL);
  mp_free(pid);
}

static void test_no_worker(void **state) {
  mp_proc_stop(&workers[0], SIGTERM, 10000);
  wait_workers(0);
  char *pid = make_profile("nobody", 10, 1, "1s");
  int progress;
  Meshplane__V1__RunProfileRequest rp = MESHPLANE__V1__RUN_PROFILE_REQUEST__INIT;
  rp.profile_id = pid;
  (void)progress;
  mp_rpc_stream *s;
  mp_rpc_status st;
  assert_int_equal(mp_rpc_stream_open(ch, API, "RunProfile", &rp.base, NULL, &s, &st), MP_RPC_OK);
  ProtobufCMessage *m;
  while (mp_rpc_stream_next(s, &m, &st)) protobuf_c_message_free_unpacked(m, NULL);
  mp_rpc_stream_free(s);
  Meshplane__V1__ListRunsRequest lr = MESHPLANE__V1__LIST_RUNS_REQUEST__INIT;
  lr.profile_id = pid;
  ProtobufCMessage *resp;
  assert_int_equal(call("ListRuns", &lr.base, &resp, &st), MP_RPC_OK);
  Meshplane__V1__ListRunsResponse *l = (Meshplane__V1__ListRunsResponse *)resp;
  assert_int_equal(l->n_runs, 1);
  assert_int_equal(l->runs[0]->status, MESHPLANE__V1__RUN_STATUS__RUN_STATUS_FAILED);
  assert_non_null(strstr(l->runs[0]->error, "no healthy loadgen worker"));
  protobuf_c_message_free_unpacked(resp, NULL);
  mp_free(pid);
}

int main(void) {
  mp_rpc_init();
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_status),
      cmocka_unit_test(test_two_worker_run),
      cmocka_unit_test(test_busy_worker_is_asked_again),
      cmocka_unit_test(test_watcher_leaves_cancel_and_kill),
      cmocka_unit_test(test_no_worker),
  };
  int rc = cmocka_run_group_tests(tests, setup, teardown);
  mp_rpc_shutdown();
  return rc;
}
