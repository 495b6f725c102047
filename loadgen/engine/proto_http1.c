/* HTTP/1.1 as an engine protocol: one pre-serialized request per endpoint, one request in
 * flight per connection, responses parsed by meshplane/http1.h. */
#include <string.h>

#include "internal.h"

static mp_status h1_prepare(mp__endpoint *ep, const mp__request_parts *parts) {
  mp_h1_request req = {
      .method = parts->method,
      .host = ep->u.host_header,
      .target = ep->u.target,
      .headers = parts->headers,
      .n_headers = parts->n_headers,
      .cookies = parts->cookies,
      .content_type = parts->content_type,
      .body = parts->body,
      .body_len = parts->body_len,
      .user_agent = parts->user_agent,
  };
  mp_status st = mp_h1_request_build(&req, &ep->request, &ep->request_len);
  if (st != MP_OK) return st;
  ep->head = !strncmp(ep->request, "HEAD ", 5);
  return MP_OK;
}

static void h1_release(mp__endpoint *ep) {
  mp_free(ep->request);
  ep->request = NULL;
}

static void h1_conn_init(mp__conn *c) {
  mp_h1_parser_init(&c->proto.h1);
  mp_h1_parser_quiet(&c->proto.h1, true); /* the engine needs the outcome only */
}
static void h1_conn_free(mp__conn *c) { mp_h1_parser_free(&c->proto.h1); }
static int h1_conn_reset(mp__conn *c) {
  mp_h1_parser_reset(&c->proto.h1, c->ep->head);
  return 0;
}

static int h1_request(mp__conn *c, mp__req *r) {
  (void)r;
  mp_h1_parser_reset(&c->proto.h1, c->ep->head);
  c->out = c->ep->request;
  c->out_len = c->ep->request_len;
  return 0;
}

static void finish(mp__conn *c, const mp_h1_parser *p, const mp_h1_event *ev, mp__response *r) {
  r->req = &c->req0;
  if (ev->type == MP_H1_EV_DONE) {
    r->kind = MP__RESP_DONE;
    r->status = p->status;
    r->bad = p->status < 200 || p->status >= 400;
    r->keep_alive = p->keep_alive;
    r->header_bytes = p->header_bytes;
    r->wire_bytes = p->wire_bytes;
  } else if (ev->type == MP_H1_EV_ERROR) {
    r->kind = MP__RESP_ERROR;
    r->error = ev->error;
  }
}

static size_t h1_input(mp__conn *c, const char *data, size_t len, mp__response *r) {
  mp_h1_parser *p = &c->proto.h1;
  size_t used = 0;
  memset(r, 0, sizeof *r);
  for (;;) {
    mp_h1_event ev;
    used += mp_h1_parse(p, data + used, len - used, &ev);
    if (ev.type == MP_H1_EV_NONE) return used;
    if (ev.type == MP_H1_EV_DONE || ev.type == MP_H1_EV_ERROR) {
      finish(c, p, &ev, r);
      return used;
    }
  }
}

static void h1_eof(mp__conn *c, mp__response *r) {
  mp_h1_event ev;
  memset(r, 0, sizeof *r);
  mp_h1_parse_eof(&c->proto.h1, &ev);
  finish(c, &c->proto.h1, &ev, r);
}

const mp__proto_ops mp__proto_http1 = {
    .name = "http/1.1",
    .alpn = "\x08http/1.1",
    .prepare = h1_prepare,
    .release = h1_release,
    .conn_init = h1_conn_init,
    .conn_free = h1_conn_free,
    .conn_reset = h1_conn_reset,
    .request = h1_request,
    .input = h1_input,
    .eof = h1_eof,
};
