/* The HTML report of `meshctl perf report`: one self-contained file (inline CSS and SVG,
 * no scripts, no fonts or images from elsewhere) that a browser shows offline. Charts:
 *  - latency by percentile, HdrHistogram style: x = 1/(1-p) on a log scale (0%, 90%,
 *    99%, 99.9%, ...), one line per result, from each result's full histogram;
 *  - requests/s over time, from the result's per-interval histograms;
 *  - return codes, one stacked bar per result;
 * plus a summary table and, with two or more results, the server's comparison.
 * Elements tests look for: svg#chart-latency, svg#chart-rps, svg#chart-codes, each series
 * a path.series (bars rect.code-bar) with data-result="<result id>". */
#ifndef MESHCTL_REPORT_HTML_H
#define MESHCTL_REPORT_HTML_H

#include <stddef.h>

#include "meshplane/base.h"
#include "meshplane/v1/server.pb-c.h"

typedef struct mctl_report_series {
  const Meshplane__V1__Result *result; /* borrowed */
  double *t;                           /* interval start, seconds from the run's start */
  double *rps;                         /* requests/s in that interval */
  size_t n;                            /* intervals (0: no rate chart for this result) */
} mctl_report_series;

/* Appends the HTML document for series[0..n) to out. cmp (may be NULL) is the server's
 * comparison of the same results, baseline first. title is escaped. */
mp_status mctl_report_html(const mctl_report_series *series, size_t n,
                           const Meshplane__V1__CompareResultsResponse *cmp, const char *title,
                           mp_buf *out);

/* Reads an HdrHistogram interval log (what ExportResult's HDR_LOG format returns) into
 * per-interval start times and rates (count / length). *t and *rps are the caller's to
 * free. MP_ERR_INVALID when a histogram line does not decode. */
mp_status mctl_report_parse_hlog(const char *log, size_t len, double **t, double **rps, size_t *n);

#endif
