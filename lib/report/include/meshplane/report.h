/* Results for people and other tools: fortio-compatible JSON, the SMP
 * PerformanceTestResult (YAML), the HdrHistogram interval log, and a text table. Every
 * writer works from the meshplane.v1.Result message (what workers send, what the server
 * stores), so the load generator's CLI, the server's export and meshctl print the same. */
#ifndef MESHPLANE_REPORT_H
#define MESHPLANE_REPORT_H

#include <stdbool.h>
#include <stdint.h>

#include "meshplane/base.h"
#include "meshplane/hdr.h"
#include "meshplane/v1/perf.pb-c.h"

#ifdef __cplusplus
extern "C" {
#endif

/* 50, 75, 90, 99, 99.9, 99.99: what every result reports. */
extern const double mp_report_percentiles[6];

/* JSON pieces: a quoted, escaped string (NULL as ""), and a finite number. */
void mp_json_str(mp_buf *b, const char *s);
void mp_json_num(mp_buf *b, double v);

/* Initializes *out and fills it from h: count, min, max, mean, stddev, the standard
 * percentiles, the V2 base64 histogram. What it allocates is freed by
 * protobuf_c_message_free_unpacked on the message holding it (heap messages). */
mp_status mp_report_latency_fill(Meshplane__V1__LatencyStats *out, const mp_hdr *h);
/* The value of percentile p in a LatencyStats' list, 0 when absent. */
int64_t mp_report_latency_at(const Meshplane__V1__LatencyStats *ls, double p);

/* Appends fortio's JSON result document (RunType, StartTime, RequestedQPS,
 * RequestedDuration, ActualQPS, ActualDuration, NumThreads, DurationHistogram{Count, Min,
 * Max, Sum, Avg, StdDev, Data[], Percentiles[]}, RetCodes, Sizes, HeaderSizes, URL,
 * SocketCount) for r; latencies in seconds as fortio writes them. meshplane's extras
 * (uncorrected latency, late sends, endpoints, workers) sit under "Meshplane".
 * MP_ERR_INVALID when the histogram does not decode. */
mp_status mp_report_fortio_json(const Meshplane__V1__Result *r, const char *labels, mp_buf *out);

/* Appends an SMP (service mesh performance) PerformanceTestResult in YAML: latencies in
 * ms (min, average, p50, p90, p99, max), actual_qps, start and end time, and the
 * details meshplane has. */
mp_status mp_report_smp_yaml(const Meshplane__V1__Result *r, mp_buf *out);

/* Appends an HdrHistogram interval log (format 1.3): header lines, then one line per
 * interval: start (s from start_ms), length (s), max (ms), V2 base64 histogram. */
mp_status mp_report_hdr_log(const char *const *intervals, size_t n, int64_t start_ms,
                            double interval_s, mp_buf *out);

/* ---- any message as JSON or YAML (protobuf-c reflection) -------------------------------
 * Keys are the .proto field names (snake_case); enums are written by value name, bytes as
 * base64, 64-bit integers as plain numbers, maps as objects with string keys, non-finite
 * doubles as "NaN"/"Infinity" (JSON) or .nan/.inf (YAML). Every proto3 field is written,
 * zero values included, so scripts can rely on keys being there; unset oneof members and
 * absent sub-messages are left out (in repeated/map values they are null). */
typedef struct mp_report_msg_opts {
  int indent;         /* JSON: spaces per level; 0 writes one compact line. YAML: unused */
  int depth;          /* nesting level to start at, to embed the output in a larger
                         document (JSON: indentation of closing lines; YAML: 2 spaces each) */
  bool omit_defaults; /* leave out proto3 fields at their zero value and empty lists */
} mp_report_msg_opts;

/* Appends m (borrowed; NULL gives null) as a JSON object, without a final newline. o may
 * be NULL for compact output. */
void mp_report_message_json(const ProtobufCMessage *m, const mp_report_msg_opts *o, mp_buf *out);
/* Appends m as a YAML block mapping, each line indented by 2 * o->depth, ending in a
 * newline; a message with nothing to write is "{}". */
void mp_report_message_yaml(const ProtobufCMessage *m, const mp_report_msg_opts *o, mp_buf *out);
/* Appends msgs[0..n) as a YAML block sequence ("- key: ..."), "[]" when n is 0. */
void mp_report_messages_yaml(const ProtobufCMessage *const *msgs, size_t n,
                             const mp_report_msg_opts *o, mp_buf *out);

/* "2.35ms", "1.20s", "850us". Writes into buf, returns it. */
const char *mp_report_fmt_us(double us, char *buf, size_t n);

#ifdef __cplusplus
}
#endif
#endif
