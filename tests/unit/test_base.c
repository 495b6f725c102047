/* Unit tests of lib/base: durations, flags + environment, logging, uuids, buffers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "meshplane/base.h"

static void test_duration_parse(void **state) {
  (void)state;
  static const struct {
    const char *in;
    int64_t ns;
  } ok[] = {
      {"0", 0},
      {"5s", 5 * MP_NS_PER_S},
      {"30s", 30 * MP_NS_PER_S},
      {"1478s", 1478 * MP_NS_PER_S},
      {"-5s", -5 * MP_NS_PER_S},
      {"+5s", 5 * MP_NS_PER_S},
      {"-0", 0},
      {"5.0s", 5 * MP_NS_PER_S},
      {"5.6s", 5 * MP_NS_PER_S + 600 * MP_NS_PER_MS},
      {"5.s", 5 * MP_NS_PER_S},
      {".5s", 500 * MP_NS_PER_MS},
      {"1.004s", 1 * MP_NS_PER_S + 4 * MP_NS_PER_MS},
      {"100.00100s", 100 * MP_NS_PER_S + 1 * MP_NS_PER_MS},
      {"10ns", 10},
      {"11us", 11 * MP_NS_PER_US},
      {"12\xc2\xb5s", 12 * MP_NS_PER_US},
      {"12\xce\xbcs", 12 * MP_NS_PER_US},
      {"13ms", 13 * MP_NS_PER_MS},
      {"14s", 14 * MP_NS_PER_S},
      {"15m", 15 * 60 * MP_NS_PER_S},
      {"16h", 16 * 3600 * MP_NS_PER_S},
      {"250ms", 250 * MP_NS_PER_MS},
      {"1h30m", 90 * 60 * MP_NS_PER_S},
      {"3h30m", 210 * 60 * MP_NS_PER_S},
      {"10.5s4m", 4 * 60 * MP_NS_PER_S + 10500 * MP_NS_PER_MS},
      {"-2m3.4s", -(2 * 60 * MP_NS_PER_S + 3400 * MP_NS_PER_MS)},
      {"1h2m3s4ms5us6ns", 3723 * MP_NS_PER_S + 4 * MP_NS_PER_MS + 5 * MP_NS_PER_US + 6},
      {"39h9m14.425s", 140954425 * MP_NS_PER_MS},
      {"52763797000ns", 52763797000},
      {"0.3333333333333333333h", 20 * 60 * MP_NS_PER_S},
      {"9007199254740993ns", 9007199254740993},
      {"9223372036854775807ns", INT64_MAX},
      {"-9223372036854775808ns", INT64_MIN},
      {"0.100000000000000000000h", 6 * 60 * MP_NS_PER_S},
  };
  for (size_t i = 0; i < MP_ARRAY_LEN(ok); i++) {
    int64_t ns = 12345;
    mp_status st = mp_duration_parse(ok[i].in, &ns);
    if (st != MP_OK) fail_msg("parse \"%s\": %s", ok[i].in, mp_error_last());
    if (ns != ok[i].ns)
      fail_msg("parse \"%s\": got %lld want %lld", ok[i].in, (long long)ns, (long long)ok[i].ns);
  }
  static const char *const bad[] = {"",
                                    "3",
                                    "-",
                                    "s",
                                    ".",
                                    "-.",
                                    ".s",
                                    "+.s",
                                    "1d",
                                    "1.1.s",
                                    "5 s",
                                    "x5s",
                                    "1ms-",
                                    "9223372036854775808ns",
                                    "-9223372036854775809ns",
                                    "3000000h",
                                    "9223372036854775.808us"};
  for (size_t i = 0; i < MP_ARRAY_LEN(bad); i++) {
    int64_t ns = 0;
    if (mp_duration_parse(bad[i], &ns) != MP_ERR_INVALID)
      fail_msg("parse \"%s\" should fail, got %lld", bad[i], (long long)ns);
    /* The message names the input and says what to type. */
    assert_non_null(strstr(mp_error_last(), "invalid duration"));
    assert_non_null(strstr(mp_error_last(), "30s"));
  }
}

static void test_duration_format(void **state) {
  (void)state;
  static const struct {
    int64_t ns;
    const char *out;
  } cases[] = {
      {0, "0s"},
      {1, "1ns"},
      {1100, "1.1us"},
      {2200 * MP_NS_PER_US, "2.2ms"},
      {3300 * MP_NS_PER_MS, "3.3s"},
      {4 * 60 * MP_NS_PER_S + 5 * MP_NS_PER_S, "4m5s"},
      {4 * 60 * MP_NS_PER_S + 5001 * MP_NS_PER_MS, "4m5.001s"},
      {5 * 3600 * MP_NS_PER_S + 6 * 60 * MP_NS_PER_S + 7001 * MP_NS_PER_MS, "5h6m7.001s"},
      {8 * 60 * MP_NS_PER_S + 1, "8m0.000000001s"},
      {INT64_MAX, "2562047h47m16.854775807s"},
      {INT64_MIN, "-2562047h47m16.854775808s"},
      {-1, "-1ns"},
      {90 * 60 * MP_NS_PER_S, "1h30m0s"},
      {250 * MP_NS_PER_MS, "250ms"},
  };
  for (size_t i = 0; i < MP_ARRAY_LEN(cases); i++) {
    char buf[64];
    assert_string_equal(mp_duration_format(cases[i].ns, buf, sizeof buf), cases[i].out);
    /* What we print, we parse back to the same value. */
    int64_t back = 0;
    assert_int_equal(mp_duration_parse(buf, &back), MP_OK);
    assert_int_equal(back, cases[i].ns);
  }
  char small[4];
  assert_string_equal(mp_duration_format(90 * 60 * MP_NS_PER_S, small, sizeof small), "1h3");
}

static int run_flags(const mp_flag *flags, size_t n, int *nargs, ...) {
  char *argv[32];
  int argc = 0;
  va_list ap;
  va_start(ap, nargs);
  argv[argc++] = "prog";
  for (char *a; (a = va_arg(ap, char *)) != NULL;) argv[argc++] = a;
  va_end(ap);
  static const mp_program prog = {"prog", "a test program", "[flags] ARGS", NULL};
  return mp_flags_parse(&prog, flags, n, argc, argv, nargs);
}

static void test_flags(void **state) {
  (void)state;
  char *listen = "127.0.0.1:9600";
  int64_t workers = 4, timeout = 30 * MP_NS_PER_S;
  double qps = 0;
  bool tls = false, color = true;
  mp_strlist peers = {0};
  const mp_flag flags[] = {
      {"listen", 'l', MP_FLAG_STRING, &listen, "TEST_LISTEN", "address", "ADDR"},
      {"workers", 'w', MP_FLAG_INT, &workers, "TEST_WORKERS", "threads", "N"},
      {"timeout", 0, MP_FLAG_DURATION, &timeout, NULL, "timeout", "DUR"},
      {"qps", 0, MP_FLAG_DOUBLE, &qps, NULL, "rate", "N"},
      {"tls", 0, MP_FLAG_BOOL, &tls, NULL, "use tls", NULL},
      {"color", 0, MP_FLAG_BOOL, &color, NULL, "color", NULL},
      {"peer", 'p', MP_FLAG_LIST, &peers, "TEST_PEERS", "peer address", "ADDR"},
  };
  setenv("TEST_WORKERS", "8", 1);
  setenv("TEST_LISTEN", "0.0.0.0:1", 1);
  setenv("TEST_PEERS", "a:1,b:2", 1);
  int nargs = -1;
  int rc =
      run_flags(flags, MP_ARRAY_LEN(flags), &nargs, "--listen=[::]:5", "pos1", "--timeout", "1m30s",
                "--qps", "2.5", "--tls", "--no-color", "-p", "c:3,d:4", "--", "--pos2", NULL);
  assert_int_equal(rc, 0);
  assert_string_equal(listen, "[::]:5"); /* argv beats env */
  assert_int_equal(workers, 8);          /* env beats default */
  assert_int_equal(timeout, 90 * MP_NS_PER_S);
  assert_true(qps == 2.5);
  assert_true(tls);
  assert_false(color);
  assert_int_equal(peers.len, 4); /* env list, then argv appends (commas split both) */
  assert_string_equal(peers.items[0], "a:1");
  assert_string_equal(peers.items[1], "b:2");
  assert_string_equal(peers.items[2], "c:3");
  assert_string_equal(peers.items[3], "d:4");
  assert_int_equal(nargs, 2);
  mp_flags_free(flags, MP_ARRAY_LEN(flags));
  assert_null(listen);
  unsetenv("TEST_WORKERS");
  unsetenv("TEST_LISTEN");
  unsetenv("TEST_PEERS");

  /* Errors: unknown flags, bad values, missing values. */
  listen = "x";
  assert_int_equal(run_flags(flags, MP_ARRAY_LEN(flags), &nargs, "--bogus", NULL), -1);
  mp_flags_free(flags, MP_ARRAY_LEN(flags));
  listen = "x";
  /* Short flags take attached values: -w16 is -w 16. */
  assert_int_equal(run_flags(flags, MP_ARRAY_LEN(flags), &nargs, "-w16", "-l", "h:1", NULL), 0);
  assert_int_equal(workers, 16);
  assert_string_equal(listen, "h:1");
  mp_flags_free(flags, MP_ARRAY_LEN(flags));
  listen = "x";
  assert_int_equal(run_flags(flags, MP_ARRAY_LEN(flags), &nargs, "--workers", "many", NULL), -1);
  mp_flags_free(flags, MP_ARRAY_LEN(flags));
  listen = "x";
  assert_int_equal(run_flags(flags, MP_ARRAY_LEN(flags), &nargs, "--timeout", "5", NULL), -1);
  mp_flags_free(flags, MP_ARRAY_LEN(flags));
  listen = "x";
  assert_int_equal(run_flags(flags, MP_ARRAY_LEN(flags), &nargs, "--listen", NULL), -1);
  mp_flags_free(flags, MP_ARRAY_LEN(flags));
  listen = "x";
  assert_int_equal(run_flags(flags, MP_ARRAY_LEN(flags), &nargs, "--log-level", "loud", NULL), -1);
  mp_flags_free(flags, MP_ARRAY_LEN(flags));
  listen = "x";
  assert_int_equal(run_flags(flags, MP_ARRAY_LEN(flags), &nargs, "--log-level=debug", NULL), 0);
  assert_int_equal(mp_log_get_level(), MP_LOG_DEBUG);
  mp_log_set_level(MP_LOG_INFO);
  mp_flags_free(flags, MP_ARRAY_LEN(flags));
}

static void test_flags_help_version(void **state) {
  (void)state;
  char *listen = "127.0.0.1:9600";
  const mp_flag flags[] = {
      {"listen", 'l', MP_FLAG_STRING, &listen, "X_LISTEN", "gRPC address", "ADDR"}};
  char path[] = "/tmp/mp_flags_XXXXXX";
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  fflush(stdout);
  int saved = dup(1);
  dup2(fd, 1);
  int nargs;
  int rc1 = run_flags(flags, 1, &nargs, "--help", NULL);
  mp_flags_free(flags, 1);
  listen = "127.0.0.1:9600";
  int rc2 = run_flags(flags, 1, &nargs, "--version", NULL);
  mp_flags_free(flags, 1);
  fflush(stdout);
  dup2(saved, 1);
  close(saved);
  assert_int_equal(rc1, 1);
  assert_int_equal(rc2, 1);
  char out[4096] = {0};
  assert_true(pread(fd, out, sizeof out - 1, 0) > 0);
  close(fd);
  unlink(path);
  assert_non_null(strstr(out, "Usage: prog [flags] ARGS"));
  assert_non_null(strstr(out, "--listen ADDR"));
  assert_non_null(strstr(out, "env X_LISTEN, default 127.0.0.1:9600"));
  assert_non_null(strstr(out, "--log-level LEVEL"));
  assert_non_null(strstr(out, "prog " MESHPLANE_VERSION));
}

static void test_log(void **state) {
  (void)state;
  int fds[2];
  assert_int_equal(pipe(fds), 0);
  mp_log_init("test-prog");
  mp_log_set_fd(fds[1]);
  mp_log_set_level(MP_LOG_WARN);
  mp_info("hidden", "k=%d", 1);
  mp_warn("disk almost full", "path=%s pct=%d", "/var", 91);
  mp_error("plain");
  mp_log_set_level(MP_LOG_INFO);
  mp_log_set_fd(2);
  close(fds[1]);
  char out[1024] = {0};
  ssize_t n = read(fds[0], out, sizeof out - 1);
  close(fds[0]);
  assert_true(n > 0);
  assert_null(strstr(out, "hidden"));
  char *l1 = strstr(out, "level=warn prog=test-prog msg=\"disk almost full\" path=/var pct=91\n");
  assert_non_null(l1);
  assert_non_null(strstr(out, "level=error prog=test-prog msg=plain\n"));
  assert_true(mp_str_has_prefix(out, "ts=20"));
  mp_log_level lvl;
  assert_int_equal(mp_log_level_parse("WARNING", &lvl), MP_OK);
  assert_int_equal(lvl, MP_LOG_WARN);
  assert_int_equal(mp_log_level_parse("verbose", &lvl), MP_ERR_INVALID);
  assert_non_null(strstr(mp_error_last(), "debug, info, warn, error or off"));
}

static void test_error_self_reference(void **state) {
  (void)state;
  mp_error_set(MP_ERR_INVALID, "inner problem %d", 42);
  /* Adding context to a callee's message, with that message as an argument. */
  mp_error_set(MP_ERR_INVALID, "outer: %s (and more)", mp_error_last());
  assert_string_equal(mp_error_last(), "outer: inner problem 42 (and more)");
}

static void test_uuid_buf(void **state) {
  (void)state;
  char a[MP_UUID_STRLEN], b[MP_UUID_STRLEN];
  mp_uuid_new(a);
  mp_uuid_new(b);
  assert_true(mp_uuid_valid(a));
  assert_string_not_equal(a, b);
  assert_int_equal(a[14], '4'); /* version 4 */
  assert_false(mp_uuid_valid("not-a-uuid"));
  assert_false(mp_uuid_valid(NULL));

  mp_buf buf = {0};
  for (int i = 0; i < 1000; i++) mp_buf_printf(&buf, "%d,", i);
  assert_int_equal(buf.len, strlen(buf.data));
  assert_true(mp_str_has_prefix(buf.data, "0,1,2,"));
  char *s = mp_buf_steal(&buf);
  assert_null(buf.data);
  mp_free(s);
  char small[5];
  assert_int_equal(mp_strlcpy(small, "abcdefgh", sizeof small), 8);
  assert_string_equal(small, "abcd");
  char *f = mp_asprintf("%s-%d", "x", 7);
  assert_string_equal(f, "x-7");
  mp_free(f);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_duration_parse),
      cmocka_unit_test(test_duration_format),
      cmocka_unit_test(test_flags),
      cmocka_unit_test(test_flags_help_version),
      cmocka_unit_test(test_log),
      cmocka_unit_test(test_uuid_buf),
      cmocka_unit_test(test_error_self_reference),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
