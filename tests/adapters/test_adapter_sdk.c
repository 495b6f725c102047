/* The adapter SDK through its mock host: request validation, operation ids, event order,
 * ring overflow, concurrent operations, terminal events (last and unique per operation, on
 * success, failure and cancellation), the analyzer seam, timeouts. */
#include <setjmp.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "meshplane/adapter.h"

/* ---- a test adapter ------------------------------------------------------------------------ */

/* Emits as many "hello" events as custom_body says (default 3), tagged with the body's
 * second word so concurrent operations can be told apart. */
static mp_status op_hello(mp_adapter_ctx *ctx) {
  const mp_adapter_request *r = mp_adapter_req(ctx);
  int n = 3;
  char tag[64] = "";
  sscanf(r->custom_body, "%d %63s", &n, tag);
  for (int i = 0; i < n; i++) {
    char s[128];
    snprintf(s, sizeof s, "hello %s %d", tag, i);
    mp_adapter_emit_event(ctx, MP_EVENT_INFO, s, "details", NULL, NULL, NULL);
  }
  return MP_OK;
}

static mp_status op_fail(mp_adapter_ctx *ctx) {
  return mp_adapter_failf(ctx, MP_ERR_UNAVAILABLE, "T0001", "the cause", "the remedy",
                          "it failed: %d", 42);
}

static mp_status op_fail_plain(mp_adapter_ctx *ctx) {
  return mp_error_set(MP_ERR_IO, "plain failure text");
}

static mp_status op_quiet(mp_adapter_ctx *ctx) { return MP_OK; }

/* Says why it fails in ERROR events of its own, then fails without recording a problem. */
static mp_status op_errors(mp_adapter_ctx *ctx) {
  mp_adapter_emit_event(ctx, MP_EVENT_ERROR, "first bad thing", NULL, NULL, NULL, "T0002");
  mp_adapter_warnf(ctx, "a warning in between");
  mp_adapter_emit_event(ctx, MP_EVENT_ERROR, "second bad thing", NULL, NULL, NULL, "T0003");
  return mp_error_set(MP_ERR_INVALID, "errors were emitted");
}

/* Reports an ERROR finding but succeeds (as analyze does): the operation is done. */
static mp_status op_finding(mp_adapter_ctx *ctx) {
  mp_adapter_emit_event(ctx, MP_EVENT_ERROR, "a finding", NULL, NULL, NULL, "T0004");
  return MP_OK;
}

/* Waits until cancelled or out of time, then makes a platform call, which reports why. With
 * an op arg, it first reports an ERROR finding and at the end returns MP_ERR_CANCELLED
 * itself, without a platform call or a recorded problem. */
static atomic_int blocking; /* operations inside op_block now */

static mp_status op_block(mp_adapter_ctx *ctx) {
  bool finding = mp_adapter_op_arg(ctx) != NULL;
  if (finding) mp_adapter_emit_event(ctx, MP_EVENT_ERROR, "a finding", NULL, NULL, NULL, "T0005");
  atomic_fetch_add(&blocking, 1);
  while (!mp_adapter_cancelled(ctx)) mp_sleep_ms(5);
  atomic_fetch_sub(&blocking, 1);
  return finding ? mp_error_set(MP_ERR_CANCELLED, "stopped")
                 : mp_adapter_apply(ctx, "", NULL, false);
}

/* Waits until one operation is inside op_block (however loaded the machine). */
static void wait_blocking(void) {
  for (int i = 0; i < 1000 && atomic_load(&blocking) == 0; i++) mp_sleep_ms(5);
  assert_int_equal(atomic_load(&blocking), 1);
}

static mp_status op_tool(mp_adapter_ctx *ctx) {
  static const char *const argv[] = {"istioctl", "install", NULL};
  return mp_adapter_run_tool(ctx, argv, MP_TOOL_RUN, NULL);
}

static mp_status op_version(mp_adapter_ctx *ctx) {
  mp_adapter_infof(ctx, "version=%s", mp_adapter_version(ctx));
  return MP_OK;
}

static const mp_adapter_op ops[] = {
    {"hello", "Hello", MP_OP_CUSTOM, op_hello, NULL},
    {"fail", "Fail", MP_OP_CUSTOM, op_fail, NULL},
    {"fail-plain", "Fail plainly", MP_OP_CUSTOM, op_fail_plain, NULL},
    {"quiet", "Quiet op", MP_OP_CONFIGURE, op_quiet, NULL},
    {"errors", "Errors", MP_OP_CUSTOM, op_errors, NULL},
    {"finding", "Finding", MP_OP_VALIDATE, op_finding, NULL},
    {"block", "Block", MP_OP_CUSTOM, op_block, NULL},
    {"tool", "Tool", MP_OP_INSTALL, op_tool, NULL},
    {"version", "Version", MP_OP_INSTALL, op_version, NULL},
    {"custom", "Custom YAML", MP_OP_CUSTOM, mp_adapter_op_custom, NULL},
    {"analyze", "Analyze", MP_OP_VALIDATE, mp_adapter_op_analyze, NULL},
    {"smi", "SMI", MP_OP_VALIDATE, mp_adapter_op_smi_conformance, NULL},
    {"block-finding", "Block after a finding", MP_OP_CUSTOM, op_block, "finding"},
};
static const char *const versions[] = {"2.0", "1.0", NULL};
static const mp_adapter test_adapter = {MP_ADAPTER_V1,        .name = "test",
                                        .versions = versions, .default_port = 1,
                                        .ops = ops,           .n_ops = MP_ARRAY_LEN(ops)};

/* ---- helpers ------------------------------------------------------------------------------- */

typedef struct events {
  mp_adapter_event ev[4096];
  size_t n;
} events;

static char *submit(mp_adapter_mock *m, const char *op, const char *body, const char *id) {
  mp_adapter_request r = {sizeof r, .op = op, .custom_body = body, .operation_id = id};
  char *opid = NULL;
  char *err = mp_adapter_mock_apply(m, &r, &opid);
  if (err) fprintf(stderr, "submit %s: %s\n", op, err);
  assert_null(err);
  return opid;
}

/* Reads events until none arrives for quiet_ms. */
static void drain(mp_adapter_sub *s, events *e, int64_t quiet_ms) {
  mp_adapter_event ev = {0};
  while (e->n < MP_ARRAY_LEN(e->ev) && mp_adapter_sub_next(s, quiet_ms, &ev)) {
    e->ev[e->n++] = ev;
    memset(&ev, 0, sizeof ev);
  }
}

static void events_free(events *e) {
  for (size_t i = 0; i < e->n; i++) mp_adapter_event_clear(&e->ev[i]);
  e->n = 0;
}

/* Checks the events of operation id among e's: exactly one has component "operation", it
 * is the operation's last, and every other one has component "adapter". Returns the
 * terminal event. */
static const mp_adapter_event *terminal_of(const events *e, const char *id) {
  const mp_adapter_event *end = NULL;
  size_t n = 0;
  for (size_t i = 0; i < e->n; i++) {
    const mp_adapter_event *ev = &e->ev[i];
    if (strcmp(ev->operation_id, id)) continue;
    n++;
    if (end) fail_msg("operation %s: event \"%s\" after its terminal event", id, ev->summary);
    if (!strcmp(ev->component, MP_ADAPTER_COMPONENT_OPERATION))
      end = ev;
    else
      assert_string_equal(ev->component, "adapter");
    assert_string_equal(ev->component_name, "test");
  }
  if (!end) fail_msg("operation %s: no terminal event among its %zu events", id, n);
  return end;
}

/* "finished in 1.23s" (or "failed after 1.23s..."): a duration in seconds, two decimals. */
static void assert_duration(const char *details, const char *prefix) {
  size_t n = strlen(prefix);
  if (strncmp(details, prefix, n)) fail_msg("details \"%s\" do not start with %s", details, prefix);
  char *end;
  double secs = strtod(details + n, &end);
  if (end == details + n || *end != 's' || secs < 0 || secs > 60)
    fail_msg("details \"%s\": no duration after \"%s\"", details, prefix);
}

/* Runs one operation to its end and returns its events, the terminal one last. */
static void run(mp_adapter_mock *m, const char *op, const char *body, events *e) {
  mp_adapter_sub *s = mp_adapter_mock_subscribe(m);
  char *id = submit(m, op, body, NULL);
  assert_true(mp_adapter_mock_wait(m, id, 10000));
  drain(s, e, 50);
  for (size_t i = 0; i < e->n; i++) assert_string_equal(e->ev[i].operation_id, id);
  assert_ptr_equal(terminal_of(e, id), &e->ev[e->n - 1]);
  free(id);
  mp_adapter_sub_free(s);
}

/* ---- tests --------------------------------------------------------------------------------- */

static void test_table_checks(void **state) {
  mp_adapter bad = test_adapter;
  bad.abi_version = 99;
  assert_null(mp_adapter_mock_new(&bad, NULL));
  bad = test_adapter;
  bad.struct_size = 8;
  assert_null(mp_adapter_mock_new(&bad, NULL));
  static const mp_adapter_op dup[] = {{"a", "A", MP_OP_CUSTOM, op_quiet, NULL},
                                      {"a", "A again", MP_OP_CUSTOM, op_quiet, NULL}};
  bad = test_adapter;
  bad.ops = dup;
  bad.n_ops = 2;
  assert_null(mp_adapter_mock_new(&bad, NULL));
}

static void test_validation(void **state) {
  mp_adapter_mock *m = mp_adapter_mock_new(&test_adapter, NULL);
  char *id = NULL;
  mp_adapter_request r = {sizeof r, .op = "nope"};
  char *err = mp_adapter_mock_apply(m, &r, &id);
  assert_non_null(err);
  assert_null(id);
  assert_non_null(strstr(err, "unknown operation \"nope\""));
  assert_non_null(strstr(
      err, "valid operations: hello, fail, fail-plain, quiet, errors, finding, block, tool"));
  free(err);

  r.op = "";
  err = mp_adapter_mock_apply(m, &r, &id);
  assert_non_null(strstr(err, "no operation given"));
  free(err);

  r.op = "hello";
  r.ns = "Bad_NS";
  err = mp_adapter_mock_apply(m, &r, &id);
  assert_non_null(strstr(err, "not a valid Kubernetes namespace"));
  free(err);

  r.ns = "default";
  r.version = "--post-renderer=/bin/sh"; /* would be an option injected into helm's argv */
  err = mp_adapter_mock_apply(m, &r, &id);
  assert_non_null(strstr(err, "is not a version"));
  free(err);

  r.version = "1.0";
  r.operation_id = "has space";
  err = mp_adapter_mock_apply(m, &r, &id);
  assert_non_null(strstr(err, "operation_id"));
  free(err);

  const char *empty_kube[] = {""};
  r.operation_id = NULL;
  r.kube_configs = empty_kube;
  r.n_kube_configs = 1;
  err = mp_adapter_mock_apply(m, &r, &id);
  assert_non_null(strstr(err, "kube_configs[0] is empty"));
  free(err);
  const char *many[40];
  for (size_t i = 0; i < 40; i++) many[i] = "k: v\n";
  r.kube_configs = many;
  r.n_kube_configs = 40;
  err = mp_adapter_mock_apply(m, &r, &id);
  assert_non_null(strstr(err, "at most 32 clusters"));
  free(err);
  mp_adapter_mock_free(m);
}

static void test_operation_ids(void **state) {
  mp_adapter_mock *m = mp_adapter_mock_new(&test_adapter, NULL);
  char *id = submit(m, "quiet", "", NULL);
  assert_true(mp_uuid_valid(id));
  assert_true(mp_adapter_mock_wait(m, id, 5000));
  free(id);
  id = submit(m, "quiet", "", "client-chosen-42");
  assert_string_equal(id, "client-chosen-42");
  assert_true(mp_adapter_mock_wait(m, id, 5000));
  free(id);

  /* The same id while it still runs is refused. */
  id = submit(m, "block", "", "busy-1");
  mp_adapter_request r = {sizeof r, .op = "quiet", .operation_id = "busy-1"};
  char *id2 = NULL;
  char *err = mp_adapter_mock_apply(m, &r, &id2);
  assert_non_null(err);
  assert_non_null(strstr(err, "already queued or running"));
  free(err);
  free(id);
  mp_adapter_mock_free(m); /* cancels the blocked operation */
}

static void test_events_in_order(void **state) {
  mp_adapter_mock *m = mp_adapter_mock_new(&test_adapter, NULL);
  events e = {0};
  run(m, "hello", "100 x", &e);
  assert_int_equal(e.n, 101);
  for (size_t i = 0; i < 100; i++) {
    char want[64];
    snprintf(want, sizeof want, "hello x %zu", i);
    assert_string_equal(e.ev[i].summary, want);
    assert_int_equal(e.ev[i].type, MP_EVENT_INFO);
    assert_string_equal(e.ev[i].component, "adapter");
    assert_string_equal(e.ev[i].component_name, "test");
    assert_string_equal(e.ev[i].details, "details");
    if (i) assert_int_equal(e.ev[i].seq, e.ev[i - 1].seq + 1);
  }
  const mp_adapter_event *end = &e.ev[100];
  assert_int_equal(end->seq, e.ev[99].seq + 1);
  assert_int_equal(end->type, MP_EVENT_INFO);
  assert_string_equal(end->summary, "Hello: done");
  assert_string_equal(end->component, MP_ADAPTER_COMPONENT_OPERATION);
  assert_string_equal(end->component_name, "test");
  assert_duration(end->details, "finished in ");
  assert_string_equal(end->error_code, "");
  events_free(&e);
  mp_adapter_mock_free(m);
}

static void test_subscriber_gets_only_later_events(void **state) {
  mp_adapter_mock *m = mp_adapter_mock_new(&test_adapter, NULL);
  events e = {0};
  run(m, "hello", "5 early", &e);
  events_free(&e);
  mp_adapter_sub *late = mp_adapter_mock_subscribe(m);
  mp_adapter_event ev = {0};
  assert_false(mp_adapter_sub_next(late, 50, &ev));
  char *id = submit(m, "hello", "2 late", NULL);
  assert_true(mp_adapter_mock_wait(m, id, 5000));
  drain(late, &e, 50);
  assert_int_equal(e.n, 3);
  assert_string_equal(e.ev[0].summary, "hello late 0");
  assert_string_equal(e.ev[1].summary, "hello late 1");
  assert_ptr_equal(terminal_of(&e, id), &e.ev[2]);
  events_free(&e);
  free(id);
  mp_adapter_sub_free(late);
  mp_adapter_mock_free(m);
}

static void test_ring_overflow_is_reported(void **state) {
  mp_adapter_mock_opts o = {.events = 16};
  mp_adapter_mock *m = mp_adapter_mock_new(&test_adapter, &o);
  mp_adapter_sub *slow = mp_adapter_mock_subscribe(m);
  mp_adapter_sub *fast = mp_adapter_mock_subscribe(m);
  char *id = submit(m, "hello", "100 y", NULL);
  /* The fast subscriber keeps up (it may also fall behind: then it is told too). The
   * terminal event, the newest, is never among the missed ones. */
  size_t fast_hellos = 0, fast_missed = 0, fast_ends = 0;
  while (fast_hellos + fast_missed + fast_ends < 101) {
    mp_adapter_event ev = {0};
    assert_true(mp_adapter_sub_next(fast, 5000, &ev));
    if (!strcmp(ev.error_code, MP_ADAPTER_ERR_EVENTS_MISSED)) {
      fast_missed += strtoul(ev.summary, NULL, 10);
    } else if (!strcmp(ev.component, MP_ADAPTER_COMPONENT_OPERATION)) {
      assert_string_equal(ev.summary, "Hello: done");
      fast_ends++;
    } else {
      assert_int_equal(fast_ends, 0);
      fast_hellos++;
    }
    mp_adapter_event_clear(&ev);
  }
  assert_int_equal(fast_hellos + fast_missed, 100);
  assert_int_equal(fast_ends, 1);
  assert_true(mp_adapter_mock_wait(m, id, 5000));
  /* The slow one read nothing so far: it is told how many it lost, then gets the rest
   * (101 events: 100 hellos and the terminal one; the ring keeps 16). */
  events e = {0};
  drain(slow, &e, 50);
  assert_int_equal(e.n, 17);
  assert_int_equal(e.ev[0].type, MP_EVENT_WARN);
  assert_string_equal(e.ev[0].error_code, MP_ADAPTER_ERR_EVENTS_MISSED);
  assert_string_equal(e.ev[0].summary, "85 events missed: this subscriber fell behind");
  assert_string_equal(e.ev[0].component, "adapter");
  assert_string_equal(e.ev[0].component_name, "test");
  assert_non_null(strstr(e.ev[0].suggested_remediation, "--events"));
  for (size_t i = 1; i < e.n - 1; i++) {
    char want[64];
    snprintf(want, sizeof want, "hello y %zu", 85 + i - 1);
    assert_string_equal(e.ev[i].summary, want);
  }
  assert_string_equal(e.ev[16].summary, "Hello: done");
  assert_string_equal(e.ev[16].component, MP_ADAPTER_COMPONENT_OPERATION);
  events_free(&e);
  free(id);
  mp_adapter_sub_free(slow);
  mp_adapter_sub_free(fast);
  mp_adapter_mock_free(m);
}

static void test_concurrent_operations_not_mixed(void **state) {
  mp_adapter_mock_opts o = {.workers = 4, .events = 8192};
  mp_adapter_mock *m = mp_adapter_mock_new(&test_adapter, &o);
  mp_adapter_sub *s = mp_adapter_mock_subscribe(m);
  enum { OPS = 8, EACH = 300 };
  char *ids[OPS];
  for (int k = 0; k < OPS; k++) {
    char body[32];
    snprintf(body, sizeof body, "%d op%d", EACH, k);
    ids[k] = submit(m, "hello", body, NULL);
  }
  for (int k = 0; k < OPS; k++) assert_true(mp_adapter_mock_wait(m, ids[k], 10000));
  static events e;
  drain(s, &e, 50);
  assert_int_equal(e.n, OPS * EACH + OPS);
  int next[OPS] = {0};
  bool interleaved = false;
  for (int k = 0; k < OPS; k++)
    assert_string_equal(terminal_of(&e, ids[k])->summary, "Hello: done");
  for (size_t i = 0; i < e.n; i++) {
    int k, j;
    if (!strcmp(e.ev[i].component, MP_ADAPTER_COMPONENT_OPERATION)) {
      for (k = 0; k < OPS && strcmp(e.ev[i].operation_id, ids[k]); k++) {
      }
      assert_true(k < OPS);
      assert_int_equal(next[k], EACH); /* after all of its own events */
      continue;
    }
    assert_int_equal(sscanf(e.ev[i].summary, "hello op%d %d", &k, &j), 2);
    assert_string_equal(e.ev[i].operation_id, ids[k]); /* each event carries its own op */
    assert_int_equal(j, next[k]);                      /* and each op's order holds */
    next[k]++;
    if (i && strcmp(e.ev[i].operation_id, e.ev[i - 1].operation_id)) interleaved = true;
  }
  (void)interleaved; /* ran concurrently or not, nothing was mixed up */
  for (int k = 0; k < OPS; k++) free(ids[k]);
  events_free(&e);
  mp_adapter_sub_free(s);
  mp_adapter_mock_free(m);
}

static void test_terminal_events(void **state) {
  mp_adapter_mock *m = mp_adapter_mock_new(&test_adapter, NULL);
  events e = {0};
  /* Failed with a recorded problem: the terminal ERROR is that problem. */
  run(m, "fail", "", &e);
  assert_int_equal(e.n, 1);
  assert_int_equal(e.ev[0].type, MP_EVENT_ERROR);
  assert_string_equal(e.ev[0].component, MP_ADAPTER_COMPONENT_OPERATION);
  assert_string_equal(e.ev[0].summary, "it failed: 42");
  assert_string_equal(e.ev[0].probable_cause, "the cause");
  assert_string_equal(e.ev[0].suggested_remediation, "the remedy");
  assert_string_equal(e.ev[0].error_code, "T0001");
  events_free(&e);

  /* Failed with only an error text. */
  run(m, "fail-plain", "", &e);
  assert_int_equal(e.n, 1);
  assert_int_equal(e.ev[0].type, MP_EVENT_ERROR);
  assert_string_equal(e.ev[0].component, MP_ADAPTER_COMPONENT_OPERATION);
  assert_string_equal(e.ev[0].summary, "Fail plainly: operation failed");
  assert_string_equal(e.ev[0].details, "plain failure text");
  assert_string_equal(e.ev[0].error_code, MP_ADAPTER_ERR_INTERNAL);
  events_free(&e);

  /* Succeeded without a word: done, and how long it took. */
  run(m, "quiet", "", &e);
  assert_int_equal(e.n, 1);
  assert_int_equal(e.ev[0].type, MP_EVENT_INFO);
  assert_string_equal(e.ev[0].component, MP_ADAPTER_COMPONENT_OPERATION);
  assert_string_equal(e.ev[0].summary, "Quiet op: done");
  assert_duration(e.ev[0].details, "finished in ");
  events_free(&e);

  /* A removal: removed. */
  mp_adapter_sub *s = mp_adapter_mock_subscribe(m);
  mp_adapter_request r = {sizeof r, .op = "quiet", .delete_op = true};
  char *id = NULL;
  assert_null(mp_adapter_mock_apply(m, &r, &id));
  assert_true(mp_adapter_mock_wait(m, id, 5000));
  drain(s, &e, 50);
  assert_int_equal(e.n, 1);
  assert_ptr_equal(terminal_of(&e, id), &e.ev[0]);
  assert_int_equal(e.ev[0].type, MP_EVENT_INFO);
  assert_string_equal(e.ev[0].summary, "Quiet op: removed");
  events_free(&e);
  free(id);
  mp_adapter_sub_free(s);

  /* Failed after ERROR events of its own: "failed", pointing at them. */
  run(m, "errors", "", &e);
  assert_int_equal(e.n, 4);
  assert_string_equal(e.ev[0].summary, "first bad thing");
  assert_string_equal(e.ev[0].component, "adapter");
  assert_string_equal(e.ev[2].summary, "second bad thing");
  assert_int_equal(e.ev[3].type, MP_EVENT_ERROR);
  assert_string_equal(e.ev[3].summary, "Errors: failed");
  assert_duration(e.ev[3].details, "failed after ");
  if (!strstr(e.ev[3].details, "the 2 ERROR events before this one say why (the first: first "
                               "bad thing)"))
    fail_msg("details: %s", e.ev[3].details);
  assert_string_equal(e.ev[3].error_code, "T0002");
  events_free(&e);

  /* An ERROR finding in an operation that succeeded: the operation is done. */
  run(m, "finding", "", &e);
  assert_int_equal(e.n, 2);
  assert_int_equal(e.ev[0].type, MP_EVENT_ERROR);
  assert_string_equal(e.ev[0].component, "adapter");
  assert_int_equal(e.ev[1].type, MP_EVENT_INFO);
  assert_string_equal(e.ev[1].summary, "Finding: done");
  events_free(&e);
  mp_adapter_mock_free(m);
}

/* Cancellation (the SIGTERM drain) of a running and of a queued operation: each still ends
 * with one terminal ERROR, its last event; operations that ran before keep theirs. */
static void test_terminal_event_on_cancel(void **state) {
  mp_adapter_mock_opts o = {.workers = 1};
  mp_adapter_mock *m = mp_adapter_mock_new(&test_adapter, &o);
  mp_adapter_sub *s = mp_adapter_mock_subscribe(m);
  char *done = submit(m, "hello", "2 before", NULL);
  assert_true(mp_adapter_mock_wait(m, done, 5000));
  char *running = submit(m, "block", "", NULL);
  wait_blocking();
  char *queued = submit(m, "quiet", "", NULL);
  mp_adapter_mock_stop(m);
  mp_adapter_request r = {sizeof r, .op = "quiet"};
  char *late = NULL, *err = mp_adapter_mock_apply(m, &r, &late);
  assert_non_null(strstr(err, "shutting down"));
  free(err);
  events e = {0};
  drain(s, &e, 50);
  assert_int_equal(e.n, 5); /* 2 hellos and 3 terminal events */
  const mp_adapter_event *end = terminal_of(&e, done);
  assert_int_equal(end->type, MP_EVENT_INFO);
  assert_string_equal(end->summary, "Hello: done");
  end = terminal_of(&e, running);
  assert_int_equal(end->type, MP_EVENT_ERROR);
  assert_string_equal(end->error_code, MP_ADAPTER_ERR_CANCELLED);
  assert_string_equal(end->summary, "operation cancelled before applying manifests");
  end = terminal_of(&e, queued);
  assert_int_equal(end->type, MP_EVENT_ERROR);
  assert_string_equal(end->error_code, MP_ADAPTER_ERR_CANCELLED);
  assert_string_equal(end->summary,
                      "operation cancelled before it started: the adapter is shutting down");
  assert_ptr_equal(end, &e.ev[4]); /* the queued one ran (was reported) last */
  events_free(&e);
  free(done);
  free(running);
  free(queued);
  mp_adapter_sub_free(s);
  mp_adapter_mock_free(m);
}

/* A handler that reported an ERROR of its own and then stopped because the drain cancelled
 * it: the terminal event points at that ERROR but carries the cancellation's code. */
static void test_cancel_after_error_event(void **state) {
  mp_adapter_mock_opts o = {.workers = 1};
  mp_adapter_mock *m = mp_adapter_mock_new(&test_adapter, &o);
  mp_adapter_sub *s = mp_adapter_mock_subscribe(m);
  char *id = submit(m, "block-finding", "", NULL);
  wait_blocking();
  mp_adapter_mock_stop(m);
  events e = {0};
  drain(s, &e, 50);
  assert_int_equal(e.n, 2);
  assert_string_equal(e.ev[0].error_code, "T0005");
  const mp_adapter_event *end = terminal_of(&e, id);
  assert_ptr_equal(end, &e.ev[1]);
  assert_int_equal(end->type, MP_EVENT_ERROR);
  assert_string_equal(end->summary, "Block after a finding: failed");
  assert_non_null(strstr(end->details, "the 1 ERROR event before this one says why (the first: "
                                       "a finding)"));
  assert_string_equal(end->error_code, MP_ADAPTER_ERR_CANCELLED);
  events_free(&e);
  free(id);
  mp_adapter_sub_free(s);
  mp_adapter_mock_free(m);
}

static void test_versions(void **state) {
  mp_adapter_mock *m = mp_adapter_mock_new(&test_adapter, NULL);
  events e = {0};
  run(m, "version", "", &e);
  assert_int_equal(e.n, 2);
  assert_string_equal(e.ev[0].summary, "version=2.0");
  events_free(&e);
  mp_adapter_sub *s = mp_adapter_mock_subscribe(m);
  mp_adapter_request r = {sizeof r, .op = "version", .version = "1.0"};
  char *id = NULL;
  assert_null(mp_adapter_mock_apply(m, &r, &id));
  assert_true(mp_adapter_mock_wait(m, id, 5000));
  drain(s, &e, 50);
  assert_int_equal(e.n, 2);
  assert_string_equal(e.ev[0].summary, "version=1.0");
  assert_ptr_equal(terminal_of(&e, id), &e.ev[1]);
  events_free(&e);
  free(id);
  mp_adapter_sub_free(s);
  mp_adapter_mock_free(m);
}

static void test_queue_bound(void **state) {
  mp_adapter_mock_opts o = {.workers = 1, .queue = 1};
  mp_adapter_mock *m = mp_adapter_mock_new(&test_adapter, &o);
  char *a = submit(m, "block", "", NULL);
  wait_blocking(); /* the worker has taken it off the queue */
  char *b = submit(m, "quiet", "", NULL);
  mp_adapter_request r = {sizeof r, .op = "quiet"};
  char *id = NULL;
  char *err = mp_adapter_mock_apply(m, &r, &id);
  assert_non_null(err);
  assert_non_null(strstr(err, "already waiting"));
  free(err);
  free(a);
  free(b);
  mp_adapter_mock_free(m);
}

static void test_timeout(void **state) {
  mp_adapter_mock_opts o = {.op_timeout_ms = 100};
  mp_adapter_mock *m = mp_adapter_mock_new(&test_adapter, &o);
  events e = {0};
  int64_t t0 = mp_mono_ns();
  run(m, "block", "", &e);
  assert_true(mp_mono_ns() - t0 < 5 * MP_NS_PER_S);
  assert_int_equal(e.n, 1);
  assert_int_equal(e.ev[0].type, MP_EVENT_ERROR);
  assert_string_equal(e.ev[0].component, MP_ADAPTER_COMPONENT_OPERATION);
  assert_string_equal(e.ev[0].error_code, MP_ADAPTER_ERR_TIMEOUT);
  assert_non_null(strstr(e.ev[0].suggested_remediation, "--op-timeout"));
  events_free(&e);
  mp_adapter_mock_free(m);
}

static void test_tool_missing_on_recorder(void **state) {
  const char *missing[] = {"istioctl", NULL};
  mp_adapter_mock_opts o = {.missing_tools = missing};
  mp_adapter_mock *m = mp_adapter_mock_new(&test_adapter, &o);
  events e = {0};
  run(m, "tool", "", &e);
  assert_int_equal(e.n, 1);
  assert_int_equal(e.ev[0].type, MP_EVENT_ERROR);
  assert_string_equal(e.ev[0].error_code, MP_ADAPTER_ERR_TOOL_MISSING);
  assert_string_equal(e.ev[0].summary, "istioctl is not installed where the adapter runs");
  events_free(&e);
  assert_int_equal(mp_adapter_mock_ncalls(m), 0);
  mp_adapter_mock_free(m);
}

static void test_custom_yaml(void **state) {
  mp_adapter_mock *m = mp_adapter_mock_new(&test_adapter, NULL);
  events e = {0};
  run(m, "custom", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: [unclosed\n", &e);
  assert_int_equal(e.n, 1);
  assert_int_equal(e.ev[0].type, MP_EVENT_ERROR);
  assert_string_equal(e.ev[0].error_code, MP_ADAPTER_ERR_INVALID);
  assert_non_null(strstr(e.ev[0].details, "line "));
  events_free(&e);
  run(m, "custom", "apiVersion: v1\nkind: ConfigMap\ndata: {}\n", &e);
  assert_int_equal(e.n, 1);
  assert_non_null(strstr(e.ev[0].details, "metadata.name"));
  events_free(&e);

  const char *yaml = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n---\n"
                     "apiVersion: v1\nkind: Secret\nmetadata:\n  name: b\n";
  run(m, "custom", yaml, &e);
  assert_int_equal(e.n, 2);
  assert_int_equal(e.ev[0].type, MP_EVENT_INFO);
  assert_string_equal(e.ev[0].summary, "custom YAML applied: 2 objects in namespace default");
  assert_string_equal(e.ev[0].details, "ConfigMap a, Secret b");
  assert_int_equal(e.ev[1].type, MP_EVENT_INFO);
  assert_string_equal(e.ev[1].summary, "Custom YAML: done");
  events_free(&e);
  const char *applied = NULL;
  assert_string_equal(mp_adapter_mock_call(m, 0, &applied), "apply ns=default del=0");
  assert_string_equal(applied, yaml);
  mp_adapter_mock_reset_calls(m);

  /* Objects naming their namespace keep it. */
  const char *own = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  namespace: x\n";
  run(m, "custom", own, &e);
  assert_int_equal(e.n, 2);
  events_free(&e);
  assert_string_equal(mp_adapter_mock_call(m, 0, &applied), "apply ns=- del=0");
  assert_string_equal(applied, own);
  mp_adapter_mock_reset_calls(m);

  /* A mix: the request-namespace part first (it holds the Namespace), then the rest. */
  const char *mix = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: x\n---\n"
                    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  namespace: x\n"
                    "---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: s\n";
  run(m, "custom", mix, &e);
  assert_int_equal(e.n, 2);
  assert_int_equal(e.ev[0].type, MP_EVENT_INFO);
  events_free(&e);
  assert_int_equal(mp_adapter_mock_ncalls(m), 2);
  assert_string_equal(mp_adapter_mock_call(m, 0, &applied), "apply ns=default del=0");
  assert_non_null(strstr(applied, "kind: Namespace"));
  assert_non_null(strstr(applied, "kind: Secret"));
  assert_null(strstr(applied, "ConfigMap"));
  assert_string_equal(mp_adapter_mock_call(m, 1, &applied), "apply ns=- del=0");
  assert_non_null(strstr(applied, "kind: ConfigMap"));
  assert_null(strstr(applied, "Secret"));
  mp_adapter_mock_free(m);
}

static int findings;
static mp_status fake_analyzer(mp_adapter_ctx *ctx, const char *yaml, size_t len) {
  findings++;
  mp_adapter_emit_event(ctx, MP_EVENT_WARN, "IST0102 Namespace default is not injected", yaml, NULL,
                        "label it", "IST0102");
  return MP_OK;
}

static void test_analyze_seam(void **state) {
  mp_adapter_mock *m = mp_adapter_mock_new(&test_adapter, NULL);
  events e = {0};
  run(m, "analyze", "kind: Namespace\n", &e);
  assert_int_equal(e.n, 1);
  assert_int_equal(e.ev[0].type, MP_EVENT_ERROR);
  assert_string_equal(e.ev[0].error_code, MP_ADAPTER_ERR_ANALYZER);
  events_free(&e);

  mp_adapter_set_analyzer(fake_analyzer);
  run(m, "analyze", "kind: Namespace\n", &e);
  assert_int_equal(findings, 1);
  assert_int_equal(e.n, 4);
  assert_string_equal(e.ev[1].error_code, "IST0102");
  assert_string_equal(e.ev[1].details, "kind: Namespace\n");
  assert_string_equal(e.ev[2].summary, "Analysis of the request's YAML finished");
  assert_string_equal(e.ev[3].summary, "Analyze: done");
  events_free(&e);
  /* No YAML in the request: the platform's snapshot of the namespace is analyzed. */
  run(m, "analyze", "", &e);
  assert_string_equal(mp_adapter_mock_call(m, 0, NULL), "snapshot ns=default");
  events_free(&e);
  mp_adapter_set_analyzer(NULL);
  mp_adapter_mock_free(m);
}

static void test_smi_stub_reports_clearly(void **state) {
  mp_adapter_mock *m = mp_adapter_mock_new(&test_adapter, NULL);
  events e = {0};
  run(m, "smi", "", &e);
  assert_int_equal(e.n, 1);
  assert_int_equal(e.ev[0].type, MP_EVENT_ERROR);
  assert_string_equal(e.ev[0].summary, "SMI conformance cannot run on the mock platform");
  assert_string_equal(e.ev[0].details, "No conformance test was run; no result is reported.");
  assert_non_null(strstr(e.ev[0].suggested_remediation, "host-platform"));
  assert_string_equal(e.ev[0].error_code, MP_ADAPTER_ERR_UNSUPPORTED);
  events_free(&e);
  mp_adapter_mock_free(m);
}

static void test_render(void **state) {
  mp_buf b = {0};
  const char *vars[] = {"ns", "demo", "v", "1.2", NULL};
  assert_int_equal(mp_adapter_render(&b, "a {{ns}} b {{v}}{{ns}}", vars), MP_OK);
  assert_string_equal(b.data, "a demo b 1.2demo");
  assert_int_equal(mp_adapter_render(&b, "x {{nope}}", vars), MP_ERR_INVALID);
  assert_string_equal(b.data, "a demo b 1.2demo"); /* nothing appended on error */
  assert_int_equal(mp_adapter_render(&b, "{{ns", vars), MP_ERR_INVALID);
  mp_buf_free(&b);
  assert_true(mp_adapter_valid_namespace("istio-system"));
  assert_true(mp_adapter_valid_namespace("a"));
  assert_false(mp_adapter_valid_namespace("-a"));
  assert_false(mp_adapter_valid_namespace("a-"));
  assert_false(mp_adapter_valid_namespace("A"));
  assert_false(mp_adapter_valid_namespace(""));
  assert_false(mp_adapter_valid_namespace("a/b"));
  char long_ns[70];
  memset(long_ns, 'a', 64);
  long_ns[64] = '\0';
  assert_false(mp_adapter_valid_namespace(long_ns));
}

int main(void) {
  mp_log_init("test_adapter_sdk");
  mp_log_set_level(MP_LOG_OFF);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_table_checks),
      cmocka_unit_test(test_validation),
      cmocka_unit_test(test_operation_ids),
      cmocka_unit_test(test_events_in_order),
      cmocka_unit_test(test_subscriber_gets_only_later_events),
      cmocka_unit_test(test_ring_overflow_is_reported),
      cmocka_unit_test(test_concurrent_operations_not_mixed),
      cmocka_unit_test(test_terminal_events),
      cmocka_unit_test(test_terminal_event_on_cancel),
      cmocka_unit_test(test_cancel_after_error_event),
      cmocka_unit_test(test_versions),
      cmocka_unit_test(test_queue_bound),
      cmocka_unit_test(test_timeout),
      cmocka_unit_test(test_tool_missing_on_recorder),
      cmocka_unit_test(test_custom_yaml),
      cmocka_unit_test(test_analyze_seam),
      cmocka_unit_test(test_smi_stub_reports_clearly),
      cmocka_unit_test(test_render),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
