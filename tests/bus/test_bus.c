/* lib/bus: subject matching, the in-process bus, and the NATS bus against a real
 * nats-server (JetStream on), including a NATS restart. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <nats/nats.h>

#include "meshplane/bus.h"
#include "testenv.h"
#include "testproc.h"

static void test_subject_matching(void **state) {
  static const struct {
    const char *pattern, *subject;
    bool match;
  } cases[] = {
      {"a.b.c", "a.b.c", true},
      {"a.b.c", "a.b", false},
      {"a.b", "a.b.c", false},
      {"a.*.c", "a.x.c", true},
      {"a.*.c", "a.x.y.c", false},
      {"a.*", "a", false},
      {"a.>", "a.b", true},
      {"a.>", "a.b.c.d", true},
      {"a.>", "a", false},
      {">", "a", true},
      {"*", "a", true},
      {"*", "a.b", false},
      {"a.b", "a..b", false},
      {"meshplane.events.>", "meshplane.events.istio", true},
      {"meshplane.runs.*.done", "meshplane.runs.42.done", true},
      {"meshplane.runs.*.done", "meshplane.runs.42.progress", false},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    if (mp_bus_subject_matches(cases[i].pattern, cases[i].subject) != cases[i].match)
      fail_msg("%s vs %s: want %d", cases[i].pattern, cases[i].subject, cases[i].match);
}

/* Publishes n numbered messages and checks the subscriber gets them all, in order. */
static void roundtrip(mp_bus *b, const char *pattern, const char *subject, int n) {
  mp_bus_sub *sub;
  assert_int_equal(mp_bus_subscribe(b, pattern, 0, &sub), MP_OK);
  for (int i = 0; i < n; i++) {
    char msg[32], id[32];
    snprintf(msg, sizeof msg, "event-%d", i);
    snprintf(id, sizeof id, "%s-%d", subject, i);
    if (mp_bus_publish(b, subject, msg, strlen(msg), id) != MP_OK)
      fail_msg("publish %d: %s", i, mp_error_last());
  }
  for (int i = 0; i < n; i++) {
    char *subj;
    uint8_t *data;
    size_t len;
    mp_bus_next_result r = mp_bus_next(sub, 5000, &subj, &data, &len);
    if (r != MP_BUS_MSG) fail_msg("message %d: result %d", i, r);
    char want[32];
    snprintf(want, sizeof want, "event-%d", i);
    assert_int_equal(len, strlen(want));
    assert_memory_equal(data, want, len);
    assert_string_equal(subj, subject);
    mp_free(subj);
    mp_free(data);
  }
  char *subj;
  uint8_t *data;
  size_t len;
  assert_int_equal(mp_bus_next(sub, 50, &subj, &data, &len), MP_BUS_TIMEOUT);
  mp_bus_unsubscribe(sub);
}

static void test_local_bus(void **state) {
  mp_bus *b;
  assert_int_equal(mp_bus_open(NULL, &b), MP_OK);
  assert_true(mp_bus_connected(b));
  roundtrip(b, "meshplane.events.>", "meshplane.events.istio", 1000);
  /* A subscriber that falls behind is told, not silently skipped. */
  mp_bus_sub *slow;
  assert_int_equal(mp_bus_subscribe(b, "x.*", 10, &slow), MP_OK);
  for (int i = 0; i < 15; i++) mp_bus_publish(b, "x.y", "m", 1, NULL);
  char *subj;
  uint8_t *data;
  size_t len;
  assert_int_equal(mp_bus_next(slow, 100, &subj, &data, &len), MP_BUS_DROPPED);
  int got = 0;
  while (mp_bus_next(slow, 50, &subj, &data, &len) == MP_BUS_MSG) {
    got++;
    mp_free(subj);
    mp_free(data);
  }
  assert_int_equal(got, 10);
  mp_bus_unsubscribe(slow);
  mp_bus_close(b);
}

static void test_nats_bus(void **state) {
  mp_bus_opts o = {.url = mp_testenv("MP_NATS_URL"),
                   .name = "test_bus",
                   .stream = "MPTEST",
                   .stream_subjects = "mptest.>"};
  mp_bus *b;
  assert_int_equal(mp_bus_open(&o, &b), MP_OK);
  for (int i = 0; i < 100 && !mp_bus_connected(b); i++) mp_sleep_ms(20);
  assert_true(mp_bus_connected(b));
  /* Inside the stream's subjects publishes are JetStream-acknowledged; outside, plain. */
  roundtrip(b, "mptest.events.*", "mptest.events.a", 200);
  assert_true(mp_bus_jetstream(b));
  roundtrip(b, "plain.>", "plain.x.y", 200);

  /* NATS goes away: publishes fail (the caller keeps the data); it comes back on the
   * same port: the connection and the subscription recover by themselves. */
  mp_bus_sub *sub;
  assert_int_equal(mp_bus_subscribe(b, "mptest.after.>", 0, &sub), MP_OK);
  mp_services_cmd("nats-stop");
  for (int i = 0; i < 100 && mp_bus_connected(b); i++) mp_sleep_ms(20);
  assert_false(mp_bus_connected(b));
  assert_int_equal(mp_bus_publish(b, "mptest.after.1", "x", 1, "x1"), MP_ERR_UNAVAILABLE);
  mp_services_cmd("nats-start");
  for (int i = 0; i < 500 && !mp_bus_connected(b); i++) mp_sleep_ms(20);
  assert_true(mp_bus_connected(b));
  assert_int_equal(mp_bus_publish(b, "mptest.after.1", "back", 4, "back-1"), MP_OK);
  char *subj;
  uint8_t *data;
  size_t len;
  assert_int_equal(mp_bus_next(sub, 5000, &subj, &data, &len), MP_BUS_MSG);
  assert_memory_equal(data, "back", 4);
  mp_free(subj);
  mp_free(data);
  mp_bus_unsubscribe(sub);
  mp_bus_close(b);
}

static void test_nats_unreachable(void **state) {
  /* Nothing listens on port 1: open still succeeds (it keeps trying), publishes fail
   * with a message naming the URL. */
  mp_bus_opts o = {.url = "nats://127.0.0.1:1"};
  mp_bus *b;
  assert_int_equal(mp_bus_open(&o, &b), MP_OK);
  assert_false(mp_bus_connected(b));
  assert_int_equal(mp_bus_publish(b, "a.b", "x", 1, NULL), MP_ERR_UNAVAILABLE);
  assert_non_null(strstr(mp_error_last(), "nats://127.0.0.1:1"));
  mp_bus_close(b);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_subject_matching),
      cmocka_unit_test(test_local_bus),
      cmocka_unit_test(test_nats_bus),
      cmocka_unit_test(test_nats_unreachable),
  };
  int rc = cmocka_run_group_tests(tests, NULL, NULL);
  nats_CloseAndWait(5000);
  return rc;
}
