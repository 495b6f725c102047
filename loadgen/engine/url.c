/* Absolute URLs of load targets: scheme://host[:port][/path][?query] with scheme http,
 * https, grpc (gRPC over h2c) or grpcs (gRPC over TLS), IPv6 literals in brackets. Only what a load
 * generator needs; the errors say what to fix. */
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "internal.h"

void mp__url_free(mp__url *u) {
  if (!u) return;
  mp_free(u->scheme);
  mp_free(u->host);
  mp_free(u->target);
  mp_free(u->host_header);
  memset(u, 0, sizeof *u);
}

static bool host_char(unsigned char c) {
  return isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~' || c == '%';
}

static mp_status bad(const char *url, const char *why) {
  return mp_error_set(MP_ERR_INVALID, "invalid URL \"%s\": %s", url, why);
}

mp_status mp__url_parse(const char *s, mp__url *u) {
  memset(u, 0, sizeof *u);
  const char *sep = strstr(s, "://");
  if (!sep || sep == s) return bad(s, "expected an absolute URL like http://host:port/path");
  for (const char *p = s; p < sep; p++)
    if (!isalnum((unsigned char)*p) && *p != '+' && *p != '-' && *p != '.')
      return bad(s, "invalid scheme");
  size_t slen = (size_t)(sep - s);
  uint16_t default_port;
  if (slen == 4 && !strncasecmp(s, "http", 4)) {
    default_port = 80;
  } else if (slen == 5 && !strncasecmp(s, "https", 5)) {
    default_port = 443;
  } else if (slen == 4 && !strncasecmp(s, "grpc", 4)) {
    default_port = 80;
  } else if (slen == 5 && !strncasecmp(s, "grpcs", 5)) {
    default_port = 443;
  } else {
    return mp_error_set(MP_ERR_INVALID,
                        "URL \"%s\": unsupported scheme \"%.*s\" (use http://, https://, "
                        "grpc:// or grpcs://)",
                        s, (int)slen, s);
  }

  const char *h = sep + 3;
  const char *auth_end = h + strcspn(h, "/?#");
  const char *at = memchr(h, '@', (size_t)(auth_end - h));
  if (at)
    return bad(s, "credentials in URLs are not supported; send them with -H "
                  "'Authorization: ...'");
  const char *host_start, *host_end, *p;
  bool v6 = false;
  if (*h == '[') {
    host_start = h + 1;
    host_end = memchr(host_start, ']', (size_t)(auth_end - host_start));
    if (!host_end) return bad(s, "unterminated IPv6 address (missing ']')");
    for (const char *q = host_start; q < host_end; q++)
      if (!isxdigit((unsigned char)*q) && *q != ':' && *q != '.')
        return bad(s, "invalid IPv6 address");
    p = host_end + 1;
    v6 = true;
  } else {
    host_start = h;
    host_end = h;
    while (host_end < auth_end && *host_end != ':') host_end++;
    for (const char *q = host_start; q < host_end; q++)
      if (!host_char((unsigned char)*q)) return bad(s, "invalid character in the host");
    p = host_end;
  }
  if (host_end == host_start) return bad(s, "missing host");
  uint16_t port = default_port;
  if (p < auth_end) {
    if (*p != ':') return bad(s, "unexpected characters after the host");
    p++;
    if (p == auth_end) return bad(s, "empty port");
    unsigned long n = 0;
    for (; p < auth_end; p++) {
      if (*p < '0' || *p > '9') return bad(s, "the port is not a number");
      n = n * 10 + (unsigned long)(*p - '0');
      if (n > 65535) return bad(s, "the port is out of range (1..65535)");
    }
    if (n == 0) return bad(s, "port 0 is not a valid target");
    port = (uint16_t)n;
  }
  const char *tend = auth_end + strcspn(auth_end, "#");
  for (const char *q = auth_end; q < tend; q++)
    if ((unsigned char)*q <= ' ' || *q == 0x7f)
      return bad(s, "spaces and control characters must be percent-encoded");

  u->scheme = mp_strndup(s, slen);
  for (char *c = u->scheme; *c; c++) *c = (char)tolower((unsigned char)*c);
  u->host = mp_strndup(host_start, (size_t)(host_end - host_start));
  u->port = port;
  if (auth_end == tend)
    u->target = mp_strdup("/");
  else if (*auth_end == '?')
    u->target = mp_asprintf("/%.*s", (int)(tend - auth_end), auth_end);
  else
    u->target = mp_strndup(auth_end, (size_t)(tend - auth_end));
  if (port == default_port)
    u->host_header = mp_asprintf(v6 ? "[%s]" : "%s", u->host);
  else
    u->host_header = mp_asprintf(v6 ? "[%s]:%u" : "%s:%u", u->host, (unsigned)port);
  return MP_OK;
}

mp_status mp_loadgen_check_url(const char *url) {
  mp__url u;
  mp_status st = mp__url_parse(url, &u);
  mp__url_free(&u);
  return st;
}
