/* The human summary of a run, in the spirit of wrk/wrk2: what was asked, what was done,
 * what went wrong, and the latency distribution. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "meshplane/grpc_frame.h"
#include "meshplane/loadgen_report.h"

const double mp_loadgen_percentiles[6] = {50, 75, 90, 99, 99.9, 99.99};

const char *mp_loadgen_fmt_us(double us, char *buf, size_t n) {
  if (!isfinite(us)) us = 0;
  if (us < 1000)
    snprintf(buf, n, "%.0fus", us);
  else if (us < 1000000)
    snprintf(buf, n, "%.2fms", us / 1000);
  else
    snprintf(buf, n, "%.2fs", us / 1000000);
  return buf;
}

static const char *fmt_bytes(double b, char *buf, size_t n) {
  static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int u = 0;
  while (b >= 1024 && u < 4) {
    b /= 1024;
    u++;
  }
  snprintf(buf, n, u ? "%.2f%s" : "%.0f%s", b, units[u]);
  return buf;
}

/* HTTP status codes, or gRPC status codes with their names ("14 UNAVAILABLE: 3"). */
static void print_codes(FILE *f, const mp_loadgen_stats *s, bool grpc) {
  bool any = false;
  for (int c = 0; c < MP_LOADGEN_MAX_STATUS; c++) {
    if (!s->status[c]) continue;
    const char *name = grpc ? mp_grpc_code_name(c) : NULL;
    fprintf(f, "%s%d%s%s: %llu", any ? ", " : "", c, name ? " " : "", name ? name : "",
            (unsigned long long)s->status[c]);
    any = true;
  }
  if (!any) fprintf(f, "none");
}

/* One row of the latency table: label, then the corrected (and uncorrected) value. */
static void row(FILE *f, const char *label, double a, double b, bool two) {
  char x[32], y[32];
  fprintf(f, "  %-10s %12s", label, mp_loadgen_fmt_us(a, x, sizeof x));
  if (two) fprintf(f, " %14s", mp_loadgen_fmt_us(b, y, sizeof y));
  fputc('\n', f);
}

static void latency_table(FILE *f, const mp_loadgen_result *r) {
  const mp_hdr *c = r->total.latency, *u = r->total.uncorrected;
  bool two = r->requested_rate > 0;
  if (two)
    fprintf(f, "Latency    %14s %14s\n", "corrected", "uncorrected");
  else
    fprintf(f, "Latency\n");
  row(f, "mean", mp_hdr_mean(c), mp_hdr_mean(u), two);
  row(f, "stddev", mp_hdr_stddev(c), mp_hdr_stddev(u), two);
  row(f, "min", (double)mp_hdr_min(c), (double)mp_hdr_min(u), two);
  for (size_t i = 0; i < MP_ARRAY_LEN(mp_loadgen_percentiles); i++) {
    char label[16];
    snprintf(label, sizeof label, "%.3f%%", mp_loadgen_percentiles[i]);
    double p = mp_loadgen_percentiles[i];
    row(f, label, (double)mp_hdr_value_at_percentile(c, p),
        (double)mp_hdr_value_at_percentile(u, p), two);
  }
  row(f, "max", (double)mp_hdr_max(c), (double)mp_hdr_max(u), two);
}

static void spectrum_row(int64_t value, double percentile, int64_t total, double inverted,
                         void *arg) {
  FILE *f = arg;
  if (percentile >= 1.0)
    fprintf(f, "%12.3f %12.6f %12lld\n", (double)value / 1000, percentile, (long long)total);
  else
    fprintf(f, "%12.3f %12.6f %12lld %12.2f\n", (double)value / 1000, percentile, (long long)total,
            inverted);
}

static void spectrum(FILE *f, const char *what, const mp_hdr *h) {
  fprintf(f, "\nDetailed percentile spectrum (%s, ms):\n", what);
  fprintf(f, "%12s %12s %12s %12s\n\n", "Value", "Percentile", "TotalCount", "1/(1-Percentile)");
  mp_hdr_percentiles(h, 5, spectrum_row, f);
  fprintf(f, "#[Mean    = %12.3f, StdDeviation   = %12.3f]\n", mp_hdr_mean(h) / 1000,
          mp_hdr_stddev(h) / 1000);
  fprintf(f, "#[Max     = %12.3f, Total count    = %12lld]\n", (double)mp_hdr_max(h) / 1000,
          (long long)mp_hdr_count(h));
}

void mp_loadgen_print_summary(FILE *f, const mp_loadgen_result *r, bool detail) {
  const mp_loadgen_stats *t = &r->total;
  char a[32], b[32];
  double secs = (double)r->actual_duration_ns / 1e9;
  bool grpc = r->protocol == MP_LOADGEN_GRPC;
  fprintf(f, "Requests:     %llu in %.2fs", (unsigned long long)t->requests, secs);
  if (r->warmup_ns)
    fprintf(f, " (warm-up %.2fs excluded: %llu requests, %llu errors)", (double)r->warmup_ns / 1e9,
            (unsigned long long)r->warmup_requests, (unsigned long long)r->warmup_errors);
  fputc('\n', f);
  if (r->requested_rate > 0)
    fprintf(f, "Rate:         %.2f req/s actual, %.2f req/s requested (%.2f%%)\n", r->actual_rate,
            r->requested_rate, 100.0 * r->actual_rate / r->requested_rate);
  else
    fprintf(f, "Rate:         %.2f req/s actual (closed loop, as fast as responses allow)\n",
            r->actual_rate);
  fprintf(f,
          "Transfer:     %s read, %s written, %.0f req/s over %u connections (%llu opened) "
          "on %u threads\n",
          fmt_bytes((double)t->bytes_read, a, sizeof a),
          fmt_bytes((double)t->bytes_written, b, sizeof b), r->actual_rate, r->connections,
          (unsigned long long)r->connects, r->threads);
  if (r->protocol == MP_LOADGEN_HTTP2 || grpc)
    fprintf(f, "Protocol:     %s, %u stream%s per connection\n", grpc ? "gRPC (HTTP/2)" : "HTTP/2",
            r->streams, r->streams == 1 ? "" : "s");
  if (r->tls_handshakes)
    fprintf(f, "TLS:          %llu handshakes, %llu of them resumed a session\n",
            (unsigned long long)r->tls_handshakes, (unsigned long long)r->tls_resumed);
  uint64_t failed =
      t->connect_errors + t->read_errors + t->write_errors + t->timeouts + t->protocol_errors;
  fprintf(f,
          "Errors:       %llu (%s: %llu; connect %llu, read %llu, write "
          "%llu, timeout %llu, protocol %llu)\n",
          (unsigned long long)t->errors,
          grpc ? "gRPC status other than 0 OK" : "status >= 400 or < 200",
          (unsigned long long)(t->errors - failed), (unsigned long long)t->connect_errors,
          (unsigned long long)t->read_errors, (unsigned long long)t->write_errors,
          (unsigned long long)t->timeouts, (unsigned long long)t->protocol_errors);
  fprintf(f, grpc ? "gRPC status: " : "Status codes: ");
  print_codes(f, t, grpc);
  fputc('\n', f);
  if (r->requested_rate > 0) {
    uint64_t sent = t->requests + t->read_errors + t->write_errors + t->timeouts +
                    t->protocol_errors + r->unfinished + r->warmup_requests + r->warmup_errors;
    double pct = sent ? 100.0 * (double)r->late_sends / (double)sent : 0;
    fprintf(f, "Late sends:   %llu (%.2f%%) later than %s, max lag %s%s\n",
            (unsigned long long)r->late_sends, pct,
            mp_loadgen_fmt_us((double)MP_LOADGEN_LATE_NS / 1000, a, sizeof a),
            mp_loadgen_fmt_us((double)r->max_lag_ns / 1000, b, sizeof b),
            pct > 1 ? "  <- the generator or its connections could not keep up" : "");
  }
  if (r->retried)
    fprintf(f,
            "Retried:      %llu requests the server refused unprocessed (HTTP/2 GOAWAY or "
            "REFUSED_STREAM) were sent again\n",
            (unsigned long long)r->retried);
  if (r->unfinished)
    fprintf(f, "Unfinished:   %llu requests in flight when the run stopped (not counted)\n",
            (unsigned long long)r->unfinished);
  if (r->cancelled) fprintf(f, "Stopped early: the run was interrupted\n");
  if (r->first_error) fprintf(f, "First error:  %s\n", r->first_error);
  if (r->error) fprintf(f, "Run failed:   %s\n", r->error);
  if (t->requests == 0) return; /* no latency to show */
  fputc('\n', f);
  latency_table(f, r);
  if (r->n_endpoints > 1) {
    fprintf(f, "\nPer endpoint:\n");
    for (size_t i = 0; i < r->n_endpoints; i++) {
      const mp_loadgen_stats *s = &r->endpoints[i].stats;
      char p50[32], p99[32], mx[32];
      fprintf(
          f, "  %s\n    requests %llu, errors %llu, p50 %s, p99 %s, max %s, codes ",
          r->endpoints[i].url, (unsigned long long)s->requests, (unsigned long long)s->errors,
          mp_loadgen_fmt_us((double)mp_hdr_value_at_percentile(s->latency, 50), p50, sizeof p50),
          mp_loadgen_fmt_us((double)mp_hdr_value_at_percentile(s->latency, 99), p99, sizeof p99),
          mp_loadgen_fmt_us((double)mp_hdr_max(s->latency), mx, sizeof mx));
      print_codes(f, s, grpc);
      fputc('\n', f);
    }
  }
  if (detail) {
    spectrum(f, r->requested_rate > 0 ? "corrected, from the intended send time" : "latency",
             t->latency);
    if (r->requested_rate > 0)
      spectrum(f, "uncorrected, from the actual send time", t->uncorrected);
  }
}
