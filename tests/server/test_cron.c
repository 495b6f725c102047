/* Cron parsing and next-time computation (pure unit test, UTC). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "cron.h"

/* "2026-11-26 01:47" style to Unix ms. */
static int64_t at(int y, int mo, int d, int h, int mi) {
  struct tm tm = {.tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d, .tm_hour = h, .tm_min = mi};
  return (int64_t)timegm(&tm) * 1000;
}

static void test_next(void **state) {
  static const struct {
    const char *expr;
    int from[5], want[5];
  } cases[] = {
      {"* * * * *", {2026, 11, 26, 1, 47}, {2026, 11, 26, 1, 48}},
      {"*/15 * * * *", {2026, 11, 26, 1, 47}, {2026, 11, 26, 2, 0}},
      {"0 3 * * *", {2026, 11, 26, 3, 0}, {2026, 11, 27, 3, 0}},
      {"0 3 * * MON-FRI", {2026, 11, 27, 4, 0}, {2026, 11, 30, 3, 0}}, /* Fri -> Mon */
      {"30 9 1 * *", {2026, 11, 26, 0, 0}, {2026, 12, 1, 9, 30}},
      {"0 0 1 JAN *", {2026, 11, 26, 0, 0}, {2027, 1, 1, 0, 0}},
      {"0 0 29 2 *", {2026, 3, 1, 0, 0}, {2028, 2, 29, 0, 0}},      /* leap day */
      {"0 12 13 * 5", {2026, 11, 26, 0, 0}, {2026, 11, 27, 12, 0}}, /* 13th OR Friday */
      {"0 0 * * 7", {2026, 11, 26, 0, 0}, {2026, 11, 29, 0, 0}},    /* 7 = Sunday */
      {"5,10-12/2 1 * * *", {2026, 11, 26, 1, 6}, {2026, 11, 26, 1, 10}},
      {"5/20 * * * *", {2026, 11, 26, 1, 6}, {2026, 11, 26, 1, 25}},
      {"@hourly", {2026, 11, 26, 1, 0}, {2026, 11, 26, 2, 0}},
      {"@weekly", {2026, 11, 26, 1, 0}, {2026, 11, 29, 0, 0}},
      {"@yearly", {2026, 11, 26, 1, 0}, {2027, 1, 1, 0, 0}},
      {"59 23 31 DEC *", {2026, 12, 31, 23, 59}, {2027, 12, 31, 23, 59}},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    mp_cron c;
    if (mp_cron_parse(cases[i].expr, &c) != MP_OK)
      fail_msg("%s: %s", cases[i].expr, mp_error_last());
    int64_t next;
    const int *f = cases[i].from, *w = cases[i].want;
    assert_int_equal(mp_cron_next(&c, at(f[0], f[1], f[2], f[3], f[4]), &next), MP_OK);
    if (next != at(w[0], w[1], w[2], w[3], w[4]))
      fail_msg("%s from %d-%d-%d %d:%d: got %lld", cases[i].expr, f[0], f[1], f[2], f[3], f[4],
               (long long)next);
  }
}

static void test_invalid(void **state) {
  static const struct {
    const char *expr, *expect;
  } cases[] = {
      {"", "needs 5"},
      {"* * * *", "has 4 fields"},
      {"* * * * * *", "has 6 fields"},
      {"60 * * * *", "minute field must stay within 0-59"},
      {"* 24 * * *", "hour field"},
      {"* * 0 * *", "day of month field"},
      {"* * * 13 *", "month field"},
      {"* * * * 8", "day of week field"},
      {"*/0 * * * *", "step"},
      {"a * * * *", "not a number"},
      {"5-1 * * * *", "within"},
      {"1-* * * * *", "range without an end"},
      {"0 0 30 2 *", "never fires"},
      {"1;2 * * * *", "unexpected character"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    mp_cron c;
    if (mp_cron_parse(cases[i].expr, &c) != MP_ERR_INVALID)
      fail_msg("\"%s\" should be rejected", cases[i].expr);
    if (!strstr(mp_error_last(), cases[i].expect))
      fail_msg("\"%s\": message \"%s\" lacks \"%s\"", cases[i].expr, mp_error_last(),
               cases[i].expect);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_next), cmocka_unit_test(test_invalid)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
