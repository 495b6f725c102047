/* Comparing latency distributions: per-percentile deltas with confidence intervals.
 *
 * Latency samples are not independent (a slow second slows many requests), so the
 * default is a block bootstrap over the per-interval histograms that runs record about
 * once a second: resample intervals with replacement, merge them, read the percentile,
 * for both sides, many times; the spread of the difference is the interval. With too
 * few intervals, an order-statistic interval on each side (binomial ranks) is combined
 * conservatively instead. The verdict is "faster" or "slower" only when the whole
 * interval is on one side of zero.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "compare.h"

#define MIN_INTERVALS 5

/* xorshift64*: a small, fast, seeded generator, so comparisons are reproducible. */
static uint64_t next_rand(uint64_t *s) {
  *s ^= *s >> 12;
  *s ^= *s << 25;
  *s ^= *s >> 27;
  return *s * UINT64_C(2685821657736338717);
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* The q-quantile (0..1) of sorted values, linear between neighbours. */
static double quantile(const double *v, size_t n, double q) {
  double pos = q * (double)(n - 1);
  size_t i = (size_t)pos;
  if (i + 1 >= n) return v[n - 1];
  return v[i] + (pos - (double)i) * (v[i + 1] - v[i]);
}

/* Value at the given rank (1-based) of a histogram, clamped to its count. */
static double value_at_rank(const mp_hdr *h, double rank) {
  int64_t n = mp_hdr_count(h);
  if (n == 0) return 0;
  if (rank < 1) rank = 1;
  if (rank > (double)n) rank = (double)n;
  return (double)mp_hdr_value_at_percentile(h, 100.0 * rank / (double)n);
}

static double z_for(double confidence) {
  /* Two-sided normal quantiles for the usual levels; 95% otherwise. */
  if (confidence >= 0.989) return 2.5758;
  if (confidence >= 0.949) return 1.9600;
  if (confidence >= 0.899) return 1.6449;
  if (confidence >= 0.799) return 1.2816;
  return 1.9600;
}

static void order_statistic(const mp_hdr *base, const mp_hdr *cand, double p, double confidence,
                            double *lo, double *hi) {
  double z = z_for(confidence), q = p / 100.0;
  double nb = (double)mp_hdr_count(base), nc = (double)mp_hdr_count(cand);
  double sb = z * sqrt(nb * q * (1 - q)), sc = z * sqrt(nc * q * (1 - q));
  double b_lo = value_at_rank(base, nb * q - sb), b_hi = value_at_rank(base, nb * q + sb + 1);
  double c_lo = value_at_rank(cand, nc * q - sc), c_hi = value_at_rank(cand, nc * q + sc + 1);
  *lo = c_lo - b_hi;
  *hi = c_hi - b_lo;
}

/* Merges a bootstrap resample of intervals into acc (reset first). */
static void resample(mp_hdr *acc, mp_hdr *const *intervals, size_t n, uint64_t *rng) {
  mp_hdr_reset(acc);
  for (size_t i = 0; i < n; i++) mp_hdr_add(acc, intervals[next_rand(rng) % n]);
}

mp_status mp_compare(const mp_compare_side *base, const mp_compare_side *cand,
                     const double *percentiles, size_t n_pct, double confidence, int iterations,
                     mp_compare_delta *out) {
  if (!mp_hdr_count(base->total) || !mp_hdr_count(cand->total))
    return mp_error_set(MP_ERR_INVALID, "a result without requests cannot be compared");
  if (confidence <= 0 || confidence >= 1) confidence = 0.95;
  if (iterations <= 0) iterations = 1000;
  bool boot = base->n_intervals >= MIN_INTERVALS && cand->n_intervals >= MIN_INTERVALS;
  double *deltas = boot ? mp_malloc((size_t)iterations * n_pct * sizeof *deltas) : NULL;
  if (boot) {
    mp_hdr *bacc = mp_hdr_new_latency(mp_hdr_sigfigs(base->total));
    mp_hdr *cacc = mp_hdr_new_latency(mp_hdr_sigfigs(cand->total));
    uint64_t rng = UINT64_C(0x9E3779B97F4A7C15);
    for (int it = 0; it < iterations; it++) {
      resample(bacc, base->intervals, base->n_intervals, &rng);
      resample(cacc, cand->intervals, cand->n_intervals, &rng);
      for (size_t k = 0; k < n_pct; k++)
        deltas[k * (size_t)iterations + (size_t)it] =
            (double)mp_hdr_value_at_percentile(cacc, percentiles[k]) -
            (double)mp_hdr_value_at_percentile(bacc, percentiles[k]);
    }
    mp_hdr_free(bacc);
    mp_hdr_free(cacc);
  }
  for (size_t k = 0; k < n_pct; k++) {
    mp_compare_delta *d = &out[k];
    d->percentile = percentiles[k];
    d->baseline_us = mp_hdr_value_at_percentile(base->total, percentiles[k]);
    d->candidate_us = mp_hdr_value_at_percentile(cand->total, percentiles[k]);
    d->delta_us = (double)(d->candidate_us - d->baseline_us);
    d->delta_pct = d->baseline_us ? 100.0 * d->delta_us / (double)d->baseline_us : 0;
    if (boot) {
      double *v = deltas + k * (size_t)iterations;
      qsort(v, (size_t)iterations, sizeof *v, cmp_double);
      d->ci_low_us = quantile(v, (size_t)iterations, (1 - confidence) / 2);
      d->ci_high_us = quantile(v, (size_t)iterations, 1 - (1 - confidence) / 2);
    } else {
      order_statistic(base->total, cand->total, percentiles[k], confidence, &d->ci_low_us,
                      &d->ci_high_us);
    }
    d->method = boot ? "bootstrap" : "order-statistic";
    d->verdict = d->ci_high_us < 0  ? MP_VERDICT_FASTER
                 : d->ci_low_us > 0 ? MP_VERDICT_SLOWER
                                    : MP_VERDICT_SAME;
  }
  mp_free(deltas);
  return MP_OK;
}
