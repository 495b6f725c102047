/* Interop, direction 2: lib/rpc's client against a python3-grpcio server (py_server.py)
 * of the same Echo service. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "echo_service.h"

#define ECHO (&meshplane__test__echo__descriptor)

static pid_t server_pid;
static int server_stdin = -1;
static char target[64];

static int start_py_server(void **state) {
  int in[2], out[2];
  if (pipe(in) || pipe(out)) return -1;
  server_pid = fork();
  if (server_pid == 0) {
    dup2(in[0], 0);
    dup2(out[1], 1);
    close(in[1]);
    close(out[0]);
    execl("/usr/bin/python3", "python3", PY_SERVER, (char *)NULL);
    _exit(127);
  }
  close(in[0]);
  close(out[1]);
  server_stdin = in[1];
  FILE *f = fdopen(out[0], "r");
  char line[128];
  int port = 0;
  while (fgets(line, sizeof line, f))
    if (sscanf(line, "PORT %d", &port) == 1) break;
  fclose(f);
  if (port <= 0) {
    fprintf(stderr, "py_server.py did not start\n");
    return -1;
  }
  snprintf(target, sizeof target, "127.0.0.1:%d", port);
  return 0;
}

static int stop_py_server(void **state) {
  close(server_stdin); /* the server exits when its stdin closes */
  int status;
  waitpid(server_pid, &status, 0);
  return 0;
}

static void test_unary(void **state) {
  mp_rpc_channel *ch;
  assert_int_equal(mp_rpc_channel_new(target, NULL, &ch), MP_OK);
  Meshplane__Test__EchoRequest req = MESHPLANE__TEST__ECHO_REQUEST__INIT;
  req.text = "from C";
  uint8_t blob[] = {0, 1, 2, 255};
  req.blob.data = blob;
  req.blob.len = sizeof blob;
  const char *md[] = {"x-test", "c-client", NULL};
  mp_rpc_call_opts o = {.timeout_ms = 10000, .metadata = md};
  ProtobufCMessage *resp;
  mp_rpc_status st;
  if (mp_rpc_unary(ch, ECHO, "Say", &req.base, &resp, &o, &st) != MP_RPC_OK)
    fail_msg("Say: %s", st.message);
  Meshplane__Test__EchoReply *r = (Meshplane__Test__EchoReply *)resp;
  assert_string_equal(r->text, "from C");
  assert_string_equal(r->metadata, "x-test=c-client;auth=");
  assert_int_equal(r->blob.len, sizeof blob);
  assert_memory_equal(r->blob.data, blob, sizeof blob);
  protobuf_c_message_free_unpacked(resp, NULL);

  req.fail_code = MP_RPC_FAILED_PRECONDITION;
  req.text = "install the mesh first";
  assert_int_equal(mp_rpc_unary(ch, ECHO, "Fail", &req.base, &resp, &o, &st),
                   MP_RPC_FAILED_PRECONDITION);
  assert_string_equal(st.message, "install the mesh first");

  req.sleep_ms = 5000;
  o.timeout_ms = 300;
  assert_int_equal(mp_rpc_unary(ch, ECHO, "Sleep", &req.base, &resp, &o, &st),
                   MP_RPC_DEADLINE_EXCEEDED);
  o.timeout_ms = 10000;
  assert_int_equal(mp_rpc_unary(ch, &meshplane__test__unregistered__descriptor, "Nothing",
                                &req.base, &resp, &o, &st),
                   MP_RPC_UNIMPLEMENTED);
  mp_rpc_channel_free(ch);
}

static void test_stream(void **state) {
  mp_rpc_channel *ch;
  assert_int_equal(mp_rpc_channel_new(target, NULL, &ch), MP_OK);
  Meshplane__Test__EchoRequest req = MESHPLANE__TEST__ECHO_REQUEST__INIT;
  req.text = "s";
  req.count = 1000;
  mp_rpc_stream *s;
  mp_rpc_status st;
  mp_rpc_call_opts o = {.timeout_ms = 30000};
  assert_int_equal(mp_rpc_stream_open(ch, ECHO, "Count", &req.base, &o, &s, &st), MP_RPC_OK);
  ProtobufCMessage *m;
  uint32_t n = 0;
  while (mp_rpc_stream_next(s, &m, &st)) {
    assert_int_equal(((Meshplane__Test__EchoReply *)m)->seq, n);
    n++;
    protobuf_c_message_free_unpacked(m, NULL);
  }
  assert_int_equal(st.code, MP_RPC_OK);
  assert_int_equal(n, 1000);
  mp_rpc_stream_free(s);

  /* Cancel a stream that would run forever. */
  req.count = 0;
  req.interval_ms = 20;
  assert_int_equal(mp_rpc_stream_open(ch, ECHO, "Count", &req.base, &o, &s, &st), MP_RPC_OK);
  for (int i = 0; i < 3; i++) {
    assert_true(mp_rpc_stream_next(s, &m, &st));
    protobuf_c_message_free_unpacked(m, NULL);
  }
  mp_rpc_stream_cancel(s);
  while (mp_rpc_stream_next(s, &m, &st)) protobuf_c_message_free_unpacked(m, NULL);
  assert_int_equal(st.code, MP_RPC_CANCELLED);
  mp_rpc_stream_free(s);

  /* Deadline in the middle of a stream. */
  o.timeout_ms = 400;
  assert_int_equal(mp_rpc_stream_open(ch, ECHO, "Count", &req.base, &o, &s, &st), MP_RPC_OK);
  n = 0;
  while (mp_rpc_stream_next(s, &m, &st)) {
    n++;
    protobuf_c_message_free_unpacked(m, NULL);
  }
  assert_int_equal(st.code, MP_RPC_DEADLINE_EXCEEDED);
  assert_true(n >= 3);
  mp_rpc_stream_free(s);
  mp_rpc_channel_free(ch);
}

int main(void) {
  signal(SIGPIPE, SIG_IGN);
  mp_rpc_init();
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_unary), cmocka_unit_test(test_stream)};
  int rc = cmocka_run_group_tests(tests, start_py_server, stop_py_server);
  mp_rpc_shutdown();
  return rc;
}
