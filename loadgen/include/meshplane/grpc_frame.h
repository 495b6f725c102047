/* gRPC on the wire, the parts a load generator needs: the length-prefixed message framing
 * of a stream's DATA (a 1-byte compressed flag and a 4-byte big-endian length before each
 * message), grpc-status values and the status a client reports when a server answers
 * without one (the HTTP status mapping of the gRPC specification). Pure: no I/O, no clock,
 * so the fuzz target links it alone. */
#ifndef MESHPLANE_GRPC_FRAME_H
#define MESHPLANE_GRPC_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* gRPC's default limit on a received message (4 MiB). */
#define MP_GRPC_DEFAULT_MAX_MESSAGE (4u * 1024 * 1024)

/* Status codes (grpc/include/grpc/impl/codegen/status.h numbering). */
enum {
  MP_GRPC_OK = 0,
  MP_GRPC_UNKNOWN = 2,
  MP_GRPC_PERMISSION_DENIED = 7,
  MP_GRPC_UNIMPLEMENTED = 12,
  MP_GRPC_INTERNAL = 13,
  MP_GRPC_UNAVAILABLE = 14,
  MP_GRPC_UNAUTHENTICATED = 16,
};

/* Incremental reader of the messages of one stream. Feed it the DATA bytes in any pieces;
 * it counts complete messages and stops at the first violation. */
typedef struct mp_grpc_reader {
  uint8_t prefix[5];
  uint8_t have;       /* prefix bytes of the current message seen so far */
  uint32_t left;      /* payload bytes of the current message still to come */
  uint32_t max_len;   /* larger messages are a violation */
  bool compressed_ok; /* the response named a grpc-encoding: flag 1 is allowed */
  uint64_t messages;  /* complete messages */
  uint64_t payload;   /* their payload bytes */
  const char *error;  /* the first violation (static text), or NULL */
} mp_grpc_reader;

/* max_len 0 means MP_GRPC_DEFAULT_MAX_MESSAGE. */
void mp_grpc_reader_init(mp_grpc_reader *r, uint32_t max_len);
/* Consumes len bytes; false once a violation was seen (r->error says which): a flag other
 * than 0 or 1, a compressed message without a grpc-encoding, a message over max_len. */
bool mp_grpc_reader_feed(mp_grpc_reader *r, const uint8_t *data, size_t len);
/* The stream ended: false (r->error set) when a message was cut short. */
bool mp_grpc_reader_end(mp_grpc_reader *r);

/* The framed form of one message: prefix + payload, malloc'ed (mp_malloc), *out_len set. */
uint8_t *mp_grpc_frame(const uint8_t *payload, size_t len, size_t *out_len);

/* A grpc-status value: decimal digits, 0..999999; -1 when it is not one. */
int mp_grpc_status_parse(const char *v, size_t len);
/* The status a client reports for an HTTP response without grpc-status: 400 INTERNAL,
 * 401 UNAUTHENTICATED, 403 PERMISSION_DENIED, 404 UNIMPLEMENTED, 429/502/503/504
 * UNAVAILABLE, anything else UNKNOWN. */
int mp_grpc_status_from_http(int http_status);
/* NULL when m is a gRPC method path "/package.Service/Method", else what is wrong. */
const char *mp_grpc_method_check(const char *m);

#ifdef __cplusplus
}
#endif
#endif
