/* Helpers shared by the lib/hdr tests: assertions that print both sides, the classic
 * HdrHistogram test data sets, and a small deterministic generator. */
#ifndef MESHPLANE_HDR_TEST_UTIL_H
#define MESHPLANE_HDR_TEST_UTIL_H

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "meshplane/hdr.h"

#define ASSERT_I64(got, want)                                                                      \
  do {                                                                                             \
    long long got_ = (long long)(got), want_ = (long long)(want);                                  \
    if (got_ != want_) fail_msg("%s: got %lld, want %lld", #got, got_, want_);                     \
  } while (0)

/* |got - want| <= rel * |want| (rel = 0 asks for bit-identical doubles). */
#define ASSERT_NEAR(got, want, rel)                                                                \
  do {                                                                                             \
    double got_ = (got), want_ = (want);                                                           \
    if (!(fabs(got_ - want_) <= (rel)*fabs(want_)))                                                \
      fail_msg("%s: got %.17g, want %.17g (within %g)", #got, got_, want_, (double)(rel));         \
  } while (0)

#define ASSERT_OK(call)                                                                            \
  do {                                                                                             \
    mp_status st_ = (call);                                                                        \
    if (st_ != MP_OK) fail_msg("%s: %s: %s", #call, mp_status_str(st_), mp_error_last());          \
  } while (0)

/* The data of HdrHistogram's own tests (Java HistogramDataAccessTest, C
 * hdr_histogram_test.c): 10,000 samples of 1 ms and one 100 s stall, in microseconds,
 * recorded raw and with a 10 ms expected interval. */
static inline mp_hdr *classic_raw(void) {
  mp_hdr *h = mp_hdr_new_latency(3);
  for (int i = 0; i < 10000; i++) mp_hdr_record(h, 1000);
  mp_hdr_record(h, 100000000);
  return h;
}

static inline mp_hdr *classic_corrected(void) {
  mp_hdr *h = mp_hdr_new_latency(3);
  for (int i = 0; i < 10000; i++) mp_hdr_record_corrected(h, 1000, 10000);
  mp_hdr_record_corrected(h, 100000000, 10000);
  return h;
}

/* xorshift64*: the same sequence on every machine. */
static inline uint64_t test_rand(uint64_t *s) {
  *s ^= *s >> 12;
  *s ^= *s << 25;
  *s ^= *s >> 27;
  return *s * UINT64_C(2685821657736338717);
}

/* Latency-like values: mostly 50 us .. 5 ms, a tail to ~10 s, a few zeros. */
static inline int64_t test_latency(uint64_t *s) {
  uint64_t r = test_rand(s);
  switch (r % 100) {
  case 0: return 0;
  case 1:
  case 2: return (int64_t)(r >> 20) % 10000000;
  default: return 50 + (int64_t)(r >> 16) % 5000;
  }
}

#endif
