/* Incremental HTTP/1.1 response parser (RFC 9112): status line, header fields,
 * Content-Length, chunked transfer coding with trailers, bodies delimited by the close of
 * the connection, and the responses that never have a body (HEAD, 1xx, 204, 304).
 *
 * Lines are handed out without copying when they arrive whole in one piece of input; only
 * a line split across calls is gathered in the parser's own buffer. Everything else is a
 * small state machine, so the same bytes split anywhere give the same events. */
#include <string.h>

#include "meshplane/base.h"
#include "meshplane/http1.h"

enum {
  ST_STATUS = 0, /* expecting a status line */
  ST_HEADERS,    /* header field lines */
  ST_BODY_LEN,   /* Content-Length body, `remaining` bytes to go */
  ST_BODY_CLOSE, /* body delimited by the close of the connection */
  ST_CHUNK_SIZE, /* chunk-size line */
  ST_CHUNK_DATA, /* chunk data, `remaining` bytes to go */
  ST_CHUNK_CRLF, /* the CRLF after chunk data */
  ST_TRAILERS,   /* trailer field lines after the last chunk */
  ST_END,        /* complete; DONE not yet reported */
  ST_DONE,       /* complete and reported */
  ST_ERROR,
};

enum {
  F_CLOSE = 1 << 0,      /* Connection: close */
  F_KEEPALIVE = 1 << 1,  /* Connection: keep-alive */
  F_TE = 1 << 2,         /* Transfer-Encoding present */
  F_TE_CHUNKED = 1 << 3, /* ... and its final coding is chunked */
  F_CL = 1 << 4,         /* Content-Length present */
};

void mp_h1_parser_init(mp_h1_parser *p) {
  memset(p, 0, sizeof *p);
  mp_h1_parser_reset(p, false);
}

void mp_h1_parser_free(mp_h1_parser *p) {
  if (!p) return;
  mp_free(p->line);
  p->line = NULL;
  p->line_len = p->line_cap = 0;
  mp_free(p->memo);
  p->memo = NULL;
  p->memo_len = 0;
}

void mp_h1_parser_reset(mp_h1_parser *p, bool head) {
  p->status = 0;
  p->minor = 0;
  p->keep_alive = false;
  p->chunked = false;
  p->until_close = false;
  p->header_bytes = p->body_bytes = p->wire_bytes = 0;
  p->state = ST_STATUS;
  p->flags = 0;
  p->head = head;
  p->remaining = 0;
  p->content_length = -1;
  p->line_len = 0;
  p->line_ready = false;
  p->error = NULL;
}

bool mp_h1_parser_idle(const mp_h1_parser *p) {
  return p->state == ST_STATUS && p->wire_bytes == 0 && p->line_len == 0;
}

static size_t fail(mp_h1_parser *p, mp_h1_event *ev, const char *why, size_t used) {
  p->state = ST_ERROR;
  p->error = why;
  ev->type = MP_H1_EV_ERROR;
  ev->error = why;
  return used;
}

static void line_append(mp_h1_parser *p, const char *data, size_t n) {
  if (p->line_len + n > p->line_cap) {
    size_t cap = p->line_cap ? p->line_cap : 256;
    while (cap < p->line_len + n) cap *= 2;
    p->line = mp_realloc(p->line, cap);
    p->line_cap = cap;
  }
  memcpy(p->line + p->line_len, data, n);
  p->line_len += n;
}

/* Gathers one line. Returns 1 with *line and *n (without CR LF or LF) when complete, 0 when
 * every byte was buffered, -1 when the line exceeds MP_H1_MAX_LINE. *used is the number
 * of input bytes taken either way. */
static int get_line(mp_h1_parser *p, const char *data, size_t len, size_t *used, const char **line,
                    size_t *n) {
  if (p->line_ready) {
    p->line_len = 0;
    p->line_ready = false;
  }
  const char *nl = len ? memchr(data, '\n', len) : NULL;
  if (!nl) {
    *used = len;
    if (p->line_len + len > MP_H1_MAX_LINE) return -1;
    line_append(p, data, len);
    return 0;
  }
  size_t take = (size_t)(nl - data) + 1;
  *used = take;
  if (p->line_len + take - 1 > MP_H1_MAX_LINE) return -1;
  if (p->line_len == 0) {
    *line = data;
    *n = take - 1;
  } else {
    line_append(p, data, take);
    p->line_ready = true;
    *line = p->line;
    *n = p->line_len - 1;
  }
  if (*n && (*line)[*n - 1] == '\r') (*n)--;
  return 1;
}

/* RFC 9110 token characters: ALPHA DIGIT and !#$%&'*+-.^_`|~ (a table: the name check is
 * the parser's hottest loop). */
static const uint8_t tchar[256] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 1, 0, 1, 1, 1, 1, 1, 0, 0, 1, 1, 0, 1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0,
    0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 0, 1, 0,
};

static bool is_tchar(unsigned char c) { return tchar[c]; }

static bool ieq(const char *a, size_t n, const char *lit) {
  size_t m = strlen(lit);
  if (n != m) return false;
  for (size_t i = 0; i < n; i++) {
    char c = a[i];
    if (c >= 'A' && c <= 'Z') c = (char)(c - 'A' + 'a');
    if (c != lit[i]) return false;
  }
  return true;
}

static bool is_ows(char c) { return c == ' ' || c == '\t'; }

/* Iterates over a comma-separated list: returns the next trimmed element of v[*pos..n)
 * in *el and *el_len, or false at the end. Empty elements are skipped. */
static bool next_element(const char *v, size_t n, size_t *pos, const char **el, size_t *el_len) {
  while (*pos < n) {
    size_t start = *pos;
    while (*pos < n && v[*pos] != ',') (*pos)++;
    size_t end = *pos;
    if (*pos < n) (*pos)++;
    while (start < end && is_ows(v[start])) start++;
    while (end > start && is_ows(v[end - 1])) end--;
    if (end > start) {
      *el = v + start;
      *el_len = end - start;
      return true;
    }
  }
  return false;
}

static const char *parse_status_line(mp_h1_parser *p, const char *l, size_t n) {
  if (n < 12 || memcmp(l, "HTTP/1.", 7) != 0) return "invalid status line";
  if (l[7] < '0' || l[7] > '9' || l[8] != ' ') return "invalid status line";
  int code = 0;
  for (int i = 9; i < 12; i++) {
    if (l[i] < '0' || l[i] > '9') return "invalid status code";
    code = code * 10 + (l[i] - '0');
  }
  if (n > 12 && l[12] != ' ') return "invalid status code";
  if (code < 100 || code > 599) return "status code out of range";
  for (size_t i = 12; i < n; i++)
    if (l[i] == '\0' || l[i] == '\r') return "invalid character in the reason phrase";
  p->minor = l[7] - '0';
  p->status = code;
  return NULL;
}

/* Interprets the framing headers. Returns an error reason or NULL. */
static const char *interpret(mp_h1_parser *p, const char *name, size_t nl, const char *v,
                             size_t vl) {
  const char *el;
  size_t el_len, pos = 0;
  if (ieq(name, nl, "content-length")) {
    bool any = false;
    while (next_element(v, vl, &pos, &el, &el_len)) {
      if (el_len > 18) return "Content-Length too large";
      int64_t n = 0;
      for (size_t i = 0; i < el_len; i++) {
        if (el[i] < '0' || el[i] > '9') return "invalid Content-Length";
        n = n * 10 + (el[i] - '0');
      }
      if ((p->flags & F_CL) && n != p->content_length) return "conflicting Content-Length";
      p->flags |= F_CL;
      p->content_length = n;
      any = true;
    }
    if (!any) return "empty Content-Length";
  } else if (ieq(name, nl, "transfer-encoding")) {
    p->flags |= F_TE;
    while (next_element(v, vl, &pos, &el, &el_len)) {
      size_t tok = 0;
      while (tok < el_len && el[tok] != ';' && !is_ows(el[tok])) tok++;
      if (ieq(el, tok, "chunked"))
        p->flags |= F_TE_CHUNKED;
      else
        p->flags &= (uint8_t)~F_TE_CHUNKED;
    }
  } else if (ieq(name, nl, "connection")) {
    while (next_element(v, vl, &pos, &el, &el_len)) {
      if (ieq(el, el_len, "close")) p->flags |= F_CLOSE;
      if (ieq(el, el_len, "keep-alive")) p->flags |= F_KEEPALIVE;
    }
  }
  return NULL;
}

/* Splits and checks a header (or trailer) line into ev->name/value. */
static const char *parse_field(const char *l, size_t n, mp_h1_event *ev) {
  if (is_ows(l[0])) return "obsolete header line folding is not supported";
  size_t colon = 0;
  while (colon < n && l[colon] != ':') {
    if (!is_tchar((unsigned char)l[colon])) return "invalid header name";
    colon++;
  }
  if (colon == n) return "header line without a colon";
  if (colon == 0) return "empty header name";
  size_t vs = colon + 1, ve = n;
  while (vs < ve && is_ows(l[vs])) vs++;
  while (ve > vs && is_ows(l[ve - 1])) ve--;
  if (memchr(l + vs, '\r', ve - vs) || memchr(l + vs, '\0', ve - vs))
    return "invalid character in a header value";
  ev->name = l;
  ev->name_len = colon;
  ev->value = l + vs;
  ev->value_len = ve - vs;
  return NULL;
}

/* The header section ended: decide how the body is delimited. */
static void headers_done(mp_h1_parser *p, mp_h1_event *ev) {
  ev->type = MP_H1_EV_HEADERS_DONE;
  ev->status = p->status;
  int s = p->status;
  if (s >= 100 && s < 200 && s != 101) {
    /* Interim response: its headers say nothing about the final one. */
    ev->interim = true;
    p->flags = 0;
    p->content_length = -1;
    p->state = ST_STATUS;
    return;
  }
  p->keep_alive =
      p->minor >= 1 ? !(p->flags & F_CLOSE) : (p->flags & F_KEEPALIVE) && !(p->flags & F_CLOSE);
  if (p->head || s == 204 || s == 304 || s == 101) {
    if (s == 101) p->keep_alive = false;
    p->state = ST_END;
  } else if (p->flags & F_TE) {
    /* Transfer-Encoding overrides Content-Length; a message carrying both is suspect, so
     * the connection is not reused (RFC 9112 section 6.3). */
    if (p->flags & F_CL) p->keep_alive = false;
    if (p->flags & F_TE_CHUNKED) {
      p->chunked = true;
      p->state = ST_CHUNK_SIZE;
    } else {
      p->until_close = true;
      p->keep_alive = false;
      p->state = ST_BODY_CLOSE;
    }
  } else if (p->flags & F_CL) {
    p->remaining = (uint64_t)p->content_length;
    p->state = p->remaining ? ST_BODY_LEN : ST_END;
  } else {
    p->until_close = true;
    p->keep_alive = false;
    p->state = ST_BODY_CLOSE;
  }
}

static size_t body_piece(mp_h1_parser *p, const char *data, size_t len, mp_h1_event *ev) {
  size_t n = len;
  if (p->state != ST_BODY_CLOSE && n > p->remaining) n = (size_t)p->remaining;
  p->remaining -= p->state != ST_BODY_CLOSE ? n : 0;
  p->body_bytes += n;
  ev->type = MP_H1_EV_BODY;
  ev->data = data;
  ev->len = n;
  if (p->remaining == 0) {
    if (p->state == ST_BODY_LEN) p->state = ST_END;
    if (p->state == ST_CHUNK_DATA) p->state = ST_CHUNK_CRLF;
  }
  return n;
}

static const char *parse_chunk_size(mp_h1_parser *p, const char *l, size_t n) {
  uint64_t size = 0;
  size_t i = 0;
  for (; i < n; i++) {
    char c = l[i];
    int d = c >= '0' && c <= '9'   ? c - '0'
            : c >= 'a' && c <= 'f' ? c - 'a' + 10
            : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                   : -1;
    if (d < 0) break;
    if (i >= 15) return "chunk size too large";
    size = size * 16 + (uint64_t)d;
  }
  if (i == 0) return "invalid chunk size";
  while (i < n && is_ows(l[i])) i++;
  if (i < n && l[i] != ';') return "invalid chunk size";
  p->remaining = size;
  return NULL;
}

/* Whether the eight bytes at s hold a CR or a NUL (a word has a zero byte iff
 * (w - 0x01..) & ~w & 0x80.. is non-zero; CR bytes are the zero bytes of w ^ 0x0d..). */
static bool word_has_cr_or_nul(const char *s) {
  const uint64_t ones = 0x0101010101010101u, highs = 0x8080808080808080u;
  uint64_t w, x;
  memcpy(&w, s, 8);
  x = w ^ (ones * '\r');
  return ((w - ones) & ~w & highs) | ((x - ones) & ~x & highs);
}

/* Whether the value v[0..n) of the line that starts at line holds a CR or a NUL. The last
 * word may reach back before v into the name, colon and blanks, which hold neither. */
static bool has_cr_or_nul(const char *line, const char *v, size_t n) {
  size_t i = 0;
  for (; i + 8 <= n; i += 8)
    if (word_has_cr_or_nul(v + i)) return true;
  if (i == n) return false;
  if (v + n - line >= 8) return word_has_cr_or_nul(v + n - 8);
  for (; i < n; i++)
    if (v[i] == '\r' || v[i] == '\0') return true;
  return false;
}

/* a[0..n) equals the lowercase literal lit (letters and '-') ignoring case, for a without
 * CR: (c | 0x20) is a lowercase letter only for that letter in either case, and is '-' only
 * for '-' and CR. Eight bytes at a time. */
static bool ieq_fast(const char *a, size_t n, const char *lit, size_t m) {
  if (n != m) return false;
  const uint64_t low = 0x2020202020202020u;
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t x, y;
    memcpy(&x, a + i, 8);
    memcpy(&y, lit + i, 8);
    if ((x | low) != y) return false;
  }
  for (; i < n; i++)
    if ((a[i] | 0x20) != lit[i]) return false;
  return true;
}

/* The framing fields of the fast path: the common forms at once, the rest by interpret. */
static const char *fast_field(mp_h1_parser *p, const char *name, size_t nl, const char *v,
                              size_t vl) {
  if (nl == 14 && vl >= 1 && vl <= 18 && !(p->flags & F_CL) &&
      ieq_fast(name, nl, "content-length", 14)) {
    int64_t n = 0;
    for (size_t i = 0; i < vl; i++) {
      if (v[i] < '0' || v[i] > '9') return interpret(p, name, nl, v, vl);
      n = n * 10 + (v[i] - '0');
    }
    p->flags |= F_CL;
    p->content_length = n;
    return NULL;
  }
  if (nl == 10 && ieq_fast(name, nl, "connection", 10) && ieq_fast(v, vl, "keep-alive", 10)) {
    p->flags |= F_KEEPALIVE;
    return NULL;
  }
  return nl == 10 || nl == 14 || nl == 17 ? interpret(p, name, nl, v, vl) : NULL;
}

/* A header section of n bytes was taken whole by a fast path: on to the body. */
static size_t section_taken(mp_h1_parser *p, size_t n) {
  p->header_bytes = p->wire_bytes = n;
  mp_h1_event ev;
  headers_done(p, &ev);
  return n;
}

/* Quiet mode's fast path, the engine's common case: a fresh response whose whole header
 * section arrived in one piece, taken in one pass without events or line gathering. It
 * gives exactly what the line states give; anything else (an interim response, a section
 * split across reads, any error, a limit) leaves the parser as it was and returns 0, and
 * the line states take over and report it. Returns the bytes of the header section. */
static size_t fast_headers(mp_h1_parser *p, const char *data, size_t len) {
  const char *end = data + len, *nl = memchr(data, '\n', len);
  if (!nl || nl - data > MP_H1_MAX_LINE) return 0;
  size_t n = (size_t)(nl - data);
  if (n && data[n - 1] == '\r') n--;
  if (parse_status_line(p, data, n) || p->status < 200) goto bail;
  const char *s = nl + 1;
  for (;;) {
    const char *lf = s < end ? memchr(s, '\n', (size_t)(end - s)) : NULL;
    if (!lf || lf - s > MP_H1_MAX_LINE) goto bail;
    if (lf == s || (lf == s + 1 && *s == '\r')) { /* the empty line */
      s = lf + 1;
      break;
    }
    /* The scans need no bounds: the LF is neither a token character nor a blank. */
    const char *q = s;
    while (tchar[(uint8_t)*q]) q++;
    if (q == s || *q != ':') goto bail;
    size_t name_len = (size_t)(q - s);
    for (q++; is_ows(*q);) q++;
    const char *vs = q, *ve = lf;
    if (ve > vs && ve[-1] == '\r') ve--;
    while (ve > vs && is_ows(ve[-1])) ve--;
    if (has_cr_or_nul(s, vs, (size_t)(ve - vs))) goto bail;
    if (fast_field(p, s, name_len, vs, (size_t)(ve - vs))) goto bail;
    s = lf + 1;
  }
  size_t used = (size_t)(s - data);
  if (used > MP_H1_MAX_HEADER_BYTES) goto bail;
  if (used <= MP_H1_MEMO) { /* what the section says depends on its bytes alone */
    if (!p->memo) p->memo = mp_malloc(MP_H1_MEMO);
    memcpy(p->memo, data, used);
    p->memo_len = used;
    p->memo_status = p->status;
    p->memo_minor = p->minor;
    p->memo_flags = p->flags;
    p->memo_content_length = p->content_length;
  }
  return section_taken(p, used);
bail:
  p->status = p->minor = 0;
  p->flags = 0;
  p->content_length = -1;
  return 0;
}

/* The fast path's result for a header section identical to the last one it took: one
 * memcmp instead of a parse. Returns 0 when the section differs. */
static size_t memo_headers(mp_h1_parser *p, const char *data, size_t len) {
  size_t n = p->memo_len;
  if (!n || len < n || memcmp(data, p->memo, n) != 0) return 0;
  p->status = p->memo_status;
  p->minor = p->memo_minor;
  p->flags = p->memo_flags;
  p->content_length = p->memo_content_length;
  return section_taken(p, n);
}

/* One step of a line-oriented state. */
static size_t line_state(mp_h1_parser *p, const char *data, size_t len, mp_h1_event *ev) {
  size_t used = 0, n = 0;
  const char *l = NULL;
  int r = get_line(p, data, len, &used, &l, &n);
  bool in_header = p->state == ST_STATUS || p->state == ST_HEADERS || p->state == ST_TRAILERS;
  if (in_header) {
    p->header_bytes += used;
    if (p->header_bytes > MP_H1_MAX_HEADER_BYTES)
      return fail(p, ev, "response header section too large", used);
  }
  if (r < 0) return fail(p, ev, "line too long in the response", used);
  if (r == 0) {
    ev->type = MP_H1_EV_NONE;
    return used;
  }
  const char *why = NULL;
  switch (p->state) {
  case ST_STATUS:
    if ((why = parse_status_line(p, l, n))) return fail(p, ev, why, used);
    ev->type = MP_H1_EV_STATUS;
    ev->status = p->status;
    ev->interim = p->status < 200 && p->status != 101;
    p->state = ST_HEADERS;
    return used;
  case ST_HEADERS:
  case ST_TRAILERS:
    if (n == 0) {
      if (p->state == ST_HEADERS) {
        headers_done(p, ev);
      } else {
        p->state = ST_DONE;
        ev->type = MP_H1_EV_DONE;
        ev->status = p->status;
      }
      return used;
    }
    if ((why = parse_field(l, n, ev))) return fail(p, ev, why, used);
    if (p->state == ST_HEADERS &&
        (why = interpret(p, ev->name, ev->name_len, ev->value, ev->value_len)))
      return fail(p, ev, why, used);
    ev->type = p->state == ST_HEADERS ? MP_H1_EV_HEADER : MP_H1_EV_TRAILER;
    return used;
  case ST_CHUNK_SIZE:
    if ((why = parse_chunk_size(p, l, n))) return fail(p, ev, why, used);
    p->state = p->remaining ? ST_CHUNK_DATA : ST_TRAILERS;
    ev->type = MP_H1_EV_NONE; /* no event: the caller's loop keeps going */
    return used;
  case ST_CHUNK_CRLF:
    if (n != 0) return fail(p, ev, "missing CRLF after chunk data", used);
    p->state = ST_CHUNK_SIZE;
    ev->type = MP_H1_EV_NONE;
    return used;
  }
  return fail(p, ev, "internal parser error", used);
}

/* One step: at most one event (or NONE with every byte consumed, or NONE after a chunk
 * framing line that produces no event). Returns the bytes consumed. */
static size_t step(mp_h1_parser *p, const char *data, size_t len, mp_h1_event *ev) {
  size_t used;
  switch (p->state) {
  case ST_ERROR:
    ev->type = MP_H1_EV_ERROR;
    ev->error = p->error;
    return 0;
  case ST_DONE:
    if (len == 0) return 0;
    return fail(p, ev, "data after the end of the response", 0);
  case ST_END:
    p->state = ST_DONE;
    ev->type = MP_H1_EV_DONE;
    ev->status = p->status;
    return 0;
  case ST_BODY_LEN:
  case ST_BODY_CLOSE:
  case ST_CHUNK_DATA:
    if (len == 0) return 0;
    used = body_piece(p, data, len, ev);
    break;
  default:
    if (len == 0) return 0;
    used = line_state(p, data, len, ev);
    break;
  }
  p->wire_bytes += used;
  return used;
}

size_t mp_h1_parse(mp_h1_parser *p, const char *data, size_t len, mp_h1_event *ev) {
  size_t total = 0;
  memset(ev, 0, sizeof *ev);
  if (p->quiet && p->state == ST_STATUS && p->wire_bytes == 0 && p->line_len == 0 && len) {
    total = memo_headers(p, data, len);
    if (!total) total = fast_headers(p, data, len);
    data += total;
    len -= total;
  }
  for (;;) {
    /* Each step sets only its own fields; quiet mode skips events, so clear what a skipped
     * event may have left before the next step. */
    ev->type = MP_H1_EV_NONE;
    ev->interim = false;
    size_t used = step(p, data, len, ev);
    total += used;
    data += used;
    len -= used;
    switch (ev->type) {
    case MP_H1_EV_NONE:
      if (len == 0) return total;
      continue; /* a chunk framing line: go on with the rest */
    case MP_H1_EV_STATUS:
    case MP_H1_EV_HEADER:
    case MP_H1_EV_HEADERS_DONE:
    case MP_H1_EV_BODY:
    case MP_H1_EV_TRAILER:
      if (!p->quiet) return total;
      ev->name = ev->value = ev->data = NULL;
      ev->name_len = ev->value_len = ev->len = 0;
      continue;
    default: return total;
    }
  }
}

void mp_h1_parser_quiet(mp_h1_parser *p, bool quiet) { p->quiet = quiet; }

void mp_h1_parse_eof(mp_h1_parser *p, mp_h1_event *ev) {
  memset(ev, 0, sizeof *ev);
  switch (p->state) {
  case ST_BODY_CLOSE:
    p->state = ST_DONE;
    ev->type = MP_H1_EV_DONE;
    ev->status = p->status;
    return;
  case ST_DONE: ev->type = MP_H1_EV_NONE; return;
  case ST_ERROR:
    ev->type = MP_H1_EV_ERROR;
    ev->error = p->error;
    return;
  case ST_STATUS:
    if (mp_h1_parser_idle(p)) {
      ev->type = MP_H1_EV_NONE;
      return;
    }
    break;
  default: break;
  }
  fail(p, ev, "connection closed before the response was complete", 0);
}
