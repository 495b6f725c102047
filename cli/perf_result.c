/* meshctl perf result | compare | export, and the result table and view they share. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "meshplane/report.h"
#include "table.h"

static const char *status_name(Meshplane__V1__RunStatus s) {
  return mctl_enum_name(&meshplane__v1__run_status__descriptor, (int)s, "RUN_STATUS_");
}

static const char *lat(const Meshplane__V1__LatencyStats *ls, double p, char *buf, size_t n) {
  if (!ls || !ls->count) return "-";
  return mctl_fmt_us((double)mp_report_latency_at(ls, p), buf, n);
}

void mctl_print_results_table(const Meshplane__V1__Result *const *rs, size_t n) {
  static const char *const head[] = {"ID",   "NAME",     "MESH",      "STATUS",
                                     ">QPS", "DURATION", ">REQUESTS", ">ERRORS",
                                     ">P50", ">P99",     ">P99.9",    "START-TIME"};
  mctl_table *t = mctl_table_new(head, MP_ARRAY_LEN(head));
  for (size_t i = 0; i < n; i++) {
    const Meshplane__V1__Result *r = rs[i];
    char id[16], qps[32], dur[32], req[32], err[32], p50[32], p99[32], p999[32], start[64];
    snprintf(req, sizeof req, "%llu", (unsigned long long)r->requests);
    snprintf(err, sizeof err, "%llu", (unsigned long long)r->errors);
    mctl_table_add(t, mctl_short_id(r->id, id, sizeof id), r->profile_name, r->service_mesh,
                   status_name(r->status), mctl_fmt_qps(r->actual_qps, qps, sizeof qps),
                   mctl_fmt_ms_dur(r->actual_duration_ms, dur, sizeof dur), req, err,
                   lat(r->latency, 50, p50, sizeof p50), lat(r->latency, 99, p99, sizeof p99),
                   lat(r->latency, 99.9, p999, sizeof p999),
                   mctl_fmt_time(r->start_time_ms, start, sizeof start));
  }
  mctl_table_print(t);
  mctl_table_free(t);
}

void mctl_print_result_view(const Meshplane__V1__Result *r) {
  char a[64], b[64], d1[32], d2[32];
  printf("RESULT %s   profile %s   mesh %s   %s\n", r->id, mctl_or_dash(r->profile_name),
         mctl_or_dash(r->service_mesh), status_name(r->status));
  if (*r->error) printf("  error: %s\n", r->error);
  printf("started %s, ran %s (requested %s), %u connections, %zu worker%s\n",
         mctl_fmt_time(r->start_time_ms, a, sizeof a),
         mctl_fmt_ms_dur(r->actual_duration_ms, d1, sizeof d1),
         mctl_fmt_ms_dur(r->requested_duration_ms, d2, sizeof d2), r->connections, r->n_workers,
         r->n_workers == 1 ? "" : "s");
  printf("%llu requests at %.1f/s (requested %s/s); %llu errors (%llu socket, %llu timeouts)\n\n",
         (unsigned long long)r->requests, r->actual_qps,
         mctl_fmt_qps(r->requested_qps, b, sizeof b), (unsigned long long)r->errors,
         (unsigned long long)r->socket_errors, (unsigned long long)r->timeouts);
  static const char *const lhead[] = {"LATENCY", ">MIN",   ">P50",    ">P75", ">P90",
                                      ">P99",    ">P99.9", ">P99.99", ">MAX", ">MEAN"};
  mctl_table *t = mctl_table_new(lhead, MP_ARRAY_LEN(lhead));
  const Meshplane__V1__LatencyStats *rows[2] = {r->latency, r->uncorrected};
  const char *names[2] = {"corrected", "uncorrected"};
  for (int k = 0; k < 2; k++) {
    const Meshplane__V1__LatencyStats *ls = rows[k];
    if (!ls || !ls->count) continue;
    char v[9][32];
    mctl_table_add(t, names[k], mctl_fmt_us((double)ls->min_us, v[0], 32), lat(ls, 50, v[1], 32),
                   lat(ls, 75, v[2], 32), lat(ls, 90, v[3], 32), lat(ls, 99, v[4], 32),
                   lat(ls, 99.9, v[5], 32), lat(ls, 99.99, v[6], 32),
                   mctl_fmt_us((double)ls->max_us, v[7], 32), mctl_fmt_us(ls->mean_us, v[8], 32));
  }
  if (mctl_table_rows(t)) mctl_table_print(t);
  mctl_table_free(t);
  if (r->n_ret_codes) {
    static const char *const head[] = {"RET-CODE", ">COUNT", ">SHARE"};
    t = mctl_table_new(head, 3);
    for (size_t i = 0; i < r->n_ret_codes; i++) {
      char code[32], count[32], share[32];
      if (r->ret_codes[i]->code < 0)
        snprintf(code, sizeof code, "socket error");
      else
        snprintf(code, sizeof code, "%d", r->ret_codes[i]->code);
      snprintf(count, sizeof count, "%llu", (unsigned long long)r->ret_codes[i]->count);
      snprintf(share, sizeof share, "%.1f%%",
               r->requests ? 100.0 * (double)r->ret_codes[i]->count / (double)r->requests : 0);
      mctl_table_add(t, code, count, share);
    }
    fputc('\n', stdout);
    mctl_table_print(t);
    mctl_table_free(t);
  }
  if (r->n_endpoints > 1) {
    static const char *const head[] = {"ENDPOINT", ">REQUESTS", ">ERRORS", ">P50", ">P99"};
    t = mctl_table_new(head, MP_ARRAY_LEN(head));
    for (size_t i = 0; i < r->n_endpoints; i++) {
      const Meshplane__V1__EndpointResult *e = r->endpoints[i];
      char q[32], er[32], p50[32], p99[32];
      snprintf(q, sizeof q, "%llu", (unsigned long long)e->requests);
      snprintf(er, sizeof er, "%llu", (unsigned long long)e->errors);
      mctl_table_add(t, e->endpoint, q, er, lat(e->latency, 50, p50, 32),
                     lat(e->latency, 99, p99, 32));
    }
    fputc('\n', stdout);
    mctl_table_print(t);
    mctl_table_free(t);
  }
  if (r->n_shares > 1) {
    static const char *const head[] = {"WORKER", ">REQUESTS", ">QPS",
                                       ">P50",   ">P99",      ">LATE-SENDS"};
    t = mctl_table_new(head, MP_ARRAY_LEN(head));
    for (size_t i = 0; i < r->n_shares; i++) {
      const Meshplane__V1__WorkerShare *s = r->shares[i];
      char q[32], qps[32], p50[32], p99[32], late[32];
      snprintf(q, sizeof q, "%llu", (unsigned long long)s->requests);
      snprintf(late, sizeof late, "%llu", (unsigned long long)s->late_sends);
      mctl_table_add(t, s->worker, q, mctl_fmt_qps(s->actual_qps, qps, sizeof qps),
                     lat(s->latency, 50, p50, 32), lat(s->latency, 99, p99, 32), late);
    }
    fputc('\n', stdout);
    mctl_table_print(t);
    mctl_table_free(t);
  }
}

/* ---- perf result ---------------------------------------------------------------------------- */

int mctl_perf_result(mctl_ctx *c, int argc, char **argv) {
  static bool view;
  static int64_t limit; /* static: flag targets outlive the call (see cli.h) */
  view = false;
  limit = 0;
  const mp_flag flags[] = {
      {"view", 0, MP_FLAG_BOOL, &view, NULL, "show each result in detail", NULL},
      {"limit", 'n', MP_FLAG_INT, &limit, NULL, "only the newest N results (0 = all)", "N"},
  };
  int nargs, rc;
  if (!mctl_parse(
          c, "[PROFILE | RESULT-ID] [--view]",
          "Lists the results of PROFILE (a name or id), newest first, or of every profile.\n"
          "Given a result id (or the first characters of one), shows that result.\n"
          "IDs are shortened to 8 characters in tables; every command takes them so.",
          flags, MP_ARRAY_LEN(flags), false, argc, argv, &nargs, &rc))
    return rc;
  if (nargs > 1) return mctl_fail(c, MCTL_EXIT_USAGE, "give at most one PROFILE");
  const char *key = nargs ? argv[0] : "";
  /* A result id shows that result. */
  if (mp_uuid_valid(key)) {
    Meshplane__V1__GetResultRequest req = MESHPLANE__V1__GET_RESULT_REQUEST__INIT;
    req.id = (char *)key;
    ProtobufCMessage *resp;
    mp_rpc_status st;
    if (mctl_call_st(c, "GetResult", &req.base, &resp, &st) == 0) {
      if (c->format == MCTL_TABLE)
        mctl_print_result_view((Meshplane__V1__Result *)resp);
      else
        mctl_print_message(c, resp);
      protobuf_c_message_free_unpacked(resp, NULL);
      return 0;
    }
  }
  Meshplane__V1__ListResultsResponse *all = mp_malloc(sizeof *all);
  meshplane__v1__list_results_response__init(all);
  char token[64] = "";
  do {
    Meshplane__V1__ListResultsRequest req = MESHPLANE__V1__LIST_RESULTS_REQUEST__INIT;
    if (mp_uuid_valid(key))
      req.profile_id = (char *)key;
    else
      req.profile_name = (char *)key;
    req.page_size = limit > 0 && limit < 1000 ? (uint32_t)limit : 1000;
    req.page_token = token;
    ProtobufCMessage *resp;
    mp_rpc_status st;
    rc = mctl_call_st(c, "ListResults", &req.base, &resp, &st);
    if (rc == MCTL_EXIT_NOT_FOUND && *key && !mp_uuid_valid(key)) {
      /* Not a profile: maybe the start of a result id. */
      Meshplane__V1__Result *one;
      protobuf_c_message_free_unpacked(&all->base, NULL);
      if (strlen(key) < 4 || strlen(key) >= MP_UUID_STRLEN ||
          strspn(key, "0123456789abcdef-") != strlen(key))
        return mctl_fail(c, rc, "no profile named \"%s\": list them with 'meshctl perf profile'",
                         key);
      if ((rc = mctl_get_result(c, key, &one)) != 0) return rc;
      if (c->format == MCTL_TABLE)
        mctl_print_result_view(one);
      else
        mctl_print_message(c, &one->base);
      protobuf_c_message_free_unpacked(&one->base, NULL);
      return 0;
    }
    if (rc) {
      protobuf_c_message_free_unpacked(&all->base, NULL);
      return mctl_fail_rpc(c, "list results", &st);
    }
    Meshplane__V1__ListResultsResponse *r = (Meshplane__V1__ListResultsResponse *)resp;
    all->results =
        mp_realloc(all->results, (all->n_results + r->n_results + 1) * sizeof *all->results);
    for (size_t i = 0; i < r->n_results; i++) all->results[all->n_results++] = r->results[i];
    r->n_results = 0;
    all->total = r->total;
    mp_strlcpy(token, r->next_page_token ? r->next_page_token : "", sizeof token);
    protobuf_c_message_free_unpacked(resp, NULL);
  } while (*token && (limit <= 0 || all->n_results < (size_t)limit));
  while (limit > 0 && all->n_results > (size_t)limit)
    protobuf_c_message_free_unpacked(&all->results[--all->n_results]->base, NULL);
  const ProtobufCMessage *const *msgs = (const ProtobufCMessage *const *)all->results;
  if (c->format != MCTL_TABLE) {
    mctl_print_messages(c, "results", msgs, all->n_results);
  } else if (all->n_results == 0) {
    fprintf(stderr, "No results%s%s yet: run a profile with 'meshctl perf apply NAME'\n",
            *key ? " for " : "", key);
  } else if (view) {
    for (size_t i = 0; i < all->n_results; i++) {
      if (i) printf("\n---\n\n");
      mctl_print_result_view(all->results[i]);
    }
  } else {
    mctl_print_results_table((const Meshplane__V1__Result *const *)all->results, all->n_results);
  }
  protobuf_c_message_free_unpacked(&all->base, NULL);
  return 0;
}

/* ---- perf compare --------------------------------------------------------------------------- */

static const char *verdict_word(Meshplane__V1__Verdict v) {
  switch (v) {
  case MESHPLANE__V1__VERDICT__VERDICT_FASTER: return "faster";
  case MESHPLANE__V1__VERDICT__VERDICT_SLOWER: return "SLOWER";
  default: return "no significant difference";
  }
}

static void signed_us(double us, char *buf, size_t n) {
  char t[24];
  mctl_fmt_us(us < 0 ? -us : us, t, sizeof t);
  snprintf(buf, n, "%s%s", us < 0 ? "-" : "+", t);
}

int mctl_perf_compare(mctl_ctx *c, int argc, char **argv) {
  static double confidence;
  static mp_strlist pcts;
  static bool fail_on_slower;
  confidence = 0.95;
  pcts = (mp_strlist){0};
  fail_on_slower = false;
  const mp_flag flags[] = {
      {"confidence", 0, MP_FLAG_DOUBLE, &confidence, NULL, "confidence level of the intervals",
       "P"},
      {"percentile", 'p', MP_FLAG_LIST, &pcts, NULL,
       "percentile to compare (repeatable; default 50, 90, 99, 99.9)", "P"},
      {"fail-on-slower", 0, MP_FLAG_BOOL, &fail_on_slower, NULL,
       "exit 7 when any candidate is significantly slower at any percentile", NULL},
  };
  int nargs, rc;
  if (!mctl_parse(c, "BASELINE CANDIDATE...",
                  "Compares each CANDIDATE result with the BASELINE result: per percentile, the\n"
                  "latency delta with its confidence interval (bootstrapped from the interval\n"
                  "histograms) and a verdict: faster, SLOWER, or no significant difference.",
                  flags, MP_ARRAY_LEN(flags), false, argc, argv, &nargs, &rc))
    return rc;
  if (nargs < 2)
    return mctl_fail(c, MCTL_EXIT_USAGE,
                     "give at least two results: the baseline first, then the candidates");
  Meshplane__V1__CompareResultsRequest req = MESHPLANE__V1__COMPARE_RESULTS_REQUEST__INIT;
  char(*ids)[MP_UUID_STRLEN] = mp_calloc((size_t)nargs, sizeof *ids);
  char **idp = mp_calloc((size_t)nargs, sizeof *idp);
  double *pv = mp_calloc(pcts.len + 1, sizeof *pv);
  Meshplane__V1__Result **res = mp_calloc((size_t)nargs, sizeof *res);
  for (size_t i = 0; i < pcts.len; i++) {
    char *end;
    pv[i] = strtod(pcts.items[i], &end);
    if (*end || pv[i] <= 0 || pv[i] > 100) {
      rc = mctl_fail(c, MCTL_EXIT_USAGE, "--percentile %s: give a number in (0, 100]",
                     pcts.items[i]);
      break;
    }
  }
  for (int i = 0; i < nargs && rc == 0; i++) {
    rc = mctl_get_result(c, argv[i], &res[i]);
    if (rc == 0) {
      mp_strlcpy(ids[i], res[i]->id, MP_UUID_STRLEN);
      idp[i] = ids[i];
    }
  }
  ProtobufCMessage *resp = NULL;
  if (rc == 0) {
    req.result_ids = idp;
    req.n_result_ids = (size_t)nargs;
    req.confidence = confidence;
    req.percentiles = pv;
    req.n_percentiles = pcts.len;
    rc = mctl_call(c, "CompareResults", &req.base, &resp, "compare the results");
  }
  bool slower = false;
  if (rc == 0) {
    Meshplane__V1__CompareResultsResponse *cr = (Meshplane__V1__CompareResultsResponse *)resp;
    for (size_t k = 0; k < cr->n_comparisons; k++)
      for (size_t d = 0; d < cr->comparisons[k]->n_deltas; d++)
        slower |= cr->comparisons[k]->deltas[d]->verdict == MESHPLANE__V1__VERDICT__VERDICT_SLOWER;
    if (c->format != MCTL_TABLE) {
      mctl_print_message(c, resp);
    } else {
      for (size_t k = 0; k < cr->n_comparisons; k++) {
        const Meshplane__V1__Comparison *cmp = cr->comparisons[k];
        const Meshplane__V1__Result *b = res[0], *cand = res[k + 1];
        char s1[16], s2[16];
        printf("%sbaseline %s (%s, mesh %s)  vs  candidate %s (%s, mesh %s)\n", k ? "\n" : "",
               mctl_short_id(b->id, s1, sizeof s1), b->profile_name, mctl_or_dash(b->service_mesh),
               mctl_short_id(cand->id, s2, sizeof s2), cand->profile_name,
               mctl_or_dash(cand->service_mesh));
        char ci_head[40];
        snprintf(ci_head, sizeof ci_head, "%g%% CI", cr->confidence * 100);
        const char *head[] = {"PERCENTILE", ">BASELINE", ">CANDIDATE", ">DELTA",
                              ci_head,      ">CHANGE",   "VERDICT"};
        mctl_table *t = mctl_table_new(head, MP_ARRAY_LEN(head));
        for (size_t d = 0; d < cmp->n_deltas; d++) {
          const Meshplane__V1__PercentileDelta *pd = cmp->deltas[d];
          char p[32], bv[32], cv[32], dv[32], lo[32], hi[32], ci[80], ch[32];
          snprintf(p, sizeof p, "p%g", pd->percentile);
          signed_us(pd->delta_us, dv, sizeof dv);
          signed_us(pd->delta_ci_low_us, lo, sizeof lo);
          signed_us(pd->delta_ci_high_us, hi, sizeof hi);
          snprintf(ci, sizeof ci, "[%s, %s]", lo, hi);
          snprintf(ch, sizeof ch, "%+.1f%%", pd->delta_pct);
          mctl_table_add(t, p, mctl_fmt_us((double)pd->baseline_us, bv, sizeof bv),
                         mctl_fmt_us((double)pd->candidate_us, cv, sizeof cv), dv, ci, ch,
                         verdict_word(pd->verdict));
        }
        mctl_table_print(t);
        mctl_table_free(t);
        printf("requests/s: %+.1f%% (%.1f -> %.1f)\n", cmp->rps_delta_pct, b->actual_qps,
               cand->actual_qps);
      }
    }
  }
  if (rc == 0 && fail_on_slower && slower)
    rc = mctl_fail(c, MCTL_EXIT_CHECK, "a candidate is significantly slower than the baseline");
  if (resp) protobuf_c_message_free_unpacked(resp, NULL);
  for (int i = 0; i < nargs; i++)
    if (res[i]) protobuf_c_message_free_unpacked(&res[i]->base, NULL);
  mp_free(res);
  mp_free(pv);
  mp_free(idp);
  mp_free(ids);
  return rc;
}

/* ---- perf export ---------------------------------------------------------------------------- */

int mctl_perf_export(mctl_ctx *c, int argc, char **argv) {
  static char *format, *out;
  format = "fortio";
  out = "";
  const mp_flag flags[] = {
      {"format", 'f', MP_FLAG_STRING, &format, NULL, "fortio (JSON), smp (YAML) or hdr (log)",
       "FORMAT"},
      {"output", 'o', MP_FLAG_STRING, &out, NULL,
       "write to FILE, or into a DIRECTORY under the server's file name (default: stdout)", "FILE"},
  };
  int nargs, rc;
  if (!mctl_parse(
          c, "RESULT --format fortio|smp|hdr [-o FILE]",
          "Exports a result for other tools: fortio's JSON (fortio report, Meshery),\n"
          "the SMP PerformanceTestResult, or an HdrHistogram interval log (HistogramLogAnalyzer,\n"
          "hdr-plot).",
          flags, MP_ARRAY_LEN(flags), true, argc, argv, &nargs, &rc))
    return rc;
  if (nargs != 1) return mctl_fail(c, MCTL_EXIT_USAGE, "give exactly one RESULT id");
  Meshplane__V1__ExportResultRequest req = MESHPLANE__V1__EXPORT_RESULT_REQUEST__INIT;
  if (!strcmp(format, "fortio") || !strcmp(format, "json"))
    req.format = MESHPLANE__V1__EXPORT_FORMAT__EXPORT_FORMAT_FORTIO;
  else if (!strcmp(format, "smp") || !strcmp(format, "yaml"))
    req.format = MESHPLANE__V1__EXPORT_FORMAT__EXPORT_FORMAT_SMP;
  else if (!strcmp(format, "hdr") || !strcmp(format, "hlog"))
    req.format = MESHPLANE__V1__EXPORT_FORMAT__EXPORT_FORMAT_HDR_LOG;
  else
    return mctl_fail(c, MCTL_EXIT_USAGE, "--format %s: use fortio, smp or hdr", format);
  char id[MP_UUID_STRLEN];
  if ((rc = mctl_resolve_result(c, argv[0], id)) != 0) return rc;
  req.id = id;
  ProtobufCMessage *resp;
  if ((rc = mctl_call(c, "ExportResult", &req.base, &resp, "export the result")) != 0) return rc;
  Meshplane__V1__ExportResultResponse *r = (Meshplane__V1__ExportResultResponse *)resp;
  if (!*out || !strcmp(out, "-")) {
    fwrite(r->data.data, 1, r->data.len, stdout);
  } else {
    struct stat sb;
    char *path = stat(out, &sb) == 0 && S_ISDIR(sb.st_mode) ? mp_asprintf("%s/%s", out, r->filename)
                                                            : mp_strdup(out);
    FILE *f = fopen(path, "wb");
    bool ok = f && fwrite(r->data.data, 1, r->data.len, f) == r->data.len;
    if (f && fclose(f) != 0) ok = false;
    if (!ok) {
      rc = mctl_fail(c, MCTL_EXIT_FAILURE, "cannot write %s: %s", path, strerror(errno));
    } else {
      fprintf(stderr, "wrote %s (%zu bytes, %s)\n", path, r->data.len, r->content_type);
    }
    mp_free(path);
  }
  protobuf_c_message_free_unpacked(resp, NULL);
  return rc;
}
