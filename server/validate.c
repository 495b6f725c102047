/* Profile validation: every message says what is wrong and what to do instead. */
#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "server.h"

/* Load generators a profile may name. Meshery's names are accepted for profiles moved
 * from Meshery; meshplane's own engine serves all of them. */
static const char *const load_generators[] = {"meshplane", "fortio", "wrk2", "nighthawk"};

static bool is_tchar(int c) { return isalnum(c) || (c && strchr("!#$%&'*+-.^_`|~", c)); }

static bool has_ctl(const char *s) {
  for (; *s; s++)
    if ((unsigned char)*s < 0x20 && *s != '\t') return true;
  return false;
}

/* Checks scheme://host[:port][/...] for the schemes a profile may use. */
static mp_status check_url(const char *u, size_t index) {
  static const char *const schemes[] = {"http://", "https://", "grpc://", "grpcs://"};
  const char *rest = NULL;
  for (size_t i = 0; i < MP_ARRAY_LEN(schemes) && !rest; i++)
    if (!strncasecmp(u, schemes[i], strlen(schemes[i]))) rest = u + strlen(schemes[i]);
  if (!rest)
    return mp_error_set(MP_ERR_INVALID,
                        "endpoints[%zu] \"%s\" is not a URL meshplane can load: use http://, "
                        "https://, grpc:// or grpcs://host[:port][/path]",
                        index, u);
  size_t hostlen = strcspn(rest, "/?#");
  const char *host = rest, *colon = NULL;
  if (*host == '[') {
    const char *close = memchr(host, ']', hostlen);
    if (!close)
      return mp_error_set(MP_ERR_INVALID, "endpoints[%zu] \"%s\": unclosed '[' in the host", index,
                          u);
    colon = close[1] == ':' ? close + 1 : NULL;
  } else {
    colon = memchr(host, ':', hostlen);
  }
  size_t namelen = colon ? (size_t)(colon - host) : hostlen;
  if (namelen == 0)
    return mp_error_set(MP_ERR_INVALID, "endpoints[%zu] \"%s\" has no host", index, u);
  if (has_ctl(u) || strchr(u, ' '))
    return mp_error_set(MP_ERR_INVALID,
                        "endpoints[%zu] \"%s\" contains spaces or control characters: "
                        "percent-encode them",
                        index, u);
  if (colon) {
    char *end;
    long port = strtol(colon + 1, &end, 10);
    if (end == colon + 1 || end != host + hostlen || port < 1 || port > 65535)
      return mp_error_set(MP_ERR_INVALID, "endpoints[%zu] \"%s\": the port must be 1..65535", index,
                          u);
  }
  return MP_OK;
}

static mp_status check_header(const char *h, size_t index) {
  const char *colon = strchr(h, ':');
  if (!colon || colon == h)
    return mp_error_set(MP_ERR_INVALID,
                        "request_headers[%zu] \"%s\" is not a header: write \"Name: value\"", index,
                        h);
  for (const char *p = h; p < colon; p++)
    if (!is_tchar((unsigned char)*p))
      return mp_error_set(MP_ERR_INVALID,
                          "request_headers[%zu] \"%s\": the name may not contain '%c' (letters, "
                          "digits and !#$%%&'*+-.^_`|~ only)",
                          index, h, *p);
  if (has_ctl(colon + 1))
    return mp_error_set(MP_ERR_INVALID,
                        "request_headers[%zu]: the value of \"%.*s\" contains a line break or "
                        "control character",
                        index, (int)(colon - h), h);
  return MP_OK;
}

static mp_status check_duration(const char *field, const char *v, bool required, int64_t *ns) {
  *ns = 0;
  if (!v || !*v) {
    if (!required) return MP_OK;
    return mp_error_set(MP_ERR_INVALID, "%s is required: give a duration like 30s or 1m", field);
  }
  if (mp_duration_parse(v, ns) != MP_OK)
    return mp_error_set(MP_ERR_INVALID, "%s: %s", field, mp_error_last());
  if (*ns < 0 || (required && *ns == 0))
    return mp_error_set(MP_ERR_INVALID, "%s must be greater than zero (got \"%s\")", field, v);
  return MP_OK;
}

static mp_status check_options(const Meshplane__V1__LoadOptions *o) {
  if (!o) return MP_OK;
  int64_t ns;
  mp_status st;
  if ((st = check_duration("options.warmup", o->warmup, false, &ns)) != MP_OK) return st;
  if ((st = check_duration("options.rampup", o->rampup, false, &ns)) != MP_OK) return st;
  if ((st = check_duration("options.timeout", o->timeout, false, &ns)) != MP_OK) return st;
  if (o->threads > 256)
    return mp_error_set(MP_ERR_INVALID, "options.threads is %u: use at most 256", o->threads);
  if (o->streams_per_connection > 10000)
    return mp_error_set(MP_ERR_INVALID, "options.streams_per_connection is %u: use at most 10000",
                        o->streams_per_connection);
  if (o->significant_figures > 5)
    return mp_error_set(MP_ERR_INVALID,
                        "options.significant_figures is %u: use 1 to 5 (0 means the default, 3)",
                        o->significant_figures);
  if (o->grpc_method && *o->grpc_method) {
    const char *m = o->grpc_method;
    const char *slash = m[0] == '/' ? strchr(m + 1, '/') : NULL;
    if (!slash || slash == m + 1 || !slash[1] || strchr(slash + 1, '/'))
      return mp_error_set(MP_ERR_INVALID,
                          "options.grpc_method \"%s\" is not a method path: write "
                          "/package.Service/Method",
                          m);
  }
  return MP_OK;
}

mp_status mp_profile_validate(Meshplane__V1__PerformanceProfile *p) {
  if (!p->name || !*p->name)
    return mp_error_set(MP_ERR_INVALID, "name is required: give the profile a name");
  if (strlen(p->name) > 200 || has_ctl(p->name))
    return mp_error_set(MP_ERR_INVALID,
                        "name must be at most 200 characters without control characters");
  if (p->n_endpoints == 0)
    return mp_error_set(MP_ERR_INVALID, "endpoints is empty: give at least one URL to load, e.g. "
                                        "http://service:8080/");
  for (size_t i = 0; i < p->n_endpoints; i++) {
    mp_status st = check_url(p->endpoints[i], i);
    if (st != MP_OK) return st;
  }
  if (!isfinite(p->qps) || p->qps < 0)
    return mp_error_set(MP_ERR_INVALID,
                        "qps must be >= 0 (requests per second for the whole run; 0 means as "
                        "fast as possible)");
  if (p->concurrent_request < 1)
    return mp_error_set(MP_ERR_INVALID, "concurrent_request is %d: use at least 1 connection",
                        p->concurrent_request);
  if (p->concurrent_request > 100000)
    return mp_error_set(MP_ERR_INVALID, "concurrent_request is %d: use at most 100000",
                        p->concurrent_request);
  int64_t ns;
  mp_status st = check_duration("duration", p->duration, true, &ns);
  if (st != MP_OK) return st;
  for (size_t i = 0; i < p->n_load_generators; i++) {
    bool known = false;
    for (size_t k = 0; k < MP_ARRAY_LEN(load_generators); k++)
      known = known || !strcasecmp(p->load_generators[i], load_generators[k]);
    if (!known)
      return mp_error_set(MP_ERR_INVALID,
                          "unknown load generator \"%s\": use meshplane (fortio, wrk2 and "
                          "nighthawk are accepted as aliases)",
                          p->load_generators[i]);
  }
  for (size_t i = 0; i < p->n_request_headers; i++)
    if ((st = check_header(p->request_headers[i], i)) != MP_OK) return st;
  if (p->method && *p->method) {
    for (const char *c = p->method; *c; c++)
      if (!is_tchar((unsigned char)*c))
        return mp_error_set(MP_ERR_INVALID,
                            "method \"%s\" is not an HTTP method name (e.g. GET, POST)", p->method);
  }
  if (has_ctl(p->request_cookies ? p->request_cookies : "") ||
      has_ctl(p->content_type ? p->content_type : ""))
    return mp_error_set(MP_ERR_INVALID,
                        "request_cookies and content_type may not contain line breaks");
  return check_options(p->options);
}
