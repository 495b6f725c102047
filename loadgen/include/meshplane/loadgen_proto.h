/* The engine's types <-> the meshplane.v1 messages the worker service speaks
 * (protos/meshplane/v1/perf.proto), so the LoadGenerator service is a thin layer:
 * LoadSpec -> mp_loadgen_spec -> run -> Progress* -> Result. */
#ifndef MESHPLANE_LOADGEN_PROTO_H
#define MESHPLANE_LOADGEN_PROTO_H

#include "meshplane/loadgen.h"
#include "meshplane/v1/perf.pb-c.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Fills *out from a LoadSpec, options included (protocol, streams per connection, TLS CA,
 * SNI and insecure, gRPC method and payload). Every pointer in *out is borrowed from `in`
 * (keep it alive until mp_loadgen_start returns); the progress callback is left for the
 * caller. MP_ERR_INVALID with a message for bad input (a duration like "10parsecs", an
 * unknown protocol) - the service answers INVALID_ARGUMENT with it. */
mp_status mp_loadgen_spec_from_proto(const Meshplane__V1__LoadSpec *in, mp_loadgen_spec *out);

/* Initializes *out and fills it from an ended run's result: counters, status, error,
 * corrected and uncorrected LatencyStats (with the V2 base64 histogram), per-endpoint
 * results. The identifying strings (id, run_id, profile_*, service_mesh, workers) are left
 * empty for the caller to point at its own strings. Release what this call allocated with
 * mp_loadgen_proto_result_clear(). */
mp_status mp_loadgen_result_to_proto(const mp_loadgen_result *r, Meshplane__V1__Result *out);
void mp_loadgen_proto_result_clear(Meshplane__V1__Result *m);

/* Initializes *out and fills it from one progress snapshot. run_id and worker are borrowed
 * (may be NULL). Release with mp_loadgen_proto_progress_clear(). */
mp_status mp_loadgen_progress_to_proto(const mp_loadgen_progress *p, const char *run_id,
                                       const char *worker, Meshplane__V1__Progress *out);
void mp_loadgen_proto_progress_clear(Meshplane__V1__Progress *m);

/* Fills a LatencyStats (initialized here) from a histogram: count, min, max, mean,
 * stddev, the standard percentiles and the encoded histogram. Release with
 * mp_loadgen_proto_latency_clear(). */
mp_status mp_loadgen_latency_to_proto(const mp_hdr *h, Meshplane__V1__LatencyStats *out);
void mp_loadgen_proto_latency_clear(Meshplane__V1__LatencyStats *m);

#ifdef __cplusplus
}
#endif
#endif
