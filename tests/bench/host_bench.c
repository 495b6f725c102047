/* Host meshes' cost, measured: the same meshplane-loadgen load against the sample app
 * directly, then through the nginx mesh and the HAProxy mesh (client sidecar -> server
 * sidecar -> app), with mTLS on and off. For each: a constant-rate run (latency per
 * percentile, coordinated-omission corrected, and its overhead over the direct path) and
 * a closed-loop run (throughput). Run on demand:
 *
 *   build/tests/bench/host_bench [--rate 1000] [--connections 8] [--duration 5s]
 *                                [--rounds 3] [--proxies nginx,haproxy]
 *                                [--loadgen build/bin/meshplane-loadgen]
 *
 * Both meshes run side by side and every round measures every path in turn; the figures
 * printed are the medians over the rounds (a shared machine's busy moments move single
 * runs a lot, tails most).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "haproxy.h"
#include "hosttest.h"
#include "nginx.h"

#define NPCT 5
static const double pcts[NPCT] = {50, 90, 99, 99.9, 99.99};

typedef struct result {
  char name[48];
  double qps_rate;  /* achieved in the constant-rate run */
  double lat[NPCT]; /* seconds */
  double qps_max;   /* closed loop */
  long errors;
  bool ok;
} result;

typedef struct jdoc {
  result *r;
  bool rate_run;
} jdoc;

static void on_json(void *arg, mp_yaml_node *root) {
  jdoc *d = arg;
  double qps = atof(mp_yaml_gets(root, "ActualQPS") ? mp_yaml_gets(root, "ActualQPS") : "0");
  if (!d->rate_run) {
    d->r->qps_max = qps;
    return;
  }
  d->r->qps_rate = qps;
  const mp_yaml_node *ps = mp_yaml_path(root, "DurationHistogram", "Percentiles", NULL);
  for (size_t i = 0; i < mp_yaml_len(ps); i++) {
    double p = atof(mp_yaml_gets(mp_yaml_at(ps, i), "Percentile"));
    double v = atof(mp_yaml_gets(mp_yaml_at(ps, i), "Value"));
    for (int k = 0; k < NPCT; k++)
      if (p > pcts[k] - 1e-9 && p < pcts[k] + 1e-9) d->r->lat[k] = v;
  }
  const mp_yaml_node *codes = mp_yaml_get(root, "RetCodes");
  for (size_t i = 0; i < mp_yaml_npairs(codes); i++)
    if (strcmp(mp_yaml_str(mp_yaml_key(codes, i)), "200")) {
      long n = 0;
      mp_yaml_int(mp_yaml_val(codes, i), &n);
      d->r->errors += n;
    }
}

/* Runs the loadgen against url (Host header host) and fills r. */
static bool load(const char *loadgen, const char *url, const char *host, const char *rate,
                 const char *conns, const char *dur, result *r) {
  char json[] = "/tmp/mp-host-bench-XXXXXX";
  int fd = mkstemp(json);
  if (fd < 0) return false;
  close(fd);
  char hdr[128];
  snprintf(hdr, sizeof hdr, "Host: %s", host);
  for (int run = 0; run < 2; run++) {
    const char *argv[24];
    size_t n = 0;
    argv[n++] = loadgen;
    argv[n++] = "run";
    argv[n++] = "-c";
    argv[n++] = conns;
    argv[n++] = "-d";
    argv[n++] = run == 0 ? dur : "5s";
    argv[n++] = "--warmup";
    argv[n++] = "1s";
    if (run == 0) {
      argv[n++] = "-R";
      argv[n++] = rate;
    }
    argv[n++] = "-H";
    argv[n++] = hdr;
    argv[n++] = "--json";
    argv[n++] = json;
    argv[n++] = url;
    argv[n] = NULL;
    int code = -1;
    mp_buf out = {0};
    if (mp__hrun(argv, 600000, &code, &out) != MP_OK || code != 0) {
      fprintf(stderr, "%s failed (exit %d):\n%s\n", loadgen, code, out.data ? out.data : "");
      mp_buf_free(&out);
      unlink(json);
      return false;
    }
    mp_buf_free(&out);
    mp_buf j = {0};
    mp_arena a = {0};
    jdoc d = {r, run == 0};
    char err[128];
    int line;
    bool parsed = mp__hfile_read(json, &j) == MP_OK &&
                  mp_yaml_parse(&a, j.data, j.len, on_json, &d, err, sizeof err, &line);
    mp_arena_free(&a);
    mp_buf_free(&j);
    if (!parsed) {
      unlink(json);
      return false;
    }
  }
  unlink(json);
  r->ok = true;
  return true;
}

static void us(char *out, size_t n, double s) { snprintf(out, n, "%.0f", s * 1e6); }

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static double median(double *v, size_t n) {
  qsort(v, n, sizeof *v, cmp_double);
  return n ? (n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2) : 0;
}

/* The median of each figure over a configuration's rounds (failed rounds left out). */
static result summarize(const char *name, const result *rounds, size_t n) {
  result m = {0};
  snprintf(m.name, sizeof m.name, "%s", name);
  double v[64];
  size_t k = 0;
#define MEDIAN_OF(field)                                                                           \
  do {                                                                                             \
    k = 0;                                                                                         \
    for (size_t i = 0; i < n && k < MP_ARRAY_LEN(v); i++)                                          \
      if (rounds[i].ok) v[k++] = rounds[i].field;                                                  \
    m.field = median(v, k);                                                                        \
  } while (0)
  MEDIAN_OF(qps_rate);
  MEDIAN_OF(qps_max);
  for (int p = 0; p < NPCT; p++) MEDIAN_OF(lat[p]);
#undef MEDIAN_OF
  for (size_t i = 0; i < n; i++) m.errors += rounds[i].errors;
  m.ok = k > 0;
  return m;
}

#define ROUNDS_MAX 16
#define CONFIGS 5 /* direct, nginx on/off, haproxy on/off */

int main(int argc, char **argv) {
  char *rate = "1000", *conns = "8", *dur = "5s", *proxies = "nginx,haproxy";
  char *loadgen = NULL;
  int64_t rounds = 3;
  const mp_flag flags[] = {
      {"rate", 'R', MP_FLAG_STRING, &rate, NULL, "constant rate of the latency runs", "RPS"},
      {"connections", 'c', MP_FLAG_STRING, &conns, NULL, "connections", "N"},
      {"duration", 'd', MP_FLAG_STRING, &dur, NULL, "length of each latency run", "DURATION"},
      {"rounds", 'r', MP_FLAG_INT, &rounds, NULL, "rounds, interleaved (figures are their medians)",
       "N"},
      {"proxies", 0, MP_FLAG_STRING, &proxies, NULL, "meshes to measure", "LIST"},
      {"loadgen", 0, MP_FLAG_STRING, &loadgen, NULL, "meshplane-loadgen binary", "PATH"},
  };
  const mp_program prog = {"host_bench", "latency and throughput of the host meshes", "[flags]",
                           NULL};
  int nargs;
  if (mp_flags_parse(&prog, flags, MP_ARRAY_LEN(flags), argc, argv, &nargs) != 0) return 2;
  if (rounds < 1 || rounds > ROUNDS_MAX) rounds = 3;
  mp_log_set_level(MP_LOG_ERROR);
  char *lg = loadgen && *loadgen ? mp_strdup(loadgen) : mp_strdup(MP_LOADGEN);
  const mp_adapter *ads[] = {&mp_nginx_adapter, &mp_haproxy_adapter};
  hmesh *meshes[2] = {NULL, NULL};
  int outbound[2] = {0, 0}, direct = 0;
  /* Both meshes run side by side, so rounds interleave every configuration and a busy
   * moment of the machine hits all of them alike. */
  for (size_t i = 0; i < 2; i++) {
    if (!strstr(proxies, ads[i]->name)) continue;
    hmesh *h = meshes[i] = hmesh_new(ads[i]);
    if (!hmesh_op(h, ads[i]->name, "default", false, NULL) ||
        !hmesh_op(h, "sampleapp", "default", false, NULL)) {
      fprintf(stderr, "%s mesh: %s\n%s", ads[i]->name, h->last.summary ? h->last.summary : "?",
              h->log.data ? h->log.data : "");
      return 1;
    }
    hside a, b;
    hmesh_side(h, "default/app-a", &a);
    hmesh_side(h, "default/app-b", &b);
    outbound[i] = a.outbound;
    if (!direct) direct = b.app;
  }
  if (!direct) {
    fprintf(stderr, "no mesh to measure (--proxies %s)\n", proxies);
    return 2;
  }
  static result r[CONFIGS][2 * ROUNDS_MAX];
  size_t nr[CONFIGS] = {0};
  const char *names[CONFIGS] = {"direct (no mesh)", "nginx mesh, mTLS on", "nginx mesh, mTLS off",
                                "haproxy mesh, mTLS on", "haproxy mesh, mTLS off"};
  char url[128];
  for (int mtls = 1; mtls >= 0; mtls--) {
    if (!mtls)
      for (size_t i = 0; i < 2; i++)
        if (meshes[i] && !hmesh_op(meshes[i], "mtls", "default", true, NULL)) return 1;
    for (int64_t round = 0; round < rounds; round++) {
      fprintf(stderr, "round %lld/%lld, mTLS %s: direct", (long long)round + 1, (long long)rounds,
              mtls ? "on" : "off");
      snprintf(url, sizeof url, "http://127.0.0.1:%d/bench", direct);
      load(lg, url, "app-b", rate, conns, dur, &r[0][nr[0]++]);
      for (size_t i = 0; i < 2; i++) {
        if (!meshes[i]) continue;
        fprintf(stderr, ", %s", ads[i]->name);
        snprintf(url, sizeof url, "http://127.0.0.1:%d/bench", outbound[i]);
        int c = 1 + 2 * (int)i + (mtls ? 0 : 1);
        load(lg, url, "app-b", rate, conns, dur, &r[c][nr[c]++]);
      }
      fprintf(stderr, "\n");
    }
  }
  for (size_t i = 0; i < 2; i++) {
    if (!meshes[i]) continue;
    hmesh_op(meshes[i], ads[i]->name, "default", true, NULL);
    hmesh_free(meshes[i]);
  }
  result res[CONFIGS];
  size_t nres = 0;
  for (int c = 0; c < CONFIGS; c++)
    if (nr[c]) res[nres++] = summarize(names[c], r[c], nr[c]);
  printf("\nmeshplane-loadgen, %s connections, medians of %lld rounds: latency at -R %s for %s "
         "(microseconds, and the overhead over the direct path), then max throughput (closed "
         "loop, 5s)\n\n",
         conns, (long long)rounds, rate, dur);
  printf("%-24s %8s", "path", "rate");
  for (int k = 0; k < NPCT; k++) printf("  %14.2f%%", pcts[k]);
  printf("  %10s %7s\n", "max req/s", "errors");
  for (size_t i = 0; i < nres; i++) {
    result *x = &res[i];
    if (!x->ok) {
      printf("%-24s  (run failed)\n", x->name);
      continue;
    }
    printf("%-24s %8.0f", x->name, x->qps_rate);
    for (int k = 0; k < NPCT; k++) {
      char v[32], o[32] = "";
      us(v, sizeof v, x->lat[k]);
      if (i > 0 && res[0].ok) snprintf(o, sizeof o, "%+.0f", (x->lat[k] - res[0].lat[k]) * 1e6);
      printf("  %7s %7s", v, o);
    }
    printf("  %10.0f %7ld\n", x->qps_max, x->errors);
  }
  mp_free(lg);
  mp_flags_free(flags, MP_ARRAY_LEN(flags));
  return 0;
}
