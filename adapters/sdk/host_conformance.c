/* The SMI conformance suite of the host platform. It runs against the live mesh: three
 * sample apps (app-a, app-b, app-c, and a root Service app-svc selecting b and c) in
 * namespace smi-conformance, with mTLS and access control on, and sends real requests
 * from app-a's (or app-c's) sidecar. Traffic is counted by the sample apps themselves
 * (GET /counters on each app, bypassing the mesh), so a test passes only when the
 * requests arrived where the spec says.
 *
 * Each test case ends with an event (INFO passed, WARN failed); the last event before the
 * terminal one (or, when cases failed, the terminal ERROR) carries the result object as
 * JSON in its details, in the shape Meshery shows (mesh_name, mesh_version, cases_passed,
 * passing_percentage, more_details[] with smi_specification, smi_version, assertions,
 * result, reason, capability, status, time). Everything the suite
 * created is removed and the mesh settings restored, whatever the outcome. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "host.h"

#define NS "smi-conformance"
#define SPLIT_N 2000
#define EXACT_N 200
#define TOLERANCE_PP 3.0

typedef struct suite {
  mp__host *h;
  mp_adapter_ctx *ctx;
  int a_out, c_out, b_app, c_app; /* ports */
  mp__hhttp a, c;                 /* clients of app-a's and app-c's outbound listeners */
  mp_buf results;                 /* more_details entries */
  int passed, total;
  char reason[512];
} suite;

/* ---- traffic ------------------------------------------------------------------------------ */

/* Sends n requests through client cl to host/path; counts 2xx and 403 answers. */
static void send_n(mp__hhttp *cl, const char *method, const char *host, const char *path,
                   const char *const *headers, int n, int *ok, int *denied, int *other) {
  *ok = *denied = *other = 0;
  mp__hresp r = {0};
  for (int i = 0; i < n; i++) {
    mp__hhttp_do(cl, method, host, path, headers, &r);
    if (r.status >= 200 && r.status < 300)
      (*ok)++;
    else if (r.status == 403)
      (*denied)++;
    else
      (*other)++;
  }
  mp_buf_free(&r.body);
}

typedef struct count_doc {
  const char *path;
  long received;
} count_doc;

static void on_counters(void *arg, mp_yaml_node *root) {
  count_doc *d = arg;
  mp_yaml_int(mp_yaml_get(mp_yaml_get(root, "received"), d->path), &d->received);
}

/* Requests an app received on path (-1 when its counters cannot be read). */
static long received(int app_port, const char *path) {
  mp__hhttp c;
  mp__hhttp_init(&c, "127.0.0.1", app_port, 5000);
  mp__hresp r = {0};
  mp__hhttp_do(&c, "GET", "localhost", "/counters", NULL, &r);
  mp__hhttp_close(&c);
  count_doc d = {path, 0};
  if (r.status == 200) {
    mp_arena a = {0};
    char err[64];
    int line;
    if (!mp_yaml_parse(&a, r.body.data, r.body.len, on_counters, &d, err, sizeof err, &line))
      d.received = -1;
    mp_arena_free(&a);
  } else {
    d.received = -1;
  }
  mp_buf_free(&r.body);
  return d.received;
}

static void reset(int app_port) {
  mp__hhttp c;
  mp__hhttp_init(&c, "127.0.0.1", app_port, 5000);
  mp__hresp r = {0};
  mp__hhttp_do(&c, "POST", "localhost", "/counters/reset", NULL, &r);
  mp__hhttp_close(&c);
  mp_buf_free(&r.body);
}

/* Applies (del: deletes) yaml in the suite's namespace; afterwards clients reconnect so
 * requests reach workers with the new configuration. */
static bool apply(suite *s, const char *yaml, bool del) {
  mp_status st = mp__host_apply(s->h, s->ctx, yaml, NS, del);
  mp__hhttp_close(&s->a);
  mp__hhttp_close(&s->c);
  if (st != MP_OK) snprintf(s->reason, sizeof s->reason, "applying failed: %s", mp_error_last());
  return st == MP_OK;
}

/* ---- results ------------------------------------------------------------------------------ */

static void record(suite *s, const char *spec, const char *version, const char *assertion, bool ok,
                   int64_t t0) {
  char took[32];
  mp_duration_format(mp_mono_ns() - t0, took, sizeof took);
  s->total++;
  s->passed += ok;
  mp_buf *b = &s->results;
  mp_buf_puts(b, b->len ? ",{" : "{");
  mp_buf_puts(b, "\"smi_specification\":");
  mp__hjson_str(b, spec);
  mp_buf_puts(b, ",\"smi_version\":");
  mp__hjson_str(b, version);
  mp_buf_puts(b, ",\"time\":");
  mp__hjson_str(b, took);
  mp_buf_puts(b, ",\"assertions\":");
  mp__hjson_str(b, assertion);
  mp_buf_printf(b, ",\"result\":\"%s\",\"reason\":", ok ? "passed" : "failed");
  mp__hjson_str(b, s->reason);
  mp_buf_printf(b, ",\"capability\":\"FULL\",\"status\":\"%s\"}", ok ? "PASSED" : "FAILED");
  char *summary = mp_asprintf("SMI %s: %s: %s", spec, ok ? "passed" : "FAILED", assertion);
  mp_adapter_emit_event(s->ctx, ok ? MP_EVENT_INFO : MP_EVENT_WARN, summary, s->reason, NULL, NULL,
                        NULL);
  mp_free(summary);
  s->reason[0] = '\0';
}

MP_PRINTF(3, 4)
static bool expect(suite *s, bool cond, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(s->reason, sizeof s->reason, fmt, ap);
  va_end(ap);
  return cond;
}

/* ---- the SMI objects the tests apply ------------------------------------------------------- */

static char *routegroup(const char *name, const char *matches) {
  return mp_asprintf("apiVersion: specs.smi-spec.io/v1alpha4\nkind: HTTPRouteGroup\nmetadata:\n"
                     "  name: %s\nspec:\n  matches:\n%s",
                     name, matches);
}

static char *target(const char *name, const char *dest, const char *src, const char *group,
                    const char *match) {
  return mp_asprintf("apiVersion: access.smi-spec.io/v1alpha3\nkind: TrafficTarget\nmetadata:\n"
                     "  name: %s\nspec:\n  destination:\n    kind: ServiceAccount\n    name: %s\n"
                     "    namespace: " NS "\n  rules:\n  - kind: HTTPRouteGroup\n    name: %s\n"
                     "%s%s%s  sources:\n  - kind: ServiceAccount\n    name: %s\n"
                     "    namespace: " NS "\n",
                     name, dest, group, match ? "    matches:\n    - " : "", match ? match : "",
                     match ? "\n" : "", src);
}

static char *split(int wb, int wc) {
  return mp_asprintf("apiVersion: split.smi-spec.io/v1alpha4\nkind: TrafficSplit\nmetadata:\n"
                     "  name: app-svc-split\nspec:\n  service: app-svc\n  backends:\n"
                     "  - service: app-b\n    weight: %d\n  - service: app-c\n    weight: %d\n",
                     wb, wc);
}

static const char ALL_ROUTES[] = "  - name: everything\n    pathRegex: \".*\"\n"
                                 "    methods: [\"*\"]\n";

/* ---- the tests ---------------------------------------------------------------------------------
 */

static void access_tests(suite *s) {
  const char *spec = "traffic-access", *ver = "v1alpha3";
  int ok, denied, other;
  int64_t t0 = mp_mono_ns();
  reset(s->b_app);
  send_n(&s->a, "GET", "app-b", "/access", NULL, 5, &ok, &denied, &other);
  long got = received(s->b_app, "/access");
  record(s, spec, ver, "default deny: app-a -> app-b is refused without a TrafficTarget",
         expect(s, denied == 5 && got == 0,
                "5 requests: %d refused (403), %d passed, %d other; "
                "app-b received %ld",
                denied, ok, other, got),
         t0);

  t0 = mp_mono_ns();
  char *rg = routegroup("all-routes", ALL_ROUTES);
  char *tt = target("a-to-b", "app-b", "app-a", "all-routes", NULL);
  char *both = mp_asprintf("%s---\n%s", rg, tt);
  bool applied = apply(s, both, false);
  reset(s->b_app);
  if (applied) send_n(&s->a, "GET", "app-b", "/access", NULL, 5, &ok, &denied, &other);
  got = received(s->b_app, "/access");
  record(s, spec, ver, "allow: app-a -> app-b passes with a TrafficTarget from app-a",
         applied && expect(s, ok == 5 && got == 5,
                           "5 requests: %d passed, %d refused, %d other; "
                           "app-b received %ld",
                           ok, denied, other, got),
         t0);

  t0 = mp_mono_ns();
  reset(s->b_app);
  send_n(&s->c, "GET", "app-b", "/access", NULL, 5, &ok, &denied, &other);
  got = received(s->b_app, "/access");
  record(s, spec, ver,
         "identity: app-c -> app-b is refused (its certificate's SPIFFE ID is not a source)",
         applied && expect(s, denied == 5 && got == 0,
                           "5 requests from app-c: %d refused, %d "
                           "passed, %d other; app-b received %ld",
                           denied, ok, other, got),
         t0);

  t0 = mp_mono_ns();
  applied = apply(s, tt, true);
  reset(s->b_app);
  if (applied) send_n(&s->a, "GET", "app-b", "/access", NULL, 5, &ok, &denied, &other);
  got = received(s->b_app, "/access");
  record(s, spec, ver, "deny again: app-a -> app-b is refused once the TrafficTarget is removed",
         applied && expect(s, denied == 5 && got == 0,
                           "5 requests: %d refused, %d passed, %d "
                           "other; app-b received %ld",
                           denied, ok, other, got),
         t0);
  apply(s, rg, true);
  mp_free(rg);
  mp_free(tt);
  mp_free(both);
}

/* Applies a route group named "specs" with matches, and a TrafficTarget a -> b on it. */
static bool specs_setup(suite *s, const char *matches, bool del) {
  char *rg = routegroup("specs", matches);
  char *tt = target("a-to-b-specs", "app-b", "app-a", "specs", NULL);
  char *both = mp_asprintf("%s---\n%s", rg, tt);
  bool ok = apply(s, both, del);
  mp_free(rg);
  mp_free(tt);
  mp_free(both);
  return ok;
}

static void specs_tests(suite *s) {
  const char *spec = "traffic-specs", *ver = "v1alpha4";
  int ok1, d1, o1, ok2, d2, o2;
  int64_t t0 = mp_mono_ns();
  const char *metrics = "  - name: metrics\n    pathRegex: \"/metrics\"\n    methods: [\"*\"]\n";
  bool applied = specs_setup(s, metrics, false);
  if (applied) {
    send_n(&s->a, "GET", "app-b", "/metrics", NULL, 5, &ok1, &d1, &o1);
    send_n(&s->a, "GET", "app-b", "/echo", NULL, 5, &ok2, &d2, &o2);
  }
  record(s, spec, ver,
         "HTTPRouteGroup: only /metrics is allowed (GET /metrics passes, GET "
         "/echo is refused)",
         applied && expect(s, ok1 == 5 && d2 == 5,
                           "/metrics: %d passed of 5; /echo: %d refused "
                           "of 5",
                           ok1, d2),
         t0);

  t0 = mp_mono_ns();
  const char *get = "  - name: get-only\n    pathRegex: \".*\"\n    methods: [\"GET\"]\n";
  applied = specs_setup(s, get, false);
  if (applied) {
    send_n(&s->a, "GET", "app-b", "/echo", NULL, 5, &ok1, &d1, &o1);
    send_n(&s->a, "POST", "app-b", "/echo", NULL, 5, &ok2, &d2, &o2);
  }
  record(s, spec, ver, "HTTPRouteGroup: only GET is allowed (GET passes, POST is refused)",
         applied &&
             expect(s, ok1 == 5 && d2 == 5, "GET: %d passed of 5; POST: %d refused of 5", ok1, d2),
         t0);

  t0 = mp_mono_ns();
  const char *hdr = "  - name: conformance-header\n    headers:\n"
                    "      x-smi-conformance: \"^yes$\"\n";
  applied = specs_setup(s, hdr, false);
  static const char *const yes[] = {"x-smi-conformance", "yes", NULL};
  static const char *const no[] = {"x-smi-conformance", "no", NULL};
  if (applied) {
    send_n(&s->a, "GET", "app-b", "/echo", yes, 5, &ok1, &d1, &o1);
    send_n(&s->a, "GET", "app-b", "/echo", no, 5, &ok2, &d2, &o2);
  }
  record(s, spec, ver,
         "HTTPRouteGroup: header filter (x-smi-conformance: ^yes$ passes, other "
         "values are refused)",
         applied &&
             expect(s, ok1 == 5 && d2 == 5, "yes: %d passed of 5; no: %d refused of 5", ok1, d2),
         t0);
  specs_setup(s, hdr, true);
}

/* Sends n requests to app-svc and reports how many each backend received. */
static void split_run(suite *s, int n, long *b, long *c, int *ok) {
  int denied, other;
  reset(s->b_app);
  reset(s->c_app);
  send_n(&s->a, "GET", "app-svc", "/split", NULL, n, ok, &denied, &other);
  *b = received(s->b_app, "/split");
  *c = received(s->c_app, "/split");
}

static void split_tests(suite *s) {
  const char *spec = "traffic-split", *ver = "v1alpha4";
  char *rg = routegroup("split-routes", ALL_ROUTES);
  char *tb = target("a-to-b-split", "app-b", "app-a", "split-routes", NULL);
  char *tc = target("a-to-c-split", "app-c", "app-a", "split-routes", NULL);
  char *allow = mp_asprintf("%s---\n%s---\n%s", rg, tb, tc);
  int64_t t0 = mp_mono_ns();
  bool applied = apply(s, allow, false);
  long b = 0, c = 0;
  int ok = 0;
  if (applied) split_run(s, EXACT_N, &b, &c, &ok);
  record(s, spec, ver, "no TrafficSplit: requests to the root service reach both backends",
         applied &&
             expect(s, ok == EXACT_N && b > 0 && c > 0 && b + c == EXACT_N,
                    "%d requests: %d passed; app-b received %ld, app-c %ld", EXACT_N, ok, b, c),
         t0);

  static const struct {
    int wb, wc, n;
  } cases[] = {{100, 0, EXACT_N}, {0, 100, EXACT_N}, {75, 25, SPLIT_N}, {25, 75, SPLIT_N}};
  for (size_t i = 0; i < MP_ARRAY_LEN(cases); i++) {
    t0 = mp_mono_ns();
    char *ts = split(cases[i].wb, cases[i].wc);
    applied = apply(s, ts, false);
    mp_free(ts);
    b = c = 0;
    ok = 0;
    if (applied) split_run(s, cases[i].n, &b, &c, &ok);
    char assertion[160];
    bool pass;
    double pct = b + c > 0 ? 100.0 * (double)b / (double)(b + c) : 0;
    if (cases[i].wb == 0 || cases[i].wc == 0) {
      snprintf(assertion, sizeof assertion, "TrafficSplit %d/%d: exactly %d%% to app-b",
               cases[i].wb, cases[i].wc, cases[i].wb);
      pass = ok == cases[i].n && b == (cases[i].wb ? cases[i].n : 0) &&
             c == (cases[i].wc ? cases[i].n : 0);
    } else {
      snprintf(assertion, sizeof assertion,
               "TrafficSplit %d/%d: app-b gets %d%% +/- %.0f points over %d requests", cases[i].wb,
               cases[i].wc, cases[i].wb, TOLERANCE_PP, cases[i].n);
      pass = ok == cases[i].n && b + c == cases[i].n && pct >= cases[i].wb - TOLERANCE_PP &&
             pct <= cases[i].wb + TOLERANCE_PP;
    }
    record(s, spec, ver, assertion,
           applied && expect(s, pass,
                             "%d requests: %d passed; app-b received %ld (%.1f%%), "
                             "app-c %ld",
                             cases[i].n, ok, b, pct, c),
           t0);
  }
  char *ts = split(1, 1);
  apply(s, ts, true);
  mp_free(ts);
  apply(s, allow, true);
  mp_free(allow);
  mp_free(rg);
  mp_free(tb);
  mp_free(tc);
}

/* ---- the suite ------------------------------------------------------------------------------ */

static void iso_now(char *out, size_t n) {
  time_t t = time(NULL);
  struct tm tm;
  gmtime_r(&t, &tm);
  strftime(out, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

mp_status mp__host_conformance(mp__host *h, mp_adapter_ctx *ctx) {
  if (!h->installed)
    return mp_adapter_failf(
        ctx, MP_ERR_INVALID, MP_ADAPTER_ERR_INVALID, "The suite runs against a live mesh.",
        "Run the install operation first.", "no %s host mesh is installed", h->proxy->name);
  suite s = {.h = h, .ctx = ctx};
  bool mtls = h->mtls, access = h->access;
  mp_buf apps = {0};
  mp__host_sample_yaml(&apps, "app-a", NULL);
  mp__host_sample_yaml(&apps, "app-b", "smi-conformance/group: backends");
  mp__host_sample_yaml(&apps, "app-c", "smi-conformance/group: backends");
  mp_buf_puts(&apps, "---\napiVersion: v1\nkind: Service\nmetadata:\n  name: app-svc\nspec:\n"
                     "  selector:\n    smi-conformance/group: backends\n  ports:\n"
                     "  - name: http\n    port: 8080\n");
  mp_adapter_infof(ctx, "SMI conformance: deploying app-a, app-b, app-c and app-svc into "
                        "namespace " NS ", with mTLS and access control on");
  mp_status st = mp__host_settings(h, ctx, true, true);
  if (st == MP_OK) st = mp__host_apply(h, ctx, apps.data, NS, false);
  mp__hside *a = mp__host_side(h, NS, "app-a"), *b = mp__host_side(h, NS, "app-b");
  mp__hside *c = mp__host_side(h, NS, "app-c");
  if (st == MP_OK && (!a || !b || !c))
    st = mp_adapter_failf(ctx, MP_ERR_INTERNAL, MP_ADAPTER_ERR_INTERNAL, NULL, NULL,
                          "the conformance apps have no sidecars");
  if (st == MP_OK) {
    mp__hhttp_init(&s.a, "127.0.0.1", a->outbound, 5000);
    mp__hhttp_init(&s.c, "127.0.0.1", c->outbound, 5000);
    s.b_app = b->app;
    s.c_app = c->app;
    access_tests(&s);
    specs_tests(&s);
    split_tests(&s);
    mp__hhttp_close(&s.a);
    mp__hhttp_close(&s.c);
  }
  /* Clean up whatever happened. */
  mp_status cleanup = mp__host_apply(h, ctx, apps.data, NS, true);
  if (cleanup == MP_OK) cleanup = mp__host_settings(h, ctx, mtls, access);
  mp_buf_free(&apps);
  if (st != MP_OK) {
    mp_buf_free(&s.results);
    return st;
  }
  char date[32];
  iso_now(date, sizeof date);
  char *version = mp__host_proxy_version(h);
  mp_buf json = {0};
  mp_buf_puts(&json, "{\"id\":");
  mp__hjson_str(&json, mp_adapter_req(ctx)->operation_id);
  mp_buf_printf(&json, ",\"date\":\"%s\",\"mesh_name\":", date);
  mp__hjson_str(&json, h->proxy->name);
  mp_buf_puts(&json, ",\"mesh_version\":");
  mp__hjson_str(&json, version);
  double pct = s.total ? 100.0 * s.passed / s.total : 0;
  mp_buf_printf(&json,
                ",\"cases_passed\":\"%d\",\"passing_percentage\":\"%.0f%%\","
                "\"status\":\"completed\",\"more_details\":[%s]}",
                s.passed, pct, s.results.data ? s.results.data : "");
  char *summary = mp_asprintf("SMI conformance of the %s host mesh %s: %d of %d cases passed "
                              "(%.0f%%)",
                              h->proxy->name, version, s.passed, s.total, pct);
  if (s.passed == s.total) {
    mp_adapter_emit_event(ctx, MP_EVENT_INFO, summary, json.data, NULL, NULL, NULL);
    st = cleanup;
  } else {
    st = mp_adapter_problem(ctx, MP_ERR_INVALID, "MPA1012", summary, json.data,
                            "The mesh did not behave as the SMI specs say in the failed cases.",
                            "Read each failed case's reason (the WARN events, or more_details "
                            "in this event).");
  }
  mp_free(summary);
  mp_free(version);
  mp_buf_free(&json);
  mp_buf_free(&s.results);
  return st;
}
