/* The comparison statistics: a real difference is found with the right sign, no
 * difference is reported between samples of one distribution, and the fallback without
 * intervals behaves the same way. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>

#include <cmocka.h>

#include "compare.h"

static uint64_t rng = 42;
static double uniform(void) {
  rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
  return (double)(rng >> 11) / 9007199254740992.0;
}

/* Log-normal-ish latencies around median_us, with per-second drift. */
static void run(double median_us, int seconds, int per_second, mp_hdr **total, mp_hdr **iv) {
  *total = mp_hdr_new_latency(3);
  for (int s = 0; s < seconds; s++) {
    iv[s] = mp_hdr_new_latency(3);
    double drift = 1 + 0.05 * (uniform() - 0.5);
    for (int i = 0; i < per_second; i++) {
      double u1 = uniform() + 1e-12, u2 = uniform();
      double z = sqrt(-2 * log(u1)) * cos(2 * M_PI * u2);
      int64_t v = (int64_t)(median_us * drift * exp(0.3 * z));
      mp_hdr_record(iv[s], v);
      mp_hdr_record(*total, v);
    }
  }
}

static void free_run(mp_hdr *total, mp_hdr **iv, int n) {
  mp_hdr_free(total);
  for (int i = 0; i < n; i++) mp_hdr_free(iv[i]);
}

static void test_bootstrap(void **state) {
  enum { S = 20 };
  mp_hdr *bt, *ct, *st, *biv[S], *civ[S], *siv[S];
  run(1000, S, 500, &bt, biv); /* baseline: 1 ms */
  run(1300, S, 500, &ct, civ); /* 30% slower */
  run(1000, S, 500, &st, siv); /* same distribution, other samples */
  const double pct[] = {50, 90, 99};
  mp_compare_delta d[3];
  mp_compare_side base = {bt, biv, S}, slow = {ct, civ, S}, same = {st, siv, S};

  assert_int_equal(mp_compare(&base, &slow, pct, 3, 0.95, 500, d), MP_OK);
  for (int k = 0; k < 3; k++) {
    assert_string_equal(d[k].method, "bootstrap");
    assert_int_equal(d[k].verdict, MP_VERDICT_SLOWER);
    assert_true(d[k].ci_low_us > 0 && d[k].ci_low_us <= d[k].delta_us &&
                d[k].delta_us <= d[k].ci_high_us);
  }
  assert_true(d[0].delta_pct > 20 && d[0].delta_pct < 40);
  /* The other way round it is faster. */
  assert_int_equal(mp_compare(&slow, &base, pct, 3, 0.95, 500, d), MP_OK);
  for (int k = 0; k < 3; k++) assert_int_equal(d[k].verdict, MP_VERDICT_FASTER);
  /* Two samples of one distribution: no significant difference at p50 and p90. */
  assert_int_equal(mp_compare(&base, &same, pct, 3, 0.95, 500, d), MP_OK);
  assert_int_equal(d[0].verdict, MP_VERDICT_SAME);
  assert_int_equal(d[1].verdict, MP_VERDICT_SAME);
  assert_true(d[0].ci_low_us < 0 && d[0].ci_high_us > 0);
  /* Deterministic. */
  mp_compare_delta again[3];
  assert_int_equal(mp_compare(&base, &same, pct, 3, 0.95, 500, again), MP_OK);
  assert_true(again[0].ci_low_us == d[0].ci_low_us && again[2].ci_high_us == d[2].ci_high_us);

  /* Without intervals: the order-statistic fallback reaches the same verdicts. */
  mp_compare_side base0 = {bt, NULL, 0}, slow0 = {ct, NULL, 0}, same0 = {st, NULL, 0};
  assert_int_equal(mp_compare(&base0, &slow0, pct, 3, 0.95, 0, d), MP_OK);
  assert_string_equal(d[0].method, "order-statistic");
  assert_int_equal(d[0].verdict, MP_VERDICT_SLOWER);
  assert_int_equal(mp_compare(&base0, &same0, pct, 1, 0.95, 0, d), MP_OK);
  assert_int_equal(d[0].verdict, MP_VERDICT_SAME);

  mp_hdr *empty = mp_hdr_new_latency(3);
  mp_compare_side none = {empty, NULL, 0};
  assert_int_equal(mp_compare(&none, &base, pct, 1, 0.95, 0, d), MP_ERR_INVALID);
  mp_hdr_free(empty);
  free_run(bt, biv, S);
  free_run(ct, civ, S);
  free_run(st, siv, S);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_bootstrap)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
