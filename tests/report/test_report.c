/* lib/report: the fortio JSON parses and carries the values fortio readers look for, the
 * SMP YAML parses with the right latencies in ms, the HdrHistogram log has one line per
 * interval that decodes back. Parsing is done by Python's json and yaml modules. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "meshplane/report.h"

/* A result of 1000 requests at 1..1000 µs, 990 OK and 10 errors. */
static Meshplane__V1__Result *make_result(mp_hdr **hist) {
  mp_hdr *h = mp_hdr_new_latency(3);
  for (int i = 1; i <= 1000; i++) mp_hdr_record(h, i);
  Meshplane__V1__Result *r = mp_malloc(sizeof *r);
  meshplane__v1__result__init(r);
  r->id = mp_strdup("11111111-2222-4333-8444-555555555555");
  r->run_id = mp_strdup("run-1");
  r->profile_name = mp_strdup("demo \"quoted\"");
  r->service_mesh = mp_strdup("nginx");
  r->start_time_ms = 1764000000123;
  r->requested_duration_ms = 10000;
  r->actual_duration_ms = 10000;
  r->requested_qps = 100;
  r->actual_qps = 100;
  r->connections = 4;
  r->requests = 1000;
  r->errors = 10;
  r->bytes_read = 50000;
  r->n_ret_codes = 2;
  r->ret_codes = mp_calloc(2, sizeof *r->ret_codes);
  int codes[2] = {200, 503};
  uint64_t counts[2] = {990, 10};
  for (int i = 0; i < 2; i++) {
    r->ret_codes[i] = mp_malloc(sizeof *r->ret_codes[i]);
    meshplane__v1__ret_code__init(r->ret_codes[i]);
    r->ret_codes[i]->code = codes[i];
    r->ret_codes[i]->count = counts[i];
  }
  r->latency = mp_malloc(sizeof *r->latency);
  assert_int_equal(mp_report_latency_fill(r->latency, h), MP_OK);
  r->n_endpoints = 1;
  r->endpoints = mp_calloc(1, sizeof *r->endpoints);
  r->endpoints[0] = mp_malloc(sizeof *r->endpoints[0]);
  meshplane__v1__endpoint_result__init(r->endpoints[0]);
  r->endpoints[0]->endpoint = mp_strdup("http://127.0.0.1:8080/");
  r->endpoints[0]->requests = 1000;
  *hist = h;
  return r;
}

/* Runs python on a file; the script asserts and exits non-zero on a mismatch. */
static void python_check(const char *doc, size_t len, const char *script) {
  char path[] = "/tmp/mp_report_XXXXXX";
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  assert_int_equal(write(fd, doc, len), (ssize_t)len);
  close(fd);
  char cmd[4096];
  snprintf(cmd, sizeof cmd, "/usr/bin/python3 -c '%s' %s", script, path);
  int rc = system(cmd);
  unlink(path);
  if (rc != 0) fail_msg("python check failed on:\n%.*s", (int)(len > 2000 ? 2000 : len), doc);
}

static void test_fortio(void **state) {
  mp_hdr *h;
  Meshplane__V1__Result *r = make_result(&h);
  mp_buf b = {0};
  assert_int_equal(mp_report_fortio_json(r, NULL, &b), MP_OK);
  python_check(b.data, b.len,
               "import json,sys\n"
               "d=json.load(open(sys.argv[1]))\n"
               "h=d[\"DurationHistogram\"]\n"
               "assert d[\"RunType\"]==\"HTTP\" and d[\"RequestedQPS\"]==\"100\"\n"
               "assert d[\"StartTime\"].startswith(\"2025-\") and d[\"NumThreads\"]==4\n"
               "assert d[\"ActualDuration\"]==10*10**9 and d[\"ActualQPS\"]==100\n"
               "assert h[\"Count\"]==1000 and abs(h[\"Avg\"]-500.5e-6)<1e-6\n"
               "assert abs(h[\"Min\"]-1e-6)<1e-9 and abs(h[\"Max\"]-1000e-6)<1e-6\n"
               "assert sum(x[\"Count\"] for x in h[\"Data\"])==1000\n"
               "assert abs(h[\"Data\"][-1][\"Percent\"]-100)<1e-9\n"
               "p={x[\"Percentile\"]:x[\"Value\"] for x in h[\"Percentiles\"]}\n"
               "assert abs(p[50]-500e-6)<1e-6 and abs(p[99]-990e-6)<1e-6, p\n"
               "assert d[\"RetCodes\"]=={\"200\":990,\"503\":10}\n"
               "assert d[\"Labels\"]==\"demo \\\"quoted\\\"\"\n"
               "assert d[\"Meshplane\"][\"Errors\"]==10\n");
  mp_buf_free(&b);
  mp_hdr_free(h);
  protobuf_c_message_free_unpacked(&r->base, NULL);
}

static void test_smp(void **state) {
  mp_hdr *h;
  Meshplane__V1__Result *r = make_result(&h);
  mp_buf b = {0};
  assert_int_equal(mp_report_smp_yaml(r, &b), MP_OK);
  python_check(b.data, b.len,
               "import yaml,sys\n"
               "d=yaml.safe_load(open(sys.argv[1]))\n"
               "l=d[\"latencies\"]\n"
               "assert d[\"smp_version\"]==\"v0.0.1\" and d[\"mesh_config_id\"]==\"nginx\"\n"
               "assert abs(l[\"p50\"]-0.5)<0.001 and abs(l[\"p99\"]-0.99)<0.001, l\n"
               "assert abs(l[\"max\"]-1.0)<0.001 and abs(l[\"min\"]-0.001)<0.0001\n"
               "assert d[\"actual_qps\"]==100\n"
               "assert d[\"detailed_results\"][\"ret_codes\"][\"503\"]==10\n");
  mp_buf_free(&b);
  mp_hdr_free(h);
  protobuf_c_message_free_unpacked(&r->base, NULL);
}

static void test_hdr_log(void **state) {
  char *iv[3];
  for (int i = 0; i < 3; i++) {
    mp_hdr *h = mp_hdr_new_latency(3);
    mp_hdr_record_n(h, 1000 * (i + 1), 10);
    assert_int_equal(mp_hdr_encode_base64(h, &iv[i]), MP_OK);
    mp_hdr_free(h);
  }
  mp_buf b = {0};
  assert_int_equal(mp_report_hdr_log((const char *const *)iv, 3, 1764000000000, 1.0, &b), MP_OK);
  assert_non_null(strstr(b.data, "#[Histogram log format version 1.3]"));
  assert_non_null(strstr(b.data, "#[StartTime: 1764000000.000"));
  assert_non_null(strstr(b.data, "\n0.000,1.000,1.000,HISTF")); /* max 1000 us = 1 ms */
  assert_non_null(strstr(b.data, "\n2.000,1.000,3.00"));
  mp_buf_free(&b);
  /* A damaged interval is an error, not garbage. */
  const char *bad[] = {"HISTFAAAnotbase64!!"};
  assert_int_not_equal(mp_report_hdr_log(bad, 1, 0, 1.0, &b), MP_OK);
  mp_buf_free(&b);
  for (int i = 0; i < 3; i++) mp_free(iv[i]);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_fortio), cmocka_unit_test(test_smp),
                                     cmocka_unit_test(test_hdr_log)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
