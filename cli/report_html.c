/* The self-contained HTML report with inline SVG charts (see report_html.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "meshplane/hdr.h"
#include "meshplane/report.h"
#include "report_html.h"

/* Plot geometry: the SVG is W x H; the plot area is inside the margins. */
enum { W = 900, H = 380, ML = 70, MR = 20, MT = 20, MB = 50 };

static const char *const palette[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e",
                                      "#9467bd", "#8c564b", "#e377c2", "#17becf"};

static const char *color(size_t i) { return palette[i % MP_ARRAY_LEN(palette)]; }

/* Text escaped for HTML element content and attribute values. */
static void esc(mp_buf *b, const char *s) {
  for (; s && *s; s++) {
    switch (*s) {
    case '&': mp_buf_puts(b, "&amp;"); break;
    case '<': mp_buf_puts(b, "&lt;"); break;
    case '>': mp_buf_puts(b, "&gt;"); break;
    case '"': mp_buf_puts(b, "&quot;"); break;
    case '\'': mp_buf_puts(b, "&#39;"); break;
    default: mp_buf_append(b, s, 1);
    }
  }
}

/* A 1-2-5 step giving about `ticks` intervals over [0, max]. */
static double nice_step(double max, int ticks) {
  if (max <= 0) return 1;
  double raw = max / ticks, mag = pow(10, floor(log10(raw))), f = raw / mag;
  return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * mag;
}

typedef struct plot {
  double xmax, ymax; /* x from 0, y from 0 */
} plot;

static double px(const plot *p, double x) { return ML + (W - ML - MR) * (x / p->xmax); }
static double py(const plot *p, double y) { return H - MB - (H - MT - MB) * (y / p->ymax); }

static void svg_open(mp_buf *b, const char *id, const char *label) {
  mp_buf_printf(b,
                "<svg id=\"%s\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %d %d\" "
                "width=\"%d\" height=\"%d\" role=\"img\" aria-label=\"",
                id, W, H, W, H);
  esc(b, label);
  mp_buf_printf(b, "\"><rect x=\"0\" y=\"0\" width=\"%d\" height=\"%d\" fill=\"#fff\"/>", W, H);
}

/* Horizontal grid and y labels at nice steps; fmt formats a y value. */
static void y_axis(mp_buf *b, const plot *p, const char *unit, const char *title) {
  double step = nice_step(p->ymax, 5);
  for (double y = 0; y <= p->ymax * 1.0001; y += step) {
    mp_buf_printf(b,
                  "<line x1=\"%d\" x2=\"%d\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#e5e5e5\"/>"
                  "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\" class=\"tick\">%g%s</text>",
                  ML, W - MR, py(p, y), py(p, y), ML - 6, py(p, y) + 4, y, unit);
  }
  mp_buf_printf(b,
                "<text x=\"16\" y=\"%d\" transform=\"rotate(-90 16 %d)\" text-anchor=\"middle\" "
                "class=\"axis\">%s</text>",
                (H - MB + MT) / 2, (H - MB + MT) / 2, title);
  mp_buf_printf(b,
                "<line x1=\"%d\" x2=\"%d\" y1=\"%d\" y2=\"%d\" stroke=\"#444\"/>"
                "<line x1=\"%d\" x2=\"%d\" y1=\"%d\" y2=\"%d\" stroke=\"#444\"/>",
                ML, W - MR, H - MB, H - MB, ML, ML, MT, H - MB);
}

static void x_label(mp_buf *b, const char *title) {
  mp_buf_printf(b, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\" class=\"axis\">%s</text>",
                (ML + W - MR) / 2, H - 10, title);
}

static void legend(mp_buf *b, const mctl_report_series *s, size_t n) {
  mp_buf_puts(b, "<div class=\"legend\">");
  for (size_t i = 0; i < n; i++) {
    const Meshplane__V1__Result *r = s[i].result;
    mp_buf_printf(b, "<span><i style=\"background:%s\"></i>", color(i));
    esc(b, r->profile_name);
    mp_buf_puts(b, " (");
    esc(b, r->service_mesh && *r->service_mesh ? r->service_mesh : "no mesh");
    mp_buf_printf(b, ", %.8s)</span>", r->id);
  }
  mp_buf_puts(b, "</div>\n");
}

/* ---- latency by percentile -------------------------------------------------------------- */

typedef struct spectrum {
  double *x, *y; /* log10(1/(1-p)), ms */
  size_t n, cap;
} spectrum;

static void spectrum_point(int64_t value, double percentile, int64_t total, double inverted,
                           void *arg) {
  spectrum *s = arg;
  if (s->n == s->cap) {
    s->cap = s->cap ? 2 * s->cap : 256;
    s->x = mp_realloc(s->x, s->cap * sizeof *s->x);
    s->y = mp_realloc(s->y, s->cap * sizeof *s->y);
  }
  s->x[s->n] = isfinite(inverted) && inverted >= 1 ? log10(inverted) : INFINITY;
  s->y[s->n] = (double)value / 1000.0;
  s->n++;
}

static void chart_latency(mp_buf *b, const mctl_report_series *s, size_t n) {
  spectrum *sp = mp_calloc(n, sizeof *sp);
  int64_t max_count = 0;
  double ymax = 0;
  for (size_t i = 0; i < n; i++) {
    const Meshplane__V1__LatencyStats *ls = s[i].result->latency;
    mp_hdr *h = NULL;
    if (!ls || !ls->histogram || !*ls->histogram ||
        mp_hdr_decode_base64(ls->histogram, strlen(ls->histogram), &h) != MP_OK)
      continue;
    mp_hdr_percentiles(h, 5, spectrum_point, &sp[i]);
    if (mp_hdr_count(h) > max_count) max_count = mp_hdr_count(h);
    for (size_t k = 0; k < sp[i].n; k++)
      if (sp[i].y[k] > ymax) ymax = sp[i].y[k];
    mp_hdr_free(h);
  }
  /* Decades of percentiles: as many nines as the data supports, 2..6. */
  double decades = max_count > 1 ? ceil(log10((double)max_count)) : 2;
  if (decades < 2) decades = 2;
  if (decades > 6) decades = 6;
  plot p = {decades, ymax > 0 ? ymax * 1.08 : 1};
  svg_open(b, "chart-latency", "latency by percentile");
  y_axis(b, &p, "", "latency (ms)");
  static const char *const ticks[] = {"0%", "90%", "99%", "99.9%", "99.99%", "99.999%", "99.9999%"};
  for (int d = 0; d <= (int)decades; d++)
    mp_buf_printf(b,
                  "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%d\" y2=\"%d\" stroke=\"#e5e5e5\"/>"
                  "<text x=\"%.1f\" y=\"%d\" text-anchor=\"%s\" class=\"tick\">%s</text>",
                  px(&p, d), px(&p, d), MT, H - MB, px(&p, d), H - MB + 16,
                  d == (int)decades ? "end"
                  : d               ? "middle"
                                    : "start",
                  ticks[d]);
  x_label(b, "percentile (log scale of 1/(1-p))");
  for (size_t i = 0; i < n; i++) {
    if (!sp[i].n) continue;
    mp_buf_printf(b,
                  "<path class=\"series\" data-result=\"%s\" fill=\"none\" stroke=\"%s\" "
                  "stroke-width=\"2\" d=\"",
                  s[i].result->id, color(i));
    for (size_t k = 0; k < sp[i].n; k++) {
      double x = sp[i].x[k] > decades ? decades : sp[i].x[k];
      mp_buf_printf(b, "%s%.1f %.1f", k ? " L" : "M", px(&p, x), py(&p, sp[i].y[k]));
    }
    mp_buf_puts(b, "\"/>");
    /* Markers with tooltips at the percentiles people quote. */
    static const double marks[] = {50, 90, 99, 99.9, 99.99};
    const Meshplane__V1__LatencyStats *ls = s[i].result->latency;
    for (size_t k = 0; k < MP_ARRAY_LEN(marks); k++) {
      double x = log10(1 / (1 - marks[k] / 100));
      if (x > decades) continue;
      double v = (double)mp_report_latency_at(ls, marks[k]);
      char t[32];
      mp_buf_printf(b,
                    "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3.5\" fill=\"%s\"><title>p%g: %s"
                    "</title></circle>",
                    px(&p, x), py(&p, v / 1000.0), color(i), marks[k],
                    mp_report_fmt_us(v, t, sizeof t));
    }
    mp_free(sp[i].x);
    mp_free(sp[i].y);
  }
  mp_free(sp);
  mp_buf_puts(b, "</svg>\n");
}

/* ---- requests/s over time ---------------------------------------------------------------- */

static void chart_rps(mp_buf *b, const mctl_report_series *s, size_t n) {
  double tmax = 0, ymax = 0;
  for (size_t i = 0; i < n; i++)
    for (size_t k = 0; k < s[i].n; k++) {
      if (s[i].t[k] + 1 > tmax) tmax = s[i].t[k] + 1;
      if (s[i].rps[k] > ymax) ymax = s[i].rps[k];
    }
  plot p = {tmax > 0 ? tmax : 1, ymax > 0 ? ymax * 1.15 : 1};
  svg_open(b, "chart-rps", "requests per second over time");
  y_axis(b, &p, "", "requests/s");
  double step = nice_step(p.xmax, 8);
  for (double x = 0; x <= p.xmax * 1.0001; x += step)
    mp_buf_printf(b, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\" class=\"tick\">%gs</text>",
                  px(&p, x), H - MB + 16, x);
  x_label(b, "time since the start of the run (s)");
  for (size_t i = 0; i < n; i++) {
    if (!s[i].n) continue;
    mp_buf_printf(b,
                  "<path class=\"series\" data-result=\"%s\" fill=\"none\" stroke=\"%s\" "
                  "stroke-width=\"2\" d=\"",
                  s[i].result->id, color(i));
    for (size_t k = 0; k < s[i].n; k++)
      mp_buf_printf(b, "%s%.1f %.1f", k ? " L" : "M", px(&p, s[i].t[k] + 0.5), py(&p, s[i].rps[k]));
    mp_buf_puts(b, "\"/>");
    for (size_t k = 0; k < s[i].n; k++)
      mp_buf_printf(b,
                    "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"2.5\" fill=\"%s\"><title>%gs: %.1f "
                    "req/s</title></circle>",
                    px(&p, s[i].t[k] + 0.5), py(&p, s[i].rps[k]), color(i), s[i].t[k], s[i].rps[k]);
  }
  mp_buf_puts(b, "</svg>\n");
}

/* ---- return codes ------------------------------------------------------------------------- */

static const char *code_color(int code) {
  if (code < 0) return "#7f7f7f";
  if (code < 300) return "#2ca02c";
  if (code < 400) return "#1f77b4";
  if (code < 500) return "#ff7f0e";
  return "#d62728";
}

static void chart_codes(mp_buf *b, const mctl_report_series *s, size_t n) {
  int row = 34, top = 10;
  int h = top + (int)n * row + 30;
  mp_buf_printf(
      b,
      "<svg id=\"chart-codes\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %d %d\" "
      "width=\"%d\" height=\"%d\" role=\"img\" aria-label=\"return codes\">"
      "<rect x=\"0\" y=\"0\" width=\"%d\" height=\"%d\" fill=\"#fff\"/>",
      W, h, W, h, W, h);
  int x0 = 220, x1 = W - MR;
  for (size_t i = 0; i < n; i++) {
    const Meshplane__V1__Result *r = s[i].result;
    int y = top + (int)i * row;
    mp_buf_printf(b, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\" class=\"tick\">", x0 - 8, y + 17);
    esc(b, r->profile_name);
    mp_buf_printf(b, " (%.8s)</text>", r->id);
    uint64_t total = 0;
    for (size_t k = 0; k < r->n_ret_codes; k++) total += r->ret_codes[k]->count;
    double x = x0;
    for (size_t k = 0; k < r->n_ret_codes && total; k++) {
      const Meshplane__V1__RetCode *rc = r->ret_codes[k];
      double w = (double)(x1 - x0) * (double)rc->count / (double)total;
      mp_buf_printf(b,
                    "<rect class=\"code-bar\" data-result=\"%s\" data-code=\"%d\" x=\"%.1f\" "
                    "y=\"%d\" width=\"%.1f\" height=\"24\" fill=\"%s\"><title>%d: %llu (%.2f%%)"
                    "</title></rect>",
                    r->id, rc->code, x, y, w > 0.5 ? w : 0.5, code_color(rc->code), rc->code,
                    (unsigned long long)rc->count, 100.0 * (double)rc->count / (double)total);
      if (w > 60)
        mp_buf_printf(
            b, "<text x=\"%.1f\" y=\"%d\" class=\"tick\" style=\"fill:#fff\">%d: %llu</text>",
            x + 6, y + 17, rc->code, (unsigned long long)rc->count);
      x += w;
    }
    if (!total)
      mp_buf_printf(b, "<text x=\"%d\" y=\"%d\" class=\"tick\">no responses</text>", x0, y + 17);
  }
  mp_buf_printf(b,
                "<text x=\"%d\" y=\"%d\" class=\"tick\">green 2xx, blue 3xx, orange 4xx, red 5xx, "
                "grey socket errors</text></svg>\n",
                x0, h - 8);
}

/* ---- tables --------------------------------------------------------------------------------- */

static void td_us(mp_buf *b, double us) {
  char t[32];
  mp_buf_printf(b, "<td class=\"n\">%s</td>", mp_report_fmt_us(us, t, sizeof t));
}

static void summary_table(mp_buf *b, const mctl_report_series *s, size_t n) {
  mp_buf_puts(b,
              "<div "
              "class=\"wide\"><table><tr><th></th><th>result</th><th>profile</th><th>mesh</"
              "th><th>status</th>"
              "<th>start (UTC)</th><th>duration</th><th>req/s</th><th>requests</th><th>errors</th>"
              "<th>p50</th><th>p90</th><th>p99</th><th>p99.9</th><th>max</th></tr>\n");
  for (size_t i = 0; i < n; i++) {
    const Meshplane__V1__Result *r = s[i].result;
    const Meshplane__V1__LatencyStats *ls = r->latency;
    char start[64];
    time_t t = (time_t)(r->start_time_ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(start, sizeof start, "%m-%d %H:%M:%S", &tm);
    const ProtobufCEnumValue *st =
        protobuf_c_enum_descriptor_get_value(&meshplane__v1__run_status__descriptor, r->status);
    mp_buf_printf(b,
                  "<tr><td><i class=\"sw\" style=\"background:%s\"></i></td><td><code "
                  "title=\"%s\">%.8s</code></td><td>",
                  color(i), r->id, r->id);
    esc(b, r->profile_name);
    mp_buf_puts(b, "</td><td>");
    esc(b, r->service_mesh);
    mp_buf_printf(b,
                  "</td><td>%s</td><td>%s</td><td class=\"n\">%.1fs</td><td class=\"n\">%.1f</td>"
                  "<td class=\"n\">%llu</td><td class=\"n\">%llu</td>",
                  st ? st->name + strlen("RUN_STATUS_") : "?", start,
                  (double)r->actual_duration_ms / 1000.0, r->actual_qps,
                  (unsigned long long)r->requests, (unsigned long long)r->errors);
    td_us(b, (double)mp_report_latency_at(ls, 50));
    td_us(b, (double)mp_report_latency_at(ls, 90));
    td_us(b, (double)mp_report_latency_at(ls, 99));
    td_us(b, (double)mp_report_latency_at(ls, 99.9));
    td_us(b, ls ? (double)ls->max_us : 0);
    mp_buf_puts(b, "</tr>\n");
  }
  mp_buf_puts(b, "</table></div>\n");
}

/* "+1.20ms", "-850us". */
static const char *signed_us(double us, char *buf, size_t n) {
  char t[24];
  mp_report_fmt_us(us < 0 ? -us : us, t, sizeof t);
  snprintf(buf, n, "%s%s", us < 0 ? "-" : "+", t);
  return buf;
}

static void comparison_table(mp_buf *b, const Meshplane__V1__CompareResultsResponse *cmp) {
  mp_buf_printf(b,
                "<h2>Comparison with the baseline</h2><p>Deltas with %g%% confidence "
                "intervals; the verdict is significant only when the interval excludes zero."
                "</p>\n",
                cmp->confidence * 100);
  for (size_t k = 0; k < cmp->n_comparisons; k++) {
    const Meshplane__V1__Comparison *c = cmp->comparisons[k];
    mp_buf_printf(b,
                  "<h3><code>%.8s</code> vs baseline <code>%.8s</code> (requests/s %+.1f%%)"
                  "</h3><table class=\"cmp\"><tr><th>percentile</th><th>baseline</th>"
                  "<th>candidate</th><th>delta</th><th>interval</th><th>change</th>"
                  "<th>verdict</th></tr>\n",
                  c->candidate_id, c->baseline_id, c->rps_delta_pct);
    for (size_t d = 0; d < c->n_deltas; d++) {
      const Meshplane__V1__PercentileDelta *pd = c->deltas[d];
      const char *v = pd->verdict == MESHPLANE__V1__VERDICT__VERDICT_FASTER   ? "faster"
                      : pd->verdict == MESHPLANE__V1__VERDICT__VERDICT_SLOWER ? "slower"
                                                                              : "same";
      mp_buf_printf(b, "<tr><td>p%g</td>", pd->percentile);
      td_us(b, (double)pd->baseline_us);
      td_us(b, (double)pd->candidate_us);
      char d0[32], d1[32], d2[32];
      mp_buf_printf(b,
                    "<td class=\"n\">%s</td><td class=\"n\">[%s, %s]</td>"
                    "<td class=\"n\">%+.1f%%</td><td class=\"v-%s\">%s</td></tr>\n",
                    signed_us(pd->delta_us, d0, sizeof d0),
                    signed_us(pd->delta_ci_low_us, d1, sizeof d1),
                    signed_us(pd->delta_ci_high_us, d2, sizeof d2), pd->delta_pct, v,
                    pd->verdict == MESHPLANE__V1__VERDICT__VERDICT_NO_SIGNIFICANT_DIFFERENCE
                        ? "no significant difference"
                        : v);
    }
    mp_buf_puts(b, "</table>\n");
  }
}

static const char css[] =
    "body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,Helvetica,Arial,sans-serif;"
    "margin:24px auto;max-width:960px;color:#222;padding:0 12px}"
    "h1{font-size:1.5em}h2{font-size:1.2em;margin-top:2em}h3{font-size:1em}"
    "table{border-collapse:collapse;font-size:.8em;margin:.5em 0}.wide{overflow-x:auto}"
    "th,td{padding:3px 6px;border-bottom:1px solid "
    "#ddd;text-align:left;white-space:nowrap}td.n{text-align:right;"
    "font-variant-numeric:tabular-nums}svg{max-width:100%;height:auto;border:1px solid #eee}"
    "svg text{font-family:inherit}.tick{font-size:11px;fill:#555}.axis{font-size:12px;fill:#222}"
    ".legend span{margin-right:16px;font-size:.9em}.legend i,i.sw{display:inline-block;"
    "width:12px;height:12px;margin-right:4px;vertical-align:middle}"
    ".v-slower{color:#c00;font-weight:bold}.v-faster{color:#080;font-weight:bold}"
    "footer{margin-top:2em;font-size:.8em;color:#777}";

mp_status mctl_report_html(const mctl_report_series *s, size_t n,
                           const Meshplane__V1__CompareResultsResponse *cmp, const char *title,
                           mp_buf *b) {
  if (n == 0) return mp_error_set(MP_ERR_INVALID, "a report needs at least one result");
  mp_buf_puts(b, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                 "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><title>");
  esc(b, title);
  mp_buf_printf(b, "</title><style>%s</style></head>\n<body>\n<h1>", css);
  esc(b, title);
  mp_buf_puts(b, "</h1>\n");
  summary_table(b, s, n);
  mp_buf_puts(b, "<h2>Latency by percentile</h2><p>Corrected for coordinated omission; the "
                 "x axis stretches the tail like HdrHistogram plots.</p>\n");
  legend(b, s, n);
  chart_latency(b, s, n);
  bool any_iv = false;
  for (size_t i = 0; i < n; i++) any_iv |= s[i].n > 0;
  mp_buf_puts(b, "<h2>Requests per second</h2>\n");
  if (any_iv) {
    legend(b, s, n);
    chart_rps(b, s, n);
  } else {
    mp_buf_puts(b, "<p>The server kept no per-interval data for these results.</p>\n");
  }
  mp_buf_puts(b, "<h2>Return codes</h2>\n");
  chart_codes(b, s, n);
  if (cmp && cmp->n_comparisons) comparison_table(b, cmp);
  char now[64];
  time_t t = time(NULL);
  struct tm tm;
  gmtime_r(&t, &tm);
  strftime(now, sizeof now, "%Y-%m-%d %H:%M:%S UTC", &tm);
  mp_buf_printf(b, "<footer>Written by meshctl %s on %s.</footer>\n</body></html>\n",
                MESHPLANE_VERSION, now);
  return MP_OK;
}

mp_status mctl_report_parse_hlog(const char *log, size_t len, double **t, double **rps, size_t *n) {
  *t = NULL;
  *rps = NULL;
  *n = 0;
  size_t cap = 0;
  const char *p = log, *end = log + len;
  while (p < end) {
    const char *eol = memchr(p, '\n', (size_t)(end - p));
    if (!eol) eol = end;
    if (eol > p && *p != '#' && *p != '"') {
      char *line = mp_strndup(p, (size_t)(eol - p));
      char *f[4] = {0}, *save = NULL;
      int k = 0;
      for (char *tok = strtok_r(line, ",", &save); tok && k < 4; tok = strtok_r(NULL, ",", &save))
        f[k++] = tok;
      mp_hdr *h = NULL;
      if (k == 4 && mp_hdr_decode_base64(f[3], strlen(f[3]), &h) == MP_OK) {
        double start = strtod(f[0], NULL), length = strtod(f[1], NULL);
        if (*n == cap) {
          cap = cap ? 2 * cap : 64;
          *t = mp_realloc(*t, cap * sizeof **t);
          *rps = mp_realloc(*rps, cap * sizeof **rps);
        }
        (*t)[*n] = start;
        (*rps)[*n] = length > 0 ? (double)mp_hdr_count(h) / length : 0;
        (*n)++;
        mp_hdr_free(h);
        mp_free(line);
      } else {
        mp_free(line);
        mp_free(*t);
        mp_free(*rps);
        *t = *rps = NULL;
        *n = 0;
        return mp_error_set(MP_ERR_INVALID, "the interval log has a line that does not decode");
      }
    }
    p = eol + 1;
  }
  return MP_OK;
}
