/* HdrHistogram-compatible histogram: layout, recording, merging, statistics, iteration.
 *
 * Semantics follow the Java reference (org.HdrHistogram.AbstractHistogram), which the
 * other ports (C, JS, Go, Rust) agree with except where noted: getValueAtPercentile uses
 * Java's "ceil of count, one ulp below the requested percentile" rule (HdrHistogram_c
 * rounds to nearest instead, which disagrees with Java and JS for e.g. 25% of 5 values).
 */
#include <math.h>
#include <string.h>

#include "hdr_internal.h"

/* log2 of the smallest power of two >= 2 * 10^sigfigs: the sub-bucket count that keeps
 * single-unit resolution up to twice the decimal precision (Java's
 * largestValueWithSingleUnitResolution). */
static int sub_count_magnitude(int sigfigs) {
  int64_t largest = 2;
  for (int i = 0; i < sigfigs; i++) largest *= 10;
  int mag = 0;
  while ((INT64_C(1) << mag) < largest) mag++;
  return mag;
}

static int32_t buckets_to_cover(int64_t highest, int32_t sub_count, int unit_mag) {
  /* Bucket k covers up to sub_count << (unit_mag + k); stop at the first that holds
   * `highest`, or when the next shift would overflow (that bucket reaches INT64_MAX). */
  int64_t untrackable = (int64_t)sub_count << unit_mag;
  int32_t needed = 1;
  while (untrackable <= highest) {
    if (untrackable > INT64_MAX / 2) return needed + 1;
    untrackable <<= 1;
    needed++;
  }
  return needed;
}

mp_status mp__hdr_alloc(int64_t lowest, int64_t highest, int sigfigs, mp_hdr **out) {
  *out = NULL;
  if (lowest < 1)
    return mp_error_set(MP_ERR_INVALID, "hdr: lowest discernible value %lld must be >= 1",
                        (long long)lowest);
  if (sigfigs < 1 || sigfigs > 5)
    return mp_error_set(MP_ERR_INVALID, "hdr: significant figures %d must be 1..5", sigfigs);
  if (lowest > highest / 2)
    return mp_error_set(MP_ERR_INVALID,
                        "hdr: highest trackable value %lld must be >= 2 * lowest (%lld)",
                        (long long)highest, (long long)lowest);
  int unit_mag = 63 - __builtin_clzll((uint64_t)lowest);
  int count_mag = sub_count_magnitude(sigfigs);
  int half_mag = (count_mag > 1 ? count_mag : 1) - 1;
  if (unit_mag + half_mag > 61)
    return mp_error_set(MP_ERR_INVALID,
                        "hdr: %d significant figures above a lowest value of %lld do not fit "
                        "in 64 bits; lower one of them",
                        sigfigs, (long long)lowest);
  int32_t sub_count = INT32_C(1) << (half_mag + 1);
  int32_t buckets = buckets_to_cover(highest, sub_count, unit_mag);
  int32_t counts_len = (buckets + 1) * (sub_count / 2);

  mp_hdr *h = mp_calloc(1, sizeof(mp_hdr) + (size_t)counts_len * sizeof(int64_t));
  h->lowest = lowest;
  h->highest = highest;
  h->sigfigs = sigfigs;
  h->unit_mag = unit_mag;
  h->half_mag = half_mag;
  h->lz_base = 64 - unit_mag - half_mag - 1;
  h->sub_mask = (int64_t)(sub_count - 1) << unit_mag;
  h->sub_count = sub_count;
  h->bucket_count = buckets;
  h->counts_len = counts_len;
  h->min_nz = INT64_MAX;
  *out = h;
  return MP_OK;
}

mp_status mp_hdr_new(int64_t lowest, int64_t highest, int sigfigs, mp_hdr **out) {
  return mp__hdr_alloc(lowest, highest, sigfigs, out);
}

mp_hdr *mp_hdr_new_latency(int sigfigs) {
  mp_hdr *h = NULL;
  mp_hdr_new(MP_HDR_LOWEST_US, MP_HDR_HIGHEST_US, sigfigs ? sigfigs : MP_HDR_DEFAULT_SIGFIGS, &h);
  return h;
}

void mp_hdr_free(mp_hdr *h) { mp_free(h); }

void mp_hdr_reset(mp_hdr *h) {
  memset(h->counts, 0, (size_t)h->counts_len * sizeof(int64_t));
  h->total = 0;
  h->clamped = 0;
  h->min_nz = INT64_MAX;
  h->max = 0;
}

/* ---- recording ------------------------------------------------------------------ */

static inline void update_min_max(mp_hdr *h, int64_t v) {
  if (v > h->max) h->max = v;
  if (v < h->min_nz && v != 0) h->min_nz = v;
}

bool mp_hdr_record(mp_hdr *h, int64_t v) {
  /* One unsigned compare catches both negative and too-large values. */
  if (MP_HDR_UNLIKELY((uint64_t)v > (uint64_t)h->highest)) {
    if (v < 0) return false;
    v = h->highest;
    h->clamped++;
  }
  h->counts[mp__hdr_index(h, v)]++;
  h->total++;
  update_min_max(h, v);
  return true;
}

bool mp_hdr_record_n(mp_hdr *h, int64_t v, int64_t n) {
  if (v < 0 || n < 0) return false;
  if (n == 0) return true;
  int64_t total;
  if (__builtin_add_overflow(h->total, n, &total)) return false;
  if (v > h->highest) {
    v = h->highest;
    h->clamped += n;
  }
  h->counts[mp__hdr_index(h, v)] += n;
  h->total = total;
  update_min_max(h, v);
  return true;
}

bool mp_hdr_record_corrected(mp_hdr *h, int64_t v, int64_t interval) {
  if (v < 0) return false;
  if (interval <= 0 || v / interval < 2) return mp_hdr_record(h, v);
  /* The reference records v - k*interval for every k >= 1 that stays >= interval, one
   * value at a time. We add them one bucket slot at a time instead (same counts), so a
   * 1 h stall at a 1 us interval costs a few thousand steps, not 3.6e9. */
  int64_t missing = v / interval - 1, sum;
  if (__builtin_add_overflow(h->total, missing + 1, &sum)) return false;
  mp_hdr_record(h, v);
  int64_t m = v - interval;
  if (m > h->highest) {
    /* The values in (highest, m] are clamped into the top slot. */
    int64_t lo = h->highest < interval ? interval : h->highest + 1;
    int64_t c = (m - lo) / interval + 1;
    h->counts[mp__hdr_index(h, h->highest)] += c;
    h->clamped += c;
    m -= c * interval;
  }
  while (m >= interval) {
    int32_t idx = mp__hdr_index(h, m);
    int64_t lo = mp__hdr_value_at(h, idx);
    if (lo < interval) lo = interval;
    /* The values in [lo, m]; where slots are wider than the interval there is just one,
     * and no division is needed. */
    int64_t c = m - interval < lo ? 1 : (m - lo) / interval + 1;
    h->counts[idx] += c;
    m -= c * interval;
  }
  h->total = sum;
  int64_t smallest = m + interval; /* the last value added */
  update_min_max(h, smallest < h->highest ? smallest : h->highest);
  return true;
}

mp_status mp_hdr_add(mp_hdr *dst, const mp_hdr *src) {
  if (dst->sigfigs != src->sigfigs)
    return mp_error_set(MP_ERR_INVALID,
                        "hdr add: histograms have %d and %d significant figures; merge only "
                        "histograms of the same precision",
                        src->sigfigs, dst->sigfigs);
  int64_t sum;
  if (__builtin_add_overflow(dst->total, src->total, &sum))
    return mp_error_set(MP_ERR_INVALID, "hdr add: total count overflows 64 bits");
  if (src->total == 0) return MP_OK;
  int32_t limit = mp__hdr_index(src, src->max) + 1;
  if (dst->unit_mag == src->unit_mag && limit <= mp__hdr_index(dst, dst->highest) + 1) {
    /* Same layout and every count lands at or below dst's top slot: add slot by slot
     * (vectorizes). Values in that top slot would be recorded there anyway. */
    for (int32_t i = 0; i < limit; i++) dst->counts[i] += src->counts[i];
    dst->total = sum;
    if (src->max > dst->max) dst->max = src->max;
    if (src->min_nz < dst->min_nz) dst->min_nz = src->min_nz;
  } else {
    /* Different unit or range: re-record each slot's lowest value, as the reference does. */
    for (int32_t i = 0; i < src->counts_len; i++)
      if (src->counts[i]) mp_hdr_record_n(dst, mp__hdr_value_at(src, i), src->counts[i]);
  }
  dst->clamped += src->clamped;
  return MP_OK;
}

bool mp__hdr_recount(mp_hdr *h, int32_t limit) {
  int64_t total = 0;
  int32_t min_idx = -1, max_idx = -1;
  for (int32_t i = 0; i < limit; i++) {
    if (!h->counts[i]) continue;
    if (__builtin_add_overflow(total, h->counts[i], &total)) return false;
    if (min_idx < 0 && i != 0) min_idx = i;
    max_idx = i;
  }
  h->total = total;
  h->clamped = 0;
  /* As Java after a decode: the top of the highest slot, so mp_hdr_max() reports that
   * slot even when it is slot 0. */
  h->max = max_idx < 0 ? 0 : mp__hdr_highest_at(h, max_idx);
  h->min_nz = min_idx < 0 ? INT64_MAX : mp__hdr_value_at(h, min_idx);
  return true;
}

/* ---- values and statistics --------------------------------------------------------- */

int64_t mp_hdr_count(const mp_hdr *h) { return h->total; }
int64_t mp_hdr_clamped(const mp_hdr *h) { return h->clamped; }
int64_t mp_hdr_lowest(const mp_hdr *h) { return h->lowest; }
int64_t mp_hdr_highest(const mp_hdr *h) { return h->highest; }
int mp_hdr_sigfigs(const mp_hdr *h) { return h->sigfigs; }
int32_t mp_hdr_counts_len(const mp_hdr *h) { return h->counts_len; }

int64_t mp_hdr_lowest_equivalent(const mp_hdr *h, int64_t v) {
  return v <= 0 ? 0 : mp__hdr_value_at(h, mp__hdr_index(h, v));
}

int64_t mp_hdr_highest_equivalent(const mp_hdr *h, int64_t v) {
  return mp__hdr_highest_at(h, mp__hdr_index(h, v < 0 ? 0 : v));
}

bool mp_hdr_values_equivalent(const mp_hdr *h, int64_t a, int64_t b) {
  return mp_hdr_lowest_equivalent(h, a) == mp_hdr_lowest_equivalent(h, b);
}

int64_t mp_hdr_count_at(const mp_hdr *h, int64_t v) {
  if (v < 0) return 0;
  int32_t idx = mp__hdr_index(h, v);
  return idx < h->counts_len ? h->counts[idx] : 0;
}

int64_t mp_hdr_min(const mp_hdr *h) {
  if (h->total == 0 || h->counts[0] > 0) return 0;
  return mp_hdr_lowest_equivalent(h, h->min_nz);
}

int64_t mp_hdr_max(const mp_hdr *h) {
  return h->max == 0 ? 0 : mp_hdr_highest_equivalent(h, h->max);
}

/* One past the last slot that can hold a count. */
static int32_t used_len(const mp_hdr *h) { return h->total ? mp__hdr_index(h, h->max) + 1 : 0; }

static int64_t median_at(const mp_hdr *h, int32_t idx) {
  return mp__hdr_value_at(h, idx) + (mp__hdr_width_at(h, idx) >> 1);
}

double mp_hdr_mean(const mp_hdr *h) {
  if (h->total == 0) return 0.0;
  /* Summed in slot order in double, like the reference, so results match bit for bit. */
  double sum = 0.0;
  for (int32_t i = 0, n = used_len(h); i < n; i++)
    if (h->counts[i]) sum += (double)median_at(h, i) * (double)h->counts[i];
  return sum / (double)h->total;
}

double mp_hdr_stddev(const mp_hdr *h) {
  if (h->total == 0) return 0.0;
  double mean = mp_hdr_mean(h), sum = 0.0;
  for (int32_t i = 0, n = used_len(h); i < n; i++) {
    if (!h->counts[i]) continue;
    double dev = (double)median_at(h, i) - mean;
    sum += dev * dev * (double)h->counts[i];
  }
  return sqrt(sum / (double)h->total);
}

int64_t mp_hdr_value_at_percentile(const mp_hdr *h, double p) {
  /* One ulp below p, then round the count up: the smallest count whose share reaches p,
   * immune to p/100 not being exact in binary. */
  double req = nextafter(p, -INFINITY);
  if (!(req > 0.0)) req = 0.0; /* also NaN */
  if (req > 100.0) req = 100.0;
  double fp = req * (double)h->total / 100.0;
  int64_t want = fp >= (double)h->total ? h->total : (int64_t)ceil(fp);
  if (want < 1) want = 1;
  int64_t run = 0;
  for (int32_t i = 0, n = used_len(h); i < n; i++) {
    run += h->counts[i];
    if (run >= want) return p == 0.0 ? mp__hdr_value_at(h, i) : mp__hdr_highest_at(h, i);
  }
  return 0;
}

/* ---- iteration ------------------------------------------------------------------------ */

void mp_hdr_foreach(const mp_hdr *h, bool (*fn)(const mp_hdr_bucket *b, void *arg), void *arg) {
  mp_hdr_bucket b = {0};
  for (int32_t i = 0, n = used_len(h); i < n; i++) {
    if (!h->counts[i]) continue;
    b.lowest = mp__hdr_value_at(h, i);
    b.highest = mp__hdr_highest_at(h, i);
    b.count = h->counts[i];
    b.cumulative += b.count;
    if (!fn(&b, arg)) return;
  }
}

/* The next reporting level of the percentile iterator: fixed-size ticks within each
 * half of the remaining distance to 100%, so the steps halve as percentiles approach
 * 100 (Java's PercentileIterator.incrementIterationLevel). */
static double next_level(double level, int ticks) {
  double halvings = floor(log(100.0 / (100.0 - level)) / log(2.0)) + 1.0;
  if (!(halvings < 52.0)) halvings = 52.0; /* level ~ 100: keep the math finite */
  return level + 100.0 / ((double)ticks * ldexp(1.0, (int)halvings));
}

void mp_hdr_percentiles(const mp_hdr *h, int ticks_per_half_distance,
                        void (*fn)(int64_t value, double percentile, int64_t total, double inverted,
                                   void *arg),
                        void *arg) {
  if (h->total == 0) return;
  int ticks = ticks_per_half_distance > 0 ? ticks_per_half_distance : 5;
  double level = 0.0;
  int64_t run = 0;
  for (int32_t i = 0, n = used_len(h); i < n; i++) {
    if (!h->counts[i]) continue;
    run += h->counts[i];
    int64_t value = mp__hdr_highest_at(h, i);
    double pct = 100.0 * (double)run / (double)h->total;
    /* Report every level this slot reaches; once the last count is in, one final row
     * at 100% follows and iteration ends. With counts beyond 2^53 the share of a slot
     * can round up to 100% before the last one, while the level can no longer grow:
     * there the reference loops forever, we move on with one row per slot. */
    while (pct >= level) {
      fn(value, level / 100.0, run, 1.0 / (1.0 - level / 100.0), arg);
      double next = next_level(level, ticks);
      if (run >= h->total || !(next > level)) break;
      level = next;
    }
    if (run >= h->total) {
      fn(value, 1.0, run, INFINITY, arg);
      return;
    }
  }
}

bool mp_hdr_equal(const mp_hdr *a, const mp_hdr *b) {
  if (a->lowest != b->lowest || a->highest != b->highest || a->sigfigs != b->sigfigs ||
      a->total != b->total)
    return false;
  return memcmp(a->counts, b->counts, (size_t)a->counts_len * sizeof(int64_t)) == 0;
}
