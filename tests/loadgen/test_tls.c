/* TLS load (loadgen/engine/transport_tls.c) against a real TLS server: a private nginx
 * with a certificate from a test CA (make_tls_certs.sh). Verification succeeds with the CA
 * and fails without it (a connect error whose message says why), insecure skips it, the
 * server sees the SNI name we send, reconnects resume the TLS session, and a plain-HTTP
 * port is recognized as not speaking TLS. */
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

static lg_proc ng, target; /* target: lg_target delaying every response by 20 ms */
static bool have_nginx;
static char *ca_pem, *other_pem;

/* A run that must fail quickly at the handshake, with `want` in its error. */
static void expect_refused(const mp_loadgen_spec *s, const char *want) {
  int64_t t0 = mp_mono_ns();
  mp_loadgen_run *run = lg_run_spec(s);
  const mp_loadgen_result *r = mp_loadgen_result_get(run);
  if (!r->error || !strstr(r->error, want))
    fail_msg("error \"%s\" lacks \"%s\"", r->error ? r->error : "(none)", want);
  assert_non_null(strstr(r->error, "TLS handshake with"));
  assert_int_equal(r->total.requests, 0);
  assert_true(r->total.connect_errors > 0);
  assert_int_equal(r->total.connect_errors, r->total.errors);
  assert_true(mp_mono_ns() - t0 < 3 * MP_NS_PER_S);
  mp_loadgen_free(run);
}

static void test_verified_with_ca(void **state) {
  (void)state;
  if (!have_nginx) skip();
  int64_t before = lg_nginx_requests(&ng);
  const char *urls[] = {lg_surl("https", "127.0.0.1", ng.tls_port, "/"),
                        lg_surl("https", "localhost", ng.tls_port, "/")};
  mp_loadgen_spec s = {.endpoints = urls,
                       .n_endpoints = 2,
                       .connections = 4,
                       .threads = 2,
                       .max_requests = 400,
                       .tls_ca_pem = ca_pem};
  mp_loadgen_run *run = lg_run_spec(&s);
  const mp_loadgen_result *r = mp_loadgen_result_get(run);
  assert_null(r->error);
  assert_int_equal(r->total.requests, 400);
  assert_int_equal(r->total.status[200], 400);
  assert_int_equal(r->total.errors, 0);
  assert_true(r->tls_handshakes >= 4);
  assert_int_equal(r->tls_handshakes, r->connects);
  /* Every request reached nginx (+1: the status request itself). */
  assert_int_equal(lg_nginx_requests(&ng) - before, 400 + 1);
  mp_loadgen_free(run);

  /* Constant rate over TLS keeps the global schedule. */
  s.max_requests = 0;
  s.rate = 200;
  s.duration_ns = MP_NS_PER_S;
  run = lg_run_spec(&s);
  r = mp_loadgen_result_get(run);
  assert_int_equal(r->total.requests, 200);
  assert_int_equal(r->total.errors, 0);
  mp_loadgen_free(run);
}

static void test_refused_without_the_ca(void **state) {
  (void)state;
  if (!have_nginx) skip();
  const char *urls[] = {lg_surl("https", "127.0.0.1", ng.tls_port, "/")};
  mp_loadgen_spec s = {.endpoints = urls,
                       .n_endpoints = 1,
                       .connections = 2,
                       .threads = 1,
                       .duration_ns = 20 * MP_NS_PER_S};
  /* The system's CAs do not know the test CA, nor does an unrelated one. */
  expect_refused(&s, "certificate verify failed: unable to get local issuer certificate");
  s.tls_ca_pem = other_pem;
  expect_refused(&s, "certificate verify failed: unable to get local issuer certificate");
  /* The right CA, but a name the certificate does not carry. */
  s.tls_ca_pem = ca_pem;
  s.tls_sni = "wrong.test";
  expect_refused(&s, "certificate verify failed: hostname mismatch");
  /* https:// to a port that speaks plain HTTP. */
  s.tls_sni = NULL;
  const char *plain[] = {lg_surl("https", "127.0.0.1", ng.port, "/")};
  s.endpoints = plain;
  expect_refused(&s, "does the server speak TLS on this port?");
}

static void test_insecure(void **state) {
  (void)state;
  if (!have_nginx) skip();
  const char *urls[] = {lg_surl("https", "127.0.0.1", ng.tls_port, "/")};
  mp_loadgen_spec s = {.endpoints = urls,
                       .n_endpoints = 1,
                       .connections = 2,
                       .threads = 1,
                       .max_requests = 100,
                       .tls_insecure = true,
                       .tls_sni = "wrong.test"};
  mp_loadgen_run *run = lg_run_spec(&s);
  const mp_loadgen_result *r = mp_loadgen_result_get(run);
  assert_int_equal(r->total.requests, 100);
  assert_int_equal(r->total.status[200], 100);
  assert_int_equal(r->total.errors, 0);
  mp_loadgen_free(run);
}

/* A closed-loop run over TLS with many connections naps between polls; the kernel's receive
 * times of the TLS records keep its latencies true: 20 ms of lg_target behind nginx, within
 * one histogram bucket + 2 ms (the proxy hop and the TLS work). A busy machine can make
 * nginx or the target late, so up to three attempts. */
static void test_closed_loop_latency_truth(void **state) {
  (void)state;
  if (!have_nginx) skip();
  const char *urls[] = {lg_surl("https", "127.0.0.1", ng.tls1_port, "/delayed")};
  mp_loadgen_spec s = {.endpoints = urls,
                       .n_endpoints = 1,
                       .connections = 32,
                       .threads = 1,
                       .duration_ns = MP_NS_PER_S,
                       .tls_insecure = true};
  char off[200] = "";
  for (int attempt = 1; attempt <= 3; attempt++) {
    mp_loadgen_run *run = lg_run_spec(&s);
    const mp_loadgen_result *r = mp_loadgen_result_get(run);
    uint64_t requests = r->total.requests, errors = r->total.errors, ok = r->total.status[200];
    const char *why = lg_latency_off(r->total.uncorrected, 20000, 2000);
    mp_strlcpy(off, why ? why : "", sizeof off);
    mp_loadgen_free(run);
    assert_true(requests >= 32);
    assert_int_equal(errors, 0);
    assert_int_equal(ok, requests);
    if (!off[0]) return;
    fprintf(stderr, "attempt %d: %s\n", attempt, off);
  }
  fail_msg("%s", off);
}

/* nginx answers /sni with 200 only when the handshake carried SNI "sni.test". */
static void test_sni_seen_by_the_server(void **state) {
  (void)state;
  if (!have_nginx) skip();
  static const struct {
    const char *host, *sni;
    int code;
  } cases[] = {
      {"127.0.0.1", "sni.test", 200}, /* an IP URL with --sni: sent and verified */
      {"localhost", "sni.test", 200},
      {"localhost", NULL, 421}, /* the URL's host is sent */
      {"127.0.0.1", NULL, 421}, /* no SNI for an IP literal */
  };
  for (size_t i = 0; i < MP_ARRAY_LEN(cases); i++) {
    const char *urls[] = {lg_surl("https", cases[i].host, ng.tls_port, "/sni")};
    mp_loadgen_spec s = {.endpoints = urls,
                         .n_endpoints = 1,
                         .connections = 1,
                         .threads = 1,
                         .max_requests = 20,
                         .tls_ca_pem = ca_pem,
                         .tls_sni = cases[i].sni};
    mp_loadgen_run *run = lg_run_spec(&s);
    const mp_loadgen_result *r = mp_loadgen_result_get(run);
    if (r->total.status[cases[i].code] != 20)
      fail_msg("%s with SNI %s: %llu x %d, want 20 (first error: %s)", urls[0],
               cases[i].sni ? cases[i].sni : "(none)",
               (unsigned long long)r->total.status[cases[i].code], cases[i].code,
               r->first_error ? r->first_error : "none");
    mp_loadgen_free(run);
  }
}

/* /short closes the connection after 5 requests: the reconnects resume the session. */
static void test_session_resumption(void **state) {
  (void)state;
  if (!have_nginx) skip();
  const char *urls[] = {lg_surl("https", "localhost", ng.tls_port, "/short")};
  mp_loadgen_spec s = {.endpoints = urls,
                       .n_endpoints = 1,
                       .connections = 2,
                       .threads = 1,
                       .max_requests = 100,
                       .tls_ca_pem = ca_pem};
  mp_loadgen_run *run = lg_run_spec(&s);
  const mp_loadgen_result *r = mp_loadgen_result_get(run);
  assert_int_equal(r->total.requests, 100);
  assert_int_equal(r->total.errors, 0);
  assert_true(r->connects >= 20);
  assert_true(r->tls_handshakes >= 20);
  /* Only the first connection of each connection slot has nothing to resume. */
  if (r->tls_resumed + 2 < r->tls_handshakes)
    fail_msg("%llu of %llu handshakes resumed a session", (unsigned long long)r->tls_resumed,
             (unsigned long long)r->tls_handshakes);
  mp_loadgen_free(run);
}

static void test_bad_options(void **state) {
  (void)state;
  const char *urls[] = {"https://127.0.0.1:1/"};
  mp_loadgen_spec s = {.endpoints = urls, .n_endpoints = 1, .tls_ca_pem = "not a certificate"};
  mp_loadgen_run *run = NULL;
  assert_int_equal(mp_loadgen_start(&s, &run), MP_ERR_INVALID);
  assert_null(run);
  assert_non_null(strstr(mp_error_last(), "no certificate found in the PEM text"));
}

static int setup(void **state) {
  (void)state;
  const char *args[] = {"--delay", "20ms", NULL};
  lg_target_start(&target, args);
  lg_nginx_opts o = {.proxy_port = target.port};
  have_nginx = lg_nginx_start_opts(&ng, &o);
  if (!have_nginx) return 0;
  char path[512];
  snprintf(path, sizeof path, "%s/certs/ca.pem", ng.dir);
  ca_pem = lg_read_text(path);
  snprintf(path, sizeof path, "%s/certs/other.pem", ng.dir);
  other_pem = lg_read_text(path);
  return 0;
}

static int teardown(void **state) {
  (void)state;
  if (have_nginx) lg_nginx_stop(&ng);
  lg_target_stop(&target);
  free(ca_pem);
  free(other_pem);
  return 0;
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_verified_with_ca),
      cmocka_unit_test(test_refused_without_the_ca),
      cmocka_unit_test(test_insecure),
      cmocka_unit_test(test_sni_seen_by_the_server),
      cmocka_unit_test(test_session_resumption),
      cmocka_unit_test(test_bad_options),
      cmocka_unit_test(test_closed_loop_latency_truth),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
