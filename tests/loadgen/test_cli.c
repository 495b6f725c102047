/* meshplane-loadgen as a process: bad input gets a clear message and a non-zero exit,
 * a run writes fortio JSON (checked by Python's json module) and an HdrHistogram log, and
 * SIGINT stops a run early and still prints the results. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "lgtest.h"
#include "meshplane/base.h"

static void expect_run(const char *const *argv, int want_rc, const char *want_text,
                       double max_seconds) {
  char *out = NULL;
  double secs = 0;
  int rc = lg_run_capture(argv, &out, &secs);
  if (rc != want_rc || !strstr(out, want_text) || secs > max_seconds) {
    mp_buf cmd = {0};
    for (const char *const *a = argv; *a; a++) mp_buf_printf(&cmd, "%s ", *a);
    fail_msg("%s\n  exit %d (want %d) after %.2fs (max %.1fs), output lacks \"%s\"?\n%s", cmd.data,
             rc, want_rc, secs, max_seconds, want_text, out);
  }
  free(out);
}

#define CLI(...) ((const char *const[]){LG_CLI_BIN, __VA_ARGS__, NULL})

static void test_bad_input(void **state) {
  (void)state;
  expect_run(CLI("run"), 2, "give at least one URL", 5);
  expect_run(CLI("run", "-d", "-5s", "http://127.0.0.1:1/"), 2, "duration must be positive", 5);
  expect_run(CLI("run", "-d", "10parsecs", "http://127.0.0.1:1/"), 2, "invalid duration", 5);
  expect_run(CLI("run", "-R", "0", "http://127.0.0.1:1/"), 2, "give a rate > 0", 5);
  expect_run(CLI("run", "--qps", "abc", "http://127.0.0.1:1/"), 2, "give a rate > 0", 5);
  expect_run(CLI("run", "ftp://example.com/"), 2, "unsupported scheme \"ftp\"", 5);
  expect_run(CLI("run", "--protocol", "spdy", "http://127.0.0.1:1/"), 2,
             "--protocol spdy: use auto, http1, http2 or grpc", 5);
  expect_run(CLI("run", "--streams", "0", "http://127.0.0.1:1/"), 2, "--streams 0: must be", 5);
  expect_run(CLI("run", "--streams", "4", "http://127.0.0.1:1/"), 2, "need HTTP/2 or gRPC", 5);
  expect_run(CLI("run", "--protocol", "http1", "grpc://127.0.0.1:1/"), 2, "is a gRPC endpoint", 5);
  expect_run(CLI("run", "--grpc-payload", "0a0", "grpc://127.0.0.1:1/"), 2,
             "odd number of hex digits", 5);
  expect_run(CLI("run", "--grpc-payload", "zz", "grpc://127.0.0.1:1/"), 2, "not a hex digit", 5);
  expect_run(CLI("run", "--grpc-method", "Echo.Say", "grpc://127.0.0.1:1/"), 2,
             "/package.Service/Method", 5);
  expect_run(CLI("run", "--grpc-payload", "0a00", "http://127.0.0.1:1/"), 2,
             "applies to gRPC endpoints only", 5);
  expect_run(CLI("run", "--cacert", "/nonexistent/ca.pem", "https://127.0.0.1:1/"), 2,
             "--cacert /nonexistent/ca.pem: No such file", 5);
  expect_run(CLI("run", "http://"), 2, "missing host", 5);
  expect_run(CLI("run", "http://127.0.0.1:99999/"), 2, "port is out of range", 5);
  expect_run(CLI("run", "--body-file", "/nonexistent/body", "http://127.0.0.1:1/"), 2,
             "No such file", 5);
  expect_run(CLI("run", "--bogus", "http://127.0.0.1:1/"), 2, "unknown flag --bogus", 5);
  expect_run(CLI("run", "-c", "0", "http://127.0.0.1:1/"), 2, "connections must be", 5);
  expect_run(CLI("run", "-H", "NoColon", "http://127.0.0.1:1/"), 2, "Name: value", 5);
  expect_run(CLI("run", "--rampup", "1s", "http://127.0.0.1:1/"), 2, "only applies", 5);
  expect_run(CLI("run", "http://nonexistent.invalid/"), 2, "cannot resolve", 10);
  expect_run(CLI("run", "--help"), 0, "Usage: meshplane-loadgen run [flags] URL...", 5);
  expect_run(CLI("--version"), 0, "meshplane-loadgen", 5);
  /* The worker mode (tested serving in tests/server) refuses what it cannot listen on. */
  expect_run(CLI("--listen", "not-an-address"), 1, "cannot listen on not-an-address", 5);
  expect_run(CLI("serve", "--bogus"), 2, "unknown flag --bogus", 5);
  expect_run(CLI("frobnicate"), 2, "unknown command", 5);
}

static void test_bad_targets(void **state) {
  (void)state;
  lg_proc t;
  lg_target_start(&t, NULL);
  int port = t.port;
  expect_run(CLI("run", "-c", "2", "-d", "30s", lg_url(port, "/garbage")), 1, "invalid response",
             5);
  lg_target_stop(&t);
  expect_run(CLI("run", "-c", "2", "-d", "30s", lg_url(port, "/")), 1, "Connection refused", 5);
}

static const char check_json[] =
    "import json, sys\n"
    "d = json.load(open(sys.argv[1]))\n"
    "h = d['DurationHistogram']\n"
    "assert d['RunType'] == 'HTTP' and d['RequestedQPS'] == '200', d['RequestedQPS']\n"
    "assert d['RequestedDuration'] == '1s' and isinstance(d['ActualDuration'], int)\n"
    "assert h['Count'] == 200 and d['RetCodes'] == {'200': 200}, (h['Count'], d['RetCodes'])\n"
    "assert sum(b['Count'] for b in h['Data']) == 200 and h['Data'][-1]['Percent'] == 100\n"
    "assert [p['Percentile'] for p in h['Percentiles']] == [50, 75, 90, 99, 99.9, 99.99]\n"
    "assert 0 < h['Min'] <= h['Avg'] <= h['Max'] < 1, h\n"
    "assert d['Sizes']['Count'] == 200 and d['HeaderSizes']['Min'] > 0\n"
    "assert d['NumThreads'] == 4 and d['Meshplane']['Threads'] == 2\n"
    "assert d['Meshplane']['UncorrectedDurationHistogram']['Count'] == 200\n"
    "print('json ok')\n";

static void test_outputs(void **state) {
  (void)state;
  lg_proc t;
  lg_target_start(&t, NULL);
  char dir[] = "/tmp/mp-lg-cli-XXXXXX";
  assert_non_null(mkdtemp(dir));
  char json[128], hlog[128], script[128];
  snprintf(json, sizeof json, "%s/out.json", dir);
  snprintf(hlog, sizeof hlog, "%s/out.hlog", dir);
  snprintf(script, sizeof script, "%s/check.py", dir);
  expect_run(CLI("run", "-t2", "-c4", "-R200", "-d1s", "--json", json, "--hdr-log", hlog,
                 "--latency", "-H", "X-A: 1", "--cookie", "k=v", lg_url(t.port, "/")),
             0, "Detailed percentile spectrum (corrected", 10);
  FILE *f = fopen(script, "w");
  fputs(check_json, f);
  fclose(f);
  expect_run(((const char *const[]){LG_PYTHON, script, json, NULL}), 0, "json ok", 10);
  char *log = NULL;
  assert_int_equal(lg_run_capture(((const char *const[]){"/bin/cat", hlog, NULL}), &log, NULL), 0);
  assert_non_null(strstr(log, "#[Histogram log format version 1.3]\n#[StartTime: "));
  assert_non_null(strstr(log, "\"Interval_Compressed_Histogram\"\n0.000,"));
  assert_non_null(strstr(log, ",HISTF"));
  free(log);
  lg_target_stop(&t);
  char cmd[160];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  assert_int_equal(system(cmd), 0);
}

/* The protocol flags against nginx (TLS with --cacert, -k and --sni; HTTP/2 with --http2
 * and --streams) and the Echo gRPC server (--grpc-method, --grpc-payload[-file], the
 * fortio JSON of a gRPC run). */
static void test_protocol_flags(void **state) {
  (void)state;
  lg_proc ng, echo;
  lg_nginx_opts o = {0};
  if (!lg_nginx_start_opts(&ng, &o)) skip();
  char ca[300], u[128], sni[128], h2c[128];
  snprintf(ca, sizeof ca, "%s/certs/ca.pem", ng.dir);
  snprintf(u, sizeof u, "https://localhost:%d/", ng.tls_port);
  snprintf(sni, sizeof sni, "https://127.0.0.1:%d/sni", ng.tls_port);
  snprintf(h2c, sizeof h2c, "http://127.0.0.1:%d/h2", ng.h2c_port);
  expect_run(CLI("run", "-c2", "-n50", "--cacert", ca, u), 0, "Status codes: 200: 50", 10);
  expect_run(CLI("run", "-c2", "-n50", u), 1, "certificate verify failed", 10);
  expect_run(CLI("run", "-c2", "-n50", "-k", u), 0, "Status codes: 200: 50", 10);
  expect_run(CLI("run", "-c1", "-n10", "--cacert", ca, "--sni", "sni.test", sni), 0,
             "Status codes: 200: 10", 10);
  expect_run(CLI("run", "-c2", "-n100", "--http2", "--streams", "4", h2c), 0,
             "Protocol:     HTTP/2, 4 streams per connection", 10);
  expect_run(CLI("run", "-c2", "-n100", "--protocol", "http2", "-k", u), 0,
             "Status codes: 200: 100", 10);
  lg_nginx_stop(&ng);

  if (!lg_echo_start(&echo)) return;
  char g[128], dir[] = "/tmp/mp-lg-cli-XXXXXX";
  snprintf(g, sizeof g, "grpc://127.0.0.1:%d", echo.port);
  assert_non_null(mkdtemp(dir));
  char payload[128], json[128], script[128];
  snprintf(payload, sizeof payload, "%s/fail5.bin", dir);
  snprintf(json, sizeof json, "%s/grpc.json", dir);
  snprintf(script, sizeof script, "%s/check.py", dir);
  FILE *f = fopen(payload, "wb");
  fwrite("\x18\x05", 1, 2, f); /* meshplane.test.EchoRequest{fail_code: 5} */
  fclose(f);
  expect_run(CLI("run", "-c1", "-n20", "--grpc-method", "/meshplane.test.Echo/Say",
                 "--grpc-payload", "0a026869", "--json", json, g),
             0, "gRPC status: 0 OK: 20", 10);
  f = fopen(script, "w");
  fputs("import json, sys\n"
        "d = json.load(open(sys.argv[1]))\n"
        "assert d['RunType'] == 'GRPC Ping' and d['RetCodes'] == {'0': 20}, d['RetCodes']\n"
        "assert d['Meshplane']['Protocol'] == 'grpc'\n"
        "print('json ok')\n",
        f);
  fclose(f);
  expect_run(((const char *const[]){LG_PYTHON, script, json, NULL}), 0, "json ok", 10);
  expect_run(CLI("run", "-c1", "-n20", "--streams", "2", "--grpc-method",
                 "/meshplane.test.Echo/Fail", "--grpc-payload-file", payload, g),
             0, "gRPC status: 5 NOT_FOUND: 20", 10);
  expect_run(CLI("run", "-c1", "-n20", g), 0, "gRPC status: 0 OK: 20", 10);
  lg_echo_stop(&echo);
  char cmd[160];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  assert_int_equal(system(cmd), 0);
}

static void test_sigint_prints_results(void **state) {
  (void)state;
  lg_proc t;
  lg_target_start(&t, NULL);
  int pipefd[2];
  assert_int_equal(pipe(pipefd), 0);
  int64_t t0 = mp_mono_ns();
  pid_t pid = fork();
  if (pid == 0) {
    dup2(pipefd[1], 1);
    dup2(pipefd[1], 2);
    close(pipefd[0]);
    execl(LG_CLI_BIN, LG_CLI_BIN, "run", "-c", "2", "-d", "30s", lg_url(t.port, "/"), (char *)NULL);
    _exit(127);
  }
  close(pipefd[1]);
  mp_sleep_ms(500);
  kill(pid, SIGINT);
  mp_buf b = {0};
  char chunk[4096];
  ssize_t n;
  while ((n = read(pipefd[0], chunk, sizeof chunk)) > 0) mp_buf_append(&b, chunk, (size_t)n);
  close(pipefd[0]);
  int st = 0;
  waitpid(pid, &st, 0);
  assert_true(mp_mono_ns() - t0 < 3 * MP_NS_PER_S);
  assert_true(WIFEXITED(st));
  assert_int_equal(WEXITSTATUS(st), 0);
  assert_non_null(strstr(b.data, "interrupted"));
  assert_non_null(strstr(b.data, "Stopped early"));
  assert_non_null(strstr(b.data, "Status codes: 200: "));
  mp_buf_free(&b);
  lg_target_stop(&t);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_bad_input),
      cmocka_unit_test(test_bad_targets),
      cmocka_unit_test(test_outputs),
      cmocka_unit_test(test_protocol_flags),
      cmocka_unit_test(test_sigint_prints_results),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
