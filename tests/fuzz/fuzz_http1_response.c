/* libFuzzer target for the HTTP/1.1 response parser (loadgen/http1/response.c).
 *
 * Input: one mode byte, then the bytes a server sent. The mode picks HEAD or not and a
 * piece size; the input is parsed whole and again in pieces of that size, responses one
 * after the other as on a keep-alive connection, then the connection closes. Besides the
 * sanitizers' checks, the two event transcripts must be identical (the parser's promise
 * that any split gives the same events), quiet mode (the engine's) must report the same
 * outcomes, and the parser's own accounting must add up. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "meshplane/base.h"
#include "meshplane/http1.h"

static void require(int ok) {
  if (!ok) abort();
}

/* Parses data in pieces of `piece` bytes. out gets every event; outcomes only DONE, ERROR
 * and the end of input, which quiet mode must report identically. */
static void transcript(const uint8_t *data, size_t size, bool head, size_t piece, bool quiet,
                       mp_buf *out, mp_buf *outcomes) {
  mp_h1_parser p;
  mp_h1_parser_init(&p);
  mp_h1_parser_quiet(&p, quiet);
  mp_h1_parser_reset(&p, head);
  uint64_t body = 0, consumed = 0;
  bool failed = false;
  for (size_t pos = 0; pos < size && !failed;) {
    size_t n = size - pos < piece ? size - pos : piece;
    const char *d = (const char *)data + pos;
    pos += n;
    for (;;) {
      mp_h1_event ev;
      size_t used = mp_h1_parse(&p, d, n, &ev);
      require(used <= n);
      d += used;
      n -= used;
      consumed += used;
      if (ev.type == MP_H1_EV_NONE) {
        require(n == 0);
        break;
      }
      /* Quiet mode reports nothing but outcomes. */
      require(!quiet || ev.type == MP_H1_EV_DONE || ev.type == MP_H1_EV_ERROR);
      if (ev.type == MP_H1_EV_BODY) {
        require(ev.len > 0 && ev.data >= (const char *)data && ev.len <= used);
        body += ev.len;
        continue;
      }
      /* Body pieces are summed: their boundaries legitimately depend on the split. */
      mp_buf_printf(out, "[B%llu]", (unsigned long long)body);
      body = 0;
      mp_buf_printf(out, "%d:%d:%d", (int)ev.type, ev.status, ev.interim);
      if (ev.type == MP_H1_EV_HEADER || ev.type == MP_H1_EV_TRAILER) {
        mp_buf_append(out, ev.name, ev.name_len);
        mp_buf_append(out, "=", 1);
        mp_buf_append(out, ev.value, ev.value_len);
      }
      if (ev.type == MP_H1_EV_DONE) {
        require(p.header_bytes + p.body_bytes <= p.wire_bytes);
        require(p.status >= 100 && p.status <= 599);
        mp_buf_printf(out, "ka%d w%llu", p.keep_alive, (unsigned long long)p.wire_bytes);
        mp_buf_printf(outcomes, "D%d ka%d h%llu b%llu w%llu\n", p.status, p.keep_alive,
                      (unsigned long long)p.header_bytes, (unsigned long long)p.body_bytes,
                      (unsigned long long)p.wire_bytes);
        mp_h1_parser_reset(&p, head);
      }
      if (ev.type == MP_H1_EV_ERROR) {
        require(ev.error != NULL);
        mp_buf_puts(out, ev.error);
        mp_buf_printf(outcomes, "X%s\n", ev.error);
        failed = true;
        break;
      }
      mp_buf_append(out, "\n", 1);
    }
  }
  mp_buf_printf(out, "[B%llu]", (unsigned long long)body);
  if (!failed) {
    mp_h1_event ev;
    mp_h1_parse_eof(&p, &ev);
    mp_buf_printf(out, "eof%d", (int)ev.type);
    mp_buf_printf(outcomes, "eof%d\n", (int)ev.type);
  }
  require(failed || consumed == size);
  mp_h1_parser_free(&p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  bool head = data[0] & 1;
  size_t piece = (size_t)(data[0] >> 1) + 1;
  data++;
  size--;
  mp_buf a = {0}, b = {0}, oa = {0}, ob = {0}, q = {0}, oq = {0};
  transcript(data, size, head, size ? size : 1, false, &a, &oa);
  transcript(data, size, head, piece, false, &b, &ob);
  require(a.len == b.len && (a.len == 0 || memcmp(a.data, b.data, a.len) == 0));
  transcript(data, size, head, piece, true, &q, &oq);
  require(oa.len == oq.len && (oa.len == 0 || memcmp(oa.data, oq.data, oa.len) == 0));
  mp_buf *all[] = {&a, &b, &oa, &ob, &q, &oq};
  for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) mp_buf_free(all[i]);
  return 0;
}
