/* Private to lib/hdr: the histogram layout shared by hdr.c (recording, statistics) and
 * hdr_codec.c (V2 encoding).
 *
 * The layout is HdrHistogram's: counts[] holds bucket 0 with sub_bucket_count slots of
 * width 2^unit_mag, then one half-bucket of sub_bucket_half_count slots per further
 * power of two, each twice as wide as the one before. Index and value math below must
 * stay identical to the reference implementations, or encodings stop interoperating.
 */
#ifndef MESHPLANE_HDR_INTERNAL_H
#define MESHPLANE_HDR_INTERNAL_H

#include <stdint.h>

#include "meshplane/hdr.h"

#define MP_HDR_LIKELY(x) __builtin_expect(!!(x), 1)
#define MP_HDR_UNLIKELY(x) __builtin_expect(!!(x), 0)

struct mp_hdr {
  int64_t lowest;  /* lowest discernible value, as given */
  int64_t highest; /* highest trackable value, as given */
  int sigfigs;
  int unit_mag;         /* floor(log2(lowest)) */
  int half_mag;         /* log2(sub_bucket_half_count) */
  int lz_base;          /* 64 - unit_mag - half_mag - 1: bucket index = lz_base - clz */
  int64_t sub_mask;     /* (sub_bucket_count - 1) << unit_mag */
  int32_t sub_count;    /* sub-buckets in bucket 0 */
  int32_t bucket_count; /* buckets needed to cover `highest` */
  int32_t counts_len;
  int64_t total;   /* always the sum of counts[] */
  int64_t clamped; /* samples recorded at `highest` because they were above it */
  int64_t min_nz;  /* smallest non-zero value recorded, INT64_MAX when none */
  int64_t max;     /* largest value recorded, 0 when none */
  int64_t counts[];
};

/* The counts index of v, for 0 <= v <= highest (or any v the caller knows to be in
 * range). Branch-free: one clz, two shifts, an add. */
static inline int32_t mp__hdr_index(const mp_hdr *h, int64_t v) {
  int bucket = h->lz_base - __builtin_clzll((uint64_t)v | (uint64_t)h->sub_mask);
  return (int32_t)((bucket << h->half_mag) + (v >> (bucket + h->unit_mag)));
}

/* The lowest value that lands in counts[idx]. */
static inline int64_t mp__hdr_value_at(const mp_hdr *h, int32_t idx) {
  int bucket = (idx >> h->half_mag) - 1;
  int64_t sub = (idx & ((1 << h->half_mag) - 1)) + (INT64_C(1) << h->half_mag);
  if (bucket < 0) {
    sub -= INT64_C(1) << h->half_mag;
    bucket = 0;
  }
  return sub << (bucket + h->unit_mag);
}

/* The width of the bucket slot holding counts[idx]. */
static inline int64_t mp__hdr_width_at(const mp_hdr *h, int32_t idx) {
  int bucket = (idx >> h->half_mag) - 1;
  return INT64_C(1) << (h->unit_mag + (bucket < 0 ? 0 : bucket));
}

/* The highest value that lands in counts[idx]. */
static inline int64_t mp__hdr_highest_at(const mp_hdr *h, int32_t idx) {
  return (int64_t)((uint64_t)mp__hdr_value_at(h, idx) + (uint64_t)mp__hdr_width_at(h, idx) - 1);
}

/* Allocates a zeroed histogram after validating the arguments (MP_ERR_INVALID with a
 * message otherwise). */
mp_status mp__hdr_alloc(int64_t lowest, int64_t highest, int sigfigs, mp_hdr **out);

/* Recomputes total, min_nz and max from counts[0..limit) (after a decode; the counts
 * above limit must be zero). Returns false when they do not add up in an int64_t. */
bool mp__hdr_recount(mp_hdr *h, int32_t limit);

#endif
