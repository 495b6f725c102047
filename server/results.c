/* Results: list (by profile, newest first, paged), get, export (fortio JSON, SMP YAML,
 * HdrHistogram log) and compare (per-percentile deltas with confidence intervals). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compare.h"
#include "meshplane/report.h"
#include "results.h"

/* Loads one result message by id (heap; free with protobuf_c_message_free_unpacked). With
 * intervals, also the per-interval histograms (the caller frees each and the array). */
static Meshplane__V1__Result *load(mp_server *s, const char *id, char ***intervals,
                                   size_t *n_intervals, int64_t *start_ms, mp_status *st) {
  if (!mp_uuid_valid(id)) {
    *st = mp_error_set(MP_ERR_INVALID, "\"%s\" is not a result id (a uuid from ListResults)", id);
    return NULL;
  }
  mp_dbargs a = {0};
  mp_dbargs_text(&a, id);
  PGresult *r =
      mp_db_exec(s->db,
                 "SELECT result, intervals, (extract(epoch FROM start_time) * 1000)::bigint "
                 "FROM results WHERE id = $1::uuid",
                 &a, st);
  mp_dbargs_free(&a);
  if (!r) return NULL;
  Meshplane__V1__Result *res = NULL;
  if (PQntuples(r) == 1) {
    size_t len;
    unsigned char *b = mp_db_bytes(r, 0, 0, &len);
    res = meshplane__v1__result__unpack(NULL, len, b);
    PQfreemem(b);
    if (intervals) *intervals = mp_db_textarray(r, 0, 1, n_intervals);
    if (start_ms) *start_ms = mp_db_int(r, 0, 2);
    if (!res) *st = mp_error_set(MP_ERR_INTERNAL, "result %s is stored damaged", id);
  } else {
    *st = mp_error_set(MP_ERR_NOT_FOUND, "no result %s", id);
  }
  PQclear(r);
  return res;
}

static void free_strings(char **v, size_t n) {
  for (size_t i = 0; i < n; i++) mp_free(v[i]);
  mp_free(v);
}

void mp_results_get(mp_server *s, const Meshplane__V1__GetResultRequest *in,
                    Meshplane__V1__Result_Closure done, void *cd) {
  mp_status st;
  Meshplane__V1__Result *res = load(s, in->id ? in->id : "", NULL, NULL, NULL, &st);
  if (!res) {
    mp_server_fail_status(cd, st);
    return;
  }
  done(res, cd);
  protobuf_c_message_free_unpacked(&res->base, NULL);
}

void mp_results_list(mp_server *s, const Meshplane__V1__ListResultsRequest *in,
                     Meshplane__V1__ListResultsResponse_Closure done, void *cd) {
  const char *key = in->profile_id && *in->profile_id ? in->profile_id : in->profile_name;
  char profile_id[MP_UUID_STRLEN] = "";
  if (key && *key) {
    mp_status st;
    Meshplane__V1__PerformanceProfile *p = mp_profile_load(s, key, &st);
    if (!p) {
      mp_server_fail_status(cd, st);
      return;
    }
    mp_strlcpy(profile_id, p->id, sizeof profile_id);
    protobuf_c_message_free_unpacked(&p->base, NULL);
  }
  unsigned size = in->page_size ? in->page_size : 50;
  if (size > 1000) size = 1000;
  long long offset = 0;
  if (in->page_token && *in->page_token) {
    char *end;
    offset = strtoll(in->page_token, &end, 10);
    if (*end || offset < 0) {
      mp_rpc_fail(cd, MP_RPC_INVALID_ARGUMENT, "page_token is not one this server gave out");
      return;
    }
  }
  mp_dbargs a = {0};
  mp_dbargs_text(&a, *profile_id ? profile_id : NULL);
  mp_dbargs_int(&a, size + 1);
  mp_dbargs_int(&a, offset);
  mp_status st;
  PGresult *r = mp_db_exec(s->db,
                           "SELECT result, count(*) OVER () FROM results WHERE $1::uuid IS NULL OR "
                           "profile_id = $1::uuid ORDER BY start_time DESC, id LIMIT $2 OFFSET $3",
                           &a, &st);
  mp_dbargs_free(&a);
  if (!r) {
    mp_server_fail_status(cd, st);
    return;
  }
  int rows = PQntuples(r);
  Meshplane__V1__ListResultsResponse resp = MESHPLANE__V1__LIST_RESULTS_RESPONSE__INIT;
  size_t n = rows > (int)size ? size : (size_t)rows;
  resp.results = mp_calloc(n + 1, sizeof *resp.results);
  for (size_t i = 0; i < n; i++) {
    size_t len;
    unsigned char *b = mp_db_bytes(r, (int)i, 0, &len);
    Meshplane__V1__Result *res = meshplane__v1__result__unpack(NULL, len, b);
    PQfreemem(b);
    if (res) resp.results[resp.n_results++] = res;
  }
  /* The window count is of the whole match; with OFFSET past the end there is no row. */
  resp.total = rows ? (uint64_t)mp_db_int(r, 0, 1) : 0;
  char token[32] = "";
  if (rows > (int)size) snprintf(token, sizeof token, "%lld", offset + (long long)size);
  resp.next_page_token = token;
  done(&resp, cd);
  for (size_t i = 0; i < resp.n_results; i++)
    protobuf_c_message_free_unpacked(&resp.results[i]->base, NULL);
  mp_free(resp.results);
  PQclear(r);
}

void mp_results_export(mp_server *s, const Meshplane__V1__ExportResultRequest *in,
                       Meshplane__V1__ExportResultResponse_Closure done, void *cd) {
  mp_status st;
  char **intervals = NULL;
  size_t n_iv = 0;
  int64_t start_ms = 0;
  Meshplane__V1__Result *res = load(s, in->id ? in->id : "", &intervals, &n_iv, &start_ms, &st);
  if (!res) {
    mp_server_fail_status(cd, st);
    return;
  }
  mp_buf b = {0};
  Meshplane__V1__ExportResultResponse resp = MESHPLANE__V1__EXPORT_RESULT_RESPONSE__INIT;
  char filename[96];
  switch (in->format) {
  case MESHPLANE__V1__EXPORT_FORMAT__EXPORT_FORMAT_FORTIO:
    st = mp_report_fortio_json(res, NULL, &b);
    resp.content_type = "application/json";
    snprintf(filename, sizeof filename, "%s.fortio.json", res->id);
    break;
  case MESHPLANE__V1__EXPORT_FORMAT__EXPORT_FORMAT_SMP:
    st = mp_report_smp_yaml(res, &b);
    resp.content_type = "application/yaml";
    snprintf(filename, sizeof filename, "%s.smp.yaml", res->id);
    break;
  case MESHPLANE__V1__EXPORT_FORMAT__EXPORT_FORMAT_HDR_LOG:
    st = mp_report_hdr_log((const char *const *)intervals, n_iv, start_ms, 1.0, &b);
    resp.content_type = "text/plain";
    snprintf(filename, sizeof filename, "%s.hlog", res->id);
    break;
  default:
    st = mp_error_set(MP_ERR_INVALID, "unknown export format %d: use FORTIO, SMP or HDR_LOG",
                      (int)in->format);
  }
  if (st == MP_OK) {
    resp.data.data = (uint8_t *)b.data;
    resp.data.len = b.len;
    resp.filename = filename;
    done(&resp, cd);
  } else {
    mp_server_fail_status(cd, st);
  }
  mp_buf_free(&b);
  free_strings(intervals, n_iv);
  protobuf_c_message_free_unpacked(&res->base, NULL);
}

/* One side of a comparison, decoded. */
typedef struct side {
  Meshplane__V1__Result *res;
  mp_hdr *total;
  mp_hdr **intervals;
  size_t n;
} side;

static void side_free(side *sd) {
  if (sd->res) protobuf_c_message_free_unpacked(&sd->res->base, NULL);
  mp_hdr_free(sd->total);
  for (size_t i = 0; i < sd->n; i++) mp_hdr_free(sd->intervals[i]);
  mp_free(sd->intervals);
}

static mp_status side_load(mp_server *s, const char *id, side *sd) {
  memset(sd, 0, sizeof *sd);
  char **iv = NULL;
  size_t n_iv = 0;
  mp_status st;
  sd->res = load(s, id, &iv, &n_iv, NULL, &st);
  if (!sd->res) return st;
  const char *h = sd->res->latency ? sd->res->latency->histogram : "";
  st = mp_hdr_decode_base64(h, strlen(h), &sd->total);
  sd->intervals = mp_calloc(n_iv + 1, sizeof *sd->intervals);
  for (size_t i = 0; st == MP_OK && i < n_iv; i++)
    if (mp_hdr_decode_base64(iv[i], strlen(iv[i]), &sd->intervals[sd->n]) == MP_OK) sd->n++;
  free_strings(iv, n_iv);
  if (st != MP_OK) st = mp_error_set(MP_ERR_INTERNAL, "result %s has no readable histogram", id);
  return st;
}

void mp_results_compare(mp_server *s, const Meshplane__V1__CompareResultsRequest *in,
                        Meshplane__V1__CompareResultsResponse_Closure done, void *cd) {
  if (in->n_result_ids < 2) {
    mp_rpc_fail(cd, MP_RPC_INVALID_ARGUMENT,
                "give at least two result ids: the first is the baseline, the others are "
                "compared with it");
    return;
  }
  if (in->confidence != 0 && (in->confidence <= 0.5 || in->confidence >= 1)) {
    mp_rpc_fail(cd, MP_RPC_INVALID_ARGUMENT, "confidence must be between 0.5 and 1 (e.g. 0.95)");
    return;
  }
  static const double default_pct[] = {50, 90, 99, 99.9};
  const double *pct = in->n_percentiles ? in->percentiles : default_pct;
  size_t n_pct = in->n_percentiles ? in->n_percentiles : MP_ARRAY_LEN(default_pct);
  for (size_t k = 0; k < n_pct; k++)
    if (pct[k] <= 0 || pct[k] > 100) {
      mp_rpc_fail(cd, MP_RPC_INVALID_ARGUMENT, "percentile %g is outside (0, 100]", pct[k]);
      return;
    }
  double confidence = in->confidence ? in->confidence : 0.95;
  side base;
  mp_status st = side_load(s, in->result_ids[0], &base);
  if (st != MP_OK) {
    side_free(&base);
    mp_server_fail_status(cd, st);
    return;
  }
  size_t n_cmp = in->n_result_ids - 1;
  Meshplane__V1__Comparison *cmps = mp_calloc(n_cmp, sizeof *cmps);
  Meshplane__V1__Comparison **ptrs = mp_calloc(n_cmp, sizeof *ptrs);
  Meshplane__V1__PercentileDelta *deltas = mp_calloc(n_cmp * n_pct, sizeof *deltas);
  Meshplane__V1__PercentileDelta **dptrs = mp_calloc(n_cmp * n_pct, sizeof *dptrs);
  mp_compare_delta *out = mp_calloc(n_pct, sizeof *out);
  side *cands = mp_calloc(n_cmp, sizeof *cands);
  for (size_t c = 0; c < n_cmp && st == MP_OK; c++) {
    if ((st = side_load(s, in->result_ids[c + 1], &cands[c])) != MP_OK) break;
    mp_compare_side bs = {base.total, base.intervals, base.n};
    mp_compare_side cs = {cands[c].total, cands[c].intervals, cands[c].n};
    if ((st = mp_compare(&bs, &cs, pct, n_pct, confidence, 1000, out)) != MP_OK) break;
    meshplane__v1__comparison__init(&cmps[c]);
    cmps[c].baseline_id = base.res->id;
    cmps[c].candidate_id = cands[c].res->id;
    cmps[c].deltas = &dptrs[c * n_pct];
    cmps[c].n_deltas = n_pct;
    if (base.res->actual_qps > 0)
      cmps[c].rps_delta_pct =
          100.0 * (cands[c].res->actual_qps - base.res->actual_qps) / base.res->actual_qps;
    for (size_t k = 0; k < n_pct; k++) {
      Meshplane__V1__PercentileDelta *d = &deltas[c * n_pct + k];
      meshplane__v1__percentile_delta__init(d);
      d->percentile = out[k].percentile;
      d->baseline_us = out[k].baseline_us;
      d->candidate_us = out[k].candidate_us;
      d->delta_us = out[k].delta_us;
      d->delta_ci_low_us = out[k].ci_low_us;
      d->delta_ci_high_us = out[k].ci_high_us;
      d->delta_pct = out[k].delta_pct;
      d->verdict = out[k].verdict == MP_VERDICT_FASTER ? MESHPLANE__V1__VERDICT__VERDICT_FASTER
                   : out[k].verdict == MP_VERDICT_SLOWER
                       ? MESHPLANE__V1__VERDICT__VERDICT_SLOWER
                       : MESHPLANE__V1__VERDICT__VERDICT_NO_SIGNIFICANT_DIFFERENCE;
      dptrs[c * n_pct + k] = d;
    }
    ptrs[c] = &cmps[c];
  }
  if (st == MP_OK) {
    Meshplane__V1__CompareResultsResponse resp = MESHPLANE__V1__COMPARE_RESULTS_RESPONSE__INIT;
    resp.comparisons = ptrs;
    resp.n_comparisons = n_cmp;
    resp.confidence = confidence;
    done(&resp, cd);
  } else {
    mp_server_fail_status(cd, st);
  }
  for (size_t c = 0; c < n_cmp; c++) side_free(&cands[c]);
  side_free(&base);
  mp_free(cands);
  mp_free(out);
  mp_free(dptrs);
  mp_free(deltas);
  mp_free(ptrs);
  mp_free(cmps);
}
