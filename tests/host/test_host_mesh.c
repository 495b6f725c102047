/* Host meshes with real proxies: one program, run once per adapter (argv[1]: nginx or
 * haproxy). Install/uninstall leaves nothing behind; a killed proxy is restarted with an
 * event; reloads keep in-flight requests; mTLS is enforced with SPIFFE identities checked
 * on the client certificate's URI SAN; SMI objects change routing and access. */
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "haproxy.h"
#include "hosttest.h"
#include "nginx.h"

static const mp_adapter *AD;

#define OK_OP(h, ...)                                                                              \
  do {                                                                                             \
    if (!hmesh_op((h), __VA_ARGS__)) {                                                             \
      fprintf(stderr, "events:\n%s\nlast details: %s\n", (h)->log.data ? (h)->log.data : "",       \
              (h)->last.details ? (h)->last.details : "");                                         \
      fail_msg("operation failed: %s", (h)->last.summary ? (h)->last.summary : "?");               \
    }                                                                                              \
  } while (0)

#define EQ(a, b)                                                                                   \
  do {                                                                                             \
    long a_ = (long)(a), b_ = (long)(b);                                                           \
    if (a_ != b_) fail_msg("%s is %ld, want %ld (%s:%d)", #a, a_, b_, __FILE__, __LINE__);         \
  } while (0)

/* The mesh of the running test: freed by the teardown even when the test fails, so no
 * process outlives a failed test. */
static hmesh *cur;

static hmesh *new_mesh(void) {
  cur = hmesh_new(AD);
  return cur;
}

static int teardown(void **unused) {
  hmesh_free(cur);
  cur = NULL;
  return 0;
}

static hmesh *mesh_with_apps(void) {
  hmesh *h = new_mesh();
  OK_OP(h, AD->name, "default", false, NULL);
  OK_OP(h, "sampleapp", "default", false, NULL);
  return h;
}

static void sides(hmesh *h, hside *a, hside *b, hside *c) {
  assert_true(hmesh_side(h, "default/app-a", a));
  assert_true(hmesh_side(h, "default/app-b", b));
  assert_true(hmesh_side(h, "default/app-c", c));
}

static void install_uninstall_leaves_nothing(void **unused) {
  hmesh *h = mesh_with_apps();
  hside s[3];
  sides(h, &s[0], &s[1], &s[2]);
  const char *names[] = {"default/app-a", "default/app-b", "default/app-c"};
  pid_t pids[6];
  for (int i = 0; i < 3; i++) {
    char key[64];
    snprintf(key, sizeof key, "proxy/%s", names[i]);
    pids[2 * i] = hmesh_pid(h, key);
    snprintf(key, sizeof key, "app/%s", names[i]);
    pids[2 * i + 1] = hmesh_pid(h, key);
    assert_true(pids[2 * i] > 0 && mp__hgroup_alive(pids[2 * i]));
    assert_true(pids[2 * i + 1] > 0 && mp__hgroup_alive(pids[2 * i + 1]));
    assert_true(mp__hport_open("127.0.0.1", s[i].inbound));
    assert_true(mp__hport_open("127.0.0.1", s[i].outbound));
    assert_true(mp__hport_open("127.0.0.1", s[i].app));
  }
  /* The mesh works: app-a calls app-b through both sidecars (mTLS on by default). */
  EQ(http_status(s[0].outbound, "GET", "app-b", "/hello", NULL), 200);
  EQ(http_status(s[0].outbound, "GET", "app-b.default.svc.cluster.local:8080", "/hello", NULL),
     200);
  EQ(app_received(s[1].app, "/hello"), 2);
  EQ(http_status(s[0].outbound, "GET", "nowhere", "/hello", NULL), 404);

  char *state = mp_asprintf("%s/state", h->dir);
  assert_true(count_files(state) > 10);
  OK_OP(h, AD->name, "default", true, NULL);
  for (int i = 0; i < 6; i++)
    if (mp__hgroup_alive(pids[i]))
      fail_msg("process group %ld still runs after uninstall", (long)pids[i]);
  for (int i = 0; i < 3; i++) {
    assert_false(mp__hport_open("127.0.0.1", s[i].inbound));
    assert_false(mp__hport_open("127.0.0.1", s[i].outbound));
    assert_false(mp__hport_open("127.0.0.1", s[i].app));
  }
  EQ(count_files(state), 0);
  assert_true(access(state, F_OK) != 0);
  mp_free(state);
}

#define TCP_ROUTE_TT                                                                               \
  "apiVersion: specs.smi-spec.io/v1alpha4\nkind: TCPRoute\nmetadata: {name: t}\n"                  \
  "spec:\n  matches:\n    ports: [%d]\n---\n"                                                      \
  "apiVersion: access.smi-spec.io/v1alpha3\nkind: TrafficTarget\n"                                 \
  "metadata: {name: tcp}\nspec:\n  destination: {kind: ServiceAccount, name: app-b}\n"             \
  "  rules:\n  - {kind: TCPRoute, name: t}\n"                                                      \
  "  sources:\n  - {kind: ServiceAccount, name: app-c}\n"

#define NS_SPECS                                                                                   \
  "apiVersion: specs.smi-spec.io/v1alpha4\n"                                                       \
  "kind: HTTPRouteGroup\nmetadata: {name: specs}\nspec:\n"                                         \
  "  matches:\n%s"                                                                                 \
  "---\napiVersion: access.smi-spec.io/v1alpha3\n"                                                 \
  "kind: TrafficTarget\nmetadata: {name: a-to-b}\nspec:\n"                                         \
  "  destination: {kind: ServiceAccount, name: app-b}\n"                                           \
  "  rules:\n  - {kind: HTTPRouteGroup, name: specs}\n"                                            \
  "  sources:\n  - {kind: ServiceAccount, name: app-a}\n"

static void dump(hmesh *h, const char *key) {
  char *p = mp_asprintf("%s/state/sidecars/%s/proxy.conf", h->dir, key);
  mp_buf b = {0};
  mp__hfile_read(p, &b);
  fprintf(stderr, "---- %s\n%s\n", p, b.data ? b.data : "(none)");
  mp_buf_free(&b);
  mp_free(p);
}

/* SMI access and specs, step by step, with the configurations dumped on failure. */
static void smi_specs_semantics(void **unused) {
  hmesh *h = mesh_with_apps();
  OK_OP(h, "access-control", "default", false, NULL);
  hside a, b, c;
  sides(h, &a, &b, &c);
  EQ(http_status(a.outbound, "GET", "app-b", "/echo", NULL), 403);
  char *y = mp_asprintf(NS_SPECS, "  - {name: metrics, pathRegex: /metrics, methods: ['*']}\n");
  OK_OP(h, "custom", "default", false, y);
  mp_free(y);
  EQ(http_status(a.outbound, "GET", "app-b", "/metrics", NULL), 200);
  EQ(http_status(a.outbound, "GET", "app-b", "/echo", NULL), 403);
  EQ(http_status(c.outbound, "GET", "app-b", "/metrics", NULL), 403);
  y = mp_asprintf(NS_SPECS, "  - {name: get, pathRegex: '.*', methods: [GET]}\n");
  OK_OP(h, "custom", "default", false, y);
  mp_free(y);
  int got = http_status(a.outbound, "GET", "app-b", "/echo", NULL);
  if (got != 200) {
    dump(h, "default/app-b");
    fprintf(stderr, "events:\n%s\n", h->log.data);
  }
  EQ(got, 200);
  EQ(http_status(a.outbound, "POST", "app-b", "/echo", NULL), 403);
  /* Removing the sample app stops its apps and sidecars. */
  pid_t app = hmesh_pid(h, "app/default/app-c"), px = hmesh_pid(h, "proxy/default/app-c");
  OK_OP(h, "sampleapp", "default", true, NULL);
  hside gone;
  assert_false(hmesh_side(h, "default/app-c", &gone));
  assert_false(mp__hgroup_alive(app));
  assert_false(mp__hgroup_alive(px));
  assert_false(mp__hport_open("127.0.0.1", c.inbound));
  assert_false(mp__hport_open("127.0.0.1", c.app));
}

static char *state_path(hmesh *h, const char *rel) {
  return mp_asprintf("%s/state/%s", h->dir, rel);
}

static const char ALLOW_A_TO_B[] = "apiVersion: specs.smi-spec.io/v1alpha4\n"
                                   "kind: HTTPRouteGroup\nmetadata: {name: all}\nspec:\n"
                                   "  matches:\n  - {name: all, pathRegex: '.*', methods: ['*']}\n"
                                   "---\napiVersion: access.smi-spec.io/v1alpha3\n"
                                   "kind: TrafficTarget\nmetadata: {name: a-to-b}\nspec:\n"
                                   "  destination: {kind: ServiceAccount, name: app-b}\n"
                                   "  rules:\n  - {kind: HTTPRouteGroup, name: all}\n"
                                   "  sources:\n  - {kind: ServiceAccount, name: app-a}\n";

/* Refused: the TLS handshake failed, or the proxy answered 400 (no certificate). */
#define REFUSED(status)                                                                            \
  do {                                                                                             \
    int s_ = (status);                                                                             \
    if (s_ != -1 && s_ != 400) fail_msg("%s is %d, want a refusal (-1 or 400)", #status, s_);      \
  } while (0)

/* mTLS is enforced: certificates carry the SPIFFE ID as their URI SAN; a client without a
 * mesh certificate is refused; the identity is read from the certificate's SAN (a
 * certificate this test makes with the mesh CA passes or not by its SAN alone). */
static void mtls_enforced(void **unused) {
  hmesh *h = mesh_with_apps();
  OK_OP(h, "access-control", "default", false, NULL);
  OK_OP(h, "custom", "default", false, ALLOW_A_TO_B);
  hside a, b, c;
  sides(h, &a, &b, &c);
  char *ca = state_path(h, "ca/ca.crt"), *acert = state_path(h, "sidecars/default/app-a/cert.pem");
  char *uri = mp__hcert_uri(acert);
  assert_non_null(uri);
  assert_string_equal(uri, "spiffe://cluster.local/ns/default/sa/app-a");
  mp_free(uri);
  app_reset(b.app);
  REFUSED(tls_status(b.inbound, NULL, NULL, ca, "/direct"));
  assert_true(http_status(b.inbound, "GET", "app-b", "/direct", NULL) != 200); /* plain HTTP */
  /* Another CA, the right SPIFFE ID: refused. */
  char *tmp = mp_asprintf("%s/other", h->dir);
  mp__hmkdirs(tmp, 0700);
  mp__hca *other, *mesh;
  assert_int_equal(mp__hca_create(tmp, "cluster.local", &other), MP_OK);
  char *ok_key = mp_asprintf("%s/a.key", tmp), *ok_crt = mp_asprintf("%s/a.crt", tmp);
  assert_int_equal(
      mp__hca_issue(other, "spiffe://cluster.local/ns/default/sa/app-a", NULL, ok_key, ok_crt),
      MP_OK);
  REFUSED(tls_status(b.inbound, ok_crt, ok_key, ca, "/direct"));
  EQ(app_received(b.app, "/direct"), 0);
  /* The mesh CA: passes with app-a's SAN, 403 with another. */
  char *cadir = state_path(h, "ca");
  assert_int_equal(mp__hca_load(cadir, &mesh), MP_OK);
  assert_int_equal(
      mp__hca_issue(mesh, "spiffe://cluster.local/ns/default/sa/app-a", NULL, ok_key, ok_crt),
      MP_OK);
  EQ(tls_status(b.inbound, ok_crt, ok_key, ca, "/direct"), 200);
  EQ(app_received(b.app, "/direct"), 1);
  char *bad_key = mp_asprintf("%s/x.key", tmp), *bad_crt = mp_asprintf("%s/x.crt", tmp);
  const char *const intruders[] = {"spiffe://cluster.local/ns/default/sa/app-ab",
                                   "spiffe://cluster.local/ns/default/sa/app-",
                                   "spiffe://cluster.local/ns/other/sa/app-a", NULL};
  for (const char *const *u = intruders; *u; u++) {
    assert_int_equal(mp__hca_issue(mesh, *u, NULL, bad_key, bad_crt), MP_OK);
    EQ(tls_status(b.inbound, bad_crt, bad_key, ca, "/direct"), 403);
  }
  EQ(app_received(b.app, "/direct"), 1);
  /* Through the sidecars: app-a passes, app-c does not; the app learns who called (a
   * forged header is replaced). */
  EQ(http_status(a.outbound, "GET", "app-b", "/via", NULL), 200);
  mp__hhttp cl;
  mp__hhttp_init(&cl, "127.0.0.1", a.outbound, 5000);
  mp__hresp r = {0};
  static const char *const forged[] = {"X-Meshplane-Peer", "spiffe://cluster.local/ns/x/sa/y",
                                       NULL};
  mp__hhttp_do(&cl, "GET", "app-b", "/who", forged, &r);
  mp__hhttp_close(&cl);
  EQ(r.status, 200);
  if (!strstr(r.body.data, "\"spiffe://cluster.local/ns/default/sa/app-a\"") ||
      strstr(r.body.data, "ns/x/sa/y"))
    fail_msg("the app saw: %s", r.body.data);
  mp_buf_free(&r.body);
  EQ(http_status(c.outbound, "GET", "app-b", "/via", NULL), 403);
  mp__hca_free(other);
  mp__hca_free(mesh);
  mp_free(cadir);
  mp_free(ok_key);
  mp_free(ok_crt);
  mp_free(bad_key);
  mp_free(bad_crt);
  mp_free(tmp);
  mp_free(ca);
  mp_free(acert);
}

/* mTLS off: plain HTTP between sidecars; access control needs mTLS and says so. */
static void mtls_off(void **unused) {
  hmesh *h = mesh_with_apps();
  OK_OP(h, "mtls", "default", true, NULL);
  hside a, b, c;
  sides(h, &a, &b, &c);
  EQ(http_status(a.outbound, "GET", "app-b", "/plain", NULL), 200);
  EQ(http_status(b.inbound, "GET", "app-b", "/plain", NULL), 200);
  assert_false(hmesh_op(h, "access-control", "default", false, NULL));
  assert_non_null(strstr(h->last.summary, "access control needs mTLS"));
  OK_OP(h, "mtls", "default", false, NULL);
  assert_true(http_status(b.inbound, "GET", "app-b", "/plain", NULL) != 200);
  EQ(http_status(a.outbound, "GET", "app-b", "/plain", NULL), 200);
}

/* A proxy (or app) that dies is restarted, and an event says so. */
static void killed_proxy_restarted(void **unused) {
  hmesh *h = mesh_with_apps();
  hside a, b, c;
  sides(h, &a, &b, &c);
  pid_t old = hmesh_pid(h, "proxy/default/app-b");
  assert_true(old > 0);
  kill(old, SIGKILL);
  if (!hmesh_wait_event(h, "sidecar of default/app-b was killed by signal 9", 10000))
    fail_msg("no restart event; events:\n%s", h->log.data);
  assert_true(hmesh_wait_event(h, "restarted (pid", 1000));
  pid_t now = 0;
  int status = 0;
  for (int i = 0; i < 200 && status != 200; i++) {
    now = hmesh_pid(h, "proxy/default/app-b");
    status = http_status(a.outbound, "GET", "app-b", "/after", NULL);
    if (status != 200) mp_sleep_ms(25);
  }
  EQ(status, 200);
  assert_true(now > 0 && now != old);
  assert_false(mp__hgroup_alive(old) && old != now); /* the old master's workers are gone */
  pid_t app = hmesh_pid(h, "app/default/app-c");
  kill(app, SIGKILL);
  assert_true(hmesh_wait_event(h, "sample app default/app-c was killed by signal 9", 10000));
}

typedef struct slow {
  int port, status;
} slow;

static void *slow_request(void *arg) {
  slow *s = arg;
  s->status = http_status(s->port, "GET", "app-b", "/slow?delay=1200ms", NULL);
  return NULL;
}

typedef struct hammer {
  int port;
  atomic_bool stop;
  int ok, failed;
} hammer;

/* New connections, one request each, until stopped. */
static void *hammer_main(void *arg) {
  hammer *hm = arg;
  while (!atomic_load(&hm->stop)) {
    if (http_status(hm->port, "GET", "app-b", "/during", NULL) == 200)
      hm->ok++;
    else
      hm->failed++;
  }
  return NULL;
}

/* A configuration change reloads the proxies without dropping in-flight requests (slow
 * ones through both sidecars), and new requests keep passing during the reload. */
static void reload_keeps_inflight(void **unused) {
  hmesh *h = mesh_with_apps();
  hside a, b, c;
  sides(h, &a, &b, &c);
  enum { N = 6 };
  slow reqs[N];
  pthread_t t[N];
  for (int i = 0; i < N; i++) {
    reqs[i] = (slow){a.outbound, 0};
    pthread_create(&t[i], NULL, slow_request, &reqs[i]);
  }
  for (int i = 0; i < 100 && app_received(b.app, "/slow") < N; i++) mp_sleep_ms(10);
  EQ(app_received(b.app, "/slow"), N);
  pid_t before = hmesh_pid(h, "proxy/default/app-b");
  hammer hm = {.port = a.outbound};
  pthread_t ht;
  pthread_create(&ht, NULL, hammer_main, &hm);
  /* A new Service selecting app-b: every sidecar's routes change, app-b's certificate gets
   * a new DNS name, so all three proxies reload. */
  OK_OP(h, "custom", "default", false,
        "apiVersion: v1\nkind: Service\nmetadata: {name: app-b-alias}\nspec:\n"
        "  selector: {app: app-b}\n  ports: [{port: 8080}]\n");
  EQ(hmesh_pid(h, "proxy/default/app-b"), before); /* reloaded, not restarted */
  atomic_store(&hm.stop, true);
  pthread_join(ht, NULL);
  EQ(hm.failed, 0);
  assert_true(hm.ok > 10);
  int fresh_ok = 0;
  for (int i = 0; i < 20; i++)
    fresh_ok += http_status(a.outbound, "GET", "app-b-alias", "/new", NULL) == 200;
  for (int i = 0; i < N; i++) pthread_join(t[i], NULL);
  for (int i = 0; i < N; i++) EQ(reqs[i].status, 200);
  EQ(fresh_ok, 20);
}

/* TrafficSplit matches, TCPRoute rules, and objects the platform rejects (the running
 * mesh stays as it was). */
static void smi_split_tcp_and_errors(void **unused) {
  hmesh *h = mesh_with_apps();
  hside a, b, c;
  sides(h, &a, &b, &c);
  /* A/B test: requests with x-canary: 1 to app-c, the others to the root (app-b). */
  OK_OP(
      h, "custom", "default", false,
      "apiVersion: specs.smi-spec.io/v1alpha4\nkind: HTTPRouteGroup\nmetadata: {name: canary}\n"
      "spec:\n  matches:\n  - name: canary\n    headers: {x-canary: '^1$'}\n---\n"
      "apiVersion: split.smi-spec.io/v1alpha4\nkind: TrafficSplit\nmetadata: {name: ab}\n"
      "spec:\n  service: app-b.default.svc.cluster.local\n  matches:\n"
      "  - {kind: HTTPRouteGroup, name: canary}\n  backends:\n  - {service: app-c, weight: 100}\n");
  app_reset(b.app);
  app_reset(c.app);
  static const char *const canary[] = {"x-canary", "1", NULL};
  for (int i = 0; i < 10; i++) {
    EQ(http_status(a.outbound, "GET", "app-b", "/ab", canary), 200);
    EQ(http_status(a.outbound, "GET", "app-b", "/ab", NULL), 200);
  }
  EQ(app_received(b.app, "/ab"), 10);
  EQ(app_received(c.app, "/ab"), 10);
  /* TCPRoute: every request on the destination's port (8080, the containerPort). */
  OK_OP(h, "access-control", "default", false, NULL);
  char *y = mp_asprintf(TCP_ROUTE_TT, 8080);
  OK_OP(h, "custom", "default", false, y);
  mp_free(y);
  EQ(http_status(c.outbound, "POST", "app-b", "/anything", NULL), 200);
  EQ(http_status(a.outbound, "GET", "app-b", "/anything", NULL), 403);
  y = mp_asprintf(TCP_ROUTE_TT, 9090);
  OK_OP(h, "custom", "default", false, y);
  mp_free(y);
  EQ(http_status(c.outbound, "POST", "app-b", "/anything", NULL), 403);
  /* Rejected objects: the error names the line, nothing changes. */
  assert_false(hmesh_op(h, "custom", "default", false,
                        "apiVersion: access.smi-spec.io/v1alpha3\nkind: TrafficTarget\n"
                        "metadata: {name: broken}\nspec:\n  destination: {name: app-b}\n"
                        "  rules:\n  - {kind: HTTPRouteGroup, name: x}\n"));
  assert_non_null(h->last.details);
  if (!strstr(h->last.details, "line 5: TrafficTarget default/broken: spec.sources"))
    fail_msg("details: %s", h->last.details);
  assert_false(hmesh_op(h, "custom", "default", false,
                        "apiVersion: specs.smi-spec.io/v1alpha4\nkind: HTTPRouteGroup\n"
                        "metadata: {name: bad-regex}\nspec:\n  matches:\n"
                        "  - {name: x, pathRegex: '(unclosed'}\n---\n"
                        "apiVersion: access.smi-spec.io/v1alpha3\nkind: TrafficTarget\n"
                        "metadata: {name: bad}\nspec:\n  destination: {name: app-b}\n"
                        "  rules:\n  - {kind: HTTPRouteGroup, name: bad-regex}\n"
                        "  sources:\n  - {name: app-a}\n"));
  assert_non_null(strstr(h->last.summary, "rejected the configuration of sidecar default/app-b"));
  EQ(http_status(c.outbound, "POST", "app-b", "/anything", NULL), 403); /* as before */
  EQ(http_status(a.outbound, "GET", "app-b", "/anything", NULL), 403);
}

/* An adapter that stops keeps the mesh's state; the next one resumes it. Processes an
 * earlier adapter left running are killed by pid file. */
static void resume_after_restart(void **unused) {
  hmesh *h = mesh_with_apps();
  hside a, b, c;
  sides(h, &a, &b, &c);
  pid_t old = hmesh_pid(h, "proxy/default/app-b");
  /* Cleared at once: a failed assertion below jumps to the teardown, which frees them. */
  mp_adapter_sub_free(h->sub);
  h->sub = NULL;
  mp_adapter_mock_free(h->m); /* stops every process */
  h->m = NULL;
  assert_false(mp__hgroup_alive(old));
  assert_false(mp__hport_open("127.0.0.1", b.inbound));
  mp_adapter_mock_opts o = {.workers = 2, .platform = &mp_adapter_platform_host, .events = 8192};
  h->m = mp_adapter_mock_new(AD, &o);
  assert_non_null(h->m);
  h->sub = mp_adapter_mock_subscribe(h->m);
  hside a2, b2, c2;
  sides(h, &a2, &b2, &c2);
  EQ(b2.inbound, b.inbound);
  EQ(http_status(a2.outbound, "GET", "app-b", "/resumed", NULL), 200);
  /* A stray process recorded in a pid file is killed by the next adapter. */
  char *run = mp_asprintf("%s/stray", h->dir);
  mp__hmkdirs(run, 0700);
  pid_t stray = fork();
  if (stray == 0) {
    setpgid(0, 0);
    execl("/bin/sleep", "sleep", "30", (char *)NULL);
    _exit(127);
  }
  mp_sleep_ms(50);
  char *pidfile = mp_asprintf("%s/stray.pid", run);
  char line[64], stat[64];
  snprintf(stat, sizeof stat, "/proc/%ld/stat", (long)stray);
  mp_buf st = {0};
  mp__hfile_read(stat, &st);
  unsigned long long start = 0;
  const char *p = strrchr(st.data, ')');
  for (int field = 2; p && field < 22; field++) p = strchr(p + 1, ' ');
  if (p) start = strtoull(p + 1, NULL, 10);
  int n = snprintf(line, sizeof line, "%ld %llu\n", (long)stray, start);
  mp__hfile_write(pidfile, line, (size_t)n, 0644);
  EQ(mp__hsup_reap_stale(run), 1);
  int status;
  waitpid(stray, &status, 0);
  assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
  mp_buf_free(&st);
  mp_free(pidfile);
  mp_free(run);
  OK_OP(h, AD->name, "default", true, NULL);
}

/* The platform refuses an adapter table without a proxy: the runtime does not start. */
static void attach_needs_a_proxy(void **unused) {
  mp_adapter bad = *AD;
  bad.platform_arg = NULL;
  mp_adapter_mock_opts o = {.platform = &mp_adapter_platform_host};
  assert_null(mp_adapter_mock_new(&bad, &o));
  assert_non_null(strstr(mp_error_last(), "without a valid proxy table"));
}

int main(int argc, char **argv) {
  const char *which = argc > 1 ? argv[1] : "nginx";
  AD = !strcmp(which, "haproxy") ? &mp_haproxy_adapter : &mp_nginx_adapter;
  mp_log_set_level(getenv("MP_TEST_DEBUG") ? MP_LOG_DEBUG : MP_LOG_ERROR);
  bool found = false;
  for (const char *dir = "/usr/sbin\0/sbin\0/usr/local/sbin\0/usr/bin\0"; *dir && !found;
       dir += strlen(dir) + 1) {
    char *path = mp_asprintf("%s/%s", dir, which);
    found = access(path, X_OK) == 0;
    mp_free(path);
  }
  if (!found) {
    fprintf(stderr, "%s is not installed (scripts/deps.sh installs it): skipped\n", which);
    return 77;
  }
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(attach_needs_a_proxy),
      cmocka_unit_test_teardown(install_uninstall_leaves_nothing, teardown),
      cmocka_unit_test_teardown(mtls_enforced, teardown),
      cmocka_unit_test_teardown(mtls_off, teardown),
      cmocka_unit_test_teardown(killed_proxy_restarted, teardown),
      cmocka_unit_test_teardown(reload_keeps_inflight, teardown),
      cmocka_unit_test_teardown(smi_specs_semantics, teardown),
      cmocka_unit_test_teardown(smi_split_tcp_and_errors, teardown),
      cmocka_unit_test_teardown(resume_after_restart, teardown),
  };
  return cmocka_run_group_tests_name(which, tests, NULL, NULL);
}
