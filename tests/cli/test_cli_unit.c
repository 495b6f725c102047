/* meshctl without a server: table formatting, exit codes (the mapping and the binary's
 * own), formatters, the progress line, the SMP reader, the interval-log reader and the
 * structure of the HTML report. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "cli.h"
#include "clitest.h"
#include "meshplane/report.h"
#include "profile_edit.h"
#include "progress.h"
#include "report_html.h"
#include "table.h"

static void test_table(void **state) {
  static const char *const head[] = {"NAME", ">QPS", "MESH"};
  mctl_table *t = mctl_table_new(head, 3);
  mctl_table_add(t, "a", "100", "istio");
  mctl_table_add(t, "ünïcödé", "5", NULL);       /* width counts characters; NULL is "-" */
  mctl_table_add(t, "line\nbreak", "12345", ""); /* cells stay on one line */
  mp_buf b = {0};
  mctl_table_render(t, &b);
  assert_string_equal(b.data, "NAME           QPS   MESH\n"
                              "a              100   istio\n"
                              "ünïcödé          5   -\n"
                              "line break   12345   -\n");
  mp_buf_free(&b);
  mctl_table_free(t);
}

static void test_table_alignment(void **state) {
  static const char *const head[] = {"A", "B"};
  mctl_table *t = mctl_table_new(head, 2);
  mctl_table_add(t, "long value", "x");
  mp_buf b = {0};
  mctl_table_render(t, &b);
  /* Three spaces between columns; no trailing blanks on the last column. */
  assert_string_equal(b.data, "A            B\nlong value   x\n");
  assert_int_equal(mctl_table_rows(t), 1);
  mp_buf_free(&b);
  mctl_table_free(t);
  assert_int_equal(mctl_text_width("µs"), 2);
}

static void test_exit_codes(void **state) {
  assert_int_equal(mctl_exit_for_code(MP_RPC_OK), 0);
  assert_int_equal(mctl_exit_for_code(MP_RPC_INVALID_ARGUMENT), MCTL_EXIT_USAGE);
  assert_int_equal(mctl_exit_for_code(MP_RPC_ALREADY_EXISTS), MCTL_EXIT_USAGE);
  assert_int_equal(mctl_exit_for_code(MP_RPC_NOT_FOUND), MCTL_EXIT_NOT_FOUND);
  assert_int_equal(mctl_exit_for_code(MP_RPC_UNAVAILABLE), MCTL_EXIT_UNREACHABLE);
  assert_int_equal(mctl_exit_for_code(MP_RPC_DEADLINE_EXCEEDED), MCTL_EXIT_UNREACHABLE);
  assert_int_equal(mctl_exit_for_code(MP_RPC_UNAUTHENTICATED), MCTL_EXIT_AUTH);
  assert_int_equal(mctl_exit_for_code(MP_RPC_PERMISSION_DENIED), MCTL_EXIT_AUTH);
  assert_int_equal(mctl_exit_for_code(MP_RPC_INTERNAL), MCTL_EXIT_FAILURE);
  assert_int_equal(mctl_exit_for_code(MP_RPC_UNIMPLEMENTED), MCTL_EXIT_FAILURE);
}

/* The binary: help and usage errors, an unreachable server, without any server. */
static void test_binary_exit_codes(void **state) {
  cli_result r;
  cli_run(&r, 30, MESHCTL_BIN, "--help", NULL);
  assert_int_equal(r.rc, 0);
  assert_non_null(strstr(r.out.data, "Exit codes:"));
  assert_non_null(strstr(r.out.data, "perf apply"));
  cli_result_free(&r);
  cli_run(&r, 30, MESHCTL_BIN, NULL);
  assert_int_equal(r.rc, 2);
  cli_result_free(&r);
  cli_run(&r, 30, MESHCTL_BIN, "perf", "frobnicate", NULL);
  assert_int_equal(r.rc, 2);
  assert_non_null(strstr(r.err.data, "unknown command \"frobnicate\""));
  cli_result_free(&r);
  cli_run(&r, 30, MESHCTL_BIN, "perf", "apply", "--help", NULL);
  assert_int_equal(r.rc, 0);
  assert_non_null(strstr(r.out.data, "--concurrent-requests"));
  cli_result_free(&r);
  cli_run(&r, 30, MESHCTL_BIN, "perf", "apply", "x", "--bogus", NULL);
  assert_int_equal(r.rc, 2);
  cli_result_free(&r);
  cli_run(&r, 30, MESHCTL_BIN, "perf", "apply", "x", "--qps", "fast", "--server", "127.0.0.1:1",
          NULL);
  /* The profile is looked up first: unreachable wins over the bad --qps here. */
  assert_true(r.rc == 2 || r.rc == 4);
  cli_result_free(&r);
  cli_run(&r, 30, MESHCTL_BIN, "-o", "xml", "perf", "profile", NULL);
  assert_int_equal(r.rc, 2);
  assert_non_null(strstr(r.err.data, "use table, json or yaml"));
  cli_result_free(&r);
  /* Global flags before the command words, and the environment. */
  setenv("MESHPLANE_SERVER", "127.0.0.1:1", 1);
  cli_run(&r, 30, MESHCTL_BIN, "--timeout", "5s", "system", "status", NULL);
  assert_int_equal(r.rc, 4);
  assert_non_null(strstr(r.err.data, "cannot reach meshplane-server at 127.0.0.1:1"));
  assert_non_null(strstr(r.err.data, "--server"));
  cli_result_free(&r);
  unsetenv("MESHPLANE_SERVER");
  cli_run(&r, 30, MESHCTL_BIN, "--timeout", "5s", "health", "--server", "127.0.0.1:1", NULL);
  assert_int_equal(r.rc, 4);
  cli_result_free(&r);
  cli_run(&r, 30, MESHCTL_BIN, "perf", "compare", "only-one", NULL);
  assert_int_equal(r.rc, 2);
  cli_result_free(&r);
}

static void test_formatters(void **state) {
  char b[64];
  assert_string_equal(mctl_fmt_qps(0, b, sizeof b), "max");
  assert_string_equal(mctl_fmt_qps(99.5, b, sizeof b), "99.5");
  assert_string_equal(mctl_fmt_qps(1500, b, sizeof b), "1500");
  assert_string_equal(mctl_fmt_ms_dur(30000, b, sizeof b), "30s");
  assert_string_equal(mctl_fmt_ms_dur(120000, b, sizeof b), "2m");
  assert_string_equal(mctl_fmt_ms_dur(90400, b, sizeof b), "1m30s");
  assert_string_equal(mctl_fmt_ms_dur(3600000, b, sizeof b), "1h");
  assert_string_equal(mctl_fmt_ms_dur(1500, b, sizeof b), "1.5s");
  assert_string_equal(mctl_fmt_us(2350, b, sizeof b), "2.35ms");
  assert_string_equal(mctl_short_id("0123456789abcdef", b, sizeof b), "01234567");
  assert_string_equal(mctl_enum_name(&meshplane__v1__run_status__descriptor, 3, "RUN_STATUS_"),
                      "COMPLETED");
}

static void test_progress_line(void **state) {
  mctl_progress p;
  mctl_progress_init(&p, NULL, 30000);
  mp_hdr *h = mp_hdr_new_latency(0);
  for (int i = 1; i <= 100; i++) mp_hdr_record(h, i * 100);
  char *enc;
  assert_int_equal(mp_hdr_encode_base64(h, &enc), MP_OK);
  Meshplane__V1__Progress pr = MESHPLANE__V1__PROGRESS__INIT;
  pr.elapsed_ms = 15000;
  pr.requests = 1500;
  pr.errors = 3;
  pr.interval_rps = 100;
  pr.interval_histogram = enc;
  mctl_progress_update(&p, &pr);
  char line[512];
  assert_string_equal(mctl_progress_format(&p, false, 0, line, sizeof line),
                      "15s/30s  1500 req  100.0 req/s  3 err  p50 5.00ms  p99 9.90ms");
  mctl_progress_format(&p, true, 100, line, sizeof line);
  assert_true(strlen(line) < 100);
  assert_non_null(strstr(line, " 50%"));
  assert_int_equal(line[0], '[');
  /* The last interval of a 30 s run ends a little before 30 000 ms: shown as 30s. */
  p.elapsed_ms = 29990;
  assert_non_null(strstr(mctl_progress_format(&p, false, 0, line, sizeof line), "30s/30s "));
  mctl_progress_end(&p);
  mp_free(enc);
  mp_hdr_free(h);
}

static void test_smp(void **state) {
  static const char doc[] = "name: canary\n"
                            "duration: 45s\n"
                            "labels:\n  mesh: linkerd\n  team: perf\n"
                            "clients:\n"
                            "  - load_generator: fortio\n"
                            "    protocol: http2\n"
                            "    connections: 4\n"
                            "    rps: 250\n"
                            "    headers: {X-One: a, X-Two: b}\n"
                            "    cookies: {s: 1}\n"
                            "    body: hello\n"
                            "    content_type: text/plain\n"
                            "    endpoint_urls: [http://a:80/, http://b:80/]\n";
  Meshplane__V1__PerformanceProfile *p = mctl_profile_new();
  assert_int_equal(mctl_smp_read(doc, strlen(doc), p), MP_OK);
  assert_string_equal(p->name, "canary");
  assert_string_equal(p->duration, "45s");
  assert_string_equal(p->service_mesh, "linkerd");
  assert_int_equal(p->concurrent_request, 4);
  assert_true(p->qps == 250);
  assert_int_equal(p->n_endpoints, 2);
  assert_string_equal(p->endpoints[1], "http://b:80/");
  assert_int_equal(p->n_request_headers, 2);
  assert_string_equal(p->request_headers[1], "X-Two: b");
  assert_string_equal(p->request_cookies, "s=1");
  assert_int_equal(p->request_body.len, 5);
  assert_string_equal(p->load_generators[0], "fortio");
  assert_int_equal(p->options->protocol, MESHPLANE__V1__PROTOCOL__PROTOCOL_HTTP2);
  protobuf_c_message_free_unpacked(&p->base, NULL);
  /* JSON with camelCase keys reads the same. */
  static const char js[] =
      "{\"name\": \"j\", \"duration\": \"10s\", \"clients\": [{\"endpointUrls\": "
      "[\"http://x/\"], \"loadGenerator\": \"wrk2\", \"rps\": 0}]}";
  p = mctl_profile_new();
  assert_int_equal(mctl_smp_read(js, strlen(js), p), MP_OK);
  assert_string_equal(p->endpoints[0], "http://x/");
  assert_string_equal(p->load_generators[0], "wrk2");
  protobuf_c_message_free_unpacked(&p->base, NULL);
  /* Errors name the line. */
  static const char bad[] = "name: x\nclients:\n  - connections: many\n";
  p = mctl_profile_new();
  assert_int_equal(mctl_smp_read(bad, strlen(bad), p), MP_ERR_INVALID);
  assert_non_null(strstr(mp_error_last(), "line 3"));
  static const char broken[] = "name: [unclosed\n";
  assert_int_equal(mctl_smp_read(broken, strlen(broken), p), MP_ERR_INVALID);
  protobuf_c_message_free_unpacked(&p->base, NULL);
}

/* A result with n latencies around centre µs and an interval log of 3 intervals. */
static Meshplane__V1__Result *fake_result(const char *id, int centre, char **hlog) {
  mp_hdr *h = mp_hdr_new_latency(0);
  for (int i = 0; i < 3000; i++) mp_hdr_record(h, centre + (i % 100) * centre / 100);
  Meshplane__V1__Result *r = mp_malloc(sizeof *r);
  meshplane__v1__result__init(r);
  r->id = mp_strdup(id);
  r->profile_name = mp_strdup("p<&>");
  r->service_mesh = mp_strdup("istio");
  r->requests = 3000;
  r->actual_qps = 1000;
  r->latency = mp_malloc(sizeof *r->latency);
  mp_report_latency_fill(r->latency, h);
  r->ret_codes = mp_calloc(2, sizeof *r->ret_codes);
  for (int i = 0; i < 2; i++) {
    r->ret_codes[i] = mp_malloc(sizeof *r->ret_codes[i]);
    meshplane__v1__ret_code__init(r->ret_codes[i]);
    r->ret_codes[i]->code = i ? 503 : 200;
    r->ret_codes[i]->count = i ? 30 : 2970;
  }
  r->n_ret_codes = 2;
  char *iv[3];
  for (int i = 0; i < 3; i++) mp_hdr_encode_base64(h, &iv[i]);
  mp_buf b = {0};
  mp_report_hdr_log((const char *const *)iv, 3, 1700000000000, 1.0, &b);
  *hlog = mp_buf_steal(&b);
  for (int i = 0; i < 3; i++) mp_free(iv[i]);
  mp_hdr_free(h);
  return r;
}

static void test_hlog_and_html(void **state) {
  char *log1, *log2;
  Meshplane__V1__Result *a = fake_result("aaaaaaaa-0000-4000-8000-000000000001", 1000, &log1);
  Meshplane__V1__Result *b = fake_result("bbbbbbbb-0000-4000-8000-000000000002", 2000, &log2);
  mctl_report_series s[2] = {{.result = a}, {.result = b}};
  assert_int_equal(mctl_report_parse_hlog(log1, strlen(log1), &s[0].t, &s[0].rps, &s[0].n), MP_OK);
  assert_int_equal(s[0].n, 3);
  assert_true(s[0].t[2] == 2.0 && s[0].rps[1] == 3000.0);
  assert_int_equal(
      mctl_report_parse_hlog("0.0,1.0,1.0,HISTbroken\n", 23, &s[1].t, &s[1].rps, &s[1].n),
      MP_ERR_INVALID);
  assert_int_equal(mctl_report_parse_hlog(log2, strlen(log2), &s[1].t, &s[1].rps, &s[1].n), MP_OK);
  mp_buf html = {0};
  assert_int_equal(mctl_report_html(s, 2, NULL, "t <script>", &html), MP_OK);
  const char *h = html.data;
  assert_non_null(strstr(h, "<!DOCTYPE html>"));
  assert_null(strstr(h, "<script")); /* no scripts, and the title is escaped */
  assert_null(strstr(h, "src=\"http"));
  assert_null(strstr(h, "href=\"http"));
  assert_non_null(strstr(h, "t &lt;script&gt;"));
  assert_non_null(strstr(h, "p&lt;&amp;&gt;"));
  assert_non_null(strstr(h, "id=\"chart-latency\""));
  assert_non_null(strstr(h, "id=\"chart-rps\""));
  assert_non_null(strstr(h, "id=\"chart-codes\""));
  assert_int_equal(cli_count(h, "class=\"series\""), 4); /* 2 results x 2 line charts */
  assert_int_equal(cli_count(h, "class=\"code-bar\""), 4);
  assert_int_equal(cli_count(h, "data-code=\"503\""), 2);
  mp_buf_free(&html);
  for (int i = 0; i < 2; i++) {
    mp_free(s[i].t);
    mp_free(s[i].rps);
  }
  protobuf_c_message_free_unpacked(&a->base, NULL);
  protobuf_c_message_free_unpacked(&b->base, NULL);
  mp_free(log1);
  mp_free(log2);
}

int main(void) {
  setenv("TZ", "UTC", 1);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_table),      cmocka_unit_test(test_table_alignment),
      cmocka_unit_test(test_exit_codes), cmocka_unit_test(test_binary_exit_codes),
      cmocka_unit_test(test_formatters), cmocka_unit_test(test_progress_line),
      cmocka_unit_test(test_smp),        cmocka_unit_test(test_hlog_and_html),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
