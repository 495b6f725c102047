/* lib/report's generic message writers: any protobuf-c message as JSON or YAML. Exact
 * output for small messages; for big ones, Python's json and yaml modules read both
 * renderings back and must get the same document with the expected values. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "meshplane/report.h"
#include "meshplane/v1/server.pb-c.h"

static char *json(const ProtobufCMessage *m, int indent, bool omit) {
  mp_buf b = {0};
  mp_report_msg_opts o = {.indent = indent, .omit_defaults = omit};
  mp_report_message_json(m, &o, &b);
  return mp_buf_steal(&b);
}

static char *yaml(const ProtobufCMessage *m, bool omit) {
  mp_buf b = {0};
  mp_report_msg_opts o = {.omit_defaults = omit};
  mp_report_message_yaml(m, &o, &b);
  return mp_buf_steal(&b);
}

static void test_scalars_exact(void **state) {
  Meshplane__V1__Percentile p = MESHPLANE__V1__PERCENTILE__INIT;
  p.percentile = 99.9;
  p.value_us = INT64_C(9007199254740993); /* beyond double precision: written exactly */
  char *s = json(&p.base, 0, false);
  assert_string_equal(s, "{\"percentile\":99.9,\"value_us\":9007199254740993}");
  mp_free(s);
  s = yaml(&p.base, false);
  assert_string_equal(s, "percentile: 99.9\nvalue_us: 9007199254740993\n");
  mp_free(s);
  /* Zero values are written by default and left out on request. */
  Meshplane__V1__RetCode rc = MESHPLANE__V1__RET_CODE__INIT;
  rc.code = -1;
  s = json(&rc.base, 0, false);
  assert_string_equal(s, "{\"code\":-1,\"count\":0}");
  mp_free(s);
  s = json(&rc.base, 0, true);
  assert_string_equal(s, "{\"code\":-1}");
  mp_free(s);
}

static void test_empty_enum_oneof(void **state) {
  Meshplane__V1__DeleteProfileResponse e = MESHPLANE__V1__DELETE_PROFILE_RESPONSE__INIT;
  char *s = json(&e.base, 2, false);
  assert_string_equal(s, "{}");
  mp_free(s);
  s = yaml(&e.base, false);
  assert_string_equal(s, "{}\n");
  mp_free(s);
  /* Enums by name; only the set member of a oneof; absent sub-messages left out. */
  Meshplane__V1__Run run = MESHPLANE__V1__RUN__INIT;
  run.id = "r1";
  run.status = MESHPLANE__V1__RUN_STATUS__RUN_STATUS_FAILED;
  Meshplane__V1__RunUpdate u = MESHPLANE__V1__RUN_UPDATE__INIT;
  u.update_case = MESHPLANE__V1__RUN_UPDATE__UPDATE_RUN;
  u.run = &run;
  s = json(&u.base, 0, true);
  assert_string_equal(s, "{\"run\":{\"id\":\"r1\",\"status\":\"RUN_STATUS_FAILED\"}}");
  mp_free(s);
  s = yaml(&u.base, true);
  assert_string_equal(s, "run:\n  id: \"r1\"\n  status: \"RUN_STATUS_FAILED\"\n");
  mp_free(s);
  /* An enum value this build does not know is written as its number. */
  run.status = (Meshplane__V1__RunStatus)42;
  s = json(&run.base, 0, true);
  assert_non_null(strstr(s, "\"status\":42"));
  mp_free(s);
}

static void test_strings_bytes_doubles(void **state) {
  Meshplane__V1__PerformanceProfile p = MESHPLANE__V1__PERFORMANCE_PROFILE__INIT;
  p.name = "quote \" backslash \\ tab \t newline \n ünïcode";
  uint8_t body[] = {0, 1, 2, 0xfe, 0xff};
  p.request_body.data = body;
  p.request_body.len = sizeof body;
  p.qps = NAN;
  char *s = json(&p.base, 0, true);
  assert_non_null(
      strstr(s, "\"name\":\"quote \\\" backslash \\\\ tab \\u0009 newline \\u000a ünïcode\""));
  assert_non_null(strstr(s, "\"request_body\":\"AAEC/v8=\""));
  assert_non_null(strstr(s, "\"qps\":\"NaN\""));
  mp_free(s);
  p.qps = -INFINITY;
  s = yaml(&p.base, true);
  assert_non_null(strstr(s, "qps: -.inf\n"));
  mp_free(s);
}

/* Writes s to a temp file; returns its path (the caller frees and unlinks). */
static char *temp_with(const char *s) {
  char *path = mp_strdup("/tmp/mp-msg-XXXXXX");
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  assert_int_equal(write(fd, s, strlen(s)), (ssize_t)strlen(s));
  close(fd);
  return path;
}

static void test_nested_repeated_maps_roundtrip(void **state) {
  /* A result with nested messages, repeated scalars and messages, and a map. */
  Meshplane__V1__Result r = MESHPLANE__V1__RESULT__INIT;
  r.id = "res-1";
  r.status = MESHPLANE__V1__RUN_STATUS__RUN_STATUS_COMPLETED;
  r.requests = UINT64_C(18446744073709551615);
  r.actual_qps = 99.5;
  Meshplane__V1__Percentile p50 = MESHPLANE__V1__PERCENTILE__INIT, p99 = p50;
  p50.percentile = 50;
  p50.value_us = 1200;
  p99.percentile = 99;
  p99.value_us = 4500;
  Meshplane__V1__Percentile *pcts[] = {&p50, &p99};
  Meshplane__V1__LatencyStats ls = MESHPLANE__V1__LATENCY_STATS__INIT;
  ls.count = 10;
  ls.percentiles = pcts;
  ls.n_percentiles = 2;
  r.latency = &ls;
  char *workers[] = {"w1", "w:2"};
  r.workers = workers;
  r.n_workers = 2;
  Meshplane__V1__Result__MetadataEntry m1 = MESHPLANE__V1__RESULT__METADATA_ENTRY__INIT, m2 = m1;
  m1.key = "mesh";
  m1.value = "istio";
  m2.key = "odd: key";
  m2.value = "- not a list";
  Meshplane__V1__Result__MetadataEntry *md[] = {&m1, &m2};
  r.metadata = md;
  r.n_metadata = 2;
  Meshplane__V1__EndpointResult e = MESHPLANE__V1__ENDPOINT_RESULT__INIT; /* all defaults */
  Meshplane__V1__EndpointResult *eps[] = {&e};
  r.endpoints = eps;
  r.n_endpoints = 1;
  for (int omit = 0; omit < 2; omit++) {
    char *j = json(&r.base, 2, omit), *y = yaml(&r.base, omit);
    char *jp = temp_with(j), *yp = temp_with(y);
    char *cmd = mp_asprintf(
        "python3 -c '\n"
        "import json, sys, yaml\n"
        "j = json.load(open(sys.argv[1])); y = yaml.safe_load(open(sys.argv[2]))\n"
        "assert j == y, (j, y)\n"
        "assert j[\"id\"] == \"res-1\" and j[\"status\"] == \"RUN_STATUS_COMPLETED\"\n"
        "assert j[\"requests\"] == 18446744073709551615 and j[\"actual_qps\"] == 99.5\n"
        "assert j[\"latency\"][\"percentiles\"][1] == {\"percentile\": 99, \"value_us\": 4500}\n"
        "assert j[\"workers\"] == [\"w1\", \"w:2\"]\n"
        "assert j[\"metadata\"] == {\"mesh\": \"istio\", \"odd: key\": \"- not a list\"}\n"
        "omit = sys.argv[3] == \"1\"\n"
        "assert (\"uncorrected\" not in j) and ((\"error\" in j) != omit)\n"
        "assert j[\"endpoints\"] == [{}] if omit else j[\"endpoints\"][0][\"endpoint\"] == \"\"\n"
        "assert (\"ret_codes\" in j) != omit\n"
        "' %s %s %d",
        jp, yp, omit);
    int rc = system(cmd);
    if (rc != 0) fprintf(stderr, "JSON:\n%s\nYAML:\n%s\n", j, y);
    assert_int_equal(rc, 0);
    unlink(jp);
    unlink(yp);
    mp_free(cmd);
    mp_free(jp);
    mp_free(yp);
    mp_free(j);
    mp_free(y);
  }
}

static void test_embedding_depth(void **state) {
  Meshplane__V1__Worker w1 = MESHPLANE__V1__WORKER__INIT, w2 = w1;
  w1.id = "a";
  w2.id = "b";
  const ProtobufCMessage *ws[] = {&w1.base, &w2.base};
  mp_buf b = {0};
  mp_buf_puts(&b, "workers:\n");
  mp_report_msg_opts o = {.depth = 1, .omit_defaults = true};
  mp_report_messages_yaml(ws, 2, &o, &b);
  assert_string_equal(b.data, "workers:\n  - id: \"a\"\n  - id: \"b\"\n");
  mp_buf_reset(&b);
  mp_report_messages_yaml(ws, 0, NULL, &b);
  assert_string_equal(b.data, "[]\n");
  mp_buf_free(&b);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_scalars_exact),
      cmocka_unit_test(test_empty_enum_oneof),
      cmocka_unit_test(test_strings_bytes_doubles),
      cmocka_unit_test(test_nested_repeated_maps_roundtrip),
      cmocka_unit_test(test_embedding_depth),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
