/* The test Echo service (tests/rpc/test.proto) served by lib/rpc, shared by the rpc
 * tests, the interop server and the benchmark. */
#ifndef MP_TEST_ECHO_SERVICE_H
#define MP_TEST_ECHO_SERVICE_H

#include <stdatomic.h>

#include "meshplane/rpc.h"
#include "test.pb-c.h"

typedef struct echo_stats {
  atomic_int cancels_seen; /* handlers that noticed their call was cancelled */
  atomic_int active;       /* handlers running now */
  atomic_int finished;     /* handlers that returned */
} echo_stats;

extern echo_stats echo_stats_g;

/* The service object to pass to mp_rpc_server_add_service. */
ProtobufCService *echo_service(void);

#endif
