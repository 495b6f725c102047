/* meshplane-loadgen: `run [flags] URL...` runs a load test now and prints the results
 * (for people who want a better wrk); without `run` the process is the gRPC worker that
 * meshplane-server drives (worker/worker.c). */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "meshplane/base.h"
#include "meshplane/loadgen.h"
#include "meshplane/loadgen_report.h"
#include "worker.h"

typedef struct cli {
  int64_t threads, connections, requests, sigfigs, streams;
  int64_t duration, timeout, warmup, rampup;
  char *rate, *qps, *method, *cookie, *body, *body_file, *content_type, *json, *hdr_log;
  char *user_agent, *cacert, *sni, *protocol;
  char *grpc_method, *grpc_payload, *grpc_payload_file;
  mp_strlist headers;
  bool latency, progress, insecure, http2;
} cli;

/* --protocol NAME (and --http2) -> the engine's protocol; 0 or an exit code. */
static int parse_protocol(const cli *c, mp_loadgen_protocol *out);

typedef struct progress_ctx {
  bool print;
  FILE *hdr;
  mp_loadgen_hdrlog log;
  bool log_started;
  mp_status log_status;
  char log_error[256]; /* mp_error_last() is per thread: keep the control thread's */
} progress_ctx;

/* Runs on the engine's control thread, once per second. */
static void on_progress(const mp_loadgen_progress *p, void *arg) {
  progress_ctx *ctx = arg;
  if (ctx->hdr && !p->warmup && ctx->log_status == MP_OK) {
    if (!ctx->log_started) {
      ctx->log_status = mp_loadgen_hdrlog_begin(&ctx->log, ctx->hdr, p->interval_start_ms);
      ctx->log_started = true;
    }
    if (ctx->log_status == MP_OK) ctx->log_status = mp_loadgen_hdrlog_interval(&ctx->log, p);
    if (ctx->log_status != MP_OK)
      mp_strlcpy(ctx->log_error, mp_error_last(), sizeof ctx->log_error);
  }
  if (!ctx->print) return;
  char p50[32], p99[32];
  fprintf(stderr, "[%7.1fs] %s%9.1f req/s  requests %llu  errors %llu  p50 %s  p99 %s%s\n",
          (double)p->elapsed_ns / 1e9, p->warmup ? "warm-up " : "", p->interval_rps,
          (unsigned long long)p->requests, (unsigned long long)p->errors,
          mp_loadgen_fmt_us((double)mp_hdr_value_at_percentile(p->interval_latency, 50), p50,
                            sizeof p50),
          mp_loadgen_fmt_us((double)mp_hdr_value_at_percentile(p->interval_latency, 99), p99,
                            sizeof p99),
          p->late_sends ? "  (late sends!)" : "");
}

/* Reads a whole file for `flag`; *out is the caller's, NUL-terminated (not counted). */
static mp_status read_file(const char *flag, const char *path, uint8_t **out, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return mp_error_set(MP_ERR_NOT_FOUND, "%s %s: %s", flag, path, strerror(errno));
  mp_buf b = {0};
  char chunk[65536];
  size_t n;
  while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) mp_buf_append(&b, chunk, n);
  bool err = ferror(f);
  fclose(f);
  if (err) {
    mp_buf_free(&b);
    return mp_error_set(MP_ERR_IO, "%s %s: read error", flag, path);
  }
  *len = b.len;
  mp_buf_append(&b, "", 1);
  *out = (uint8_t *)mp_buf_steal(&b);
  return MP_OK;
}

static int usage_error(const char *fmt, ...) MP_PRINTF(1, 2);
static int usage_error(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "%s run: ", MP_LOADGEN_NAME);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fprintf(stderr, "\nRun '%s run --help' for usage.\n", MP_LOADGEN_NAME);
  return 2;
}

static int parse_rate(const char *flag, const char *s, double *out) {
  char *end;
  errno = 0;
  double v = strtod(s, &end);
  if (errno || end == s || *end || !isfinite(v) || v <= 0)
    return usage_error("%s \"%s\": give a rate > 0 in requests/s (omit %s for a closed-loop "
                       "run as fast as possible)",
                       flag, s, flag);
  *out = v;
  return 0;
}

/* --grpc-payload: hex digits, spaces allowed between bytes ("0a 02 68 69"). */
static int parse_hex(const char *s, uint8_t **out, size_t *len) {
  size_t n = strlen(s);
  uint8_t *b = mp_malloc(n / 2 + 1);
  size_t k = 0;
  int hi = -1;
  for (const char *p = s; *p; p++) {
    if (*p == ' ' || *p == ':') continue;
    int v = *p >= '0' && *p <= '9'   ? *p - '0'
            : *p >= 'a' && *p <= 'f' ? *p - 'a' + 10
            : *p >= 'A' && *p <= 'F' ? *p - 'A' + 10
                                     : -1;
    if (v < 0) {
      mp_free(b);
      return usage_error("--grpc-payload: '%c' is not a hex digit (give the serialized message "
                         "as hex, e.g. 0a026869, or use --grpc-payload-file)",
                         *p);
    }
    if (hi < 0) {
      hi = v;
    } else {
      b[k++] = (uint8_t)(hi << 4 | v);
      hi = -1;
    }
  }
  if (hi >= 0) {
    mp_free(b);
    return usage_error("--grpc-payload: an odd number of hex digits");
  }
  *out = b;
  *len = k;
  return 0;
}

/* Checks the numbers and fills the spec. *body, *ca and *payload receive the files and bytes
 * read for it (the caller frees them after the run). Returns 0 or an exit code. */
static int build_spec(cli *c, char **urls, int nurls, mp_loadgen_spec *s, uint8_t **body,
                      uint8_t **ca, uint8_t **payload) {
  if (nurls == 0) return usage_error("give at least one URL, e.g. http://127.0.0.1:8080/");
  if (c->threads < 0 || c->threads > MP_LOADGEN_MAX_THREADS)
    return usage_error("-t %lld: threads must be between 1 and %d", (long long)c->threads,
                       MP_LOADGEN_MAX_THREADS);
  if (c->connections < 1 || c->connections > MP_LOADGEN_MAX_CONNECTIONS)
    return usage_error("-c %lld: connections must be between 1 and %d", (long long)c->connections,
                       MP_LOADGEN_MAX_CONNECTIONS);
  if (c->requests < 0) return usage_error("-n %lld: must not be negative", (long long)c->requests);
  if (c->duration < 0) return usage_error("-d: the duration must be positive");
  if (c->timeout < 0) return usage_error("--timeout: must be positive");
  if (c->warmup < 0) return usage_error("--warmup: must not be negative");
  if (c->rampup < 0) return usage_error("--rampup: must not be negative");
  if (c->sigfigs < 1 || c->sigfigs > 5) return usage_error("--sigfigs: must be 1..5");
  if (c->rate && c->qps) return usage_error("give either -R/--rate or --qps, not both");
  double rate = 0;
  if (c->rate && parse_rate("-R", c->rate, &rate)) return 2;
  if (c->qps && parse_rate("--qps", c->qps, &rate)) return 2;
  if (c->rampup && rate == 0)
    return usage_error("--rampup only applies to constant-rate runs (-R)");
  if (c->body && c->body_file) return usage_error("give either --body or --body-file");
  if (c->streams < 1 || c->streams > MP_LOADGEN_MAX_STREAMS)
    return usage_error("--streams %lld: must be between 1 and %d", (long long)c->streams,
                       MP_LOADGEN_MAX_STREAMS);
  mp_loadgen_protocol protocol;
  int prc = parse_protocol(c, &protocol);
  if (prc) return prc;
  for (int i = 0; i < nurls; i++)
    if (mp_loadgen_check_url(urls[i]) != MP_OK) return usage_error("%s", mp_error_last());
  size_t body_len = 0;
  if (c->body_file) {
    if (read_file("--body-file", c->body_file, body, &body_len) != MP_OK) {
      fprintf(stderr, "%s run: %s\n", MP_LOADGEN_NAME, mp_error_last());
      return 2;
    }
  } else if (c->body) {
    body_len = strlen(c->body);
  }
  size_t payload_len = 0;
  if (c->grpc_payload && c->grpc_payload_file)
    return usage_error("give either --grpc-payload or --grpc-payload-file");
  if (c->grpc_payload && parse_hex(c->grpc_payload, payload, &payload_len)) return 2;
  if (c->grpc_payload_file &&
      read_file("--grpc-payload-file", c->grpc_payload_file, payload, &payload_len) != MP_OK) {
    fprintf(stderr, "%s run: %s\n", MP_LOADGEN_NAME, mp_error_last());
    return 2;
  }
  size_t ca_len = 0;
  if (c->cacert && read_file("--cacert", c->cacert, ca, &ca_len) != MP_OK) {
    fprintf(stderr, "%s run: %s\n", MP_LOADGEN_NAME, mp_error_last());
    return 2;
  }
  *s = (mp_loadgen_spec){
      .endpoints = (const char *const *)urls,
      .n_endpoints = (size_t)nurls,
      .method = c->method,
      .headers = (const char *const *)c->headers.items,
      .n_headers = c->headers.len,
      .cookies = c->cookie,
      .body = c->body_file ? *body : (const uint8_t *)c->body,
      .body_len = body_len,
      .content_type = c->content_type,
      .threads = (uint32_t)c->threads,
      .connections = (uint32_t)c->connections,
      .rate = rate,
      .duration_ns = c->duration,
      .max_requests = (uint64_t)c->requests,
      .warmup_ns = c->warmup,
      .rampup_ns = c->rampup,
      .timeout_ns = c->timeout,
      .sigfigs = (int)c->sigfigs,
      .user_agent = c->user_agent,
      .protocol = protocol,
      .streams = (uint32_t)c->streams,
      .tls_insecure = c->insecure,
      .tls_ca_pem = c->cacert ? (const char *)*ca : NULL,
      .tls_sni = c->sni,
      .grpc_method = c->grpc_method,
      .grpc_payload = *payload,
      .grpc_payload_len = payload_len,
  };
  return 0;
}

static int parse_protocol(const cli *c, mp_loadgen_protocol *out) {
  static const struct {
    const char *name;
    mp_loadgen_protocol p;
  } names[] = {{"auto", MP_LOADGEN_AUTO},      {"http1", MP_LOADGEN_HTTP1},
               {"http/1.1", MP_LOADGEN_HTTP1}, {"http2", MP_LOADGEN_HTTP2},
               {"h2", MP_LOADGEN_HTTP2},       {"grpc", MP_LOADGEN_GRPC}};
  *out = c->http2 ? MP_LOADGEN_HTTP2 : MP_LOADGEN_AUTO;
  if (!c->protocol) return 0;
  for (size_t i = 0; i < MP_ARRAY_LEN(names); i++)
    if (!strcasecmp(c->protocol, names[i].name)) {
      if (c->http2 && names[i].p != MP_LOADGEN_HTTP2)
        return usage_error("--http2 contradicts --protocol %s", c->protocol);
      *out = names[i].p;
      return 0;
    }
  return usage_error("--protocol %s: use auto, http1, http2 or grpc", c->protocol);
}

/* wrk users write "-t2 -c50": splits such a short flag with an attached value into two
 * arguments for mp_flags_parse. Returns a new argv (the caller frees the array, not the
 * strings: they are the original arguments, or point into them). */
static char **split_short(const mp_flag *flags, size_t nf, int *argc, char **argv) {
  char **out = mp_calloc((size_t)*argc * 2 + 1, sizeof *out);
  int n = 0;
  bool rest = false;
  for (int i = 0; i < *argc; i++) {
    char *a = argv[i];
    if (!strcmp(a, "--")) rest = true;
    const mp_flag *f = NULL;
    if (!rest && i > 0 && a[0] == '-' && a[1] && a[1] != '-' && a[2])
      for (size_t k = 0; k < nf; k++)
        if (flags[k].short_name == a[1] && flags[k].type != MP_FLAG_BOOL) f = &flags[k];
    if (!f) {
      out[n++] = a;
      continue;
    }
    /* "-t2" -> "-t" "2": the flag text is rebuilt from a static table of "-X" strings. */
    static char shorts[128][3];
    unsigned char ch = (unsigned char)a[1];
    if (ch >= 128) {
      out[n++] = a;
      continue;
    }
    shorts[ch][0] = '-';
    shorts[ch][1] = (char)ch;
    out[n++] = shorts[ch];
    out[n++] = a + 2;
  }
  *argc = n;
  return out;
}

/* Waits for the run, turning SIGINT/SIGTERM (blocked in every thread) into a cancel. */
static void wait_run(mp_loadgen_run *run, const sigset_t *sigs) {
  const struct timespec zero = {0, 0};
  bool told = false;
  while (mp_loadgen_wait(run, 20 * MP_NS_PER_MS) != MP_OK) {
    if (sigtimedwait(sigs, NULL, &zero) > 0) {
      if (!told) fprintf(stderr, "interrupted: stopping the run and printing results\n");
      told = true;
      mp_loadgen_cancel(run);
    }
  }
}

static int finish(const mp_loadgen_result *r, const cli *c, FILE *json) {
  mp_loadgen_print_summary(stdout, r, c->latency);
  fflush(stdout);
  int rc = 0;
  if (json) {
    mp_buf b = {0};
    mp_loadgen_fortio_json(r, NULL, &b);
    if (fwrite(b.data, 1, b.len, json) != b.len || fflush(json) != 0) {
      fprintf(stderr, "%s run: writing %s: %s\n", MP_LOADGEN_NAME, c->json, strerror(errno));
      rc = 1;
    }
    mp_buf_free(&b);
  }
  if (r->error) {
    fprintf(stderr, "%s run: the run failed: %s\n", MP_LOADGEN_NAME, r->error);
    return 1;
  }
  if (r->total.requests == 0 && !r->cancelled) {
    fprintf(stderr, "%s run: no response was received%s%s\n", MP_LOADGEN_NAME,
            r->first_error ? ": " : "", r->first_error ? r->first_error : "");
    return 1;
  }
  return rc;
}

static int run_main(int argc, char **argv) {
  cli c = {.connections = 10, .sigfigs = 3, .streams = 1};
  const mp_flag flags[] = {
      {"threads", 't', MP_FLAG_INT, &c.threads, NULL, "event-loop threads (0 = one per CPU)", "N"},
      {"connections", 'c', MP_FLAG_INT, &c.connections, NULL,
       "connections in total, spread over threads and endpoints", "N"},
      {"duration", 'd', MP_FLAG_DURATION, &c.duration, NULL,
       "measured duration, Go syntax (0 = 10s, or until -n requests with -n)", "DURATION"},
      {"requests", 'n', MP_FLAG_INT, &c.requests, NULL,
       "stop after N measured requests (0 = no limit)", "N"},
      {"rate", 'R', MP_FLAG_STRING, &c.rate, NULL,
       "constant rate in requests/s over all threads and connections (default: closed loop)",
       "RPS"},
      {"qps", 0, MP_FLAG_STRING, &c.qps, NULL, "same as --rate (fortio's name)", "RPS"},
      {"header", 'H', MP_FLAG_LIST, &c.headers, NULL, "request header \"Name: value\" (repeat)",
       "HEADER"},
      {"cookie", 0, MP_FLAG_STRING, &c.cookie, NULL, "Cookie header value, \"a=1; b=2\"",
       "COOKIES"},
      {"body", 0, MP_FLAG_STRING, &c.body, NULL, "request body (method defaults to POST)", "TEXT"},
      {"body-file", 0, MP_FLAG_STRING, &c.body_file, NULL, "request body from a file", "FILE"},
      {"content-type", 0, MP_FLAG_STRING, &c.content_type, NULL, "Content-Type of the body",
       "TYPE"},
      {"method", 'm', MP_FLAG_STRING, &c.method, NULL,
       "HTTP method (default GET, or POST with "
       "a body)",
       "METHOD"},
      {"user-agent", 0, MP_FLAG_STRING, &c.user_agent, NULL,
       "User-Agent header (default meshplane-loadgen/VERSION; \"\" sends none)", "TEXT"},
      {"timeout", 0, MP_FLAG_DURATION, &c.timeout, NULL, "per request and per connect (0 = 2s)",
       "DURATION"},
      {"warmup", 0, MP_FLAG_DURATION, &c.warmup, NULL,
       "run this long first and leave it out of the results", "DURATION"},
      {"rampup", 0, MP_FLAG_DURATION, &c.rampup, NULL,
       "with -R: raise the rate linearly from 0 over this time", "DURATION"},
      {"json", 0, MP_FLAG_STRING, &c.json, NULL, "write fortio-compatible JSON results", "FILE"},
      {"hdr-log", 0, MP_FLAG_STRING, &c.hdr_log, NULL,
       "write an HdrHistogram interval log (one histogram per second)", "FILE"},
      {"latency", 0, MP_FLAG_BOOL, &c.latency, NULL,
       "print the detailed percentile spectrum (like wrk2 --latency)", NULL},
      {"progress", 0, MP_FLAG_BOOL, &c.progress, NULL, "print progress every second to stderr",
       NULL},
      {"sigfigs", 0, MP_FLAG_INT, &c.sigfigs, NULL, "histogram significant figures (1..5)", "N"},
      {"protocol", 0, MP_FLAG_STRING, &c.protocol, NULL,
       "auto (from the URL: http(s) -> HTTP/1.1, grpc(s) -> gRPC), http1, http2 (h2c prior "
       "knowledge for http://, ALPN h2 for https://) or grpc",
       "NAME"},
      {"http2", 0, MP_FLAG_BOOL, &c.http2, NULL, "same as --protocol http2", NULL},
      {"streams", 0, MP_FLAG_INT, &c.streams, NULL,
       "HTTP/2 and gRPC: requests in flight per connection (like h2load -m)", "N"},
      {"grpc-method", 0, MP_FLAG_STRING, &c.grpc_method, NULL,
       "gRPC: the method to call, /package.Service/Method (default: the URL's path, else "
       "/grpc.health.v1.Health/Check)",
       "METHOD"},
      {"grpc-payload", 0, MP_FLAG_STRING, &c.grpc_payload, NULL,
       "gRPC: the request message, serialized protobuf as hex (default: empty)", "HEX"},
      {"grpc-payload-file", 0, MP_FLAG_STRING, &c.grpc_payload_file, NULL,
       "gRPC: the request message, serialized protobuf bytes from a file", "FILE"},
      {"cacert", 0, MP_FLAG_STRING, &c.cacert, NULL,
       "https: trust the CA certificates of this PEM file instead of the system's", "FILE"},
      {"insecure", 'k', MP_FLAG_BOOL, &c.insecure, NULL,
       "https: do not verify the server's certificate", NULL},
      {"sni", 0, MP_FLAG_STRING, &c.sni, NULL,
       "https: server name to send (SNI) and verify instead of the URL's host", "NAME"},
  };
  const mp_program prog = {
      .name = MP_LOADGEN_NAME " run",
      .summary = "run an HTTP/1.1, HTTP/2 or gRPC load test now and print the results",
      .usage = "[flags] URL...",
      .epilog = "Closed loop by default (like wrk): each connection sends its next request when "
                "the response\narrives. With -R the rate is constant (like wrk2) and latency is "
                "measured from each\nrequest's intended send time, so a stalled target shows "
                "up instead of being hidden.\nSeveral URLs share the connections round-robin; "
                "results are given per URL and in total.\n"
                "URLs: http:// and https:// (TLS; HTTP/1.1, or HTTP/2 with --http2), grpc:// "
                "(gRPC over h2c)\nand grpcs:// (gRPC over TLS with ALPN h2). gRPC results "
                "count grpc-status codes.\n\n"
                "Examples: " MP_LOADGEN_NAME " run -t2 -c50 -d30s -R 2000 --latency "
                "http://127.0.0.1:8080/\n"
                "          " MP_LOADGEN_NAME " run -c4 --http2 --streams 10 --cacert ca.pem "
                "https://svc.test/\n"
                "          " MP_LOADGEN_NAME " run -c2 --streams 8 --grpc-method "
                "/pkg.Svc/Method --grpc-payload 0a026869 grpc://127.0.0.1:50051",
  };
  size_t nf = MP_ARRAY_LEN(flags);
  int nargs = 0;
  char **args = split_short(flags, nf, &argc, argv);
  argv = args;
  int rc = mp_flags_parse(&prog, flags, nf, argc, argv, &nargs);
  if (rc != 0) {
    mp_flags_free(flags, nf);
    mp_free(args);
    return rc > 0 ? 0 : 2;
  }
  mp_loadgen_spec spec;
  uint8_t *body = NULL, *ca = NULL, *payload = NULL;
  FILE *json = NULL, *hdr = NULL;
  mp_loadgen_run *run = NULL;
  progress_ctx ctx = {.print = c.progress};
  if ((rc = build_spec(&c, argv, nargs, &spec, &body, &ca, &payload)) != 0) goto out;
  if (c.json && !(json = fopen(c.json, "w"))) {
    rc = usage_error("--json %s: %s", c.json, strerror(errno));
    goto out;
  }
  if (c.hdr_log && !(hdr = fopen(c.hdr_log, "w"))) {
    rc = usage_error("--hdr-log %s: %s", c.hdr_log, strerror(errno));
    goto out;
  }
  ctx.hdr = hdr;
  spec.on_progress = on_progress;
  spec.progress_arg = &ctx;

  /* Block the stop signals before any thread exists, so all inherit the mask and only
   * wait_run() sees them. */
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGINT);
  sigaddset(&sigs, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &sigs, NULL);

  if (mp_loadgen_start(&spec, &run) != MP_OK) {
    fprintf(stderr, "%s run: %s\n", MP_LOADGEN_NAME, mp_error_last());
    rc = 2;
    goto out;
  }
  char d[32];
  if (c.duration || !c.requests)
    mp_duration_format(c.duration ? c.duration : MP_LOADGEN_DEFAULT_DURATION_NS, d, sizeof d);
  else
    snprintf(d, sizeof d, "%lld-request", (long long)c.requests);
  printf("Running %s test @ %s%s\n  %lld connections, ", d, argv[0], nargs > 1 ? " (and more)" : "",
         (long long)c.connections);
  if (spec.rate > 0)
    printf("constant rate %.2f req/s", spec.rate);
  else
    printf("closed loop");
  if (c.requests && c.duration) printf(", at most %lld requests", (long long)c.requests);
  printf("\n\n");
  fflush(stdout);
  wait_run(run, &sigs);
  rc = finish(mp_loadgen_result_get(run), &c, json);
  if (ctx.log_status != MP_OK) {
    fprintf(stderr, "%s run: --hdr-log: %s\n", MP_LOADGEN_NAME, ctx.log_error);
    rc = rc ? rc : 1;
  }
out:
  mp_loadgen_free(run);
  if (json) fclose(json);
  if (hdr) fclose(hdr);
  mp_free(body);
  mp_free(ca);
  mp_free(payload);
  mp_flags_free(flags, nf);
  mp_free(args);
  return rc;
}

int main(int argc, char **argv) {
  mp_log_init(MP_LOADGEN_NAME);
  if (argc >= 2 && !strcmp(argv[1], "run")) return run_main(argc - 1, argv + 1);
  if (argc >= 2 && !strcmp(argv[1], "serve")) return mp_loadgen_worker_main(argc - 1, argv + 1);
  return mp_loadgen_worker_main(argc, argv);
}
