/* HdrHistogram-compatible histograms.
 *
 * Same bucket layout as HdrHistogram (Java/C/JS): values from `lowest` to `highest`
 * are recorded with `sigfigs` significant decimal digits, so any two implementations
 * agree on counts, percentiles and the encoded form. meshplane records latencies in
 * microseconds, 1 us .. 1 h, 3 significant figures by default.
 *
 * Histograms are not thread-safe: each thread records into its own and they are merged
 * exactly with mp_hdr_add() (never by averaging percentiles).
 */
#ifndef MESHPLANE_HDR_H
#define MESHPLANE_HDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "meshplane/base.h"

#ifdef __cplusplus
extern "C" {
#endif

#define MP_HDR_LOWEST_US 1
#define MP_HDR_HIGHEST_US INT64_C(3600000000) /* one hour */
#define MP_HDR_DEFAULT_SIGFIGS 3

typedef struct mp_hdr mp_hdr;

/* Creates an empty histogram. lowest >= 1, highest >= 2 * lowest, sigfigs 1..5.
 * MP_ERR_INVALID with a message on bad arguments (*out = NULL). On success *out is the
 * caller's, to free with mp_hdr_free() (which accepts NULL). */
mp_status mp_hdr_new(int64_t lowest, int64_t highest, int sigfigs, mp_hdr **out);
/* The meshplane latency histogram: 1 us .. 1 h at `sigfigs` (0 = default 3). NULL (with
 * a message) when sigfigs is not 0..5. The caller frees it with mp_hdr_free(). */
mp_hdr *mp_hdr_new_latency(int sigfigs);
void mp_hdr_free(mp_hdr *h);
void mp_hdr_reset(mp_hdr *h);

/* Records one (or n) occurrences of v. Values above the range are clamped to the
 * highest trackable value and counted in mp_hdr_clamped(); negative values are
 * rejected (false). */
bool mp_hdr_record(mp_hdr *h, int64_t v);
bool mp_hdr_record_n(mp_hdr *h, int64_t v, int64_t n);
/* Records v and, like HdrHistogram's recordValueWithExpectedInterval, the values
 * v - interval, v - 2*interval, ... down to interval: the samples a stalled
 * closed-loop client never took. interval <= 0 records v alone.
 * The corrected values are added one bucket at a time (same counts), so the cost is
 * bounded by the number of buckets between interval and v, not by v / interval.
 * Corrected values above the range are clamped and counted like v. False (nothing
 * recorded) when v < 0 or the total count would overflow. */
bool mp_hdr_record_corrected(mp_hdr *h, int64_t v, int64_t interval);

/* Adds every count of src into dst exactly. Both must have the same sigfigs; values of
 * src outside dst's range are clamped like mp_hdr_record, and src's clamped count carries
 * over. With the same lowest value it is a slot-by-slot addition. src is borrowed. */
mp_status mp_hdr_add(mp_hdr *dst, const mp_hdr *src);

int64_t mp_hdr_count(const mp_hdr *h);
int64_t mp_hdr_clamped(const mp_hdr *h);
int64_t mp_hdr_min(const mp_hdr *h); /* 0 when empty */
int64_t mp_hdr_max(const mp_hdr *h); /* highest equivalent value of the largest bucket */
double mp_hdr_mean(const mp_hdr *h);
double mp_hdr_stddev(const mp_hdr *h);
/* The value at percentile p (0..100), as HdrHistogram's getValueAtPercentile. */
int64_t mp_hdr_value_at_percentile(const mp_hdr *h, double p);
int64_t mp_hdr_lowest(const mp_hdr *h);
int64_t mp_hdr_highest(const mp_hdr *h);
int mp_hdr_sigfigs(const mp_hdr *h);
/* True when the two values fall in the same bucket (equivalent at this precision). */
bool mp_hdr_values_equivalent(const mp_hdr *h, int64_t a, int64_t b);
/* The lowest and highest values of the bucket that v falls in (negative v counts as 0). */
int64_t mp_hdr_lowest_equivalent(const mp_hdr *h, int64_t v);
int64_t mp_hdr_highest_equivalent(const mp_hdr *h, int64_t v);
/* The count of the bucket that v falls in; 0 outside the histogram. */
int64_t mp_hdr_count_at(const mp_hdr *h, int64_t v);
/* The number of bucket slots (HdrHistogram's countsArrayLength): 23552 for 1 us .. 1 h at 3
 * significant figures. */
int32_t mp_hdr_counts_len(const mp_hdr *h);
/* True when both have the same lowest, highest and sigfigs and identical counts in every
 * bucket (min/max follow from the counts; the clamped tally is not compared). */
bool mp_hdr_equal(const mp_hdr *a, const mp_hdr *b);

/* Iteration over recorded buckets in value order (for Data[] in fortio JSON and the
 * percentile spectrum). */
typedef struct mp_hdr_bucket {
  int64_t lowest;  /* lowest value of the bucket */
  int64_t highest; /* highest equivalent value of the bucket */
  int64_t count;
  int64_t cumulative;
} mp_hdr_bucket;
/* Calls fn for every non-empty bucket; stops when fn returns false. */
void mp_hdr_foreach(const mp_hdr *h, bool (*fn)(const mp_hdr_bucket *b, void *arg), void *arg);

/* The "percentile distribution" of HdrHistogram's outputPercentileDistribution: rows at
 * ticks_per_half_distance steps (<= 0 means the default 5) up to 100%. fn gets value
 * (highest equivalent value of the bucket), percentile (0..1), total count up to it and
 * 1/(1-percentile); the last row is percentile 1.0 with inverted = +infinity. Nothing is
 * called for an empty histogram. */
void mp_hdr_percentiles(const mp_hdr *h, int ticks_per_half_distance,
                        void (*fn)(int64_t value, double percentile, int64_t total, double inverted,
                                   void *arg),
                        void *arg);

/* V2 compressed encoding (cookie 0x1c849304 around a zlib-deflated V2 payload with
 * zig-zag LEB128 counts), as used in HdrHistogram logs. The cookies are written with the
 * word-size nibble set, as every implementation does: 0x1c849314 outside, 0x1c849313
 * inside. mp_hdr_encode: *out is the caller's to free. */
mp_status mp_hdr_encode(const mp_hdr *h, uint8_t **out, size_t *len);
/* The same, base64: "HISTFAAA...". *out is a NUL-terminated string the caller frees. */
mp_status mp_hdr_encode_base64(const mp_hdr *h, char **out);
/* Decodes either form (V2 compressed; V1 and V0 are rejected with a message). The binary
 * form may also be an uncompressed V2 encoding (cookie 0x1c849303). The base64 form may
 * have surrounding whitespace. buf/s are borrowed. On success *out is a new histogram the
 * caller frees (total, min and max recomputed from the counts; clamped is 0). MP_ERR_INVALID
 * on any malformed input, never a crash. */
mp_status mp_hdr_decode(const uint8_t *buf, size_t len, mp_hdr **out);
mp_status mp_hdr_decode_base64(const char *s, size_t len, mp_hdr **out);

#ifdef __cplusplus
}
#endif
#endif
