/* HTTP/1.1 for the load generator: an incremental response parser and a request builder.
 *
 * Pure code: no sockets, no clocks, no threads. The parser is fed whatever bytes the
 * network delivered, in pieces of any size, and hands back one event at a time; the same
 * response split at any byte boundary yields the same events (tests/loadgen checks every
 * split, tests/fuzz/fuzz_http1_response.c fuzzes it).
 *
 * Typical use, one response per request on a keep-alive connection:
 *
 *   mp_h1_parser_reset(&p, is_head_request);
 *   for (;;) {
 *     size_t n = mp_h1_parse(&p, data, len, &ev);
 *     data += n, len -= n;
 *     if (ev.type == MP_H1_EV_NONE) break;          // all input consumed, need more
 *     if (ev.type == MP_H1_EV_DONE) ...             // p.status, p.keep_alive, sizes
 *     if (ev.type == MP_H1_EV_ERROR) ...            // ev.error says why
 *   }
 */
#ifndef MESHPLANE_HTTP1_H
#define MESHPLANE_HTTP1_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "meshplane/base.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Limits that turn a hostile or broken peer into a clean error instead of unbounded
 * memory: one header line (or status line, chunk-size line) and the whole header section. */
#define MP_H1_MAX_LINE 16384
#define MP_H1_MAX_HEADER_BYTES (1024 * 1024)
#define MP_H1_MEMO 512 /* largest header section quiet mode remembers */

typedef enum mp_h1_ev {
  MP_H1_EV_NONE = 0,     /* every input byte consumed; feed more */
  MP_H1_EV_STATUS,       /* status line parsed: ev.status, ev.interim for 1xx */
  MP_H1_EV_HEADER,       /* one header field: ev.name/ev.value */
  MP_H1_EV_HEADERS_DONE, /* end of the header section; parser fields describe framing */
  MP_H1_EV_BODY,         /* a piece of the body, chunked framing removed: ev.data/ev.len */
  MP_H1_EV_TRAILER,      /* one trailer field after a chunked body: ev.name/ev.value */
  MP_H1_EV_DONE,         /* the response is complete (interim 1xx responses never end here) */
  MP_H1_EV_ERROR,        /* malformed response: ev.error; the parser stays in error */
} mp_h1_ev;

/* One event. Pointers are borrowed: they point into the input passed to mp_h1_parse or
 * into the parser's own line buffer, and are valid until the next call. */
typedef struct mp_h1_event {
  mp_h1_ev type;
  int status;       /* STATUS, HEADERS_DONE, DONE */
  bool interim;     /* STATUS/HEADERS_DONE of a 1xx interim response */
  const char *name; /* HEADER, TRAILER */
  size_t name_len;
  const char *value;
  size_t value_len;
  const char *data; /* BODY */
  size_t len;
  const char *error; /* ERROR: a static, human-readable reason */
} mp_h1_event;

/* Parser state. The fields above the line are public and read-only for callers. */
typedef struct mp_h1_parser {
  int status;            /* final (or current interim) status code, 0 before the status line */
  int minor;             /* HTTP/1.<minor> */
  bool keep_alive;       /* after HEADERS_DONE: the connection may carry the next request */
  bool chunked;          /* after HEADERS_DONE: body uses chunked transfer coding */
  bool until_close;      /* after HEADERS_DONE: body ends when the peer closes */
  uint64_t header_bytes; /* wire bytes of status lines, header sections (1xx included)
                            and chunked trailers */
  uint64_t body_bytes;   /* decoded body bytes delivered so far */
  uint64_t wire_bytes;   /* every byte consumed for this response */
  /* ---- private ---- */
  uint8_t state;
  uint8_t flags;
  bool head;              /* the request was HEAD: no body whatever the headers say */
  uint64_t remaining;     /* Content-Length or chunk bytes still to come */
  int64_t content_length; /* -1 when absent */
  char *line;             /* partial line carried across calls (owned) */
  size_t line_len, line_cap;
  bool line_ready;   /* line holds a complete line that was handed out */
  const char *error; /* static reason once in error */
  bool quiet;        /* report only DONE and ERROR */
  /* Quiet mode's memo of the last header section taken whole (servers repeat theirs byte
   * for byte, bar a Date that changes once a second) and what it said. */
  char *memo; /* MP_H1_MEMO bytes (owned), memo_len of them valid */
  size_t memo_len;
  int memo_status, memo_minor;
  uint8_t memo_flags;
  int64_t memo_content_length;
} mp_h1_parser;

/* Initializes a parser for a response to a non-HEAD request. */
void mp_h1_parser_init(mp_h1_parser *p);
/* Releases the parser's line buffer; the struct itself is the caller's. NULL is fine. */
void mp_h1_parser_free(mp_h1_parser *p);
/* Prepares for the next response on the connection. head: the request was HEAD, so the
 * response has no body whatever its headers say. Keeps the line buffer's memory. */
void mp_h1_parser_reset(mp_h1_parser *p, bool head);

/* Quiet mode, for callers that only need the outcome (the load generator): mp_h1_parse
 * reports only DONE, ERROR and NONE; fields are still interpreted and the public fields
 * (status, keep_alive, sizes) still filled. Survives mp_h1_parser_reset(). */
void mp_h1_parser_quiet(mp_h1_parser *p, bool quiet);

/* Parses from data[0..len) until one event is ready; returns how many bytes it consumed.
 * MP_H1_EV_NONE means all len bytes were consumed without completing an event. Events
 * that need no input (HEADERS_DONE followed by DONE for a bodiless response) are returned
 * by successive calls, also with len == 0. After DONE, more input is an error until
 * mp_h1_parser_reset(); after ERROR every call returns ERROR again. */
size_t mp_h1_parse(mp_h1_parser *p, const char *data, size_t len, mp_h1_event *ev);

/* The peer closed the connection. DONE when the body was delimited by the close,
 * NONE when no byte of this response had arrived (the caller decides whether that is an
 * error), ERROR when the response was cut short. */
void mp_h1_parse_eof(mp_h1_parser *p, mp_h1_event *ev);

/* True when the parser has consumed no byte of the current response. */
bool mp_h1_parser_idle(const mp_h1_parser *p);

/* ---- requests ---------------------------------------------------------------------- */

/* The parts of one request. Strings are borrowed for the duration of the call. */
typedef struct mp_h1_request {
  const char *method;         /* "GET"; NULL means GET, or POST when there is a body */
  const char *host;           /* Host header value, e.g. "example.com:8080" */
  const char *target;         /* request target, e.g. "/path?q=1" */
  const char *const *headers; /* "Name: value" lines; may override Host and User-Agent */
  size_t n_headers;
  const char *cookies;      /* "a=1; b=2", or NULL */
  const char *content_type; /* or NULL */
  const uint8_t *body;      /* may be NULL */
  size_t body_len;
  const char *user_agent; /* default User-Agent, or NULL for none */
} mp_h1_request;

/* Serializes the request into *out (a NUL-terminated buffer the caller frees with
 * mp_free) and its length into *len. MP_ERR_INVALID with a message when the method or a
 * header line is malformed or a field holds CR, LF or NUL. */
mp_status mp_h1_request_build(const mp_h1_request *req, char **out, size_t *len);

#ifdef __cplusplus
}
#endif
#endif
