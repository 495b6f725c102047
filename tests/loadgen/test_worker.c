/* The worker (meshplane-loadgen serve) loading TLS, HTTP/2 and gRPC as a LoadSpec says:
 * the real worker process, called over gRPC with lib/rpc's client like meshplane-server
 * calls it, against nginx (h2 over TLS with the test CA, h2c) and lib/rpc's Echo server.
 * What is checked is what the server gets back: the Result's counts and RetCodes. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "lgrun.h"
#include "lgtest.h"
#include "meshplane/base.h"
#include "meshplane/rpc.h"
#include "meshplane/v1/loadgen.pb-c.h"

/* Serialized meshplane.test.EchoRequest{fail_code: 5} (tests/rpc/test.proto). */
static uint8_t fail_5[] = {0x18, 0x05};

static lg_proc ng, echo;
static bool have_nginx, have_echo;
static pid_t worker_pid;
static char worker_addr[64], dir[] = "/tmp/mp-lg-worker-XXXXXX";
static mp_rpc_channel *ch;
static char *ca_pem;

/* Starts `meshplane-loadgen serve` on a free port and waits for its ready file. */
static void worker_start(void) {
  char ready[128];
  snprintf(ready, sizeof ready, "%s/ready", dir);
  worker_pid = fork();
  if (worker_pid < 0) abort();
  if (worker_pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    execl(LG_CLI_BIN, LG_CLI_BIN, "serve", "--listen", "127.0.0.1:0", "--ready-file", ready,
          "--log-level", "warn", (char *)NULL);
    _exit(127);
  }
  for (int i = 0; i < 1000 && !worker_addr[0]; i++) {
    FILE *f = fopen(ready, "r");
    if (f) {
      if (!fgets(worker_addr, sizeof worker_addr, f)) worker_addr[0] = '\0';
      fclose(f);
      worker_addr[strcspn(worker_addr, "\n")] = '\0';
    }
    if (!worker_addr[0]) mp_sleep_ms(10);
  }
  if (!worker_addr[0]) {
    fprintf(stderr, "test_worker: the worker wrote no ready file\n");
    abort();
  }
}

/* Runs a LoadSpec on the worker; returns the Result event (the caller frees the event). */
static Meshplane__V1__RunEvent *run_on_worker(Meshplane__V1__LoadSpec *spec) {
  Meshplane__V1__RunRequest req = MESHPLANE__V1__RUN_REQUEST__INIT;
  req.spec = spec;
  mp_rpc_call_opts o = {.timeout_ms = 30000, .wait_for_ready = true};
  mp_rpc_stream *s = NULL;
  mp_rpc_status st;
  assert_int_equal(mp_rpc_stream_open(ch, &meshplane__v1__load_generator__descriptor, "Run",
                                      &req.base, &o, &s, &st),
                   MP_RPC_OK);
  Meshplane__V1__RunEvent *result = NULL;
  ProtobufCMessage *msg;
  while (mp_rpc_stream_next(s, &msg, &st)) {
    Meshplane__V1__RunEvent *ev = (Meshplane__V1__RunEvent *)msg;
    if (ev->event_case == MESHPLANE__V1__RUN_EVENT__EVENT_RESULT && !result)
      result = ev;
    else
      protobuf_c_message_free_unpacked(msg, NULL);
  }
  if (st.code != MP_RPC_OK) fail_msg("Run ended with %d: %s", (int)st.code, st.message);
  mp_rpc_stream_free(s);
  if (!result) fail_msg("Run sent no result");
  return result;
}

static uint64_t ret_code(const Meshplane__V1__Result *r, int code) {
  for (size_t i = 0; i < r->n_ret_codes; i++)
    if (r->ret_codes[i]->code == code) return r->ret_codes[i]->count;
  return 0;
}

static void test_info_lists_the_protocols(void **state) {
  (void)state;
  Meshplane__V1__InfoRequest req = MESHPLANE__V1__INFO_REQUEST__INIT;
  ProtobufCMessage *resp = NULL;
  mp_rpc_call_opts o = {.timeout_ms = 10000, .wait_for_ready = true};
  mp_rpc_status st;
  assert_int_equal(mp_rpc_unary(ch, &meshplane__v1__load_generator__descriptor, "Info", &req.base,
                                &resp, &o, &st),
                   MP_RPC_OK);
  Meshplane__V1__InfoResponse *info = (Meshplane__V1__InfoResponse *)resp;
  bool h2 = false, grpc = false;
  for (size_t i = 0; i < info->n_protocols; i++) {
    h2 |= info->protocols[i] == MESHPLANE__V1__PROTOCOL__PROTOCOL_HTTP2;
    grpc |= info->protocols[i] == MESHPLANE__V1__PROTOCOL__PROTOCOL_GRPC;
  }
  assert_true(h2 && grpc);
  protobuf_c_message_free_unpacked(resp, NULL);
}

/* HTTP/2 with streams over TLS (CA from the spec, h2 by ALPN) and h2c, closed loop:
 * nginx answers /h2 with 200 only over HTTP/2. */
static void test_http2_over_tls_and_h2c(void **state) {
  (void)state;
  if (!have_nginx) skip();
  char *urls[] = {(char *)lg_surl("https", "localhost", ng.tls_port, "/h2"),
                  (char *)lg_surl("http", "127.0.0.1", ng.h2c_port, "/h2")};
  Meshplane__V1__LoadOptions o = MESHPLANE__V1__LOAD_OPTIONS__INIT;
  o.protocol = MESHPLANE__V1__PROTOCOL__PROTOCOL_HTTP2;
  o.streams_per_connection = 4;
  o.threads = 1;
  o.max_requests = 400;
  o.tls_ca_pem = ca_pem;
  Meshplane__V1__LoadSpec spec = MESHPLANE__V1__LOAD_SPEC__INIT;
  spec.run_id = "h2";
  spec.endpoints = urls;
  spec.n_endpoints = 2;
  spec.connections = 2;
  spec.duration_ms = 20000;
  spec.options = &o;
  Meshplane__V1__RunEvent *ev = run_on_worker(&spec);
  const Meshplane__V1__Result *r = ev->result;
  assert_int_equal(r->requests, 400);
  assert_int_equal(r->errors, 0);
  assert_int_equal(ret_code(r, 200), 400);
  assert_int_equal(r->n_endpoints, 2);
  protobuf_c_message_free_unpacked(&ev->base, NULL);

  /* Without the CA the handshakes fail, and the worker says why. */
  o.tls_ca_pem = "";
  spec.n_endpoints = 1;
  spec.connections = 1;
  Meshplane__V1__RunRequest req = MESHPLANE__V1__RUN_REQUEST__INIT;
  req.spec = &spec;
  mp_rpc_call_opts co = {.timeout_ms = 30000};
  mp_rpc_stream *s = NULL;
  mp_rpc_status st;
  assert_int_equal(mp_rpc_stream_open(ch, &meshplane__v1__load_generator__descriptor, "Run",
                                      &req.base, &co, &s, &st),
                   MP_RPC_OK);
  ProtobufCMessage *msg;
  while (mp_rpc_stream_next(s, &msg, &st)) protobuf_c_message_free_unpacked(msg, NULL);
  mp_rpc_stream_free(s);
  assert_int_equal(st.code, MP_RPC_FAILED_PRECONDITION);
  if (!strstr(st.message, "certificate verify failed"))
    fail_msg("status message \"%s\" lacks the TLS reason", st.message);
}

/* gRPC at a constant rate: a named method with a payload; grpc-status 5 comes back as the
 * RetCode of every call, each counted as an error. */
static void test_grpc_constant_rate(void **state) {
  (void)state;
  if (!have_echo) skip();
  char *urls[] = {(char *)lg_surl("grpc", "127.0.0.1", echo.port, "")};
  Meshplane__V1__LoadOptions o = MESHPLANE__V1__LOAD_OPTIONS__INIT;
  o.streams_per_connection = 2;
  o.threads = 1;
  o.grpc_method = "/meshplane.test.Echo/Fail";
  o.grpc_payload.data = fail_5;
  o.grpc_payload.len = sizeof fail_5;
  Meshplane__V1__LoadSpec spec = MESHPLANE__V1__LOAD_SPEC__INIT;
  spec.run_id = "grpc";
  spec.endpoints = urls;
  spec.n_endpoints = 1;
  spec.connections = 2;
  spec.qps = 200;
  spec.duration_ms = 1000;
  spec.options = &o;
  Meshplane__V1__RunEvent *ev = run_on_worker(&spec);
  const Meshplane__V1__Result *r = ev->result;
  assert_int_equal(r->requests, 200);
  assert_int_equal(ret_code(r, 5), 200);
  assert_int_equal(r->errors, 200);
  assert_int_equal(r->socket_errors, 0);
  protobuf_c_message_free_unpacked(&ev->base, NULL);
}

static int setup(void **state) {
  (void)state;
  if (!mkdtemp(dir)) abort();
  lg_nginx_opts o = {0};
  have_nginx = lg_nginx_start_opts(&ng, &o);
  if (have_nginx) {
    char path[300];
    snprintf(path, sizeof path, "%s/certs/ca.pem", ng.dir);
    ca_pem = lg_read_text(path);
  }
  have_echo = lg_echo_start(&echo);
  worker_start();
  mp_rpc_init();
  return mp_rpc_channel_new(worker_addr, NULL, &ch) == MP_OK ? 0 : -1;
}

static int teardown(void **state) {
  (void)state;
  mp_rpc_channel_free(ch);
  mp_rpc_shutdown();
  kill(worker_pid, SIGTERM);
  int st = 0;
  waitpid(worker_pid, &st, 0);
  /* A clean exit (under ASan: no leak, no error report in the worker either). */
  bool clean = WIFEXITED(st) && WEXITSTATUS(st) == 0;
  if (!clean) fprintf(stderr, "test_worker: the worker ended with status 0x%x\n", st);
  if (have_nginx) lg_nginx_stop(&ng);
  if (have_echo) lg_echo_stop(&echo);
  free(ca_pem);
  char cmd[160];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  return system(cmd) == 0 && clean ? 0 : -1;
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_info_lists_the_protocols),
      cmocka_unit_test(test_http2_over_tls_and_h2c),
      cmocka_unit_test(test_grpc_constant_rate),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
