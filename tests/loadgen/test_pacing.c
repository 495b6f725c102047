/* Unit tests of the constant-rate schedule (loadgen/engine/pacing.c): the global slot
 * times, the ramp-up, and how threads and workers split the slots between them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "internal.h"

static void test_slot_times(void **state) {
  (void)state;
  /* 1000 req/s: one slot per millisecond. */
  for (uint64_t s = 0; s < 5000; s += 7)
    assert_int_equal(mp__slot_time(1000, 0, s), s * MP_NS_PER_MS);
  /* Fractional rates keep exact spacing: 3 req/s -> 333.333 ms. */
  assert_int_equal(mp__slot_time(3, 0, 1), 333333333);
  assert_int_equal(mp__slot_time(3, 0, 3), MP_NS_PER_S);
  /* 50k req/s for an hour is still exact to the nanosecond. */
  assert_int_equal(mp__slot_time(50000, 0, UINT64_C(180000000)), 3600 * MP_NS_PER_S);
}

static void test_rampup(void **state) {
  (void)state;
  const double rate = 1000;
  const int64_t ramp = 2 * MP_NS_PER_S;
  /* During the ramp, rate * t^2 / (2 * ramp) slots are due by t: 1000 * 1 / 4 at 1 s. */
  assert_int_equal(mp__slot_time(rate, ramp, 0), 0);
  assert_int_equal(mp__slot_time(rate, ramp, 250), MP_NS_PER_S);
  /* The ramp ends after rate * ramp / 2 = 1000 slots, at t = 2 s, then 1 ms apart. */
  assert_int_equal(mp__slot_time(rate, ramp, 1000), 2 * MP_NS_PER_S);
  assert_int_equal(mp__slot_time(rate, ramp, 1001), 2 * MP_NS_PER_S + MP_NS_PER_MS);
  /* Monotonic, and the instantaneous rate grows linearly. */
  int64_t prev = -1;
  for (uint64_t s = 0; s < 3000; s++) {
    int64_t t = mp__slot_time(rate, ramp, s);
    assert_true(t > prev);
    prev = t;
  }
  int64_t gap_early = mp__slot_time(rate, ramp, 101) - mp__slot_time(rate, ramp, 100);
  int64_t gap_late = mp__slot_time(rate, ramp, 901) - mp__slot_time(rate, ramp, 900);
  assert_true(gap_early > 2 * gap_late);
}

/* Every slot of the global schedule is taken exactly once, whatever the split over workers
 * and threads, so the sum of the shares is the requested rate. */
static void test_split_covers_schedule(void **state) {
  (void)state;
  static const struct {
    uint32_t workers, threads;
  } splits[] = {{1, 1}, {1, 2}, {1, 3}, {2, 1}, {2, 2}, {3, 4}, {4, 3}};
  const uint64_t total = 1200;
  for (size_t k = 0; k < MP_ARRAY_LEN(splits); k++) {
    uint32_t W = splits[k].workers, T = splits[k].threads;
    uint8_t *seen = calloc(total * 2, 1);
    int64_t *times = calloc(total * 2, sizeof *times);
    for (uint32_t w = 0; w < W; w++) {
      for (uint32_t t = 0; t < T; t++) {
        mp__pacer p;
        mp__pacer_init(&p, 1000.0, 0, (uint64_t)W * T, (uint64_t)W * t + w);
        int64_t prev = -1;
        while (p.offset + p.q * p.stride < total) {
          uint64_t s = p.offset + p.q * p.stride;
          assert_true(p.next > prev); /* each share is in time order */
          prev = p.next;
          seen[s]++;
          times[s] = p.next;
          mp__pacer_advance(&p);
        }
      }
    }
    for (uint64_t s = 0; s < total; s++) {
      if (seen[s] != 1)
        fail_msg("split %u workers x %u threads: slot %llu taken %u times", W, T,
                 (unsigned long long)s, seen[s]);
      assert_int_equal(times[s], mp__slot_time(1000.0, 0, s));
    }
    /* Consecutive global slots go to different workers first. */
    if (W > 1) {
      mp__pacer a, b;
      mp__pacer_init(&a, 1000.0, 0, (uint64_t)W * T, 0);
      mp__pacer_init(&b, 1000.0, 0, (uint64_t)W * T, 1);
      assert_int_equal(b.next - a.next, MP_NS_PER_MS);
    }
    free(seen);
    free(times);
  }
}

/* Progress boundaries fall every interval on both sides of the measured start. */
static void test_boundaries(void **state) {
  (void)state;
  mp_loadgen_run run;
  memset(&run, 0, sizeof run);
  run.m = 10000;
  run.interval_ns = 1000;
  assert_int_equal(mp__boundary_after(&run, 10000), 11000);
  assert_int_equal(mp__boundary_after(&run, 10999), 11000);
  assert_int_equal(mp__boundary_after(&run, 9999), 10000);
  assert_int_equal(mp__boundary_after(&run, 9000), 10000);
  assert_int_equal(mp__boundary_after(&run, 8999), 9000);
  assert_int_equal(mp__boundary_after(&run, 7250), 8000);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_slot_times),
      cmocka_unit_test(test_rampup),
      cmocka_unit_test(test_split_covers_schedule),
      cmocka_unit_test(test_boundaries),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
