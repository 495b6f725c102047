/* meshplane base runtime: logging, allocation, errors, durations, uuids, time, flags.
 *
 * Every process and library of meshplane links this. Conventions used everywhere:
 *  - functions that can fail return an mp_status (MP_OK == 0) and record a human
 *    message with mp_error_set(); mp_error_last() reads it on the same thread;
 *  - allocation goes through mp_malloc() and friends, which abort on out-of-memory,
 *    so callers never check for NULL;
 *  - ownership is stated in each comment: "borrowed" (caller keeps it), "copied",
 *    or "taken" (callee frees it). Destroy functions accept NULL.
 */
#ifndef MESHPLANE_BASE_H
#define MESHPLANE_BASE_H

#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MP_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#define MP_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* ---- status and errors ------------------------------------------------------ */

typedef enum mp_status {
  MP_OK = 0,
  MP_ERR_INVALID, /* bad input: the message says what to fix */
  MP_ERR_NOT_FOUND,
  MP_ERR_EXISTS,
  MP_ERR_IO,          /* a system call failed; the message names it and errno */
  MP_ERR_UNAVAILABLE, /* a peer or dependency could not be reached */
  MP_ERR_TIMEOUT,
  MP_ERR_CANCELLED,
  MP_ERR_INTERNAL,
} mp_status;

/* Records a formatted error message for the calling thread and returns `st`, so a
 * failing function can `return mp_error_set(MP_ERR_INVALID, "...")`. */
mp_status mp_error_set(mp_status st, const char *fmt, ...) MP_PRINTF(2, 3);
/* The last message recorded on this thread (borrowed; valid until the next set). */
const char *mp_error_last(void);
/* A short name for a status ("invalid argument", ...). Static string. */
const char *mp_status_str(mp_status st);

/* ---- allocation (aborts on out-of-memory) ------------------------------------ */

void *mp_malloc(size_t n);
void *mp_calloc(size_t count, size_t size);
void *mp_realloc(void *p, size_t n);
/* Copies of strings; NULL in gives NULL out. The result is the caller's to free. */
char *mp_strdup(const char *s);
char *mp_strndup(const char *s, size_t n);
/* A newly allocated formatted string, the caller's to free. */
char *mp_asprintf(const char *fmt, ...) MP_PRINTF(1, 2);
char *mp_vasprintf(const char *fmt, va_list ap) MP_PRINTF(1, 0);
void mp_free(void *p);

/* A growable byte buffer; always NUL-terminated after its length. */
typedef struct mp_buf {
  char *data;
  size_t len;
  size_t cap;
} mp_buf;

void mp_buf_reserve(mp_buf *b, size_t extra);
void mp_buf_append(mp_buf *b, const void *data, size_t n);
void mp_buf_puts(mp_buf *b, const char *s);
void mp_buf_printf(mp_buf *b, const char *fmt, ...) MP_PRINTF(2, 3);
void mp_buf_reset(mp_buf *b);
/* Returns the data (the caller's to free) and leaves the buffer empty. */
char *mp_buf_steal(mp_buf *b);
void mp_buf_free(mp_buf *b);

/* ---- logging: key=value lines on stderr --------------------------------------- */

typedef enum mp_log_level {
  MP_LOG_DEBUG = 0,
  MP_LOG_INFO,
  MP_LOG_WARN,
  MP_LOG_ERROR,
  MP_LOG_OFF,
} mp_log_level;

/* Names the process in every line (borrowed; keep it static). */
void mp_log_init(const char *program);
void mp_log_set_level(mp_log_level lvl);
mp_log_level mp_log_get_level(void);
/* Parses "debug", "info", "warn"/"warning", "error", "off" (any case). */
mp_status mp_log_level_parse(const char *s, mp_log_level *out);
/* Redirects log lines to fd (default 2). For tests. */
void mp_log_set_fd(int fd);

/* Writes one line: `ts=… level=… prog=… msg="…" <kv>`. kv_fmt is a printf format for
 * extra key=value pairs (may be empty). One write(2) per line, so lines from threads
 * never interleave. */
void mp_log_write(mp_log_level lvl, const char *msg, const char *kv_fmt, ...) MP_PRINTF(3, 4);

#define MP_LOG(lvl, msg, ...)                                                                      \
  do {                                                                                             \
    if ((lvl) >= mp_log_get_level()) mp_log_write((lvl), (msg), "" __VA_ARGS__);                   \
  } while (0)
#define mp_debug(msg, ...) MP_LOG(MP_LOG_DEBUG, msg, __VA_ARGS__)
#define mp_info(msg, ...) MP_LOG(MP_LOG_INFO, msg, __VA_ARGS__)
#define mp_warn(msg, ...) MP_LOG(MP_LOG_WARN, msg, __VA_ARGS__)
#define mp_error(msg, ...) MP_LOG(MP_LOG_ERROR, msg, __VA_ARGS__)

/* ---- time ----------------------------------------------------------------------- */

int64_t mp_now_ms(void);  /* wall clock, Unix milliseconds */
int64_t mp_mono_ns(void); /* monotonic nanoseconds */
void mp_sleep_ms(int64_t ms);
/* A condition variable whose timed waits count on mp_mono_ns's clock, and such a wait
 * until deadline_ns (mu held): 0 when woken, ETIMEDOUT at the deadline. */
void mp_cond_init_mono(pthread_cond_t *cv);
int mp_cond_wait_until(pthread_cond_t *cv, pthread_mutex_t *mu, int64_t deadline_ns);

/* ---- durations in Go syntax ("250ms", "30s", "1h30m", "1.5h", "-2m") -------------- */

#define MP_NS_PER_US INT64_C(1000)
#define MP_NS_PER_MS INT64_C(1000000)
#define MP_NS_PER_S INT64_C(1000000000)

/* Parses a Go duration into nanoseconds. Units: ns, us (µs, μs), ms, s, m, h; a
 * bare "0" is allowed. On error returns MP_ERR_INVALID with a message naming the input
 * and what is wrong. */
mp_status mp_duration_parse(const char *s, int64_t *out_ns);
/* Formats like Go's time.Duration.String(): "1h30m0s", "250ms", "1.5s", "0s".
 * Writes at most n bytes including the NUL; returns buf. */
char *mp_duration_format(int64_t ns, char *buf, size_t n);

/* ---- uuids (libuuid) --------------------------------------------------------------- */

#define MP_UUID_STRLEN 37 /* 36 characters + NUL */
/* A random (v4) uuid in lower-case canonical form. */
void mp_uuid_new(char out[MP_UUID_STRLEN]);
bool mp_uuid_valid(const char *s);

/* ---- gRPC status codes ------------------------------------------------------------- */

/* "OK", "CANCELLED", ... "UNAUTHENTICATED": the names of gRPC's status codes 0..16, NULL
 * for any other number. Shared by lib/rpc and the load generator's gRPC framing, which
 * needs no gRPC library. */
const char *mp_grpc_code_name(int code);

/* ---- flags and environment ----------------------------------------------------------- */

typedef enum mp_flag_type {
  MP_FLAG_STRING,   /* target: char * (the value is copied; free with mp_flags_free) */
  MP_FLAG_INT,      /* target: int64_t */
  MP_FLAG_DOUBLE,   /* target: double */
  MP_FLAG_BOOL,     /* target: bool; "--x", "--x=true|false|1|0", "--no-x" */
  MP_FLAG_DURATION, /* target: int64_t nanoseconds, Go syntax */
  MP_FLAG_LIST,     /* target: mp_strlist; repeatable, and comma-separated values split */
} mp_flag_type;

typedef struct mp_strlist {
  char **items;
  size_t len;
} mp_strlist;

void mp_strlist_push(mp_strlist *l, const char *s); /* s is copied */
void mp_strlist_free(mp_strlist *l);

typedef struct mp_flag {
  const char *name; /* long name without dashes: "listen" */
  char short_name;  /* 0 for none */
  mp_flag_type type;
  void *target;    /* holds the default on entry */
  const char *env; /* environment variable consulted before argv, or NULL */
  const char *help;
  const char *metavar; /* shown in --help, e.g. "ADDR" */
} mp_flag;

typedef struct mp_program {
  const char *name;    /* "meshplane-server" */
  const char *summary; /* one line */
  const char *usage;   /* e.g. "[flags]" or "[flags] URL" */
  const char *epilog;  /* extra help text, may be NULL */
} mp_program;

/* Parses environment then argv into the flag targets. Built in for every program:
 * --help/-h (prints usage, returns 1), --version (prints it, returns 1) and
 * --log-level LEVEL (env MESHPLANE_LOG_LEVEL). Positional arguments are moved to
 * argv[0..*nargs) (argv[0] dropped). Returns 0 to continue, 1 when the program should
 * exit 0 (help/version printed), -1 after printing an error to stderr (exit 2). */
int mp_flags_parse(const mp_program *prog, const mp_flag *flags, size_t nflags, int argc,
                   char **argv, int *nargs);
/* Frees the strings and lists the parser stored in flag targets. */
void mp_flags_free(const mp_flag *flags, size_t nflags);
/* Prints the usage to f (a FILE *). */
void mp_flags_usage(const mp_program *prog, const mp_flag *flags, size_t nflags, void *f);

/* ---- small string helpers ------------------------------------------------------------ */

bool mp_str_has_prefix(const char *s, const char *prefix);
/* Copies src into dst of size n, always NUL-terminating; returns strlen(src). */
size_t mp_strlcpy(char *dst, const char *src, size_t n);

#ifdef __cplusplus
}
#endif
#endif
