/* HTTP/2 load (loadgen/engine/proto_h2.c) against nginx: h2c with prior knowledge and h2
 * over TLS by ALPN, several streams per connection, counts that match the server's,
 * GOAWAY (nginx's keepalive_requests) handled without errors, RST_STREAM counted against
 * its request only, flow control on a large body, constant rate, and clear errors for a
 * server that does not speak HTTP/2. */
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
#include "meshplane/loadgen.h"

/* nginx closes each connection with GOAWAY after this many requests. */
#define KEEPALIVE 50

static lg_proc ng;
static bool have_nginx;
static char *ca_pem;

/* h2c: nginx answers /h2 with 200 only over HTTP/2; every request reaches it once, and
 * GOAWAY every 50 requests costs no error (refused streams are sent again). */
static void test_h2c_streams_and_goaway(void **state) {
  (void)state;
  if (!have_nginx) skip();
  int64_t before = lg_nginx_requests(&ng);
  const char *urls[] = {lg_surl("http", "127.0.0.1", ng.h2c_port, "/h2"),
                        lg_surl("http", "127.0.0.1", ng.h2c_port, "/")};
  mp_loadgen_spec s = {.endpoints = urls,
                       .n_endpoints = 2,
                       .connections = 4,
                       .threads = 2,
                       .streams = 8,
                       .max_requests = 3000,
                       .protocol = MP_LOADGEN_HTTP2};
  mp_loadgen_run *run = lg_run_spec(&s);
  const mp_loadgen_result *r = mp_loadgen_result_get(run);
  if (r->total.requests != 3000 || r->total.errors)
    fail_msg("requests %llu errors %llu (first error: %s)", (unsigned long long)r->total.requests,
             (unsigned long long)r->total.errors, r->first_error ? r->first_error : "none");
  assert_int_equal(r->total.status[200], 3000);
  assert_int_equal(r->endpoints[0].stats.status[200], r->endpoints[0].stats.requests);
  assert_int_equal(r->protocol, MP_LOADGEN_HTTP2);
  assert_int_equal(r->streams, 8);
  /* Connections rotate on GOAWAY. */
  assert_true(r->connects >= 3000 / KEEPALIVE);
  assert_int_equal(r->unfinished, 0);
  assert_int_equal(lg_nginx_requests(&ng) - before, 3000 + 1);
  mp_loadgen_free(run);
}

/* https + HTTP/2 negotiates h2 by ALPN; the same port gives HTTP/1.1 when asked for it. */
static void test_h2_over_tls_alpn(void **state) {
  (void)state;
  if (!have_nginx) skip();
  const char *urls[] = {lg_surl("https", "localhost", ng.tls_port, "/h2")};
  mp_loadgen_spec s = {.endpoints = urls,
                       .n_endpoints = 1,
                       .connections = 2,
                       .threads = 1,
                       .streams = 4,
                       .max_requests = 400,
                       .protocol = MP_LOADGEN_HTTP2,
                       .tls_ca_pem = ca_pem};
  mp_loadgen_run *run = lg_run_spec(&s);
  const mp_loadgen_result *r = mp_loadgen_result_get(run);
  assert_int_equal(r->total.status[200], 400);
  assert_int_equal(r->total.errors, 0);
  assert_true(r->tls_handshakes >= 2);
  mp_loadgen_free(run);

  s.protocol = MP_LOADGEN_AUTO; /* https:// alone is HTTP/1.1 */
  s.streams = 1;
  run = lg_run_spec(&s);
  r = mp_loadgen_result_get(run);
  assert_int_equal(r->total.status[426], 400);
  assert_int_equal(r->protocol, MP_LOADGEN_HTTP1);
  mp_loadgen_free(run);
}

/* /reset makes nginx reset the stream: those requests fail, the others on the same
 * connections do not. */
static void test_rst_stream(void **state) {
  (void)state;
  if (!have_nginx) skip();
  const char *urls[] = {lg_surl("http", "127.0.0.1", ng.h2c_port, "/"),
                        lg_surl("http", "127.0.0.1", ng.h2c_port, "/reset")};
  mp_loadgen_spec s = {.endpoints = urls,
                       .n_endpoints = 2,
                       .connections = 2,
                       .threads = 1,
                       .streams = 4,
                       .rate = 400,
                       .duration_ns = MP_NS_PER_S,
                       .protocol = MP_LOADGEN_HTTP2};
  mp_loadgen_run *run = lg_run_spec(&s);
  const mp_loadgen_result *r = mp_loadgen_result_get(run);
  assert_null(r->error);
  const mp_loadgen_stats *ok = &r->endpoints[0].stats, *reset = &r->endpoints[1].stats;
  ASSERT_BETWEEN(ok->requests, 150, 250);
  assert_int_equal(ok->errors, 0);
  assert_int_equal(reset->requests, 0);
  ASSERT_BETWEEN(reset->protocol_errors, 150, 250);
  assert_int_equal(reset->errors, reset->protocol_errors);
  assert_non_null(strstr(r->first_error, "the server reset the stream"));
  mp_loadgen_free(run);
}

/* Constant rate over h2 keeps the global schedule; both histograms hold every response. */
static void test_h2_constant_rate(void **state) {
  (void)state;
  if (!have_nginx) skip();
  const char *urls[] = {lg_surl("https", "127.0.0.1", ng.tls_port, "/")};
  mp_loadgen_spec s = {.endpoints = urls,
                       .n_endpoints = 1,
                       .connections = 2,
                       .threads = 2,
                       .streams = 4,
                       .rate = 500,
                       .duration_ns = MP_NS_PER_S,
                       .protocol = MP_LOADGEN_HTTP2,
                       .tls_insecure = true};
  mp_loadgen_run *run = lg_run_spec(&s);
  const mp_loadgen_result *r = mp_loadgen_result_get(run);
  assert_int_equal(r->total.requests, 500);
  assert_int_equal(r->total.errors, 0);
  assert_true(r->requested_rate == 500);
  if (r->max_lag_ns < 20 * MP_NS_PER_MS) ASSERT_BETWEEN(r->actual_rate, 495, 505);
  mp_loadgen_free(run);
}

/* 1 MiB responses on 4 streams at once: flow control must keep them moving. */
static void test_flow_control(void **state) {
  (void)state;
  if (!have_nginx) skip();
  const char *urls[] = {lg_surl("http", "127.0.0.1", ng.h2c_port, "/big")};
  mp_loadgen_spec s = {.endpoints = urls,
                       .n_endpoints = 1,
                       .connections = 1,
                       .threads = 1,
                       .streams = 4,
                       .max_requests = 40,
                       .protocol = MP_LOADGEN_HTTP2};
  mp_loadgen_run *run = lg_run_spec(&s);
  const mp_loadgen_result *r = mp_loadgen_result_get(run);
  assert_int_equal(r->total.status[200], 40);
  assert_int_equal(r->total.errors, 0);
  assert_true(r->total.bytes_read >= 40u * 1024 * 1024);
  mp_loadgen_free(run);
}

static void expect_failure(const mp_loadgen_spec *s, const char *want) {
  mp_loadgen_run *run = lg_run_spec(s);
  const mp_loadgen_result *r = mp_loadgen_result_get(run);
  if (!r->error || !strstr(r->error, want))
    fail_msg("error \"%s\" lacks \"%s\"", r->error ? r->error : "(none)", want);
  assert_int_equal(r->total.requests, 0);
  mp_loadgen_free(run);
}

static void test_not_http2(void **state) {
  (void)state;
  if (!have_nginx) skip();
  /* h2c to an HTTP/1.1 port. */
  const char *plain[] = {lg_surl("http", "127.0.0.1", ng.port, "/")};
  mp_loadgen_spec s = {.endpoints = plain,
                       .n_endpoints = 1,
                       .connections = 2,
                       .threads = 1,
                       .duration_ns = 20 * MP_NS_PER_S,
                       .protocol = MP_LOADGEN_HTTP2};
  expect_failure(&s, "does not speak HTTP/2 with prior knowledge");
  /* TLS without h2 in ALPN. */
  const char *h1tls[] = {lg_surl("https", "127.0.0.1", ng.tls1_port, "/")};
  s.endpoints = h1tls;
  s.tls_insecure = true;
  expect_failure(&s, "the server did not agree to h2 via ALPN");
  /* Streams need a multiplexed protocol. */
  s.protocol = MP_LOADGEN_HTTP1;
  s.streams = 4;
  mp_loadgen_run *none = NULL;
  assert_int_equal(mp_loadgen_start(&s, &none), MP_ERR_INVALID);
  assert_non_null(strstr(mp_error_last(), "need HTTP/2 or gRPC"));
}

static int setup(void **state) {
  (void)state;
  lg_nginx_opts o = {.keepalive_requests = KEEPALIVE};
  have_nginx = lg_nginx_start_opts(&ng, &o);
  if (!have_nginx) return 0;
  char path[512];
  snprintf(path, sizeof path, "%s/certs/ca.pem", ng.dir);
  ca_pem = lg_read_text(path);
  return 0;
}

static int teardown(void **state) {
  (void)state;
  if (have_nginx) lg_nginx_stop(&ng);
  free(ca_pem);
  return 0;
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_h2c_streams_and_goaway),
      cmocka_unit_test(test_h2_over_tls_alpn),
      cmocka_unit_test(test_rst_stream),
      cmocka_unit_test(test_h2_constant_rate),
      cmocka_unit_test(test_flow_control),
      cmocka_unit_test(test_not_http2),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
