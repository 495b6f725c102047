/* libFuzzer target for the gRPC message reader (loadgen/grpc/frame.c).
 *
 * Input: one mode byte (bit 0: a grpc-encoding was named, so compressed messages are
 * allowed; the rest: the piece size - 1), then a stream's DATA bytes. They are read whole
 * and again in pieces: both readings must agree on the messages, the payload and the
 * violation, and the counts must add up. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "meshplane/grpc_frame.h"

static void require(int ok) {
  if (!ok) abort();
}

static void read_all(const uint8_t *data, size_t size, size_t piece, bool compressed,
                     mp_grpc_reader *r) {
  mp_grpc_reader_init(r, 1 << 20);
  r->compressed_ok = compressed;
  for (size_t pos = 0; pos < size; pos += piece) {
    size_t n = size - pos < piece ? size - pos : piece;
    bool ok = mp_grpc_reader_feed(r, data + pos, n);
    require(ok == (r->error == NULL));
    if (!ok) break;
  }
  mp_grpc_reader_end(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  bool compressed = data[0] & 1;
  size_t piece = (size_t)(data[0] >> 1) + 1;
  data++;
  size--;
  mp_grpc_reader a, b;
  read_all(data, size, size ? size : 1, compressed, &a);
  read_all(data, size, piece, compressed, &b);
  require(a.messages == b.messages && a.payload == b.payload);
  require((a.error == NULL) == (b.error == NULL));
  require(!a.error || !b.error || strcmp(a.error, b.error) == 0);
  require(a.payload + 5 * a.messages <= size);
  if (!a.error) require(a.payload + 5 * a.messages == size);
  return 0;
}
