/* lib/rpc with TLS: server certificate verified by the client, and mutual TLS with a
 * client CA. Certificates come from make_certs.sh (openssl) in a temp directory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "echo_service.h"

#define ECHO (&meshplane__test__echo__descriptor)

static char dir[] = "/tmp/mp_tls_XXXXXX";
static char ca[128], srv_cert[128], srv_key[128], cli_cert[128], cli_key[128], other_ca[128];

static int make_certs(void **state) {
  if (!mkdtemp(dir)) return -1;
  char cmd[512];
  snprintf(cmd, sizeof cmd, "bash %s %s", MAKE_CERTS, dir);
  if (system(cmd) != 0) return -1;
  snprintf(ca, sizeof ca, "%s/ca.pem", dir);
  snprintf(srv_cert, sizeof srv_cert, "%s/server.pem", dir);
  snprintf(srv_key, sizeof srv_key, "%s/server.key", dir);
  snprintf(cli_cert, sizeof cli_cert, "%s/client.pem", dir);
  snprintf(cli_key, sizeof cli_key, "%s/client.key", dir);
  snprintf(other_ca, sizeof other_ca, "%s/other.pem", dir);
  return 0;
}

static int remove_certs(void **state) {
  char cmd[256];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  return system(cmd) == 0 ? 0 : -1;
}

static mp_rpc_code say(mp_rpc_server *s, const mp_rpc_channel_opts *o, mp_rpc_status *st) {
  char target[64];
  snprintf(target, sizeof target, "localhost:%d", mp_rpc_server_port(s));
  mp_rpc_channel *ch;
  assert_int_equal(mp_rpc_channel_new(target, o, &ch), MP_OK);
  Meshplane__Test__EchoRequest req = MESHPLANE__TEST__ECHO_REQUEST__INIT;
  req.text = "over tls";
  ProtobufCMessage *resp = NULL;
  mp_rpc_call_opts co = {.timeout_ms = 5000};
  mp_rpc_code code = mp_rpc_unary(ch, ECHO, "Say", &req.base, &resp, &co, st);
  if (resp) {
    assert_string_equal(((Meshplane__Test__EchoReply *)resp)->text, "over tls");
    protobuf_c_message_free_unpacked(resp, NULL);
  }
  mp_rpc_channel_free(ch);
  return code;
}

static mp_rpc_server *tls_server(const char *client_ca) {
  mp_rpc_server_opts o = {.listen = "127.0.0.1:0",
                          .tls_cert_file = srv_cert,
                          .tls_key_file = srv_key,
                          .tls_client_ca_file = client_ca};
  mp_rpc_server *s;
  if (mp_rpc_server_new(&o, &s) != MP_OK) fail_msg("%s", mp_error_last());
  mp_rpc_server_add_service(s, echo_service());
  mp_rpc_server_start(s);
  return s;
}

static void test_server_tls(void **state) {
  mp_rpc_server *s = tls_server(NULL);
  mp_rpc_status st;
  mp_rpc_channel_opts good = {.tls_ca_file = ca};
  if (say(s, &good, &st) != MP_RPC_OK) fail_msg("tls call: %s", st.message);
  /* Plaintext against a TLS port, and a CA that did not sign the server: refused. */
  assert_int_equal(say(s, NULL, &st), MP_RPC_UNAVAILABLE);
  mp_rpc_channel_opts wrong = {.tls_ca_file = other_ca};
  assert_int_equal(say(s, &wrong, &st), MP_RPC_UNAVAILABLE);
  /* A CA file that does not exist is a clear local error. */
  mp_rpc_channel *ch;
  mp_rpc_channel_opts missing = {.tls_ca_file = "/nonexistent/ca.pem"};
  assert_int_equal(mp_rpc_channel_new("localhost:1", &missing, &ch), MP_ERR_IO);
  assert_non_null(strstr(mp_error_last(), "/nonexistent/ca.pem"));
  mp_rpc_server_free(s);
}

static void test_mutual_tls(void **state) {
  mp_rpc_server *s = tls_server(ca);
  mp_rpc_status st;
  mp_rpc_channel_opts with_cert = {
      .tls_ca_file = ca, .tls_cert_file = cli_cert, .tls_key_file = cli_key};
  if (say(s, &with_cert, &st) != MP_RPC_OK) fail_msg("mtls call: %s", st.message);
  mp_rpc_channel_opts no_cert = {.tls_ca_file = ca};
  assert_int_equal(say(s, &no_cert, &st), MP_RPC_UNAVAILABLE);
  mp_rpc_server_free(s);
}

int main(void) {
  mp_rpc_init();
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_server_tls),
                                     cmocka_unit_test(test_mutual_tls)};
  int rc = cmocka_run_group_tests(tests, make_certs, remove_certs);
  mp_rpc_shutdown();
  return rc;
}
