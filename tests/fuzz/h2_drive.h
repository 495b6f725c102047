/* Drives the load generator's HTTP/2 and gRPC protocols (loadgen/engine/proto_h2.c,
 * proto_grpc.c) without a network or an event loop: one connection with its request slots,
 * every slot carrying a request, and server bytes fed as if they had been read. Used by
 * fuzz_h2_response.c and by tests/loadgen/test_h2_frames.c. */
#ifndef MESHPLANE_TESTS_H2_DRIVE_H
#define MESHPLANE_TESTS_H2_DRIVE_H

#include "internal.h"

typedef struct h2_outcome {
  mp__resp_kind kind;
  uint32_t slot; /* index in the connection's slots; UINT32_MAX: the whole connection */
  int status;
  bool bad;
  char error[160];
} h2_outcome;

typedef struct h2_drive {
  mp__endpoint ep;
  mp__conn c;
  mp_loadgen_run *run; /* unused by the protocol: NULL */
  uint64_t submitted;  /* requests started */
  bool failed;         /* the connection failed: nothing more is fed */
} h2_drive;

/* Prepares an endpoint ("http://t/p" for HTTP/2, "grpc://t/pkg.S/M" for gRPC), a connection
 * with `streams` slots, its session, and a request in every slot. Aborts on failure. */
void h2_drive_init(h2_drive *d, bool grpc, uint32_t streams);
/* Takes (and drops) what the client wants to write. Returns the bytes taken. */
size_t h2_drive_output(h2_drive *d);
/* Feeds server bytes and collects the outcomes (at most max; more are dropped). Settled
 * slots are freed and, while the connection allows it, carry a new request. Returns the
 * number of outcomes. */
size_t h2_drive_feed(h2_drive *d, const uint8_t *data, size_t len, h2_outcome *out, size_t max);
/* The connection closed (EOF): like feed, for what the protocol reports then. */
size_t h2_drive_eof(h2_drive *d, h2_outcome *out, size_t max);
void h2_drive_free(h2_drive *d);

#endif
