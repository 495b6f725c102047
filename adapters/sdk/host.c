/* The host platform's table (mp_adapter_platform_host) and the ready-made handlers of host
 * meshes. One mesh instance per adapter process, made by attach: it finds the proxy and
 * the sample app, and resumes a mesh its state directory describes. Operations run one at
 * a time on the instance (its mutex), so an operation sees the mesh it changes.
 *
 * Environment: MESHPLANE_HOST_STATE_DIR (default /var/lib/meshplane/<adapter> for root,
 * else $XDG_STATE_HOME or ~/.local/state /meshplane/<adapter>), MESHPLANE_HOST_PORTS
 * ("20000-29999": where sidecar and sample app ports are taken), MESHPLANE_HOST_SAMPLEAPP
 * (the meshplane-sampleapp binary; default: next to the adapter, else on PATH). */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "host.h"

static char *find_program(const char *name) {
  char *p = mp__which(name);
  for (const char *dir = "/usr/sbin\0/sbin\0/usr/local/sbin\0"; !p && *dir;
       dir += strlen(dir) + 1) {
    char *cand = mp_asprintf("%s/%s", dir, name);
    if (access(cand, X_OK) == 0)
      p = cand;
    else
      mp_free(cand);
  }
  return p;
}

static char *find_sampleapp(void) {
  const char *env = getenv("MESHPLANE_HOST_SAMPLEAPP");
  if (env && *env) return access(env, X_OK) == 0 ? mp_strdup(env) : NULL;
  char exe[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n > 0) {
    exe[n] = '\0';
    char *slash = strrchr(exe, '/');
    if (slash) {
      *slash = '\0';
      const char *rel[] = {"", "/../bin", "/../../bin"}; /* build/bin, build/tests/<x> */
      for (size_t i = 0; i < MP_ARRAY_LEN(rel); i++) {
        char *cand = mp_asprintf("%s%s/meshplane-sampleapp", exe, rel[i]);
        if (access(cand, X_OK) == 0) return cand;
        mp_free(cand);
      }
    }
  }
  return mp__which("meshplane-sampleapp");
}

static char *state_dir(const char *adapter) {
  const char *env = getenv("MESHPLANE_HOST_STATE_DIR");
  if (env && *env) return mp_strdup(env);
  if (geteuid() == 0) return mp_asprintf("/var/lib/meshplane/%s", adapter);
  const char *xdg = getenv("XDG_STATE_HOME"), *home = getenv("HOME");
  if (xdg && *xdg) return mp_asprintf("%s/meshplane/%s", xdg, adapter);
  if (home && *home) return mp_asprintf("%s/.local/state/meshplane/%s", home, adapter);
  return mp_asprintf("/tmp/meshplane-%ld/%s", (long)geteuid(), adapter);
}

static mp_status hattach(const mp_adapter *ad, mp_adapter_stream *stream, void **global) {
  const mp_adapter_host_proxy *px = ad->platform_arg;
  if (!px || px->abi_version != MP_ADAPTER_ABI_VERSION || px->struct_size != sizeof *px ||
      !px->render || !px->argv || !px->program)
    return mp_error_set(MP_ERR_INVALID,
                        "adapter %s uses the host platform without a valid proxy table in "
                        "platform_arg (an mp_adapter_host_proxy)",
                        ad->name);
  mp__host *h = mp_calloc(1, sizeof *h);
  h->ad = ad;
  h->proxy = px;
  h->stream = stream;
  pthread_mutex_init(&h->mu, NULL);
  h->dir = state_dir(ad->name);
  h->program = find_program(px->program);
  h->sampleapp = find_sampleapp();
  h->port_lo = 20000;
  h->port_hi = 29999;
  const char *ports = getenv("MESHPLANE_HOST_PORTS");
  int lo, hi;
  if (ports && sscanf(ports, "%d-%d", &lo, &hi) == 2 && lo >= 1024 && hi <= 65535 && lo + 8 <= hi) {
    h->port_lo = lo;
    h->port_hi = hi;
  }
  mp_info("host platform", "proxy=%s program=%s sampleapp=%s state_dir=%s ports=%d-%d", px->name,
          h->program ? h->program : "(missing)", h->sampleapp ? h->sampleapp : "(missing)", h->dir,
          h->port_lo, h->port_hi);
  pthread_mutex_lock(&h->mu);
  if (mp__host_resume(h) != MP_OK)
    mp_adapter_stream_emit(stream, MP_EVENT_ERROR, "cannot resume the host mesh", mp_error_last(),
                           "The state directory is damaged or not readable.",
                           "Uninstall the mesh (the install operation with delete_op) and "
                           "install it again.",
                           MP_ADAPTER_ERR_INTERNAL);
  pthread_mutex_unlock(&h->mu);
  *global = h;
  return MP_OK;
}

static void hdetach(void *global) {
  mp__host *h = global;
  if (!h) return;
  /* The mesh lives with its adapter: its processes stop, its state stays (resumed by the
   * next adapter on the same state directory). */
  mp__hsup_free(h->sup, 3000);
  mp__hca_free(h->ca);
  mp__hstore_free(&h->store);
  for (size_t i = 0; i < h->n_sides; i++) {
    mp_free(h->sides[i].key);
    mp_free(h->sides[i].conf);
  }
  mp_free(h->sides);
  mp_free(h->dir);
  mp_free(h->program);
  mp_free(h->sampleapp);
  mp_free(h->trust_domain);
  mp_free(h->version);
  pthread_mutex_destroy(&h->mu);
  mp_free(h);
}

static mp_status hbegin(mp_adapter_ctx *ctx, void **state) {
  *state = mp_adapter_platform_global(ctx);
  if (*state) return MP_OK;
  return mp_adapter_failf(ctx, MP_ERR_INTERNAL, MP_ADAPTER_ERR_INTERNAL,
                          "The host platform was not attached to this runtime.",
                          "Create the runtime with the host platform in the adapter's table.",
                          "no host mesh instance");
}

static bool hhave(mp_adapter_ctx *ctx, void *state, const char *tool) {
  mp__host *h = state;
  if (!strcmp(tool, h->proxy->program)) return h->program != NULL;
  if (!strcmp(tool, "meshplane-sampleapp")) return h->sampleapp != NULL;
  char *p = find_program(tool);
  bool ok = p != NULL;
  mp_free(p);
  return ok;
}

static mp_status happly(mp_adapter_ctx *ctx, void *state, const char *yaml, const char *ns,
                        bool del) {
  mp__host *h = state;
  pthread_mutex_lock(&h->mu);
  mp_status st = mp__host_apply(h, ctx, yaml, ns, del);
  pthread_mutex_unlock(&h->mu);
  return st;
}

static mp_status hsnapshot(mp_adapter_ctx *ctx, void *state, const char *ns, mp_buf *out) {
  mp__host *h = state;
  pthread_mutex_lock(&h->mu);
  bool installed = h->installed;
  if (installed) mp__host_snapshot(h, ns, out);
  pthread_mutex_unlock(&h->mu);
  if (!installed)
    return mp_adapter_failf(ctx, MP_ERR_INVALID, MP_ADAPTER_ERR_INVALID,
                            "There is no host mesh whose configuration could be read.",
                            "Run the install operation first, or send the YAML to analyze.",
                            "no %s host mesh is installed", h->proxy->name);
  return MP_OK;
}

static mp_status hconformance(mp_adapter_ctx *ctx, void *state) {
  mp__host *h = state;
  pthread_mutex_lock(&h->mu);
  mp_status st = mp__host_conformance(h, ctx);
  pthread_mutex_unlock(&h->mu);
  return st;
}

const mp_adapter_platform mp_adapter_platform_host = {
    .abi_version = MP_ADAPTER_ABI_VERSION,
    .struct_size = sizeof(mp_adapter_platform),
    .name = "host",
    .begin = hbegin,
    .have_tool = hhave,
    .apply = happly,
    .snapshot = hsnapshot,
    .smi_conformance = hconformance,
    .attach = hattach,
    .detach = hdetach,
};

/* ---- ready-made handlers ------------------------------------------------------------------ */

static mp_status apply_mesh(mp_adapter_ctx *ctx, const char *spec, bool del) {
  char *y = mp_asprintf("apiVersion: " MP__HOST_API "\nkind: Mesh\nmetadata:\n  name: %s\n"
                        "spec: %s\n",
                        mp_adapter_of(ctx)->name, spec);
  mp_status st = mp_adapter_apply(ctx, y, NULL, del);
  mp_free(y);
  return st;
}

mp_status mp_adapter_host_op_install(mp_adapter_ctx *ctx) {
  const mp_adapter_request *r = mp_adapter_req(ctx);
  mp_adapter_infof(ctx, "%s %s host mesh %s", r->delete_op ? "Uninstalling" : "Installing",
                   mp_adapter_of(ctx)->name, mp_adapter_version(ctx));
  return apply_mesh(ctx, "{}", r->delete_op);
}

/* Settings change only an installed mesh (applying a Mesh would install one). */
static mp_status need_installed(mp_adapter_ctx *ctx) {
  mp__host *h = mp_adapter_platform_global(ctx);
  if (!h || mp_adapter_of(ctx)->platform != &mp_adapter_platform_host) return MP_OK;
  pthread_mutex_lock(&h->mu);
  bool ok = h->installed;
  pthread_mutex_unlock(&h->mu);
  if (ok) return MP_OK;
  return mp_adapter_failf(
      ctx, MP_ERR_INVALID, MP_ADAPTER_ERR_INVALID, "Mesh settings belong to an installed mesh.",
      "Run the install operation first.", "no %s host mesh is installed", h->proxy->name);
}

mp_status mp_adapter_host_op_mtls(mp_adapter_ctx *ctx) {
  mp_status st = need_installed(ctx);
  if (st != MP_OK) return st;
  return apply_mesh(ctx, mp_adapter_req(ctx)->delete_op ? "{mtls: false}" : "{mtls: true}", false);
}

mp_status mp_adapter_host_op_access_control(mp_adapter_ctx *ctx) {
  mp_status st = need_installed(ctx);
  if (st != MP_OK) return st;
  return apply_mesh(
      ctx, mp_adapter_req(ctx)->delete_op ? "{accessControl: false}" : "{accessControl: true}",
      false);
}

/* The sample app: three services, each a ServiceAccount, a Service and a Deployment of
 * meshplane-sampleapp. The same YAML works on Kubernetes (an image of that name). */
static const char sample_tmpl[] =
    "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: {{name}}\n---\n"
    "apiVersion: v1\nkind: Service\nmetadata:\n  name: {{name}}\n  labels:\n    app: {{name}}\n"
    "spec:\n  selector:\n    app: {{name}}\n  ports:\n  - name: http\n    port: 8080\n"
    "    targetPort: 8080\n---\n"
    "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{name}}\n  labels:\n"
    "    app: {{name}}\nspec:\n  replicas: 1\n  selector:\n    matchLabels:\n      app: {{name}}\n"
    "      version: v1\n  template:\n    metadata:\n      labels:\n        app: {{name}}\n"
    "        version: v1\n{{extra_labels}}    spec:\n      serviceAccountName: {{name}}\n"
    "      containers:\n      - name: app\n        image: " MP__HOST_SAMPLE_IMAGE
    ":" MESHPLANE_VERSION "\n        ports:\n        - containerPort: 8080\n"
    "        resources:\n          requests: {cpu: 50m, memory: 16Mi}\n"
    "          limits: {cpu: 500m, memory: 64Mi}\n";

void mp__host_sample_yaml(mp_buf *out, const char *name, const char *extra_label) {
  char *extra = extra_label ? mp_asprintf("        %s\n", extra_label) : mp_strdup("");
  const char *vars[] = {"name", name, "extra_labels", extra, NULL};
  if (out->len) mp_buf_puts(out, "---\n");
  mp_adapter_render(out, sample_tmpl, vars);
  mp_free(extra);
}

mp_status mp_adapter_host_op_sampleapp(mp_adapter_ctx *ctx) {
  const mp_adapter_request *r = mp_adapter_req(ctx);
  mp_buf y = {0};
  const char *names[] = {"app-a", "app-b", "app-c"};
  for (size_t i = 0; i < MP_ARRAY_LEN(names); i++) mp__host_sample_yaml(&y, names[i], NULL);
  mp_adapter_infof(ctx, "%s the meshplane sample app (app-a, app-b, app-c) %s namespace %s",
                   r->delete_op ? "Removing" : "Deploying", r->delete_op ? "from" : "into", r->ns);
  mp_status st = mp_adapter_apply(ctx, y.data, r->ns, r->delete_op);
  mp_buf_free(&y);
  if (st == MP_OK)
    mp_adapter_infof(ctx, "sample app %s namespace %s",
                     r->delete_op ? "removed from" : "deployed in", r->ns);
  return st;
}
