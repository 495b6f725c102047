/* The Kuma adapter: Meshery's port (10007). Kuma is installed from its Helm chart (chart
 * versions follow Kuma's), or with kumactl when helm is missing; namespaces join the mesh
 * with the kuma.io/sidecar-injection label; mTLS is a property of the Mesh resource. */
#include "kuma.h"

#define CHART_REPO "https://kumahq.github.io/charts"

static mp_status install(mp_adapter_ctx *ctx) {
  const mp_adapter_request *r = mp_adapter_req(ctx);
  const char *v = mp_adapter_version(ctx);
  bool del = r->delete_op;
  mp_status st;
  if (mp_adapter_have_tool(ctx, "helm")) {
    const mp_adapter_chart chart = {CHART_REPO, "kuma", "kuma", v, KUMA_NS, NULL};
    mp_adapter_infof(ctx, "%s Kuma %s with Helm", del ? "Uninstalling" : "Installing", v);
    st = mp_adapter_helm(ctx, &chart, del);
  } else if (mp_adapter_have_tool(ctx, "kumactl")) {
    mp_adapter_warnf(ctx,
                     "helm is not on PATH: rendering Kuma with the kumactl on PATH, which "
                     "renders its own version (requested %s)",
                     v);
    static const char *const render[] = {"kumactl", "install", "control-plane", NULL};
    st = mp_adapter_run_tool(ctx, render, del ? MP_TOOL_DELETE_OUTPUT : MP_TOOL_APPLY_OUTPUT, NULL);
  } else {
    char *remedy = mp_asprintf(
        "Install Helm 3 (https://helm.sh/docs/intro/install/) and the adapter installs chart "
        "kuma %s from %s; or install kumactl %s (curl -L https://kuma.io/installer.sh | "
        "VERSION=%s sh -) and put kuma-%s/bin on the adapter's PATH.",
        v, CHART_REPO, v, v, v);
    st = mp_adapter_problem(ctx, MP_ERR_NOT_FOUND, MP_ADAPTER_ERR_TOOL_MISSING,
                            "neither helm nor kumactl is installed where the adapter runs", NULL,
                            "The kuma adapter installs Kuma with helm or kumactl, and neither "
                            "is on the adapter's PATH.",
                            remedy);
    mp_free(remedy);
  }
  if (st == MP_OK) mp_adapter_infof(ctx, "Kuma %s %s", v, del ? "uninstalled" : "installed");
  return st;
}

static mp_status sidecar_injection(mp_adapter_ctx *ctx) {
  const mp_adapter_request *r = mp_adapter_req(ctx);
  mp_status st = mp_adapter_apply_namespace_switch(ctx, "kuma.io/sidecar-injection", false);
  if (st == MP_OK)
    mp_adapter_infof(ctx, "Sidecar injection %s for namespace %s",
                     r->delete_op ? "disabled" : "enabled", r->ns);
  return st;
}

void kuma_render_allow_all(mp_buf *out) {
  mp_buf_puts(out, "apiVersion: kuma.io/v1alpha1\n"
                   "kind: MeshTrafficPermission\n"
                   "metadata:\n"
                   "  name: allow-all\n"
                   "  namespace: " KUMA_NS "\n"
                   "  labels:\n"
                   "    kuma.io/mesh: default\n"
                   "    app.kubernetes.io/managed-by: meshplane\n"
                   "spec:\n"
                   "  targetRef:\n"
                   "    kind: Mesh\n"
                   "  from:\n"
                   "  - targetRef:\n"
                   "      kind: Mesh\n"
                   "    default:\n"
                   "      action: Allow\n");
}

void kuma_render_mtls(bool on, mp_buf *out) {
  mp_buf_puts(out, "apiVersion: kuma.io/v1alpha1\n"
                   "kind: Mesh\n"
                   "metadata:\n"
                   "  name: default\n"
                   "  labels:\n"
                   "    app.kubernetes.io/managed-by: meshplane\n");
  if (!on) {
    mp_buf_puts(out, "spec: {}\n");
    return;
  }
  mp_buf_puts(out, "spec:\n"
                   "  mtls:\n"
                   "    enabledBackend: ca-1\n"
                   "    backends:\n"
                   "    - name: ca-1\n"
                   "      type: builtin\n"
                   "---\n");
  kuma_render_allow_all(out);
}

/* mTLS on the default Mesh; delete_op turns it off (the Mesh itself stays). */
static mp_status mtls(mp_adapter_ctx *ctx) {
  bool off = mp_adapter_req(ctx)->delete_op;
  mp_buf y = {0};
  kuma_render_mtls(!off, &y);
  mp_status st = mp_adapter_apply(ctx, y.data, NULL, false);
  if (st == MP_OK && off) {
    mp_buf_reset(&y);
    kuma_render_allow_all(&y);
    st = mp_adapter_apply(ctx, y.data, NULL, true);
  }
  mp_buf_free(&y);
  if (st == MP_OK)
    mp_adapter_infof(ctx, "mTLS %s on the default Mesh", off ? "disabled" : "enabled (builtin CA)");
  return st;
}

static const mp_adapter_op ops[] = {
    {"kuma", "Kuma Service Mesh", MP_OP_INSTALL, install, NULL},
    {"sidecar-injection", "Automatic Sidecar Injection", MP_OP_CONFIGURE, sidecar_injection, NULL},
    {"mtls-builtin", "Policy: mTLS on the default Mesh (builtin CA)", MP_OP_CONFIGURE, mtls, NULL},
    {"bookinfo", "Istio Book Info Application", MP_OP_SAMPLE_APPLICATION, mp_adapter_op_sample,
     &mp_adapter_sample_bookinfo},
    {"httpbin", "HTTPBin Application", MP_OP_SAMPLE_APPLICATION, mp_adapter_op_sample,
     &mp_adapter_sample_httpbin},
    {"imagehub", "Image Hub Application", MP_OP_SAMPLE_APPLICATION, mp_adapter_op_sample,
     &mp_adapter_sample_imagehub},
    {"emojivoto", "EmojiVoto Application", MP_OP_SAMPLE_APPLICATION, mp_adapter_op_sample,
     &mp_adapter_sample_emojivoto},
    {"custom", "Custom YAML", MP_OP_CUSTOM, mp_adapter_op_custom, NULL},
    {"analyze", "Analyze Running Configuration", MP_OP_VALIDATE, mp_adapter_op_analyze, NULL},
};

static const char *const versions[] = {"2.9.0", "2.8.0", "2.7.0", NULL};
static const char *const properties[] = {"helm_repo", CHART_REPO, NULL};

const mp_adapter mp_kuma_adapter = {
    MP_ADAPTER_V1,
    .name = "kuma",
    .mesh_name = "KUMA",
    .summary = "the Kuma adapter: install Kuma, inject namespaces, mTLS, sample apps",
    .versions = versions,
    .default_port = 10007,
    .ops = ops,
    .n_ops = MP_ARRAY_LEN(ops),
    .properties = properties,
};
