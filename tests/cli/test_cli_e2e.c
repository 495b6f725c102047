/* meshctl end to end, as a new user would drive it: a real meshplane-server on a private
 * PostgreSQL (and NATS), a test adapter, loadgen workers, and the meshctl binary for
 * everything. Workers are real `meshplane-loadgen serve` processes loading lg_target when
 * that binary serves; until then mp_test_loadgen stands in (same API, synthetic latencies),
 * so runs, results, compare, export and the report are covered either way. Before any
 * worker exists, a run must fail with "no healthy loadgen worker" and exit status 5. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "clitest.h"
#include "testenv.h"
#include "testproc.h"

#define SERVER_BIN MP_BIN_DIR "/meshplane-server"
#define M MESHCTL_BIN

static char *db;
static mp_proc adapter, server, workers[2], target;
static bool real_workers;
static char worker_list[160], url_base[256], url_cand[256], dir[64];
static char base_id[40], cand_id[40];

/* Stops the server. Its exit status is the server's tests' business (under ASan it reports
 * leaks of its run path at exit): a non-zero one is printed, not failed on, here. */
static void stop_server(void) {
  int st = mp_proc_stop(&server, SIGTERM, 20000);
  if (st != 0)
    fprintf(stderr, "WARNING: meshplane-server exited with status 0x%x on SIGTERM\n", (unsigned)st);
  memset(&server, 0, sizeof server);
}

static bool start_server(const char *workers_arg, const char *token) {
  const char *argv[24] = {SERVER_BIN,
                          "--listen",
                          "127.0.0.1:0",
                          "--database",
                          db,
                          "--nats",
                          mp_testenv("MP_NATS_URL"),
                          "--adapters",
                          adapter.addr,
                          "--log-level",
                          "warn"};
  int n = 11;
  /* --workers takes one address per flag (only the environment splits on commas). */
  char list[160];
  snprintf(list, sizeof list, "%s", workers_arg ? workers_arg : "");
  for (char *save = NULL, *w = strtok_r(list, ",", &save); w && n < 20;
       w = strtok_r(NULL, ",", &save)) {
    argv[n++] = "--workers";
    argv[n++] = w;
  }
  if (token) {
    argv[n++] = "--token";
    argv[n++] = token;
  }
  argv[n] = NULL;
  if (!mp_proc_start(&server, argv, 20000)) return false;
  setenv("MESHPLANE_SERVER", server.addr, 1);
  return true;
}

/* Real workers when meshplane-loadgen serves; the stand-in otherwise. */
static bool start_workers(void) {
#ifdef LOADGEN_BIN
  const char *targv[] = {TARGET_BIN, "--port", "0", NULL};
  char port[16];
  if (mp_proc_start_opts(&target, targv, false, 0) &&
      mp_proc_log_value(&target, "port", port, sizeof port, 10000)) {
    real_workers = true;
    for (int i = 0; i < 2 && real_workers; i++) {
      char addr[64];
      snprintf(addr, sizeof addr, "127.0.0.1:%d", mp_free_port());
      const char *argv[] = {LOADGEN_BIN, "serve", "--listen", addr, "--log-level", "warn", NULL};
      real_workers = mp_proc_start_opts(&workers[i], argv, false, 0) && mp_wait_tcp(addr, 5000);
      if (real_workers)
        snprintf(worker_list + strlen(worker_list), sizeof worker_list - strlen(worker_list),
                 "%s%s", i ? "," : "", addr);
    }
    if (real_workers) {
      snprintf(url_base, sizeof url_base, "http://127.0.0.1:%s/", port);
      snprintf(url_cand, sizeof url_cand, "http://127.0.0.1:%s/cand", port);
      return true;
    }
    fprintf(stderr, "meshplane-loadgen serve is not available yet: using mp_test_loadgen\n");
    for (int i = 0; i < 2; i++)
      if (workers[i].pid) mp_proc_stop(&workers[i], SIGKILL, 5000);
    memset(workers, 0, sizeof workers);
    worker_list[0] = '\0';
  }
#endif
  for (int i = 0; i < 2; i++) {
    const char *argv[] = {FAKE_LOADGEN, "--listen", "127.0.0.1:0", NULL};
    if (!mp_proc_start(&workers[i], argv, 10000)) return false;
    snprintf(worker_list + strlen(worker_list), sizeof worker_list - strlen(worker_list), "%s%s",
             i ? "," : "", workers[i].addr);
  }
  snprintf(url_base, sizeof url_base, "http://127.0.0.1:9/?latency_us=1000");
  snprintf(url_cand, sizeof url_cand, "http://127.0.0.1:9/?latency_us=1600&error_per_mille=5");
  return true;
}

static int setup(void **state) {
  setenv("TZ", "UTC", 1);
  db = mp_testenv_fresh_db("meshctl");
  snprintf(dir, sizeof dir, "/tmp/mctl-e2e-XXXXXX");
  if (!mkdtemp(dir)) return -1;
  const char *aargv[] = {TEST_ADAPTER, "--listen", "127.0.0.1:0", "--mesh", "testmesh", NULL};
  if (!mp_proc_start(&adapter, aargv, 10000)) return -1;
  return start_server(NULL, NULL) ? 0 : -1; /* no workers yet */
}

static int teardown(void **state) {
  if (server.pid) stop_server();
  for (int i = 0; i < 2; i++)
    if (workers[i].pid) mp_proc_stop(&workers[i], SIGTERM, 10000);
  if (target.pid) mp_proc_stop(&target, SIGTERM, 5000);
  mp_proc_stop(&adapter, SIGTERM, 10000);
  char *rm = mp_asprintf("rm -rf '%s'", dir);
  if (system(rm) != 0) fprintf(stderr, "could not remove %s\n", dir);
  mp_free(rm);
  mp_free(db);
  return 0;
}

/* Asserts the exit status, printing the output when it is not the expected one. */
#define EXPECT_RC(r, want)                                                                         \
  do {                                                                                             \
    if ((r).rc != (want))                                                                          \
      fail_msg("exit status %d, want %d\nstdout:\n%s\nstderr:\n%s", (r).rc, (want), (r).out.data,  \
               (r).err.data);                                                                      \
  } while (0)
#define EXPECT_IN(hay, needle)                                                                     \
  do {                                                                                             \
    if (!strstr((hay), (needle))) fail_msg("\"%s\" not in:\n%s", (needle), (hay));                 \
  } while (0)

/* The value of the first `"key": "` string after `after` in JSON text, into out. */
static void json_str_after(const char *text, const char *key, char *out, size_t n) {
  char pat[64];
  snprintf(pat, sizeof pat, "\"%s\": \"", key);
  const char *p = strstr(text, pat);
  if (!p) fail_msg("no %s in:\n%s", key, text);
  p += strlen(pat);
  size_t len = strcspn(p, "\"");
  snprintf(out, n, "%.*s", (int)(len < n ? len : n - 1), p);
}

static void test_run_without_worker(void **state) {
  cli_result r;
  cli_run(&r, 60, M, "perf", "apply", "lonely", "--url", "http://127.0.0.1:9/", "--qps", "10",
          "--duration", "1s", NULL);
  EXPECT_RC(r, 5);
  EXPECT_IN(r.out.data, "profile lonely created");
  EXPECT_IN(r.err.data, "FAILED: no healthy loadgen worker");
  cli_result_free(&r);
  /* -o json: the run, as JSON on stdout; progress and notes on stderr. */
  cli_run(&r, 60, M, "perf", "apply", "lonely", "-o", "json", NULL);
  EXPECT_RC(r, 5);
  EXPECT_IN(r.out.data, "\"status\": \"RUN_STATUS_FAILED\"");
  assert_int_equal(r.out.data[0], '{');
  cli_result_free(&r);
  cli_run(&r, 60, M, "system", "status", NULL);
  EXPECT_RC(r, 0);
  EXPECT_IN(r.out.data, "No loadgen workers");
  cli_result_free(&r);
  /* The health check that container images use: the server and its API service. */
  cli_run(&r, 30, M, "health", NULL);
  EXPECT_RC(r, 0);
  EXPECT_IN(r.out.data, "SERVING");
  cli_result_free(&r);
  cli_run(&r, 30, M, "health", "--service", "meshplane.v1.Meshplane", NULL);
  EXPECT_RC(r, 0);
  cli_result_free(&r);
  cli_run(&r, 30, M, "health", "--service", "no.such.Service", NULL);
  EXPECT_RC(r, 3);
  cli_result_free(&r);
  /* Now the workers: restart the server with them. */
  stop_server();
  assert_true(start_workers());
  assert_true(start_server(worker_list, NULL));
  for (int i = 0; i < 100; i++) {
    cli_run(&r, 30, M, "system", "status", "-o", "json", NULL);
    bool ready = r.rc == 0 && strstr(r.out.data, "\"workers_healthy\": 2");
    cli_result_free(&r);
    if (ready) return;
    mp_sleep_ms(200);
  }
  fail_msg("the server never saw 2 healthy workers");
}

static void test_apply_and_results(void **state) {
  cli_result r;
  cli_run(&r, 120, M, "perf", "apply", "base", "--url", url_base, "--mesh", "none", "--qps", "400",
          "--concurrent-requests", "4", "--duration", "3s", "-H", "X-Test: 1",
          "--header=Accept: text/plain, */*", NULL);
  EXPECT_RC(r, 0);
  EXPECT_IN(r.out.data, "profile base created");
  EXPECT_IN(r.out.data, "req/s"); /* plain progress lines: stdout is not a terminal */
  EXPECT_IN(r.out.data, "COMPLETED");
  EXPECT_IN(r.out.data, "P99.9");
  cli_result_free(&r);
  /* The candidate from an SMP file, the mesh from its labels. */
  char *smp = mp_asprintf("%s/candidate.yaml", dir);
  FILE *f = fopen(smp, "w");
  fprintf(f,
          "name: candidate\nduration: 3s\nlabels:\n  mesh: nginx\nclients:\n"
          "  - load_generator: meshplane\n    connections: 4\n    rps: 400\n"
          "    headers:\n      X-Test: \"2\"\n    endpoint_urls:\n      - \"%s\"\n",
          url_cand);
  fclose(f);
  cli_run(&r, 120, M, "perf", "apply", "-f", smp, "-q", NULL);
  EXPECT_RC(r, 0);
  EXPECT_IN(r.out.data, "profile candidate created");
  assert_null(strstr(r.out.data, "req/s  ")); /* -q: no progress */
  cli_result_free(&r);
  mp_free(smp);
  /* Update: only what is passed changes. */
  cli_run(&r, 60, M, "perf", "apply", "candidate", "--qps", "300", "--no-run", NULL);
  EXPECT_RC(r, 0);
  EXPECT_IN(r.out.data, "profile candidate updated");
  cli_result_free(&r);
  cli_run(&r, 30, M, "perf", "profile", "candidate", "-o", "json", NULL);
  EXPECT_RC(r, 0);
  EXPECT_IN(r.out.data, "\"service_mesh\": \"nginx\"");
  EXPECT_IN(r.out.data, "\"qps\": 300");
  EXPECT_IN(r.out.data, "\"concurrent_request\": 4");
  EXPECT_IN(r.out.data, "\"X-Test: 2\"");
  cli_result_free(&r);
  cli_run(&r, 30, M, "perf", "profile", "base", "-o", "yaml", NULL);
  EXPECT_RC(r, 0);
  EXPECT_IN(r.out.data, "request_headers:\n  - \"X-Test: 1\"\n  - \"Accept: text/plain, */*\"\n");
  cli_result_free(&r);
  cli_run(&r, 30, M, "perf", "profile", NULL);
  EXPECT_RC(r, 0);
  EXPECT_IN(r.out.data, "NAME");
  EXPECT_IN(r.out.data, "base");
  EXPECT_IN(r.out.data, "candidate");
  EXPECT_IN(r.out.data, "lonely");
  cli_result_free(&r);
  cli_run(&r, 30, M, "perf", "profile", "cand", NULL); /* a search */
  EXPECT_RC(r, 0);
  assert_null(strstr(r.out.data, "lonely"));
  cli_result_free(&r);
  /* Results: table, JSON (ids), a view by id prefix. */
  cli_run(&r, 30, M, "perf", "result", "base", NULL);
  EXPECT_RC(r, 0);
  EXPECT_IN(r.out.data, "MESH");
  EXPECT_IN(r.out.data, "P99.9");
  EXPECT_IN(r.out.data, "START-TIME");
  assert_int_equal(cli_count(r.out.data, "\n"), 2);
  cli_result_free(&r);
  cli_run(&r, 30, M, "perf", "result", "base", "-o", "json", NULL);
  EXPECT_RC(r, 0);
  json_str_after(r.out.data, "id", base_id, sizeof base_id);
  cli_result_free(&r);
  cli_run(&r, 30, M, "perf", "result", "candidate", "-o", "yaml", "--limit", "1", NULL);
  EXPECT_RC(r, 0);
  EXPECT_IN(r.out.data, "results:\n  - id: \"");
  snprintf(cand_id, sizeof cand_id, "%.36s", strstr(r.out.data, "- id: \"") + 7);
  cli_result_free(&r);
  char prefix[16];
  snprintf(prefix, sizeof prefix, "%.8s", cand_id);
  cli_run(&r, 30, M, "perf", "result", prefix, NULL);
  EXPECT_RC(r, 0);
  EXPECT_IN(r.out.data, cand_id);
  EXPECT_IN(r.out.data, "RET-CODE");
  cli_result_free(&r);
  cli_run(&r, 30, M, "perf", "result", "nosuchprofile", NULL);
  EXPECT_RC(r, 3);
  cli_result_free(&r);
}

static void test_compare(void **state) {
  cli_result r;
  cli_run(&r, 60, M, "perf", "compare", base_id, cand_id, NULL);
  EXPECT_RC(r, 0);
  EXPECT_IN(r.out.data, "VERDICT");
  EXPECT_IN(r.out.data, "p99.9");
  EXPECT_IN(r.out.data, "95% CI");
  if (!real_workers) EXPECT_IN(r.out.data, "SLOWER"); /* 1.6 ms vs 1 ms */
  cli_result_free(&r);
  cli_run(&r, 60, M, "perf", "compare", base_id, cand_id, "-o", "json", "-p", "50", NULL);
  EXPECT_RC(r, 0);
  EXPECT_IN(r.out.data, "\"verdict\": \"VERDICT_");
  assert_int_equal(cli_count(r.out.data, "\"percentile\""), 1);
  cli_result_free(&r);
  if (!real_workers) {
    cli_run(&r, 60, M, "perf", "compare", base_id, cand_id, "--fail-on-slower", NULL);
    EXPECT_RC(r, 7);
    cli_result_free(&r);
  }
  cli_run(&r, 60, M, "perf", "compare", base_id, "00000000-0000-4000-8000-000000000000", NULL);
  EXPECT_RC(r, 3);
  cli_result_free(&r);
}

static void test_export(void **state) {
  cli_result r;
  char *fortio = mp_asprintf("%s/base.json", dir);
  cli_run(&r, 30, M, "perf", "export", base_id, "--format", "fortio", "-o", fortio, NULL);
  EXPECT_RC(r, 0);
  cli_result_free(&r);
  char *cmd = mp_asprintf("python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); "
                          "assert d[\"DurationHistogram\"][\"Count\"] > 0, d' %s",
                          fortio);
  assert_int_equal(system(cmd), 0);
  mp_free(cmd);
  mp_free(fortio);
  cli_run(&r, 30, M, "perf", "export", cand_id, "--format", "smp", NULL); /* to stdout */
  EXPECT_RC(r, 0);
  EXPECT_IN(r.out.data, "actual_qps:");
  EXPECT_IN(r.out.data, "latencies:");
  cli_result_free(&r);
  cli_run(&r, 30, M, "perf", "export", base_id, "--format", "hdr", "-o", dir, NULL); /* a dir */
  EXPECT_RC(r, 0);
  char *hlog = mp_asprintf("%s/%s.hlog", dir, base_id);
  FILE *f = fopen(hlog, "r");
  assert_non_null(f);
  char line[256];
  assert_non_null(fgets(line, sizeof line, f));
  EXPECT_IN(line, "Histogram log format version 1.3");
  fclose(f);
  mp_free(hlog);
  cli_result_free(&r);
  cli_run(&r, 30, M, "perf", "export", base_id, "--format", "csv", NULL);
  EXPECT_RC(r, 2);
  cli_result_free(&r);
}

static void test_report(void **state) {
  if (!browser_path())
    fail_msg("chromium is not installed: run scripts/deps.sh (Debian package chromium)");
  char *html = mp_asprintf("%s/report.html", dir), *png = mp_asprintf("%s/report.png", dir);
  cli_result r;
  cli_run(&r, 60, M, "perf", "report", base_id, cand_id, "-o", html, NULL);
  EXPECT_RC(r, 0);
  cli_result_free(&r);
  char *dom = browser_dump_dom(html);
  assert_non_null(dom);
  EXPECT_IN(dom, "<svg id=\"chart-latency\"");
  EXPECT_IN(dom, "<svg id=\"chart-rps\"");
  EXPECT_IN(dom, "<svg id=\"chart-codes\"");
  assert_int_equal(cli_count(dom, "class=\"series\""), 4);
  char want[64];
  snprintf(want, sizeof want, "data-result=\"%s\"", cand_id);
  assert_true(cli_count(dom, want) >= 3);
  EXPECT_IN(dom, "Comparison with the baseline");
  mp_free(dom);
  assert_true(browser_screenshot(html, png, 1000, 1400));
  png_stats ps;
  assert_true(png_read_stats(png, &ps));
  assert_true(ps.non_background > ps.pixels / 50);
  assert_true(ps.colors > 16);
  mp_free(html);
  mp_free(png);
}

static void test_schedule(void **state) {
  cli_result r;
  cli_run(&r, 30, M, "perf", "schedule", "base", "--cron", "0 3 * * *", NULL);
  EXPECT_RC(r, 0);
  EXPECT_IN(r.out.data, "created");
  cli_result_free(&r);
  cli_run(&r, 30, M, "perf", "schedule", "list", "-o", "json", NULL);
  EXPECT_RC(r, 0);
  char id[40];
  json_str_after(r.out.data, "id", id, sizeof id);
  cli_result_free(&r);
  cli_run(&r, 30, M, "perf", "schedule", "list", NULL);
  EXPECT_RC(r, 0);
  EXPECT_IN(r.out.data, "0 3 * * *");
  EXPECT_IN(r.out.data, "base");
  cli_result_free(&r);
  cli_run(&r, 30, M, "perf", "schedule", "base", "--cron", "not a cron", NULL);
  EXPECT_RC(r, 2);
  cli_result_free(&r);
  cli_run(&r, 30, M, "perf", "schedule", "delete", id, NULL);
  EXPECT_RC(r, 0);
  cli_result_free(&r);
  cli_run(&r, 30, M, "perf", "schedule", "list", NULL);
  EXPECT_RC(r, 0);
  assert_null(strstr(r.out.data, "0 3 * * *"));
  cli_result_free(&r);
}

static void test_adapter_and_events(void **state) {
  cli_result r;
  cli_run(&r, 30, M, "adapter", "list", NULL);
  EXPECT_RC(r, 0);
  EXPECT_IN(r.out.data, "testmesh");
  EXPECT_IN(r.out.data, "SERVING");
  cli_result_free(&r);
  cli_run(&r, 30, M, "adapter", "ops", "testmesh", NULL);
  EXPECT_RC(r, 0);
  EXPECT_IN(r.out.data, "emit");
  cli_result_free(&r);
  /* --watch follows the operation's own events as they happen, from its first, and stops at
   * its terminal event (component "operation"), long before --watch-for. */
  char *body = mp_asprintf("%s/body.txt", dir);
  FILE *f = fopen(body, "w");
  fputs("3", f);
  fclose(f);
  int64_t t0 = mp_mono_ns();
  cli_run(&r, 60, M, "adapter", "apply", "testmesh", "emit", "-f", body, "--watch", "--watch-for",
          "30s", NULL);
  int64_t took = mp_mono_ns() - t0;
  EXPECT_RC(r, 0);
  EXPECT_IN(r.out.data, "accepted by testmesh");
  EXPECT_IN(r.out.data, "event 0");
  EXPECT_IN(r.out.data, "event 2");
  assert_int_equal(cli_count(r.out.data, "event "), 3);
  assert_int_equal(cli_count(r.out.data, "emit N events: done"), 1);
  /* The terminal event is the last. */
  assert_null(strstr(strstr(r.out.data, "emit N events: done"), "event "));
  if (took > 15 * MP_NS_PER_S)
    fail_msg("--watch took %.1f s: it did not stop at the end", took / 1e9);
  char op1[40];
  snprintf(op1, sizeof op1, "%.36s", strstr(r.out.data, "operation ") + 10);
  cli_result_free(&r);
  cli_run(&r, 30, M, "adapter", "apply", "testmesh", "fail", "-o", "json", NULL);
  EXPECT_RC(r, 0);
  char op2[40];
  json_str_after(r.out.data, "id", op2, sizeof op2);
  cli_result_free(&r);
  /* Replay from the first event: op1's events (ids 2, 3 after 1), then op2's error. */
  cli_run(&r, 30, M, "events", "watch", "--since", "1", "--operation", op1, "--count", "2", NULL);
  EXPECT_RC(r, 0);
  EXPECT_IN(r.out.data, "event 1");
  EXPECT_IN(r.out.data, "event 2");
  assert_null(strstr(r.out.data, "failed on purpose"));
  cli_result_free(&r);
  cli_run(&r, 30, M, "events", "watch", "--since", "1", "--operation", op2, "--count", "1", NULL);
  EXPECT_RC(r, 0);
  EXPECT_IN(r.out.data, "ERROR");
  EXPECT_IN(r.out.data, "failed on purpose");
  cli_result_free(&r);
  /* --until-done: an operation's events from its first to its terminal one, then the exit
   * status says how it ended. */
  cli_run(&r, 30, M, "events", "watch", "--operation", op1, "--until-done", "-o", "json", NULL);
  EXPECT_RC(r, 0);
  assert_int_equal(cli_count(r.out.data, "\n"), 4); /* 3 events and the terminal one */
  EXPECT_IN(r.out.data, "\"event 0\"");
  EXPECT_IN(strstr(r.out.data, "\"event 2\""), "\"component\":\"operation\"");
  assert_int_equal(cli_count(r.out.data, "\"component\":\"operation\""), 1);
  cli_result_free(&r);
  cli_run(&r, 30, M, "events", "watch", "--operation", op2, "--until-done", NULL);
  EXPECT_RC(r, 1);
  assert_int_equal(cli_count(r.out.data, "failed on purpose"), 1);
  EXPECT_IN(r.err.data, "failed: failed on purpose");
  cli_result_free(&r);
  cli_run(&r, 30, M, "events", "watch", "--until-done", NULL);
  EXPECT_RC(r, 2);
  EXPECT_IN(r.err.data, "--operation");
  cli_result_free(&r);
  cli_run(&r, 30, M, "events", "watch", "--since", "1", "--count", "1", "-o", "json", NULL);
  EXPECT_RC(r, 0);
  assert_int_equal(r.out.data[0], '{');
  assert_int_equal(cli_count(r.out.data, "\n"), 1); /* NDJSON */
  cli_result_free(&r);
  cli_run(&r, 30, M, "events", "watch", "--for", "1s", NULL); /* nothing new: ends cleanly */
  EXPECT_RC(r, 0);
  cli_result_free(&r);
  /* A failed operation: --watch prints its terminal ERROR and exits 1. */
  cli_run(&r, 30, M, "adapter", "apply", "testmesh", "fail", "--watch", NULL);
  EXPECT_RC(r, 1);
  assert_int_equal(cli_count(r.out.data, "failed on purpose"), 1);
  EXPECT_IN(r.err.data, "failed: failed on purpose");
  cli_result_free(&r);
  /* An adapter that marks no end ("burst"): followed until --watch-for, which it says. */
  f = fopen(body, "w");
  fputs("2 100", f);
  fclose(f);
  t0 = mp_mono_ns();
  cli_run(&r, 30, M, "adapter", "apply", "testmesh", "burst", "-f", body, "--watch", "--watch-for",
          "2s", NULL);
  took = mp_mono_ns() - t0;
  EXPECT_RC(r, 0);
  EXPECT_IN(r.out.data, "event 1");
  EXPECT_IN(r.err.data, "no end of operation");
  EXPECT_IN(r.err.data, "within 2s");
  assert_true(took >= 2 * MP_NS_PER_S);
  cli_result_free(&r);
  cli_run(&r, 30, M, "adapter", "apply", "nosuchmesh", "emit", NULL);
  EXPECT_RC(r, 3);
  cli_result_free(&r);
  mp_free(body);
}

static void test_analyze(void **state) {
  char *bad = mp_asprintf("%s/bad.yaml", dir), *good = mp_asprintf("%s/good.yaml", dir);
  FILE *f = fopen(bad, "w");
  fputs("apiVersion: networking.istio.io/v1beta1\nkind: VirtualService\nmetadata:\n"
        "  name: reviews\n  namespace: default\nspec:\n  hosts: [reviews]\n"
        "  gateways: [no-such-gateway]\n  http:\n  - route:\n    - destination:\n"
        "        host: reviews\n",
        f);
  fclose(f);
  f = fopen(good, "w");
  fputs("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata:\n  a: b\n", f);
  fclose(f);
  cli_result r;
  cli_run(&r, 30, M, "analyze", bad, NULL);
#ifdef MESHCTL_HAVE_ANALYZER
  EXPECT_RC(r, 7);
  EXPECT_IN(r.out.data, "IST0101");
  cli_result_free(&r);
  cli_run(&r, 30, M, "analyze", "-o", "json", "--fail-level", "none", bad, good, NULL);
  EXPECT_RC(r, 0);
  EXPECT_IN(r.out.data, "\"findings\"");
  cli_result_free(&r);
  cli_run(&r, 30, M, "analyze", good, NULL);
  EXPECT_RC(r, 0);
  cli_result_free(&r);
  cli_run(&r, 30, M, "analyze", "/nonexistent.yaml", NULL);
  EXPECT_RC(r, 2);
#else
  EXPECT_RC(r, 1);
  EXPECT_IN(r.err.data, "without the configuration analyzer");
#endif
  cli_result_free(&r);
  mp_free(bad);
  mp_free(good);
}

static void test_delete_and_token(void **state) {
  cli_result r;
  cli_run(&r, 30, M, "perf", "delete", "lonely", NULL);
  EXPECT_RC(r, 0);
  cli_result_free(&r);
  cli_run(&r, 30, M, "perf", "profile", "lonely", NULL);
  EXPECT_RC(r, 3);
  cli_result_free(&r);
  cli_run(&r, 30, M, "perf", "delete", "lonely", NULL);
  EXPECT_RC(r, 3);
  EXPECT_IN(r.err.data, "meshctl perf profile");
  cli_result_free(&r);
  /* A server that wants a token: refused (6) without it, fine with flag or environment. */
  stop_server();
  assert_true(start_server(worker_list, "s3cret"));
  cli_run(&r, 30, M, "perf", "profile", NULL);
  EXPECT_RC(r, 6);
  EXPECT_IN(r.err.data, "--token");
  cli_result_free(&r);
  cli_run(&r, 30, M, "perf", "profile", "--token", "s3cret", NULL);
  EXPECT_RC(r, 0);
  EXPECT_IN(r.out.data, "candidate");
  cli_result_free(&r);
  setenv("MESHPLANE_TOKEN", "s3cret", 1);
  cli_run(&r, 30, M, "version", NULL);
  unsetenv("MESHPLANE_TOKEN");
  EXPECT_RC(r, 0);
  EXPECT_IN(r.out.data, "server   0.");
  cli_result_free(&r);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_run_without_worker),
      cmocka_unit_test(test_apply_and_results),
      cmocka_unit_test(test_compare),
      cmocka_unit_test(test_export),
      cmocka_unit_test(test_report),
      cmocka_unit_test(test_schedule),
      cmocka_unit_test(test_adapter_and_events),
      cmocka_unit_test(test_analyze),
      cmocka_unit_test(test_delete_and_token),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
