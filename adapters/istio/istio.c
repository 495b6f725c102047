/* The Istio adapter: Meshery's operation keys and port (10000). Istio itself is installed
 * from its Helm charts at exactly the requested version when helm is on PATH, else with
 * istioctl; everything else is YAML this adapter renders and applies. */
#include <string.h>

#include "istio.h"

#define CHART_REPO "https://istio-release.storage.googleapis.com/charts"

/* ---- install ------------------------------------------------------------------------------ */

static const char *const base_set[] = {"defaultRevision=default", NULL};
static const char *const gateway_set[] = {"labels.istio=ingressgateway", NULL};

static mp_status install_helm(mp_adapter_ctx *ctx, const char *version, bool del) {
  const mp_adapter_chart charts[] = {
      {CHART_REPO, "base", "istio-base", version, ISTIO_NS, base_set},
      {CHART_REPO, "istiod", "istiod", version, ISTIO_NS, NULL},
      /* The default ingress gateway (istio: ingressgateway) that sample Gateways select. */
      {CHART_REPO, "gateway", "istio-ingressgateway", version, ISTIO_NS, gateway_set},
  };
  size_t n = MP_ARRAY_LEN(charts);
  for (size_t k = 0; k < n; k++) {
    const mp_adapter_chart *c = &charts[del ? n - 1 - k : k];
    mp_status st = mp_adapter_helm(ctx, c, del);
    if (st != MP_OK) return st;
    mp_adapter_infof(ctx, "Helm release %s (chart %s %s) %s", c->release, c->chart, version,
                     del ? "uninstalled" : "installed");
  }
  return MP_OK;
}

static mp_status install(mp_adapter_ctx *ctx) {
  const mp_adapter_request *r = mp_adapter_req(ctx);
  const char *version = mp_adapter_version(ctx);
  bool del = r->delete_op;
  mp_status st;
  if (mp_adapter_have_tool(ctx, "helm")) {
    mp_adapter_infof(ctx, "%s Istio %s with Helm (charts from %s)",
                     del ? "Uninstalling" : "Installing", version, CHART_REPO);
    st = install_helm(ctx, version, del);
  } else if (mp_adapter_have_tool(ctx, "istioctl")) {
    mp_adapter_warnf(ctx,
                     "helm is not on PATH: %s Istio with the istioctl on PATH, which installs "
                     "its own version (requested %s)",
                     del ? "uninstalling" : "installing", version);
    static const char *const inst[] = {
        "istioctl", "install", "--set", "profile=default", "--skip-confirmation", NULL};
    static const char *const uninst[] = {"istioctl", "uninstall", "--purge", "--skip-confirmation",
                                         NULL};
    st = mp_adapter_run_tool(ctx, del ? uninst : inst, MP_TOOL_RUN, NULL);
  } else {
    char *cause = mp_strdup("The istio adapter installs Istio from its Helm charts (helm) or "
                            "with istioctl, and neither is on the adapter's PATH.");
    char *remedy = mp_asprintf(
        "Install Helm 3 (https://helm.sh/docs/intro/install/) and the adapter installs exactly "
        "Istio %s from %s; or install istioctl %s (curl -L https://istio.io/downloadIstio | "
        "ISTIO_VERSION=%s sh -) and put istio-%s/bin on the adapter's PATH.",
        version, CHART_REPO, version, version, version);
    st = mp_adapter_problem(ctx, MP_ERR_NOT_FOUND, MP_ADAPTER_ERR_TOOL_MISSING,
                            "neither helm nor istioctl is installed where the adapter runs", NULL,
                            cause, remedy);
    mp_free(cause);
    mp_free(remedy);
  }
  if (st == MP_OK) mp_adapter_infof(ctx, "Istio %s %s", version, del ? "uninstalled" : "installed");
  return st;
}

/* ---- configuration ------------------------------------------------------------------------ */

static mp_status label_namespace(mp_adapter_ctx *ctx) {
  const mp_adapter_request *r = mp_adapter_req(ctx);
  /* "disabled" rather than removing the label: explicit, and Istio honours it. */
  mp_status st = mp_adapter_apply_namespace_switch(ctx, "istio-injection", false);
  if (st == MP_OK)
    mp_adapter_infof(ctx, "Automatic sidecar injection %s for namespace %s",
                     r->delete_op ? "disabled" : "enabled", r->ns);
  return st;
}

static mp_status addon(mp_adapter_ctx *ctx) {
  const char *name = mp_adapter_op_arg(ctx);
  bool del = mp_adapter_req(ctx)->delete_op;
  mp_buf y = {0};
  mp_status st = istio_render_addon(name, &y);
  if (st == MP_OK) st = mp_adapter_apply(ctx, y.data, NULL, del);
  mp_buf_free(&y);
  if (st == MP_OK)
    mp_adapter_infof(ctx, "Istio addon %s %s in namespace %s", name, del ? "removed" : "deployed",
                     ISTIO_NS);
  return st;
}

static const istio_mtls mtls_modes[] = {ISTIO_MTLS_STRICT, ISTIO_MTLS_PERMISSIVE,
                                        ISTIO_MTLS_DISABLE};

static mp_status mtls(mp_adapter_ctx *ctx) {
  istio_mtls mode = *(const istio_mtls *)mp_adapter_op_arg(ctx);
  const mp_adapter_request *r = mp_adapter_req(ctx);
  static const char *const names[] = {"strict", "permissive", "disabled"};
  mp_buf y = {0};
  istio_render_mtls(mode, r->ns, &y);
  mp_status st = mp_adapter_apply(ctx, y.data, NULL, r->delete_op);
  mp_buf_free(&y);
  if (st == MP_OK && !r->delete_op && mode != ISTIO_MTLS_DISABLE) {
    /* Leaving disable's client-side rule would make clients send plain text to servers that
     * now require mTLS. */
    istio_render_mtls_disable_rule(r->ns, &y);
    st = mp_adapter_apply(ctx, y.data, NULL, true);
    mp_buf_free(&y);
  }
  if (st == MP_OK)
    mp_adapter_infof(ctx, "mTLS %s %s namespace %s", names[mode],
                     r->delete_op ? "policy removed from" : "for", r->ns);
  return st;
}

static mp_status deny_all(mp_adapter_ctx *ctx) {
  const mp_adapter_request *r = mp_adapter_req(ctx);
  mp_buf y = {0};
  istio_render_deny_all(r->ns, &y);
  mp_status st = mp_adapter_apply(ctx, y.data, NULL, r->delete_op);
  mp_buf_free(&y);
  if (st == MP_OK)
    mp_adapter_infof(ctx, "Deny-all authorization policy %s namespace %s",
                     r->delete_op ? "removed from" : "applied to", r->ns);
  return st;
}

/* ---- the table ---------------------------------------------------------------------------- */

static const mp_adapter_sample bookinfo = {"bookinfo", NULL, istio_bookinfo_gateway};
static const mp_adapter_sample httpbin = {"httpbin", NULL, istio_httpbin_gateway};
static const mp_adapter_sample imagehub = {"imagehub", NULL, istio_imagehub_gateway};
static const mp_adapter_sample emojivoto = {"emojivoto", NULL, istio_emojivoto_gateway};

static const mp_adapter_op ops[] = {
    {"istio", "Istio Service Mesh", MP_OP_INSTALL, install, NULL},
    {"label-namespace", "Automatic Sidecar Injection", MP_OP_CONFIGURE, label_namespace, NULL},
    {"prometheus-addon", "Add-on: Prometheus", MP_OP_CONFIGURE, addon, "prometheus"},
    {"grafana-addon", "Add-on: Grafana", MP_OP_CONFIGURE, addon, "grafana"},
    {"kiali-addon", "Add-on: Kiali", MP_OP_CONFIGURE, addon, "kiali"},
    {"jaeger-addon", "Add-on: Jaeger", MP_OP_CONFIGURE, addon, "jaeger"},
    {"zipkin-addon", "Add-on: Zipkin", MP_OP_CONFIGURE, addon, "zipkin"},
    {"deny-all-policy-operation", "Policy: Deny-All", MP_OP_CONFIGURE, deny_all, NULL},
    {"strict-mtls-policy-operation", "Policy: Strict MTLS", MP_OP_CONFIGURE, mtls, &mtls_modes[0]},
    {"mutual-mtls-policy-operation", "Policy: Mutual (permissive) MTLS", MP_OP_CONFIGURE, mtls,
     &mtls_modes[1]},
    {"disable-mtls-policy-operation", "Policy: Disable MTLS", MP_OP_CONFIGURE, mtls,
     &mtls_modes[2]},
    {"bookinfo", "Istio Book Info Application", MP_OP_SAMPLE_APPLICATION, mp_adapter_op_sample,
     &bookinfo},
    {"httpbin", "HTTPBin Application", MP_OP_SAMPLE_APPLICATION, mp_adapter_op_sample, &httpbin},
    {"imagehub", "Image Hub Application", MP_OP_SAMPLE_APPLICATION, mp_adapter_op_sample,
     &imagehub},
    {"emojivoto", "EmojiVoto Application", MP_OP_SAMPLE_APPLICATION, mp_adapter_op_sample,
     &emojivoto},
    {"custom", "Custom YAML", MP_OP_CUSTOM, mp_adapter_op_custom, NULL},
    {"istio-vet", "Analyze Running Configuration", MP_OP_VALIDATE, mp_adapter_op_analyze, NULL},
    {"smi_conformance", "SMI Conformance", MP_OP_VALIDATE, mp_adapter_op_smi_conformance, NULL},
};

static const char *const versions[] = {"1.24.2", "1.23.4", "1.22.6", NULL};
static const char *const properties[] = {"helm_repo", CHART_REPO, NULL};

const mp_adapter mp_istio_adapter = {
    MP_ADAPTER_V1,
    .name = "istio",
    .mesh_name = "ISTIO",
    .summary = "the Istio adapter: install Istio, addons, policies and sample apps",
    .versions = versions,
    .default_port = 10000,
    .ops = ops,
    .n_ops = MP_ARRAY_LEN(ops),
    .properties = properties,
};
