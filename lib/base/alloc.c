/* Allocation that aborts on out-of-memory, and a growable buffer. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "meshplane/base.h"

static void oom(size_t n) {
  char msg[96];
  int len = snprintf(msg, sizeof msg, "meshplane: out of memory allocating %zu bytes\n", n);
  if (len > 0) (void)!write(2, msg, (size_t)len);
  abort();
}

void *mp_malloc(size_t n) {
  void *p = malloc(n ? n : 1);
  if (!p) oom(n);
  return p;
}

void *mp_calloc(size_t count, size_t size) {
  void *p = calloc(count ? count : 1, size ? size : 1);
  if (!p) oom(count * size);
  return p;
}

void *mp_realloc(void *p, size_t n) {
  void *q = realloc(p, n ? n : 1);
  if (!q) oom(n);
  return q;
}

char *mp_strdup(const char *s) {
  if (!s) return NULL;
  return mp_strndup(s, strlen(s));
}

char *mp_strndup(const char *s, size_t n) {
  if (!s) return NULL;
  size_t len = strnlen(s, n);
  char *d = mp_malloc(len + 1);
  memcpy(d, s, len);
  d[len] = '\0';
  return d;
}

char *mp_vasprintf(const char *fmt, va_list ap) {
  va_list ap2;
  va_copy(ap2, ap);
  int n = vsnprintf(NULL, 0, fmt, ap2);
  va_end(ap2);
  if (n < 0) n = 0;
  char *s = mp_malloc((size_t)n + 1);
  vsnprintf(s, (size_t)n + 1, fmt, ap);
  return s;
}

char *mp_asprintf(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char *s = mp_vasprintf(fmt, ap);
  va_end(ap);
  return s;
}

void mp_free(void *p) { free(p); }

void mp_buf_reserve(mp_buf *b, size_t extra) {
  size_t need = b->len + extra + 1;
  if (need <= b->cap) return;
  size_t cap = b->cap ? b->cap : 64;
  while (cap < need) cap *= 2;
  b->data = mp_realloc(b->data, cap);
  b->cap = cap;
}

void mp_buf_append(mp_buf *b, const void *data, size_t n) {
  mp_buf_reserve(b, n);
  if (n) memcpy(b->data + b->len, data, n);
  b->len += n;
  b->data[b->len] = '\0';
}

void mp_buf_puts(mp_buf *b, const char *s) { mp_buf_append(b, s, strlen(s)); }

void mp_buf_printf(mp_buf *b, const char *fmt, ...) {
  va_list ap, ap2;
  va_start(ap, fmt);
  va_copy(ap2, ap);
  int n = vsnprintf(NULL, 0, fmt, ap2);
  va_end(ap2);
  if (n > 0) {
    mp_buf_reserve(b, (size_t)n);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
  }
  va_end(ap);
}

void mp_buf_reset(mp_buf *b) {
  b->len = 0;
  if (b->data) b->data[0] = '\0';
}

char *mp_buf_steal(mp_buf *b) {
  char *d = b->data ? b->data : mp_strdup("");
  b->data = NULL;
  b->len = b->cap = 0;
  return d;
}

void mp_buf_free(mp_buf *b) {
  free(b->data);
  b->data = NULL;
  b->len = b->cap = 0;
}
