/* libFuzzer target for the lib/hdr decoders (binary and base64 V2 encodings).
 *
 * Besides "never crash", it checks what a decoded histogram promises: the counts add up to
 * the total, statistics and iteration run clean, re-encoding gives the same counts back,
 * and merging into the meshplane latency histogram neither loses nor invents samples. A
 * broken promise aborts, which libFuzzer reports like a crash. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "meshplane/hdr.h"

static void check(bool ok, const char *what) {
  if (!ok) {
    fprintf(stderr, "fuzz_hdr_decode: broken promise: %s\n", what);
    abort();
  }
}

static bool add_count(const mp_hdr_bucket *b, void *arg) {
  int64_t *sum = arg;
  check(b->count > 0 && b->lowest <= b->highest, "bucket shape");
  *sum += b->count;
  check(b->cumulative == *sum, "cumulative count");
  return true;
}

static void add_row(int64_t value, double pct, int64_t total, double inverted, void *arg) {
  (void)inverted;
  int64_t *rows = arg;
  check(value >= 0 && pct >= 0.0 && pct <= 1.0 && total > 0, "percentile row");
  (*rows)++;
}

static void exercise(mp_hdr *h) {
  int64_t sum = 0, rows = 0;
  mp_hdr_foreach(h, add_count, &sum);
  check(sum == mp_hdr_count(h), "counts add up to the total");
  mp_hdr_percentiles(h, 5, add_row, &rows);
  check((rows == 0) == (mp_hdr_count(h) == 0), "percentile rows exist");
  check(mp_hdr_min(h) <= mp_hdr_max(h), "min <= max");
  check(mp_hdr_value_at_percentile(h, 50) <= mp_hdr_max(h), "median <= max");
  (void)mp_hdr_mean(h);
  (void)mp_hdr_stddev(h);

  uint8_t *bin;
  size_t len;
  check(mp_hdr_encode(h, &bin, &len) == MP_OK, "re-encode");
  mp_hdr *again;
  check(mp_hdr_decode(bin, len, &again) == MP_OK, "decode of our own encoding");
  check(mp_hdr_equal(h, again), "re-encoding keeps the counts");
  mp_hdr_free(again);
  mp_free(bin);

  if (mp_hdr_sigfigs(h) == 3) {
    mp_hdr *lat = mp_hdr_new_latency(3);
    check(mp_hdr_add(lat, h) == MP_OK, "merge");
    check(mp_hdr_count(lat) == mp_hdr_count(h), "merge keeps the total");
    mp_hdr_free(lat);
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  mp_hdr *h = NULL;
  if (mp_hdr_decode(data, size, &h) == MP_OK) {
    exercise(h);
    mp_hdr_free(h);
  } else {
    check(h == NULL, "no histogram on failure");
  }
  h = NULL;
  if (mp_hdr_decode_base64((const char *)data, size, &h) == MP_OK) {
    exercise(h);
    mp_hdr_free(h);
  } else {
    check(h == NULL, "no histogram on failure (base64)");
  }
  return 0;
}
