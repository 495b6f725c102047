/* Unit tests of the HTTP/1.1 response parser and request builder (loadgen/http1).
 *
 * Every response case is parsed whole, split in two at every byte boundary, and fed one
 * byte at a time; the event transcripts must be identical, and equal to the expected one. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "meshplane/base.h"
#include "meshplane/http1.h"

#define BYTE_BY_BYTE ((size_t)-1)

/* Parses data (fed in pieces: whole when split == 0, two pieces cut at `split`, or one
 * byte at a time) and returns a transcript of the events: "S200" status, "H:name=value",
 * "D" end of headers, "B:body" (pieces joined), "T:name=value" trailer, "E(ka=1)" done,
 * "X:reason" error, "N" eof with nothing pending. Several responses in a row are parsed
 * one after the other (keep-alive). The caller frees the string. */
static char *transcript_mode(const char *data, size_t len, bool head, size_t split, bool eof,
                             bool quiet) {
  mp_h1_parser p;
  mp_h1_parser_init(&p);
  mp_h1_parser_quiet(&p, quiet);
  mp_h1_parser_reset(&p, head);
  mp_buf out = {0}, body = {0};
  bool failed = false;
  size_t pos = 0;
  while (pos < len && !failed) {
    size_t piece = len - pos;
    if (split == BYTE_BY_BYTE)
      piece = 1;
    else if (split && pos < split)
      piece = split - pos;
    const char *d = data + pos;
    size_t n = piece;
    pos += piece;
    for (;;) {
      mp_h1_event ev;
      size_t used = mp_h1_parse(&p, d, n, &ev);
      assert_true(used <= n);
      d += used;
      n -= used;
      if (ev.type != MP_H1_EV_BODY && ev.type != MP_H1_EV_NONE && body.len) {
        mp_buf_printf(&out, "B:%s|", body.data);
        mp_buf_reset(&body);
      }
      switch (ev.type) {
      case MP_H1_EV_NONE: assert_int_equal(n, 0); break;
      case MP_H1_EV_STATUS: mp_buf_printf(&out, "S%d%s|", ev.status, ev.interim ? "i" : ""); break;
      case MP_H1_EV_HEADER:
      case MP_H1_EV_TRAILER:
        mp_buf_printf(&out, "%c:%.*s=%.*s|", ev.type == MP_H1_EV_HEADER ? 'H' : 'T',
                      (int)ev.name_len, ev.name, (int)ev.value_len, ev.value);
        break;
      case MP_H1_EV_HEADERS_DONE: mp_buf_puts(&out, ev.interim ? "Di|" : "D|"); break;
      case MP_H1_EV_BODY: mp_buf_append(&body, ev.data, ev.len); break;
      case MP_H1_EV_DONE:
        mp_buf_printf(&out, "E(ka=%d,hb=%llu,bb=%llu,wb=%llu)|", p.keep_alive,
                      (unsigned long long)p.header_bytes, (unsigned long long)p.body_bytes,
                      (unsigned long long)p.wire_bytes);
        mp_h1_parser_reset(&p, head);
        break;
      case MP_H1_EV_ERROR:
        mp_buf_printf(&out, "X:%s|", ev.error);
        failed = true;
        break;
      }
      if (ev.type == MP_H1_EV_NONE || failed) break;
    }
  }
  if (body.len) {
    mp_buf_printf(&out, "B:%s|", body.data);
    mp_buf_reset(&body);
  }
  if (eof && !failed) {
    mp_h1_event ev;
    mp_h1_parse_eof(&p, &ev);
    if (ev.type == MP_H1_EV_DONE)
      mp_buf_printf(&out, "E(ka=%d,hb=%llu,bb=%llu,wb=%llu)|", p.keep_alive,
                    (unsigned long long)p.header_bytes, (unsigned long long)p.body_bytes,
                    (unsigned long long)p.wire_bytes);
    else if (ev.type == MP_H1_EV_ERROR)
      mp_buf_printf(&out, "X:%s|", ev.error);
    else
      mp_buf_puts(&out, "N|");
  }
  mp_buf_free(&body);
  mp_h1_parser_free(&p);
  mp_buf_append(&out, "", 0);
  return mp_buf_steal(&out);
}

static char *transcript(const char *data, size_t len, bool head, size_t split, bool eof) {
  return transcript_mode(data, len, head, split, eof, false);
}

/* The outcomes of a transcript: only its E(...), X:... and N entries. */
static char *outcomes(const char *t) {
  mp_buf b = {0};
  for (const char *p = t; *p;) {
    const char *bar = strchr(p, '|');
    size_t n = bar ? (size_t)(bar - p) + 1 : strlen(p);
    if (p[0] == 'E' || p[0] == 'X' || p[0] == 'N') mp_buf_append(&b, p, n);
    p += n;
  }
  mp_buf_append(&b, "", 0);
  return mp_buf_steal(&b);
}

/* Checks the whole-input transcript against `want`, then every split and byte by byte. */
static void check_case(const char *name, const char *data, bool head, bool eof, const char *want) {
  size_t len = strlen(data);
  char *whole = transcript(data, len, head, 0, eof);
  if (strcmp(whole, want) != 0)
    fail_msg("%s: whole input\n  got  %s\n  want %s", name, whole, want);
  for (size_t s = 1; s < len; s++) {
    char *t = transcript(data, len, head, s, eof);
    if (strcmp(t, whole) != 0)
      fail_msg("%s: split at byte %zu\n  got  %s\n  want %s", name, s, t, whole);
    mp_free(t);
  }
  char *t = transcript(data, len, head, BYTE_BY_BYTE, eof);
  if (strcmp(t, whole) != 0) fail_msg("%s: byte by byte\n  got  %s\n  want %s", name, t, whole);
  mp_free(t);
  /* Quiet mode (the engine's) reports the same outcomes, whatever the split. */
  char *want_out = outcomes(whole);
  for (size_t s = 0; s < len; s++) {
    t = transcript_mode(data, len, head, s, eof, true);
    if (strcmp(t, want_out) != 0)
      fail_msg("%s: quiet, split at %zu\n  got  %s\n  want %s", name, s, t, want_out);
    mp_free(t);
  }
  mp_free(want_out);
  mp_free(whole);
}

static void test_content_length(void **state) {
  (void)state;
  check_case("content-length",
             "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Type: text/plain\r\n\r\nhello", false,
             false,
             "S200|H:Content-Length=5|H:Content-Type=text/plain|D|B:hello|"
             "E(ka=1,hb=64,bb=5,wb=69)|");
  check_case("list of equal lengths", "HTTP/1.1 200 OK\r\ncontent-LENGTH: 3 , 3\r\n\r\nabc", false,
             false, "S200|H:content-LENGTH=3 , 3|D|B:abc|E(ka=1,hb=42,bb=3,wb=45)|");
  check_case("zero length", "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n", false, false,
             "S404|H:Content-Length=0|D|E(ka=1,hb=45,bb=0,wb=45)|");
  check_case("no reason phrase", "HTTP/1.1 200\r\nContent-Length: 1\r\n\r\nx", false, false,
             "S200|H:Content-Length=1|D|B:x|E(ka=1,hb=35,bb=1,wb=36)|");
  check_case("bare LF line ends", "HTTP/1.1 200 OK\nContent-Length: 2\n\nhi", false, false,
             "S200|H:Content-Length=2|D|B:hi|E(ka=1,hb=35,bb=2,wb=37)|");
  check_case("value whitespace",
             "HTTP/1.1 200 OK\r\nX-A:\t  spaced out \t\r\nContent-Length:1\r\n\r\nz", false, false,
             "S200|H:X-A=spaced out|H:Content-Length=1|D|B:z|E(ka=1,hb=58,bb=1,wb=59)|");
}

static void test_keep_alive_rules(void **state) {
  (void)state;
  check_case("connection close",
             "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 1\r\n\r\nx", false, false,
             "S200|H:Connection=close|H:Content-Length=1|D|B:x|E(ka=0,hb=57,bb=1,wb=58)|");
  check_case("http/1.0 closes", "HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\nx", false, false,
             "S200|H:Content-Length=1|D|B:x|E(ka=0,hb=38,bb=1,wb=39)|");
  check_case("http/1.0 keep-alive",
             "HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 1\r\n\r\nx", false,
             false,
             "S200|H:Connection=Keep-Alive|H:Content-Length=1|D|B:x|E(ka=1,hb=62,bb=1,wb=63)|");
  check_case("token list",
             "HTTP/1.1 200 OK\r\nConnection: upgrade, CLOSE\r\nContent-Length: 0\r\n\r\n", false,
             false,
             "S200|H:Connection=upgrade, CLOSE|H:Content-Length=0|D|E(ka=0,hb=66,bb=0,wb=66)|");
}

static void test_chunked(void **state) {
  (void)state;
  check_case("chunked with extension and trailers",
             "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;name=val\r\nhello\r\n"
             "6 \r\n world\r\n0\r\nX-Checksum: abc\r\nX-More: 1\r\n\r\n",
             false, false,
             "S200|H:Transfer-Encoding=chunked|D|B:hello world|T:X-Checksum=abc|T:X-More=1|"
             "E(ka=1,hb=77,bb=11,wb=111)|");
  check_case(
      "chunked without trailers, upper-case hex",
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, Chunked\r\n\r\nA\r\n0123456789\r\n0\r\n\r\n",
      false, false,
      "S200|H:Transfer-Encoding=gzip, Chunked|D|B:0123456789|E(ka=1,hb=55,bb=10,wb=73)|");
  check_case("transfer-encoding overrides content-length",
             "HTTP/1.1 200 OK\r\nContent-Length: 100\r\nTransfer-Encoding: chunked\r\n\r\n"
             "2\r\nok\r\n0\r\n\r\n",
             false, false,
             "S200|H:Content-Length=100|H:Transfer-Encoding=chunked|D|B:ok|"
             "E(ka=0,hb=70,bb=2,wb=80)|");
  check_case("non-chunked transfer coding reads until close",
             "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nrawbytes", false, true,
             "S200|H:Transfer-Encoding=gzip|D|B:rawbytes|E(ka=0,hb=44,bb=8,wb=52)|");
}

static void test_bodiless(void **state) {
  (void)state;
  check_case("HEAD ignores Content-Length", "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n", true,
             false, "S200|H:Content-Length=100|D|E(ka=1,hb=40,bb=0,wb=40)|");
  check_case("204", "HTTP/1.1 204 No Content\r\n\r\n", false, false,
             "S204|D|E(ka=1,hb=27,bb=0,wb=27)|");
  check_case("304 with a length", "HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n", false,
             false, "S304|H:Content-Length=10|D|E(ka=1,hb=49,bb=0,wb=49)|");
  check_case("100 continue before the response",
             "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n"
             "HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok",
             false, false,
             "S100i|Di|S103i|H:Link=</a>|Di|S201|H:Content-Length=2|D|B:ok|"
             "E(ka=1,hb=108,bb=2,wb=110)|");
  check_case("101 ends the HTTP exchange", "HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\n\r\n",
             false, false, "S101|H:Upgrade=x|D|E(ka=0,hb=48,bb=0,wb=48)|");
}

static void test_close_delimited(void **state) {
  (void)state;
  check_case("no length: body ends at close", "HTTP/1.1 200 OK\r\nServer: x\r\n\r\nhello\nworld",
             false, true, "S200|H:Server=x|D|B:hello\nworld|E(ka=0,hb=30,bb=11,wb=41)|");
  check_case("no length, empty body", "HTTP/1.1 200 OK\r\n\r\n", false, true,
             "S200|D|E(ka=0,hb=19,bb=0,wb=19)|");
  check_case("eof before any byte", "", false, true, "N|");
  check_case("eof in the headers", "HTTP/1.1 200 OK\r\nContent-Le", false, true,
             "S200|X:connection closed before the response was complete|");
  check_case("eof in a Content-Length body", "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc",
             false, true,
             "S200|H:Content-Length=10|D|B:abc|X:connection closed before the response was "
             "complete|");
  check_case("eof in a chunked body",
             "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel", false, true,
             "S200|H:Transfer-Encoding=chunked|D|B:hel|X:connection closed before the response "
             "was complete|");
}

static void test_pipelined(void **state) {
  (void)state;
  check_case("two responses back to back",
             "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\naHTTP/1.1 500 Oops\r\n"
             "Transfer-Encoding: chunked\r\n\r\n1\r\nb\r\n0\r\n\r\n",
             false, false,
             "S200|H:Content-Length=1|D|B:a|E(ka=1,hb=38,bb=1,wb=39)|S500|"
             "H:Transfer-Encoding=chunked|D|B:b|E(ka=1,hb=51,bb=1,wb=60)|");
  /* Quiet mode remembers a header section taken whole: the same bytes again, then a
   * section of the same length that says something else. */
  check_case("repeated header sections",
             "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\na"
             "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nb"
             "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\ncc"
             "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\ndd",
             false, false,
             "S200|H:Content-Length=1|D|B:a|E(ka=1,hb=38,bb=1,wb=39)|"
             "S200|H:Content-Length=1|D|B:b|E(ka=1,hb=38,bb=1,wb=39)|"
             "S200|H:Content-Length=2|D|B:cc|E(ka=1,hb=38,bb=2,wb=40)|"
             "S200|H:Content-Length=2|D|B:dd|E(ka=1,hb=38,bb=2,wb=40)|");
}

static void test_errors(void **state) {
  (void)state;
  static const struct {
    const char *name, *in, *want;
  } cases[] = {
      {"http/2 status line", "HTTP/2 200 OK\r\n\r\n", "X:invalid status line|"},
      {"short status", "HTTP/1.1 20 OK\r\n\r\n", "X:invalid status code|"},
      {"letters in status", "HTTP/1.1 2x0 OK\r\n\r\n", "X:invalid status code|"},
      {"status too large", "HTTP/1.1 600 OK\r\n\r\n", "X:status code out of range|"},
      {"status too small", "HTTP/1.1 099 OK\r\n\r\n", "X:status code out of range|"},
      {"four digit status", "HTTP/1.1 2000 OK\r\n\r\n", "X:invalid status code|"},
      {"not http", "garbage\r\n\r\n", "X:invalid status line|"},
      {"no colon", "HTTP/1.1 200 OK\r\nBroken\r\n\r\n", "S200|X:header line without a colon|"},
      {"space before colon", "HTTP/1.1 200 OK\r\nContent-Length : 5\r\n\r\n",
       "S200|X:invalid header name|"},
      {"empty name", "HTTP/1.1 200 OK\r\n: v\r\n\r\n", "S200|X:empty header name|"},
      {"obs-fold", "HTTP/1.1 200 OK\r\nX-A: 1\r\n  folded\r\n\r\n",
       "S200|H:X-A=1|X:obsolete header line folding is not supported|"},
      {"bad length", "HTTP/1.1 200 OK\r\nContent-Length: 12a\r\n\r\n",
       "S200|X:invalid Content-Length|"},
      {"negative length", "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
       "S200|X:invalid Content-Length|"},
      {"huge length", "HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n",
       "S200|X:Content-Length too large|"},
      {"conflicting lengths", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
       "S200|H:Content-Length=5|X:conflicting Content-Length|"},
      {"conflicting list", "HTTP/1.1 200 OK\r\nContent-Length: 5, 6\r\n\r\n",
       "S200|X:conflicting Content-Length|"},
      {"empty length", "HTTP/1.1 200 OK\r\nContent-Length: \r\n\r\n",
       "S200|X:empty Content-Length|"},
      {"bad chunk size", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
       "S200|H:Transfer-Encoding=chunked|D|X:invalid chunk size|"},
      {"chunk size junk", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5 x\r\n",
       "S200|H:Transfer-Encoding=chunked|D|X:invalid chunk size|"},
      {"chunk too large",
       "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1000000000000000\r\n",
       "S200|H:Transfer-Encoding=chunked|D|X:chunk size too large|"},
      {"missing CRLF after chunk",
       "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nokX\r\n",
       "S200|H:Transfer-Encoding=chunked|D|B:ok|X:missing CRLF after chunk data|"},
      {"bad trailer", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nnope\r\n\r\n",
       "S200|H:Transfer-Encoding=chunked|D|X:header line without a colon|"},
      {"NUL in a value", "HTTP/1.1 200 OK\r\nX: a\0b\r\n\r\n",
       "S200|X:invalid character in a header value|"},
      {"CR in a value", "HTTP/1.1 200 OK\r\nX: a\rb\r\n\r\n",
       "S200|X:invalid character in a header value|"},
  };
  for (size_t i = 0; i < MP_ARRAY_LEN(cases); i++) {
    /* NUL inside: the length is up to the final CRLF CRLF. */
    const char *in = cases[i].in;
    size_t len = strlen(in);
    if (strstr(cases[i].name, "NUL")) len = 27;
    char *t = transcript(in, len, false, 0, false);
    if (strcmp(t, cases[i].want) != 0)
      fail_msg("%s\n  got  %s\n  want %s", cases[i].name, t, cases[i].want);
    mp_free(t);
    for (size_t s = 1; s < len; s++) {
      t = transcript(in, len, false, s, false);
      if (strcmp(t, cases[i].want) != 0)
        fail_msg("%s split at %zu\n  got  %s\n  want %s", cases[i].name, s, t, cases[i].want);
      mp_free(t);
    }
  }
}

static void test_limits_and_state(void **state) {
  (void)state;
  /* A header line longer than the limit is an error whatever the split. */
  mp_buf b = {0};
  mp_buf_puts(&b, "HTTP/1.1 200 OK\r\nX-Long: ");
  for (int i = 0; i < MP_H1_MAX_LINE; i++) mp_buf_append(&b, "a", 1);
  mp_buf_puts(&b, "\r\n\r\n");
  char *t = transcript(b.data, b.len, false, 0, false);
  assert_string_equal(t, "S200|X:line too long in the response|");
  mp_free(t);
  t = transcript(b.data, b.len, false, 100, false);
  assert_string_equal(t, "S200|X:line too long in the response|");
  mp_free(t);
  mp_buf_free(&b);

  /* Data after a complete response without a reset is an error; errors are sticky. */
  mp_h1_parser p;
  mp_h1_parser_init(&p);
  const char *r = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\nX";
  mp_h1_event ev;
  size_t used = 0, len = strlen(r);
  int done = 0;
  while (used < len || done == 0) {
    used += mp_h1_parse(&p, r + used, len - used, &ev);
    if (ev.type == MP_H1_EV_DONE) done++;
    if (ev.type == MP_H1_EV_ERROR) break;
  }
  assert_int_equal(done, 1);
  assert_int_equal(ev.type, MP_H1_EV_ERROR);
  assert_string_equal(ev.error, "data after the end of the response");
  assert_int_equal(mp_h1_parse(&p, "more", 4, &ev), 0);
  assert_int_equal(ev.type, MP_H1_EV_ERROR);
  mp_h1_parser_reset(&p, false);
  assert_true(mp_h1_parser_idle(&p));
  used = mp_h1_parse(&p, "HTTP/1.1 200 OK\r\n", 17, &ev);
  assert_int_equal(used, 17);
  assert_int_equal(ev.type, MP_H1_EV_STATUS);
  assert_false(mp_h1_parser_idle(&p));
  mp_h1_parser_free(&p);
  mp_h1_parser_free(NULL);
}

/* ---- request builder ------------------------------------------------------------------ */

static void test_request_build(void **state) {
  (void)state;
  char *out = NULL;
  size_t len = 0;
  mp_h1_request r = {.host = "example.com:8080", .target = "/a?b=c", .user_agent = "ua/1"};
  assert_int_equal(mp_h1_request_build(&r, &out, &len), MP_OK);
  assert_string_equal(out,
                      "GET /a?b=c HTTP/1.1\r\nHost: example.com:8080\r\nUser-Agent: ua/1\r\n\r\n");
  assert_int_equal(len, strlen(out));
  mp_free(out);

  const char *headers[] = {"X-Trace:  abc", "Host: override.example", "user-agent: mine"};
  const uint8_t body[] = "{\"k\":1}";
  mp_h1_request p = {.host = "h",
                     .target = "/post",
                     .headers = headers,
                     .n_headers = 3,
                     .cookies = "a=1; b=2",
                     .content_type = "application/json",
                     .body = body,
                     .body_len = 7,
                     .user_agent = "ua/1"};
  assert_int_equal(mp_h1_request_build(&p, &out, &len), MP_OK);
  assert_string_equal(out, "POST /post HTTP/1.1\r\nX-Trace: abc\r\nHost: override.example\r\n"
                           "user-agent: mine\r\nCookie: a=1; b=2\r\nContent-Type: "
                           "application/json\r\nContent-Length: 7\r\n\r\n{\"k\":1}");
  mp_free(out);

  mp_h1_request put = {.method = "PUT", .host = "h", .target = NULL};
  assert_int_equal(mp_h1_request_build(&put, &out, &len), MP_OK);
  assert_string_equal(out, "PUT / HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n");
  mp_free(out);

  static const char *const h_nocolon[] = {"NoColon"}, *const h_badname[] = {"Bad Name: v"},
                           *const h_crlf[] = {"X: a\r\nEvil: 1"},
                           *const h_length[] = {"Content-Length: 5"};
  const struct {
    mp_h1_request r;
    const char *msg;
  } bad[] = {
      {{.method = "GE T", .host = "h"}, "invalid HTTP method"},
      {{.host = "h", .target = "/a b"}, "percent-encode"},
      {{.host = "h\r\nX: y"}, "invalid Host"},
      {{.host = "h", .cookies = "a=1\r\nX: y"}, "cookies hold a line break"},
      {{.host = "h", .headers = h_nocolon, .n_headers = 1}, "is not of the form"},
      {{.host = "h", .headers = h_badname, .n_headers = 1}, "invalid character in the name"},
      {{.host = "h", .headers = h_crlf, .n_headers = 1}, "holds a line break"},
      {{.host = "h", .headers = h_length, .n_headers = 1}, "set from the body"},
  };
  for (size_t i = 0; i < MP_ARRAY_LEN(bad); i++) {
    out = NULL;
    assert_int_equal(mp_h1_request_build(&bad[i].r, &out, &len), MP_ERR_INVALID);
    if (!strstr(mp_error_last(), bad[i].msg))
      fail_msg("case %zu: message \"%s\" lacks \"%s\"", i, mp_error_last(), bad[i].msg);
    assert_null(out);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_content_length),  cmocka_unit_test(test_keep_alive_rules),
      cmocka_unit_test(test_chunked),         cmocka_unit_test(test_bodiless),
      cmocka_unit_test(test_close_delimited), cmocka_unit_test(test_pipelined),
      cmocka_unit_test(test_errors),          cmocka_unit_test(test_limits_and_state),
      cmocka_unit_test(test_request_build),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
