/* Go-syntax durations: parse ("1h30m", "250ms", "1.5s") and format (Go's String()). */
#include <stdio.h>
#include <string.h>

#include "meshplane/base.h"

static const struct {
  const char *name;
  int64_t ns;
} units[] = {
    {"ns", 1},
    {"us", MP_NS_PER_US},
    {"\xc2\xb5s", MP_NS_PER_US}, /* U+00B5 micro sign */
    {"\xce\xbcs", MP_NS_PER_US}, /* U+03BC greek mu */
    {"ms", MP_NS_PER_MS},
    {"s", MP_NS_PER_S},
    {"m", 60 * MP_NS_PER_S},
    {"h", 3600 * MP_NS_PER_S},
};

static mp_status invalid(const char *s, const char *why) {
  return mp_error_set(MP_ERR_INVALID,
                      "invalid duration \"%s\": %s (use a number with a unit, like 250ms, "
                      "30s, 5m or 1h30m)",
                      s, why);
}

mp_status mp_duration_parse(const char *s, int64_t *out_ns) {
  const char *p = s;
  if (!s || !*s) return invalid(s ? s : "", "empty");
  bool neg = false;
  if (*p == '-' || *p == '+') neg = *p++ == '-';
  if (strcmp(p, "0") == 0) {
    *out_ns = 0;
    return MP_OK;
  }
  if (!*p) return invalid(s, "no number");
  /* Accumulate in unsigned nanoseconds; the magnitude may reach 2^63 for "-". */
  uint64_t total = 0;
  const uint64_t limit = (uint64_t)INT64_MAX + (neg ? 1 : 0);
  while (*p) {
    if (!(*p == '.' || (*p >= '0' && *p <= '9'))) return invalid(s, "expected a number");
    uint64_t whole = 0;
    bool digits = false, overflow = false;
    while (*p >= '0' && *p <= '9') {
      if (whole > (UINT64_MAX - 9) / 10) overflow = true;
      whole = whole * 10 + (uint64_t)(*p++ - '0');
      digits = true;
    }
    uint64_t frac = 0, scale = 1;
    if (*p == '.') {
      p++;
      while (*p >= '0' && *p <= '9') {
        /* Like Go: digits that no longer fit in 63 bits are dropped. */
        if (frac <= (uint64_t)INT64_MAX / 10) {
          frac = frac * 10 + (uint64_t)(*p - '0');
          scale *= 10;
        }
        p++;
        digits = true;
      }
    }
    if (!digits) return invalid(s, "a '.' needs digits");
    const char *u = p;
    while (*p && *p != '.' && !(*p >= '0' && *p <= '9')) p++;
    size_t ulen = (size_t)(p - u);
    if (ulen == 0) return invalid(s, "missing unit");
    int64_t unit = 0;
    for (size_t i = 0; i < MP_ARRAY_LEN(units); i++) {
      if (strlen(units[i].name) == ulen && memcmp(units[i].name, u, ulen) == 0) {
        unit = units[i].ns;
        break;
      }
    }
    if (!unit) return invalid(s, "unknown unit (valid: ns, us, ms, s, m, h)");
    if (overflow || whole > limit / (uint64_t)unit) return invalid(s, "too large");
    uint64_t v = whole * (uint64_t)unit;
    /* Go computes the fraction in double precision; so do we, for identical results. */
    if (frac) v += (uint64_t)((double)frac * ((double)unit / (double)scale));
    if (v > limit - total) return invalid(s, "too large");
    total += v;
  }
  *out_ns = neg ? (int64_t)(0 - total) : (int64_t)total;
  return MP_OK;
}

/* Writes v / 10^prec's fractional digits (without trailing zeros) backwards ending at
 * buf[w], and returns the new start and v / 10^prec. */
static size_t fmt_frac(char *buf, size_t w, uint64_t *v, int prec) {
  bool print = false;
  for (int i = 0; i < prec; i++) {
    int digit = (int)(*v % 10);
    print = print || digit != 0;
    if (print) buf[--w] = (char)('0' + digit);
    *v /= 10;
  }
  if (print) buf[--w] = '.';
  return w;
}

static size_t fmt_int(char *buf, size_t w, uint64_t v) {
  if (v == 0) {
    buf[--w] = '0';
    return w;
  }
  while (v > 0) {
    buf[--w] = (char)('0' + v % 10);
    v /= 10;
  }
  return w;
}

char *mp_duration_format(int64_t ns, char *out, size_t n) {
  char buf[40];
  size_t w = sizeof buf;
  bool neg = ns < 0;
  uint64_t u = neg ? 0 - (uint64_t)ns : (uint64_t)ns;
  if (u < (uint64_t)MP_NS_PER_S) {
    int prec = 0;
    const char *unit;
    if (u == 0) {
      mp_strlcpy(out, "0s", n);
      return out;
    } else if (u < (uint64_t)MP_NS_PER_US) {
      unit = "ns";
    } else if (u < (uint64_t)MP_NS_PER_MS) {
      prec = 3;
      unit = "us";
    } else {
      prec = 6;
      unit = "ms";
    }
    w -= 2;
    memcpy(buf + w, unit, 2);
    w = fmt_frac(buf, w, &u, prec);
    w = fmt_int(buf, w, u);
  } else {
    buf[--w] = 's';
    w = fmt_frac(buf, w, &u, 9);
    w = fmt_int(buf, w, u % 60);
    u /= 60;
    if (u > 0) {
      buf[--w] = 'm';
      w = fmt_int(buf, w, u % 60);
      u /= 60;
      if (u > 0) {
        buf[--w] = 'h';
        w = fmt_int(buf, w, u);
      }
    }
  }
  if (neg) buf[--w] = '-';
  size_t len = sizeof buf - w;
  if (n) {
    size_t c = len < n - 1 ? len : n - 1;
    memcpy(out, buf + w, c);
    out[c] = '\0';
  }
  return out;
}
