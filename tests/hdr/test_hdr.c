/* Unit tests of lib/hdr recording and statistics against HdrHistogram's known values.
 *
 * Expected numbers come from HdrHistogram's own test suites (Java HistogramTest and
 * HistogramDataAccessTest, HdrHistogram_c test/hdr_histogram_test.c: those assert within
 * 0.1%) and, for the exact figures, from hdr-histogram-js 3.0.1 run on the same data. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hdr_test_util.h"

static void test_layout(void **state) {
  (void)state;
  /* countsArrayLength of the reference for the same arguments. */
  static const struct {
    int64_t lowest, highest;
    int sigfigs;
    int32_t len;
  } cases[] = {
      {1, INT64_C(3600000000), 1, 464},
      {1, INT64_C(3600000000), 2, 3328},
      {1, INT64_C(3600000000), 3, 23552},
      {1, INT64_C(3600000000), 4, 311296},
      {1, INT64_C(3600000000), 5, 2097152},
      {1000, INT64_C(3600000000) * 512, 3, 23552},
      {20000000, 100000000, 5, 262144},
      {1, 2, 1, 32},
      {1, 1000, 4, 32768},
      {1, 255, 2, 256},
      {1024, INT64_C(9007199254740991), 3, 34816},
  };
  for (size_t i = 0; i < MP_ARRAY_LEN(cases); i++) {
    mp_hdr *h;
    ASSERT_OK(mp_hdr_new(cases[i].lowest, cases[i].highest, cases[i].sigfigs, &h));
    ASSERT_I64(mp_hdr_counts_len(h), cases[i].len);
    ASSERT_I64(mp_hdr_lowest(h), cases[i].lowest);
    ASSERT_I64(mp_hdr_highest(h), cases[i].highest);
    ASSERT_I64(mp_hdr_sigfigs(h), cases[i].sigfigs);
    mp_hdr_free(h);
  }
  mp_hdr *h = mp_hdr_new_latency(0);
  ASSERT_I64(mp_hdr_sigfigs(h), MP_HDR_DEFAULT_SIGFIGS);
  ASSERT_I64(mp_hdr_highest(h), MP_HDR_HIGHEST_US);
  mp_hdr_free(h);
  mp_hdr_free(NULL);
}

static void test_invalid_arguments(void **state) {
  (void)state;
  static const struct {
    int64_t lowest, highest;
    int sigfigs;
    const char *says;
  } bad[] = {
      {0, 65536, 2, "lowest"},
      {-5, 65536, 2, "lowest"},
      {80, 110, 5, "highest"},
      {1, 36000000, -1, "significant"},
      {1, 36000000, 6, "significant"},
      {1, 36000000, 0, "significant"},
      {INT64_C(1) << 50, INT64_MAX, 5, "64 bits"},
  };
  for (size_t i = 0; i < MP_ARRAY_LEN(bad); i++) {
    mp_hdr *h = (mp_hdr *)&h;
    ASSERT_I64(mp_hdr_new(bad[i].lowest, bad[i].highest, bad[i].sigfigs, &h), MP_ERR_INVALID);
    assert_null(h);
    if (!strstr(mp_error_last(), bad[i].says))
      fail_msg("case %zu: message \"%s\" does not mention %s", i, mp_error_last(), bad[i].says);
  }
  assert_null(mp_hdr_new_latency(6));
  assert_null(mp_hdr_new_latency(-1));
}

static void test_classic_raw(void **state) {
  (void)state;
  mp_hdr *h = classic_raw();
  ASSERT_I64(mp_hdr_count(h), 10001);
  ASSERT_I64(mp_hdr_min(h), 1000);
  ASSERT_I64(mp_hdr_max(h), 100007935);
  assert_true(mp_hdr_values_equivalent(h, mp_hdr_max(h), 100000000));
  ASSERT_I64(mp_hdr_count_at(h, 1000), 10000);
  ASSERT_I64(mp_hdr_clamped(h), 0);

  static const struct {
    double p;
    int64_t want;
  } pct[] = {{0, 1000},     {30, 1000},          {50, 1000},       {99, 1000},
             {99.99, 1000}, {99.999, 100007935}, {100, 100007935}, {150, 100007935}};
  for (size_t i = 0; i < MP_ARRAY_LEN(pct); i++)
    ASSERT_I64(mp_hdr_value_at_percentile(h, pct[i].p), pct[i].want);
  /* Java's expectations, within 0.1%. */
  ASSERT_NEAR((double)mp_hdr_value_at_percentile(h, 99.999), 100000000.0, 0.001);

  double mean = (10000.0 * 1000 + 100000000.0) / 10001;
  double sd = sqrt((10000.0 * pow(1000.0 - mean, 2) + pow(100000000.0 - mean, 2)) / 10001);
  ASSERT_NEAR(mp_hdr_mean(h), mean, 0.001);
  ASSERT_NEAR(mp_hdr_stddev(h), sd, 0.001);
  /* The reference's own double arithmetic gives exactly these. */
  ASSERT_NEAR(mp_hdr_mean(h), 10996.417158284172, 1e-15);
  ASSERT_NEAR(mp_hdr_stddev(h), 999641.71582841710, 1e-15);
  mp_hdr_free(h);
}

static void test_classic_corrected(void **state) {
  (void)state;
  mp_hdr *h = classic_corrected();
  ASSERT_I64(mp_hdr_count(h), 20000);
  ASSERT_I64(mp_hdr_min(h), 1000);
  ASSERT_I64(mp_hdr_max(h), 100007935);
  ASSERT_I64(mp_hdr_count_at(h, 1000), 10000);
  ASSERT_I64(mp_hdr_count_at(h, 10000), 1);

  /* want: the reference's exact answer; exact: the order statistic of the data itself,
   * which HdrHistogram's tests accept within 0.1%. */
  static const struct {
    double p;
    int64_t want, exact;
  } pct[] = {{30, 1000, 1000},
             {50, 1000, 1000},
             {75, 50003967, 50000000},
             {90, 80019455, 80000000},
             {99, 98041855, 98000000},
             {99.9, 99811327, 99800000},
             {99.999, 100007935, 100000000},
             {100, 100007935, 100000000}};
  for (size_t i = 0; i < MP_ARRAY_LEN(pct); i++) {
    ASSERT_I64(mp_hdr_value_at_percentile(h, pct[i].p), pct[i].want);
    ASSERT_NEAR((double)mp_hdr_value_at_percentile(h, pct[i].p), (double)pct[i].exact, 0.001);
  }

  double mean = (1000.0 + 50000000.0) / 2, sq = 10000 * pow(1000.0 - mean, 2);
  for (int64_t v = 10000; v <= 100000000; v += 10000) sq += pow((double)v - mean, 2);
  ASSERT_NEAR(mp_hdr_mean(h), mean, 0.001);
  ASSERT_NEAR(mp_hdr_stddev(h), sqrt(sq / 20000), 0.001);
  ASSERT_NEAR(mp_hdr_mean(h), 25003006.6994, 1e-15);
  ASSERT_NEAR(mp_hdr_stddev(h), 32276410.479123365, 1e-15);
  mp_hdr_free(h);
}

static void test_scaled_equivalence(void **state) {
  (void)state;
  /* HdrHistogram_c test_scaling_equivalence: the same data in units 512 times smaller,
   * with a lowest discernible value of 1000, gives the same shape. */
  mp_hdr *cor = classic_corrected(), *scaled;
  ASSERT_OK(mp_hdr_new(1000, INT64_C(3600000000) * 512, 3, &scaled));
  for (int i = 0; i < 10000; i++) mp_hdr_record_corrected(scaled, 1000 * 512, 10000 * 512);
  mp_hdr_record_corrected(scaled, INT64_C(100000000) * 512, 10000 * 512);
  ASSERT_NEAR(mp_hdr_mean(cor) * 512, mp_hdr_mean(scaled), 0.000001);
  ASSERT_I64(mp_hdr_count(cor), mp_hdr_count(scaled));
  int64_t want = mp_hdr_value_at_percentile(cor, 99.0) * 512;
  ASSERT_I64(mp_hdr_lowest_equivalent(cor, want),
             mp_hdr_lowest_equivalent(scaled, mp_hdr_value_at_percentile(scaled, 99.0)));
  mp_hdr_free(cor);
  mp_hdr_free(scaled);
}

static void test_percentile_examples(void **state) {
  (void)state;
  /* Java HistogramDataAccessTest.testGetValueAtPercentileExamples: the count is rounded
   * up after stepping one ulp down (HdrHistogram_c rounds to nearest and says 1 at 25%). */
  mp_hdr *h = mp_hdr_new_latency(3);
  mp_hdr_record(h, 1);
  mp_hdr_record(h, 2);
  ASSERT_I64(mp_hdr_value_at_percentile(h, 50.0), 1);
  ASSERT_I64(mp_hdr_value_at_percentile(h, 50.00000000000001), 1);
  ASSERT_I64(mp_hdr_value_at_percentile(h, 50.0000000000001), 2);
  mp_hdr_record_n(h, 2, 3);
  ASSERT_I64(mp_hdr_value_at_percentile(h, 25), 2);
  ASSERT_I64(mp_hdr_value_at_percentile(h, 30), 2);
  ASSERT_I64(mp_hdr_value_at_percentile(h, 0), 1);
  ASSERT_I64(mp_hdr_value_at_percentile(h, -3), 1);
  ASSERT_I64(mp_hdr_value_at_percentile(h, NAN), 1);
  mp_hdr_free(h);

  /* Java HistogramTest.testConstructionWithLargeNumbers (current version; the older one
   * kept in HdrHistogram_c expects 30000000 at 83.33%, its rounding to nearest). */
  ASSERT_OK(mp_hdr_new(20000000, 100000000, 5, &h));
  mp_hdr_record(h, 100000000);
  mp_hdr_record(h, 20000000);
  mp_hdr_record(h, 30000000);
  assert_true(mp_hdr_values_equivalent(h, 20000000, mp_hdr_value_at_percentile(h, 50.0)));
  assert_true(mp_hdr_values_equivalent(h, 30000000, mp_hdr_value_at_percentile(h, 50.0)));
  assert_true(mp_hdr_values_equivalent(h, 100000000, mp_hdr_value_at_percentile(h, 83.33)));
  assert_true(mp_hdr_values_equivalent(h, 100000000, mp_hdr_value_at_percentile(h, 83.34)));
  assert_true(mp_hdr_values_equivalent(h, 100000000, mp_hdr_value_at_percentile(h, 99.0)));
  mp_hdr_free(h);

  /* Java testGetValueAtPercentileForLargeHistogram. */
  ASSERT_OK(mp_hdr_new(1, INT64_C(1000000000000), 5, &h));
  mp_hdr_record(h, INT64_C(1000000000000));
  assert_true(mp_hdr_value_at_percentile(h, 100.0) > 0);
  mp_hdr_free(h);
}

static void test_equivalent_ranges(void **state) {
  (void)state;
  /* Java HistogramTest: sizeOf/lowest/highest/medianEquivalentValue at 3 digits. */
  mp_hdr *h = mp_hdr_new_latency(3);
  static const int64_t size_in[] = {1, 2500, 8191, 8192, 10000}, size_want[] = {1, 2, 4, 8, 8};
  for (size_t i = 0; i < MP_ARRAY_LEN(size_in); i++)
    ASSERT_I64(mp_hdr_highest_equivalent(h, size_in[i]) - mp_hdr_lowest_equivalent(h, size_in[i]) +
                   1,
               size_want[i]);
  ASSERT_I64(mp_hdr_lowest_equivalent(h, 10007), 10000);
  ASSERT_I64(mp_hdr_lowest_equivalent(h, 10009), 10008);
  static const int64_t hi_in[] = {8180, 8191, 8193, 9995, 10007, 10008},
                       hi_want[] = {8183, 8191, 8199, 9999, 10007, 10015};
  for (size_t i = 0; i < MP_ARRAY_LEN(hi_in); i++)
    ASSERT_I64(mp_hdr_highest_equivalent(h, hi_in[i]), hi_want[i]);
  assert_true(mp_hdr_values_equivalent(h, 10000, 10007));
  assert_false(mp_hdr_values_equivalent(h, 10007, 10008));
  assert_true(mp_hdr_values_equivalent(h, 1000, 1000));
  assert_false(mp_hdr_values_equivalent(h, 1000, 1001));
  ASSERT_I64(mp_hdr_lowest_equivalent(h, -5), 0);
  /* Far above the range the arithmetic still holds and never overflows. */
  ASSERT_I64(mp_hdr_highest_equivalent(h, INT64_MAX), INT64_MAX);
  mp_hdr_free(h);
}

static void test_clamping(void **state) {
  (void)state;
  mp_hdr *h;
  ASSERT_OK(mp_hdr_new(1, 1000, 4, &h));
  assert_true(mp_hdr_record(h, 1000));
  ASSERT_I64(mp_hdr_clamped(h), 0);
  assert_true(mp_hdr_record(h, 1001));
  assert_true(mp_hdr_record_n(h, INT64_MAX, 3));
  ASSERT_I64(mp_hdr_clamped(h), 4);
  ASSERT_I64(mp_hdr_count_at(h, 1000), 5);
  ASSERT_I64(mp_hdr_max(h), 1000);
  assert_false(mp_hdr_record(h, -1));
  assert_false(mp_hdr_record_n(h, -1, 1));
  assert_false(mp_hdr_record_n(h, 1, -1));
  assert_false(mp_hdr_record_corrected(h, -1, 10));
  assert_true(mp_hdr_record_n(h, 7, 0));
  ASSERT_I64(mp_hdr_count(h), 5);
  /* The total count never overflows. */
  assert_false(mp_hdr_record_n(h, 7, INT64_MAX));
  ASSERT_I64(mp_hdr_count(h), 5);
  ASSERT_I64(mp_hdr_count_at(h, 7), 0);
  mp_hdr_free(h);
}

static void test_empty_and_zero(void **state) {
  (void)state;
  mp_hdr *h = mp_hdr_new_latency(3);
  ASSERT_I64(mp_hdr_count(h), 0);
  ASSERT_I64(mp_hdr_min(h), 0);
  ASSERT_I64(mp_hdr_max(h), 0);
  ASSERT_NEAR(mp_hdr_mean(h), 0.0, 0);
  ASSERT_NEAR(mp_hdr_stddev(h), 0.0, 0);
  ASSERT_I64(mp_hdr_value_at_percentile(h, 99), 0);
  mp_hdr_record(h, 0);
  ASSERT_I64(mp_hdr_min(h), 0);
  ASSERT_I64(mp_hdr_max(h), 0);
  ASSERT_I64(mp_hdr_value_at_percentile(h, 100), 0);
  mp_hdr_record(h, 5);
  ASSERT_I64(mp_hdr_min(h), 0); /* a zero was recorded */
  ASSERT_I64(mp_hdr_max(h), 5);
  mp_hdr_free(h);
}

/* The reference algorithm, one value at a time. */
static void naive_corrected(mp_hdr *h, int64_t v, int64_t interval) {
  mp_hdr_record(h, v);
  if (interval <= 0) return;
  for (int64_t m = v - interval; m >= interval; m -= interval) mp_hdr_record(h, m);
}

static void test_corrected_matches_reference(void **state) {
  (void)state;
  uint64_t seed = 42;
  mp_hdr *fast, *slow;
  ASSERT_OK(mp_hdr_new(1, 10000000, 3, &fast));
  ASSERT_OK(mp_hdr_new(1, 10000000, 3, &slow));
  for (int i = 0; i < 3000; i++) {
    /* Mostly wide intervals over values up to twice the range (half are clamped), some
     * fine intervals over small values, some without correction. */
    int64_t v, interval;
    switch (test_rand(&seed) % 4) {
    case 0:
      v = (int64_t)(test_rand(&seed) % 100000);
      interval = 1 + (int64_t)(test_rand(&seed) % 10);
      break;
    case 1:
      v = (int64_t)(test_rand(&seed) % 20000000);
      interval = (int64_t)(test_rand(&seed) % 3) - 1; /* -1, 0, 1 -> none, none, v */
      if (interval == 1) interval = v;
      break;
    default:
      v = (int64_t)(test_rand(&seed) % 20000000);
      interval = 200 + (int64_t)(test_rand(&seed) % 100000);
    }
    assert_true(mp_hdr_record_corrected(fast, v, interval));
    naive_corrected(slow, v, interval);
    if (!mp_hdr_equal(fast, slow))
      fail_msg("v=%lld interval=%lld: counts differ", (long long)v, (long long)interval);
    ASSERT_I64(mp_hdr_clamped(fast), mp_hdr_clamped(slow));
    ASSERT_I64(mp_hdr_min(fast), mp_hdr_min(slow));
    ASSERT_I64(mp_hdr_max(fast), mp_hdr_max(slow));
  }
  /* An interval beyond the range: every corrected value is clamped. */
  assert_true(mp_hdr_record_corrected(fast, 100000000, 20000000));
  naive_corrected(slow, 100000000, 20000000);
  assert_true(mp_hdr_equal(fast, slow));
  ASSERT_I64(mp_hdr_clamped(fast), mp_hdr_clamped(slow));
  mp_hdr_free(fast);
  mp_hdr_free(slow);

  /* A one-hour stall at a 1 us interval: 3.6e9 samples in a few thousand steps. */
  mp_hdr *h = mp_hdr_new_latency(3);
  int64_t t0 = mp_mono_ns();
  assert_true(mp_hdr_record_corrected(h, MP_HDR_HIGHEST_US, 1));
  ASSERT_I64(mp_hdr_count(h), MP_HDR_HIGHEST_US);
  ASSERT_I64(mp_hdr_min(h), 1);
  assert_true(mp_mono_ns() - t0 < 2 * MP_NS_PER_S);
  ASSERT_I64(mp_hdr_value_at_percentile(h, 50), mp_hdr_highest_equivalent(h, 1800000000));
  mp_hdr_free(h);
}

static void test_merge_exact(void **state) {
  (void)state;
  enum { THREADS = 4, SAMPLES = 50000 };
  mp_hdr *all = mp_hdr_new_latency(3), *merged = mp_hdr_new_latency(3), *part[THREADS];
  uint64_t seed = 7;
  for (int t = 0; t < THREADS; t++) part[t] = mp_hdr_new_latency(3);
  for (int i = 0; i < SAMPLES * THREADS; i++) {
    int64_t v = test_latency(&seed);
    mp_hdr_record_corrected(part[i % THREADS], v, 2000);
    mp_hdr_record_corrected(all, v, 2000);
  }
  for (int t = 0; t < THREADS; t++) ASSERT_OK(mp_hdr_add(merged, part[t]));
  assert_true(mp_hdr_equal(merged, all));
  ASSERT_I64(mp_hdr_count(merged), mp_hdr_count(all));
  ASSERT_I64(mp_hdr_min(merged), mp_hdr_min(all));
  ASSERT_I64(mp_hdr_max(merged), mp_hdr_max(all));
  ASSERT_NEAR(mp_hdr_mean(merged), mp_hdr_mean(all), 0);
  ASSERT_NEAR(mp_hdr_stddev(merged), mp_hdr_stddev(all), 0);
  static const double ps[] = {0, 50, 90, 99, 99.9, 99.99, 100};
  for (size_t i = 0; i < MP_ARRAY_LEN(ps); i++)
    ASSERT_I64(mp_hdr_value_at_percentile(merged, ps[i]), mp_hdr_value_at_percentile(all, ps[i]));

  /* Merging an empty histogram changes nothing; merging into an empty one copies. */
  mp_hdr *empty = mp_hdr_new_latency(3), *copy = mp_hdr_new_latency(3);
  ASSERT_OK(mp_hdr_add(merged, empty));
  assert_true(mp_hdr_equal(merged, all));
  ASSERT_OK(mp_hdr_add(copy, all));
  assert_true(mp_hdr_equal(copy, all));
  for (int t = 0; t < THREADS; t++) mp_hdr_free(part[t]);
  mp_hdr_free(empty);
  mp_hdr_free(copy);
  mp_hdr_free(merged);
  mp_hdr_free(all);
}

static void test_merge_other_ranges(void **state) {
  (void)state;
  mp_hdr *small, *wide, *coarse;
  ASSERT_OK(mp_hdr_new(1, 1000000, 3, &small));
  ASSERT_OK(mp_hdr_new(1, INT64_C(1) << 40, 3, &wide));
  mp_hdr_record_n(wide, 1500, 10);
  mp_hdr_record_n(wide, 5000000, 2); /* above small's range */
  mp_hdr_record(small, 999);
  ASSERT_OK(mp_hdr_add(small, wide));
  ASSERT_I64(mp_hdr_count(small), 13);
  ASSERT_I64(mp_hdr_count_at(small, 1500), 10);
  ASSERT_I64(mp_hdr_clamped(small), 2);
  ASSERT_I64(mp_hdr_count_at(small, 1000000), 2);

  /* A different unit (lowest 1024): re-recorded at each bucket's lowest value. */
  ASSERT_OK(mp_hdr_new(1024, INT64_C(1) << 40, 3, &coarse));
  ASSERT_OK(mp_hdr_add(coarse, wide));
  ASSERT_I64(mp_hdr_count(coarse), 12);
  assert_true(mp_hdr_values_equivalent(coarse, mp_hdr_max(coarse), 5000000));

  /* Different precision is refused and nothing changes. */
  mp_hdr *two;
  ASSERT_OK(mp_hdr_new(1, 1000000, 2, &two));
  ASSERT_I64(mp_hdr_add(two, small), MP_ERR_INVALID);
  assert_non_null(strstr(mp_error_last(), "significant figures"));
  ASSERT_I64(mp_hdr_count(two), 0);

  /* Totals that would overflow are refused. */
  mp_hdr_record_n(two, 10, INT64_MAX - 1);
  mp_hdr *two_b;
  ASSERT_OK(mp_hdr_new(1, 1000000, 2, &two_b));
  mp_hdr_record_n(two_b, 10, 2);
  ASSERT_I64(mp_hdr_add(two, two_b), MP_ERR_INVALID);
  ASSERT_I64(mp_hdr_count(two), INT64_MAX - 1);
  mp_hdr_free(two_b);
  mp_hdr_free(two);
  mp_hdr_free(coarse);
  mp_hdr_free(wide);
  mp_hdr_free(small);
}

static void test_reset(void **state) {
  (void)state;
  mp_hdr *h = classic_corrected();
  mp_hdr_record(h, INT64_MAX);
  assert_true(mp_hdr_value_at_percentile(h, 99.0) != 0);
  mp_hdr_reset(h);
  ASSERT_I64(mp_hdr_count(h), 0);
  ASSERT_I64(mp_hdr_clamped(h), 0);
  ASSERT_I64(mp_hdr_value_at_percentile(h, 99.0), 0);
  ASSERT_I64(mp_hdr_min(h), 0);
  ASSERT_I64(mp_hdr_max(h), 0);
  mp_hdr *empty = mp_hdr_new_latency(3);
  assert_true(mp_hdr_equal(h, empty));
  mp_hdr_free(empty);
  mp_hdr_free(h);
}

struct collected {
  mp_hdr_bucket b[8];
  int n, stop_after;
};

static bool collect(const mp_hdr_bucket *b, void *arg) {
  struct collected *c = arg;
  if (c->n < 8) c->b[c->n] = *b;
  c->n++;
  return c->n != c->stop_after;
}

static void test_foreach(void **state) {
  (void)state;
  mp_hdr *h = classic_raw();
  struct collected c = {.stop_after = -1};
  mp_hdr_foreach(h, collect, &c);
  ASSERT_I64(c.n, 2);
  ASSERT_I64(c.b[0].lowest, 1000);
  ASSERT_I64(c.b[0].highest, 1000);
  ASSERT_I64(c.b[0].count, 10000);
  ASSERT_I64(c.b[0].cumulative, 10000);
  ASSERT_I64(c.b[1].lowest, 99942400);
  ASSERT_I64(c.b[1].highest, 100007935);
  ASSERT_I64(c.b[1].count, 1);
  ASSERT_I64(c.b[1].cumulative, 10001);
  struct collected one = {.stop_after = 1};
  mp_hdr_foreach(h, collect, &one);
  ASSERT_I64(one.n, 1);
  mp_hdr_free(h);

  /* The corrected histogram has 4228 buckets in use (as decoded by hdr-histogram-js). */
  h = classic_corrected();
  struct collected many = {.stop_after = -1};
  mp_hdr_foreach(h, collect, &many);
  ASSERT_I64(many.n, 4228);
  mp_hdr_free(h);
}

struct rows {
  int n;
  int64_t first_value, last_value, last_total, prev_total;
  double last_pct, last_inverted, prev_pct;
  int64_t v75;
};

static void row(int64_t value, double pct, int64_t total, double inverted, void *arg) {
  struct rows *r = arg;
  if (r->n == 0) r->first_value = value;
  if (pct < r->prev_pct || total < r->prev_total) fail_msg("row %d goes backwards", r->n);
  if (fabs(pct - 0.75) < 1e-12) r->v75 = value;
  r->prev_pct = r->last_pct = pct;
  r->prev_total = r->last_total = total;
  r->last_value = value;
  r->last_inverted = inverted;
  r->n++;
}

static void test_percentile_distribution(void **state) {
  (void)state;
  /* hdr-histogram-js outputPercentileDistribution(5) prints 61 rows for the corrected
   * data, from 1000.000 at 0% to 100007935 at 100%, with 50003967 at 75%. */
  mp_hdr *h = classic_corrected();
  struct rows r = {0};
  mp_hdr_percentiles(h, 5, row, &r);
  ASSERT_I64(r.n, 61);
  ASSERT_I64(r.first_value, 1000);
  ASSERT_I64(r.v75, 50003967);
  ASSERT_I64(r.last_value, 100007935);
  ASSERT_I64(r.last_total, 20000);
  ASSERT_NEAR(r.last_pct, 1.0, 0);
  assert_true(isinf(r.last_inverted));
  struct rows def = {0};
  mp_hdr_percentiles(h, 0, row, &def);
  ASSERT_I64(def.n, 61);
  /* Counts beyond 2^53: a slot's share rounds to 100% before the last count, where the
   * reference iterator never ends; ours still does, with a row per remaining slot. */
  mp_hdr_reset(h);
  mp_hdr_record_n(h, 10, INT64_C(1) << 62);
  mp_hdr_record_n(h, 20, 1);
  struct rows huge = {0};
  mp_hdr_percentiles(h, 5, row, &huge);
  if (huge.n < 50 || huge.n > 400) fail_msg("%d rows", huge.n);
  ASSERT_I64(huge.last_value, 20);
  ASSERT_I64(huge.last_total, (INT64_C(1) << 62) + 1);
  mp_hdr_reset(h);
  struct rows none = {0};
  mp_hdr_percentiles(h, 5, row, &none);
  ASSERT_I64(none.n, 0);
  mp_hdr_free(h);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_layout),
      cmocka_unit_test(test_invalid_arguments),
      cmocka_unit_test(test_classic_raw),
      cmocka_unit_test(test_classic_corrected),
      cmocka_unit_test(test_scaled_equivalence),
      cmocka_unit_test(test_percentile_examples),
      cmocka_unit_test(test_equivalent_ranges),
      cmocka_unit_test(test_clamping),
      cmocka_unit_test(test_empty_and_zero),
      cmocka_unit_test(test_corrected_matches_reference),
      cmocka_unit_test(test_merge_exact),
      cmocka_unit_test(test_merge_other_ranges),
      cmocka_unit_test(test_reset),
      cmocka_unit_test(test_foreach),
      cmocka_unit_test(test_percentile_distribution),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
