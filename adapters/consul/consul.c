/* The Consul adapter: Meshery's port (10002). Consul service mesh on Kubernetes is the
 * consul-k8s Helm chart (its chart versions are this adapter's versions); workloads join
 * through the consul.hashicorp.com/connect-inject pod annotation, and access is governed
 * by ServiceIntentions, which this adapter renders. */
#include "consul.h"

#define CHART_REPO "https://helm.releases.hashicorp.com"

/* A single-server development install with the service mesh (connect injection) on, and
 * injection opt-in per pod, as the sample apps do. */
static const char *const install_set[] = {
    "global.name=consul",          "server.replicas=1", "connectInject.enabled=true",
    "connectInject.default=false", "ui.enabled=true",   NULL};

static mp_status install(mp_adapter_ctx *ctx) {
  const mp_adapter_request *r = mp_adapter_req(ctx);
  const char *v = mp_adapter_version(ctx);
  const mp_adapter_chart chart = {CHART_REPO, "consul", "consul", v, CONSUL_NS, install_set};
  if (!mp_adapter_have_tool(ctx, "helm")) {
    char *remedy = mp_asprintf("Install Helm 3 (https://helm.sh/docs/intro/install/) and put it "
                               "on the adapter's PATH; the adapter then installs chart consul "
                               "%s from %s.",
                               v, CHART_REPO);
    mp_status st = mp_adapter_problem(
        ctx, MP_ERR_NOT_FOUND, MP_ADAPTER_ERR_TOOL_MISSING,
        "helm is not installed where the adapter runs", NULL,
        "The consul adapter installs Consul from HashiCorp's consul-k8s Helm chart with helm, "
        "and no executable named helm is on the adapter's PATH.",
        remedy);
    mp_free(remedy);
    return st;
  }
  mp_adapter_infof(ctx, "%s Consul (chart consul %s) in namespace %s",
                   r->delete_op ? "Uninstalling" : "Installing", v, CONSUL_NS);
  mp_status st = mp_adapter_helm(ctx, &chart, r->delete_op);
  if (st == MP_OK)
    mp_adapter_infof(ctx, "Consul (chart %s) %s", v, r->delete_op ? "uninstalled" : "installed");
  return st;
}

void consul_render_intentions(const char *action, mp_buf *out) {
  static const char tmpl[] = "apiVersion: consul.hashicorp.com/v1alpha1\n"
                             "kind: ServiceIntentions\n"
                             "metadata:\n"
                             "  name: all-services\n"
                             "  namespace: " CONSUL_NS "\n"
                             "  labels:\n"
                             "    app.kubernetes.io/managed-by: meshplane\n"
                             "spec:\n"
                             "  destination:\n"
                             "    name: \"*\"\n"
                             "  sources:\n"
                             "  - name: \"*\"\n"
                             "    action: {{action}}\n";
  const char *vars[] = {"action", action, NULL};
  mp_adapter_render(out, tmpl, vars);
}

/* "deny" or "allow" between every pair of services: one wildcard ServiceIntentions, which
 * Consul allows once per destination, so the two operations update the same resource. */
static mp_status intentions(mp_adapter_ctx *ctx) {
  const char *action = mp_adapter_op_arg(ctx);
  bool del = mp_adapter_req(ctx)->delete_op;
  mp_buf y = {0};
  consul_render_intentions(action, &y);
  mp_status st = mp_adapter_apply(ctx, y.data, NULL, del);
  mp_buf_free(&y);
  if (st == MP_OK)
    mp_adapter_infof(ctx, "Intentions: %s all %s", action, del ? "removed" : "applied");
  return st;
}

static const char *const inject[] = {"consul.hashicorp.com/connect-inject", "true", NULL};
const mp_adapter_sample consul_bookinfo = {"bookinfo", inject, NULL};
const mp_adapter_sample consul_httpbin = {"httpbin", inject, NULL};
const mp_adapter_sample consul_imagehub = {"imagehub", inject, NULL};

static const mp_adapter_op ops[] = {
    {"consul", "Consul Service Mesh (consul-k8s Helm chart)", MP_OP_INSTALL, install, NULL},
    {"deny-all-intentions", "Policy: Deny all (ServiceIntentions)", MP_OP_CONFIGURE, intentions,
     "deny"},
    {"allow-all-intentions", "Policy: Allow all (ServiceIntentions)", MP_OP_CONFIGURE, intentions,
     "allow"},
    {"bookinfo", "Istio Book Info Application", MP_OP_SAMPLE_APPLICATION, mp_adapter_op_sample,
     &consul_bookinfo},
    {"httpbin", "HTTPbin Application", MP_OP_SAMPLE_APPLICATION, mp_adapter_op_sample,
     &consul_httpbin},
    {"imagehub", "Image Hub Application", MP_OP_SAMPLE_APPLICATION, mp_adapter_op_sample,
     &consul_imagehub},
    {"custom", "Custom YAML", MP_OP_CUSTOM, mp_adapter_op_custom, NULL},
    {"analyze", "Analyze Running Configuration", MP_OP_VALIDATE, mp_adapter_op_analyze, NULL},
};

static const char *const versions[] = {"1.6.0", "1.5.0", "1.4.0", NULL};
static const char *const properties[] = {"helm_repo", CHART_REPO, "versions_are",
                                         "consul-k8s Helm chart versions", NULL};

const mp_adapter mp_consul_adapter = {
    MP_ADAPTER_V1,
    .name = "consul",
    .mesh_name = "CONSUL",
    .summary = "the Consul adapter: install Consul service mesh, intentions, sample apps",
    .versions = versions,
    .default_port = 10002,
    .ops = ops,
    .n_ops = MP_ARRAY_LEN(ops),
    .properties = properties,
};
