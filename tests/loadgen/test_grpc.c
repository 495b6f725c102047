/* gRPC load (loadgen/engine/proto_grpc.c over proto_h2.c) against a real gRPC server:
 * lib/rpc's test Echo service as a process (mp_echo_server), directly over h2c and as
 * grpcs:// through nginx (TLS, grpc_pass). Checks the health check by default, named
 * methods with a payload, grpc-status counted as the result (errors for non-zero codes),
 * a timed-out call reset on its own while its connection carries on, and the framing
 * helpers of meshplane/grpc_frame.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lgrun.h"
#include "lgtest.h"
#include "meshplane/grpc_frame.h"
#include "meshplane/loadgen.h"

/* Serialized meshplane.test.EchoRequest messages (tests/rpc/test.proto). */
static const uint8_t say_hi[] = {0x0a, 0x02, 'h', 'i'}; /* text: "hi" */
static const uint8_t fail_5[] = {0x18, 0x05};           /* fail_code: 5 (NOT_FOUND) */
static const uint8_t sleep_2s[] = {0x10, 0xd0, 0x0f};   /* sleep_ms: 2000 */

static lg_proc echo, ng;
static bool have_echo, have_nginx;

/* No method: grpc.health.v1.Health/Check, which every lib/rpc server answers. */
static void test_health_check_by_default(void **state) {
  (void)state;
  if (!have_echo) skip();
  const char *urls[] = {lg_surl("grpc", "127.0.0.1", echo.port, "")};
  mp_loadgen_spec s = {.endpoints = urls,
                       .n_endpoints = 1,
                       .connections = 2,
                       .threads = 1,
                       .streams = 4,
                       .max_requests = 400};
  mp_loadgen_run *run = lg_run_spec(&s);
  const mp_loadgen_result *r = mp_loadgen_result_get(run);
  if (r->total.status[0] != 400)
    fail_msg("OK %llu of 400 (first error: %s)", (unsigned long long)r->total.status[0],
             r->first_error ? r->first_error : "none");
  assert_int_equal(r->total.errors, 0);
  assert_int_equal(r->protocol, MP_LOADGEN_GRPC);
  assert_int_equal(r->connects, 2);
  mp_loadgen_free(run);
}

/* Methods from the URLs' paths, one payload for all: Say answers OK, Fail the code in
 * the payload, an unregistered service UNIMPLEMENTED. */
static void test_methods_and_status_codes(void **state) {
  (void)state;
  if (!have_echo) skip();
  const char *urls[] = {
      lg_surl("grpc", "127.0.0.1", echo.port, "/meshplane.test.Echo/Say"),
      lg_surl("grpc", "127.0.0.1", echo.port, "/meshplane.test.Echo/Fail"),
      lg_surl("grpc", "127.0.0.1", echo.port, "/meshplane.test.Unregistered/Nothing")};
  mp_loadgen_spec s = {.endpoints = urls,
                       .n_endpoints = 3,
                       .connections = 3,
                       .threads = 1,
                       .streams = 2,
                       .rate = 300,
                       .duration_ns = MP_NS_PER_S,
                       .grpc_payload = fail_5,
                       .grpc_payload_len = sizeof fail_5};
  mp_loadgen_run *run = lg_run_spec(&s);
  const mp_loadgen_result *r = mp_loadgen_result_get(run);
  assert_int_equal(r->total.requests, 300);
  const mp_loadgen_stats *say = &r->endpoints[0].stats, *fail = &r->endpoints[1].stats,
                         *none = &r->endpoints[2].stats;
  ASSERT_BETWEEN(say->requests, 50, 150);
  assert_int_equal(say->status[0], say->requests);
  assert_int_equal(say->errors, 0);
  assert_int_equal(fail->status[5], fail->requests);
  assert_int_equal(fail->errors, fail->requests);
  assert_int_equal(fail->protocol_errors, 0);
  assert_int_equal(none->status[12], none->requests);
  assert_int_equal(none->errors, none->requests);
  mp_loadgen_free(run);

  /* --grpc-method for every endpoint, given without the URL path. */
  const char *bare[] = {lg_surl("grpc", "127.0.0.1", echo.port, "")};
  mp_loadgen_spec m = {.endpoints = bare,
                       .n_endpoints = 1,
                       .connections = 1,
                       .threads = 1,
                       .max_requests = 50,
                       .grpc_method = "/meshplane.test.Echo/Say",
                       .grpc_payload = say_hi,
                       .grpc_payload_len = sizeof say_hi};
  run = lg_run_spec(&m);
  r = mp_loadgen_result_get(run);
  assert_int_equal(r->total.status[0], 50);
  mp_loadgen_free(run);

  /* A method that is not a method path never starts. */
  m.grpc_method = "Echo.Say";
  mp_loadgen_run *no = NULL;
  assert_int_equal(mp_loadgen_start(&m, &no), MP_ERR_INVALID);
  assert_non_null(strstr(mp_error_last(), "/package.Service/Method"));
}

/* Calls that outlast the timeout are reset one by one (RST_STREAM CANCEL) while their
 * connection carries on. (The Echo server's handler pool may make a Say call wait for a
 * thread while Sleep calls hold them: a few Say timeouts are the server's, not ours.) */
static void test_timeout_resets_the_stream_only(void **state) {
  (void)state;
  if (!have_echo) skip();
  const char *urls[] = {lg_surl("grpc", "127.0.0.1", echo.port, "/meshplane.test.Echo/Say"),
                        lg_surl("grpc", "127.0.0.1", echo.port, "/meshplane.test.Echo/Sleep")};
  mp_loadgen_spec s = {.endpoints = urls,
                       .n_endpoints = 2,
                       .connections = 2,
                       .threads = 1,
                       .streams = 4,
                       .duration_ns = MP_NS_PER_S,
                       .timeout_ns = 300 * MP_NS_PER_MS,
                       .grpc_payload = sleep_2s,
                       .grpc_payload_len = sizeof sleep_2s};
  mp_loadgen_run *run = lg_run_spec(&s);
  const mp_loadgen_result *r = mp_loadgen_result_get(run);
  if (r->error) fail_msg("the run failed: %s", r->error);
  const mp_loadgen_stats *say = &r->endpoints[0].stats, *slow = &r->endpoints[1].stats;
  assert_true(say->requests > 100);
  assert_true(say->errors <= say->timeouts && say->errors <= say->requests / 20);
  assert_int_equal(slow->requests, 0);
  ASSERT_BETWEEN(slow->timeouts, 8, 16); /* 4 streams, one round per 300 ms */
  assert_int_equal(slow->errors, slow->timeouts);
  assert_int_equal(r->connects, 2); /* no reconnect for a timed-out stream */
  mp_loadgen_free(run);
}

/* grpcs:// through nginx (TLS, h2 by ALPN, grpc_pass to the Echo server). */
static void test_grpcs_through_nginx(void **state) {
  (void)state;
  if (!have_echo || !have_nginx) skip();
  char path[512];
  snprintf(path, sizeof path, "%s/certs/ca.pem", ng.dir);
  char *ca = lg_read_text(path);
  const char *urls[] = {lg_surl("grpcs", "localhost", ng.tls_port, "/meshplane.test.Echo/Say"),
                        lg_surl("grpcs", "localhost", ng.tls_port, "/meshplane.test.Echo/Fail")};
  mp_loadgen_spec s = {.endpoints = urls,
                       .n_endpoints = 2,
                       .connections = 2,
                       .threads = 1,
                       .streams = 4,
                       .max_requests = 400,
                       .tls_ca_pem = ca,
                       .grpc_payload = fail_5,
                       .grpc_payload_len = sizeof fail_5};
  mp_loadgen_run *run = lg_run_spec(&s);
  const mp_loadgen_result *r = mp_loadgen_result_get(run);
  assert_int_equal(r->total.requests, 400);
  assert_int_equal(r->endpoints[0].stats.status[0], r->endpoints[0].stats.requests);
  assert_int_equal(r->endpoints[1].stats.status[5], r->endpoints[1].stats.requests);
  assert_true(r->tls_handshakes >= 2);
  mp_loadgen_free(run);

  /* A server that is not gRPC: nginx's own 200 "hello" is no gRPC response. */
  const char *plain[] = {lg_surl("http", "127.0.0.1", ng.h2c_port, "/")};
  mp_loadgen_spec p = {.endpoints = plain,
                       .n_endpoints = 1,
                       .connections = 1,
                       .threads = 1,
                       .duration_ns = 10 * MP_NS_PER_S,
                       .protocol = MP_LOADGEN_GRPC};
  run = lg_run_spec(&p);
  r = mp_loadgen_result_get(run);
  assert_non_null(r->error);
  assert_non_null(strstr(r->error, "the response is not gRPC"));
  mp_loadgen_free(run);
  free(ca);
}

/* The framing helpers alone. */
static void test_framing(void **state) {
  (void)state;
  size_t n;
  uint8_t *f = mp_grpc_frame(say_hi, sizeof say_hi, &n);
  assert_int_equal(n, 9);
  assert_memory_equal(f, ((const uint8_t[]){0, 0, 0, 0, 4, 0x0a, 0x02, 'h', 'i'}), 9);
  /* Two messages fed one byte at a time. */
  mp_grpc_reader r;
  mp_grpc_reader_init(&r, 0);
  for (int k = 0; k < 2; k++)
    for (size_t i = 0; i < n; i++) assert_true(mp_grpc_reader_feed(&r, f + i, 1));
  assert_true(mp_grpc_reader_end(&r));
  assert_int_equal(r.messages, 2);
  assert_int_equal(r.payload, 8);
  /* Cut short. */
  mp_grpc_reader_init(&r, 0);
  assert_true(mp_grpc_reader_feed(&r, f, 7));
  assert_false(mp_grpc_reader_end(&r));
  assert_non_null(strstr(r.error, "ended inside"));
  /* Compressed without grpc-encoding; bad flag; too large. */
  f[0] = 1;
  mp_grpc_reader_init(&r, 0);
  assert_false(mp_grpc_reader_feed(&r, f, n));
  r.compressed_ok = true;
  mp_grpc_reader_init(&r, 0);
  r.compressed_ok = true;
  assert_true(mp_grpc_reader_feed(&r, f, n));
  f[0] = 2;
  mp_grpc_reader_init(&r, 0);
  assert_false(mp_grpc_reader_feed(&r, f, n));
  f[0] = 0;
  mp_grpc_reader_init(&r, 3);
  assert_false(mp_grpc_reader_feed(&r, f, n));
  assert_non_null(strstr(r.error, "larger"));
  mp_free(f);
  /* Status values and names, and the HTTP mapping. */
  assert_int_equal(mp_grpc_status_parse("0", 1), 0);
  assert_int_equal(mp_grpc_status_parse("14", 2), 14);
  assert_int_equal(mp_grpc_status_parse("", 0), -1);
  assert_int_equal(mp_grpc_status_parse("1x", 2), -1);
  assert_string_equal(mp_grpc_code_name(14), "UNAVAILABLE");
  assert_null(mp_grpc_code_name(17));
  assert_null(mp_grpc_code_name(-1));
  assert_int_equal(mp_grpc_status_from_http(404), MP_GRPC_UNIMPLEMENTED);
  assert_int_equal(mp_grpc_status_from_http(503), MP_GRPC_UNAVAILABLE);
  assert_int_equal(mp_grpc_status_from_http(401), MP_GRPC_UNAUTHENTICATED);
  assert_int_equal(mp_grpc_status_from_http(500), MP_GRPC_UNKNOWN);
  /* Method paths. */
  assert_null(mp_grpc_method_check("/grpc.health.v1.Health/Check"));
  assert_non_null(mp_grpc_method_check("grpc.health.v1.Health/Check"));
  assert_non_null(mp_grpc_method_check("/Health"));
  assert_non_null(mp_grpc_method_check("/a/b/c"));
  assert_non_null(mp_grpc_method_check("/a b/c"));
}

static int setup(void **state) {
  (void)state;
  have_echo = lg_echo_start(&echo);
  lg_nginx_opts o = {.grpc_port = have_echo ? echo.port : 0};
  have_nginx = lg_nginx_start_opts(&ng, &o);
  return 0;
}

static int teardown(void **state) {
  (void)state;
  if (have_nginx) lg_nginx_stop(&ng);
  if (have_echo) lg_echo_stop(&echo);
  return 0;
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_health_check_by_default),
      cmocka_unit_test(test_methods_and_status_codes),
      cmocka_unit_test(test_timeout_resets_the_stream_only),
      cmocka_unit_test(test_grpcs_through_nginx),
      cmocka_unit_test(test_framing),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
