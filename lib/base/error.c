/* Per-thread error detail and small string helpers. */
#include <stdio.h>
#include <string.h>

#include "meshplane/base.h"

static _Thread_local char last_error[512];

mp_status mp_error_set(mp_status st, const char *fmt, ...) {
  /* Formatted aside first: callers may pass mp_error_last() itself as an argument, to
   * add context to the message a callee recorded. */
  char msg[sizeof last_error];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  memcpy(last_error, msg, sizeof msg);
  return st;
}

const char *mp_error_last(void) { return last_error; }

const char *mp_status_str(mp_status st) {
  switch (st) {
  case MP_OK: return "ok";
  case MP_ERR_INVALID: return "invalid argument";
  case MP_ERR_NOT_FOUND: return "not found";
  case MP_ERR_EXISTS: return "already exists";
  case MP_ERR_IO: return "i/o error";
  case MP_ERR_UNAVAILABLE: return "unavailable";
  case MP_ERR_TIMEOUT: return "timed out";
  case MP_ERR_CANCELLED: return "cancelled";
  case MP_ERR_INTERNAL: return "internal error";
  }
  return "unknown status";
}

bool mp_str_has_prefix(const char *s, const char *prefix) {
  return strncmp(s, prefix, strlen(prefix)) == 0;
}

size_t mp_strlcpy(char *dst, const char *src, size_t n) {
  size_t len = strlen(src);
  if (n) {
    size_t c = len < n - 1 ? len : n - 1;
    memcpy(dst, src, c);
    dst[c] = '\0';
  }
  return len;
}
