/* key=value log lines on stderr, one write(2) per line. */
#include <stdatomic.h>
#include <stdio.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "meshplane/base.h"

static const char *log_program = "meshplane";
static atomic_int log_level = MP_LOG_INFO;
static atomic_int log_fd = 2;

static const char *const level_names[] = {"debug", "info", "warn", "error", "off"};

void mp_log_init(const char *program) { log_program = program; }
void mp_log_set_level(mp_log_level lvl) { atomic_store(&log_level, (int)lvl); }
mp_log_level mp_log_get_level(void) { return (mp_log_level)atomic_load(&log_level); }
void mp_log_set_fd(int fd) { atomic_store(&log_fd, fd); }

mp_status mp_log_level_parse(const char *s, mp_log_level *out) {
  for (int i = 0; i <= MP_LOG_OFF; i++) {
    if (strcasecmp(s, level_names[i]) == 0) {
      *out = (mp_log_level)i;
      return MP_OK;
    }
  }
  if (strcasecmp(s, "warning") == 0) {
    *out = MP_LOG_WARN;
    return MP_OK;
  }
  return mp_error_set(MP_ERR_INVALID,
                      "unknown log level \"%s\": use debug, info, warn, error or off", s);
}

/* Appends s as a log value, quoted and escaped when it holds spaces, quotes, '=' or
 * control characters. */
static void put_value(mp_buf *b, const char *s) {
  bool quote = *s == '\0';
  for (const char *p = s; *p && !quote; p++)
    quote = *p == ' ' || *p == '"' || *p == '=' || (unsigned char)*p < 0x20;
  if (!quote) {
    mp_buf_puts(b, s);
    return;
  }
  mp_buf_append(b, "\"", 1);
  for (const char *p = s; *p; p++) {
    unsigned char c = (unsigned char)*p;
    if (c == '"' || c == '\\') {
      char esc[2] = {'\\', (char)c};
      mp_buf_append(b, esc, 2);
    } else if (c == '\n') {
      mp_buf_append(b, "\\n", 2);
    } else if (c < 0x20) {
      mp_buf_printf(b, "\\x%02x", c);
    } else {
      mp_buf_append(b, p, 1);
    }
  }
  mp_buf_append(b, "\"", 1);
}

void mp_log_write(mp_log_level lvl, const char *msg, const char *kv_fmt, ...) {
  if (lvl < mp_log_get_level() || lvl >= MP_LOG_OFF) return;
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  struct tm tm;
  gmtime_r(&ts.tv_sec, &tm);
  char stamp[96];
  snprintf(stamp, sizeof stamp, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900,
           tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
           (long)(ts.tv_nsec / 1000000) % 1000);

  mp_buf line = {0};
  mp_buf_printf(&line, "ts=%s level=%s prog=%s msg=", stamp, level_names[lvl], log_program);
  put_value(&line, msg);
  if (kv_fmt && *kv_fmt) {
    mp_buf_append(&line, " ", 1);
    va_list ap;
    va_start(ap, kv_fmt);
    char *kv = mp_vasprintf(kv_fmt, ap);
    va_end(ap);
    mp_buf_puts(&line, kv);
    mp_free(kv);
  }
  mp_buf_append(&line, "\n", 1);
  (void)!write(atomic_load(&log_fd), line.data, line.len);
  mp_buf_free(&line);
}
