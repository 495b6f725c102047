/* Runs: a profile's load split over N workers (rate and connections divided, one
 * synchronized start), their progress streamed as one aggregate per interval, their
 * results merged exactly and stored as one result. A run lives on its own thread; clients
 * only watch it (runwatch.c), so a client that goes away does not stop it. */
#include <pthread.h>
#include <string.h>

#include "merge.h"
#include "meshplane/v1/loadgen.pb-c.h"
#include "runs.h"
#include "workers.h"

#define START_DELAY_MS 50  /* lets every worker get the spec before the common start */
#define BUSY_RETRY_MS 3000 /* how long a busy worker is asked again (share_main) */

typedef struct share {
  mp_run *run;
  mp_worker_ref ref;
  Meshplane__V1__LoadSpec spec;
  mp_rpc_stream *stream;
  pthread_t thread;
  Meshplane__V1__Result *result; /* the worker's own, when it finished */
  char *error;                   /* why its share failed */
  size_t intervals;              /* progress messages received */
  uint64_t requests, errors;     /* cumulative, as of its latest progress message */
  bool active;
} share;

static const char *status_name(Meshplane__V1__RunStatus s) {
  const ProtobufCEnumValue *v =
      protobuf_c_enum_descriptor_get_value(&meshplane__v1__run_status__descriptor, (int)s);
  return v ? v->name + strlen("RUN_STATUS_") : "UNSPECIFIED";
}

/* ---- the registry of runs active on this replica ------------------------------------ */

void mp_run_release(mp_run *r) {
  mp_runs *reg = r->reg;
  pthread_mutex_lock(&reg->mu);
  bool last = --r->refs == 0;
  if (last) {
    for (mp_run **pp = &reg->list; *pp; pp = &(*pp)->next)
      if (*pp == r) {
        *pp = r->next;
        break;
      }
  }
  pthread_mutex_unlock(&reg->mu);
  if (!last) return;
  for (size_t i = 0; i < r->n_updates; i++) mp_free(r->updates[i].data);
  mp_free(r->updates);
  for (size_t i = 0; i < r->n_intervals; i++) mp_hdr_free(r->intervals[i]);
  mp_free(r->intervals);
  mp_free(r->interval_reports);
  mp_free(r->final);
  mp_free(r->error);
  if (r->profile) protobuf_c_message_free_unpacked(&r->profile->base, NULL);
  pthread_cond_destroy(&r->cv);
  mp_free(r);
}

mp_run *mp_runs_find(mp_runs *reg, const char *id) {
  pthread_mutex_lock(&reg->mu);
  mp_run *r = reg->list;
  while (r && strcmp(r->id, id)) r = r->next;
  if (r) r->refs++;
  pthread_mutex_unlock(&reg->mu);
  return r;
}

/* Appends a packed RunUpdate for watchers. Under r's registry lock. */
static void push_update_locked(mp_run *r, const Meshplane__V1__RunUpdate *u) {
  size_t n = meshplane__v1__run_update__get_packed_size(u);
  uint8_t *buf = mp_malloc(n ? n : 1);
  meshplane__v1__run_update__pack(u, buf);
  r->updates = mp_realloc(r->updates, (r->n_updates + 1) * sizeof *r->updates);
  r->updates[r->n_updates].data = buf;
  r->updates[r->n_updates++].len = n;
  pthread_cond_broadcast(&r->cv);
}

/* ---- progress aggregation ------------------------------------------------------------- */

/* Interval k is complete when every worker has reported it or has ended (a worker that
 * ended before it contributes nothing to it but its totals so far). */
static bool interval_ready_locked(const mp_run *r, size_t k, uint64_t *carried_requests,
                                  uint64_t *carried_errors) {
  *carried_requests = *carried_errors = 0;
  for (size_t i = 0; i < r->n_shares; i++) {
    const share *sh = &r->shares[i];
    if (sh->intervals > k) continue;
    if (sh->active) return false;
    *carried_requests += sh->requests;
    *carried_errors += sh->errors;
  }
  return true;
}

/* Publishes, in order, every complete interval. Under the registry lock. */
static void publish_ready_locked(mp_run *r) {
  uint64_t carried_requests, carried_errors;
  while (r->published < r->n_intervals &&
         interval_ready_locked(r, r->published, &carried_requests, &carried_errors)) {
    mp_run_interval *done = &r->interval_reports[r->published];
    mp_hdr *m = r->intervals[r->published];
    Meshplane__V1__Progress agg = MESHPLANE__V1__PROGRESS__INIT;
    agg.run_id = r->id;
    agg.worker = "all";
    agg.elapsed_ms = done->elapsed_ms;
    agg.requests = done->requests + carried_requests; /* cumulative: never goes back */
    agg.errors = done->errors + carried_errors;
    agg.interval_rps = done->rps;
    agg.interval_p50_us = mp_hdr_value_at_percentile(m, 50);
    agg.interval_p99_us = mp_hdr_value_at_percentile(m, 99);
    agg.late_sends = done->late_sends;
    agg.max_lag_us = done->max_lag_us;
    agg.warmup = done->warmup;
    agg.interval_start_ms = done->start_ms;
    agg.interval_ms = done->length_ms;
    char *enc = NULL;
    mp_hdr_encode_base64(m, &enc);
    agg.interval_histogram = enc ? enc : "";
    Meshplane__V1__RunUpdate u = MESHPLANE__V1__RUN_UPDATE__INIT;
    u.update_case = MESHPLANE__V1__RUN_UPDATE__UPDATE_PROGRESS;
    u.progress = &agg;
    push_update_locked(r, &u);
    /* Best effort for watchers on other replicas; the result itself goes via the outbox. */
    size_t n = meshplane__v1__progress__get_packed_size(&agg);
    uint8_t *buf = mp_malloc(n ? n : 1);
    meshplane__v1__progress__pack(&agg, buf);
    char subject[96];
    snprintf(subject, sizeof subject, "meshplane.runs.%s.progress", r->id);
    mp_bus_publish(r->reg->srv->bus, subject, buf, n, NULL);
    mp_free(buf);
    mp_free(enc);
    r->published++;
  }
}

/* One worker delivered its k-th interval: fold it in; when every active worker has
 * delivered interval k, publish the aggregate. */
static void on_progress(share *sh, const Meshplane__V1__Progress *p) {
  mp_run *r = sh->run;
  mp_hdr *h = NULL;
  if (p->interval_histogram && *p->interval_histogram)
    mp_hdr_decode_base64(p->interval_histogram, strlen(p->interval_histogram), &h);
  pthread_mutex_lock(&r->reg->mu);
  size_t k = sh->intervals++;
  while (r->n_intervals <= k) {
    r->intervals = mp_realloc(r->intervals, (r->n_intervals + 1) * sizeof *r->intervals);
    r->interval_reports =
        mp_realloc(r->interval_reports, (r->n_intervals + 1) * sizeof *r->interval_reports);
    r->intervals[r->n_intervals] = mp_hdr_new_latency(0);
    memset(&r->interval_reports[r->n_intervals], 0, sizeof *r->interval_reports);
    r->n_intervals++;
  }
  mp_run_interval *iv = &r->interval_reports[k];
  if (h) mp_hdr_add(r->intervals[k], h);
  sh->requests = p->requests;
  sh->errors = p->errors;
  iv->requests += p->requests;
  iv->errors += p->errors;
  iv->rps += p->interval_rps;
  iv->late_sends += p->late_sends;
  if (p->max_lag_us > iv->max_lag_us) iv->max_lag_us = p->max_lag_us;
  if (p->elapsed_ms > iv->elapsed_ms) iv->elapsed_ms = p->elapsed_ms;
  if (!iv->start_ms || p->interval_start_ms < iv->start_ms) iv->start_ms = p->interval_start_ms;
  if (p->interval_ms > iv->length_ms) iv->length_ms = p->interval_ms;
  iv->warmup = iv->warmup || p->warmup;
  publish_ready_locked(r);
  pthread_mutex_unlock(&r->reg->mu);
  mp_hdr_free(h);
}

/* ---- one worker's share ----------------------------------------------------------------- */

/* Opens the worker's Run stream and folds in what it sends until it ends. Returns whether
 * anything came (a worker that is still busy refuses before sending anything). */
static bool share_stream(share *sh, mp_rpc_code *code, mp_rpc_status *st, mp_rpc_stream **s) {
  mp_run *r = sh->run;
  Meshplane__V1__RunRequest req = MESHPLANE__V1__RUN_REQUEST__INIT;
  req.spec = &sh->spec;
  *code = mp_rpc_stream_open(sh->ref.ch, &meshplane__v1__load_generator__descriptor, "Run",
                             &req.base, NULL, s, st);
  pthread_mutex_lock(&r->reg->mu);
  sh->stream = *s;
  if (r->cancel && *s) mp_rpc_stream_cancel(*s);
  pthread_mutex_unlock(&r->reg->mu);
  bool got = false;
  ProtobufCMessage *m;
  while (*code == MP_RPC_OK && mp_rpc_stream_next(*s, &m, st)) {
    got = true;
    Meshplane__V1__RunEvent *ev = (Meshplane__V1__RunEvent *)m;
    if (ev->event_case == MESHPLANE__V1__RUN_EVENT__EVENT_PROGRESS) {
      on_progress(sh, ev->progress);
    } else if (ev->event_case == MESHPLANE__V1__RUN_EVENT__EVENT_RESULT && !sh->result) {
      sh->result = ev->result;
      ev->result = NULL; /* keep it */
    }
    protobuf_c_message_free_unpacked(m, NULL);
  }
  if (*code == MP_RPC_OK) *code = st->code;
  return got;
}

static void *share_main(void *arg) {
  share *sh = arg;
  mp_run *r = sh->run;
  mp_rpc_status st;
  mp_rpc_stream *s = NULL;
  mp_rpc_code code;
  /* A worker still winding down a run that was just cancelled says RESOURCE_EXHAUSTED:
   * ask again for a while (the start time then lies in the past: it starts at once). */
  int64_t give_up = mp_mono_ns() + BUSY_RETRY_MS * MP_NS_PER_MS;
  while (!share_stream(sh, &code, &st, &s) && code == MP_RPC_RESOURCE_EXHAUSTED &&
         mp_mono_ns() < give_up) {
    pthread_mutex_lock(&r->reg->mu);
    sh->stream = NULL;
    bool cancel = r->cancel;
    pthread_mutex_unlock(&r->reg->mu);
    mp_rpc_stream_free(s);
    s = NULL;
    if (cancel) break;
    mp_sleep_ms(100);
  }
  pthread_mutex_lock(&r->reg->mu);
  sh->stream = NULL;
  sh->active = false;
  publish_ready_locked(r); /* intervals that waited for this worker */
  if (code != MP_RPC_OK || !sh->result)
    sh->error = mp_asprintf("worker %s: %s", sh->ref.address,
                            code != MP_RPC_OK ? st.message : "ended without a result");
  pthread_cond_broadcast(&r->cv);
  pthread_mutex_unlock(&r->reg->mu);
  mp_rpc_stream_free(s);
  return NULL;
}

/* ---- the run ------------------------------------------------------------------------------ */

static mp_status set_running(mp_run *r) {
  char **addrs = mp_calloc(r->n_shares + 1, sizeof *addrs);
  for (size_t i = 0; i < r->n_shares; i++) addrs[i] = r->shares[i].ref.address;
  mp_dbargs a = {0};
  mp_dbargs_text(&a, r->id);
  mp_dbargs_textarray(&a, addrs, r->n_shares);
  mp_dbargs_double(&a, r->profile->qps);
  mp_free(addrs);
  mp_status st;
  PQclear(mp_db_exec(r->reg->srv->db,
                     "UPDATE runs SET status = 'RUNNING', started_at = now(), workers = $2, "
                     "requested_qps = $3 WHERE id = $1::uuid",
                     &a, &st));
  mp_dbargs_free(&a);
  return st;
}

/* Splits the profile over the leased workers: rate and connections divided (the first
 * ones take the remainder), one wall-clock start, each worker's index for the global
 * pacing schedule. */
static void build_specs(mp_run *r, int64_t duration_ms) {
  const Meshplane__V1__PerformanceProfile *p = r->profile;
  size_t n = r->n_shares;
  int64_t start_at = mp_now_ms() + START_DELAY_MS;
  for (size_t i = 0; i < n; i++) {
    share *sh = &r->shares[i];
    Meshplane__V1__LoadSpec *s = &sh->spec;
    meshplane__v1__load_spec__init(s);
    s->run_id = r->id;
    s->endpoints = p->endpoints;
    s->n_endpoints = p->n_endpoints;
    s->qps = p->qps / (double)n;
    s->connections = (uint32_t)p->concurrent_request / (uint32_t)n +
                     ((uint32_t)i < (uint32_t)p->concurrent_request % (uint32_t)n);
    s->duration_ms = duration_ms;
    s->method = p->method;
    s->headers = p->request_headers;
    s->n_headers = p->n_request_headers;
    s->cookies = p->request_cookies;
    s->body = p->request_body;
    s->content_type = p->content_type;
    s->options = p->options;
    s->start_at_ms = start_at;
    s->progress_interval_ms = 1000;
    s->worker_index = (uint32_t)i;
    s->worker_count = (uint32_t)n;
    sh->run = r;
    sh->active = true;
  }
}

/* Stores the merged result, the run's end and the "done" notice in one transaction. */
static mp_status store_result(mp_run *r, Meshplane__V1__Result *res) {
  mp_server *s = r->reg->srv;
  size_t n = meshplane__v1__result__get_packed_size(res);
  uint8_t *packed = mp_malloc(n ? n : 1);
  meshplane__v1__result__pack(res, packed);
  char **intervals = mp_calloc(r->n_intervals + 1, sizeof *intervals);
  size_t n_iv = 0;
  for (size_t i = 0; i < r->n_intervals; i++)
    if (!r->interval_reports[i].warmup && mp_hdr_count(r->intervals[i]) > 0)
      mp_hdr_encode_base64(r->intervals[i], &intervals[n_iv++]);
  int64_t pct[4] = {0};
  for (size_t i = 0; res->latency && i < res->latency->n_percentiles; i++) {
    double q = res->latency->percentiles[i]->percentile;
    int k = q == 50 ? 0 : q == 90 ? 1 : q == 99 ? 2 : q == 99.9 ? 3 : -1;
    if (k >= 0) pct[k] = res->latency->percentiles[i]->value_us;
  }
  mp_dbc *c = mp_db_get(s->db);
  mp_status st = mp_dbc_begin(c);
  mp_dbargs a = {0};
  if (st == MP_OK) {
    mp_dbargs_text(&a, res->id);
    mp_dbargs_text(&a, r->id);
    mp_dbargs_text(&a, r->profile->id);
    mp_dbargs_text(&a, status_name(res->status));
    mp_dbargs_int(&a, res->start_time_ms);
    mp_dbargs_int(&a, res->actual_duration_ms);
    mp_dbargs_double(&a, res->requested_qps);
    mp_dbargs_double(&a, res->actual_qps);
    mp_dbargs_int(&a, (int64_t)res->requests);
    mp_dbargs_int(&a, (int64_t)res->errors);
    for (int k = 0; k < 4; k++) mp_dbargs_int(&a, pct[k]);
    mp_dbargs_text(&a, res->latency ? res->latency->histogram : "");
    mp_dbargs_textarray(&a, intervals, n_iv);
    mp_dbargs_bytes(&a, packed, n);
    PQclear(mp_dbc_exec(c,
                        "INSERT INTO results (id, run_id, profile_id, status, start_time, "
                        "duration_ms, requested_qps, actual_qps, requests, errors, p50_us, "
                        "p90_us, p99_us, p999_us, histogram, intervals, result) VALUES ($1, $2, "
                        "$3, $4, to_timestamp($5::bigint / 1000.0), $6, $7, $8, $9, $10, $11, "
                        "$12, $13, $14, $15, $16, $17)",
                        &a, &st));
    mp_dbargs_free(&a);
  }
  for (size_t i = 0; st == MP_OK && i < res->n_endpoints; i++) {
    const Meshplane__V1__EndpointResult *e = res->endpoints[i];
    int64_t p50 = e->latency ? mp_report_latency_at(e->latency, 50) : 0;
    int64_t p99 = e->latency ? mp_report_latency_at(e->latency, 99) : 0;
    mp_dbargs_text(&a, res->id);
    mp_dbargs_text(&a, e->endpoint);
    mp_dbargs_int(&a, (int64_t)e->requests);
    mp_dbargs_int(&a, (int64_t)e->errors);
    mp_dbargs_int(&a, p50);
    mp_dbargs_int(&a, p99);
    mp_dbargs_text(&a, e->latency ? e->latency->histogram : "");
    PQclear(mp_dbc_exec(c,
                        "INSERT INTO result_endpoints (result_id, endpoint, requests, errors, "
                        "p50_us, p99_us, histogram) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                        &a, &st));
    mp_dbargs_free(&a);
  }
  if (st == MP_OK) {
    mp_dbargs_text(&a, r->id);
    mp_dbargs_text(&a, status_name(res->status));
    mp_dbargs_double(&a, res->actual_qps);
    mp_dbargs_text(&a, res->error ? res->error : "");
    char subject[96];
    snprintf(subject, sizeof subject, "meshplane.runs.%s.done", r->id);
    mp_dbargs_text(&a, subject);
    mp_dbargs_bytes(&a, packed, n);
    PQclear(mp_dbc_exec(c,
                        "WITH u AS (UPDATE runs SET status = $2, actual_qps = $3, error = $4, "
                        "finished_at = now() WHERE id = $1::uuid) INSERT INTO outbox (subject, "
                        "payload) VALUES ($5, $6)",
                        &a, &st));
    mp_dbargs_free(&a);
  }
  if (st == MP_OK) PQclear(mp_dbc_exec(c, "NOTIFY meshplane_outbox", NULL, &st));
  if (st == MP_OK)
    st = mp_dbc_commit(c);
  else
    mp_dbc_rollback(c);
  mp_db_put(s->db, c);
  for (size_t i = 0; i < n_iv; i++) mp_free(intervals[i]);
  mp_free(intervals);
  mp_free(packed);
  return st;
}

/* Ends a run that produced no result (no worker, all failed, cancelled). */
static void store_end(mp_run *r, Meshplane__V1__RunStatus status, const char *error) {
  mp_dbargs a = {0};
  mp_dbargs_text(&a, r->id);
  mp_dbargs_text(&a, status_name(status));
  mp_dbargs_text(&a, error ? error : "");
  mp_status st;
  PQclear(mp_db_exec(r->reg->srv->db,
                     "UPDATE runs SET status = $2, error = $3, finished_at = now() WHERE id = "
                     "$1::uuid",
                     &a, &st));
  mp_dbargs_free(&a);
}

/* Marks the run finished for its watchers; takes ownership of res (may be NULL). */
static void finish(mp_run *r, Meshplane__V1__RunStatus status, const char *error,
                   Meshplane__V1__Result *res) {
  pthread_mutex_lock(&r->reg->mu);
  r->status = status;
  r->error = mp_strdup(error);
  if (res) {
    Meshplane__V1__RunUpdate u = MESHPLANE__V1__RUN_UPDATE__INIT;
    u.update_case = MESHPLANE__V1__RUN_UPDATE__UPDATE_RESULT;
    u.result = res;
    push_update_locked(r, &u);
  }
  r->done = true;
  pthread_cond_broadcast(&r->cv);
  pthread_mutex_unlock(&r->reg->mu);
  if (res) protobuf_c_message_free_unpacked(&res->base, NULL);
  mp_info("run ended", "run=%s status=%s%s%s", r->id, status_name(status), error ? " error=" : "",
          error ? error : "");
}

/* The run thread is done: it gives back its reference and the registry's; watchers
 * that still hold one keep the run (and its updates) until they let go. */
static void end_run(mp_run *r) {
  mp_runs *reg = r->reg;
  pthread_mutex_lock(&reg->mu);
  reg->active--;
  pthread_cond_broadcast(&reg->cv);
  pthread_mutex_unlock(&reg->mu);
  mp_run_release(r); /* the registry's */
  mp_run_release(r); /* this thread's */
}

static void *run_main(void *arg) {
  mp_run *r = arg;
  mp_server *s = r->reg->srv;
  const Meshplane__V1__PerformanceProfile *p = r->profile;
  int64_t dur_ns = 0;
  mp_duration_parse(p->duration, &dur_ns);
  size_t want = p->options && p->options->workers ? p->options->workers : 64;
  if (want > (size_t)p->concurrent_request) want = (size_t)p->concurrent_request;
  mp_worker_ref refs[64];
  r->shares = mp_calloc(want, sizeof *r->shares);
  size_t n = mp_workers_pick(s->workers, want > 64 ? 64 : want, refs);
  if (n == 0) {
    const char *why = "no healthy loadgen worker: start meshplane-loadgen and give its address "
                      "to the server (--workers or RegisterWorker)";
    store_end(r, MESHPLANE__V1__RUN_STATUS__RUN_STATUS_FAILED, why);
    finish(r, MESHPLANE__V1__RUN_STATUS__RUN_STATUS_FAILED, why, NULL);
    mp_free(r->shares);
    r->shares = NULL;
    end_run(r);
    return NULL;
  }
  pthread_mutex_lock(&r->reg->mu);
  r->n_shares = n;
  for (size_t i = 0; i < n; i++) r->shares[i].ref = refs[i];
  build_specs(r, dur_ns / MP_NS_PER_MS);
  pthread_mutex_unlock(&r->reg->mu);
  set_running(r);
  for (size_t i = 0; i < n; i++)
    pthread_create(&r->shares[i].thread, NULL, share_main, &r->shares[i]);
  for (size_t i = 0; i < n; i++) pthread_join(r->shares[i].thread, NULL);

  /* Merge what the workers delivered; name what failed. */
  Meshplane__V1__Result **parts = mp_calloc(n + 1, sizeof *parts);
  size_t ok = 0;
  mp_buf errors = {0};
  for (size_t i = 0; i < n; i++) {
    share *sh = &r->shares[i];
    if (sh->result && !sh->error) parts[ok++] = sh->result;
    if (sh->error) mp_buf_printf(&errors, "%s%s", errors.len ? "; " : "", sh->error);
    mp_workers_release(s->workers, &sh->ref);
  }
  bool cancelled = r->cancel;
  Meshplane__V1__RunStatus status = r->interrupted
                                        ? MESHPLANE__V1__RUN_STATUS__RUN_STATUS_INTERRUPTED
                                    : cancelled ? MESHPLANE__V1__RUN_STATUS__RUN_STATUS_CANCELLED
                                    : ok == n   ? MESHPLANE__V1__RUN_STATUS__RUN_STATUS_COMPLETED
                                    : ok > 0    ? MESHPLANE__V1__RUN_STATUS__RUN_STATUS_PARTIAL
                                                : MESHPLANE__V1__RUN_STATUS__RUN_STATUS_FAILED;
  const char *error = r->interrupted ? "the server stopped during the run"
                      : cancelled    ? "cancelled"
                      : errors.len   ? errors.data
                                     : NULL;
  Meshplane__V1__Result *res = NULL;
  if (ok > 0 && !cancelled) {
    res = mp_malloc(sizeof *res);
    int sig = p->options ? (int)p->options->significant_figures : 0;
    if (mp_result_merge(parts, ok, sig ? sig : MP_HDR_DEFAULT_SIGFIGS, res) != MP_OK) {
      status = MESHPLANE__V1__RUN_STATUS__RUN_STATUS_FAILED;
      error = mp_error_last();
    }
    char id[MP_UUID_STRLEN];
    mp_uuid_new(id);
    res->id = mp_strdup(id);
    res->run_id = mp_strdup(r->id);
    res->profile_id = mp_strdup(p->id);
    res->profile_name = mp_strdup(p->name);
    res->service_mesh = mp_strdup(p->service_mesh);
    res->status = status;
    res->error = mp_strdup(error ? error : "");
    res->requested_qps = p->qps;
    res->n_workers = n;
    res->workers = mp_calloc(n, sizeof *res->workers);
    for (size_t i = 0; i < n; i++) res->workers[i] = mp_strdup(r->shares[i].ref.address);
    res->shares = mp_calloc(ok + 1, sizeof *res->shares);
    for (size_t i = 0; i < n; i++) {
      share *sh = &r->shares[i];
      if (!sh->result || sh->error) continue;
      Meshplane__V1__WorkerShare *ws = mp_malloc(sizeof *ws);
      meshplane__v1__worker_share__init(ws);
      ws->worker = mp_strdup(sh->ref.address);
      ws->requests = sh->result->requests;
      ws->errors = sh->result->errors;
      ws->actual_qps = sh->result->actual_qps;
      ws->requested_qps = sh->spec.qps;
      ws->connections = sh->spec.connections;
      ws->late_sends = sh->result->late_sends;
      ws->max_lag_us = sh->result->max_lag_us;
      ws->latency = sh->result->latency; /* moved: the share's result no longer owns it */
      sh->result->latency = NULL;
      res->shares[res->n_shares++] = ws;
    }
    res->n_load_generators = p->n_load_generators;
    res->load_generators = mp_calloc(p->n_load_generators + 1, sizeof *res->load_generators);
    for (size_t i = 0; i < p->n_load_generators; i++)
      res->load_generators[i] = mp_strdup(p->load_generators[i]);
    if (store_result(r, res) != MP_OK) {
      mp_error("cannot store a result", "run=%s error=\"%s\"", r->id, mp_error_last());
      status = MESHPLANE__V1__RUN_STATUS__RUN_STATUS_FAILED;
      store_end(r, status, mp_error_last());
    }
  } else {
    store_end(r, status, error);
  }
  finish(r, status, error, res);
  for (size_t i = 0; i < n; i++) {
    if (r->shares[i].result) protobuf_c_message_free_unpacked(&r->shares[i].result->base, NULL);
    mp_free(r->shares[i].error);
  }
  mp_free(r->shares);
  r->shares = NULL;
  r->n_shares = 0;
  mp_free(parts);
  mp_buf_free(&errors);
  end_run(r);
  return NULL;
}

/* ---- starting ------------------------------------------------------------------------------ */

mp_status mp_runs_launch(mp_runs *reg, const char *run_id,
                         Meshplane__V1__PerformanceProfile *profile) {
  mp_run *r = mp_calloc(1, sizeof *r);
  r->reg = reg;
  mp_strlcpy(r->id, run_id, sizeof r->id);
  r->profile = profile;
  r->refs = 2; /* the registry's and the run thread's */
  mp_cond_init_mono(&r->cv);
  pthread_mutex_lock(&reg->mu);
  if (reg->stop) {
    pthread_mutex_unlock(&reg->mu);
    r->refs = 1;
    mp_run_release(r);
    return mp_error_set(MP_ERR_UNAVAILABLE, "the server is shutting down");
  }
  r->next = reg->list;
  reg->list = r;
  reg->active++;
  pthread_mutex_unlock(&reg->mu);
  Meshplane__V1__Run first = MESHPLANE__V1__RUN__INIT;
  first.id = r->id;
  first.profile_id = profile->id;
  first.status = MESHPLANE__V1__RUN_STATUS__RUN_STATUS_RUNNING;
  first.requested_qps = profile->qps;
  first.started_at_ms = mp_now_ms();
  Meshplane__V1__RunUpdate u = MESHPLANE__V1__RUN_UPDATE__INIT;
  u.update_case = MESHPLANE__V1__RUN_UPDATE__UPDATE_RUN;
  u.run = &first;
  pthread_mutex_lock(&reg->mu);
  push_update_locked(r, &u);
  pthread_mutex_unlock(&reg->mu);
  pthread_t t;
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  pthread_create(&t, &attr, run_main, r);
  pthread_attr_destroy(&attr);
  return MP_OK;
}

void mp_run_cancel(mp_run *r) {
  pthread_mutex_lock(&r->reg->mu);
  r->cancel = true;
  for (size_t i = 0; i < r->n_shares; i++)
    if (r->shares[i].stream) mp_rpc_stream_cancel(r->shares[i].stream);
  pthread_mutex_unlock(&r->reg->mu);
}

static void *cancel_listener(void *arg) {
  mp_runs *reg = arg;
  mp_bus_sub *sub = NULL;
  if (mp_bus_subscribe(reg->srv->bus, "meshplane.runs.*.cancel", 0, &sub) != MP_OK) return NULL;
  for (;;) {
    pthread_mutex_lock(&reg->mu);
    bool stop = reg->stop;
    pthread_mutex_unlock(&reg->mu);
    if (stop) break;
    char *subject;
    uint8_t *data;
    size_t len;
    if (mp_bus_next(sub, 250, &subject, &data, &len) != MP_BUS_MSG) continue;
    char id[MP_UUID_STRLEN] = "";
    const char *p = subject + strlen("meshplane.runs.");
    size_t idlen = strcspn(p, ".");
    if (idlen < sizeof id) memcpy(id, p, idlen), id[idlen] = '\0';
    mp_run *r = mp_runs_find(reg, id);
    if (r) {
      mp_info("run cancelled from another replica", "run=%s", id);
      mp_run_cancel(r);
      mp_run_release(r);
    }
    mp_free(subject);
    mp_free(data);
  }
  mp_bus_unsubscribe(sub);
  return NULL;
}

mp_runs *mp_runs_new(mp_server *s) {
  mp_runs *reg = mp_calloc(1, sizeof *reg);
  reg->srv = s;
  pthread_mutex_init(&reg->mu, NULL);
  pthread_cond_init(&reg->cv, NULL);
  pthread_create(&reg->cancel_listener, NULL, cancel_listener, reg);
  return reg;
}

void mp_runs_stop(mp_runs *reg) {
  if (!reg) return;
  pthread_mutex_lock(&reg->mu);
  reg->stop = true;
  for (mp_run *r = reg->list; r; r = r->next) {
    r->interrupted = r->cancel = true;
    for (size_t i = 0; i < r->n_shares; i++)
      if (r->shares[i].stream) mp_rpc_stream_cancel(r->shares[i].stream);
  }
  while (reg->active > 0) pthread_cond_wait(&reg->cv, &reg->mu);
  pthread_mutex_unlock(&reg->mu);
  pthread_join(reg->cancel_listener, NULL);
  /* Runs still listed are held by watchers, which are gone once the API has drained. */
  pthread_mutex_destroy(&reg->mu);
  pthread_cond_destroy(&reg->cv);
  mp_free(reg);
}

void mp_runs_launch_scheduled(mp_server *s, const char *run_id) {
  mp_dbargs a = {0};
  mp_dbargs_text(&a, run_id);
  mp_status st;
  PGresult *res = mp_db_exec(s->db, "SELECT profile_id FROM runs WHERE id = $1::uuid", &a, &st);
  mp_dbargs_free(&a);
  Meshplane__V1__PerformanceProfile *p =
      res && PQntuples(res) ? mp_profile_load(s, PQgetvalue(res, 0, 0), &st) : NULL;
  PQclear(res);
  if (!p || mp_runs_launch(s->runs, run_id, p) != MP_OK)
    mp_warn("cannot start a scheduled run", "run=%s error=\"%s\"", run_id, mp_error_last());
}
