/* Micro-benchmark of lib/hdr: the cost of recording (the load generator's hot path),
 * corrected recording, merging, encoding and decoding, and percentile queries.
 *
 *   build/tests/bench/hdr_bench [--quick]
 *
 * Each figure is the median of five timed runs; these machines are shared, so compare
 * figures taken in the same run rather than across runs (BENCHMARKS.md). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "meshplane/hdr.h"

enum { VALUES = 1 << 20, RUNS = 5 };

static int64_t *values;

static uint64_t next_rand(uint64_t *s) {
  *s ^= *s >> 12;
  *s ^= *s << 25;
  *s ^= *s >> 27;
  return *s * UINT64_C(2685821657736338717);
}

/* Latency-like microseconds: mostly 100 us .. 10 ms, a tail up to 10 s. */
static void fill_values(void) {
  uint64_t s = 12345;
  values = mp_malloc(VALUES * sizeof *values);
  for (int i = 0; i < VALUES; i++) {
    uint64_t r = next_rand(&s);
    values[i] = r % 100 < 2 ? (int64_t)(r >> 24) % 10000000 : 100 + (int64_t)(r >> 24) % 10000;
  }
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

typedef void (*bench_fn)(mp_hdr *h, int64_t iters);

/* Median over RUNS of the nanoseconds per iteration of fn. */
static double time_per_op(bench_fn fn, mp_hdr *h, int64_t iters) {
  double ns[RUNS];
  for (int r = 0; r < RUNS; r++) {
    int64_t t0 = mp_mono_ns();
    fn(h, iters);
    ns[r] = (double)(mp_mono_ns() - t0) / (double)iters;
  }
  qsort(ns, RUNS, sizeof ns[0], cmp_double);
  return ns[RUNS / 2];
}

static void record_mixed(mp_hdr *h, int64_t iters) {
  for (int64_t i = 0; i < iters; i++) mp_hdr_record(h, values[i & (VALUES - 1)]);
}

static void record_same(mp_hdr *h, int64_t iters) {
  for (int64_t i = 0; i < iters; i++) mp_hdr_record(h, 1234);
}

static void record_corrected_none(mp_hdr *h, int64_t iters) {
  /* An interval above every value: the overhead when there is nothing to correct. */
  for (int64_t i = 0; i < iters; i++)
    mp_hdr_record_corrected(h, values[i & (VALUES - 1)], 20000000);
}

static void record_corrected_1ms(mp_hdr *h, int64_t iters) {
  /* A 1 ms interval: most values get a few corrections, the 2% tail thousands. */
  for (int64_t i = 0; i < iters; i++) mp_hdr_record_corrected(h, values[i & (VALUES - 1)], 1000);
}

static void record_stall(mp_hdr *h, int64_t iters) {
  /* A 1 s stall at 100 us intervals: 9,999 corrected samples per call. */
  for (int64_t i = 0; i < iters; i++) mp_hdr_record_corrected(h, 1000000, 100);
}

static void record_stall_naive(mp_hdr *h, int64_t iters) {
  for (int64_t i = 0; i < iters; i++) {
    mp_hdr_record(h, 1000000);
    for (int64_t m = 1000000 - 100; m >= 100; m -= 100) mp_hdr_record(h, m);
  }
}

static mp_hdr *full; /* 1M recorded values, for merge/encode/query benchmarks */

static void merge(mp_hdr *h, int64_t iters) {
  for (int64_t i = 0; i < iters; i++) mp_hdr_add(h, full);
}

static void encode_bin(mp_hdr *h, int64_t iters) {
  (void)h;
  for (int64_t i = 0; i < iters; i++) {
    uint8_t *out;
    size_t len;
    mp_hdr_encode(full, &out, &len);
    mp_free(out);
  }
}

static char *full_b64;

static void encode_b64(mp_hdr *h, int64_t iters) {
  (void)h;
  for (int64_t i = 0; i < iters; i++) {
    char *out;
    mp_hdr_encode_base64(full, &out);
    mp_free(out);
  }
}

static void decode_b64(mp_hdr *h, int64_t iters) {
  (void)h;
  size_t len = strlen(full_b64);
  for (int64_t i = 0; i < iters; i++) {
    mp_hdr *out;
    if (mp_hdr_decode_base64(full_b64, len, &out) != MP_OK) abort();
    mp_hdr_free(out);
  }
}

static volatile int64_t sink;

static void percentile(mp_hdr *h, int64_t iters) {
  (void)h;
  for (int64_t i = 0; i < iters; i++) sink += mp_hdr_value_at_percentile(full, 99.9);
}

static void mean_stddev(mp_hdr *h, int64_t iters) {
  (void)h;
  for (int64_t i = 0; i < iters; i++) sink += (int64_t)(mp_hdr_mean(full) + mp_hdr_stddev(full));
}

int main(int argc, char **argv) {
  int64_t scale = argc > 1 && strcmp(argv[1], "--quick") == 0 ? 10 : 1;
  fill_values();
  mp_hdr *h = mp_hdr_new_latency(3);
  full = mp_hdr_new_latency(3);
  for (int i = 0; i < VALUES; i++) mp_hdr_record(full, values[i]);
  mp_hdr_encode_base64(full, &full_b64);
  uint8_t *bin;
  size_t bin_len;
  mp_hdr_encode(full, &bin, &bin_len);
  mp_free(bin);

  printf("lib/hdr benchmark: 1 us .. 1 h, 3 significant figures (%d slots), median of %d runs\n",
         mp_hdr_counts_len(h), RUNS);
  printf("%-44s %12.2f ns\n", "record, latency-like values",
         time_per_op(record_mixed, h, 50000000 / scale));
  printf("%-44s %12.2f ns\n", "record, one value", time_per_op(record_same, h, 50000000 / scale));
  printf("%-44s %12.2f ns\n", "record_corrected, nothing to correct",
         time_per_op(record_corrected_none, h, 50000000 / scale));
  printf("%-44s %12.2f ns\n", "record_corrected, same values, 1 ms interval",
         time_per_op(record_corrected_1ms, h, 2000000 / scale));
  printf("%-44s %12.2f us\n", "record_corrected, 1 s stall at 100 us",
         time_per_op(record_stall, h, 20000 / scale) / 1000);
  printf("%-44s %12.2f us\n", "  same, one value at a time (reference)",
         time_per_op(record_stall_naive, h, 2000 / scale) / 1000);
  printf("%-44s %12.2f us\n", "mp_hdr_add (1M-sample histogram)",
         time_per_op(merge, h, 20000 / scale) / 1000);
  printf("%-44s %12.2f us  (%zu bytes)\n", "mp_hdr_encode",
         time_per_op(encode_bin, h, 500 / scale) / 1000, bin_len);
  printf("%-44s %12.2f us  (%zu chars)\n", "mp_hdr_encode_base64",
         time_per_op(encode_b64, h, 500 / scale) / 1000, strlen(full_b64));
  printf("%-44s %12.2f us\n", "mp_hdr_decode_base64",
         time_per_op(decode_b64, h, 1000 / scale) / 1000);
  printf("%-44s %12.2f us\n", "mp_hdr_value_at_percentile(99.9)",
         time_per_op(percentile, h, 20000 / scale) / 1000);
  printf("%-44s %12.2f us\n", "mp_hdr_mean + mp_hdr_stddev",
         time_per_op(mean_stddev, h, 2000 / scale) / 1000);
  mp_free(full_b64);
  mp_hdr_free(full);
  mp_hdr_free(h);
  mp_free(values);
  return 0;
}
