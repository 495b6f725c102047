/* mp_test_loadgen: a stand-in meshplane.v1.LoadGenerator worker for meshctl's end-to-end
 * test, used while `meshplane-loadgen serve` is not available. It sends no traffic: each
 * run produces synthetic latencies, one progress message per interval and a result with
 * real HdrHistograms, so the server's run path (split, merge, store) and everything
 * downstream (results, compare, export, report) work as with a real worker.
 * The endpoint URL's query sets the latency: ?latency_us=N (default 1000) centres the
 * distribution; ?error_per_mille=N answers that share with 503. */
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "meshplane/report.h"
#include "meshplane/rpc.h"
#include "meshplane/v1/loadgen.pb-c.h"

static long query_param(const char *url, const char *key, long def) {
  const char *q = strchr(url, '?');
  size_t kl = strlen(key);
  for (const char *p = q; p; p = strchr(p + 1, '&'))
    if (!strncmp(p + 1, key, kl) && p[1 + kl] == '=') return strtol(p + 2 + kl, NULL, 10);
  return def;
}

/* A latency around centre: mostly within +-20%, with a long tail (deterministic per seed). */
static int64_t sample(unsigned *seed, long centre) {
  double u = (double)rand_r(seed) / RAND_MAX;
  double v = (double)rand_r(seed) / RAND_MAX;
  double x = centre * (0.8 + 0.4 * u);
  if (v > 0.99) x *= 1 + 9 * (v - 0.99) * 100;
  return (int64_t)x < 1 ? 1 : (int64_t)x;
}

static void lg_run(Meshplane__V1__LoadGenerator_Service *svc, const Meshplane__V1__RunRequest *in,
                   Meshplane__V1__RunEvent_Closure done, void *cd) {
  const Meshplane__V1__LoadSpec *sp = in->spec;
  if (!sp || !sp->n_endpoints) {
    mp_rpc_fail(cd, MP_RPC_INVALID_ARGUMENT, "no endpoints");
    return;
  }
  long centre = query_param(sp->endpoints[0], "latency_us", 1000);
  long err_pm = query_param(sp->endpoints[0], "error_per_mille", 0);
  int64_t wait = sp->start_at_ms - mp_now_ms();
  if (wait > 0 && !mp_rpc_wait(cd, wait)) return;
  int64_t start = mp_now_ms();
  double rate = sp->qps > 0 ? sp->qps : 200.0 * (sp->connections ? sp->connections : 1);
  int64_t intervals = (sp->duration_ms + 999) / 1000;
  if (intervals < 1) intervals = 1;
  mp_hdr *total = mp_hdr_new_latency(0);
  unsigned seed = (unsigned)(centre * 31 + (long)sp->worker_index);
  uint64_t requests = 0, errors = 0, ok = 0;
  for (int64_t k = 0; k < intervals; k++) {
    if (!mp_rpc_wait(cd, 1000)) {
      mp_hdr_free(total);
      return;
    }
    mp_hdr *h = mp_hdr_new_latency(0);
    /* A little wobble in the rate, so the requests/s chart has a shape. */
    int64_t n = (int64_t)(rate * (0.95 + 0.1 * ((k % 3) / 2.0)));
    for (int64_t i = 0; i < n; i++) {
      int64_t v = sample(&seed, centre);
      mp_hdr_record(h, v);
      mp_hdr_record(total, v);
      if (rand_r(&seed) % 1000 < err_pm)
        errors++;
      else
        ok++;
    }
    requests += (uint64_t)n;
    Meshplane__V1__Progress p = MESHPLANE__V1__PROGRESS__INIT;
    p.run_id = sp->run_id;
    p.worker = "fake";
    p.elapsed_ms = (k + 1) * 1000;
    p.requests = requests;
    p.errors = errors;
    p.interval_rps = (double)n;
    p.interval_p50_us = mp_hdr_value_at_percentile(h, 50);
    p.interval_p99_us = mp_hdr_value_at_percentile(h, 99);
    char *enc = NULL;
    mp_hdr_encode_base64(h, &enc);
    p.interval_histogram = enc;
    p.interval_start_ms = start + k * 1000;
    p.interval_ms = 1000;
    Meshplane__V1__RunEvent ev = MESHPLANE__V1__RUN_EVENT__INIT;
    ev.event_case = MESHPLANE__V1__RUN_EVENT__EVENT_PROGRESS;
    ev.progress = &p;
    bool alive = mp_rpc_send(cd, &ev.base);
    mp_free(enc);
    mp_hdr_free(h);
    if (!alive) {
      mp_hdr_free(total);
      return;
    }
  }
  Meshplane__V1__Result *r = mp_malloc(sizeof *r);
  meshplane__v1__result__init(r);
  r->run_id = mp_strdup(sp->run_id);
  r->status = MESHPLANE__V1__RUN_STATUS__RUN_STATUS_COMPLETED;
  r->start_time_ms = start;
  r->requested_duration_ms = sp->duration_ms;
  r->actual_duration_ms = intervals * 1000;
  r->requested_qps = sp->qps;
  r->actual_qps = (double)requests / (double)intervals;
  r->connections = sp->connections;
  r->threads = 1;
  r->requests = requests;
  r->errors = errors;
  r->latency = mp_malloc(sizeof *r->latency);
  mp_report_latency_fill(r->latency, total);
  r->uncorrected = mp_malloc(sizeof *r->uncorrected);
  mp_report_latency_fill(r->uncorrected, total);
  size_t nc = errors ? 2 : 1;
  r->ret_codes = mp_calloc(nc, sizeof *r->ret_codes);
  for (size_t i = 0; i < nc; i++) {
    r->ret_codes[i] = mp_malloc(sizeof *r->ret_codes[i]);
    meshplane__v1__ret_code__init(r->ret_codes[i]);
    r->ret_codes[i]->code = i ? 503 : 200;
    r->ret_codes[i]->count = i ? errors : ok;
  }
  r->n_ret_codes = nc;
  r->endpoints = mp_calloc(1, sizeof *r->endpoints);
  r->endpoints[0] = mp_malloc(sizeof *r->endpoints[0]);
  meshplane__v1__endpoint_result__init(r->endpoints[0]);
  r->endpoints[0]->endpoint = mp_strdup(sp->endpoints[0]);
  r->endpoints[0]->requests = requests;
  r->endpoints[0]->errors = errors;
  r->endpoints[0]->latency = mp_malloc(sizeof *r->endpoints[0]->latency);
  mp_report_latency_fill(r->endpoints[0]->latency, total);
  r->n_endpoints = 1;
  Meshplane__V1__RunEvent ev = MESHPLANE__V1__RUN_EVENT__INIT;
  ev.event_case = MESHPLANE__V1__RUN_EVENT__EVENT_RESULT;
  ev.result = r;
  done(&ev, cd);
  protobuf_c_message_free_unpacked(&r->base, NULL);
  mp_hdr_free(total);
}

static void lg_info(Meshplane__V1__LoadGenerator_Service *svc, const Meshplane__V1__InfoRequest *in,
                    Meshplane__V1__InfoResponse_Closure done, void *cd) {
  Meshplane__V1__InfoResponse r = MESHPLANE__V1__INFO_RESPONSE__INIT;
  r.name = "mp_test_loadgen";
  r.version = "0.0.1-test";
  r.git_sha = "test";
  r.hostname = "localhost";
  r.threads = 1;
  r.max_connections = 10000;
  done(&r, cd);
}

static Meshplane__V1__LoadGenerator_Service service = MESHPLANE__V1__LOAD_GENERATOR__INIT(lg_);

int main(int argc, char **argv) {
  char *listen = "127.0.0.1:0", *ready = "";
  const mp_flag flags[] = {
      {"listen", 'l', MP_FLAG_STRING, &listen, NULL, "address", "ADDR"},
      {"ready-file", 0, MP_FLAG_STRING, &ready, NULL, "write host:port here", "FILE"},
  };
  static const mp_program prog = {"mp_test_loadgen", "a stand-in loadgen worker", NULL, NULL};
  int nargs;
  if (mp_flags_parse(&prog, flags, MP_ARRAY_LEN(flags), argc, argv, &nargs) != 0) return 2;
  mp_log_init(prog.name);
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGTERM);
  sigaddset(&sigs, SIGINT);
  pthread_sigmask(SIG_BLOCK, &sigs, NULL);
  mp_rpc_init();
  mp_rpc_server_opts o = {.listen = listen, .grace_ms = 1000};
  mp_rpc_server *s;
  if (mp_rpc_server_new(&o, &s) != MP_OK) {
    fprintf(stderr, "%s\n", mp_error_last());
    return 1;
  }
  mp_rpc_server_add_service(s, &service.base);
  mp_rpc_server_start(s);
  if (*ready) {
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", ready);
    FILE *f = fopen(tmp, "w");
    if (f) {
      fprintf(f, "127.0.0.1:%d\n", mp_rpc_server_port(s));
      fclose(f);
      rename(tmp, ready);
    }
  }
  int sig;
  sigwait(&sigs, &sig);
  mp_rpc_server_free(s);
  mp_rpc_shutdown();
  mp_flags_free(flags, MP_ARRAY_LEN(flags));
  return 0;
}
