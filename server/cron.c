/* Five-field cron expressions (minute hour day-of-month month day-of-week), in UTC, with
 * the usual syntax: "*", "5", "1-5", "*\/15", "1-30/2", lists "1,15,30", month and day
 * names (JAN..DEC, SUN..SAT), 7 for Sunday, and the macros @hourly, @daily (@midnight),
 * @weekly, @monthly, @yearly (@annually). As in Vixie cron, when both day fields are
 * restricted a day matches if either does. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "cron.h"

static const char *const months[] = {"JAN", "FEB", "MAR", "APR", "MAY", "JUN",
                                     "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"};
static const char *const days[] = {"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"};

typedef struct field_spec {
  const char *name;
  int lo, hi;
  const char *const *names; /* names[i] means lo + i */
  int n_names;
} field_spec;

static const field_spec specs[5] = {
    {"minute", 0, 59, NULL, 0},   {"hour", 0, 23, NULL, 0},       {"day of month", 1, 31, NULL, 0},
    {"month", 1, 12, months, 12}, {"day of week", 0, 7, days, 7},
};

/* Parses a number or a name at *p; advances *p. */
static bool parse_value(const char **p, const field_spec *f, int *out) {
  if (isdigit((unsigned char)**p)) {
    char *end;
    long v = strtol(*p, &end, 10);
    if (end - *p > 2) return false;
    *p = end;
    *out = (int)v;
    return true;
  }
  for (int i = 0; i < f->n_names; i++) {
    if (!strncasecmp(*p, f->names[i], 3)) {
      *p += 3;
      *out = f->lo + i;
      return true;
    }
  }
  return false;
}

static mp_status bad(const char *expr, const field_spec *f, const char *why) {
  return mp_error_set(MP_ERR_INVALID,
                      "cron \"%s\": the %s field %s (fields: minute hour day-of-month month "
                      "day-of-week, e.g. \"*/15 * * * *\" or \"0 3 * * MON-FRI\")",
                      expr, f->name, why);
}

/* Parses one field (a comma list of items) into bits. */
static mp_status parse_field(const char *expr, const char *text, const field_spec *f,
                             uint64_t *bits, bool *star) {
  *bits = 0;
  *star = text[0] == '*' && (text[1] == '\0' || text[1] == '/');
  const char *p = text;
  for (;;) {
    int lo = f->lo, hi = f->hi, step = 1;
    if (*p == '*') {
      p++;
    } else {
      if (!parse_value(&p, f, &lo)) return bad(expr, f, "has something that is not a number");
      hi = lo;
      if (*p == '-') {
        p++;
        if (!parse_value(&p, f, &hi)) return bad(expr, f, "has a range without an end");
      }
    }
    if (*p == '/') {
      p++;
      char *end;
      long s = strtol(p, &end, 10);
      if (end == p || s < 1 || s > f->hi) return bad(expr, f, "has a step that is not 1 or more");
      step = (int)s;
      p = end;
      if (lo == hi && text[0] != '*') hi = f->hi; /* "5/15" means 5-max/15 */
    }
    char why[64];
    if (lo < f->lo || hi > f->hi || lo > hi) {
      snprintf(why, sizeof why, "must stay within %d-%d", f->lo, f->hi);
      return bad(expr, f, why);
    }
    for (int v = lo; v <= hi; v += step) *bits |= UINT64_C(1) << v;
    if (*p == '\0') break;
    if (*p != ',') return bad(expr, f, "has an unexpected character");
    p++;
  }
  return MP_OK;
}

mp_status mp_cron_parse(const char *expr, mp_cron *out) {
  static const struct {
    const char *macro, *expansion;
  } macros[] = {{"@yearly", "0 0 1 1 *"}, {"@annually", "0 0 1 1 *"}, {"@monthly", "0 0 1 * *"},
                {"@weekly", "0 0 * * 0"}, {"@daily", "0 0 * * *"},    {"@midnight", "0 0 * * *"},
                {"@hourly", "0 * * * *"}};
  memset(out, 0, sizeof *out);
  if (!expr) expr = "";
  const char *text = expr;
  for (size_t i = 0; i < MP_ARRAY_LEN(macros); i++)
    if (!strcasecmp(expr, macros[i].macro)) text = macros[i].expansion;
  char copy[256];
  if (strlen(text) >= sizeof copy) return mp_error_set(MP_ERR_INVALID, "cron expression too long");
  mp_strlcpy(copy, text, sizeof copy);
  char *fields[6], *save = NULL;
  int n = 0;
  for (char *tok = strtok_r(copy, " \t", &save); tok; tok = strtok_r(NULL, " \t", &save))
    if (n < 6)
      fields[n++] = tok;
    else
      n++;
  if (n != 5)
    return mp_error_set(MP_ERR_INVALID,
                        "cron \"%s\" has %d fields; it needs 5: minute hour day-of-month month "
                        "day-of-week (e.g. \"0 * * * *\" for every hour)",
                        expr, n);
  uint64_t bits[5];
  bool star[5];
  for (int i = 0; i < 5; i++) {
    mp_status st = parse_field(expr, fields[i], &specs[i], &bits[i], &star[i]);
    if (st != MP_OK) return st;
  }
  out->minutes = bits[0];
  out->hours = (uint32_t)bits[1];
  out->mdays = (uint32_t)bits[2];
  out->months = (uint16_t)bits[3];
  out->wdays = (uint8_t)((bits[4] | (bits[4] >> 7)) & 0x7f); /* 7 is Sunday too */
  out->mday_star = star[2];
  out->wday_star = star[4];
  /* An expression that can never fire (e.g. February 30th) is an error, not a stall. */
  int64_t next;
  if (mp_cron_next(out, 0, &next) != MP_OK)
    return mp_error_set(MP_ERR_INVALID, "cron \"%s\" never fires (no such date)", expr);
  return MP_OK;
}

static bool day_matches(const mp_cron *c, const struct tm *t) {
  bool md = c->mdays >> t->tm_mday & 1, wd = c->wdays >> t->tm_wday & 1;
  if (c->mday_star || c->wday_star) return md && wd;
  return md || wd;
}

mp_status mp_cron_next(const mp_cron *c, int64_t after_ms, int64_t *next_ms) {
  /* Start at the first whole minute strictly after `after`. */
  time_t t = (time_t)(after_ms / 1000);
  t = t - t % 60 + 60;
  for (int i = 0; i < 100000; i++) {
    struct tm tm;
    gmtime_r(&t, &tm);
    if (!(c->months >> (tm.tm_mon + 1) & 1)) {
      tm.tm_mon++;
      tm.tm_mday = 1;
      tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
    } else if (!day_matches(c, &tm)) {
      tm.tm_mday++;
      tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
    } else if (!(c->hours >> tm.tm_hour & 1)) {
      tm.tm_hour++;
      tm.tm_min = tm.tm_sec = 0;
    } else if (!(c->minutes >> tm.tm_min & 1)) {
      tm.tm_min++;
      tm.tm_sec = 0;
    } else {
      *next_ms = (int64_t)t * 1000;
      return MP_OK;
    }
    t = timegm(&tm); /* normalizes overflowing fields */
  }
  return mp_error_set(MP_ERR_NOT_FOUND, "the cron expression never fires");
}
