/* meshplane-sampleapp internals shared with its tests and fuzz target: the HTTP/1.1
 * request-head parser and the per-path counters. */
#ifndef MP_SAMPLEAPP_H
#define MP_SAMPLEAPP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "meshplane/base.h"

#define MP_SA_HEADERS_MAX 64
#define MP_SA_HEAD_MAX (32 * 1024)

typedef struct mp_sa_str {
  const char *p; /* into the parsed buffer, not NUL-terminated */
  size_t n;
} mp_sa_str;

typedef struct mp_sa_req {
  mp_sa_str method, path, query, version;
  mp_sa_str names[MP_SA_HEADERS_MAX], values[MP_SA_HEADERS_MAX];
  size_t n_headers;
  int64_t content_length; /* -1: none */
  bool chunked;
  bool keep_alive; /* HTTP/1.1 without "Connection: close", or 1.0 with keep-alive */
} mp_sa_req;

/* Parses a request head at the start of buf (len bytes). Returns the head's length (> 0)
 * when complete, 0 when more bytes are needed (and len < MP_SA_HEAD_MAX), -1 when the
 * bytes are not a valid HTTP/1.x request head (or it is too large). req borrows buf. */
long mp_sa_parse(const char *buf, size_t len, mp_sa_req *req);

/* The value of header name (case-insensitive), or NULL. */
const mp_sa_str *mp_sa_header(const mp_sa_req *req, const char *name);

/* The value of query parameter name as a NUL-terminated copy in out (size n); false when
 * absent or too long. */
bool mp_sa_query(const mp_sa_req *req, const char *name, char *out, size_t n);

/* ---- counters (thread-safe) ---- */

typedef struct mp_sa_counters mp_sa_counters;

mp_sa_counters *mp_sa_counters_new(void);
void mp_sa_counters_free(mp_sa_counters *c);
void mp_sa_count(mp_sa_counters *c, const char *path, size_t n, bool answered);
void mp_sa_counters_reset(mp_sa_counters *c);
/* Appends {"name":...,"received":{path:n},"answered":{...},"total_received":n,
 * "total_answered":n} to out. */
void mp_sa_counters_json(mp_sa_counters *c, const char *name, mp_buf *out);
/* Appends Prometheus text exposition of the counters. */
void mp_sa_counters_prometheus(mp_sa_counters *c, const char *name, mp_buf *out);

#endif
