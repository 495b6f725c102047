/* meshctl perf report: fetches results, their interval logs and their comparison, and
 * writes the self-contained HTML report (report_html.c renders it). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "report_html.h"

/* The per-interval rates of a result, from its HdrHistogram interval log. Missing data is
 * not an error: the report then says so instead of drawing the chart. */
static void load_intervals(mctl_ctx *c, const char *id, mctl_report_series *s) {
  Meshplane__V1__ExportResultRequest req = MESHPLANE__V1__EXPORT_RESULT_REQUEST__INIT;
  req.id = (char *)id;
  req.format = MESHPLANE__V1__EXPORT_FORMAT__EXPORT_FORMAT_HDR_LOG;
  ProtobufCMessage *resp;
  mp_rpc_status st;
  if (mctl_call_st(c, "ExportResult", &req.base, &resp, &st) != 0) {
    fprintf(stderr, "meshctl %s: no interval data for %s (%s); the rate chart leaves it out\n",
            c->cmd, id, st.message);
    return;
  }
  Meshplane__V1__ExportResultResponse *r = (Meshplane__V1__ExportResultResponse *)resp;
  if (mctl_report_parse_hlog((const char *)r->data.data, r->data.len, &s->t, &s->rps, &s->n) !=
      MP_OK)
    fprintf(stderr, "meshctl %s: the interval log of %s does not read: %s\n", c->cmd, id,
            mp_error_last());
  protobuf_c_message_free_unpacked(resp, NULL);
}

int mctl_perf_report(mctl_ctx *c, int argc, char **argv) {
  static char *out, *title;
  out = "report.html";
  title = "";
  const mp_flag flags[] = {
      {"output", 'o', MP_FLAG_STRING, &out, NULL, "the HTML file to write (- for stdout)", "FILE"},
      {"title", 0, MP_FLAG_STRING, &title, NULL, "the report's title", "TEXT"},
  };
  int nargs, rc;
  if (!mctl_parse(c, "RESULT... [-o report.html]",
                  "Writes one HTML file that any browser shows offline: latency by percentile\n"
                  "(HdrHistogram style) of every result overlaid, requests/s over time, return\n"
                  "codes, a summary table and, for two or more results, the comparison with the\n"
                  "first one (the baseline).",
                  flags, MP_ARRAY_LEN(flags), true, argc, argv, &nargs, &rc))
    return rc;
  if (nargs == 0) return mctl_fail(c, MCTL_EXIT_USAGE, "give one or more RESULT ids");
  mctl_report_series *s = mp_calloc((size_t)nargs, sizeof *s);
  Meshplane__V1__Result **res = mp_calloc((size_t)nargs, sizeof *res);
  for (int i = 0; i < nargs && rc == 0; i++) {
    rc = mctl_get_result(c, argv[i], &res[i]);
    if (rc == 0) {
      s[i].result = res[i];
      load_intervals(c, res[i]->id, &s[i]);
    }
  }
  ProtobufCMessage *cmp = NULL;
  if (rc == 0 && nargs > 1) {
    Meshplane__V1__CompareResultsRequest req = MESHPLANE__V1__COMPARE_RESULTS_REQUEST__INIT;
    char **ids = mp_calloc((size_t)nargs, sizeof *ids);
    for (int i = 0; i < nargs; i++) ids[i] = res[i]->id;
    req.result_ids = ids;
    req.n_result_ids = (size_t)nargs;
    mp_rpc_status st;
    if (mctl_call_st(c, "CompareResults", &req.base, &cmp, &st) != 0)
      fprintf(stderr, "meshctl %s: no comparison in the report: %s\n", c->cmd, st.message);
    mp_free(ids);
  }
  if (rc == 0) {
    mp_buf b = {0};
    char *auto_title = NULL; /* title belongs to the flag parser: never reassign it */
    if (!*title)
      auto_title = nargs == 1 ? mp_asprintf("meshplane report: %s", res[0]->profile_name)
                              : mp_asprintf("meshplane report: %d results", nargs);
    mctl_report_html(s, (size_t)nargs, (Meshplane__V1__CompareResultsResponse *)cmp,
                     auto_title ? auto_title : title, &b);
    mp_free(auto_title);
    if (!strcmp(out, "-")) {
      fwrite(b.data, 1, b.len, stdout);
    } else {
      FILE *f = fopen(out, "wb");
      bool ok = f && fwrite(b.data, 1, b.len, f) == b.len;
      if (f && fclose(f) != 0) ok = false;
      if (ok)
        fprintf(stderr, "wrote %s (%zu bytes): open it in a browser\n", out, b.len);
      else
        rc = mctl_fail(c, MCTL_EXIT_FAILURE, "cannot write %s: %s", out, strerror(errno));
    }
    mp_buf_free(&b);
  }
  if (cmp) protobuf_c_message_free_unpacked(cmp, NULL);
  for (int i = 0; i < nargs; i++) {
    if (res[i]) protobuf_c_message_free_unpacked(&res[i]->base, NULL);
    mp_free(s[i].t);
    mp_free(s[i].rps);
  }
  mp_free(res);
  mp_free(s);
  return rc;
}
