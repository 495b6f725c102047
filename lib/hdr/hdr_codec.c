/* HdrHistogram V2 encoding: the form HdrHistogram logs and every port exchange.
 *
 *   compressed:  be32 cookie 0x1c849314 (base 0x1c849304), be32 deflated length,
 *                a zlib stream holding the encoding below
 *   encoding:    be32 cookie 0x1c849313 (base 0x1c849303), be32 payload length,
 *                be32 normalizing index offset, be32 significant figures,
 *                be64 lowest, be64 highest, be64 integer-to-double ratio (IEEE double),
 *                payload: one ZigZag LEB128-64b9B word per counts slot, from slot 0 to
 *                the slot of the largest value; a negative word -n stands for n empty
 *                slots in a row.
 *
 * Readers compare cookies without their 0xf0 nibble (the word-size bits), as the
 * reference does. The normalizing offset only describes how Java stored a shifted
 * array internally; the payload is always in logical slot order, so it is ignored, and
 * so is the ratio (hdr-histogram-js writes it as the integer 1, Java as the double 1.0).
 * Decoding trusts nothing: every length and count is checked before use.
 */
#include <string.h>

#define ZLIB_CONST
#include <zlib.h>

#include "hdr_internal.h"

#define COOKIE_BASE_MASK (~UINT32_C(0xf0))
#define V2_ENCODING UINT32_C(0x1c849303)
#define V2_COMPRESSED UINT32_C(0x1c849304)
#define V1_ENCODING UINT32_C(0x1c849301)
#define V1_COMPRESSED UINT32_C(0x1c849302)
#define V0_ENCODING UINT32_C(0x1c849308)
#define V0_COMPRESSED UINT32_C(0x1c849309)
#define WORD_SIZE_BITS UINT32_C(0x10) /* what writers put in the 0xf0 nibble for V2 */
#define HEADER_LEN 40
#define MAX_WORD 9 /* bytes of one LEB128-64b9B word */

static void put_be32(uint8_t *p, uint32_t v) {
  for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (24 - 8 * i));
}

static void put_be64(uint8_t *p, uint64_t v) {
  for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (56 - 8 * i));
}

static uint32_t get_be32(const uint8_t *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t get_be64(const uint8_t *p) { return (uint64_t)get_be32(p) << 32 | get_be32(p + 4); }

/* ZigZag, then LEB128 with at most 9 bytes: eight 7-bit groups with a continuation bit,
 * and a ninth byte carrying the last 8 bits whole. Returns the bytes written. */
static size_t zz_put(uint8_t *p, int64_t v) {
  uint64_t u = ((uint64_t)v << 1) ^ (v < 0 ? UINT64_MAX : 0);
  size_t n = 0;
  while (n < 8 && u >= 0x80) {
    p[n++] = (uint8_t)(u | 0x80);
    u >>= 7;
  }
  p[n++] = (uint8_t)u;
  return n;
}

/* Reads one word from [p, end). Returns the bytes read, 0 when the word is cut off. */
static size_t zz_get(const uint8_t *p, const uint8_t *end, int64_t *out) {
  uint64_t u = 0;
  size_t n = 0;
  for (;;) {
    if (p + n >= end) return 0;
    uint8_t b = p[n];
    if (n == 8) {
      u |= (uint64_t)b << 56;
      n++;
      break;
    }
    u |= (uint64_t)(b & 0x7f) << (7 * n);
    n++;
    if (!(b & 0x80)) break;
  }
  *out = (int64_t)((u >> 1) ^ (0 - (u & 1)));
  return n;
}

/* ---- encoding ----------------------------------------------------------------------- */

mp_status mp_hdr_encode(const mp_hdr *h, uint8_t **out, size_t *len) {
  *out = NULL;
  *len = 0;
  /* Up to the slot of the largest value; an empty histogram still writes slot 0. */
  int32_t limit = h->total ? mp__hdr_index(h, h->max) + 1 : 1;
  uint8_t *raw = mp_malloc(HEADER_LEN + (size_t)limit * MAX_WORD);
  size_t pos = HEADER_LEN;
  for (int32_t i = 0; i < limit;) {
    int64_t c = h->counts[i++];
    if (c != 0) {
      pos += zz_put(raw + pos, c);
      continue;
    }
    int64_t zeros = 1;
    while (i < limit && h->counts[i] == 0) {
      zeros++;
      i++;
    }
    pos += zz_put(raw + pos, zeros > 1 ? -zeros : 0);
  }
  union {
    double d;
    uint64_t u;
  } ratio = {.d = 1.0};
  put_be32(raw, V2_ENCODING | WORD_SIZE_BITS);
  put_be32(raw + 4, (uint32_t)(pos - HEADER_LEN));
  put_be32(raw + 8, 0); /* normalizing index offset */
  put_be32(raw + 12, (uint32_t)h->sigfigs);
  put_be64(raw + 16, (uint64_t)h->lowest);
  put_be64(raw + 24, (uint64_t)h->highest);
  put_be64(raw + 32, ratio.u);

  uLongf zlen = compressBound((uLong)pos);
  uint8_t *buf = mp_malloc(8 + zlen);
  int rc = compress2(buf + 8, &zlen, raw, (uLong)pos, Z_DEFAULT_COMPRESSION);
  mp_free(raw);
  if (rc != Z_OK) {
    mp_free(buf);
    return mp_error_set(MP_ERR_INTERNAL, "hdr encode: zlib compress2 failed (%d)", rc);
  }
  put_be32(buf, V2_COMPRESSED | WORD_SIZE_BITS);
  put_be32(buf + 4, (uint32_t)zlen);
  *len = 8 + (size_t)zlen;
  *out = mp_realloc(buf, *len);
  return MP_OK;
}

static const char b64_chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

mp_status mp_hdr_encode_base64(const mp_hdr *h, char **out) {
  *out = NULL;
  uint8_t *bin;
  size_t n;
  mp_status st = mp_hdr_encode(h, &bin, &n);
  if (st != MP_OK) return st;
  char *s = mp_malloc((n + 2) / 3 * 4 + 1), *o = s;
  for (size_t i = 0; i < n; i += 3) {
    uint32_t w = (uint32_t)bin[i] << 16;
    if (i + 1 < n) w |= (uint32_t)bin[i + 1] << 8;
    if (i + 2 < n) w |= bin[i + 2];
    *o++ = b64_chars[w >> 18];
    *o++ = b64_chars[(w >> 12) & 63];
    *o++ = i + 1 < n ? b64_chars[(w >> 6) & 63] : '=';
    *o++ = i + 2 < n ? b64_chars[w & 63] : '=';
  }
  *o = '\0';
  mp_free(bin);
  *out = s;
  return MP_OK;
}

/* ---- decoding ------------------------------------------------------------------------ */

static mp_status bad_cookie(uint32_t cookie, const char *what) {
  uint32_t base = cookie & COOKIE_BASE_MASK;
  if (base == V1_ENCODING || base == V1_COMPRESSED || base == V0_ENCODING || base == V0_COMPRESSED)
    return mp_error_set(MP_ERR_INVALID,
                        "hdr decode: %s cookie 0x%08x is a V%d encoding; only V2 (HdrHistogram "
                        ">= 2.1) is supported: re-encode it with a current HdrHistogram",
                        what, cookie, base == V0_ENCODING || base == V0_COMPRESSED ? 0 : 1);
  return mp_error_set(MP_ERR_INVALID,
                      "hdr decode: %s cookie 0x%08x is not an HdrHistogram V2 encoding", what,
                      cookie);
}

/* Validates the 40-byte encoding header and allocates the histogram it describes. */
static mp_status read_header(const uint8_t *p, int32_t *payload_len, mp_hdr **out) {
  uint32_t cookie = get_be32(p);
  if ((cookie & COOKIE_BASE_MASK) != V2_ENCODING) return bad_cookie(cookie, "encoding");
  int32_t plen = (int32_t)get_be32(p + 4);
  int32_t sigfigs = (int32_t)get_be32(p + 12);
  int64_t lowest = (int64_t)get_be64(p + 16), highest = (int64_t)get_be64(p + 24);
  if (plen < 0) return mp_error_set(MP_ERR_INVALID, "hdr decode: negative payload length %d", plen);
  if (mp__hdr_alloc(lowest, highest, sigfigs, out) != MP_OK) {
    char why[256];
    mp_strlcpy(why, mp_error_last(), sizeof why);
    return mp_error_set(MP_ERR_INVALID, "hdr decode: bad header: %s", why);
  }
  /* A well-formed payload has at most one word per slot. */
  if ((int64_t)plen > (int64_t)(*out)->counts_len * MAX_WORD) {
    int32_t slots = (*out)->counts_len;
    mp_hdr_free(*out);
    *out = NULL;
    return mp_error_set(MP_ERR_INVALID,
                        "hdr decode: payload length %d is more than %d slots can need", plen,
                        slots);
  }
  *payload_len = plen;
  return MP_OK;
}

/* Fills h from the V2 payload [p, p + n) followed by `tail` zero bytes, then recomputes
 * total, min and max. */
static mp_status read_counts(mp_hdr *h, const uint8_t *p, size_t n, size_t tail) {
  uint8_t word[MAX_WORD];
  size_t pos = 0;
  int32_t idx = 0;
  while (pos < n + tail) {
    int64_t v;
    size_t k;
    if (pos + MAX_WORD <= n) {
      k = zz_get(p + pos, p + n, &v);
    } else {
      /* Near the end: copy what is left, padded with the zero tail. */
      size_t left = n + tail - pos < MAX_WORD ? n + tail - pos : MAX_WORD;
      for (size_t i = 0; i < left; i++) word[i] = pos + i < n ? p[pos + i] : 0;
      k = zz_get(word, word + left, &v);
    }
    if (k == 0) return mp_error_set(MP_ERR_INVALID, "hdr decode: payload ends inside a count");
    pos += k;
    if (v < 0) {
      if (v < -(int64_t)(h->counts_len - idx))
        return mp_error_set(MP_ERR_INVALID,
                            "hdr decode: a run of %llu empty slots goes past the %d slots of "
                            "the histogram",
                            (unsigned long long)(0 - (uint64_t)v), h->counts_len);
      idx += (int32_t)-v;
    } else {
      if (idx >= h->counts_len)
        return mp_error_set(MP_ERR_INVALID,
                            "hdr decode: payload holds more than the %d slots of the histogram",
                            h->counts_len);
      h->counts[idx++] = v;
    }
  }
  if (!mp__hdr_recount(h, idx))
    return mp_error_set(MP_ERR_INVALID, "hdr decode: counts add up to more than 2^63");
  return MP_OK;
}

/* Inflates until dst holds n bytes or the stream has no more; *got says how many and
 * *ended whether the stream finished properly (rather than the input running out). */
static mp_status inflate_into(z_stream *zs, uint8_t *dst, size_t n, size_t *got, bool *ended) {
  zs->next_out = dst;
  zs->avail_out = (uInt)n;
  *ended = false;
  while (zs->avail_out > 0) {
    int rc = inflate(zs, Z_NO_FLUSH);
    if (rc == Z_STREAM_END) {
      *ended = true;
      break;
    }
    if (rc == Z_BUF_ERROR) break; /* input used up */
    if (rc != Z_OK)
      return mp_error_set(MP_ERR_INVALID, "hdr decode: corrupt deflate stream (%s)",
                          zs->msg ? zs->msg : "zlib error");
  }
  *got = n - zs->avail_out;
  return MP_OK;
}

static mp_status decode_compressed(const uint8_t *buf, size_t len, mp_hdr **out) {
  int32_t zlen = (int32_t)get_be32(buf + 4);
  if (zlen < 0 || (size_t)zlen > len - 8)
    return mp_error_set(MP_ERR_INVALID,
                        "hdr decode: compressed length %d does not fit the %zu bytes given", zlen,
                        len - 8);
  z_stream zs;
  memset(&zs, 0, sizeof zs);
  if (inflateInit(&zs) != Z_OK)
    return mp_error_set(MP_ERR_INTERNAL, "hdr decode: zlib inflateInit failed");
  zs.next_in = buf + 8;
  zs.avail_in = (uInt)zlen;

  uint8_t header[HEADER_LEN], *payload = NULL;
  size_t got = 0;
  bool ended = false;
  int32_t plen = 0;
  mp_hdr *h = NULL;
  mp_status st = inflate_into(&zs, header, HEADER_LEN, &got, &ended);
  if (st == MP_OK && got < HEADER_LEN)
    st = mp_error_set(MP_ERR_INVALID, "hdr decode: inflated data ends inside the header");
  if (st == MP_OK) st = read_header(header, &plen, &h);
  /* Grow the payload buffer as data actually arrives, so a small input that claims a
   * huge payload costs no more than what it inflates to. */
  size_t cap = 0, have = 0;
  while (st == MP_OK && !ended && have < (size_t)plen) {
    cap = cap ? cap * 2 : 65536;
    if (cap > (size_t)plen) cap = (size_t)plen;
    payload = mp_realloc(payload, cap);
    st = inflate_into(&zs, payload + have, cap - have, &got, &ended);
    have += got;
    if (st == MP_OK && have < cap && !ended)
      st = mp_error_set(MP_ERR_INVALID,
                        "hdr decode: inflated payload has %zu of the %d bytes its header "
                        "announces",
                        have, plen);
  }
  /* Older HdrHistogram_c wrote the whole encoding's length as the payload length. Its
   * reader, like Java's, inflates into a zeroed buffer of that length, so the bytes a
   * complete stream lacks read as empty slots; do the same. */
  if (st == MP_OK) st = read_counts(h, payload, have, (size_t)plen - have);
  inflateEnd(&zs);
  mp_free(payload);
  if (st != MP_OK) {
    mp_hdr_free(h);
    return st;
  }
  *out = h;
  return MP_OK;
}

mp_status mp_hdr_decode(const uint8_t *buf, size_t len, mp_hdr **out) {
  *out = NULL;
  if (!buf || len < 8)
    return mp_error_set(MP_ERR_INVALID,
                        "hdr decode: %zu bytes is too short for an encoded histogram", len);
  uint32_t cookie = get_be32(buf);
  if ((cookie & COOKIE_BASE_MASK) == V2_COMPRESSED) return decode_compressed(buf, len, out);
  if ((cookie & COOKIE_BASE_MASK) != V2_ENCODING) return bad_cookie(cookie, "compression");
  /* An uncompressed V2 encoding, as Java's encodeIntoByteBuffer writes it. */
  if (len < HEADER_LEN)
    return mp_error_set(MP_ERR_INVALID, "hdr decode: %zu bytes is too short for a V2 header", len);
  int32_t plen;
  mp_hdr *h;
  mp_status st = read_header(buf, &plen, &h);
  if (st != MP_OK) return st;
  if ((size_t)plen > len - HEADER_LEN) {
    mp_hdr_free(h);
    return mp_error_set(MP_ERR_INVALID,
                        "hdr decode: payload length %d exceeds the %zu bytes after the header",
                        plen, len - HEADER_LEN);
  }
  st = read_counts(h, buf + HEADER_LEN, (size_t)plen, 0);
  if (st != MP_OK) {
    mp_hdr_free(h);
    return st;
  }
  *out = h;
  return MP_OK;
}

static int b64_value(unsigned char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

static bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

mp_status mp_hdr_decode_base64(const char *s, size_t len, mp_hdr **out) {
  *out = NULL;
  if (!s) len = 0;
  /* Log lines carry the string between tabs or before a newline: ignore the edges. */
  while (len && is_space(s[0])) s++, len--;
  while (len && is_space(s[len - 1])) len--;
  size_t pad = 0;
  while (pad < 2 && len > pad && s[len - 1 - pad] == '=') pad++;
  size_t n = len - pad;
  if (n == 0) return mp_error_set(MP_ERR_INVALID, "hdr decode: empty base64 string");
  if (n % 4 == 1 || (pad && (n + pad) % 4 != 0))
    return mp_error_set(MP_ERR_INVALID, "hdr decode: base64 length %zu is not valid", len);
  uint8_t *bin = mp_malloc(n / 4 * 3 + 3);
  size_t o = 0;
  uint32_t acc = 0;
  for (size_t i = 0; i < n; i++) {
    int v = b64_value((unsigned char)s[i]);
    if (v < 0) {
      mp_free(bin);
      return mp_error_set(MP_ERR_INVALID, "hdr decode: byte 0x%02x at offset %zu is not base64",
                          (unsigned char)s[i], i);
    }
    acc = acc << 6 | (uint32_t)v;
    if (i % 4 == 3) {
      bin[o++] = (uint8_t)(acc >> 16);
      bin[o++] = (uint8_t)(acc >> 8);
      bin[o++] = (uint8_t)acc;
      acc = 0;
    }
  }
  if (n % 4 == 2) bin[o++] = (uint8_t)(acc >> 4);
  if (n % 4 == 3) {
    bin[o++] = (uint8_t)(acc >> 10);
    bin[o++] = (uint8_t)(acc >> 2);
  }
  mp_status st = mp_hdr_decode(bin, o, out);
  mp_free(bin);
  return st;
}
