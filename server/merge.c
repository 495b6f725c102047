/* Merging the results of the workers that shared a run into one result: counters are
 * summed, histograms merged exactly (never averaged percentiles), per-endpoint results
 * joined by URL. */
#include <string.h>

#include "merge.h"

/* Decodes a LatencyStats' histogram and adds it into *acc (created on first use). */
static mp_status add_hist(mp_hdr **acc, const Meshplane__V1__LatencyStats *ls, int sigfigs) {
  if (!ls || !ls->histogram || !*ls->histogram) return MP_OK;
  mp_hdr *h;
  mp_status st = mp_hdr_decode_base64(ls->histogram, strlen(ls->histogram), &h);
  if (st != MP_OK) return st;
  if (!*acc) *acc = mp_hdr_new_latency(sigfigs ? sigfigs : mp_hdr_sigfigs(h));
  st = mp_hdr_add(*acc, h);
  mp_hdr_free(h);
  return st;
}

static void add_codes(Meshplane__V1__RetCode ***codes, size_t *n, Meshplane__V1__RetCode *const *in,
                      size_t n_in) {
  for (size_t i = 0; i < n_in; i++) {
    size_t k = 0;
    while (k < *n && (*codes)[k]->code != in[i]->code) k++;
    if (k == *n) {
      *codes = mp_realloc(*codes, (*n + 1) * sizeof **codes);
      Meshplane__V1__RetCode *c = mp_malloc(sizeof *c);
      meshplane__v1__ret_code__init(c);
      c->code = in[i]->code;
      (*codes)[(*n)++] = c;
    }
    (*codes)[k]->count += in[i]->count;
  }
}

mp_status mp_result_merge(Meshplane__V1__Result *const *parts, size_t n, int sigfigs,
                          Meshplane__V1__Result *out) {
  meshplane__v1__result__init(out);
  mp_hdr *lat = NULL, *unc = NULL;
  mp_status st = MP_OK;
  typedef struct ep_acc {
    char *url;
    uint64_t requests, errors, bytes;
    Meshplane__V1__RetCode **codes;
    size_t n_codes;
    mp_hdr *h;
  } ep_acc;
  ep_acc *eps = NULL;
  size_t n_eps = 0;
  for (size_t i = 0; i < n && st == MP_OK; i++) {
    const Meshplane__V1__Result *p = parts[i];
    if (!out->start_time_ms || (p->start_time_ms && p->start_time_ms < out->start_time_ms))
      out->start_time_ms = p->start_time_ms;
    if (p->actual_duration_ms > out->actual_duration_ms)
      out->actual_duration_ms = p->actual_duration_ms;
    if (p->requested_duration_ms > out->requested_duration_ms)
      out->requested_duration_ms = p->requested_duration_ms;
    out->requested_qps += p->requested_qps;
    out->connections += p->connections;
    out->threads += p->threads;
    out->requests += p->requests;
    out->errors += p->errors;
    out->socket_errors += p->socket_errors;
    out->timeouts += p->timeouts;
    out->late_sends += p->late_sends;
    if (p->max_lag_us > out->max_lag_us) out->max_lag_us = p->max_lag_us;
    out->warmup_requests += p->warmup_requests;
    out->bytes_read += p->bytes_read;
    out->bytes_written += p->bytes_written;
    add_codes(&out->ret_codes, &out->n_ret_codes, p->ret_codes, p->n_ret_codes);
    if ((st = add_hist(&lat, p->latency, sigfigs)) != MP_OK) break;
    if ((st = add_hist(&unc, p->uncorrected, sigfigs)) != MP_OK) break;
    for (size_t e = 0; e < p->n_endpoints && st == MP_OK; e++) {
      const Meshplane__V1__EndpointResult *er = p->endpoints[e];
      size_t k = 0;
      while (k < n_eps && strcmp(eps[k].url, er->endpoint)) k++;
      if (k == n_eps) {
        eps = mp_realloc(eps, (n_eps + 1) * sizeof *eps);
        memset(&eps[n_eps], 0, sizeof *eps);
        eps[n_eps++].url = er->endpoint;
      }
      eps[k].requests += er->requests;
      eps[k].errors += er->errors;
      eps[k].bytes += er->bytes_read;
      add_codes(&eps[k].codes, &eps[k].n_codes, er->ret_codes, er->n_ret_codes);
      st = add_hist(&eps[k].h, er->latency, sigfigs);
    }
  }
  /* All workers ran at the same time: the run's rate is the sum over its length. */
  if (out->actual_duration_ms > 0)
    out->actual_qps = (double)out->requests * 1000.0 / (double)out->actual_duration_ms;
  if (st == MP_OK) {
    out->latency = mp_malloc(sizeof *out->latency);
    mp_hdr *empty = lat ? NULL : mp_hdr_new_latency(sigfigs);
    st = mp_report_latency_fill(out->latency, lat ? lat : empty);
    mp_hdr_free(empty);
  }
  if (st == MP_OK && unc) {
    out->uncorrected = mp_malloc(sizeof *out->uncorrected);
    st = mp_report_latency_fill(out->uncorrected, unc);
  }
  out->endpoints = mp_calloc(n_eps + 1, sizeof *out->endpoints);
  for (size_t k = 0; k < n_eps; k++) {
    Meshplane__V1__EndpointResult *er = mp_malloc(sizeof *er);
    meshplane__v1__endpoint_result__init(er);
    er->endpoint = mp_strdup(eps[k].url);
    er->requests = eps[k].requests;
    er->errors = eps[k].errors;
    er->bytes_read = eps[k].bytes;
    er->ret_codes = eps[k].codes;
    er->n_ret_codes = eps[k].n_codes;
    if (st == MP_OK && eps[k].h) {
      er->latency = mp_malloc(sizeof *er->latency);
      st = mp_report_latency_fill(er->latency, eps[k].h);
    }
    mp_hdr_free(eps[k].h);
    out->endpoints[out->n_endpoints++] = er;
  }
  mp_free(eps);
  mp_hdr_free(lat);
  mp_hdr_free(unc);
  return st;
}
