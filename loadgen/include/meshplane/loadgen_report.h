/* Outputs of a load run: the human summary, fortio-compatible JSON, the HdrHistogram
 * interval log, and the protobuf messages of meshplane.v1 (Result, Progress) that the
 * worker service streams. Pure formatting: nothing here touches the network. */
#ifndef MESHPLANE_LOADGEN_REPORT_H
#define MESHPLANE_LOADGEN_REPORT_H

#include <stdbool.h>
#include <stdio.h>

#include "meshplane/loadgen.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The percentiles every output reports. */
extern const double mp_loadgen_percentiles[6]; /* 50, 75, 90, 99, 99.9, 99.99 */

/* Writes the human summary: requested vs actual rate, errors by kind, status codes, the
 * percentile table of the corrected and uncorrected latency, per-endpoint lines when there
 * are several, and with `spectrum` the detailed percentile spectrum (like wrk2's
 * --latency). */
void mp_loadgen_print_summary(FILE *f, const mp_loadgen_result *r, bool spectrum);

/* Appends the fortio-compatible JSON document of r to out. Latencies are in seconds as
 * fortio writes them; ActualDuration in nanoseconds; NumThreads is fortio's concurrency,
 * i.e. the number of connections. meshplane's own extras (uncorrected histogram, late
 * sends, per-endpoint results) sit under "Meshplane", which fortio readers ignore.
 * labels may be NULL. */
void mp_loadgen_fortio_json(const mp_loadgen_result *r, const char *labels, mp_buf *out);

/* HdrHistogram interval log (format 1.3, as HdrHistogram's HistogramLogWriter): a header,
 * then one line per interval: start (s after the log start), length (s), max (ms),
 * V2-compressed base64 histogram. */
typedef struct mp_loadgen_hdrlog {
  FILE *f;          /* borrowed */
  int64_t start_ms; /* wall-clock origin of the interval timestamps */
  bool header_done;
} mp_loadgen_hdrlog;

/* Writes the header lines. start_ms is the log's time origin. */
mp_status mp_loadgen_hdrlog_begin(mp_loadgen_hdrlog *log, FILE *f, int64_t start_ms);
/* Writes one interval line for a progress snapshot (warm-up intervals are skipped). */
mp_status mp_loadgen_hdrlog_interval(mp_loadgen_hdrlog *log, const mp_loadgen_progress *p);

/* "2.35ms", "1.20s", "850us": a latency in µs for humans. Writes into buf, returns it. */
const char *mp_loadgen_fmt_us(double us, char *buf, size_t n);

#ifdef __cplusplus
}
#endif
#endif
