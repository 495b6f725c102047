/* Unit tests of the outputs of a run: human summary, fortio JSON, HdrHistogram log, and
 * the meshplane.v1 protobuf conversions the worker service uses. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "meshplane/loadgen_proto.h"
#include "meshplane/loadgen_report.h"

/* A result as the engine would leave it: 3 x 200 and 1 x 503 on two endpoints, a timeout. */
static mp_loadgen_result *fake_result(void) {
  mp_loadgen_result *r = calloc(1, sizeof *r);
  r->start_ms = INT64_C(1700000000123);
  r->requested_duration_ns = 2 * MP_NS_PER_S;
  r->actual_duration_ns = 2 * MP_NS_PER_S;
  r->requested_rate = 2;
  r->actual_rate = 2;
  r->threads = 2;
  r->connections = 4;
  r->sigfigs = 3;
  r->late_sends = 1;
  r->max_lag_ns = 1500 * MP_NS_PER_US;
  r->warmup_requests = 7;
  r->connects = 5;
  r->n_endpoints = 2;
  r->endpoints = calloc(2, sizeof *r->endpoints);
  r->endpoints[0].url = "http://a/";
  r->endpoints[1].url = "http://b/\"quoted\"";
  static const int64_t lat[] = {1000, 2000, 3000, 100000};
  static const int codes[] = {200, 200, 503, 200};
  mp_loadgen_stats *t = &r->total;
  t->latency = mp_hdr_new_latency(3);
  t->uncorrected = mp_hdr_new_latency(3);
  for (int e = 0; e < 2; e++) {
    r->endpoints[e].stats.latency = mp_hdr_new_latency(3);
    r->endpoints[e].stats.uncorrected = mp_hdr_new_latency(3);
  }
  for (int i = 0; i < 4; i++) {
    mp_loadgen_stats *s = &r->endpoints[i % 2].stats;
    for (mp_loadgen_stats *x = s;; x = t) {
      x->requests++;
      x->status[codes[i]]++;
      if (codes[i] >= 400) x->errors++;
      x->bytes_read += 100;
      x->bytes_written += 40;
      mp_hdr_record(x->latency, lat[i]);
      mp_hdr_record(x->uncorrected, lat[i] / 2);
      if (x == t) break;
    }
  }
  r->endpoints[1].stats.timeouts = 1;
  r->endpoints[1].stats.errors++;
  t->timeouts = 1;
  t->errors++;
  assert_int_equal(mp_hdr_new(1, INT64_C(1) << 40, 3, &r->sizes), MP_OK);
  assert_int_equal(mp_hdr_new(1, INT64_C(1) << 40, 3, &r->header_sizes), MP_OK);
  for (int i = 0; i < 4; i++) {
    mp_hdr_record(r->sizes, 100);
    mp_hdr_record(r->header_sizes, 94);
  }
  r->first_error = "no response from http://b/ within the timeout";
  return r;
}

static void free_result(mp_loadgen_result *r) {
  mp_hdr_free(r->total.latency);
  mp_hdr_free(r->total.uncorrected);
  for (int e = 0; e < 2; e++) {
    mp_hdr_free(r->endpoints[e].stats.latency);
    mp_hdr_free(r->endpoints[e].stats.uncorrected);
  }
  free(r->endpoints);
  mp_hdr_free(r->sizes);
  mp_hdr_free(r->header_sizes);
  free(r);
}

static void assert_contains(const char *hay, const char *needle) {
  if (!strstr(hay, needle)) fail_msg("missing \"%s\" in:\n%s", needle, hay);
}

static void test_summary(void **state) {
  (void)state;
  mp_loadgen_result *r = fake_result();
  char *text = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&text, &len);
  mp_loadgen_print_summary(f, r, true);
  fclose(f);
  assert_contains(text, "Requests:     4 in 2.00s");
  assert_contains(text, "2.00 req/s actual, 2.00 req/s requested (100.00%)");
  assert_contains(text, "Errors:       2 (status >= 400 or < 200: 1; connect 0, read 0, write 0, "
                        "timeout 1, protocol 0)");
  assert_contains(text, "Status codes: 200: 3, 503: 1");
  assert_contains(text, "Late sends:   1 (8.33%) later than 1.00ms, max lag 1.50ms  <- the "
                        "generator or its connections could not keep up");
  assert_contains(text, "corrected    uncorrected");
  assert_contains(text, "99.990%");
  assert_contains(text, "Per endpoint:");
  assert_contains(text, "Detailed percentile spectrum (corrected");
  assert_contains(text, "Detailed percentile spectrum (uncorrected");
  assert_contains(text, "#[Max     =      100.031, Total count    =            4]");
  free(text);
  free_result(r);
}

/* A gRPC run: grpc-status values with their names, fortio's "GRPC Ping". */
static void test_grpc_outputs(void **state) {
  (void)state;
  mp_loadgen_result *r = fake_result();
  r->protocol = MP_LOADGEN_GRPC;
  r->streams = 4;
  r->retried = 3;
  r->tls_handshakes = 4;
  r->tls_resumed = 2;
  memset(r->total.status, 0, sizeof r->total.status);
  r->total.status[0] = 3;
  r->total.status[14] = 1;
  char *text = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&text, &len);
  mp_loadgen_print_summary(f, r, false);
  fclose(f);
  assert_contains(text, "Protocol:     gRPC (HTTP/2), 4 streams per connection");
  assert_contains(text, "TLS:          4 handshakes, 2 of them resumed a session");
  assert_contains(text, "Errors:       2 (gRPC status other than 0 OK: 1;");
  assert_contains(text, "gRPC status: 0 OK: 3, 14 UNAVAILABLE: 1");
  assert_contains(text, "Retried:      3 requests the server refused unprocessed");
  free(text);
  mp_buf b = {0};
  mp_loadgen_fortio_json(r, NULL, &b);
  assert_contains(b.data, "\"RunType\": \"GRPC Ping\"");
  assert_contains(b.data, "\"RetCodes\": {\"-1\":1,\"0\":3,\"14\":1}");
  assert_contains(b.data, "\"Protocol\": \"grpc\",\n    \"Streams\": 4,");
  assert_contains(b.data, "\"TLSResumed\": 2,\n    \"Retried\": 3,");
  mp_buf_free(&b);
  free_result(r);
}

static void test_fortio_json(void **state) {
  (void)state;
  mp_loadgen_result *r = fake_result();
  mp_buf b = {0};
  mp_loadgen_fortio_json(r, "a \"label\"", &b);
  const char *j = b.data;
  assert_contains(j, "\"RunType\": \"HTTP\"");
  assert_contains(j, "\"Labels\": \"a \\\"label\\\"\"");
  assert_contains(j, "\"StartTime\": \"2023-11-14T22:13:20.123Z\"");
  assert_contains(j, "\"RequestedQPS\": \"2\"");
  assert_contains(j, "\"RequestedDuration\": \"2s\"");
  assert_contains(j, "\"ActualDuration\": 2000000000");
  assert_contains(j, "\"NumThreads\": 4");
  assert_contains(j, "\"DurationHistogram\": {\"Count\":4,\"Min\":0.001,\"Max\":0.100031");
  assert_contains(j, "{\"Start\":0.001,\"End\":0.001,\"Percent\":25,\"Count\":1}");
  assert_contains(j, "\"Percentiles\":[{\"Percentile\":50,\"Value\":0.002}");
  assert_contains(j, "{\"Percentile\":99.99,\"Value\":0.100031}");
  assert_contains(j, "\"RetCodes\": {\"-1\":1,\"200\":3,\"503\":1}");
  assert_contains(j, "\"Sizes\": {\"Count\":4,\"Min\":100,\"Max\":100,\"Sum\":400,\"Avg\":100");
  assert_contains(j, "\"HeaderSizes\": {\"Count\":4,\"Min\":94");
  assert_contains(j, "\"URL\": \"http://a/\"");
  assert_contains(j, "\"BytesSent\": 160");
  assert_contains(j, "\"LateSends\": 1");
  assert_contains(j, "\"MaxLagSeconds\": 0.0015");
  assert_contains(j, "{\"URL\": \"http://b/\\\"quoted\\\"\", \"Count\": 2, \"Errors\": 1, "
                     "\"RetCodes\": {\"-1\":1,\"200\":2}");
  /* Balanced braces and brackets outside strings. */
  int depth = 0;
  bool in_str = false;
  for (const char *p = j; *p; p++) {
    if (in_str) {
      if (*p == '\\')
        p++;
      else if (*p == '"')
        in_str = false;
      continue;
    }
    if (*p == '"') in_str = true;
    if (*p == '{' || *p == '[') depth++;
    if (*p == '}' || *p == ']') depth--;
    assert_true(depth >= 0);
  }
  assert_int_equal(depth, 0);
  mp_buf_free(&b);

  /* Closed loop, request count: fortio's "max" and "exactly N calls". */
  r->requested_rate = 0;
  r->requested_duration_ns = 0;
  r->max_requests = 1000;
  mp_loadgen_fortio_json(r, NULL, &b);
  assert_contains(b.data, "\"RequestedQPS\": \"max\"");
  assert_contains(b.data, "\"RequestedDuration\": \"exactly 1000 calls\"");
  mp_buf_free(&b);
  free_result(r);
}

static void test_hdr_log(void **state) {
  (void)state;
  mp_hdr *h = mp_hdr_new_latency(3);
  for (int i = 1; i <= 100; i++) mp_hdr_record(h, i * 100);
  char *text = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&text, &len);
  mp_loadgen_hdrlog log;
  assert_int_equal(mp_loadgen_hdrlog_begin(&log, f, INT64_C(1700000000123)), MP_OK);
  mp_loadgen_progress p = {.interval_start_ms = INT64_C(1700000001123),
                           .interval_ns = MP_NS_PER_S,
                           .interval_latency = h};
  assert_int_equal(mp_loadgen_hdrlog_interval(&log, &p), MP_OK);
  p.warmup = true; /* skipped */
  assert_int_equal(mp_loadgen_hdrlog_interval(&log, &p), MP_OK);
  fclose(f);
  assert_contains(text, "#[Histogram log format version 1.3]\n#[StartTime: 1700000000.123 "
                        "(seconds since epoch), Tue Nov 14 22:13:20 UTC 2023]\n"
                        "\"StartTimestamp\",\"Interval_Length\",\"Interval_Max\","
                        "\"Interval_Compressed_Histogram\"\n1.000,1.000,10.007,HISTF");
  /* Exactly one interval line, whose histogram decodes back to the one written. */
  const char *line = strstr(text, "1.000,1.000,");
  assert_non_null(line);
  const char *enc = strrchr(line, ',') + 1;
  size_t n = strcspn(enc, "\n");
  assert_string_equal(enc + n, "\n");
  mp_hdr *back = NULL;
  assert_int_equal(mp_hdr_decode_base64(enc, n, &back), MP_OK);
  assert_int_equal(mp_hdr_count(back), 100);
  assert_int_equal(mp_hdr_max(back), mp_hdr_max(h));
  mp_hdr_free(back);
  free(text);
  mp_hdr_free(h);
}

static void test_proto_result(void **state) {
  (void)state;
  mp_loadgen_result *r = fake_result();
  Meshplane__V1__Result m;
  assert_int_equal(mp_loadgen_result_to_proto(r, &m), MP_OK);
  m.run_id = "run-1"; /* the caller's own strings */
  size_t len = meshplane__v1__result__get_packed_size(&m);
  uint8_t *buf = malloc(len);
  meshplane__v1__result__pack(&m, buf);
  mp_loadgen_proto_result_clear(&m);
  Meshplane__V1__Result *u = meshplane__v1__result__unpack(NULL, len, buf);
  assert_non_null(u);
  assert_string_equal(u->run_id, "run-1");
  assert_int_equal(u->status, MESHPLANE__V1__RUN_STATUS__RUN_STATUS_COMPLETED);
  assert_int_equal(u->requests, 4);
  assert_int_equal(u->errors, 2);
  assert_int_equal(u->timeouts, 1);
  assert_int_equal(u->socket_errors, 0);
  assert_int_equal(u->requested_duration_ms, 2000);
  assert_int_equal(u->late_sends, 1);
  assert_int_equal(u->max_lag_us, 1500);
  assert_int_equal(u->warmup_requests, 7);
  assert_int_equal(u->n_ret_codes, 3);
  assert_int_equal(u->ret_codes[0]->code, -1);
  assert_int_equal(u->ret_codes[1]->code, 200);
  assert_int_equal(u->ret_codes[1]->count, 3);
  assert_int_equal(u->latency->count, 4);
  assert_int_equal(u->latency->n_percentiles, 6);
  assert_true(u->latency->percentiles[5]->percentile == 99.99);
  assert_int_equal(u->latency->percentiles[0]->value_us, 2000);
  mp_hdr *h = NULL;
  assert_int_equal(
      mp_hdr_decode_base64(u->uncorrected->histogram, strlen(u->uncorrected->histogram), &h),
      MP_OK);
  assert_int_equal(mp_hdr_count(h), 4);
  assert_int_equal(mp_hdr_min(h), 500);
  mp_hdr_free(h);
  assert_int_equal(u->n_endpoints, 2);
  assert_string_equal(u->endpoints[1]->endpoint, "http://b/\"quoted\"");
  assert_int_equal(u->endpoints[1]->requests, 2);
  assert_int_equal(u->endpoints[1]->errors, 1);
  meshplane__v1__result__free_unpacked(u, NULL);
  free(buf);

  r->error = "no response from the target";
  assert_int_equal(mp_loadgen_result_to_proto(r, &m), MP_OK);
  assert_int_equal(m.status, MESHPLANE__V1__RUN_STATUS__RUN_STATUS_FAILED);
  assert_string_equal(m.error, "no response from the target");
  mp_loadgen_proto_result_clear(&m);
  mp_loadgen_proto_result_clear(NULL);
  free_result(r);
}

static void test_proto_progress_and_spec(void **state) {
  (void)state;
  mp_hdr *h = mp_hdr_new_latency(3);
  for (int i = 1; i <= 100; i++) mp_hdr_record(h, i * 10);
  mp_loadgen_progress p = {.elapsed_ns = 3 * MP_NS_PER_S,
                           .interval_start_ms = 42,
                           .interval_ns = MP_NS_PER_S,
                           .requests = 300,
                           .errors = 2,
                           .interval_rps = 99.5,
                           .late_sends = 3,
                           .max_lag_ns = 2 * MP_NS_PER_MS,
                           .interval_latency = h};
  Meshplane__V1__Progress m;
  assert_int_equal(mp_loadgen_progress_to_proto(&p, "run-7", "host-a", &m), MP_OK);
  assert_string_equal(m.run_id, "run-7");
  assert_int_equal(m.elapsed_ms, 3000);
  assert_int_equal(m.interval_p50_us, 500);
  assert_int_equal(m.interval_p99_us, 990);
  assert_int_equal(m.max_lag_us, 2000);
  assert_int_equal(m.interval_ms, 1000);
  assert_true(strncmp(m.interval_histogram, "HISTF", 5) == 0);
  mp_loadgen_proto_progress_clear(&m);
  mp_hdr_free(h);

  char *eps[] = {"http://127.0.0.1:1/"}, *hdrs[] = {"X-A: 1"};
  Meshplane__V1__LoadOptions o = MESHPLANE__V1__LOAD_OPTIONS__INIT;
  o.warmup = "1s";
  o.rampup = "500ms";
  o.timeout = "250ms";
  o.threads = 3;
  o.max_requests = 99;
  Meshplane__V1__LoadSpec in = MESHPLANE__V1__LOAD_SPEC__INIT;
  in.n_endpoints = 1;
  in.endpoints = eps;
  in.n_headers = 1;
  in.headers = hdrs;
  in.qps = 250;
  in.connections = 5;
  in.duration_ms = 1500;
  in.worker_index = 1;
  in.worker_count = 2;
  in.progress_interval_ms = 500;
  in.options = &o;
  mp_loadgen_spec s;
  assert_int_equal(mp_loadgen_spec_from_proto(&in, &s), MP_OK);
  assert_string_equal(s.endpoints[0], eps[0]);
  assert_int_equal(s.duration_ns, 1500 * MP_NS_PER_MS);
  assert_int_equal(s.warmup_ns, MP_NS_PER_S);
  assert_int_equal(s.rampup_ns, 500 * MP_NS_PER_MS);
  assert_int_equal(s.timeout_ns, 250 * MP_NS_PER_MS);
  assert_int_equal(s.threads, 3);
  assert_int_equal(s.max_requests, 99);
  assert_int_equal(s.worker_count, 2);
  assert_int_equal(s.progress_interval_ns, 500 * MP_NS_PER_MS);
  assert_true(s.rate == 250);
  o.warmup = "10parsecs";
  assert_int_equal(mp_loadgen_spec_from_proto(&in, &s), MP_ERR_INVALID);
  assert_non_null(strstr(mp_error_last(), "options.warmup"));
  o.warmup = "-5s";
  assert_int_equal(mp_loadgen_spec_from_proto(&in, &s), MP_ERR_INVALID);
  o.warmup = "";
  /* The protocol options reach the engine's spec. */
  static const uint8_t payload[] = {0x0a, 0x02, 'h', 'i'};
  o.protocol = MESHPLANE__V1__PROTOCOL__PROTOCOL_GRPC;
  o.streams_per_connection = 8;
  o.tls_insecure = true;
  o.tls_ca_pem = "-----BEGIN CERTIFICATE-----";
  o.tls_sni = "sni.test";
  o.grpc_method = "/meshplane.test.Echo/Say";
  o.grpc_payload.data = (uint8_t *)payload;
  o.grpc_payload.len = sizeof payload;
  assert_int_equal(mp_loadgen_spec_from_proto(&in, &s), MP_OK);
  assert_int_equal(s.protocol, MP_LOADGEN_GRPC);
  assert_int_equal(s.streams, 8);
  assert_true(s.tls_insecure);
  assert_string_equal(s.tls_ca_pem, o.tls_ca_pem);
  assert_string_equal(s.tls_sni, "sni.test");
  assert_string_equal(s.grpc_method, o.grpc_method);
  assert_int_equal(s.grpc_payload_len, 4);
  assert_memory_equal(s.grpc_payload, payload, 4);
  o.protocol = MESHPLANE__V1__PROTOCOL__PROTOCOL_HTTP2;
  assert_int_equal(mp_loadgen_spec_from_proto(&in, &s), MP_OK);
  assert_int_equal(s.protocol, MP_LOADGEN_HTTP2);
  o.streams_per_connection = MP_LOADGEN_MAX_STREAMS + 1;
  assert_int_equal(mp_loadgen_spec_from_proto(&in, &s), MP_ERR_INVALID);
  o.streams_per_connection = 1;
  o.protocol = (Meshplane__V1__Protocol)42;
  assert_int_equal(mp_loadgen_spec_from_proto(&in, &s), MP_ERR_INVALID);
  assert_non_null(strstr(mp_error_last(), "options.protocol 42"));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_summary),      cmocka_unit_test(test_fortio_json),
      cmocka_unit_test(test_grpc_outputs), cmocka_unit_test(test_hdr_log),
      cmocka_unit_test(test_proto_result), cmocka_unit_test(test_proto_progress_and_spec),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
