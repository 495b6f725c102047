/* Result merging and latency statistics (merge.c). */
#ifndef MP_SERVER_MERGE_H
#define MP_SERVER_MERGE_H

#include "meshplane/hdr.h"
#include "meshplane/report.h"
#include "meshplane/v1/perf.pb-c.h"

/* Merges the workers' results into *out (initialized here): sums, exact histogram
 * merges, endpoints joined by URL, actual_qps = requests over the longest duration.
 * *out must be heap memory: free it with protobuf_c_message_free_unpacked, after setting
 * its string fields (id, run_id, ...) to heap strings. MP_ERR_INVALID when a histogram
 * does not decode. */
mp_status mp_result_merge(Meshplane__V1__Result *const *parts, size_t n, int sigfigs,
                          Meshplane__V1__Result *out);

#endif
