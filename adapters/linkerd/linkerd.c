/* The Linkerd adapter: Meshery's operation keys and port (10001). Linkerd and its
 * extensions are rendered by the linkerd CLI (which generates the identity certificates)
 * and applied with kubectl; namespaces join the mesh through the linkerd.io/inject
 * annotation. */
#include <string.h>

#include "meshplane/adapter.h"

/* Says exactly how to get the CLI of the requested version when it is missing. */
static mp_status need_cli(mp_adapter_ctx *ctx) {
  if (mp_adapter_have_tool(ctx, "linkerd")) return MP_OK;
  const char *v = mp_adapter_version(ctx);
  bool edge = !strncmp(v, "edge-", 5);
  char *remedy = mp_asprintf(
      "Install the linkerd CLI %s (curl --proto '=https' -sSfL https://run.linkerd.io/%s | "
      "LINKERD2_VERSION=%s sh) and put ~/.linkerd2/bin on the adapter's PATH.",
      v, edge ? "install-edge" : "install", v);
  mp_status st = mp_adapter_problem(
      ctx, MP_ERR_NOT_FOUND, MP_ADAPTER_ERR_TOOL_MISSING,
      "the linkerd CLI is not installed where the adapter runs", NULL,
      "The linkerd adapter renders Linkerd's manifests (and its identity certificates) with "
      "the linkerd CLI, and no executable named linkerd is on the adapter's PATH.",
      remedy);
  mp_free(remedy);
  return st;
}

static mp_status install(mp_adapter_ctx *ctx) {
  const mp_adapter_request *r = mp_adapter_req(ctx);
  const char *v = mp_adapter_version(ctx);
  mp_status st = need_cli(ctx);
  if (st != MP_OK) return st;
  if (r->delete_op) {
    static const char *const uninstall[] = {"linkerd", "uninstall", NULL};
    mp_adapter_infof(ctx, "Uninstalling Linkerd");
    st = mp_adapter_run_tool(ctx, uninstall, MP_TOOL_DELETE_OUTPUT, NULL);
  } else {
    static const char *const crds[] = {"linkerd", "install", "--crds", NULL};
    static const char *const control_plane[] = {"linkerd", "install", NULL};
    mp_adapter_infof(ctx, "Installing Linkerd %s: CRDs, then the control plane", v);
    st = mp_adapter_run_tool(ctx, crds, MP_TOOL_APPLY_OUTPUT, NULL);
    if (st == MP_OK) st = mp_adapter_run_tool(ctx, control_plane, MP_TOOL_APPLY_OUTPUT, NULL);
  }
  if (st == MP_OK)
    mp_adapter_infof(ctx, "Linkerd %s %s", v, r->delete_op ? "removed" : "installed");
  return st;
}

/* "viz" or "jaeger": linkerd <ext> install | kubectl apply, or uninstall | kubectl delete. */
static mp_status extension(mp_adapter_ctx *ctx) {
  const char *ext = mp_adapter_op_arg(ctx);
  bool del = mp_adapter_req(ctx)->delete_op;
  mp_status st = need_cli(ctx);
  if (st != MP_OK) return st;
  const char *argv[] = {"linkerd", ext, del ? "uninstall" : "install", NULL};
  st = mp_adapter_run_tool(ctx, argv, del ? MP_TOOL_DELETE_OUTPUT : MP_TOOL_APPLY_OUTPUT, NULL);
  if (st == MP_OK)
    mp_adapter_infof(ctx, "Linkerd %s extension %s", ext, del ? "removed" : "installed");
  return st;
}

static mp_status annotate_namespace(mp_adapter_ctx *ctx) {
  const mp_adapter_request *r = mp_adapter_req(ctx);
  mp_status st = mp_adapter_apply_namespace_switch(ctx, "linkerd.io/inject", true);
  if (st == MP_OK)
    mp_adapter_infof(ctx, "Proxy injection %s for namespace %s (annotation linkerd.io/inject)",
                     r->delete_op ? "disabled" : "enabled", r->ns);
  return st;
}

static const mp_adapter_op ops[] = {
    {"linkerd", "Linkerd Service Mesh", MP_OP_INSTALL, install, NULL},
    {"annotate-namespace", "Annotate Namespace", MP_OP_CONFIGURE, annotate_namespace, NULL},
    {"viz-addon", "Add-on: Linkerd Viz", MP_OP_CONFIGURE, extension, "viz"},
    {"jaeger-addon", "Add-on: Linkerd Jaeger", MP_OP_CONFIGURE, extension, "jaeger"},
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

static const char *const versions[] = {"edge-24.11.8", "stable-2.14.10", "stable-2.13.7", NULL};

const mp_adapter mp_linkerd_adapter = {
    MP_ADAPTER_V1,
    .name = "linkerd",
    .mesh_name = "LINKERD",
    .summary = "the Linkerd adapter: install Linkerd and its extensions, inject namespaces, "
               "sample apps",
    .versions = versions,
    .default_port = 10001,
    .ops = ops,
    .n_ops = MP_ARRAY_LEN(ops),
};
