/* The sample app's HTTP/1.1 request-head parser: pure, bounded, no allocation (fuzzed by
 * tests/fuzz/fuzz_sampleapp_http.c), and its per-path counters. */
#include <pthread.h>
#include <string.h>
#include <strings.h>

#include "sampleapp.h"

#define PATHS_MAX 1024
#define PATH_KEEP 200

static bool tchar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static bool eq_ci(mp_sa_str s, const char *lit) {
  return s.n == strlen(lit) && !strncasecmp(s.p, lit, s.n);
}

/* Whether the comma-separated list s holds token tok. */
static bool has_token(mp_sa_str s, const char *tok) {
  size_t tl = strlen(tok);
  for (size_t i = 0; i < s.n;) {
    while (i < s.n && (s.p[i] == ' ' || s.p[i] == ',' || s.p[i] == '\t')) i++;
    size_t j = i;
    while (j < s.n && s.p[j] != ',') j++;
    size_t e = j;
    while (e > i && (s.p[e - 1] == ' ' || s.p[e - 1] == '\t')) e--;
    if (e - i == tl && !strncasecmp(s.p + i, tok, tl)) return true;
    i = j + 1;
  }
  return false;
}

long mp_sa_parse(const char *buf, size_t len, mp_sa_req *req) {
  memset(req, 0, sizeof *req);
  req->content_length = -1;
  size_t lim = len < MP_SA_HEAD_MAX ? len : MP_SA_HEAD_MAX;
  const char *end = NULL;
  for (size_t i = 0; i + 3 < lim && !end; i++)
    if (buf[i] == '\r' && buf[i + 1] == '\n' && buf[i + 2] == '\r' && buf[i + 3] == '\n')
      end = buf + i;
  if (!end) return len >= MP_SA_HEAD_MAX ? -1 : 0;
  /* Request line: METHOD SP target SP HTTP/1.x CRLF */
  const char *p = buf, *eol = memchr(buf, '\r', (size_t)(end - buf) + 1);
  if (eol[1] != '\n') return -1;
  const char *sp1 = memchr(p, ' ', (size_t)(eol - p));
  if (!sp1 || sp1 == p) return -1;
  for (const char *q = p; q < sp1; q++)
    if (!tchar(*q)) return -1;
  req->method = (mp_sa_str){p, (size_t)(sp1 - p)};
  const char *t = sp1 + 1, *sp2 = memchr(t, ' ', (size_t)(eol - t));
  if (!sp2 || sp2 == t || *t != '/') return -1;
  for (const char *q = t; q < sp2; q++)
    if ((unsigned char)*q <= 0x20 || (unsigned char)*q >= 0x7f) return -1;
  const char *qm = memchr(t, '?', (size_t)(sp2 - t));
  req->path = (mp_sa_str){t, (size_t)((qm ? qm : sp2) - t)};
  if (qm) req->query = (mp_sa_str){qm + 1, (size_t)(sp2 - qm - 1)};
  req->version = (mp_sa_str){sp2 + 1, (size_t)(eol - sp2 - 1)};
  if (req->version.n != 8 || strncmp(req->version.p, "HTTP/1.", 7) ||
      (req->version.p[7] != '0' && req->version.p[7] != '1'))
    return -1;
  bool http11 = req->version.p[7] == '1';
  req->keep_alive = http11;
  /* Header fields. */
  for (p = eol + 2; p < end;) {
    const char *le = memchr(p, '\r', (size_t)(end - p) + 1);
    if (!le || le[1] != '\n') return -1;
    const char *colon = memchr(p, ':', (size_t)(le - p));
    if (!colon || colon == p) return -1;
    for (const char *q = p; q < colon; q++)
      if (!tchar(*q)) return -1;
    const char *v = colon + 1, *ve = le;
    while (v < ve && (*v == ' ' || *v == '\t')) v++;
    while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t')) ve--;
    for (const char *q = v; q < ve; q++)
      if ((unsigned char)*q < 0x20 && *q != '\t') return -1;
    if (req->n_headers == MP_SA_HEADERS_MAX) return -1;
    mp_sa_str name = {p, (size_t)(colon - p)}, value = {v, (size_t)(ve - v)};
    req->names[req->n_headers] = name;
    req->values[req->n_headers++] = value;
    if (eq_ci(name, "content-length")) {
      if (req->content_length >= 0 || !value.n || value.n > 15) return -1;
      int64_t n = 0;
      for (size_t i = 0; i < value.n; i++) {
        if (value.p[i] < '0' || value.p[i] > '9') return -1;
        n = n * 10 + (value.p[i] - '0');
      }
      req->content_length = n;
    } else if (eq_ci(name, "transfer-encoding")) {
      req->chunked = true; /* any transfer coding: the app answers 501 */
    } else if (eq_ci(name, "connection")) {
      if (has_token(value, "close"))
        req->keep_alive = false;
      else if (!http11 && has_token(value, "keep-alive"))
        req->keep_alive = true;
    }
    p = le + 2;
  }
  if (req->chunked && req->content_length >= 0) return -1; /* smuggling shape: refuse */
  return (long)(end - buf) + 4;
}

const mp_sa_str *mp_sa_header(const mp_sa_req *req, const char *name) {
  for (size_t i = 0; i < req->n_headers; i++)
    if (eq_ci(req->names[i], name)) return &req->values[i];
  return NULL;
}

bool mp_sa_query(const mp_sa_req *req, const char *name, char *out, size_t n) {
  size_t nl = strlen(name);
  const char *q = req->query.p, *e = q ? q + req->query.n : NULL;
  while (q && q < e) {
    const char *amp = memchr(q, '&', (size_t)(e - q));
    const char *pe = amp ? amp : e;
    if ((size_t)(pe - q) > nl && !strncmp(q, name, nl) && q[nl] == '=') {
      size_t vl = (size_t)(pe - q) - nl - 1;
      if (vl + 1 > n) return false;
      memcpy(out, q + nl + 1, vl);
      out[vl] = '\0';
      return true;
    }
    q = amp ? amp + 1 : NULL;
  }
  return false;
}

/* ---- counters ---------------------------------------------------------------------------- */

typedef struct entry {
  char *path;
  uint64_t received, answered;
} entry;

struct mp_sa_counters {
  pthread_mutex_t mu;
  entry *e;
  size_t n;
  uint64_t received, answered;
};

mp_sa_counters *mp_sa_counters_new(void) {
  mp_sa_counters *c = mp_calloc(1, sizeof *c);
  pthread_mutex_init(&c->mu, NULL);
  c->e = mp_calloc(PATHS_MAX + 1, sizeof *c->e);
  return c;
}

void mp_sa_counters_reset(mp_sa_counters *c) {
  pthread_mutex_lock(&c->mu);
  for (size_t i = 0; i < c->n; i++) mp_free(c->e[i].path);
  c->n = 0;
  c->received = c->answered = 0;
  pthread_mutex_unlock(&c->mu);
}

void mp_sa_counters_free(mp_sa_counters *c) {
  if (!c) return;
  mp_sa_counters_reset(c);
  mp_free(c->e);
  pthread_mutex_destroy(&c->mu);
  mp_free(c);
}

void mp_sa_count(mp_sa_counters *c, const char *path, size_t n, bool answered) {
  if (n > PATH_KEEP) {
    path = "(long path)";
    n = strlen(path);
  }
  pthread_mutex_lock(&c->mu);
  entry *hit = NULL;
  for (size_t i = 0; i < c->n && !hit; i++)
    if (strlen(c->e[i].path) == n && !memcmp(c->e[i].path, path, n)) hit = &c->e[i];
  if (!hit) {
    if (c->n == PATHS_MAX) { /* the last slot collects every further path */
      hit = &c->e[PATHS_MAX - 1];
      if (strcmp(hit->path, "(other)")) {
        mp_free(hit->path);
        hit->path = mp_strdup("(other)");
      }
    } else {
      hit = &c->e[c->n++];
      hit->path = mp_strndup(path, n);
      hit->received = hit->answered = 0;
    }
  }
  if (answered) {
    hit->answered++;
    c->answered++;
  } else {
    hit->received++;
    c->received++;
  }
  pthread_mutex_unlock(&c->mu);
}

static void json_str(mp_buf *out, const char *s) {
  mp_buf_puts(out, "\"");
  for (; *s; s++) {
    unsigned char ch = (unsigned char)*s;
    if (ch == '"' || ch == '\\')
      mp_buf_printf(out, "\\%c", ch);
    else if (ch < 0x20 || ch >= 0x7f)
      mp_buf_printf(out, "\\u%04x", ch);
    else
      mp_buf_append(out, s, 1);
  }
  mp_buf_puts(out, "\"");
}

void mp_sa_counters_json(mp_sa_counters *c, const char *name, mp_buf *out) {
  pthread_mutex_lock(&c->mu);
  mp_buf_puts(out, "{\"name\":");
  json_str(out, name);
  for (int pass = 0; pass < 2; pass++) {
    mp_buf_puts(out, pass ? ",\"answered\":{" : ",\"received\":{");
    for (size_t i = 0; i < c->n; i++) {
      if (i) mp_buf_puts(out, ",");
      json_str(out, c->e[i].path);
      mp_buf_printf(out, ":%llu", (unsigned long long)(pass ? c->e[i].answered : c->e[i].received));
    }
    mp_buf_puts(out, "}");
  }
  mp_buf_printf(out, ",\"total_received\":%llu,\"total_answered\":%llu}\n",
                (unsigned long long)c->received, (unsigned long long)c->answered);
  pthread_mutex_unlock(&c->mu);
}

void mp_sa_counters_prometheus(mp_sa_counters *c, const char *name, mp_buf *out) {
  pthread_mutex_lock(&c->mu);
  const char *metric[] = {"sampleapp_requests_received_total", "sampleapp_requests_answered_total"};
  for (int pass = 0; pass < 2; pass++) {
    mp_buf_printf(out, "# TYPE %s counter\n", metric[pass]);
    for (size_t i = 0; i < c->n; i++) {
      mp_buf_printf(out, "%s{app=", metric[pass]);
      json_str(out, name);
      mp_buf_puts(out, ",path=");
      json_str(out, c->e[i].path);
      mp_buf_printf(out, "} %llu\n",
                    (unsigned long long)(pass ? c->e[i].answered : c->e[i].received));
    }
  }
  pthread_mutex_unlock(&c->mu);
}
