/* meshplane.v1 messages <-> engine types. Every allocation made here is released by the
 * matching *_clear function; strings the caller sets on the messages stay the caller's. */
#include <string.h>

#include "meshplane/loadgen_proto.h"
#include "meshplane/loadgen_report.h"

static mp_status parse_opt_duration(const char *what, const char *s, int64_t *out) {
  *out = 0;
  if (!s || !*s) return MP_OK;
  if (mp_duration_parse(s, out) != MP_OK) {
    char why[512]; /* mp_error_last() is the buffer mp_error_set writes: copy it first */
    mp_strlcpy(why, mp_error_last(), sizeof why);
    return mp_error_set(MP_ERR_INVALID, "options.%s: %s", what, why);
  }
  if (*out < 0) return mp_error_set(MP_ERR_INVALID, "options.%s: \"%s\" is negative", what, s);
  return MP_OK;
}

mp_status mp_loadgen_spec_from_proto(const Meshplane__V1__LoadSpec *in, mp_loadgen_spec *out) {
  memset(out, 0, sizeof *out);
  if (in->duration_ms < 0)
    return mp_error_set(MP_ERR_INVALID, "duration_ms %lld is negative", (long long)in->duration_ms);
  out->endpoints = (const char *const *)in->endpoints;
  out->n_endpoints = in->n_endpoints;
  out->method = in->method;
  out->headers = (const char *const *)in->headers;
  out->n_headers = in->n_headers;
  out->cookies = in->cookies;
  out->body = in->body.data;
  out->body_len = in->body.len;
  out->content_type = in->content_type;
  out->rate = in->qps;
  out->connections = in->connections;
  out->duration_ns = in->duration_ms * MP_NS_PER_MS;
  out->start_at_ms = in->start_at_ms;
  out->progress_interval_ns = (int64_t)in->progress_interval_ms * MP_NS_PER_MS;
  out->worker_index = in->worker_index;
  out->worker_count = in->worker_count;
  const Meshplane__V1__LoadOptions *o = in->options;
  if (!o) return MP_OK;
  switch (o->protocol) {
  case MESHPLANE__V1__PROTOCOL__PROTOCOL_AUTO: out->protocol = MP_LOADGEN_AUTO; break;
  case MESHPLANE__V1__PROTOCOL__PROTOCOL_HTTP1: out->protocol = MP_LOADGEN_HTTP1; break;
  case MESHPLANE__V1__PROTOCOL__PROTOCOL_HTTP2: out->protocol = MP_LOADGEN_HTTP2; break;
  case MESHPLANE__V1__PROTOCOL__PROTOCOL_GRPC: out->protocol = MP_LOADGEN_GRPC; break;
  default:
    return mp_error_set(MP_ERR_INVALID, "options.protocol %d is unknown to this worker",
                        (int)o->protocol);
  }
  if (o->streams_per_connection > MP_LOADGEN_MAX_STREAMS)
    return mp_error_set(MP_ERR_INVALID, "options.streams_per_connection: at most %d",
                        MP_LOADGEN_MAX_STREAMS);
  out->streams = o->streams_per_connection;
  out->tls_insecure = o->tls_insecure;
  out->tls_ca_pem = o->tls_ca_pem;
  out->tls_sni = o->tls_sni;
  out->grpc_method = o->grpc_method;
  if (o->grpc_payload.len || o->grpc_payload.data) {
    out->grpc_payload = o->grpc_payload.data ? o->grpc_payload.data : (const uint8_t *)"";
    out->grpc_payload_len = o->grpc_payload.len;
  }
  mp_status st;
  if ((st = parse_opt_duration("warmup", o->warmup, &out->warmup_ns)) != MP_OK ||
      (st = parse_opt_duration("rampup", o->rampup, &out->rampup_ns)) != MP_OK ||
      (st = parse_opt_duration("timeout", o->timeout, &out->timeout_ns)) != MP_OK)
    return st;
  out->threads = o->threads;
  out->max_requests = o->max_requests;
  if (o->significant_figures > 5)
    return mp_error_set(MP_ERR_INVALID, "options.significant_figures must be 1..5");
  out->sigfigs = (int)o->significant_figures;
  return MP_OK;
}

/* ---- latency ----------------------------------------------------------------------------------
 */

mp_status mp_loadgen_latency_to_proto(const mp_hdr *h, Meshplane__V1__LatencyStats *out) {
  meshplane__v1__latency_stats__init(out);
  out->count = (uint64_t)mp_hdr_count(h);
  out->min_us = mp_hdr_min(h);
  out->max_us = mp_hdr_max(h);
  out->mean_us = mp_hdr_mean(h);
  out->stddev_us = mp_hdr_stddev(h);
  size_t n = MP_ARRAY_LEN(mp_loadgen_percentiles);
  out->percentiles = mp_calloc(n, sizeof *out->percentiles);
  for (size_t i = 0; i < n; i++) {
    Meshplane__V1__Percentile *p = mp_malloc(sizeof *p);
    meshplane__v1__percentile__init(p);
    p->percentile = mp_loadgen_percentiles[i];
    p->value_us = mp_hdr_value_at_percentile(h, p->percentile);
    out->percentiles[out->n_percentiles++] = p;
  }
  char *enc = NULL;
  mp_status st = mp_hdr_encode_base64(h, &enc);
  if (st != MP_OK) return st;
  out->histogram = enc;
  return MP_OK;
}

void mp_loadgen_proto_latency_clear(Meshplane__V1__LatencyStats *m) {
  if (!m) return;
  for (size_t i = 0; i < m->n_percentiles; i++) mp_free(m->percentiles[i]);
  mp_free(m->percentiles);
  if (m->histogram != protobuf_c_empty_string) mp_free(m->histogram);
  meshplane__v1__latency_stats__init(m);
}

static Meshplane__V1__LatencyStats *latency_new(const mp_hdr *h, mp_status *st) {
  Meshplane__V1__LatencyStats *l = mp_malloc(sizeof *l);
  mp_status s = mp_loadgen_latency_to_proto(h, l);
  if (s != MP_OK) *st = s;
  return l;
}

static void latency_del(Meshplane__V1__LatencyStats *l) {
  if (!l) return;
  mp_loadgen_proto_latency_clear(l);
  mp_free(l);
}

/* ---- result -------------------------------------------------------------------------------------
 */

static uint64_t failed(const mp_loadgen_stats *s) {
  return s->connect_errors + s->read_errors + s->write_errors + s->timeouts + s->protocol_errors;
}

/* RetCode list: -1 for failed requests (as fortio), then every status seen. */
static Meshplane__V1__RetCode **ret_codes(const mp_loadgen_stats *s, size_t *n) {
  size_t count = failed(s) ? 1 : 0;
  for (int c = 0; c < MP_LOADGEN_MAX_STATUS; c++) count += s->status[c] != 0;
  Meshplane__V1__RetCode **v = mp_calloc(count ? count : 1, sizeof *v);
  *n = 0;
  for (int c = -1; c < MP_LOADGEN_MAX_STATUS; c++) {
    uint64_t k = c < 0 ? failed(s) : s->status[c];
    if (!k) continue;
    Meshplane__V1__RetCode *rc = mp_malloc(sizeof *rc);
    meshplane__v1__ret_code__init(rc);
    rc->code = c;
    rc->count = k;
    v[(*n)++] = rc;
  }
  return v;
}

static void ret_codes_del(Meshplane__V1__RetCode **v, size_t n) {
  for (size_t i = 0; i < n; i++) mp_free(v[i]);
  mp_free(v);
}

mp_status mp_loadgen_result_to_proto(const mp_loadgen_result *r, Meshplane__V1__Result *out) {
  meshplane__v1__result__init(out);
  mp_status st = MP_OK;
  const mp_loadgen_stats *t = &r->total;
  out->status = r->error       ? MESHPLANE__V1__RUN_STATUS__RUN_STATUS_FAILED
                : r->cancelled ? MESHPLANE__V1__RUN_STATUS__RUN_STATUS_CANCELLED
                               : MESHPLANE__V1__RUN_STATUS__RUN_STATUS_COMPLETED;
  if (r->error) out->error = mp_strdup(r->error);
  out->start_time_ms = r->start_ms;
  out->requested_duration_ms = r->requested_duration_ns / MP_NS_PER_MS;
  out->actual_duration_ms = r->actual_duration_ns / MP_NS_PER_MS;
  out->requested_qps = r->requested_rate;
  out->actual_qps = r->actual_rate;
  out->connections = r->connections;
  out->threads = r->threads;
  out->requests = t->requests;
  out->errors = t->errors;
  out->socket_errors = t->connect_errors + t->read_errors + t->write_errors + t->protocol_errors;
  out->timeouts = t->timeouts;
  out->ret_codes = ret_codes(t, &out->n_ret_codes);
  out->latency = latency_new(t->latency, &st);
  out->uncorrected = latency_new(t->uncorrected, &st);
  out->late_sends = r->late_sends;
  out->max_lag_us = r->max_lag_ns / MP_NS_PER_US;
  out->warmup_requests = r->warmup_requests;
  out->bytes_read = t->bytes_read;
  out->bytes_written = t->bytes_written;
  out->endpoints = mp_calloc(r->n_endpoints ? r->n_endpoints : 1, sizeof *out->endpoints);
  for (size_t i = 0; i < r->n_endpoints; i++) {
    const mp_loadgen_stats *s = &r->endpoints[i].stats;
    Meshplane__V1__EndpointResult *e = mp_malloc(sizeof *e);
    meshplane__v1__endpoint_result__init(e);
    e->endpoint = mp_strdup(r->endpoints[i].url);
    e->requests = s->requests;
    e->errors = s->errors;
    e->ret_codes = ret_codes(s, &e->n_ret_codes);
    e->latency = latency_new(s->latency, &st);
    e->bytes_read = s->bytes_read;
    out->endpoints[out->n_endpoints++] = e;
  }
  if (st != MP_OK) mp_loadgen_proto_result_clear(out);
  return st;
}

void mp_loadgen_proto_result_clear(Meshplane__V1__Result *m) {
  if (!m) return;
  if (m->error != protobuf_c_empty_string) mp_free(m->error);
  ret_codes_del(m->ret_codes, m->n_ret_codes);
  latency_del(m->latency);
  latency_del(m->uncorrected);
  for (size_t i = 0; i < m->n_endpoints; i++) {
    Meshplane__V1__EndpointResult *e = m->endpoints[i];
    mp_free(e->endpoint);
    ret_codes_del(e->ret_codes, e->n_ret_codes);
    latency_del(e->latency);
    mp_free(e);
  }
  mp_free(m->endpoints);
  meshplane__v1__result__init(m);
}

/* ---- progress -----------------------------------------------------------------------------------
 */

mp_status mp_loadgen_progress_to_proto(const mp_loadgen_progress *p, const char *run_id,
                                       const char *worker, Meshplane__V1__Progress *out) {
  meshplane__v1__progress__init(out);
  if (run_id) out->run_id = (char *)run_id;
  if (worker) out->worker = (char *)worker;
  out->elapsed_ms = p->elapsed_ns / MP_NS_PER_MS;
  out->requests = p->requests;
  out->errors = p->errors;
  out->interval_rps = p->interval_rps;
  out->interval_p50_us = mp_hdr_value_at_percentile(p->interval_latency, 50);
  out->interval_p99_us = mp_hdr_value_at_percentile(p->interval_latency, 99);
  char *enc = NULL;
  mp_status st = mp_hdr_encode_base64(p->interval_latency, &enc);
  if (st != MP_OK) return st;
  out->interval_histogram = enc;
  out->late_sends = p->late_sends;
  out->max_lag_us = p->max_lag_ns / MP_NS_PER_US;
  out->warmup = p->warmup;
  out->interval_start_ms = p->interval_start_ms;
  out->interval_ms = p->interval_ns / MP_NS_PER_MS;
  return MP_OK;
}

void mp_loadgen_proto_progress_clear(Meshplane__V1__Progress *m) {
  if (!m) return;
  if (m->interval_histogram != protobuf_c_empty_string) mp_free(m->interval_histogram);
  meshplane__v1__progress__init(m);
}
