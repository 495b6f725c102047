/* Unit tests of target URL parsing (loadgen/engine/url.c). */
#include <ctype.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "internal.h"

static void test_good_urls(void **state) {
  (void)state;
  static const struct {
    const char *in, *host, *target, *host_header;
    uint16_t port;
  } ok[] = {
      {"http://example.com", "example.com", "/", "example.com", 80},
      {"http://example.com/", "example.com", "/", "example.com", 80},
      {"HTTP://Example.com:8080/a/b?c=d#frag", "Example.com", "/a/b?c=d", "Example.com:8080", 8080},
      {"http://127.0.0.1:80/x", "127.0.0.1", "/x", "127.0.0.1", 80},
      {"http://[::1]:9000/p", "::1", "/p", "[::1]:9000", 9000},
      {"http://[::1]/", "::1", "/", "[::1]", 80},
      {"http://h?q=1", "h", "/?q=1", "h", 80},
      {"http://svc.ns.svc.cluster.local:65535/%20x", "svc.ns.svc.cluster.local", "/%20x",
       "svc.ns.svc.cluster.local:65535", 65535},
      {"https://example.com/", "example.com", "/", "example.com", 443},
      {"HTTPS://[::1]:8443/p", "::1", "/p", "[::1]:8443", 8443},
      {"grpc://svc:50051", "svc", "/", "svc:50051", 50051},
      {"grpcs://svc/pkg.S/M", "svc", "/pkg.S/M", "svc", 443},
  };
  for (size_t i = 0; i < MP_ARRAY_LEN(ok); i++) {
    mp__url u;
    if (mp__url_parse(ok[i].in, &u) != MP_OK) fail_msg("%s: %s", ok[i].in, mp_error_last());
    char scheme[8] = "";
    for (size_t k = 0; k < sizeof scheme - 1 && ok[i].in[k] != ':'; k++)
      scheme[k] = (char)tolower((unsigned char)ok[i].in[k]);
    assert_string_equal(u.scheme, scheme);
    assert_string_equal(u.host, ok[i].host);
    assert_string_equal(u.target, ok[i].target);
    assert_string_equal(u.host_header, ok[i].host_header);
    assert_int_equal(u.port, ok[i].port);
    mp__url_free(&u);
    assert_int_equal(mp_loadgen_check_url(ok[i].in), MP_OK);
  }
  mp__url_free(NULL);
}

static void test_bad_urls(void **state) {
  (void)state;
  static const struct {
    const char *in, *msg;
  } bad[] = {
      {"example.com", "expected an absolute URL"},
      {"://x", "expected an absolute URL"},
      {"ftp://x/", "unsupported scheme \"ftp\""},
      {"h ttp://x/", "invalid scheme"},
      {"http://", "missing host"},
      {"http:///path", "missing host"},
      {"http://:80/", "missing host"},
      {"http://x:/", "empty port"},
      {"http://x:0/", "port 0"},
      {"http://x:65536/", "out of range"},
      {"http://x:8o/", "not a number"},
      {"http://user:pw@x/", "credentials"},
      {"http://[::1/", "unterminated IPv6"},
      {"http://[zz]/", "invalid IPv6"},
      {"http://[::1]x/", "unexpected characters"},
      {"http://ho st/", "invalid character in the host"},
      {"http://x/a b", "percent-encoded"},
  };
  for (size_t i = 0; i < MP_ARRAY_LEN(bad); i++) {
    mp__url u;
    assert_int_equal(mp__url_parse(bad[i].in, &u), MP_ERR_INVALID);
    if (!strstr(mp_error_last(), bad[i].msg))
      fail_msg("%s: message \"%s\" lacks \"%s\"", bad[i].in, mp_error_last(), bad[i].msg);
    assert_null(u.host);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_good_urls),
      cmocka_unit_test(test_bad_urls),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
