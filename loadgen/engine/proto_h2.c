/* HTTP/2 as an engine protocol, with Debian's libnghttp2: h2c with prior knowledge over
 * plain TCP, h2 over TLS (ALPN). Multiplexed: a connection carries up to c->limit requests
 * at once, one stream each, in the request slots the loop owns (c->reqs); each stream's
 * user data is its slot. gRPC (proto_grpc.c) is this protocol with another request
 * template and another reading of the response (the ep->grpc branches below).
 *
 * nghttp2 does the framing, HPACK, flow control and the checks of the responses; this file
 * feeds it bytes (input), takes the frames it wants to send (output, gathered into one
 * buffer so that one write carries many frames), and turns its callbacks into results:
 * DONE when a stream ends cleanly, ERROR when it was reset, RETRY when the server refused
 * it unprocessed (REFUSED_STREAM: streams beyond a GOAWAY, or over the server's stream
 * limit). A GOAWAY sets the connection's limit to 0: the loop sends nothing more on it and
 * reconnects once its last stream is done. SETTINGS_MAX_CONCURRENT_STREAMS lowers the
 * limit below --streams.
 *
 * Results are produced inside nghttp2's callbacks and queued; input() hands them to the
 * loop one at a time after nghttp2 has returned, so the loop never re-enters nghttp2 from a
 * callback. A slot whose stream was cancelled (timeout) may carry a new stream before the
 * old one's frames arrive: every callback checks the stream id against the slot's. */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "meshplane/grpc_frame.h"
#include "proto_h2.h"

/* Receive windows: large enough that a response body never waits for a WINDOW_UPDATE. */
#define WINDOW (16 * 1024 * 1024)
/* Frames gathered for one write. */
#define OUT_CHUNK (64 * 1024)
/* Streams the server is assumed to allow before its SETTINGS arrive (RFC 9113 asks
 * servers for at least 100). */
#define ASSUMED_STREAMS 100

/* One stream, in the slot of its request. */
typedef struct h2_stream {
  int32_t id; /* 0 before the request is submitted */
  int status;
  int grpc_status; /* -1: none seen */
  bool settled;    /* its result is queued: later callbacks ignore it */
  bool not_grpc;   /* gRPC: a 200 response whose content-type is not application/grpc */
  bool peer_reset; /* the server sent RST_STREAM */
  bool bad_status; /* a :status outside 100..599 (the stream is reset) */
  uint64_t header_bytes, wire_bytes;
  size_t body_off;
  mp_grpc_reader grpc;
} h2_stream;

/* A result waiting to be handed out by input(). */
typedef struct h2_result {
  mp__req *req;
  mp__resp_kind kind;
  int status;
  bool bad;
  uint64_t header_bytes, wire_bytes;
  char error[120];
} h2_result;

/* A connection's HTTP/2 state (c->proto.h2), from conn_init to conn_free; the session is
 * replaced on every reconnect. */
typedef struct mp__h2 {
  mp__conn *c;
  nghttp2_session *s;
  h2_stream *st;   /* c->cap entries, parallel to c->reqs */
  h2_result *done; /* ring of c->cap results */
  uint32_t d_head, d_len;
  mp_buf out;      /* frames gathered for the loop to write */
  bool goaway;     /* the server sent GOAWAY */
  bool got_bytes;  /* anything received on this connection */
  char error[160]; /* why the session failed, for the connection's error */
} mp__h2;

/* ---- the endpoint's request template ------------------------------------------------------ */

void mp__h2_template_add(mp__h2_template *tp, const char *name, const char *value) {
  if (tp->n == tp->cap) {
    tp->cap = tp->cap ? 2 * tp->cap : 16;
    tp->nv = mp_realloc(tp->nv, tp->cap * sizeof *tp->nv);
    tp->owned = mp_realloc(tp->owned, 2 * tp->cap * sizeof *tp->owned);
  }
  char *n = mp_strdup(name), *v = mp_strdup(value);
  for (char *p = n; *p; p++)
    if (*p >= 'A' && *p <= 'Z') *p = (char)(*p - 'A' + 'a'); /* HTTP/2 names are lower case */
  tp->owned[tp->n_owned++] = n;
  tp->owned[tp->n_owned++] = v;
  tp->nv[tp->n++] = (nghttp2_nv){
      .name = (uint8_t *)n,
      .value = (uint8_t *)v,
      .namelen = strlen(n),
      .valuelen = strlen(v),
      .flags = NGHTTP2_NV_FLAG_NO_COPY_NAME | NGHTTP2_NV_FLAG_NO_COPY_VALUE,
  };
}

bool mp__h2_template_has(const mp__h2_template *tp, const char *name) {
  for (size_t i = 0; i < tp->n; i++)
    if (!strcmp((const char *)tp->nv[i].name, name)) return true;
  return false;
}

/* Connection-specific HTTP/1 fields have no place in HTTP/2 (RFC 9113 8.2.2). */
static bool h1_only(const char *name, size_t len) {
  static const char *const names[] = {"connection", "keep-alive",        "proxy-connection",
                                      "upgrade",    "transfer-encoding", "host"};
  for (size_t i = 0; i < MP_ARRAY_LEN(names); i++)
    if (strlen(names[i]) == len && !strncasecmp(name, names[i], len)) return true;
  return false;
}

mp__h2_template *mp__h2_template_new(const mp__endpoint *ep, const char *method, const char *path,
                                     const mp__request_parts *parts) {
  const char *authority = ep->u.host_header;
  for (size_t i = 0; i < parts->n_headers; i++) {
    const char *h = parts->headers[i], *v = strchr(h, ':') + 1;
    while (*v == ' ' || *v == '\t') v++;
    if (!strncasecmp(h, "host:", 5)) authority = v;
  }
  mp__h2_template *tp = mp_calloc(1, sizeof *tp);
  /* The pseudo-headers first (RFC 9113 8.3). */
  mp__h2_template_add(tp, ":method", method);
  bool tls = !strcmp(ep->u.scheme, "https") || !strcmp(ep->u.scheme, "grpcs");
  mp__h2_template_add(tp, ":scheme", tls ? "https" : "http");
  mp__h2_template_add(tp, ":authority", authority);
  mp__h2_template_add(tp, ":path", path);
  for (size_t i = 0; i < parts->n_headers; i++) {
    const char *h = parts->headers[i], *colon = strchr(h, ':'), *v = colon + 1;
    while (*v == ' ' || *v == '\t') v++;
    if (h1_only(h, (size_t)(colon - h))) continue;
    char *name = mp_strndup(h, (size_t)(colon - h));
    mp__h2_template_add(tp, name, v);
    mp_free(name);
  }
  return tp;
}

void mp__h2_template_free(mp__h2_template *tp) {
  if (!tp) return;
  for (size_t i = 0; i < tp->n_owned; i++) mp_free(tp->owned[i]);
  mp_free(tp->owned);
  mp_free(tp->nv);
  mp_free(tp->body_owned);
  memset(tp, 0, sizeof *tp);
}

mp_status mp__h2_check(const mp__endpoint *ep, const mp__request_parts *parts, const char *path) {
  /* The same checks as HTTP/1.1 (header syntax, method, target): build that once. */
  mp_h1_request req = {
      .method = parts->method,
      .host = ep->u.host_header,
      .target = path,
      .headers = parts->headers,
      .n_headers = parts->n_headers,
      .cookies = parts->cookies,
      .content_type = parts->content_type,
      .body = parts->body,
      .body_len = parts->body_len,
      .user_agent = parts->user_agent,
  };
  char *h1 = NULL;
  size_t h1_len = 0;
  mp_status st = mp_h1_request_build(&req, &h1, &h1_len);
  mp_free(h1);
  return st;
}

static mp_status h2_prepare(mp__endpoint *ep, const mp__request_parts *parts) {
  mp_status st = mp__h2_check(ep, parts, ep->u.target);
  if (st != MP_OK) return st;
  const char *method = parts->method && *parts->method ? parts->method
                       : parts->body_len               ? "POST"
                                                       : "GET";
  mp__h2_template *tp = mp__h2_template_new(ep, method, ep->u.target, parts);
  ep->h2 = tp;
  if (parts->user_agent && !mp__h2_template_has(tp, "user-agent"))
    mp__h2_template_add(tp, "user-agent", parts->user_agent);
  if (parts->cookies && *parts->cookies) mp__h2_template_add(tp, "cookie", parts->cookies);
  if (parts->content_type && *parts->content_type && !mp__h2_template_has(tp, "content-type"))
    mp__h2_template_add(tp, "content-type", parts->content_type);
  if (parts->body_len || !strcmp(method, "POST") || !strcmp(method, "PUT") ||
      !strcmp(method, "PATCH")) {
    char n[24];
    snprintf(n, sizeof n, "%zu", parts->body_len);
    mp__h2_template_add(tp, "content-length", n);
  }
  tp->body = parts->body;
  tp->body_len = parts->body_len;
  return MP_OK;
}

void mp__h2_release(mp__endpoint *ep) {
  mp__h2_template_free(ep->h2);
  mp_free(ep->h2);
  ep->h2 = NULL;
}

/* ---- results ------------------------------------------------------------------------------ */

static h2_stream *stream_of(mp__h2 *h, const mp__req *r) { return &h->st[r - h->c->reqs]; }

/* The slot of a stream, while the stream is still the slot's (not cancelled, not reused,
 * not settled). */
static mp__req *slot_of(mp__h2 *h, int32_t id) {
  mp__req *r = nghttp2_session_get_stream_user_data(h->s, id);
  if (!r) return NULL;
  h2_stream *st = stream_of(h, r);
  return st->id == id && !st->settled ? r : NULL;
}

static void settle(mp__h2 *h, mp__req *r, mp__resp_kind kind, const char *fmt, ...) MP_PRINTF(4, 5);
static void settle(mp__h2 *h, mp__req *r, mp__resp_kind kind, const char *fmt, ...) {
  h2_stream *st = stream_of(h, r);
  st->settled = true;
  h2_result *d = &h->done[(h->d_head + h->d_len++) % h->c->cap];
  memset(d, 0, sizeof *d);
  d->req = r;
  d->kind = kind;
  d->header_bytes = st->header_bytes;
  d->wire_bytes = st->wire_bytes;
  if (fmt) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(d->error, sizeof d->error, fmt, ap);
    va_end(ap);
  }
  if (kind != MP__RESP_DONE) return;
  if (!h->c->ep->grpc) {
    d->status = st->status;
    d->bad = st->status < 200 || st->status >= 400;
    return;
  }
  /* gRPC: the status is grpc-status (from the trailers, or a trailers-only response);
   * without it, the HTTP status mapped as the gRPC specification says. A broken message
   * framing makes the response invalid. */
  if (st->status == 200 && st->not_grpc) {
    d->kind = MP__RESP_ERROR;
    snprintf(d->error, sizeof d->error, "the response is not gRPC (content-type)");
    return;
  }
  if (st->status == 200 && !mp_grpc_reader_end(&st->grpc)) {
    d->kind = MP__RESP_ERROR;
    snprintf(d->error, sizeof d->error, "%s", st->grpc.error);
    return;
  }
  d->status = st->grpc_status >= 0 ? st->grpc_status
              : st->status == 200  ? MP_GRPC_UNKNOWN
                                   : mp_grpc_status_from_http(st->status);
  d->bad = d->status != MP_GRPC_OK;
}

/* ---- nghttp2's callbacks (user_data: the connection's mp__h2) ------------------------------- */

static int on_header(nghttp2_session *s, const nghttp2_frame *frame, const uint8_t *name,
                     size_t namelen, const uint8_t *value, size_t valuelen, uint8_t flags,
                     void *user_data) {
  (void)s, (void)flags;
  mp__h2 *h = user_data;
  if (frame->hd.type != NGHTTP2_HEADERS) return 0;
  mp__req *r = slot_of(h, frame->hd.stream_id);
  if (!r) return 0;
  h2_stream *st = stream_of(h, r);
  if (namelen == 7 && !memcmp(name, ":status", 7)) {
    st->status = mp_grpc_status_parse((const char *)value, valuelen); /* 3 digits, checked */
    if (st->status < 100 || st->status > 599) { /* as the HTTP/1.1 parser admits */
      st->bad_status = true;
      return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE; /* resets the stream */
    }
  } else if (h->c->ep->grpc) {
    if (namelen == 11 && !memcmp(name, "grpc-status", 11))
      st->grpc_status = mp_grpc_status_parse((const char *)value, valuelen);
    else if (namelen == 13 && !memcmp(name, "grpc-encoding", 13))
      st->grpc.compressed_ok = !(valuelen == 8 && !memcmp(value, "identity", 8));
    else if (namelen == 12 && !memcmp(name, "content-type", 12) &&
             frame->headers.cat == NGHTTP2_HCAT_RESPONSE)
      st->not_grpc = valuelen < 16 || memcmp(value, "application/grpc", 16) != 0 ||
                     (valuelen > 16 && value[16] != '+' && value[16] != ';');
  }
  return 0;
}

static int on_data(nghttp2_session *s, uint8_t flags, int32_t id, const uint8_t *data, size_t len,
                   void *user_data) {
  (void)s, (void)flags;
  mp__h2 *h = user_data;
  mp__req *r;
  /* Only a 200 response carries gRPC messages; other bodies are a proxy's error page. */
  if (h->c->ep->grpc && (r = slot_of(h, id)) != NULL && stream_of(h, r)->status == 200)
    mp_grpc_reader_feed(&stream_of(h, r)->grpc, data, len);
  return 0;
}

/* The server's stream limit, or ours if lower; none after GOAWAY. */
static void update_limit(mp__h2 *h) {
  uint32_t peer =
      nghttp2_session_get_remote_settings(h->s, NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS);
  h->c->limit = h->goaway ? 0 : peer < h->c->cap ? peer : h->c->cap;
}

static int on_frame(nghttp2_session *s, const nghttp2_frame *frame, void *user_data) {
  (void)s;
  mp__h2 *h = user_data;
  mp__req *r;
  switch (frame->hd.type) {
  case NGHTTP2_SETTINGS:
    if (!(frame->hd.flags & NGHTTP2_FLAG_ACK)) update_limit(h);
    break;
  case NGHTTP2_GOAWAY:
    h->goaway = true;
    update_limit(h);
    if (frame->goaway.error_code != NGHTTP2_NO_ERROR && !h->error[0])
      snprintf(h->error, sizeof h->error, "the server sent GOAWAY (%s)",
               nghttp2_http2_strerror(frame->goaway.error_code));
    break;
  case NGHTTP2_RST_STREAM:
    if ((r = slot_of(h, frame->hd.stream_id)) != NULL) stream_of(h, r)->peer_reset = true;
    break;
  case NGHTTP2_HEADERS:
  case NGHTTP2_DATA:
    if ((r = slot_of(h, frame->hd.stream_id)) != NULL) {
      h2_stream *st = stream_of(h, r);
      st->wire_bytes += frame->hd.length + 9;
      if (frame->hd.type == NGHTTP2_HEADERS) st->header_bytes += frame->hd.length + 9;
    }
    break;
  default: break;
  }
  return 0;
}

static int on_close(nghttp2_session *s, int32_t id, uint32_t code, void *user_data) {
  (void)s;
  mp__h2 *h = user_data;
  mp__req *r = slot_of(h, id);
  if (!r) return 0;
  h2_stream *st = stream_of(h, r);
  if (st->bad_status)
    settle(h, r, MP__RESP_ERROR, "invalid HTTP/2 response (:status %03d)", st->status);
  else if (code == NGHTTP2_REFUSED_STREAM)
    settle(h, r, MP__RESP_RETRY, NULL);
  else if (code != NGHTTP2_NO_ERROR && st->peer_reset)
    settle(h, r, MP__RESP_ERROR, "the server reset the stream (%s)", nghttp2_http2_strerror(code));
  else if (code != NGHTTP2_NO_ERROR)
    settle(h, r, MP__RESP_ERROR, "invalid HTTP/2 response (stream error %s)",
           nghttp2_http2_strerror(code));
  else if (!st->status)
    settle(h, r, MP__RESP_ERROR, "the stream ended without a response");
  else
    settle(h, r, MP__RESP_DONE, NULL);
  return 0;
}

/* A request whose HEADERS could not leave (a GOAWAY came first): it never reached the
 * server, so it is sent again elsewhere. Its stream was never opened: find it by id. */
static int on_not_sent(nghttp2_session *s, const nghttp2_frame *frame, int err, void *user_data) {
  (void)s, (void)err;
  mp__h2 *h = user_data;
  if (frame->hd.type != NGHTTP2_HEADERS) return 0;
  for (uint32_t i = 0; i < h->c->cap; i++) {
    mp__req *r = &h->c->reqs[i];
    if (r->busy && h->st[i].id == frame->hd.stream_id && !h->st[i].settled) {
      settle(h, r, MP__RESP_RETRY, NULL);
      break;
    }
  }
  return 0;
}

static int on_error(nghttp2_session *s, int code, const char *msg, size_t len, void *user_data) {
  (void)s, (void)code;
  mp__h2 *h = user_data;
  if (!h->error[0]) snprintf(h->error, sizeof h->error, "%.*s", (int)len, msg);
  return 0;
}

static ssize_t body_read(nghttp2_session *s, int32_t id, uint8_t *buf, size_t length,
                         uint32_t *flags, nghttp2_data_source *source, void *user_data) {
  (void)s;
  mp__h2 *h = user_data;
  h2_stream *st = source->ptr;
  /* A cancelled stream whose slot carries a new one: stop it. */
  if (st->id != id) return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
  const mp__h2_template *tp = h->c->ep->h2;
  size_t n = tp->body_len - st->body_off < length ? tp->body_len - st->body_off : length;
  memcpy(buf, tp->body + st->body_off, n);
  st->body_off += n;
  if (st->body_off == tp->body_len) *flags |= NGHTTP2_DATA_FLAG_EOF;
  return (ssize_t)n;
}

/* ---- allocation through mp_malloc (aborts on OOM, like the rest of meshplane) -------------- */

static void *mem_malloc(size_t n, void *ud) { return (void)ud, mp_malloc(n ? n : 1); }
static void mem_free(void *p, void *ud) { (void)ud, mp_free(p); }
static void *mem_calloc(size_t n, size_t size, void *ud) {
  return (void)ud, mp_calloc(n ? n : 1, size ? size : 1);
}
static void *mem_realloc(void *p, size_t n, void *ud) { return (void)ud, mp_realloc(p, n ? n : 1); }
static nghttp2_mem mem = {NULL, mem_malloc, mem_free, mem_calloc, mem_realloc};

static nghttp2_session_callbacks *callbacks;
static nghttp2_option *options;
static pthread_once_t setup_once = PTHREAD_ONCE_INIT;

static void setup(void) {
  nghttp2_session_callbacks_new(&callbacks);
  nghttp2_session_callbacks_set_on_header_callback(callbacks, on_header);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(callbacks, on_data);
  nghttp2_session_callbacks_set_on_frame_recv_callback(callbacks, on_frame);
  nghttp2_session_callbacks_set_on_stream_close_callback(callbacks, on_close);
  nghttp2_session_callbacks_set_on_frame_not_send_callback(callbacks, on_not_sent);
  nghttp2_session_callbacks_set_error_callback2(callbacks, on_error);
  nghttp2_option_new(&options);
  nghttp2_option_set_peer_max_concurrent_streams(options, ASSUMED_STREAMS);
}

/* ---- the protocol hooks ---------------------------------------------------------------------- */

void mp__h2_conn_init(mp__conn *c) {
  pthread_once(&setup_once, setup);
  mp__h2 *h = mp_calloc(1, sizeof *h);
  h->c = c;
  h->st = mp_calloc(c->cap, sizeof *h->st);
  h->done = mp_calloc(c->cap, sizeof *h->done);
  c->proto.h2 = h;
}

void mp__h2_conn_free(mp__conn *c) {
  mp__h2 *h = c->proto.h2;
  if (!h) return;
  nghttp2_session_del(h->s);
  mp_free(h->st);
  mp_free(h->done);
  mp_buf_free(&h->out);
  mp_free(h);
  c->proto.h2 = NULL;
}

int mp__h2_conn_reset(mp__conn *c) {
  mp__h2 *h = c->proto.h2;
  nghttp2_session_del(h->s);
  h->s = NULL;
  memset(h->st, 0, c->cap * sizeof *h->st);
  h->d_head = h->d_len = 0;
  h->goaway = h->got_bytes = false;
  h->error[0] = '\0';
  mp_buf_reset(&h->out);
  if (nghttp2_session_client_new3(&h->s, callbacks, h, options, &mem) != 0) return -1;
  nghttp2_settings_entry iv[] = {
      {NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
      {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, WINDOW},
  };
  if (nghttp2_submit_settings(h->s, NGHTTP2_FLAG_NONE, iv, MP_ARRAY_LEN(iv)) != 0 ||
      nghttp2_session_set_local_window_size(h->s, NGHTTP2_FLAG_NONE, 0, WINDOW) != 0)
    return -1;
  return 0;
}

int mp__h2_request(mp__conn *c, mp__req *r) {
  mp__h2 *h = c->proto.h2;
  const mp__h2_template *tp = c->ep->h2;
  h2_stream *st = stream_of(h, r);
  memset(st, 0, sizeof *st);
  st->grpc_status = -1;
  if (c->ep->grpc) mp_grpc_reader_init(&st->grpc, 0);
  nghttp2_data_provider body = {.source.ptr = st, .read_callback = body_read};
  int32_t id = nghttp2_submit_request(h->s, NULL, tp->nv, tp->n, tp->body_len ? &body : NULL, r);
  if (id == NGHTTP2_ERR_STREAM_ID_NOT_AVAILABLE) {
    /* Stream ids are used up: this connection is done, the request goes elsewhere. */
    c->limit = 0;
    h->goaway = true;
    st->id = -1;
    settle(h, r, MP__RESP_RETRY, NULL);
    return 0;
  }
  if (id < 0) return -1;
  st->id = id;
  return 0;
}

bool mp__h2_output(mp__conn *c, const char **data, size_t *len) {
  mp__h2 *h = c->proto.h2;
  mp_buf_reset(&h->out);
  while (h->out.len < OUT_CHUNK) {
    const uint8_t *p;
    ssize_t n = nghttp2_session_mem_send(h->s, &p);
    if (n <= 0) {
      if (n < 0 && !h->error[0])
        snprintf(h->error, sizeof h->error, "HTTP/2: %s", nghttp2_strerror((int)n));
      break;
    }
    mp_buf_append(&h->out, p, (size_t)n);
  }
  *data = h->out.data;
  *len = h->out.len;
  return h->out.len > 0;
}

size_t mp__h2_input(mp__conn *c, const char *data, size_t len, mp__response *r) {
  mp__h2 *h = c->proto.h2;
  memset(r, 0, sizeof *r);
  if (len) {
    if (!h->got_bytes && len >= 5 && !memcmp(data, "HTTP/", 5)) {
      r->kind = MP__RESP_ERROR;
      r->error = "the server answered in HTTP/1: it does not speak HTTP/2 with prior knowledge "
                 "(h2c) on this port";
      return len;
    }
    h->got_bytes = true;
    ssize_t n = nghttp2_session_mem_recv(h->s, (const uint8_t *)data, len);
    if (n < 0) {
      snprintf(h->error, sizeof h->error, "invalid HTTP/2 data: %s", nghttp2_strerror((int)n));
      r->kind = MP__RESP_ERROR;
      r->error = h->error;
      return len;
    }
  }
  if (h->d_len) {
    h2_result *d = &h->done[h->d_head];
    h->d_head = (h->d_head + 1) % c->cap;
    h->d_len--;
    r->kind = d->kind;
    r->req = d->req;
    r->status = d->status;
    r->bad = d->bad;
    r->header_bytes = d->header_bytes;
    r->wire_bytes = d->wire_bytes;
    r->error = d->error;
    return len;
  }
  if (!nghttp2_session_want_read(h->s)) {
    /* The session ended (GOAWAY done, or nghttp2 gave up on a broken peer). */
    c->limit = 0;
    if (c->active) {
      r->kind = MP__RESP_ERROR;
      r->error = h->error[0] ? h->error : "the HTTP/2 session ended";
    }
  }
  return len;
}

void mp__h2_eof(mp__conn *c, mp__response *r) {
  mp__h2 *h = c->proto.h2;
  memset(r, 0, sizeof *r);
  if (h->error[0]) {
    r->kind = MP__RESP_ERROR;
    r->error = h->error;
  }
}

void mp__h2_cancel(mp__conn *c, mp__req *r) {
  mp__h2 *h = c->proto.h2;
  h2_stream *st = stream_of(h, r);
  st->settled = true; /* whatever still comes for it is ignored */
  if (st->id > 0) nghttp2_submit_rst_stream(h->s, NGHTTP2_FLAG_NONE, st->id, NGHTTP2_CANCEL);
}

const mp__proto_ops mp__proto_h2 = MP__H2_PROTO_OPS("h2", h2_prepare);
