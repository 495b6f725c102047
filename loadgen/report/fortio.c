/* fortio-compatible JSON results and the HdrHistogram interval log.
 *
 * fortio's result format (fortio.org/fortio periodic.RunnerResults + fhttp.HTTPRunnerResults):
 * RequestedQPS and RequestedDuration are strings ("max", "exactly 100 calls"), ActualDuration
 * is a Go time.Duration (integer nanoseconds), latencies are float seconds, RetCodes maps
 * the status code (as a string key) to a count with -1 for failed calls, and NumThreads is
 * the concurrency (our connections). Tools that read fortio JSON (fortio report, Meshery)
 * read these fields and ignore the rest. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "meshplane/loadgen_report.h"

static void json_str(mp_buf *b, const char *s) {
  mp_buf_append(b, "\"", 1);
  for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
    if (*p == '"' || *p == '\\') {
      char esc[2] = {'\\', (char)*p};
      mp_buf_append(b, esc, 2);
    } else if (*p < 0x20) {
      mp_buf_printf(b, "\\u%04x", *p);
    } else {
      mp_buf_append(b, (const char *)p, 1);
    }
  }
  mp_buf_append(b, "\"", 1);
}

static void json_num(mp_buf *b, double v) { mp_buf_printf(b, "%.9g", isfinite(v) ? v : 0.0); }

typedef struct data_ctx {
  mp_buf *b;
  double scale; /* multiply values by this: 1e-6 for µs -> s, 1 for bytes */
  int64_t count;
  bool first;
} data_ctx;

static bool data_row(const mp_hdr_bucket *k, void *arg) {
  data_ctx *d = arg;
  mp_buf_printf(d->b, "%s{\"Start\":", d->first ? "" : ",");
  json_num(d->b, (double)k->lowest * d->scale);
  mp_buf_puts(d->b, ",\"End\":");
  json_num(d->b, (double)k->highest * d->scale);
  mp_buf_puts(d->b, ",\"Percent\":");
  json_num(d->b, d->count ? 100.0 * (double)k->cumulative / (double)d->count : 0);
  mp_buf_printf(d->b, ",\"Count\":%lld}", (long long)k->count);
  d->first = false;
  return true;
}

/* fortio's stats.HistogramData: Count, Min, Max, Sum, Avg, StdDev, Data[], Percentiles[]. */
static void histogram(mp_buf *b, const mp_hdr *h, double scale, bool percentiles) {
  int64_t n = h ? mp_hdr_count(h) : 0;
  mp_buf_printf(b, "{\"Count\":%lld,\"Min\":", (long long)n);
  json_num(b, n ? (double)mp_hdr_min(h) * scale : 0);
  mp_buf_puts(b, ",\"Max\":");
  json_num(b, n ? (double)mp_hdr_max(h) * scale : 0);
  mp_buf_puts(b, ",\"Sum\":");
  json_num(b, n ? mp_hdr_mean(h) * (double)n * scale : 0);
  mp_buf_puts(b, ",\"Avg\":");
  json_num(b, n ? mp_hdr_mean(h) * scale : 0);
  mp_buf_puts(b, ",\"StdDev\":");
  json_num(b, n ? mp_hdr_stddev(h) * scale : 0);
  mp_buf_puts(b, ",\"Data\":[");
  data_ctx d = {.b = b, .scale = scale, .count = n, .first = true};
  if (n) mp_hdr_foreach(h, data_row, &d);
  mp_buf_puts(b, "]");
  if (percentiles) {
    mp_buf_puts(b, ",\"Percentiles\":[");
    for (size_t i = 0; i < MP_ARRAY_LEN(mp_loadgen_percentiles); i++) {
      mp_buf_printf(b, "%s{\"Percentile\":%g,\"Value\":", i ? "," : "", mp_loadgen_percentiles[i]);
      json_num(b, n ? (double)mp_hdr_value_at_percentile(h, mp_loadgen_percentiles[i]) * scale : 0);
      mp_buf_puts(b, "}");
    }
    mp_buf_puts(b, "]");
  }
  mp_buf_puts(b, "}");
}

static uint64_t failed(const mp_loadgen_stats *s) {
  return s->connect_errors + s->read_errors + s->write_errors + s->timeouts + s->protocol_errors;
}

static void ret_codes(mp_buf *b, const mp_loadgen_stats *s) {
  mp_buf_puts(b, "{");
  bool first = true;
  if (failed(s)) {
    mp_buf_printf(b, "\"-1\":%llu", (unsigned long long)failed(s));
    first = false;
  }
  for (int c = 0; c < MP_LOADGEN_MAX_STATUS; c++) {
    if (!s->status[c]) continue;
    mp_buf_printf(b, "%s\"%d\":%llu", first ? "" : ",", c, (unsigned long long)s->status[c]);
    first = false;
  }
  mp_buf_puts(b, "}");
}

static void rfc3339(int64_t ms, char *buf, size_t n) {
  time_t secs = (time_t)(ms / 1000);
  struct tm tm;
  gmtime_r(&secs, &tm);
  char base[32];
  strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf(buf, n, "%s.%03dZ", base, (int)(ms % 1000));
}

void mp_loadgen_fortio_json(const mp_loadgen_result *r, const char *labels, mp_buf *b) {
  const mp_loadgen_stats *t = &r->total;
  char when[64], dur[64];
  rfc3339(r->start_ms, when, sizeof when);
  /* fortio names its gRPC runs "GRPC Ping"; RetCodes then hold grpc-status values. */
  mp_buf_printf(b, "{\n  \"RunType\": \"%s\",\n  \"Labels\": ",
                r->protocol == MP_LOADGEN_GRPC ? "GRPC Ping" : "HTTP");
  json_str(b, labels);
  mp_buf_printf(b, ",\n  \"StartTime\": \"%s\",\n  \"RequestedQPS\": ", when);
  if (r->requested_rate > 0)
    mp_buf_printf(b, "\"%g\"", r->requested_rate);
  else
    mp_buf_puts(b, "\"max\"");
  mp_buf_puts(b, ",\n  \"RequestedDuration\": ");
  if (r->requested_duration_ns)
    json_str(b, mp_duration_format(r->requested_duration_ns, dur, sizeof dur));
  else
    mp_buf_printf(b, "\"exactly %llu calls\"", (unsigned long long)r->max_requests);
  mp_buf_puts(b, ",\n  \"ActualQPS\": ");
  json_num(b, r->actual_rate);
  mp_buf_printf(b,
                ",\n  \"ActualDuration\": %lld,\n  \"NumThreads\": %u,\n  \"Version\": \"%s\",\n"
                "  \"DurationHistogram\": ",
                (long long)r->actual_duration_ns, r->connections, MESHPLANE_VERSION);
  histogram(b, t->latency, 1e-6, true);
  mp_buf_printf(b,
                ",\n  \"Exactly\": %llu,\n  \"Jitter\": false,\n  \"Uniform\": false,\n"
                "  \"RunID\": 0,\n  \"RetCodes\": ",
                (unsigned long long)r->max_requests);
  ret_codes(b, t);
  mp_buf_puts(b, ",\n  \"Sizes\": ");
  histogram(b, r->sizes, 1, false);
  mp_buf_puts(b, ",\n  \"HeaderSizes\": ");
  histogram(b, r->header_sizes, 1, false);
  mp_buf_puts(b, ",\n  \"URL\": ");
  json_str(b, r->n_endpoints ? r->endpoints[0].url : "");
  mp_buf_printf(b,
                ",\n  \"SocketCount\": %llu,\n  \"AbortOn\": 0,\n  \"BytesSent\": %llu,\n"
                "  \"BytesReceived\": %llu,\n",
                (unsigned long long)r->connects, (unsigned long long)t->bytes_written,
                (unsigned long long)t->bytes_read);

  /* meshplane's extras. */
  mp_buf_printf(b,
                "  \"Meshplane\": {\n    \"Protocol\": \"%s\",\n    \"Streams\": %u,\n"
                "    \"TLSHandshakes\": %llu,\n    \"TLSResumed\": %llu,\n"
                "    \"Retried\": %llu,\n"
                "    \"Threads\": %u,\n    \"Connections\": %u,\n"
                "    \"WarmupSeconds\": %.9g,\n    \"WarmupRequests\": %llu,\n"
                "    \"WarmupErrors\": %llu,\n    \"LateSends\": %llu,\n"
                "    \"MaxLagSeconds\": %.9g,\n    \"Unfinished\": %llu,\n"
                "    \"Cancelled\": %s,\n    \"Errors\": {\"Total\": %llu, \"Connect\": %llu, "
                "\"Read\": %llu, \"Write\": %llu, \"Timeout\": %llu, \"Protocol\": %llu},\n"
                "    \"Error\": ",
                r->protocol == MP_LOADGEN_GRPC    ? "grpc"
                : r->protocol == MP_LOADGEN_HTTP2 ? "http2"
                                                  : "http1",
                r->streams, (unsigned long long)r->tls_handshakes,
                (unsigned long long)r->tls_resumed, (unsigned long long)r->retried, r->threads,
                r->connections, (double)r->warmup_ns / 1e9, (unsigned long long)r->warmup_requests,
                (unsigned long long)r->warmup_errors, (unsigned long long)r->late_sends,
                (double)r->max_lag_ns / 1e9, (unsigned long long)r->unfinished,
                r->cancelled ? "true" : "false", (unsigned long long)t->errors,
                (unsigned long long)t->connect_errors, (unsigned long long)t->read_errors,
                (unsigned long long)t->write_errors, (unsigned long long)t->timeouts,
                (unsigned long long)t->protocol_errors);
  json_str(b, r->error ? r->error : r->first_error);
  mp_buf_puts(b, ",\n    \"UncorrectedDurationHistogram\": ");
  histogram(b, t->uncorrected, 1e-6, true);
  mp_buf_puts(b, ",\n    \"Endpoints\": [");
  for (size_t i = 0; i < r->n_endpoints; i++) {
    const mp_loadgen_stats *s = &r->endpoints[i].stats;
    mp_buf_puts(b, i ? ",\n      {\"URL\": " : "\n      {\"URL\": ");
    json_str(b, r->endpoints[i].url);
    mp_buf_printf(b, ", \"Count\": %llu, \"Errors\": %llu, \"RetCodes\": ",
                  (unsigned long long)s->requests, (unsigned long long)s->errors);
    ret_codes(b, s);
    mp_buf_puts(b, ", \"DurationHistogram\": ");
    histogram(b, s->latency, 1e-6, true);
    mp_buf_puts(b, "}");
  }
  mp_buf_puts(b, "\n    ]\n  }\n}\n");
}

/* ---- HdrHistogram log --------------------------------------------------------------------------
 */

mp_status mp_loadgen_hdrlog_begin(mp_loadgen_hdrlog *log, FILE *f, int64_t start_ms) {
  log->f = f;
  log->start_ms = start_ms;
  time_t secs = (time_t)(start_ms / 1000);
  struct tm tm;
  gmtime_r(&secs, &tm);
  char date[64];
  strftime(date, sizeof date, "%a %b %d %H:%M:%S UTC %Y", &tm);
  fprintf(f, "#[Histogram log format version 1.3]\n");
  fprintf(f, "#[StartTime: %lld.%03d (seconds since epoch), %s]\n", (long long)(start_ms / 1000),
          (int)(start_ms % 1000), date);
  fprintf(f, "\"StartTimestamp\",\"Interval_Length\",\"Interval_Max\","
             "\"Interval_Compressed_Histogram\"\n");
  log->header_done = true;
  return ferror(f) ? mp_error_set(MP_ERR_IO, "writing the histogram log failed") : MP_OK;
}

mp_status mp_loadgen_hdrlog_interval(mp_loadgen_hdrlog *log, const mp_loadgen_progress *p) {
  if (p->warmup || !log->header_done) return MP_OK;
  char *enc = NULL;
  mp_status st = mp_hdr_encode_base64(p->interval_latency, &enc);
  if (st != MP_OK) return st;
  double start = (double)(p->interval_start_ms - log->start_ms) / 1000.0;
  if (start < 0) start = 0;
  /* Interval_Max in milliseconds, as HdrHistogram's writer reports a µs histogram with
   * its default max-value unit ratio. */
  fprintf(log->f, "%.3f,%.3f,%.3f,%s\n", start, (double)p->interval_ns / 1e9,
          (double)mp_hdr_max(p->interval_latency) / 1000.0, enc);
  mp_free(enc);
  return ferror(log->f) ? mp_error_set(MP_ERR_IO, "writing the histogram log failed") : MP_OK;
}
