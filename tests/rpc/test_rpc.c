/* lib/rpc over real sockets: a server and clients in one process, talking gRPC over
 * loopback TCP. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "echo_service.h"
#include "grpc/health/v1/health.pb-c.h"

#define ECHO (&meshplane__test__echo__descriptor)

/* Under valgrind the load tests shrink: MP_TEST_SCALE=10 divides the call counts. */
static int scale(int n) {
  const char *s = getenv("MP_TEST_SCALE");
  int d = s ? atoi(s) : 1;
  return d > 1 ? (n / d > 0 ? n / d : 1) : n;
}

/* Deadlines of calls that must succeed: generous, and more so under valgrind on a busy
 * machine (the first call also connects). */
static int64_t ok_deadline(void) { return getenv("MP_TEST_SCALE") ? 60000 : 15000; }

static mp_rpc_server *start_server(const mp_rpc_server_opts *extra) {
  mp_rpc_server_opts o = extra ? *extra : (mp_rpc_server_opts){0};
  if (!o.listen) o.listen = "127.0.0.1:0";
  mp_rpc_server *s = NULL;
  if (mp_rpc_server_new(&o, &s) != MP_OK) fail_msg("server: %s", mp_error_last());
  assert_int_equal(mp_rpc_server_add_service(s, echo_service()), MP_OK);
  assert_int_equal(mp_rpc_server_start(s), MP_OK);
  return s;
}

static mp_rpc_channel *connect_to(mp_rpc_server *s, const mp_rpc_channel_opts *o) {
  char target[64];
  snprintf(target, sizeof target, "127.0.0.1:%d", mp_rpc_server_port(s));
  mp_rpc_channel *ch = NULL;
  assert_int_equal(mp_rpc_channel_new(target, o, &ch), MP_OK);
  return ch;
}

/* Calls Echo.<method> with req and returns the code; *out gets the reply if wanted. */
static mp_rpc_code call(mp_rpc_channel *ch, const char *method, Meshplane__Test__EchoRequest *req,
                        int64_t timeout_ms, Meshplane__Test__EchoReply **out, mp_rpc_status *st) {
  ProtobufCMessage *resp = NULL;
  mp_rpc_call_opts o = {.timeout_ms = timeout_ms};
  mp_rpc_code code = mp_rpc_unary(ch, ECHO, method, &req->base, &resp, &o, st);
  if (out)
    *out = (Meshplane__Test__EchoReply *)resp;
  else if (resp)
    protobuf_c_message_free_unpacked(resp, NULL);
  return code;
}

/* lib/rpc's table of unary methods, read from the .proto files at build time (the server
 * holds a unary reply back for the status batch, never a stream's first message). */
bool mp__rpc_method_is_unary(const char *service, const char *method);

static void test_unary_method_table(void **state) {
  (void)state;
  static const struct {
    const char *service, *method;
    bool unary;
  } cases[] = {
      {"meshplane.test.Echo", "Say", true},
      {"grpc.health.v1.Health", "Check", true},
      {"meshes.MeshService", "ApplyOperation", true},
      {"meshplane.v1.Meshplane", "GetProfile", true},
      {"meshplane.test.Echo", "Count", false},
      {"grpc.health.v1.Health", "Watch", false},
      {"meshes.MeshService", "StreamEvents", false},
      {"meshplane.v1.Meshplane", "WatchEvents", false},
      {"meshplane.v1.Meshplane", "RunProfile", false},
      {"meshplane.v1.LoadGenerator", "Run", false},
      /* Not declared anywhere, or a prefix of a declared name: served as a stream. */
      {"meshplane.test.Echo", "Sa", false},
      {"meshplane.test.Ech", "Say", false},
      {"other.Service", "Say", false},
  };
  for (size_t i = 0; i < MP_ARRAY_LEN(cases); i++)
    if (mp__rpc_method_is_unary(cases[i].service, cases[i].method) != cases[i].unary)
      fail_msg("%s/%s should be %s", cases[i].service, cases[i].method,
               cases[i].unary ? "unary" : "a stream");
}

static void test_unary_and_metadata(void **state) {
  mp_rpc_server *s = start_server(NULL);
  mp_rpc_channel *ch = connect_to(s, NULL);
  Meshplane__Test__EchoRequest req = MESHPLANE__TEST__ECHO_REQUEST__INIT;
  req.text = "hello";
  uint8_t blob[3] = {0, 1, 255};
  req.blob.data = blob;
  req.blob.len = sizeof blob;
  ProtobufCMessage *resp = NULL;
  const char *md[] = {"x-test", "value-1", NULL};
  mp_rpc_call_opts o = {.timeout_ms = ok_deadline(), .metadata = md};
  mp_rpc_status st;
  assert_int_equal(mp_rpc_unary(ch, ECHO, "Say", &req.base, &resp, &o, &st), MP_RPC_OK);
  Meshplane__Test__EchoReply *r = (Meshplane__Test__EchoReply *)resp;
  assert_string_equal(r->text, "hello");
  assert_string_equal(r->metadata, "x-test=value-1;auth=");
  assert_int_equal(r->blob.len, 3);
  assert_memory_equal(r->blob.data, blob, 3);
  protobuf_c_message_free_unpacked(resp, NULL);

  /* Invalid metadata is refused before anything is sent; the channel stays usable. */
  const char *bad[] = {"X-Upper", "v", NULL};
  o.metadata = bad;
  assert_int_equal(mp_rpc_unary(ch, ECHO, "Say", &req.base, &resp, &o, &st),
                   MP_RPC_INVALID_ARGUMENT);
  assert_non_null(strstr(st.message, "X-Upper"));
  /* A request of the wrong type and a method the service lacks fail locally. */
  Meshplane__Test__EchoReply wrong = MESHPLANE__TEST__ECHO_REPLY__INIT;
  assert_int_equal(mp_rpc_unary(ch, ECHO, "Say", &wrong.base, &resp, NULL, &st),
                   MP_RPC_INVALID_ARGUMENT);
  assert_int_equal(mp_rpc_unary(ch, ECHO, "Shout", &req.base, &resp, NULL, &st),
                   MP_RPC_UNIMPLEMENTED);
  assert_int_equal(call(ch, "Say", &req, ok_deadline(), NULL, &st), MP_RPC_OK);
  mp_rpc_channel_free(ch);
  mp_rpc_server_free(s);
}

static void test_stream_1000(void **state) {
  mp_rpc_server *s = start_server(NULL);
  mp_rpc_channel *ch = connect_to(s, NULL);
  Meshplane__Test__EchoRequest req = MESHPLANE__TEST__ECHO_REQUEST__INIT;
  req.text = "tick";
  req.count = 1000;
  mp_rpc_stream *stream = NULL;
  mp_rpc_status st;
  mp_rpc_call_opts o = {.timeout_ms = ok_deadline() * 2};
  assert_int_equal(mp_rpc_stream_open(ch, ECHO, "Count", &req.base, &o, &stream, &st), MP_RPC_OK);
  ProtobufCMessage *m;
  uint32_t n = 0;
  while (mp_rpc_stream_next(stream, &m, &st)) {
    Meshplane__Test__EchoReply *r = (Meshplane__Test__EchoReply *)m;
    if (r->seq != n) fail_msg("message %u has seq %u", n, r->seq);
    assert_string_equal(r->text, "tick");
    n++;
    protobuf_c_message_free_unpacked(m, NULL);
  }
  if (st.code != MP_RPC_OK)
    fail_msg("stream ended with %s: %s", mp_rpc_code_name(st.code), st.message);
  assert_int_equal(n, 1000);
  /* next after the end keeps saying so. */
  assert_false(mp_rpc_stream_next(stream, &m, &st));
  mp_rpc_stream_free(stream);
  mp_rpc_channel_free(ch);
  mp_rpc_server_free(s);
}

static void test_errors(void **state) {
  mp_rpc_server *s = start_server(NULL);
  mp_rpc_channel *ch = connect_to(s, NULL);
  Meshplane__Test__EchoRequest req = MESHPLANE__TEST__ECHO_REQUEST__INIT;
  mp_rpc_status st;
  /* A handler's status and message reach the client as they are. */
  req.text = "name must not be empty: give the profile a name";
  req.fail_code = MP_RPC_INVALID_ARGUMENT;
  assert_int_equal(call(ch, "Fail", &req, ok_deadline(), NULL, &st), MP_RPC_INVALID_ARGUMENT);
  assert_int_equal(st.code, MP_RPC_INVALID_ARGUMENT);
  assert_string_equal(st.message, "name must not be empty: give the profile a name");
  req.fail_code = MP_RPC_NOT_FOUND;
  req.text = "no profile 42";
  assert_int_equal(call(ch, "Fail", &req, ok_deadline(), NULL, &st), MP_RPC_NOT_FOUND);
  assert_string_equal(st.message, "no profile 42");

  /* Unknown methods: UNIMPLEMENTED at once, not at the deadline. */
  int64_t t0 = mp_mono_ns();
  ProtobufCMessage *resp = NULL;
  mp_rpc_call_opts o = {.timeout_ms = 10000};
  assert_int_equal(mp_rpc_unary(ch, &meshplane__test__unregistered__descriptor, "Nothing",
                                &req.base, &resp, &o, &st),
                   MP_RPC_UNIMPLEMENTED);
  int64_t ms = (mp_mono_ns() - t0) / MP_NS_PER_MS;
  assert_non_null(strstr(st.message, "/meshplane.test.Unregistered/Nothing"));
  if (ms > 2000) fail_msg("UNIMPLEMENTED took %lld ms", (long long)ms);
  mp_rpc_channel_free(ch);
  mp_rpc_server_free(s);
}

/* Waits up to 5 s for the handlers to report n cancellations. */
static void expect_cancels(int n) {
  for (int i = 0; i < 500 && atomic_load(&echo_stats_g.cancels_seen) < n; i++) mp_sleep_ms(10);
  assert_int_equal(atomic_load(&echo_stats_g.cancels_seen), n);
}

static void test_deadlines(void **state) {
  mp_rpc_server *s = start_server(NULL);
  mp_rpc_channel *ch = connect_to(s, NULL);
  atomic_store(&echo_stats_g.cancels_seen, 0);
  Meshplane__Test__EchoRequest req = MESHPLANE__TEST__ECHO_REQUEST__INIT;
  mp_rpc_status st;
  /* Unary past its deadline; the handler sees the cancellation. */
  req.sleep_ms = 3000;
  int64_t t0 = mp_mono_ns();
  assert_int_equal(call(ch, "Sleep", &req, 200, NULL, &st), MP_RPC_DEADLINE_EXCEEDED);
  assert_true((mp_mono_ns() - t0) / MP_NS_PER_MS < 2500);
  expect_cancels(1);

  /* A stream that outlives its deadline: some messages, then DEADLINE_EXCEEDED. */
  req.sleep_ms = 0;
  req.count = 0;
  req.interval_ms = 50;
  mp_rpc_stream *stream;
  mp_rpc_call_opts o = {.timeout_ms = 500};
  assert_int_equal(mp_rpc_stream_open(ch, ECHO, "Count", &req.base, &o, &stream, &st), MP_RPC_OK);
  ProtobufCMessage *m;
  int n = 0;
  while (mp_rpc_stream_next(stream, &m, &st)) {
    n++;
    protobuf_c_message_free_unpacked(m, NULL);
  }
  assert_int_equal(st.code, MP_RPC_DEADLINE_EXCEEDED);
  assert_true(n >= 3);
  mp_rpc_stream_free(stream);
  expect_cancels(2);
  mp_rpc_channel_free(ch);
  mp_rpc_server_free(s);
}

static void test_client_cancel(void **state) {
  mp_rpc_server *s = start_server(NULL);
  mp_rpc_channel *ch = connect_to(s, NULL);
  atomic_store(&echo_stats_g.cancels_seen, 0);
  Meshplane__Test__EchoRequest req = MESHPLANE__TEST__ECHO_REQUEST__INIT;
  req.interval_ms = 20;
  mp_rpc_stream *stream;
  mp_rpc_status st;
  assert_int_equal(mp_rpc_stream_open(ch, ECHO, "Count", &req.base, NULL, &stream, &st), MP_RPC_OK);
  ProtobufCMessage *m;
  for (int i = 0; i < 3; i++) {
    assert_true(mp_rpc_stream_next(stream, &m, &st));
    protobuf_c_message_free_unpacked(m, NULL);
  }
  mp_rpc_stream_cancel(stream);
  while (mp_rpc_stream_next(stream, &m, &st)) protobuf_c_message_free_unpacked(m, NULL);
  assert_int_equal(st.code, MP_RPC_CANCELLED);
  mp_rpc_stream_free(stream);
  expect_cancels(1);
  /* Freeing a stream that is still running cancels it too. */
  assert_int_equal(mp_rpc_stream_open(ch, ECHO, "Count", &req.base, NULL, &stream, &st), MP_RPC_OK);
  assert_true(mp_rpc_stream_next(stream, &m, &st));
  protobuf_c_message_free_unpacked(m, NULL);
  mp_rpc_stream_free(stream);
  expect_cancels(2);
  mp_rpc_channel_free(ch);
  mp_rpc_server_free(s);
}

typedef struct load_arg {
  mp_rpc_channel *ch;
  int id, calls, ok;
} load_arg;

static void *load_thread(void *p) {
  load_arg *a = p;
  for (int i = 0; i < a->calls; i++) {
    char text[64];
    snprintf(text, sizeof text, "thread %d call %d", a->id, i);
    Meshplane__Test__EchoRequest req = MESHPLANE__TEST__ECHO_REQUEST__INIT;
    req.text = text;
    Meshplane__Test__EchoReply *r = NULL;
    mp_rpc_status st;
    if (call(a->ch, "Say", &req, 30000, &r, &st) == MP_RPC_OK && !strcmp(r->text, text))
      a->ok++;
    else
      fprintf(stderr, "call %d of thread %d: %s\n", i, a->id, st.message);
    if (r) protobuf_c_message_free_unpacked(&r->base, NULL);
  }
  return NULL;
}

/* Asynchronous unary calls: 16 chains, each starting its next call from the completion of
 * the previous one on lib/rpc's client thread; every reply matches its request. */
typedef struct async_chain {
  mp_rpc_channel *ch;
  int id, left, ok;
  char text[32];
  mp_rpc_code last_code;
  char last_message[256];
  pthread_mutex_t *mu;
  pthread_cond_t *cv;
  int *live;
} async_chain;

static void chain_done(void *arg, mp_rpc_code code, ProtobufCMessage *resp,
                       const mp_rpc_status *st);

/* c has ended: one chain fewer is live. */
static void chain_finished(async_chain *c) {
  pthread_mutex_lock(c->mu);
  (*c->live)--;
  pthread_cond_broadcast(c->cv);
  pthread_mutex_unlock(c->mu);
}

/* Waits until no chain sharing mu, cv and live is live. */
static void chains_wait(pthread_mutex_t *mu, pthread_cond_t *cv, const int *live) {
  pthread_mutex_lock(mu);
  while (*live > 0) pthread_cond_wait(cv, mu);
  pthread_mutex_unlock(mu);
}

static bool chain_next(async_chain *c) {
  Meshplane__Test__EchoRequest req = MESHPLANE__TEST__ECHO_REQUEST__INIT;
  snprintf(c->text, sizeof c->text, "%d:%d", c->id, c->left);
  req.text = c->text;
  mp_rpc_call_opts o = {.timeout_ms = ok_deadline()};
  mp_rpc_status st;
  return mp_rpc_unary_async(c->ch, ECHO, "Say", &req.base, &o, chain_done, c, &st) == MP_RPC_OK;
}

static void chain_done(void *arg, mp_rpc_code code, ProtobufCMessage *resp,
                       const mp_rpc_status *st) {
  async_chain *c = arg;
  c->last_code = code;
  mp_strlcpy(c->last_message, st->message, sizeof c->last_message);
  if (code == MP_RPC_OK) {
    if (!strcmp(((Meshplane__Test__EchoReply *)resp)->text, c->text)) c->ok++;
    protobuf_c_message_free_unpacked(resp, NULL);
  }
  if (code == MP_RPC_OK && --c->left > 0 && chain_next(c)) return;
  chain_finished(c);
}

/* A blocking call made inside done, on the client thread itself: it waits on a queue of
 * its own instead of for the client thread. */
static void nested_done(void *arg, mp_rpc_code code, ProtobufCMessage *resp,
                        const mp_rpc_status *st) {
  async_chain *c = arg;
  (void)st;
  if (resp) protobuf_c_message_free_unpacked(resp, NULL);
  Meshplane__Test__EchoRequest req = MESHPLANE__TEST__ECHO_REQUEST__INIT;
  req.text = "nested";
  Meshplane__Test__EchoReply *r = NULL;
  mp_rpc_status st2;
  c->last_code = code == MP_RPC_OK ? call(c->ch, "Say", &req, ok_deadline(), &r, &st2) : code;
  if (r && !strcmp(r->text, "nested")) c->ok++;
  if (r) protobuf_c_message_free_unpacked(&r->base, NULL);
  chain_finished(c);
}

static void test_async_calls(void **state) {
  mp_rpc_server *s = start_server(NULL);
  mp_rpc_channel *ch = connect_to(s, NULL);
  pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
  pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
  enum { CHAINS = 16 };
  async_chain c[CHAINS];
  int calls = scale(200), live = CHAINS;
  for (int i = 0; i < CHAINS; i++) {
    c[i] = (async_chain){.ch = ch, .id = i, .left = calls, .mu = &mu, .cv = &cv, .live = &live};
    assert_true(chain_next(&c[i]));
  }
  chains_wait(&mu, &cv, &live);
  for (int i = 0; i < CHAINS; i++) assert_int_equal(c[i].ok, calls);

  /* Failures reach done with their status: the server's, and a deadline. */
  Meshplane__Test__EchoRequest req = MESHPLANE__TEST__ECHO_REQUEST__INIT;
  req.text = "no such profile";
  req.fail_code = MP_RPC_NOT_FOUND;
  req.sleep_ms = 5000;
  async_chain f[2] = {{.left = 1, .mu = &mu, .cv = &cv, .live = &live},
                      {.left = 1, .mu = &mu, .cv = &cv, .live = &live}};
  live = 2;
  mp_rpc_call_opts o = {.timeout_ms = 200};
  mp_rpc_status st;
  assert_int_equal(mp_rpc_unary_async(ch, ECHO, "Fail", &req.base, &o, chain_done, &f[0], &st),
                   MP_RPC_OK);
  assert_int_equal(mp_rpc_unary_async(ch, ECHO, "Sleep", &req.base, &o, chain_done, &f[1], &st),
                   MP_RPC_OK);
  chains_wait(&mu, &cv, &live);
  assert_int_equal(f[0].last_code, MP_RPC_NOT_FOUND);
  assert_string_equal(f[0].last_message, "no such profile");
  assert_int_equal(f[1].last_code, MP_RPC_DEADLINE_EXCEEDED);
  async_chain n = {.ch = ch, .mu = &mu, .cv = &cv, .live = &live};
  live = 1;
  Meshplane__Test__EchoRequest outer = MESHPLANE__TEST__ECHO_REQUEST__INIT;
  outer.text = "outer";
  assert_int_equal(mp_rpc_unary_async(ch, ECHO, "Say", &outer.base, NULL, nested_done, &n, &st),
                   MP_RPC_OK);
  chains_wait(&mu, &cv, &live);
  assert_int_equal(n.last_code, MP_RPC_OK);
  assert_int_equal(n.ok, 1);
  /* A call that cannot start says so at once, and done is never called. */
  assert_int_equal(mp_rpc_unary_async(ch, ECHO, "Shout", &req.base, &o, chain_done, NULL, &st),
                   MP_RPC_UNIMPLEMENTED);
  mp_rpc_channel_free(ch);
  mp_rpc_server_free(s);
  (void)state;
}

/* 16 blocking callers and 8 chains of asynchronous calls on one channel at once: the
 * client thread completes both kinds and starts queued blocking calls while it is busy
 * with the others; every reply matches its request. */
static void test_concurrent_calls(void **state) {
  mp_rpc_server *s = start_server(NULL);
  mp_rpc_channel *ch = connect_to(s, NULL);
  enum { THREADS = 16, CHAINS = 8 };
  pthread_t t[THREADS];
  load_arg args[THREADS];
  int calls = scale(500);
  pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
  pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
  async_chain c[CHAINS];
  int live = CHAINS;
  for (int i = 0; i < CHAINS; i++) {
    c[i] = (async_chain){.ch = ch, .id = i, .left = calls, .mu = &mu, .cv = &cv, .live = &live};
    assert_true(chain_next(&c[i]));
  }
  for (int i = 0; i < THREADS; i++) {
    args[i] = (load_arg){ch, i, calls, 0};
    pthread_create(&t[i], NULL, load_thread, &args[i]);
  }
  int ok = 0;
  for (int i = 0; i < THREADS; i++) {
    pthread_join(t[i], NULL);
    ok += args[i].ok;
  }
  assert_int_equal(ok, THREADS * calls);
  chains_wait(&mu, &cv, &live);
  for (int i = 0; i < CHAINS; i++) assert_int_equal(c[i].ok, calls);
  mp_rpc_channel_free(ch);
  mp_rpc_server_free(s);
  (void)state;
}

/* A handler the server has learned to run inline (quick every time so far) blocks (800 ms;
 * 4 s under valgrind): the watchdog hands the queue to another thread, so other calls go
 * on. */
typedef struct sleep_arg {
  mp_rpc_channel *ch;
  int64_t ms;
  mp_rpc_code code;
} sleep_arg;

static void *sleep_thread(void *p) {
  sleep_arg *a = p;
  Meshplane__Test__EchoRequest req = MESHPLANE__TEST__ECHO_REQUEST__INIT;
  req.text = "slept";
  req.sleep_ms = a->ms;
  ProtobufCMessage *resp = NULL;
  mp_rpc_call_opts o = {.timeout_ms = ok_deadline()};
  mp_rpc_status st;
  a->code = mp_rpc_unary(a->ch, ECHO, "Sleep", &req.base, &resp, &o, &st);
  if (resp) protobuf_c_message_free_unpacked(resp, NULL);
  return NULL;
}

static void test_blocking_inline_handler(void **state) {
  mp_rpc_server *s = start_server(NULL);
  mp_rpc_channel *ch = connect_to(s, NULL);
  sleep_arg quick = {.ch = ch, .ms = 0};
  for (int i = 0; i < 20; i++) {
    sleep_thread(&quick);
    assert_int_equal(quick.code, MP_RPC_OK);
  }
  /* Under valgrind (and a busy machine) a hand-off can take hundreds of ms: the handler
   * blocks longer there, so "waited behind it" and "handed off" stay far apart. */
  int64_t block_ms = getenv("MP_TEST_SCALE") ? 4000 : 800;
  sleep_arg slow = {.ch = ch, .ms = block_ms};
  pthread_t t;
  pthread_create(&t, NULL, sleep_thread, &slow);
  mp_sleep_ms(100); /* the slow call is running */
  Meshplane__Test__EchoRequest req = MESHPLANE__TEST__ECHO_REQUEST__INIT;
  req.text = "meanwhile";
  ProtobufCMessage *resp = NULL;
  mp_rpc_call_opts o = {.timeout_ms = ok_deadline()};
  mp_rpc_status st;
  int64_t t0 = mp_mono_ns();
  assert_int_equal(mp_rpc_unary(ch, ECHO, "Say", &req.base, &resp, &o, &st), MP_RPC_OK);
  int64_t took_ms = (mp_mono_ns() - t0) / MP_NS_PER_MS;
  protobuf_c_message_free_unpacked(resp, NULL);
  pthread_join(t, NULL);
  assert_int_equal(slow.code, MP_RPC_OK);
  if (took_ms > block_ms / 2)
    fail_msg("a call waited %lld ms behind a handler blocked for %lld ms", (long long)took_ms,
             (long long)block_ms);
  mp_rpc_channel_free(ch);
  mp_rpc_server_free(s);
  (void)state;
}

typedef struct shutdown_arg {
  mp_rpc_server *s;
  int64_t took_ms;
} shutdown_arg;

static void *shutdown_thread(void *p) {
  shutdown_arg *a = p;
  int64_t t0 = mp_mono_ns();
  mp_rpc_server_shutdown(a->s);
  a->took_ms = (mp_mono_ns() - t0) / MP_NS_PER_MS;
  return NULL;
}

static void test_shutdown_with_stream(void **state) {
  mp_rpc_server_opts so = {.grace_ms = 300};
  mp_rpc_server *s = start_server(&so);
  mp_rpc_channel *ch = connect_to(s, NULL);
  atomic_store(&echo_stats_g.finished, 0);
  Meshplane__Test__EchoRequest req = MESHPLANE__TEST__ECHO_REQUEST__INIT;
  /* A stream that ends when the server drains, and a slow unary call that needs the
   * grace period and is cancelled after it. */
  req.interval_ms = 20;
  mp_rpc_stream *stream;
  mp_rpc_status st;
  assert_int_equal(mp_rpc_stream_open(ch, ECHO, "Count", &req.base, NULL, &stream, &st), MP_RPC_OK);
  ProtobufCMessage *m;
  assert_true(mp_rpc_stream_next(stream, &m, &st));
  protobuf_c_message_free_unpacked(m, NULL);

  shutdown_arg a = {s, 0};
  pthread_t t;
  pthread_create(&t, NULL, shutdown_thread, &a);
  int more = 0;
  while (mp_rpc_stream_next(stream, &m, &st)) {
    more++;
    protobuf_c_message_free_unpacked(m, NULL);
  }
  assert_int_equal(st.code, MP_RPC_UNAVAILABLE);
  assert_non_null(strstr(st.message, "shutting down"));
  pthread_join(t, NULL);
  mp_rpc_stream_free(stream);
  assert_true(a.took_ms < 3000);
  assert_int_equal(atomic_load(&echo_stats_g.finished), 1);
  /* After shutdown, calls fail fast with UNAVAILABLE and a message naming the target. */
  req.text = "late";
  assert_int_equal(call(ch, "Say", &req, 2000, NULL, &st), MP_RPC_UNAVAILABLE);
  assert_non_null(strstr(st.message, "cannot reach 127.0.0.1:"));
  mp_rpc_channel_free(ch);
  mp_rpc_server_free(s);
}

static void test_shutdown_cancels_after_grace(void **state) {
  mp_rpc_server_opts so = {.grace_ms = 200};
  mp_rpc_server *s = start_server(&so);
  mp_rpc_channel *ch = connect_to(s, NULL);
  atomic_store(&echo_stats_g.cancels_seen, 0);
  /* A stream that would go on forever is cancelled once the grace period is over. */
  Meshplane__Test__EchoRequest req = MESHPLANE__TEST__ECHO_REQUEST__INIT;
  req.sleep_ms = 60000;
  mp_rpc_stream *stream;
  mp_rpc_status st;
  assert_int_equal(mp_rpc_stream_open(ch, ECHO, "Sleep", &req.base, NULL, &stream, &st), MP_RPC_OK);
  for (int i = 0; i < 200 && atomic_load(&echo_stats_g.active) == 0; i++) mp_sleep_ms(10);
  int64_t t0 = mp_mono_ns();
  mp_rpc_server_shutdown(s);
  int64_t ms = (mp_mono_ns() - t0) / MP_NS_PER_MS;
  ProtobufCMessage *m;
  assert_false(mp_rpc_stream_next(stream, &m, &st));
  assert_int_not_equal(st.code, MP_RPC_OK);
  assert_true(ms >= 150 && ms < 3000);
  expect_cancels(1);
  mp_rpc_stream_free(stream);
  mp_rpc_channel_free(ch);
  mp_rpc_server_free(s);
}

static void test_reconnect(void **state) {
  mp_rpc_server *s = start_server(NULL);
  int port = mp_rpc_server_port(s);
  mp_rpc_channel *ch = connect_to(s, NULL);
  Meshplane__Test__EchoRequest req = MESHPLANE__TEST__ECHO_REQUEST__INIT;
  req.text = "before";
  mp_rpc_status st;
  assert_int_equal(call(ch, "Say", &req, ok_deadline(), NULL, &st), MP_RPC_OK);
  mp_rpc_server_free(s);
  /* While the server is down, calls fail fast. */
  assert_int_equal(call(ch, "Say", &req, ok_deadline(), NULL, &st), MP_RPC_UNAVAILABLE);
  mp_sleep_ms(1500); /* let the channel back off a few times */

  char listen[64];
  snprintf(listen, sizeof listen, "127.0.0.1:%d", port);
  mp_rpc_server_opts so = {.listen = listen};
  s = start_server(&so);
  int64_t t0 = mp_mono_ns();
  req.text = "after";
  int attempts = 0;
  while (call(ch, "Say", &req, 1000, NULL, &st) != MP_RPC_OK) {
    attempts++;
    mp_sleep_ms(20);
    if (mp_mono_ns() - t0 > 10 * MP_NS_PER_S) fail_msg("no reconnect in 10 s: %s", st.message);
  }
  int64_t ms = (mp_mono_ns() - t0) / MP_NS_PER_MS;
  printf("reconnected %lld ms after the restart (%d failed attempts)\n", (long long)ms, attempts);
  /* The contract is about a second; 3 s leaves room for a loaded 2-core machine. */
  assert_true(ms < 3000);
  mp_rpc_channel_free(ch);
  mp_rpc_server_free(s);
}

static void test_health(void **state) {
  mp_rpc_server *s = start_server(NULL);
  mp_rpc_channel *ch = connect_to(s, NULL);
  const ProtobufCServiceDescriptor *h = &grpc__health__v1__health__descriptor;
  Grpc__Health__V1__HealthCheckRequest req = GRPC__HEALTH__V1__HEALTH_CHECK_REQUEST__INIT;
  ProtobufCMessage *resp;
  mp_rpc_status st;
  const char *names[] = {"", "meshplane.test.Echo"};
  for (int i = 0; i < 2; i++) {
    req.service = (char *)names[i];
    assert_int_equal(mp_rpc_unary(ch, h, "Check", &req.base, &resp, NULL, &st), MP_RPC_OK);
    assert_int_equal(((Grpc__Health__V1__HealthCheckResponse *)resp)->status,
                     GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING);
    protobuf_c_message_free_unpacked(resp, NULL);
  }
  req.service = "no.such.Service";
  assert_int_equal(mp_rpc_unary(ch, h, "Check", &req.base, &resp, NULL, &st), MP_RPC_NOT_FOUND);

  /* Watch: the current status, then every change. */
  req.service = "meshplane.test.Echo";
  mp_rpc_stream *w;
  assert_int_equal(mp_rpc_stream_open(ch, h, "Watch", &req.base, NULL, &w, &st), MP_RPC_OK);
  assert_true(mp_rpc_stream_next(w, &resp, &st));
  assert_int_equal(((Grpc__Health__V1__HealthCheckResponse *)resp)->status,
                   GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING);
  protobuf_c_message_free_unpacked(resp, NULL);
  mp_rpc_server_set_health(s, "meshplane.test.Echo", false);
  assert_true(mp_rpc_stream_next(w, &resp, &st));
  assert_int_equal(((Grpc__Health__V1__HealthCheckResponse *)resp)->status,
                   GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__NOT_SERVING);
  protobuf_c_message_free_unpacked(resp, NULL);
  mp_rpc_server_set_health(s, "meshplane.test.Echo", true);
  assert_true(mp_rpc_stream_next(w, &resp, &st));
  assert_int_equal(((Grpc__Health__V1__HealthCheckResponse *)resp)->status,
                   GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING);
  protobuf_c_message_free_unpacked(resp, NULL);
  /* A draining server says NOT_SERVING, then ends the watch. */
  mp_rpc_server_shutdown(s);
  assert_true(mp_rpc_stream_next(w, &resp, &st));
  assert_int_equal(((Grpc__Health__V1__HealthCheckResponse *)resp)->status,
                   GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__NOT_SERVING);
  protobuf_c_message_free_unpacked(resp, NULL);
  assert_false(mp_rpc_stream_next(w, &resp, &st));
  mp_rpc_stream_free(w);
  mp_rpc_channel_free(ch);
  mp_rpc_server_free(s);
}

static void test_auth_token(void **state) {
  mp_rpc_server_opts so = {.auth_token = "s3cret"};
  mp_rpc_server *s = start_server(&so);
  Meshplane__Test__EchoRequest req = MESHPLANE__TEST__ECHO_REQUEST__INIT;
  req.text = "x";
  mp_rpc_status st;
  mp_rpc_channel *anon = connect_to(s, NULL);
  assert_int_equal(call(anon, "Say", &req, ok_deadline(), NULL, &st), MP_RPC_UNAUTHENTICATED);
  assert_non_null(strstr(st.message, "--token"));
  /* Health checks need no token. */
  Grpc__Health__V1__HealthCheckRequest hreq = GRPC__HEALTH__V1__HEALTH_CHECK_REQUEST__INIT;
  ProtobufCMessage *resp;
  assert_int_equal(mp_rpc_unary(anon, &grpc__health__v1__health__descriptor, "Check", &hreq.base,
                                &resp, NULL, &st),
                   MP_RPC_OK);
  protobuf_c_message_free_unpacked(resp, NULL);
  mp_rpc_channel_opts wrong_o = {.auth_token = "guess"};
  mp_rpc_channel *wrong = connect_to(s, &wrong_o);
  assert_int_equal(call(wrong, "Say", &req, ok_deadline(), NULL, &st), MP_RPC_UNAUTHENTICATED);
  assert_non_null(strstr(st.message, "wrong"));
  mp_rpc_channel_opts good_o = {.auth_token = "s3cret"};
  mp_rpc_channel *good = connect_to(s, &good_o);
  Meshplane__Test__EchoReply *r;
  assert_int_equal(call(good, "Say", &req, ok_deadline(), &r, &st), MP_RPC_OK);
  assert_string_equal(r->metadata, "x-test=;auth=Bearer s3cret");
  protobuf_c_message_free_unpacked(&r->base, NULL);
  mp_rpc_channel_free(anon);
  mp_rpc_channel_free(wrong);
  mp_rpc_channel_free(good);
  mp_rpc_server_free(s);
}

static void test_listen_errors(void **state) {
  mp_rpc_server *s = start_server(NULL);
  char listen[64];
  snprintf(listen, sizeof listen, "127.0.0.1:%d", mp_rpc_server_port(s));
  /* A second server on the same port fails cleanly (no SO_REUSEPORT stealing). */
  mp_rpc_server_opts o = {.listen = listen};
  mp_rpc_server *dup = NULL;
  assert_int_equal(mp_rpc_server_new(&o, &dup), MP_ERR_IO);
  assert_null(dup);
  assert_non_null(strstr(mp_error_last(), "already in use"));
  o.listen = "not an address";
  assert_int_not_equal(mp_rpc_server_new(&o, &dup), MP_OK);
  o.listen = "127.0.0.1:0";
  o.tls_cert_file = "/nonexistent/cert.pem";
  o.tls_key_file = "/nonexistent/key.pem";
  assert_int_equal(mp_rpc_server_new(&o, &dup), MP_ERR_IO);
  assert_non_null(strstr(mp_error_last(), "/nonexistent/cert.pem"));
  mp_rpc_server_free(s);
}

int main(void) {
  mp_log_init("test_rpc");
  mp_rpc_init();
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_unary_method_table),
      cmocka_unit_test(test_unary_and_metadata),
      cmocka_unit_test(test_stream_1000),
      cmocka_unit_test(test_errors),
      cmocka_unit_test(test_deadlines),
      cmocka_unit_test(test_client_cancel),
      cmocka_unit_test(test_concurrent_calls),
      cmocka_unit_test(test_async_calls),
      cmocka_unit_test(test_blocking_inline_handler),
      cmocka_unit_test(test_shutdown_with_stream),
      cmocka_unit_test(test_shutdown_cancels_after_grace),
      cmocka_unit_test(test_reconnect),
      cmocka_unit_test(test_health),
      cmocka_unit_test(test_auth_token),
      cmocka_unit_test(test_listen_errors),
  };
  int rc = cmocka_run_group_tests(tests, NULL, NULL);
  mp_rpc_shutdown();
  return rc;
}
