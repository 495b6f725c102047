/* Private to proto_h2.c and proto_grpc.c: the HTTP/2 request template of an endpoint and
 * the HTTP/2 protocol hooks that gRPC shares. */
#ifndef MESHPLANE_LOADGEN_PROTO_H2_H
#define MESHPLANE_LOADGEN_PROTO_H2_H

#include <nghttp2/nghttp2.h>

#include "internal.h"

/* The header block and body every request of an endpoint sends (ep->h2, owned by the
 * endpoint). The name/value strings are owned here and handed to nghttp2 without copies. */
typedef struct mp__h2_template {
  nghttp2_nv *nv;
  size_t n, cap;
  char **owned;
  size_t n_owned;
  const uint8_t *body; /* borrowed from the run, or body_owned */
  size_t body_len;
  uint8_t *body_owned;
} mp__h2_template;

/* A template with the pseudo-headers (:method, :scheme, :authority, :path) and the user's
 * headers (names lowercased, HTTP/1-only fields dropped, Host as :authority). */
mp__h2_template *mp__h2_template_new(const mp__endpoint *ep, const char *method, const char *path,
                                     const mp__request_parts *parts);
/* Adds a header (copies both strings, lowercases the name). */
void mp__h2_template_add(mp__h2_template *tp, const char *name, const char *value);
bool mp__h2_template_has(const mp__h2_template *tp, const char *name);
/* The checks HTTP/1.1 makes of the request fields (header syntax, method, target). */
mp_status mp__h2_check(const mp__endpoint *ep, const mp__request_parts *parts, const char *path);
/* Frees what the template owns (not the struct itself). NULL is fine. */
void mp__h2_template_free(mp__h2_template *tp);

/* The HTTP/2 hooks, shared by the gRPC ops table. */
void mp__h2_release(mp__endpoint *ep);
void mp__h2_conn_init(mp__conn *c);
void mp__h2_conn_free(mp__conn *c);
int mp__h2_conn_reset(mp__conn *c);
int mp__h2_request(mp__conn *c, mp__req *r);
bool mp__h2_output(mp__conn *c, const char **data, size_t *len);
size_t mp__h2_input(mp__conn *c, const char *data, size_t len, mp__response *r);
void mp__h2_eof(mp__conn *c, mp__response *r);
void mp__h2_cancel(mp__conn *c, mp__req *r);

/* The ops table of a protocol over HTTP/2: its name and prepare hook, the rest HTTP/2's. */
#define MP__H2_PROTO_OPS(proto_name, prepare_fn)                                                   \
  {                                                                                                \
    .name = (proto_name), .alpn = "\x02h2", .alpn_required = true, .multiplexed = true,            \
    .prepare = (prepare_fn), .release = mp__h2_release, .conn_init = mp__h2_conn_init,             \
    .conn_free = mp__h2_conn_free, .conn_reset = mp__h2_conn_reset, .request = mp__h2_request,     \
    .output = mp__h2_output, .input = mp__h2_input, .eof = mp__h2_eof, .cancel = mp__h2_cancel,    \
  }

#endif
