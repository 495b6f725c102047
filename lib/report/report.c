/* Result documents: fortio JSON, SMP YAML, HdrHistogram log. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "meshplane/report.h"

const double mp_report_percentiles[6] = {50, 75, 90, 99, 99.9, 99.99};

void mp_json_str(mp_buf *b, const char *s) {
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

void mp_json_num(mp_buf *b, double v) { mp_buf_printf(b, "%.9g", isfinite(v) ? v : 0.0); }

mp_status mp_report_latency_fill(Meshplane__V1__LatencyStats *out, const mp_hdr *h) {
  meshplane__v1__latency_stats__init(out);
  out->count = (uint64_t)mp_hdr_count(h);
  out->min_us = mp_hdr_min(h);
  out->max_us = mp_hdr_max(h);
  out->mean_us = mp_hdr_mean(h);
  out->stddev_us = mp_hdr_stddev(h);
  out->n_percentiles = MP_ARRAY_LEN(mp_report_percentiles);
  out->percentiles = mp_calloc(out->n_percentiles, sizeof *out->percentiles);
  for (size_t i = 0; i < out->n_percentiles; i++) {
    Meshplane__V1__Percentile *p = mp_malloc(sizeof *p);
    meshplane__v1__percentile__init(p);
    p->percentile = mp_report_percentiles[i];
    p->value_us = mp_hdr_value_at_percentile(h, p->percentile);
    out->percentiles[i] = p;
  }
  return mp_hdr_encode_base64(h, &out->histogram);
}

int64_t mp_report_latency_at(const Meshplane__V1__LatencyStats *ls, double p) {
  for (size_t i = 0; ls && i < ls->n_percentiles; i++)
    if (ls->percentiles[i]->percentile == p) return ls->percentiles[i]->value_us;
  return 0;
}

static void rfc3339(int64_t ms, char *buf, size_t n) { /* buf: at least 96 bytes */
  time_t t = (time_t)(ms / 1000);
  struct tm tm;
  gmtime_r(&t, &tm);
  snprintf(buf, n, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
           tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ms % 1000));
}

typedef struct data_ctx {
  mp_buf *b;
  double scale;
  int64_t total;
  bool first;
} data_ctx;

static bool data_row(const mp_hdr_bucket *k, void *arg) {
  data_ctx *c = arg;
  mp_buf_puts(c->b, c->first ? "{\"Start\":" : ",{\"Start\":");
  c->first = false;
  mp_json_num(c->b, (double)k->lowest * c->scale);
  mp_buf_puts(c->b, ",\"End\":");
  mp_json_num(c->b, (double)(k->highest + 1) * c->scale);
  mp_buf_puts(c->b, ",\"Percent\":");
  mp_json_num(c->b, 100.0 * (double)k->cumulative / (double)c->total);
  mp_buf_printf(c->b, ",\"Count\":%lld}", (long long)k->count);
  return true;
}

/* fortio's histogram object for h (values scaled by `scale`, e.g. µs -> s). */
static void fortio_histogram(mp_buf *b, const mp_hdr *h, double scale) {
  int64_t n = mp_hdr_count(h);
  double avg = mp_hdr_mean(h);
  mp_buf_printf(b, "{\"Count\":%lld,\"Min\":", (long long)n);
  mp_json_num(b, (double)mp_hdr_min(h) * scale);
  mp_buf_puts(b, ",\"Max\":");
  mp_json_num(b, (double)mp_hdr_max(h) * scale);
  mp_buf_puts(b, ",\"Sum\":");
  mp_json_num(b, avg * (double)n * scale);
  mp_buf_puts(b, ",\"Avg\":");
  mp_json_num(b, avg * scale);
  mp_buf_puts(b, ",\"StdDev\":");
  mp_json_num(b, mp_hdr_stddev(h) * scale);
  mp_buf_puts(b, ",\"Data\":[");
  if (n > 0) {
    data_ctx c = {b, scale, n, true};
    mp_hdr_foreach(h, data_row, &c);
  }
  mp_buf_puts(b, "],\"Percentiles\":[");
  for (size_t i = 0; n > 0 && i < MP_ARRAY_LEN(mp_report_percentiles); i++) {
    mp_buf_printf(b, "%s{\"Percentile\":", i ? "," : "");
    mp_json_num(b, mp_report_percentiles[i]);
    mp_buf_puts(b, ",\"Value\":");
    mp_json_num(b, (double)mp_hdr_value_at_percentile(h, mp_report_percentiles[i]) * scale);
    mp_buf_puts(b, "}");
  }
  mp_buf_puts(b, "]}");
}

static mp_status decode(const Meshplane__V1__LatencyStats *ls, mp_hdr **out) {
  if (!ls || !ls->histogram || !*ls->histogram) {
    *out = mp_hdr_new_latency(0);
    return MP_OK;
  }
  return mp_hdr_decode_base64(ls->histogram, strlen(ls->histogram), out);
}

mp_status mp_report_fortio_json(const Meshplane__V1__Result *r, const char *labels, mp_buf *b) {
  mp_hdr *lat;
  mp_status st = decode(r->latency, &lat);
  if (st != MP_OK) return st;
  char start[96];
  rfc3339(r->start_time_ms, start, sizeof start);
  char dur[40];
  mp_duration_format(r->requested_duration_ms * MP_NS_PER_MS, dur, sizeof dur);
  bool grpc = r->n_endpoints && !strncmp(r->endpoints[0]->endpoint, "grpc", 4);
  mp_buf_printf(b, "{\"RunType\":\"%s\",\"Labels\":", grpc ? "GRPC Ping" : "HTTP");
  mp_json_str(b, labels ? labels : r->profile_name);
  mp_buf_printf(b, ",\"StartTime\":\"%s\",\"RequestedQPS\":", start);
  if (r->requested_qps > 0) {
    char q[64];
    snprintf(q, sizeof q, "%.9g", r->requested_qps);
    mp_json_str(b, q);
  } else {
    mp_json_str(b, "max");
  }
  mp_buf_puts(b, ",\"RequestedDuration\":");
  mp_json_str(b, r->requested_duration_ms ? dur : "until stopped");
  mp_buf_puts(b, ",\"ActualQPS\":");
  mp_json_num(b, r->actual_qps);
  mp_buf_printf(b, ",\"ActualDuration\":%lld,\"NumThreads\":%u,\"Version\":\"meshplane-%s\"",
                (long long)r->actual_duration_ms * 1000000, r->connections, MESHPLANE_VERSION);
  mp_buf_puts(b, ",\"DurationHistogram\":");
  fortio_histogram(b, lat, 1e-6);
  mp_buf_printf(b, ",\"Exactly\":0,\"RetCodes\":{");
  for (size_t i = 0; i < r->n_ret_codes; i++)
    mp_buf_printf(b, "%s\"%d\":%llu", i ? "," : "", r->ret_codes[i]->code,
                  (unsigned long long)r->ret_codes[i]->count);
  /* meshplane records no per-response size histogram in results: fortio readers get the
   * average as a one-bucket histogram. */
  double avg_size = r->requests ? (double)r->bytes_read / (double)r->requests : 0;
  mp_buf_printf(b, "},\"Sizes\":{\"Count\":%llu,\"Avg\":", (unsigned long long)r->requests);
  mp_json_num(b, avg_size);
  mp_buf_puts(b, ",\"Data\":[],\"Percentiles\":[]},\"HeaderSizes\":{\"Count\":0,\"Data\":[]}");
  mp_buf_puts(b, ",\"URL\":");
  mp_json_str(b, r->n_endpoints ? r->endpoints[0]->endpoint : "");
  mp_buf_printf(b, ",\"SocketCount\":%u,\"AbortOn\":0", r->connections);
  /* meshplane's extras. */
  mp_buf_puts(b, ",\"Meshplane\":{\"ResultID\":");
  mp_json_str(b, r->id);
  mp_buf_puts(b, ",\"RunID\":");
  mp_json_str(b, r->run_id);
  mp_buf_puts(b, ",\"ServiceMesh\":");
  mp_json_str(b, r->service_mesh);
  mp_buf_printf(b, ",\"Requests\":%llu,\"Errors\":%llu,\"SocketErrors\":%llu,\"Timeouts\":%llu",
                (unsigned long long)r->requests, (unsigned long long)r->errors,
                (unsigned long long)r->socket_errors, (unsigned long long)r->timeouts);
  mp_buf_printf(b, ",\"LateSends\":%llu,\"MaxLagSeconds\":", (unsigned long long)r->late_sends);
  mp_json_num(b, (double)r->max_lag_us * 1e-6);
  if (r->uncorrected && r->uncorrected->histogram && *r->uncorrected->histogram) {
    mp_hdr *unc;
    if (decode(r->uncorrected, &unc) == MP_OK) {
      mp_buf_puts(b, ",\"UncorrectedHistogram\":");
      fortio_histogram(b, unc, 1e-6);
      mp_hdr_free(unc);
    }
  }
  mp_buf_puts(b, ",\"Endpoints\":[");
  for (size_t i = 0; i < r->n_endpoints; i++) {
    const Meshplane__V1__EndpointResult *e = r->endpoints[i];
    mp_buf_puts(b, i ? ",{\"URL\":" : "{\"URL\":");
    mp_json_str(b, e->endpoint);
    mp_buf_printf(b, ",\"Requests\":%llu,\"Errors\":%llu,\"P50\":", (unsigned long long)e->requests,
                  (unsigned long long)e->errors);
    mp_json_num(b, (double)mp_report_latency_at(e->latency, 50) * 1e-6);
    mp_buf_puts(b, ",\"P99\":");
    mp_json_num(b, (double)mp_report_latency_at(e->latency, 99) * 1e-6);
    mp_buf_puts(b, "}");
  }
  mp_buf_puts(b, "],\"Workers\":[");
  for (size_t i = 0; i < r->n_workers; i++) {
    if (i) mp_buf_puts(b, ",");
    mp_json_str(b, r->workers[i]);
  }
  mp_buf_puts(b, "]}}\n");
  mp_hdr_free(lat);
  return MP_OK;
}

/* A YAML double-quoted scalar. */
static void yaml_str(mp_buf *b, const char *s) { mp_json_str(b, s); }

mp_status mp_report_smp_yaml(const Meshplane__V1__Result *r, mp_buf *b) {
  char start[96], end[96];
  rfc3339(r->start_time_ms, start, sizeof start);
  rfc3339(r->start_time_ms + r->actual_duration_ms, end, sizeof end);
  const Meshplane__V1__LatencyStats *l = r->latency;
  double ms = 1e-3;
  mp_buf_puts(b, "# SMP PerformanceTestResult (https://smp-spec.io), written by meshplane\n");
  mp_buf_puts(b, "smp_version: v0.0.1\nid: ");
  yaml_str(b, r->id);
  mp_buf_puts(b, "\ntest_id: ");
  yaml_str(b, r->run_id);
  mp_buf_puts(b, "\nmesh_config_id: ");
  yaml_str(b, r->service_mesh);
  mp_buf_printf(b, "\nstart_time: \"%s\"\nend_time: \"%s\"\nlatencies:\n", start, end);
  mp_buf_printf(
      b, "  min: %.3f\n  average: %.3f\n  p50: %.3f\n  p90: %.3f\n  p99: %.3f\n  max: %.3f\n",
      l ? (double)l->min_us * ms : 0, l ? l->mean_us * ms : 0,
      (double)mp_report_latency_at(l, 50) * ms, (double)mp_report_latency_at(l, 90) * ms,
      (double)mp_report_latency_at(l, 99) * ms, l ? (double)l->max_us * ms : 0);
  mp_buf_printf(b, "actual_qps: %.3f\n", r->actual_qps);
  mp_buf_puts(b, "detailed_results:\n  profile: ");
  yaml_str(b, r->profile_name);
  mp_buf_printf(
      b, "\n  status: %s\n  requested_qps: %.3f\n  requests: %llu\n  errors: %llu\n",
      protobuf_c_enum_descriptor_get_value(&meshplane__v1__run_status__descriptor, (int)r->status)
          ? protobuf_c_enum_descriptor_get_value(&meshplane__v1__run_status__descriptor,
                                                 (int)r->status)
                ->name
          : "RUN_STATUS_UNSPECIFIED",
      r->requested_qps, (unsigned long long)r->requests, (unsigned long long)r->errors);
  mp_buf_printf(b, "  connections: %u\n  p99_9_ms: %.3f\n  p99_99_ms: %.3f\n", r->connections,
                (double)mp_report_latency_at(l, 99.9) * ms,
                (double)mp_report_latency_at(l, 99.99) * ms);
  mp_buf_puts(b, "  ret_codes:\n");
  for (size_t i = 0; i < r->n_ret_codes; i++)
    mp_buf_printf(b, "    \"%d\": %llu\n", r->ret_codes[i]->code,
                  (unsigned long long)r->ret_codes[i]->count);
  mp_buf_puts(b, "  histogram: ");
  yaml_str(b, l ? l->histogram : "");
  mp_buf_puts(b, "\n  endpoints:\n");
  for (size_t i = 0; i < r->n_endpoints; i++) {
    mp_buf_puts(b, "    - url: ");
    yaml_str(b, r->endpoints[i]->endpoint);
    mp_buf_printf(b, "\n      requests: %llu\n      p50_ms: %.3f\n      p99_ms: %.3f\n",
                  (unsigned long long)r->endpoints[i]->requests,
                  (double)mp_report_latency_at(r->endpoints[i]->latency, 50) * ms,
                  (double)mp_report_latency_at(r->endpoints[i]->latency, 99) * ms);
  }
  return MP_OK;
}

mp_status mp_report_hdr_log(const char *const *intervals, size_t n, int64_t start_ms,
                            double interval_s, mp_buf *b) {
  time_t t = (time_t)(start_ms / 1000);
  struct tm tm;
  gmtime_r(&t, &tm);
  char when[64];
  strftime(when, sizeof when, "%a %b %d %H:%M:%S UTC %Y", &tm);
  mp_buf_puts(b, "#[Histogram log format version 1.3]\n");
  mp_buf_printf(b, "#[StartTime: %.3f (seconds since epoch), %s]\n", (double)start_ms / 1000.0,
                when);
  mp_buf_puts(b, "#[Latencies recorded in microseconds; Interval_Max in milliseconds]\n");
  mp_buf_puts(b, "\"StartTimestamp\",\"Interval_Length\",\"Interval_Max\","
                 "\"Interval_Compressed_Histogram\"\n");
  for (size_t i = 0; i < n; i++) {
    mp_hdr *h;
    mp_status st = mp_hdr_decode_base64(intervals[i], strlen(intervals[i]), &h);
    if (st != MP_OK) return st;
    mp_buf_printf(b, "%.3f,%.3f,%.3f,%s\n", (double)i * interval_s, interval_s,
                  (double)mp_hdr_max(h) / 1000.0, intervals[i]);
    mp_hdr_free(h);
  }
  return MP_OK;
}

const char *mp_report_fmt_us(double us, char *buf, size_t n) {
  if (us >= 1e6)
    snprintf(buf, n, "%.2fs", us / 1e6);
  else if (us >= 1e3)
    snprintf(buf, n, "%.2fms", us / 1e3);
  else
    snprintf(buf, n, "%.0fus", us);
  return buf;
}
