/* The kubernetes platform. Each operation writes the request's kubeconfigs to 0600 temp
 * files (removed when it ends) and drives kubectl, helm and mesh CLIs with an argv through
 * posix_spawn, once per cluster. Failures become problems that say what to install or
 * configure: a missing tool, no kubeconfig, an unreachable cluster, a refused request. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

#define ARGV_MAX 64

typedef struct kstate {
  char **paths; /* kubeconfig temp files; none: the adapter's own configuration */
  size_t n;
} kstate;

/* ---- kubeconfig files ----------------------------------------------------------------- */

void mp__kube_remove_configs(char **paths, size_t n) {
  for (size_t i = 0; i < n; i++) {
    if (paths[i] && unlink(paths[i]) != 0 && errno != ENOENT)
      mp_warn("cannot remove a kubeconfig temp file", "path=%s err=\"%s\"", paths[i],
              strerror(errno));
    mp_free(paths[i]);
  }
  mp_free(paths);
}

mp_status mp__kube_write_configs(const char *const *configs, size_t n, char ***out) {
  *out = NULL;
  const char *dir = getenv("TMPDIR");
  if (!dir || !*dir) dir = "/tmp";
  char **paths = mp_calloc(n + 1, sizeof *paths);
  for (size_t i = 0; i < n; i++) {
    char *path = mp_asprintf("%s/meshplane-kubeconfig-XXXXXX", dir);
    int fd = mkstemp(path); /* creates the file 0600 */
    if (fd < 0) {
      mp_status st = mp_error_set(MP_ERR_IO, "cannot create a kubeconfig file in %s: %s", dir,
                                  strerror(errno));
      mp_free(path);
      mp__kube_remove_configs(paths, i);
      return st;
    }
    paths[i] = path;
    size_t len = strlen(configs[i]), off = 0;
    bool ok = fchmod(fd, S_IRUSR | S_IWUSR) == 0;
    while (ok && off < len) {
      ssize_t w = write(fd, configs[i] + off, len - off);
      if (w < 0 && errno == EINTR) continue;
      ok = w > 0;
      if (ok) off += (size_t)w;
    }
    int err = errno;
    if (close(fd) != 0) ok = false;
    if (!ok) {
      mp__kube_remove_configs(paths, i + 1);
      return mp_error_set(MP_ERR_IO, "cannot write a kubeconfig file in %s: %s", dir,
                          strerror(err));
    }
  }
  *out = paths;
  return MP_OK;
}

static bool ambient_config(void) {
  const char *kc = getenv("KUBECONFIG");
  if (kc && *kc) return true;
  if (getenv("KUBERNETES_SERVICE_HOST")) return true; /* in a pod: service account */
  const char *home = getenv("HOME");
  if (!home) return false;
  char *p = mp_asprintf("%s/.kube/config", home);
  bool ok = access(p, R_OK) == 0;
  mp_free(p);
  return ok;
}

static mp_status kbegin(mp_adapter_ctx *ctx, void **state) {
  const mp_adapter_request *r = mp_adapter_req(ctx);
  for (size_t i = 0; i < r->n_kube_configs; i++) {
    mp__ysum sum;
    if (mp__yaml_summary(r->kube_configs[i], strlen(r->kube_configs[i]), false, &sum) != MP_OK) {
      char *details = mp_asprintf("kube_configs[%zu]: %s", i, mp_error_last());
      mp_status st = mp_adapter_problem(
          ctx, MP_ERR_INVALID, MP_ADAPTER_ERR_KUBECONFIG, "the request's kubeconfig is not YAML",
          details, "A kubeconfig in the request's kube_configs cannot be parsed.",
          "Send the cluster's kubeconfig file as it is (kubectl config view --raw --minify).");
      mp_free(details);
      return st;
    }
    mp__ysum_free(&sum);
  }
  if (r->n_kube_configs == 0 && !ambient_config())
    return mp_adapter_problem(
        ctx, MP_ERR_UNAVAILABLE, MP_ADAPTER_ERR_KUBECONFIG, "no Kubernetes cluster configured",
        NULL,
        "The request carried no kube_configs, and the adapter has no kubeconfig of its own "
        "(KUBECONFIG is unset, ~/.kube/config does not exist, and it is not running in a pod).",
        "Connect a cluster so that requests carry its kubeconfig in kube_configs, or start the "
        "adapter with KUBECONFIG=/path/to/kubeconfig (or in the cluster, with a service account).");
  kstate *ks = mp_calloc(1, sizeof *ks);
  if (r->n_kube_configs &&
      mp__kube_write_configs(r->kube_configs, r->n_kube_configs, &ks->paths) != MP_OK) {
    mp_free(ks);
    return mp_adapter_problem(ctx, MP_ERR_IO, MP_ADAPTER_ERR_INTERNAL,
                              "cannot write the kubeconfig to a temp file", mp_error_last(),
                              "The adapter's temp directory is not writable or full.",
                              "Give the adapter a writable TMPDIR.");
  }
  ks->n = r->n_kube_configs;
  *state = ks;
  return MP_OK;
}

static void kend(mp_adapter_ctx *ctx, void *state) {
  kstate *ks = state;
  if (!ks) return;
  mp__kube_remove_configs(ks->paths, ks->n);
  mp_free(ks);
}

/* ---- running tools --------------------------------------------------------------------- */

static const struct {
  const char *tool, *purpose, *install;
} hints[] = {
    {"kubectl", "apply and delete Kubernetes manifests",
     "Install kubectl (https://kubernetes.io/docs/tasks/tools/install-kubectl-linux/, or the "
     "kubectl package from pkgs.k8s.io) and put it on the adapter's PATH."},
    {"helm", "install the mesh's Helm charts",
     "Install Helm 3 (https://helm.sh/docs/intro/install/: one binary) and put it on the "
     "adapter's PATH."},
    {"istioctl", "install and check Istio",
     "Download istioctl for the wanted version (curl -L https://istio.io/downloadIstio | "
     "ISTIO_VERSION=<version> sh -) and put istio-<version>/bin on the adapter's PATH."},
    {"linkerd", "render Linkerd's manifests",
     "Install the linkerd CLI of the wanted version (curl -sSfL https://run.linkerd.io/install-edge"
     " | LINKERD2_VERSION=<version> sh) and put ~/.linkerd2/bin on the adapter's PATH."},
    {"kumactl", "render Kuma's manifests",
     "Install kumactl (curl -L https://kuma.io/installer.sh | VERSION=<version> sh -) and put "
     "kuma-<version>/bin on the adapter's PATH."},
};

static mp_status tool_missing(mp_adapter_ctx *ctx, const char *tool) {
  const char *purpose = "run this operation", *install = NULL;
  for (size_t i = 0; i < MP_ARRAY_LEN(hints); i++)
    if (!strcmp(hints[i].tool, tool)) {
      purpose = hints[i].purpose;
      install = hints[i].install;
    }
  char *summary = mp_asprintf("%s is not installed where the adapter runs", tool);
  const char *path = getenv("PATH");
  char *details = mp_asprintf("No executable named %s on PATH=%s", tool, path ? path : "(unset)");
  char *cause =
      mp_asprintf("The adapter runs %s to %s, and it is not on the adapter's PATH.", tool, purpose);
  char *fallback = mp_asprintf("Install %s and put it on the adapter's PATH.", tool);
  mp_status st = mp_adapter_problem(ctx, MP_ERR_NOT_FOUND, MP_ADAPTER_ERR_TOOL_MISSING, summary,
                                    details, cause, install ? install : fallback);
  mp_free(summary);
  mp_free(details);
  mp_free(cause);
  mp_free(fallback);
  return st;
}

static bool has(const char *s, const char *needle) { return s && strstr(s, needle); }

/* Turns a failed run into a problem naming what to fix. */
static mp_status failed(mp_adapter_ctx *ctx, const char *cmdline, const mp__exec_result *r,
                        const char *where) {
  const char *err = r->err.data ? r->err.data : "";
  char *details = mp_asprintf("$ %s%s\nexit code %d\n%s%s", cmdline, where, r->exit_code, err,
                              r->out.len && !*err ? r->out.data : "");
  char *summary;
  mp_status st;
  if (has(err, "error loading config file") || has(err, "invalid configuration") ||
      has(err, "no configuration has been provided") || has(err, "context was not found") ||
      (has(err, "context") && has(err, "does not exist"))) {
    summary = mp_asprintf("the kubeconfig is not usable%s", where);
    st = mp_adapter_problem(ctx, MP_ERR_INVALID, MP_ADAPTER_ERR_KUBECONFIG, summary, details,
                            "kubectl rejected the kubeconfig: it is malformed or names a "
                            "context, cluster or user it does not define.",
                            "Send a complete kubeconfig (kubectl config view --raw --minify) "
                            "whose current-context works with kubectl cluster-info.");
  } else if (has(err, "Unable to connect to the server") || has(err, "connection refused") ||
             has(err, "was refused") || has(err, "no such host") || has(err, "i/o timeout") ||
             has(err, "dial tcp") || has(err, "cluster unreachable") ||
             has(err, "TLS handshake timeout") || has(err, "no route to host")) {
    summary = mp_asprintf("the Kubernetes cluster is not reachable%s", where);
    st = mp_adapter_problem(ctx, MP_ERR_UNAVAILABLE, MP_ADAPTER_ERR_CLUSTER, summary, details,
                            "The API server named in the kubeconfig did not answer: the cluster "
                            "is down, or the address is wrong or not reachable from the "
                            "adapter's host.",
                            "Start the cluster or fix its server address in the kubeconfig, "
                            "then check from the adapter's host: kubectl cluster-info.");
  } else if (has(err, "Unauthorized") || has(err, "forbidden") || has(err, "Forbidden")) {
    summary = mp_asprintf("the cluster refused the request%s", where);
    st = mp_adapter_problem(ctx, MP_ERR_UNAVAILABLE, MP_ADAPTER_ERR_CLUSTER, summary, details,
                            "The kubeconfig's credentials are expired or lack the rights "
                            "this operation needs.",
                            "Use a kubeconfig whose user may create the resources involved "
                            "(cluster-admin for installing a mesh).");
  } else {
    summary = mp_asprintf("%s failed%s", cmdline, where);
    st = mp_adapter_problem(ctx, MP_ERR_IO, MP_ADAPTER_ERR_COMMAND, summary, details,
                            "The tool ran and reported an error (see details).",
                            "Fix what the tool's message names, then run the operation again.");
  }
  mp_free(summary);
  mp_free(details);
  return st;
}

/* Runs tool with args on cluster i (kubeconfig path or NULL); stdout into out if given.
 * A failure whose stderr contains ok_if (may be NULL) counts as success with no output. */
static mp_status run(mp_adapter_ctx *ctx, kstate *ks, size_t i, const char *const *args,
                     const char *input, mp_buf *out, const char *ok_if) {
  const char *argv[ARGV_MAX + 2];
  size_t n = 0;
  char *kc = ks->n ? mp_asprintf("--kubeconfig=%s", ks->paths[i]) : NULL;
  argv[n++] = args[0];
  if (kc) argv[n++] = kc;
  for (size_t j = 1; args[j] && n < ARGV_MAX; j++) argv[n++] = args[j];
  argv[n] = NULL;
  mp_buf cmd = {0};
  for (size_t j = 0; j < n; j++) mp_buf_printf(&cmd, "%s%s", j ? " " : "", argv[j]);
  char *where = ks->n > 1 ? mp_asprintf(" (cluster %zu of %zu)", i + 1, ks->n) : mp_strdup("");
  mp_debug("running", "cmd=\"%s\"", cmd.data);
  mp__exec x = {.argv = argv,
                .input = input,
                .input_len = input ? strlen(input) : 0,
                .deadline_ns = ctx->deadline_ns,
                .cancel = &ctx->cancelled};
  mp__exec_result r;
  mp_status st = mp__exec_run(&x, &r);
  if (st == MP_ERR_NOT_FOUND) {
    st = tool_missing(ctx, args[0]);
  } else if (st != MP_OK) {
    st = mp_adapter_problem(ctx, st, MP_ADAPTER_ERR_INTERNAL, "cannot start a tool",
                            mp_error_last(), "The adapter could not spawn a process.",
                            "Check the adapter's process limits and memory.");
  } else if (r.cancelled) {
    st = mp_adapter_failf(ctx, MP_ERR_CANCELLED, MP_ADAPTER_ERR_CANCELLED,
                          "The adapter received SIGTERM or SIGINT.",
                          "Run the operation again once the adapter is back; check what the "
                          "interrupted command left behind.",
                          "cancelled while running %s", args[0]);
  } else if (r.timed_out) {
    st = mp_adapter_failf(ctx, MP_ERR_TIMEOUT, MP_ADAPTER_ERR_TIMEOUT,
                          "The command took longer than the adapter's --op-timeout.",
                          "Raise --op-timeout, or check that the cluster can pull images and "
                          "schedule pods.",
                          "timed out running %s", cmd.data);
  } else if (r.exit_code != 0 && ok_if && has(r.err.data, ok_if)) {
    mp_debug("tolerated failure", "cmd=\"%s\" because=\"%s\"", cmd.data, ok_if);
  } else if (r.exit_code != 0) {
    st = failed(ctx, cmd.data, &r, where);
  } else if (out) {
    mp_buf_append(out, r.out.data ? r.out.data : "", r.out.len);
  }
  mp__exec_result_free(&r);
  mp_buf_free(&cmd);
  mp_free(where);
  mp_free(kc);
  return st;
}

static size_t clusters(const kstate *ks) { return ks->n ? ks->n : 1; }

/* kubectl apply/delete of yaml on cluster i, creating namespace ns first when applying. */
static mp_status kubectl_apply(mp_adapter_ctx *ctx, kstate *ks, size_t i, const char *yaml,
                               const char *ns, bool del) {
  if (ns && !del) {
    const char *create[] = {"kubectl", "create", "namespace", ns, NULL};
    mp_status st = run(ctx, ks, i, create, NULL, NULL, "AlreadyExists");
    if (st != MP_OK) return st;
  }
  const char *args[10];
  size_t n = 0;
  args[n++] = "kubectl";
  if (del) {
    args[n++] = "delete";
    args[n++] = "--ignore-not-found=true";
  } else {
    args[n++] = "apply";
  }
  args[n++] = "-f";
  args[n++] = "-";
  if (ns) {
    args[n++] = "-n";
    args[n++] = ns;
  }
  args[n] = NULL;
  return run(ctx, ks, i, args, yaml, NULL, NULL);
}

static mp_status kapply(mp_adapter_ctx *ctx, void *state, const char *yaml, const char *ns,
                        bool del) {
  kstate *ks = state;
  mp_status st = MP_OK;
  for (size_t i = 0; i < clusters(ks) && st == MP_OK; i++)
    st = kubectl_apply(ctx, ks, i, yaml, ns, del);
  return st;
}

static mp_status khelm(mp_adapter_ctx *ctx, void *state, const mp_adapter_chart *c, bool del) {
  kstate *ks = state;
  const char *args[ARGV_MAX + 1];
  size_t n = 0;
  args[n++] = "helm";
  if (del) {
    args[n++] = "uninstall";
    args[n++] = c->release;
    args[n++] = "--namespace";
    args[n++] = c->ns;
  } else {
    args[n++] = "upgrade";
    args[n++] = "--install";
    args[n++] = c->release;
    args[n++] = c->chart;
    args[n++] = "--repo";
    args[n++] = c->repo;
    if (c->version && *c->version) {
      args[n++] = "--version";
      args[n++] = c->version;
    }
    args[n++] = "--namespace";
    args[n++] = c->ns;
    args[n++] = "--create-namespace";
    args[n++] = "--wait";
    args[n++] = "--timeout";
    args[n++] = "10m";
    for (const char *const *s = c->set; s && *s && n < ARGV_MAX - 1; s++) {
      args[n++] = "--set";
      args[n++] = *s;
    }
  }
  args[n] = NULL;
  mp_status st = MP_OK;
  for (size_t i = 0; i < clusters(ks) && st == MP_OK; i++)
    st = run(ctx, ks, i, args, NULL, NULL, NULL);
  return st;
}

static mp_status ktool(mp_adapter_ctx *ctx, void *state, const char *const *argv,
                       mp_adapter_tool_mode mode, const char *ns) {
  kstate *ks = state;
  mp_status st = MP_OK;
  for (size_t i = 0; i < clusters(ks) && st == MP_OK; i++) {
    mp_buf out = {0};
    st = run(ctx, ks, i, argv, NULL, &out, NULL);
    if (st == MP_OK && mode != MP_TOOL_RUN) {
      if (!out.len) {
        st = mp_adapter_failf(
            ctx, MP_ERR_IO, MP_ADAPTER_ERR_COMMAND, "The tool exited 0 but printed no manifest.",
            "Run the same command by hand to see why.", "%s printed nothing to apply", argv[0]);
      } else {
        st = kubectl_apply(ctx, ks, i, out.data, ns, mode == MP_TOOL_DELETE_OUTPUT);
      }
    } else if (st == MP_OK && out.len) {
      size_t keep = out.len > 4096 ? 4096 : out.len;
      char *summary = mp_asprintf("%s %s finished", argv[0], argv[1] ? argv[1] : "");
      mp_adapter_emit_event(ctx, MP_EVENT_INFO, summary, out.data + out.len - keep, NULL, NULL,
                            NULL);
      mp_free(summary);
    }
    mp_buf_free(&out);
  }
  return st;
}

static bool khave(mp_adapter_ctx *ctx, void *state, const char *tool) {
  char *p = mp__which(tool);
  bool found = p != NULL;
  mp_free(p);
  return found;
}

/* What analyze looks at: workloads, services, and the mesh and SMI resources that exist. */
static const char *const snapshot_kinds[] = {
    "deployments",
    "services",
    "pods",
    "serviceaccounts",
    "configmaps",
    "virtualservices.networking.istio.io",
    "destinationrules.networking.istio.io",
    "gateways.networking.istio.io",
    "serviceentries.networking.istio.io",
    "sidecars.networking.istio.io",
    "peerauthentications.security.istio.io",
    "authorizationpolicies.security.istio.io",
    "trafficsplits.split.smi-spec.io",
    "traffictargets.access.smi-spec.io",
    "httproutegroups.specs.smi-spec.io",
    "servers.policy.linkerd.io",
    "serverauthorizations.policy.linkerd.io",
};

static mp_status ksnapshot(mp_adapter_ctx *ctx, void *state, const char *ns, mp_buf *out) {
  kstate *ks = state;
  mp_status st = MP_OK;
  if (ns) {
    const char *get_ns[] = {"kubectl", "get", "namespace", ns, "-o", "yaml", NULL};
    st = run(ctx, ks, 0, get_ns, NULL, out, NULL);
    mp_buf_puts(out, "\n");
  }
  for (size_t k = 0; k < MP_ARRAY_LEN(snapshot_kinds) && st == MP_OK; k++) {
    const char *args[] = {"kubectl", "get",  snapshot_kinds[k],
                          "-o",      "yaml", ns ? "-n" : "--all-namespaces",
                          ns,        NULL};
    mp_buf one = {0};
    /* A kind whose CRD is not installed has nothing to analyze. */
    st = run(ctx, ks, 0, args, NULL, &one, "doesn't have a resource type");
    if (st == MP_OK && one.len) {
      mp_buf_puts(out, "---\n");
      mp_buf_append(out, one.data, one.len);
      mp_buf_puts(out, "\n");
    }
    mp_buf_free(&one);
  }
  return st;
}

const mp_adapter_platform mp_adapter_platform_kubernetes = {
    .abi_version = MP_ADAPTER_ABI_VERSION,
    .struct_size = sizeof(mp_adapter_platform),
    .name = "kubernetes",
    .begin = kbegin,
    .end = kend,
    .have_tool = khave,
    .apply = kapply,
    .helm = khelm,
    .run_tool = ktool,
    .snapshot = ksnapshot,
    .smi_conformance = NULL, /* the conformance runner lives on the host platform */
};
