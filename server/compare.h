/* Per-percentile comparison of two latency distributions with confidence intervals. */
#ifndef MP_SERVER_COMPARE_H
#define MP_SERVER_COMPARE_H

#include "meshplane/hdr.h"

typedef struct mp_compare_side {
  const mp_hdr *total;      /* the whole measured period */
  mp_hdr *const *intervals; /* about one per second, in order (may be empty) */
  size_t n_intervals;
} mp_compare_side;

typedef enum mp_verdict {
  MP_VERDICT_SAME = 0, /* no significant difference */
  MP_VERDICT_FASTER = 1,
  MP_VERDICT_SLOWER = 2,
} mp_verdict;

typedef struct mp_compare_delta {
  double percentile;
  int64_t baseline_us, candidate_us;
  double delta_us, delta_pct;
  double ci_low_us, ci_high_us; /* of the delta, at the requested confidence */
  mp_verdict verdict;
  const char *method; /* "bootstrap" or "order-statistic" (static) */
} mp_compare_delta;

/* Fills out[0..n_pct) for candidate vs baseline. confidence in (0,1), default 0.95;
 * iterations of the bootstrap, default 1000. Deterministic for the same input. */
mp_status mp_compare(const mp_compare_side *base, const mp_compare_side *cand,
                     const double *percentiles, size_t n_pct, double confidence, int iterations,
                     mp_compare_delta *out);

#endif
