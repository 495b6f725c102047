/* Live run progress (see progress.h). */
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "meshplane/report.h"
#include "progress.h"

void mctl_progress_init(mctl_progress *p, FILE *f, int64_t duration_ms) {
  memset(p, 0, sizeof *p);
  p->f = f;
  p->duration_ms = duration_ms;
  p->total = mp_hdr_new_latency(0);
  p->width = 80;
  if (f && isatty(fileno(f))) {
    p->tty = true;
    struct winsize ws;
    if (ioctl(fileno(f), TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 40) p->width = ws.ws_col;
  }
}

const char *mctl_progress_format(const mctl_progress *p, bool bar, int width, char *buf, size_t n) {
  char el[32], dur[32], p50[32], p99[32];
  mp_duration_format(((p->elapsed_ms + 500) / 1000) * MP_NS_PER_S, el, sizeof el); /* nearest s */
  mp_duration_format((p->duration_ms / 1000) * MP_NS_PER_S, dur, sizeof dur);
  bool have = mp_hdr_count(p->total) > 0;
  mp_report_fmt_us(have ? (double)mp_hdr_value_at_percentile(p->total, 50) : 0, p50, sizeof p50);
  mp_report_fmt_us(have ? (double)mp_hdr_value_at_percentile(p->total, 99) : 0, p99, sizeof p99);
  char stats[256];
  snprintf(stats, sizeof stats, "%s/%s  %llu req  %.1f req/s  %llu err  p50 %s  p99 %s%s", el, dur,
           (unsigned long long)p->requests, p->rps, (unsigned long long)p->errors, have ? p50 : "-",
           have ? p99 : "-", p->warmup ? "  (warm-up)" : "");
  if (!bar) {
    snprintf(buf, n, "%s", stats);
    return buf;
  }
  double frac = p->duration_ms > 0 ? (double)p->elapsed_ms / (double)p->duration_ms : 0;
  if (frac > 1) frac = 1;
  if (frac < 0) frac = 0;
  /* "[=====>    ] 45%  " + stats; the bar takes what the stats leave, 10..40 columns. */
  int cells = width - (int)strlen(stats) - 9;
  if (cells > 40) cells = 40;
  if (cells < 10) cells = 10;
  char bars[48];
  int full = (int)(frac * cells);
  for (int i = 0; i < cells; i++) bars[i] = i < full ? '=' : (i == full ? '>' : ' ');
  if (full >= cells) bars[cells - 1] = '=';
  bars[cells] = '\0';
  snprintf(buf, n, "[%s] %3d%%  %s", bars, (int)(frac * 100), stats);
  /* Never wider than the terminal: a wrapped line cannot be redrawn in place. */
  if (width > 1 && (int)strlen(buf) >= width && (size_t)width < n) buf[width - 1] = '\0';
  return buf;
}

void mctl_progress_update(mctl_progress *p, const Meshplane__V1__Progress *pr) {
  p->elapsed_ms = pr->elapsed_ms;
  p->requests = pr->requests;
  p->errors = pr->errors;
  p->rps = pr->interval_rps;
  p->warmup = pr->warmup;
  if (!pr->warmup && pr->interval_histogram && *pr->interval_histogram) {
    mp_hdr *h = NULL;
    if (mp_hdr_decode_base64(pr->interval_histogram, strlen(pr->interval_histogram), &h) == MP_OK)
      mp_hdr_add(p->total, h);
    mp_hdr_free(h);
  }
  if (!p->f) return;
  char line[512];
  if (p->tty) {
    mctl_progress_format(p, true, p->width, line, sizeof line);
    fprintf(p->f, "\r\033[K%s", line);
    p->drawn = true;
  } else {
    fprintf(p->f, "%s\n", mctl_progress_format(p, false, 0, line, sizeof line));
  }
  fflush(p->f);
}

void mctl_progress_end(mctl_progress *p) {
  if (p->f && p->drawn) {
    fputc('\n', p->f);
    fflush(p->f);
  }
  p->drawn = false;
  mp_hdr_free(p->total);
  p->total = NULL;
}
