/* The kubernetes platform for real, without a cluster: kubeconfig temp files (0600, removed
 * after), the exact argv of kubectl / helm / mesh CLIs as recorded by fake_tool.sh placed
 * first on PATH (a recorder, not a cluster), and the ERROR events for a missing tool, no
 * kubeconfig, an unreachable cluster (real kubectl when installed) and a timeout. */
#include <dirent.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "internal.h"

static char dir[256], logdir[300], bindir[300], tmpdir[300], emptydir[300];
static char real_kubectl[512];

/* ---- operations under test ------------------------------------------------------------------ */

static const char *const chart_set[] = {"a.b=1", "c=two", NULL};

static mp_status op_helm(mp_adapter_ctx *ctx) {
  mp_adapter_chart c = {
      "https://charts.example.com", "thechart", "rel", "1.2.3", "mesh-system", chart_set};
  return mp_adapter_helm(ctx, &c, mp_adapter_req(ctx)->delete_op);
}

static mp_status op_pipe(mp_adapter_ctx *ctx) {
  static const char *const argv[] = {"linkerd", "install", "--crds", NULL};
  return mp_adapter_run_tool(ctx, argv, MP_TOOL_APPLY_OUTPUT, NULL);
}

static mp_status op_run(mp_adapter_ctx *ctx) {
  /* Shell syntax must arrive as plain bytes: there is no shell. */
  static const char *const argv[] = {"istioctl", "x", "$(touch /tmp/mp-pwned)", "a;b", NULL};
  return mp_adapter_run_tool(ctx, argv, MP_TOOL_RUN, NULL);
}

static const mp_adapter_op ops[] = {
    {"custom", "Custom YAML", MP_OP_CUSTOM, mp_adapter_op_custom, NULL},
    {"helm", "Helm", MP_OP_INSTALL, op_helm, NULL},
    {"pipe", "Pipe", MP_OP_INSTALL, op_pipe, NULL},
    {"run", "Run", MP_OP_INSTALL, op_run, NULL},
    {"analyze", "Analyze", MP_OP_VALIDATE, mp_adapter_op_analyze, NULL},
};
static const mp_adapter kube_adapter = {MP_ADAPTER_V1, .name = "kubetest", .default_port = 1,
                                        .ops = ops, .n_ops = MP_ARRAY_LEN(ops)};

static const char kubeconfig[] = "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n"
                                 "    server: https://127.0.0.1:1\n"
                                 "    insecure-skip-tls-verify: true\n"
                                 "contexts:\n- name: c\n  context:\n    cluster: c\n    user: u\n"
                                 "current-context: c\nusers:\n- name: u\n  user:\n    token: t\n";
static const char manifest[] = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\n";

/* ---- helpers --------------------------------------------------------------------------------- */

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
  return remove(path);
}

static void rm_rf(const char *path) { nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS); }

static void link_tool(const char *target, const char *bin, const char *name) {
  mkdir(bin, 0755);
  char *p = mp_asprintf("%s/%s", bin, name);
  unlink(p);
  assert_int_equal(symlink(target, p), 0);
  mp_free(p);
}

static char *slurp(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  mp_buf b = {0};
  char chunk[4096];
  size_t n;
  while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) mp_buf_append(&b, chunk, n);
  fclose(f);
  return mp_buf_steal(&b);
}

typedef struct runs {
  char *names[64];
  size_t n;
} runs;

static int cmp(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static void runs_load(runs *r) {
  memset(r, 0, sizeof *r);
  DIR *d = opendir(logdir);
  assert_non_null(d);
  for (struct dirent *e; (e = readdir(d));)
    if (e->d_name[0] != '.' && r->n < 64) r->names[r->n++] = mp_strdup(e->d_name);
  closedir(d);
  qsort(r->names, r->n, sizeof *r->names, cmp);
}

static void runs_free(runs *r) {
  for (size_t i = 0; i < r->n; i++) mp_free(r->names[i]);
  r->n = 0;
}

/* A file of run i, or NULL. The caller frees. */
static char *run_file(runs *r, size_t i, const char *file) {
  char *p = mp_asprintf("%s/%s/%s", logdir, r->names[i], file);
  char *s = slurp(p);
  mp_free(p);
  return s;
}

/* The argv of run i as "a|b|c", with the kubeconfig path replaced by KC. */
static char *run_argv(runs *r, size_t i) {
  char *raw = run_file(r, i, "argv");
  char *kc = run_file(r, i, "kubeconfig.path");
  mp_buf b = {0};
  for (char *save = NULL, *tok = strtok_r(raw, "\n", &save); tok;
       tok = strtok_r(NULL, "\n", &save)) {
    if (kc && mp_str_has_prefix(tok, "--kubeconfig=")) tok = "--kubeconfig=KC";
    mp_buf_printf(&b, "%s%s", b.len ? "|" : "", tok);
  }
  mp_free(raw);
  mp_free(kc);
  return mp_buf_steal(&b);
}

static void reset(void) {
  rm_rf(logdir);
  mkdir(logdir, 0755);
  unsetenv("MP_FAKE_FAIL");
  unsetenv("MP_FAKE_STDOUT");
  unsetenv("MP_FAKE_SLEEP");
  char *path = mp_asprintf("%s:/usr/bin:/bin", bindir);
  setenv("PATH", path, 1);
  mp_free(path);
}

static bool tmp_has_kubeconfigs(void) {
  DIR *d = opendir(tmpdir);
  bool found = false;
  for (struct dirent *e; d && (e = readdir(d));)
    if (mp_str_has_prefix(e->d_name, "meshplane-kubeconfig-")) found = true;
  if (d) closedir(d);
  return found;
}

/* Runs an operation on the kubernetes platform; returns its terminal event, its last and
 * only one with component "operation" (clear it). *said (may be NULL) receives the last
 * event of the handler's own (component "adapter"; zeroed when there was none). */
static mp_adapter_event run_op(const mp_adapter_request *req, int64_t op_timeout_ms,
                               mp_adapter_event *said) {
  mp_adapter_mock_opts o = {.platform = &mp_adapter_platform_kubernetes,
                            .op_timeout_ms = op_timeout_ms};
  mp_adapter_mock *m = mp_adapter_mock_new(&kube_adapter, &o);
  mp_adapter_sub *s = mp_adapter_mock_subscribe(m);
  char *id = NULL;
  char *err = mp_adapter_mock_apply(m, req, &id);
  assert_null(err);
  assert_true(mp_adapter_mock_wait(m, id, 20000));
  mp_adapter_event end = {0}, own = {0}, ev = {0};
  while (mp_adapter_sub_next(s, 50, &ev)) {
    assert_string_equal(ev.operation_id, id);
    if (end.summary) fail_msg("event \"%s\" after the terminal event", ev.summary);
    mp_adapter_event *into = &own;
    if (!strcmp(ev.component, MP_ADAPTER_COMPONENT_OPERATION))
      into = &end;
    else
      assert_string_equal(ev.component, "adapter");
    mp_adapter_event_clear(into);
    *into = ev;
    memset(&ev, 0, sizeof ev);
  }
  if (!end.summary) fail_msg("no terminal event");
  if (said)
    *said = own;
  else
    mp_adapter_event_clear(&own);
  free(id);
  mp_adapter_sub_free(s);
  mp_adapter_mock_free(m);
  assert_false(tmp_has_kubeconfigs()); /* removed once the operation ended */
  return end;
}

/* ---- tests ------------------------------------------------------------------------------------
 */

static void test_kubeconfig_files(void **state) {
  mode_t old = umask(0); /* the files must be 0600 whatever the umask */
  const char *configs[] = {"first: 1\n", "second: 2\n"};
  char **paths = NULL;
  assert_int_equal(mp__kube_write_configs(configs, 2, &paths), MP_OK);
  umask(old);
  for (int i = 0; i < 2; i++) {
    struct stat st;
    assert_int_equal(stat(paths[i], &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_true(mp_str_has_prefix(paths[i], tmpdir));
    char *content = slurp(paths[i]);
    assert_string_equal(content, configs[i]);
    mp_free(content);
  }
  char *p0 = mp_strdup(paths[0]), *p1 = mp_strdup(paths[1]);
  mp__kube_remove_configs(paths, 2);
  assert_int_not_equal(access(p0, F_OK), 0);
  assert_int_not_equal(access(p1, F_OK), 0);
  mp_free(p0);
  mp_free(p1);
}

static void test_apply_argv(void **state) {
  reset();
  const char *kc[] = {kubeconfig};
  mp_adapter_request req = {sizeof req,         .op = "custom",
                            .ns = "demo",       .custom_body = manifest,
                            .kube_configs = kc, .n_kube_configs = 1};
  mp_adapter_event said;
  mp_adapter_event last = run_op(&req, 0, &said);
  assert_int_equal(said.type, MP_EVENT_INFO);
  assert_string_equal(said.summary, "custom YAML applied: 1 object in namespace demo");
  assert_int_equal(last.type, MP_EVENT_INFO);
  assert_string_equal(last.summary, "Custom YAML: done");
  mp_adapter_event_clear(&said);
  mp_adapter_event_clear(&last);
  runs r;
  runs_load(&r);
  assert_int_equal(r.n, 2);
  char *a0 = run_argv(&r, 0), *a1 = run_argv(&r, 1);
  assert_string_equal(a0, "kubectl|--kubeconfig=KC|create|namespace|demo");
  assert_string_equal(a1, "kubectl|--kubeconfig=KC|apply|-f|-|-n|demo");
  char *in = run_file(&r, 1, "stdin"), *mode = run_file(&r, 1, "kubeconfig.mode");
  char *copy = run_file(&r, 1, "kubeconfig"), *path = run_file(&r, 1, "kubeconfig.path");
  assert_string_equal(in, manifest);
  assert_string_equal(mode, "600\n");
  assert_string_equal(copy, kubeconfig);
  assert_true(mp_str_has_prefix(path, tmpdir));
  path[strcspn(path, "\n")] = '\0';
  assert_int_not_equal(access(path, F_OK), 0); /* gone after the operation */
  mp_free(a0), mp_free(a1), mp_free(in), mp_free(mode), mp_free(copy), mp_free(path);
  runs_free(&r);
}

static void test_delete_argv_two_clusters(void **state) {
  reset();
  const char *kc[] = {kubeconfig, kubeconfig};
  mp_adapter_request req = {sizeof req,        .op = "custom",     .custom_body = manifest,
                            .delete_op = true, .kube_configs = kc, .n_kube_configs = 2};
  mp_adapter_event said;
  mp_adapter_event last = run_op(&req, 0, &said);
  assert_string_equal(said.summary, "custom YAML deleted: 1 object in namespace default");
  assert_int_equal(last.type, MP_EVENT_INFO);
  assert_string_equal(last.summary, "Custom YAML: removed");
  mp_adapter_event_clear(&said);
  mp_adapter_event_clear(&last);
  runs r;
  runs_load(&r);
  assert_int_equal(r.n, 2);
  for (size_t i = 0; i < 2; i++) {
    char *a = run_argv(&r, i);
    assert_string_equal(a,
                        "kubectl|--kubeconfig=KC|delete|--ignore-not-found=true|-f|-|-n|default");
    mp_free(a);
  }
  char *p0 = run_file(&r, 0, "kubeconfig.path"), *p1 = run_file(&r, 1, "kubeconfig.path");
  assert_string_not_equal(p0, p1); /* one file per cluster */
  mp_free(p0), mp_free(p1);
  runs_free(&r);
}

static void test_helm_argv(void **state) {
  reset();
  const char *kc[] = {kubeconfig};
  mp_adapter_request req = {sizeof req, .op = "helm", .kube_configs = kc, .n_kube_configs = 1};
  mp_adapter_event last = run_op(&req, 0, NULL);
  assert_int_equal(last.type, MP_EVENT_INFO);
  assert_string_equal(last.summary, "Helm: done");
  mp_adapter_event_clear(&last);
  req.delete_op = true;
  last = run_op(&req, 0, NULL);
  assert_int_equal(last.type, MP_EVENT_INFO);
  assert_string_equal(last.summary, "Helm: removed");
  mp_adapter_event_clear(&last);
  runs r;
  runs_load(&r);
  assert_int_equal(r.n, 2);
  char *a0 = run_argv(&r, 0), *a1 = run_argv(&r, 1);
  assert_string_equal(a0, "helm|--kubeconfig=KC|upgrade|--install|rel|thechart|--repo|"
                          "https://charts.example.com|--version|1.2.3|--namespace|mesh-system|"
                          "--create-namespace|--wait|--timeout|10m|--set|a.b=1|--set|c=two");
  assert_string_equal(a1, "helm|--kubeconfig=KC|uninstall|rel|--namespace|mesh-system");
  mp_free(a0), mp_free(a1);
  runs_free(&r);
}

static void test_tool_output_applied(void **state) {
  reset();
  setenv("MP_FAKE_STDOUT", manifest, 1);
  const char *kc[] = {kubeconfig};
  mp_adapter_request req = {sizeof req, .op = "pipe", .kube_configs = kc, .n_kube_configs = 1};
  mp_adapter_event last = run_op(&req, 0, NULL);
  assert_int_equal(last.type, MP_EVENT_INFO);
  assert_string_equal(last.summary, "Pipe: done");
  mp_adapter_event_clear(&last);
  runs r;
  runs_load(&r);
  assert_int_equal(r.n, 2);
  char *a0 = run_argv(&r, 0), *a1 = run_argv(&r, 1), *in = run_file(&r, 1, "stdin");
  assert_string_equal(a0, "linkerd|--kubeconfig=KC|install|--crds");
  assert_string_equal(a1, "kubectl|--kubeconfig=KC|apply|-f|-");
  char *want = mp_asprintf("%s\n", manifest); /* the tool's stdout, as printed */
  assert_string_equal(in, want);
  mp_free(a0), mp_free(a1), mp_free(in), mp_free(want);
  runs_free(&r);
}

static void test_no_shell(void **state) {
  reset();
  unlink("/tmp/mp-pwned");
  setenv("MESHPLANE_ADAPTER_TOKEN", "secret-token", 1);
  const char *kc[] = {kubeconfig};
  mp_adapter_request req = {sizeof req, .op = "run", .kube_configs = kc, .n_kube_configs = 1};
  mp_adapter_event last = run_op(&req, 0, NULL);
  mp_adapter_event_clear(&last);
  runs r;
  runs_load(&r);
  char *a = run_argv(&r, 0);
  assert_string_equal(a, "istioctl|--kubeconfig=KC|x|$(touch /tmp/mp-pwned)|a;b");
  assert_int_not_equal(access("/tmp/mp-pwned", F_OK), 0);
  /* The adapter's settings (its token) stay out of the tools' environment. */
  char *env = run_file(&r, 0, "env");
  assert_non_null(strstr(env, "MP_FAKE_LOG="));
  assert_null(strstr(env, "secret-token"));
  unsetenv("MESHPLANE_ADAPTER_TOKEN");
  mp_free(env);
  mp_free(a);
  runs_free(&r);
}

static void test_kubectl_missing(void **state) {
  reset();
  setenv("PATH", emptydir, 1);
  const char *kc[] = {kubeconfig};
  mp_adapter_request req = {sizeof req, .op = "custom", .custom_body = manifest, .kube_configs = kc,
                            .n_kube_configs = 1};
  mp_adapter_event last = run_op(&req, 0, NULL);
  assert_int_equal(last.type, MP_EVENT_ERROR);
  assert_string_equal(last.error_code, MP_ADAPTER_ERR_TOOL_MISSING);
  assert_string_equal(last.summary, "kubectl is not installed where the adapter runs");
  assert_non_null(strstr(last.details, "No executable named kubectl on PATH="));
  assert_non_null(strstr(last.probable_cause, "runs kubectl to apply and delete"));
  assert_non_null(strstr(last.suggested_remediation,
                         "https://kubernetes.io/docs/tasks/tools/install-kubectl-linux/"));
  mp_adapter_event_clear(&last);
  reset();
}

static void test_helm_missing(void **state) {
  reset();
  char *path = mp_asprintf("%s/kubectl-only", dir);
  link_tool(FAKE_TOOL, path, "kubectl");
  setenv("PATH", path, 1);
  const char *kc[] = {kubeconfig};
  mp_adapter_request req = {sizeof req, .op = "helm", .kube_configs = kc, .n_kube_configs = 1};
  mp_adapter_event last = run_op(&req, 0, NULL);
  assert_string_equal(last.error_code, MP_ADAPTER_ERR_TOOL_MISSING);
  assert_string_equal(last.summary, "helm is not installed where the adapter runs");
  assert_non_null(strstr(last.suggested_remediation, "https://helm.sh/docs/intro/install/"));
  mp_adapter_event_clear(&last);
  mp_free(path);
  reset();
}

static void test_cluster_unreachable_recorded(void **state) {
  reset();
  setenv("MP_FAKE_FAIL",
         "apply|1|The connection to the server 127.0.0.1:6443 was refused - did you specify "
         "the right host or port?",
         1);
  const char *kc[] = {kubeconfig};
  mp_adapter_request req = {sizeof req, .op = "custom", .custom_body = manifest, .kube_configs = kc,
                            .n_kube_configs = 1};
  mp_adapter_event last = run_op(&req, 0, NULL);
  assert_string_equal(last.error_code, MP_ADAPTER_ERR_CLUSTER);
  assert_string_equal(last.summary, "the Kubernetes cluster is not reachable");
  assert_non_null(strstr(last.details, "was refused"));
  assert_non_null(strstr(last.suggested_remediation, "kubectl cluster-info"));
  mp_adapter_event_clear(&last);
  reset();
}

static void test_cluster_unreachable_real_kubectl(void **state) {
  if (!*real_kubectl) {
    fprintf(stderr, "skipped: no kubectl installed on this machine\n");
    skip();
  }
  reset();
  char *path = mp_asprintf("%s/real", dir);
  link_tool(real_kubectl, path, "kubectl");
  setenv("PATH", path, 1);
  const char *kc[] = {kubeconfig}; /* https://127.0.0.1:1: nothing listens there */
  mp_adapter_request req = {sizeof req, .op = "custom", .custom_body = manifest, .kube_configs = kc,
                            .n_kube_configs = 1};
  mp_adapter_event last = run_op(&req, 60000, NULL);
  assert_string_equal(last.error_code, MP_ADAPTER_ERR_CLUSTER);
  assert_string_equal(last.summary, "the Kubernetes cluster is not reachable");
  assert_non_null(strstr(last.details, "127.0.0.1:1"));
  mp_adapter_event_clear(&last);
  mp_free(path);
  reset();
}

static void test_bad_and_missing_kubeconfig(void **state) {
  reset();
  const char *bad[] = {"clusters: [unclosed\n"};
  mp_adapter_request req = {sizeof req, .op = "custom", .custom_body = manifest,
                            .kube_configs = bad, .n_kube_configs = 1};
  mp_adapter_event last = run_op(&req, 0, NULL);
  assert_string_equal(last.error_code, MP_ADAPTER_ERR_KUBECONFIG);
  assert_non_null(strstr(last.details, "kube_configs[0]"));
  mp_adapter_event_clear(&last);

  char *home = getenv("HOME") ? mp_strdup(getenv("HOME")) : NULL;
  char *kcenv = getenv("KUBECONFIG") ? mp_strdup(getenv("KUBECONFIG")) : NULL;
  setenv("HOME", emptydir, 1);
  unsetenv("KUBECONFIG");
  unsetenv("KUBERNETES_SERVICE_HOST");
  req.n_kube_configs = 0;
  last = run_op(&req, 0, NULL);
  assert_string_equal(last.error_code, MP_ADAPTER_ERR_KUBECONFIG);
  assert_string_equal(last.summary, "no Kubernetes cluster configured");
  assert_non_null(strstr(last.suggested_remediation, "KUBECONFIG="));
  mp_adapter_event_clear(&last);
  runs r;
  runs_load(&r);
  assert_int_equal(r.n, 0); /* nothing ran */
  if (home) setenv("HOME", home, 1);
  if (kcenv) setenv("KUBECONFIG", kcenv, 1);
  mp_free(home);
  mp_free(kcenv);
}

static void test_timeout_kills_the_tool(void **state) {
  reset();
  setenv("MP_FAKE_SLEEP", "30", 1);
  const char *kc[] = {kubeconfig};
  mp_adapter_request req = {sizeof req, .op = "helm", .kube_configs = kc, .n_kube_configs = 1};
  int64_t t0 = mp_mono_ns();
  mp_adapter_event last = run_op(&req, 300, NULL);
  assert_true(mp_mono_ns() - t0 < 10 * MP_NS_PER_S);
  assert_string_equal(last.error_code, MP_ADAPTER_ERR_TIMEOUT);
  assert_non_null(strstr(last.summary, "timed out running helm"));
  mp_adapter_event_clear(&last);
  reset();
}

static mp_buf analyzed;
static mp_status capture_analyzer(mp_adapter_ctx *ctx, const char *yaml, size_t len) {
  mp_buf_append(&analyzed, yaml, len);
  return MP_OK;
}

static void test_snapshot_for_analyze(void **state) {
  reset();
  setenv("MP_FAKE_STDOUT",
         "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Service\n  metadata:\n"
         "    name: a\n- apiVersion: v1\n  kind: Service\n  metadata:\n    name: b\n",
         1);
  setenv("MP_FAKE_FAIL", "istio.io|1|error: the server doesn't have a resource type \"x\"", 1);
  mp_adapter_set_analyzer(capture_analyzer);
  const char *kc[] = {kubeconfig};
  mp_adapter_request req = {sizeof req, .op = "analyze", .ns = "shop", .kube_configs = kc,
                            .n_kube_configs = 1};
  mp_adapter_event said;
  mp_adapter_event last = run_op(&req, 0, &said);
  assert_int_equal(said.type, MP_EVENT_INFO);
  assert_string_equal(said.summary,
                      "Analysis of the live configuration of namespace shop finished");
  assert_int_equal(last.type, MP_EVENT_INFO);
  assert_string_equal(last.summary, "Analyze: done");
  mp_adapter_event_clear(&said);
  mp_adapter_event_clear(&last);
  mp_adapter_set_analyzer(NULL);
  runs r;
  runs_load(&r);
  char *a0 = run_argv(&r, 0), *a1 = run_argv(&r, 1);
  assert_string_equal(a0, "kubectl|--kubeconfig=KC|get|namespace|shop|-o|yaml");
  assert_string_equal(a1, "kubectl|--kubeconfig=KC|get|deployments|-o|yaml|-n|shop");
  mp_free(a0), mp_free(a1);
  runs_free(&r);
  /* Each List became one document per object; kinds without CRDs were skipped. */
  mp__ysum sum;
  assert_int_equal(mp__yaml_summary(analyzed.data, analyzed.len, true, &sum), MP_OK);
  assert_true(sum.n > 2);
  assert_string_equal(sum.objs[0].kind, "Service");
  assert_string_equal(sum.objs[1].name, "b");
  mp__ysum_free(&sum);
  mp_buf_free(&analyzed);
}

static void test_exec(void **state) {
  static char big[1 << 20];
  for (size_t i = 0; i < sizeof big; i++) big[i] = (char)('a' + i % 26);
  const char *cat[] = {"cat", NULL};
  mp__exec x = {.argv = cat, .input = big, .input_len = sizeof big};
  mp__exec_result r;
  assert_int_equal(mp__exec_run(&x, &r), MP_OK);
  assert_int_equal(r.exit_code, 0);
  assert_int_equal(r.out.len, sizeof big);
  assert_memory_equal(r.out.data, big, sizeof big);
  mp__exec_result_free(&r);
  const char *f[] = {"false", NULL};
  x = (mp__exec){.argv = f};
  assert_int_equal(mp__exec_run(&x, &r), MP_OK);
  assert_int_equal(r.exit_code, 1);
  mp__exec_result_free(&r);
  const char *none[] = {"no-such-tool-mp", NULL};
  x = (mp__exec){.argv = none};
  assert_int_equal(mp__exec_run(&x, &r), MP_ERR_NOT_FOUND);
  /* A child that does not read its stdin: no SIGPIPE kills us. */
  const char *t[] = {"true", NULL};
  x = (mp__exec){.argv = t, .input = big, .input_len = sizeof big};
  assert_int_equal(mp__exec_run(&x, &r), MP_OK);
  mp__exec_result_free(&r);
}

static int setup(void **state) {
  snprintf(dir, sizeof dir, "/tmp/mp-adapter-kube-XXXXXX");
  if (!mkdtemp(dir)) return -1;
  snprintf(logdir, sizeof logdir, "%s/log", dir);
  snprintf(bindir, sizeof bindir, "%s/bin", dir);
  snprintf(tmpdir, sizeof tmpdir, "%s/tmp", dir);
  snprintf(emptydir, sizeof emptydir, "%s/empty", dir);
  char *k = mp__which("kubectl"); /* the real one, before PATH points at the recorders */
  if (k) mp_strlcpy(real_kubectl, k, sizeof real_kubectl);
  mp_free(k);
  mkdir(logdir, 0755);
  mkdir(tmpdir, 0755);
  mkdir(emptydir, 0755);
  const char *tools[] = {"kubectl", "helm", "istioctl", "linkerd"};
  for (size_t i = 0; i < MP_ARRAY_LEN(tools); i++) link_tool(FAKE_TOOL, bindir, tools[i]);
  setenv("MP_FAKE_LOG", logdir, 1);
  setenv("TMPDIR", tmpdir, 1);
  return 0;
}

static int teardown(void **state) {
  setenv("PATH", "/usr/bin:/bin", 1);
  rm_rf(dir);
  return 0;
}

int main(void) {
  mp_log_init("test_adapter_kube");
  mp_log_set_level(MP_LOG_OFF);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_kubeconfig_files),
      cmocka_unit_test(test_apply_argv),
      cmocka_unit_test(test_delete_argv_two_clusters),
      cmocka_unit_test(test_helm_argv),
      cmocka_unit_test(test_tool_output_applied),
      cmocka_unit_test(test_no_shell),
      cmocka_unit_test(test_kubectl_missing),
      cmocka_unit_test(test_helm_missing),
      cmocka_unit_test(test_cluster_unreachable_recorded),
      cmocka_unit_test(test_cluster_unreachable_real_kubectl),
      cmocka_unit_test(test_bad_and_missing_kubeconfig),
      cmocka_unit_test(test_timeout_kills_the_tool),
      cmocka_unit_test(test_snapshot_for_analyze),
      cmocka_unit_test(test_exec),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
