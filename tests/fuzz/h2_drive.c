/* See h2_drive.h. What the event loop does with a multiplexed connection (conn.c), reduced to
 * the bookkeeping of its slots, so that every result the protocol reports can be checked:
 * it names a slot that is in flight, and no slot settles twice. */
#include "h2_drive.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void must(bool ok, const char *what) {
  if (!ok) {
    fprintf(stderr, "h2_drive: %s\n", what);
    abort();
  }
}

static void start(h2_drive *d, mp__req *r) {
  mp__conn *c = &d->c;
  must(!r->busy, "a busy slot was started again");
  r->busy = true;
  c->active++;
  d->submitted++;
  must(c->ep->proto->request(c, r) == 0, "request() failed");
}

/* Fills every free slot while the connection takes requests. */
static void refill(h2_drive *d) {
  mp__conn *c = &d->c;
  for (uint32_t i = 0; i < c->cap && c->active < c->limit; i++)
    if (!c->reqs[i].busy) start(d, &c->reqs[i]);
}

void h2_drive_init(h2_drive *d, bool grpc, uint32_t streams) {
  memset(d, 0, sizeof *d);
  mp__endpoint *ep = &d->ep;
  ep->url = grpc ? (char *)"grpc://t/pkg.S/M" : (char *)"http://t/p";
  must(mp__url_parse(ep->url, &ep->u) == MP_OK, "URL");
  ep->proto = grpc ? &mp__proto_grpc : &mp__proto_h2;
  ep->grpc = grpc;
  static const char *const headers[] = {"X-Test: 1"};
  static const uint8_t body[] = {0x0a, 0x02, 'h', 'i'};
  mp__request_parts parts = {
      .headers = headers,
      .n_headers = 1,
      .body = grpc ? NULL : body,
      .body_len = grpc ? 0 : sizeof body,
      .user_agent = "h2-drive",
      .grpc_payload = grpc ? body : NULL,
      .grpc_payload_len = grpc ? sizeof body : 0,
  };
  must(ep->proto->prepare(ep, &parts) == MP_OK, "prepare");
  mp__conn *c = &d->c;
  c->ep = ep;
  c->fd = -1;
  c->req0.c = c;
  c->cap = streams;
  c->reqs = calloc(streams, sizeof *c->reqs);
  for (uint32_t i = 0; i < streams; i++) c->reqs[i].c = c;
  ep->proto->conn_init(c);
  must(ep->proto->conn_reset(c) == 0, "conn_reset");
  c->limit = c->cap;
  c->state = MP__C_OPEN;
  refill(d);
}

size_t h2_drive_output(h2_drive *d) {
  size_t total = 0;
  const char *data;
  size_t len;
  while (!d->failed && d->ep.proto->output(&d->c, &data, &len)) total += len;
  return total;
}

/* Takes every outcome the protocol has after being fed (data may be NULL: none). */
static size_t collect(h2_drive *d, const uint8_t *data, size_t len, h2_outcome *out, size_t max) {
  mp__conn *c = &d->c;
  size_t n = 0;
  const char *p = data ? (const char *)data : "";
  for (;;) {
    mp__response r;
    size_t used = c->ep->proto->input(c, p, len, &r);
    must(used <= len, "input() used more than it was given");
    p += used;
    len -= used;
    if (r.kind == MP__RESP_NONE) {
      must(len == 0, "input() left bytes without a result");
      break;
    }
    h2_outcome o = {.kind = r.kind, .slot = UINT32_MAX, .status = r.status, .bad = r.bad};
    if (r.error) snprintf(o.error, sizeof o.error, "%s", r.error);
    must(r.kind != MP__RESP_ERROR || r.error, "an error without a reason");
    if (!r.req) {
      must(r.kind == MP__RESP_ERROR, "a result without its request");
      d->failed = true;
    } else {
      must(r.req >= c->reqs && r.req < c->reqs + c->cap, "a result for no slot");
      must(r.req->busy, "a result for a slot not in flight (settled twice?)");
      o.slot = (uint32_t)(r.req - c->reqs);
      r.req->busy = false;
      c->active--;
    }
    if (n < max) out[n] = o;
    n++;
    if (d->failed) return n;
  }
  return n;
}

size_t h2_drive_feed(h2_drive *d, const uint8_t *data, size_t len, h2_outcome *out, size_t max) {
  if (d->failed) return 0;
  size_t n = collect(d, data, len, out, max);
  if (d->failed) return n;
  h2_drive_output(d);
  n += collect(d, NULL, 0, n < max ? out + n : NULL, n < max ? max - n : 0);
  if (!d->failed) refill(d);
  return n;
}

size_t h2_drive_eof(h2_drive *d, h2_outcome *out, size_t max) {
  if (d->failed || !d->c.active) return 0;
  mp__response r;
  d->ep.proto->eof(&d->c, &r);
  must(r.kind == MP__RESP_NONE || r.kind == MP__RESP_ERROR, "eof() completed a stream");
  if (max) {
    memset(out, 0, sizeof *out);
    out->kind = r.kind == MP__RESP_ERROR ? MP__RESP_ERROR : MP__RESP_NONE;
    out->slot = UINT32_MAX;
    if (r.error) snprintf(out->error, sizeof out->error, "%s", r.error);
  }
  d->failed = true;
  return 1;
}

void h2_drive_free(h2_drive *d) {
  d->ep.proto->conn_free(&d->c);
  d->ep.proto->release(&d->ep);
  free(d->c.reqs);
  mp__url_free(&d->ep.u);
}
