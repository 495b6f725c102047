/* gRPC message framing and status values: see meshplane/grpc_frame.h. */
#include <string.h>

#include "meshplane/base.h"
#include "meshplane/grpc_frame.h"

void mp_grpc_reader_init(mp_grpc_reader *r, uint32_t max_len) {
  memset(r, 0, sizeof *r);
  r->max_len = max_len ? max_len : MP_GRPC_DEFAULT_MAX_MESSAGE;
}

bool mp_grpc_reader_feed(mp_grpc_reader *r, const uint8_t *data, size_t len) {
  while (len && !r->error) {
    if (r->have < 5) {
      size_t want = 5 - (size_t)r->have, n = want < len ? want : len;
      memcpy(r->prefix + r->have, data, n);
      r->have = (uint8_t)(r->have + n);
      data += n;
      len -= n;
      if (r->have < 5) break;
      uint32_t mlen = (uint32_t)r->prefix[1] << 24 | (uint32_t)r->prefix[2] << 16 |
                      (uint32_t)r->prefix[3] << 8 | r->prefix[4];
      if (r->prefix[0] > 1)
        r->error = "invalid gRPC message prefix (flag is neither 0 nor 1)";
      else if (r->prefix[0] == 1 && !r->compressed_ok)
        r->error = "compressed gRPC message without a grpc-encoding";
      else if (mlen > r->max_len)
        r->error = "gRPC message larger than the limit";
      r->left = mlen;
    } else {
      size_t n = r->left < len ? r->left : len;
      r->left -= (uint32_t)n;
      r->payload += n;
      data += n;
      len -= n;
    }
    if (r->have == 5 && r->left == 0 && !r->error) {
      r->messages++;
      r->have = 0;
    }
  }
  return !r->error;
}

bool mp_grpc_reader_end(mp_grpc_reader *r) {
  if (!r->error && r->have) r->error = "the stream ended inside a gRPC message";
  return !r->error;
}

uint8_t *mp_grpc_frame(const uint8_t *payload, size_t len, size_t *out_len) {
  uint8_t *f = mp_malloc(len + 5);
  f[0] = 0;
  f[1] = (uint8_t)(len >> 24);
  f[2] = (uint8_t)(len >> 16);
  f[3] = (uint8_t)(len >> 8);
  f[4] = (uint8_t)len;
  if (len) memcpy(f + 5, payload, len);
  *out_len = len + 5;
  return f;
}

int mp_grpc_status_parse(const char *v, size_t len) {
  if (len == 0 || len > 6) return -1;
  int n = 0;
  for (size_t i = 0; i < len; i++) {
    if (v[i] < '0' || v[i] > '9') return -1;
    n = n * 10 + (v[i] - '0');
  }
  return n;
}

int mp_grpc_status_from_http(int http_status) {
  switch (http_status) {
  case 400: return MP_GRPC_INTERNAL;
  case 401: return MP_GRPC_UNAUTHENTICATED;
  case 403: return MP_GRPC_PERMISSION_DENIED;
  case 404: return MP_GRPC_UNIMPLEMENTED;
  case 429:
  case 502:
  case 503:
  case 504: return MP_GRPC_UNAVAILABLE;
  default: return MP_GRPC_UNKNOWN;
  }
}

static bool ident_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '.';
}

const char *mp_grpc_method_check(const char *m) {
  if (!m || m[0] != '/') return "a gRPC method looks like /package.Service/Method";
  const char *slash = strchr(m + 1, '/');
  if (!slash || slash == m + 1 || !slash[1])
    return "a gRPC method looks like /package.Service/Method";
  for (const char *p = m + 1; *p; p++)
    if (p != slash && !ident_char(*p))
      return "a gRPC method holds letters, digits, '_' and '.' besides its two '/'";
  return NULL;
}
