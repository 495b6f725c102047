/* The example adapter: the smallest complete meshplane adapter, to copy when adding a
 * mesh. It "installs" a pretend control plane (a ConfigMap and a Deployment), labels a
 * namespace for injection, deploys httpbin, applies custom YAML and analyzes
 * configuration. Run it: build/bin/meshplane-adapter-example --listen 127.0.0.1:10099 */
#include "meshplane/adapter.h"

#define CONTROL_NS "example-system"

/* The control plane's manifest. {{version}} and {{ns}} are filled by mp_adapter_render. */
static const char control_plane[] = "apiVersion: v1\n"
                                    "kind: ConfigMap\n"
                                    "metadata:\n"
                                    "  name: example-mesh\n"
                                    "  namespace: {{ns}}\n"
                                    "  labels:\n"
                                    "    app: example-mesh\n"
                                    "data:\n"
                                    "  version: \"{{version}}\"\n"
                                    "---\n"
                                    "apiVersion: apps/v1\n"
                                    "kind: Deployment\n"
                                    "metadata:\n"
                                    "  name: example-mesh-controller\n"
                                    "  namespace: {{ns}}\n"
                                    "  labels:\n"
                                    "    app: example-mesh\n"
                                    "spec:\n"
                                    "  replicas: 1\n"
                                    "  selector:\n"
                                    "    matchLabels:\n"
                                    "      app: example-mesh\n"
                                    "  template:\n"
                                    "    metadata:\n"
                                    "      labels:\n"
                                    "        app: example-mesh\n"
                                    "    spec:\n"
                                    "      containers:\n"
                                    "      - name: controller\n"
                                    "        image: docker.io/library/busybox:1.36\n"
                                    "        command: [\"sleep\", \"infinity\"]\n";

/* Install (or, with delete_op, uninstall) the requested version. */
static mp_status install(mp_adapter_ctx *ctx) {
  const mp_adapter_request *r = mp_adapter_req(ctx);
  const char *vars[] = {"ns", CONTROL_NS, "version", mp_adapter_version(ctx), NULL};
  mp_buf y = {0};
  if (!r->delete_op) { /* the namespace stays on uninstall: other things may live in it */
    mp_adapter_render_namespace(&y, CONTROL_NS, NULL, NULL);
    mp_buf_puts(&y, "---\n");
  }
  mp_adapter_render(&y, control_plane, vars);
  mp_adapter_infof(ctx, "%s example mesh %s", r->delete_op ? "Removing" : "Installing",
                   mp_adapter_version(ctx));
  /* Any failure (no kubectl, no cluster) is recorded by the SDK as the final ERROR event. */
  mp_status st = mp_adapter_apply(ctx, y.data, NULL, r->delete_op);
  mp_buf_free(&y);
  if (st != MP_OK) return st;
  mp_adapter_infof(ctx, "Example mesh %s %s", mp_adapter_version(ctx),
                   r->delete_op ? "removed" : "installed");
  return MP_OK;
}

/* Label the request's namespace so the pretend mesh injects its sidecar there. */
static mp_status label_namespace(mp_adapter_ctx *ctx) {
  const mp_adapter_request *r = mp_adapter_req(ctx);
  mp_status st = mp_adapter_apply_namespace_switch(ctx, "example.meshplane.io/inject", false);
  if (st == MP_OK)
    mp_adapter_infof(ctx, "Sidecar injection %s for namespace %s",
                     r->delete_op ? "disabled" : "enabled", r->ns);
  return st;
}

static const mp_adapter_op ops[] = {
    {"example", "Example mesh (install by version)", MP_OP_INSTALL, install, NULL},
    {"label-namespace", "Automatic sidecar injection", MP_OP_CONFIGURE, label_namespace, NULL},
    {"httpbin", "HTTPBin application", MP_OP_SAMPLE_APPLICATION, mp_adapter_op_sample,
     &mp_adapter_sample_httpbin},
    {"custom", "Custom YAML", MP_OP_CUSTOM, mp_adapter_op_custom, NULL},
    {"analyze", "Analyze running configuration", MP_OP_VALIDATE, mp_adapter_op_analyze, NULL},
};

static const char *const versions[] = {"1.1.0", "1.0.0", NULL};

const mp_adapter mp_example_adapter = {
    MP_ADAPTER_V1,
    .name = "example",
    .mesh_name = "EXAMPLE",
    .summary = "the example adapter: copy it to add a mesh",
    .versions = versions,
    .default_port = 10099,
    .ops = ops,
    .n_ops = MP_ARRAY_LEN(ops),
};
