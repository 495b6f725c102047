/* libFuzzer target for what an HTTP/2 or gRPC server sends the load generator: the HTTP/2
 * protocol (loadgen/engine/proto_h2.c, nghttp2 underneath) and gRPC's reading of its
 * responses (proto_grpc.c, grpc/frame.c), driven by h2_drive without a network.
 *
 * Input: two mode bytes (bit 0 of the first: gRPC; bits 1-3: request slots - 1; the second:
 * the piece size - 1), then the server's bytes, fed in pieces of that size with the
 * client's frames taken between pieces, then the connection closes. Besides the
 * sanitizers' checks (and h2_drive's own: every result names a slot in flight, none settles
 * twice), each outcome must be well-formed. */
#include <stdint.h>
#include <stdlib.h>

#include "h2_drive.h"
#include "meshplane/grpc_frame.h"

static void require(int ok) {
  if (!ok) abort();
}

static void check(const h2_drive *d, const h2_outcome *o, size_t n) {
  for (size_t i = 0; i < n; i++) {
    switch (o[i].kind) {
    case MP__RESP_DONE:
      require(o[i].slot < d->c.cap);
      if (d->ep.grpc) {
        require(o[i].status >= 0 && o[i].status <= 999999);
        require(o[i].bad == (o[i].status != MP_GRPC_OK));
      } else {
        require(o[i].status >= 100 && o[i].status <= 599);
        require(o[i].bad == (o[i].status < 200 || o[i].status >= 400));
      }
      break;
    case MP__RESP_RETRY: require(o[i].slot < d->c.cap); break;
    case MP__RESP_ERROR: require(o[i].error[0] != '\0'); break;
    default: require(0);
    }
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 2) return 0;
  bool grpc = data[0] & 1;
  uint32_t streams = 1 + ((data[0] >> 1) & 7);
  size_t piece = (size_t)data[1] + 1;
  data += 2;
  size -= 2;
  h2_drive d;
  h2_drive_init(&d, grpc, streams);
  h2_drive_output(&d);
  h2_outcome out[32];
  for (size_t pos = 0; pos < size && !d.failed; pos += piece) {
    size_t n = size - pos < piece ? size - pos : piece;
    size_t got = h2_drive_feed(&d, data + pos, n, out, 32);
    check(&d, out, got < 32 ? got : 32);
  }
  size_t got = h2_drive_eof(&d, out, 1);
  require(got <= 1);
  h2_drive_free(&d);
  return 0;
}
