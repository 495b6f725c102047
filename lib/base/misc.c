/* Time and uuids. */
#include <errno.h>
#include <string.h>
#include <time.h>
#include <uuid/uuid.h>

#include "meshplane/base.h"

int64_t mp_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t mp_mono_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * MP_NS_PER_S + ts.tv_nsec;
}

void mp_sleep_ms(int64_t ms) {
  if (ms <= 0) return;
  struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

void mp_cond_init_mono(pthread_cond_t *cv) {
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(cv, &ca);
  pthread_condattr_destroy(&ca);
}

int mp_cond_wait_until(pthread_cond_t *cv, pthread_mutex_t *mu, int64_t deadline_ns) {
  if (deadline_ns < 0) deadline_ns = 0;
  struct timespec ts = {.tv_sec = (time_t)(deadline_ns / MP_NS_PER_S),
                        .tv_nsec = (long)(deadline_ns % MP_NS_PER_S)};
  return pthread_cond_timedwait(cv, mu, &ts);
}

void mp_uuid_new(char out[MP_UUID_STRLEN]) {
  uuid_t u;
  uuid_generate_random(u);
  uuid_unparse_lower(u, out);
}

bool mp_uuid_valid(const char *s) {
  uuid_t u;
  return s && strlen(s) == 36 && uuid_parse(s, u) == 0;
}

const char *mp_grpc_code_name(int code) {
  static const char *const names[] = {
      "OK",
      "CANCELLED",
      "UNKNOWN",
      "INVALID_ARGUMENT",
      "DEADLINE_EXCEEDED",
      "NOT_FOUND",
      "ALREADY_EXISTS",
      "PERMISSION_DENIED",
      "RESOURCE_EXHAUSTED",
      "FAILED_PRECONDITION",
      "ABORTED",
      "OUT_OF_RANGE",
      "UNIMPLEMENTED",
      "INTERNAL",
      "UNAVAILABLE",
      "DATA_LOSS",
      "UNAUTHENTICATED",
  };
  return code >= 0 && code < (int)MP_ARRAY_LEN(names) ? names[code] : NULL;
}
