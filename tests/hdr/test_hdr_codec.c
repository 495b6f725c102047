/* Unit tests of the lib/hdr V2 encoding: round trips, the wire format, encodings written
 * by other HdrHistogram implementations, and malformed input (always MP_ERR_INVALID). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "hdr_test_util.h"

static mp_hdr *round_trip(const mp_hdr *h) {
  uint8_t *bin;
  size_t len;
  ASSERT_OK(mp_hdr_encode(h, &bin, &len));
  mp_hdr *back;
  ASSERT_OK(mp_hdr_decode(bin, len, &back));
  mp_free(bin);
  if (!mp_hdr_equal(h, back)) fail_msg("binary round trip changed the counts");

  char *b64;
  ASSERT_OK(mp_hdr_encode_base64(h, &b64));
  if (strncmp(b64, "HISTFAAA", 8) != 0) fail_msg("base64 starts with %.12s", b64);
  mp_hdr *back64;
  ASSERT_OK(mp_hdr_decode_base64(b64, strlen(b64), &back64));
  mp_free(b64);
  if (!mp_hdr_equal(h, back64)) fail_msg("base64 round trip changed the counts");
  ASSERT_I64(mp_hdr_count(back64), mp_hdr_count(h));
  ASSERT_I64(mp_hdr_min(back64), mp_hdr_min(h));
  ASSERT_I64(mp_hdr_max(back64), mp_hdr_max(h));
  ASSERT_NEAR(mp_hdr_mean(back64), mp_hdr_mean(h), 0);
  ASSERT_I64(mp_hdr_value_at_percentile(back64, 99.9), mp_hdr_value_at_percentile(h, 99.9));
  mp_hdr_free(back64);
  return back;
}

static void test_round_trip(void **state) {
  (void)state;
  mp_hdr *h = classic_raw();
  mp_hdr_free(round_trip(h));
  mp_hdr_free(h);
  h = classic_corrected();
  mp_hdr_free(round_trip(h));
  mp_hdr_free(h);

  static const struct {
    int64_t lowest, highest;
    int sigfigs;
  } cfg[] = {{1, MP_HDR_HIGHEST_US, 1},   {1, MP_HDR_HIGHEST_US, 2},
             {1, MP_HDR_HIGHEST_US, 3},   {1, MP_HDR_HIGHEST_US, 4},
             {1, MP_HDR_HIGHEST_US, 5},   {1000, INT64_C(1) << 45, 3},
             {1024, INT64_C(1) << 40, 2}, {1, 2, 1}};
  uint64_t seed = 99;
  for (size_t i = 0; i < MP_ARRAY_LEN(cfg); i++) {
    ASSERT_OK(mp_hdr_new(cfg[i].lowest, cfg[i].highest, cfg[i].sigfigs, &h));
    mp_hdr_free(round_trip(h)); /* empty */
    for (int k = 0; k < 20000; k++) mp_hdr_record(h, test_latency(&seed) * cfg[i].lowest);
    mp_hdr_record(h, cfg[i].highest);
    mp_hdr *back = round_trip(h);
    ASSERT_I64(mp_hdr_clamped(back), 0); /* not part of the encoding */
    mp_hdr_free(back);
    mp_hdr_free(h);
  }

  /* Only zeros; one huge count (a 9-byte word); counts near the int64 limit. */
  h = mp_hdr_new_latency(3);
  mp_hdr_record_n(h, 0, 3);
  mp_hdr_free(round_trip(h));
  mp_hdr_record_n(h, 12345, INT64_C(1) << 62);
  mp_hdr_record_n(h, MP_HDR_HIGHEST_US, (INT64_C(1) << 62) - 10);
  mp_hdr_free(round_trip(h));
  mp_hdr_free(h);
}

/* Inflates an mp_hdr_encode() result into the raw V2 encoding (the caller frees it). */
static uint8_t *inflate_encoding(const uint8_t *bin, size_t len, size_t *out_len) {
  assert_true(len > 8);
  uLongf cap = 1 << 20;
  uint8_t *raw = malloc(cap);
  assert_int_equal(uncompress(raw, &cap, bin + 8, (uLong)(len - 8)), Z_OK);
  *out_len = cap;
  return raw;
}

static uint32_t be32(const uint8_t *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t be64(const uint8_t *p) { return (uint64_t)be32(p) << 32 | be32(p + 4); }

static void test_wire_format(void **state) {
  (void)state;
  mp_hdr *h = mp_hdr_new_latency(3);
  mp_hdr_record(h, 1);
  mp_hdr_record_n(h, 3, 2);
  mp_hdr_record(h, 2048 + 2); /* second bucket */
  uint8_t *bin;
  size_t len;
  ASSERT_OK(mp_hdr_encode(h, &bin, &len));
  ASSERT_I64(be32(bin), 0x1c849314);
  ASSERT_I64(be32(bin + 4), len - 8);
  size_t rlen;
  uint8_t *raw = inflate_encoding(bin, len, &rlen);
  ASSERT_I64(be32(raw), 0x1c849313);
  ASSERT_I64(be32(raw + 4), rlen - 40);
  ASSERT_I64(be32(raw + 8), 0);
  ASSERT_I64(be32(raw + 12), 3);
  ASSERT_I64(be64(raw + 16), 1);
  ASSERT_I64(be64(raw + 24), MP_HDR_HIGHEST_US);
  ASSERT_I64(be64(raw + 32), 0x3ff0000000000000); /* 1.0 as a big-endian double */
  /* Slots: 0 -> zero (a lone 0 word), 1 -> 1, 2 -> zero, 3 -> 2, 4..2048 -> a run of
   * 2045 zeros (-2045 -> zigzag 4089 -> 0xf9 0x1f), 2049 (1024 + 2050 / 2) -> 1. */
  static const uint8_t payload[] = {0x00, 0x02, 0x00, 0x04, 0xf9, 0x1f, 0x02};
  ASSERT_I64(rlen - 40, sizeof payload);
  assert_memory_equal(raw + 40, payload, sizeof payload);
  free(raw);
  mp_free(bin);

  /* An empty histogram still writes slot 0, as Java does. */
  mp_hdr_reset(h);
  ASSERT_OK(mp_hdr_encode(h, &bin, &len));
  raw = inflate_encoding(bin, len, &rlen);
  ASSERT_I64(rlen, 41);
  ASSERT_I64(raw[40], 0);
  free(raw);
  mp_free(bin);
  mp_hdr_free(h);
}

/* Written by HdrHistogram_c (its standard test histograms, as kept in HdrHistogram_py's
 * test suite). */
static const char c_raw[] = "HISTFAAAACl4nJNpmSzMwMBgyAABzFCaEURcm7yEwf4DROA8/4I5jNM7mJgAlWkH9g==";
static const char c_corrected[] =
    "HISTFAAAAP94nJNpmSzMwCByigECmKE0I4i4NnkJg/0HiMB5/gVzGD8aM/3lZ7rPyTSbjektC9N7Fqa"
    "HzEzbmZi2whCEvZKRaSYj02wwiYng4tFM3lDoC2dhhwh5UyZlJlUMjClCmgpMEUUmQSZ+IBZEojFFCM"
    "vQRwUxenmZ2MGQFUqz4+CTo4I2pg4dFdQylZWJkYkZCaPyMEUIydPLjMHrssFixuB12XD0HRAwMsFJg"
    "kwilZHJHHKmjzp41MFDOjhYmFiQEUEmMWqGsvKBd8Fwd/Co/waTC9jYOMAIiSJRhLbKh5x9Q87Bo/YN"
    "bfsoM4CPhw+IIJAkxnDXN+QcTIpyAPnGh6k=";
/* Java and HdrHistogram_c, (1, 2048, 3) after recordValue(2048). */
static const char java_2048[] = "HISTFAAAACB4nJNpmSzMwMDAzAABMJoRQnEw2H+AsP7LMwEARZgDpQ==";
/* A jHiccup (Java) log line from 2015: lowest 20000, highest 3.6e12, 2 digits. */
static const char java_jhiccup[] = "HISTFAAAAEV42pNpmSzMwMCgyAABTBDKT4GBgdnNYMcCBvsPEBEJISEuATEZMQ4"
                                   "uASkhIR4nrxg9v2lMaxhvMekILGZkKmcCAEf2CsI=";

static mp_hdr *decode64(const char *s) {
  mp_hdr *h;
  ASSERT_OK(mp_hdr_decode_base64(s, strlen(s), &h));
  return h;
}

static void test_foreign_encodings(void **state) {
  (void)state;
  mp_hdr *ours = classic_raw(), *theirs = decode64(c_raw);
  assert_true(mp_hdr_equal(ours, theirs));
  mp_hdr_free(ours);
  mp_hdr_free(theirs);
  /* Same corrected counts, slot for slot: our bulk correction matches HdrHistogram_c's. */
  ours = classic_corrected();
  theirs = decode64(c_corrected);
  assert_true(mp_hdr_equal(ours, theirs));
  mp_hdr_free(ours);
  mp_hdr_free(theirs);

  theirs = decode64(java_2048);
  ASSERT_I64(mp_hdr_highest(theirs), 2048);
  ASSERT_I64(mp_hdr_count(theirs), 1);
  ASSERT_I64(mp_hdr_count_at(theirs, 2048), 1);
  ASSERT_I64(mp_hdr_max(theirs), 2049);
  mp_hdr_free(theirs);

  /* Figures as hdr-histogram-js 3.0.1 reports them for the same string (its maxValue is
   * one slot high after a decode when lowest > 1; Java's getMaxValue agrees with ours). */
  theirs = decode64(java_jhiccup);
  ASSERT_I64(mp_hdr_lowest(theirs), 20000);
  ASSERT_I64(mp_hdr_highest(theirs), INT64_C(3600000000000));
  ASSERT_I64(mp_hdr_sigfigs(theirs), 2);
  ASSERT_I64(mp_hdr_counts_len(theirs), 2816);
  ASSERT_I64(mp_hdr_count(theirs), 741);
  ASSERT_I64(mp_hdr_count_at(theirs, 0), 12);
  ASSERT_I64(mp_hdr_min(theirs), 0);
  ASSERT_I64(mp_hdr_max(theirs), 2768895);
  ASSERT_I64(mp_hdr_value_at_percentile(theirs, 50), 344063);
  ASSERT_I64(mp_hdr_value_at_percentile(theirs, 90), 376831);
  ASSERT_I64(mp_hdr_value_at_percentile(theirs, 99), 409599);
  ASSERT_I64(mp_hdr_value_at_percentile(theirs, 99.9), 2768895);
  ASSERT_NEAR(mp_hdr_mean(theirs), 301998.46693657222, 1e-15);
  ASSERT_NEAR(mp_hdr_stddev(theirs), 141377.57725388682, 1e-15);
  mp_hdr_free(theirs);
}

/* Builds a raw V2 encoding with the given header fields and payload. */
static size_t make_raw(uint8_t *out, uint32_t cookie, int32_t plen, int32_t sigfigs, int64_t lowest,
                       int64_t highest, const void *payload, size_t n) {
  uint32_t w[4] = {cookie, (uint32_t)plen, 0, (uint32_t)sigfigs};
  for (int i = 0; i < 4; i++)
    for (int b = 0; b < 4; b++) out[i * 4 + b] = (uint8_t)(w[i] >> (24 - 8 * b));
  uint64_t q[3] = {(uint64_t)lowest, (uint64_t)highest, 0x3ff0000000000000};
  for (int i = 0; i < 3; i++)
    for (int b = 0; b < 8; b++) out[16 + i * 8 + b] = (uint8_t)(q[i] >> (56 - 8 * b));
  memcpy(out + 40, payload, n);
  return 40 + n;
}

/* Wraps a raw encoding in the compressed envelope. */
static size_t make_compressed(uint8_t *out, size_t cap, const uint8_t *raw, size_t n) {
  uLongf zlen = (uLongf)(cap - 8);
  assert_int_equal(compress(out + 8, &zlen, raw, (uLong)n), Z_OK);
  uint32_t hdr[2] = {0x1c849314, (uint32_t)zlen};
  for (int i = 0; i < 2; i++)
    for (int b = 0; b < 4; b++) out[i * 4 + b] = (uint8_t)(hdr[i] >> (24 - 8 * b));
  return 8 + zlen;
}

static void expect_invalid(const uint8_t *buf, size_t len, const char *says, const char *what) {
  mp_hdr *h = (mp_hdr *)&h;
  mp_status st = mp_hdr_decode(buf, len, &h);
  if (st != MP_ERR_INVALID)
    fail_msg("%s: got status %d (%s), want MP_ERR_INVALID", what, st, mp_error_last());
  assert_null(h);
  if (says && !strstr(mp_error_last(), says))
    fail_msg("%s: message \"%s\" does not mention \"%s\"", what, mp_error_last(), says);
}

static void test_malformed_payloads(void **state) {
  (void)state;
  static const struct {
    const char *what, *says;
    uint32_t cookie;
    int32_t plen; /* -2: the payload's own length */
    int32_t sigfigs;
    int64_t lowest, highest;
    uint8_t payload[24];
    size_t n;
  } cases[] = {
      {"V1 inside", "V1", 0x1c849301, -2, 3, 1, 1000, {2}, 1},
      {"junk cookie", "not an HdrHistogram", 0x12345678, -2, 3, 1, 1000, {2}, 1},
      {"negative payload length", "negative", 0x1c849313, -1, 3, 1, 1000, {2}, 1},
      {"no significant figures", "significant", 0x1c849313, -2, 0, 1, 1000, {2}, 1},
      {"six significant figures", "significant", 0x1c849313, -2, 6, 1, 1000, {2}, 1},
      {"lowest 0", "lowest", 0x1c849313, -2, 3, 0, 1000, {2}, 1},
      {"highest < 2 * lowest", "highest", 0x1c849313, -2, 3, 600, 1000, {2}, 1},
      {"negative highest", "highest", 0x1c849313, -2, 3, 1, -1000, {2}, 1},
      {"too wide", "64 bits", 0x1c849313, -2, 5, INT64_C(1) << 50, INT64_MAX, {2}, 1},
      {"payload longer than the slots need", "more than", 0x1c849313, 32 * 9 + 1, 1, 1, 2, {2}, 1},
      {"word cut off", "ends inside", 0x1c849313, -2, 3, 1, 1000, {2, 0x80}, 2},
      {"9-byte word cut off",
       "ends inside",
       0x1c849313,
       -2,
       3,
       1,
       1000,
       {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
       8},
      {"zero run past the end", "empty slots", 0x1c849313, -2, 1, 1, 2, {2, 0x3f}, 2},
      {"int64 min zero run",
       "empty slots",
       0x1c849313,
       -2,
       3,
       1,
       1000,
       {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
       9},
      {"int32 min zero run",
       "empty slots",
       0x1c849313,
       -2,
       3,
       1,
       1000,
       {0x01, 0x02, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x02},
       8},
      {"more counts than slots",
       "more than the 32 slots",
       0x1c849313,
       -2,
       1,
       1,
       2,
       {0x3b, 2, 2, 2},
       4}, /* 30 zeros, then 3 counts into 32 slots */
      {"counts overflow",
       "2^63",
       0x1c849313,
       -2,
       3,
       1,
       1000,
       {0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02},
       10}, /* INT64_MAX, 1 */
  };
  uint8_t raw[256], packed[512];
  for (size_t i = 0; i < MP_ARRAY_LEN(cases); i++) {
    int32_t plen = cases[i].plen == -2 ? (int32_t)cases[i].n : cases[i].plen;
    size_t n = make_raw(raw, cases[i].cookie, plen, cases[i].sigfigs, cases[i].lowest,
                        cases[i].highest, cases[i].payload, cases[i].n);
    char what[128];
    snprintf(what, sizeof what, "%s (raw)", cases[i].what);
    expect_invalid(raw, n, cases[i].says, what);
    snprintf(what, sizeof what, "%s (compressed)", cases[i].what);
    expect_invalid(packed, make_compressed(packed, sizeof packed, raw, n), cases[i].says, what);
  }

  /* The same payload is accepted when it is well formed, raw or compressed. */
  static const uint8_t ok_payload[] = {0x00, 0x02, 0x05, 0x04}; /* 0, 1, 3 zeros, 2 */
  size_t n =
      make_raw(raw, 0x1c849303, sizeof ok_payload, 3, 1, 1000, ok_payload, sizeof ok_payload);
  mp_hdr *h;
  ASSERT_OK(mp_hdr_decode(raw, n, &h));
  ASSERT_I64(mp_hdr_count(h), 3);
  ASSERT_I64(mp_hdr_count_at(h, 5), 2);
  mp_hdr_free(h);
  ASSERT_OK(mp_hdr_decode(packed, make_compressed(packed, sizeof packed, raw, n), &h));
  ASSERT_I64(mp_hdr_count(h), 3);
  mp_hdr_free(h);
  /* A payload shorter than the header says: wrong when raw, but a complete deflate
   * stream reads as if zero-padded (older HdrHistogram_c wrote such lengths). */
  make_raw(raw, 0x1c849313, 100, 3, 1, 1000, ok_payload, sizeof ok_payload);
  expect_invalid(raw, n, "exceeds", "short raw payload");
  ASSERT_OK(mp_hdr_decode(packed, make_compressed(packed, sizeof packed, raw, n), &h));
  ASSERT_I64(mp_hdr_count(h), 3);
  mp_hdr_free(h);
  /* ... but not past the last slot: 2048 slots, 4 bytes + 2045 zero bytes. */
  make_raw(raw, 0x1c849313, 4 + 2045, 3, 1, 1000, ok_payload, sizeof ok_payload);
  expect_invalid(packed, make_compressed(packed, sizeof packed, raw, n), "more than the 2048",
                 "zero padding past the last slot");
  /* A cut deflate stream is refused unless it already holds the whole payload. */
  mp_hdr *big = classic_corrected();
  uint8_t *bin;
  size_t len;
  ASSERT_OK(mp_hdr_encode(big, &bin, &len));
  for (size_t cut = 0; cut < len - 8; cut++) {
    uint32_t zlen = (uint32_t)cut;
    for (int b = 0; b < 4; b++) bin[4 + b] = (uint8_t)(zlen >> (24 - 8 * b));
    mp_hdr *out = NULL;
    mp_status st = mp_hdr_decode(bin, len, &out);
    if (st == MP_OK) {
      if (!mp_hdr_equal(out, big)) fail_msg("stream cut to %zu bytes decodes differently", cut);
      mp_hdr_free(out);
    } else if (st != MP_ERR_INVALID) {
      fail_msg("stream cut to %zu bytes: status %d", cut, st);
    }
  }
  mp_free(bin);
  mp_hdr_free(big);
}

static void test_malformed_envelopes(void **state) {
  (void)state;
  static const uint8_t v1[] = {0x1c, 0x84, 0x93, 0x12, 0, 0, 0, 4, 1, 2, 3, 4};
  static const uint8_t v0[] = {0x1c, 0x84, 0x93, 0x09, 0, 0, 0, 4, 1, 2, 3, 4};
  static const uint8_t neg[] = {0x1c, 0x84, 0x93, 0x14, 0x80, 0, 0, 0, 1, 2, 3, 4};
  static const uint8_t over[] = {0x1c, 0x84, 0x93, 0x14, 0, 0, 0, 5, 1, 2, 3, 4};
  static const uint8_t junk[] = {0x1c, 0x84, 0x93, 0x14, 0, 0, 0, 4, 1, 2, 3, 4};
  expect_invalid(NULL, 0, "too short", "NULL");
  expect_invalid(v1, 7, "too short", "7 bytes");
  expect_invalid(v1, sizeof v1, "V1", "V1 compressed");
  expect_invalid(v0, sizeof v0, "V0", "V0 compressed");
  expect_invalid(neg, sizeof neg, "compressed length", "negative length");
  expect_invalid(over, sizeof over, "compressed length", "length past the end");
  expect_invalid(junk, sizeof junk, "deflate", "not a zlib stream");
  static const uint8_t empty[] = {0x1c, 0x84, 0x93, 0x14, 0, 0, 0, 0};
  expect_invalid(empty, sizeof empty, "header", "empty zlib stream");
  /* A valid zlib stream holding less than a header. */
  uint8_t packed[64];
  static const uint8_t tiny[] = {0x1c, 0x84, 0x93, 0x13, 0, 0, 0, 0};
  expect_invalid(packed, make_compressed(packed, sizeof packed, tiny, sizeof tiny), "header",
                 "short header");
  /* A raw V2 encoding shorter than its header. */
  expect_invalid(tiny, sizeof tiny, "header", "raw short header");

  mp_hdr *h = (mp_hdr *)&h;
  static const struct {
    const char *s, *says;
  } b64[] = {{"", "empty"},
             {"  \n", "empty"},
             {"HISTF", "length"},
             {"HISTFA=A", "not base64"},
             {"HIST*AAA", "not base64"},
             {"HISTFAA==", "length"},
             {"AAAAAAAAAAAA", "cookie"}};
  for (size_t i = 0; i < MP_ARRAY_LEN(b64); i++) {
    ASSERT_I64(mp_hdr_decode_base64(b64[i].s, strlen(b64[i].s), &h), MP_ERR_INVALID);
    assert_null(h);
    if (!strstr(mp_error_last(), b64[i].says))
      fail_msg("\"%s\": message \"%s\" lacks \"%s\"", b64[i].s, mp_error_last(), b64[i].says);
  }
  ASSERT_I64(mp_hdr_decode_base64(NULL, 5, &h), MP_ERR_INVALID);
  ASSERT_I64(mp_hdr_decode_base64("HISTF\0AAA", 9, &h), MP_ERR_INVALID);

  /* Surrounding whitespace and missing padding are fine. */
  char padded[sizeof java_2048 + 8];
  snprintf(padded, sizeof padded, " \t%s\r\n", java_2048);
  ASSERT_OK(mp_hdr_decode_base64(padded, strlen(padded), &h));
  mp_hdr_free(h);
  ASSERT_OK(mp_hdr_decode_base64(java_2048, strlen(java_2048) - 2, &h));
  ASSERT_I64(mp_hdr_count(h), 1);
  mp_hdr_free(h);
}

static bool sum_counts(const mp_hdr_bucket *b, void *arg) {
  *(int64_t *)arg += b->count;
  return true;
}

/* Every truncation is rejected; every single-bit flip either fails cleanly or yields a
 * self-consistent histogram. Under ASan and valgrind this also proves memory safety. */
static void test_truncation_and_bit_flips(void **state) {
  (void)state;
  mp_hdr *h = classic_corrected();
  uint8_t *bin;
  size_t len;
  ASSERT_OK(mp_hdr_encode(h, &bin, &len));
  for (size_t n = 0; n < len; n++) {
    mp_hdr *out = (mp_hdr *)&out;
    ASSERT_I64(mp_hdr_decode(bin, n, &out), MP_ERR_INVALID);
    assert_null(out);
  }
  uint8_t *copy = malloc(len);
  int accepted = 0;
  for (size_t i = 0; i < len; i++) {
    for (int bit = 0; bit < 8; bit++) {
      memcpy(copy, bin, len);
      copy[i] ^= (uint8_t)(1 << bit);
      mp_hdr *out = NULL;
      mp_status st = mp_hdr_decode(copy, len, &out);
      if (st != MP_OK) {
        if (st != MP_ERR_INVALID) fail_msg("byte %zu bit %d: status %d", i, bit, st);
        assert_null(out);
        continue;
      }
      accepted++;
      int64_t sum = 0;
      mp_hdr_foreach(out, sum_counts, &sum);
      ASSERT_I64(sum, mp_hdr_count(out));
      mp_hdr_free(out);
    }
  }
  /* The cookies' word-size bits are ignored, so a few flips must still decode. */
  assert_true(accepted > 0);
  free(copy);
  mp_free(bin);
  mp_hdr_free(h);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_round_trip),          cmocka_unit_test(test_wire_format),
      cmocka_unit_test(test_foreign_encodings),   cmocka_unit_test(test_malformed_payloads),
      cmocka_unit_test(test_malformed_envelopes), cmocka_unit_test(test_truncation_and_bit_flips),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
