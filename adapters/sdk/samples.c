/* Sample applications rendered from compact tables: Istio's Bookinfo and httpbin,
 * Layer5's Image Hub, Buoyant's emojivoto. Names, labels, images and ports follow the
 * upstream manifests; resources carry no namespace (they are applied into the request's). */
#include <string.h>

#include "internal.h"

enum { VOL_TMP = 1, VOL_WLP = 2 };

typedef struct port {
  const char *name;
  int port, target;
} port;

typedef struct svc {
  const char *name, *app; /* selector app= */
  port ports[3];
  bool plain; /* no app/service labels (emojivoto) */
} svc;

typedef struct acct {
  const char *name, *account; /* account: NULL for no labels */
} acct;

typedef struct dep {
  const char *name, *app, *version, *sa, *container, *image, *cpu, *command;
  port ports[3];        /* name (may be NULL), containerPort */
  const char *env[10];  /* name, value ("{{ns}}" replaced) */
  unsigned vols;        /* VOL_* */
  const char *annos[8]; /* pod annotations */
  const char *part_of;  /* adds app.kubernetes.io labels on the Deployment */
} dep;

typedef struct app {
  const char *name;
  acct accts[4];
  svc svcs[4];
  dep deps[6];
} app;

#define BOOKINFO_IMG(x) "docker.io/istio/examples-bookinfo-" x ":1.20.2"
#define EMOJI_IMG(x) "docker.l5d.io/buoyantio/emojivoto-" x ":v11"
#define REVIEWS(v, img)                                                                            \
  {                                                                                                \
    .name = "reviews-" v, .app = "reviews", .version = v, .sa = "bookinfo-reviews",                \
    .container = "reviews", .image = img, .ports = {{NULL, 9080, 0}},                              \
    .env = {"LOG_DIR", "/tmp/logs"}, .vols = VOL_TMP | VOL_WLP                                     \
  }

static const app apps[] = {
    {.name = "bookinfo",
     .accts = {{"bookinfo-details", "details"},
               {"bookinfo-ratings", "ratings"},
               {"bookinfo-reviews", "reviews"},
               {"bookinfo-productpage", "productpage"}},
     .svcs = {{"details", "details", {{"http", 9080, 0}}, false},
              {"ratings", "ratings", {{"http", 9080, 0}}, false},
              {"reviews", "reviews", {{"http", 9080, 0}}, false},
              {"productpage", "productpage", {{"http", 9080, 0}}, false}},
     .deps = {{.name = "details-v1",
               .app = "details",
               .version = "v1",
               .sa = "bookinfo-details",
               .container = "details",
               .image = BOOKINFO_IMG("details-v1"),
               .ports = {{NULL, 9080, 0}}},
              {.name = "ratings-v1",
               .app = "ratings",
               .version = "v1",
               .sa = "bookinfo-ratings",
               .container = "ratings",
               .image = BOOKINFO_IMG("ratings-v1"),
               .ports = {{NULL, 9080, 0}}},
              REVIEWS("v1", BOOKINFO_IMG("reviews-v1")),
              REVIEWS("v2", BOOKINFO_IMG("reviews-v2")),
              REVIEWS("v3", BOOKINFO_IMG("reviews-v3")),
              {.name = "productpage-v1",
               .app = "productpage",
               .version = "v1",
               .sa = "bookinfo-productpage",
               .container = "productpage",
               .image = BOOKINFO_IMG("productpage-v1"),
               .ports = {{NULL, 9080, 0}},
               .vols = VOL_TMP,
               .annos = {"prometheus.io/scrape", "true", "prometheus.io/port", "9080",
                         "prometheus.io/path", "/metrics"}}}},
    {.name = "httpbin",
     .accts = {{"httpbin", NULL}},
     .svcs = {{"httpbin", "httpbin", {{"http", 8000, 8080}}, false}},
     .deps = {{.name = "httpbin",
               .app = "httpbin",
               .version = "v1",
               .sa = "httpbin",
               .container = "httpbin",
               .image = "docker.io/mccutchen/go-httpbin:v2.15.0",
               .ports = {{NULL, 8080, 0}}}}},
    {.name = "imagehub",
     .accts = {{"imagehub-api", "api"}, {"imagehub-web", "web"}},
     .svcs = {{"api", "api", {{"http", 9091, 0}}, false},
              {"web", "web", {{"http", 8080, 0}}, false}},
     .deps = {{.name = "api-v1",
               .app = "api",
               .version = "v1",
               .sa = "imagehub-api",
               .container = "api",
               .image = "docker.io/layer5/image-hub-api:latest",
               .ports = {{NULL, 9091, 0}}},
              {.name = "web-v1",
               .app = "web",
               .version = "v1",
               .sa = "imagehub-web",
               .container = "web",
               .image = "docker.io/layer5/image-hub-web:latest",
               .ports = {{NULL, 8080, 0}}}}},
    {.name = "emojivoto",
     .accts = {{"emoji", NULL}, {"voting", NULL}, {"web", NULL}},
     .svcs = {{"emoji-svc", "emoji-svc", {{"grpc", 8080, 8080}, {"prom", 8801, 8801}}, true},
              {"voting-svc", "voting-svc", {{"grpc", 8080, 8080}, {"prom", 8801, 8801}}, true},
              {"web-svc", "web-svc", {{"http", 80, 8080}}, true}},
     .deps = {{.name = "emoji",
               .app = "emoji-svc",
               .version = "v11",
               .sa = "emoji",
               .container = "emoji-svc",
               .image = EMOJI_IMG("emoji-svc"),
               .cpu = "100m",
               .ports = {{"grpc", 8080, 0}, {"prom", 8801, 0}},
               .env = {"GRPC_PORT", "8080", "PROM_PORT", "8801"},
               .part_of = "emojivoto"},
              {.name = "voting",
               .app = "voting-svc",
               .version = "v11",
               .sa = "voting",
               .container = "voting-svc",
               .image = EMOJI_IMG("voting-svc"),
               .cpu = "100m",
               .ports = {{"grpc", 8080, 0}, {"prom", 8801, 0}},
               .env = {"GRPC_PORT", "8080", "PROM_PORT", "8801"},
               .part_of = "emojivoto"},
              {.name = "web",
               .app = "web-svc",
               .version = "v11",
               .sa = "web",
               .container = "web-svc",
               .image = EMOJI_IMG("web"),
               .cpu = "100m",
               .ports = {{"http", 8080, 0}},
               .env = {"WEB_PORT", "8080", "EMOJISVC_HOST", "emoji-svc.{{ns}}:8080",
                       "VOTINGSVC_HOST", "voting-svc.{{ns}}:8080", "INDEX_BUNDLE",
                       "dist/index_bundle.js"},
               .part_of = "emojivoto"},
              {.name = "vote-bot",
               .app = "vote-bot",
               .version = "v11",
               .container = "vote-bot",
               .image = EMOJI_IMG("web"),
               .cpu = "10m",
               .command = "emojivoto-vote-bot",
               .env = {"WEB_HOST", "web-svc.{{ns}}:80"},
               .part_of = "emojivoto"}}},
};

const mp_adapter_sample mp_adapter_sample_bookinfo = {"bookinfo", NULL, NULL};
const mp_adapter_sample mp_adapter_sample_httpbin = {"httpbin", NULL, NULL};
const mp_adapter_sample mp_adapter_sample_imagehub = {"imagehub", NULL, NULL};
const mp_adapter_sample mp_adapter_sample_emojivoto = {"emojivoto", NULL, NULL};

static void render_acct(mp_buf *o, const acct *a) {
  mp_buf_printf(o, "---\napiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: %s\n", a->name);
  if (a->account) mp_buf_printf(o, "  labels:\n    account: %s\n", a->account);
}

static void render_svc(mp_buf *o, const svc *s) {
  mp_buf_printf(o, "---\napiVersion: v1\nkind: Service\nmetadata:\n  name: %s\n", s->name);
  if (!s->plain) mp_buf_printf(o, "  labels:\n    app: %s\n    service: %s\n", s->app, s->name);
  mp_buf_puts(o, "spec:\n  ports:\n");
  for (const port *p = s->ports; p < s->ports + 3 && p->port; p++) {
    mp_buf_printf(o, "  - name: %s\n    port: %d\n", p->name, p->port);
    if (p->target) mp_buf_printf(o, "    targetPort: %d\n", p->target);
  }
  mp_buf_printf(o, "  selector:\n    app: %s\n", s->app);
}

static void render_dep(mp_buf *o, const dep *d, const char *ns, const char *const *pod_annos) {
  mp_buf_printf(o, "---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: %s\n  labels:\n",
                d->name);
  if (d->part_of)
    mp_buf_printf(o,
                  "    app.kubernetes.io/name: %s\n    app.kubernetes.io/part-of: %s\n"
                  "    app.kubernetes.io/version: %s\n",
                  d->name, d->part_of, d->version);
  else
    mp_buf_printf(o, "    app: %s\n    version: %s\n", d->app, d->version);
  mp_buf_printf(o,
                "spec:\n  replicas: 1\n  selector:\n    matchLabels:\n      app: %s\n"
                "      version: %s\n  template:\n    metadata:\n      labels:\n        app: %s\n"
                "        version: %s\n",
                d->app, d->version, d->app, d->version);
  bool any = d->annos[0] || (pod_annos && pod_annos[0]);
  if (any) mp_buf_puts(o, "      annotations:\n");
  for (const char *const *a = d->annos; a < d->annos + 8 && a[0]; a += 2)
    mp_buf_printf(o, "        %s: \"%s\"\n", a[0], a[1]);
  for (const char *const *a = pod_annos; a && a[0] && a[1]; a += 2)
    mp_buf_printf(o, "        %s: \"%s\"\n", a[0], a[1]);
  mp_buf_puts(o, "    spec:\n");
  if (d->sa) mp_buf_printf(o, "      serviceAccountName: %s\n", d->sa);
  mp_buf_printf(o,
                "      containers:\n      - name: %s\n        image: %s\n"
                "        imagePullPolicy: IfNotPresent\n",
                d->container, d->image);
  if (d->command) mp_buf_printf(o, "        command:\n        - %s\n", d->command);
  if (d->ports[0].port) mp_buf_puts(o, "        ports:\n");
  for (const port *p = d->ports; p < d->ports + 3 && p->port; p++) {
    mp_buf_printf(o, "        - containerPort: %d\n", p->port);
    if (p->name) mp_buf_printf(o, "          name: %s\n", p->name);
  }
  if (d->env[0]) mp_buf_puts(o, "        env:\n");
  for (const char *const *e = d->env; e < d->env + 10 && e[0]; e += 2) {
    mp_buf_printf(o, "        - name: %s\n          value: \"", e[0]);
    const char *vars[] = {"ns", ns, NULL};
    mp_adapter_render(o, e[1], vars);
    mp_buf_puts(o, "\"\n");
  }
  if (d->cpu)
    mp_buf_printf(o, "        resources:\n          requests:\n            cpu: %s\n", d->cpu);
  if (d->vols) {
    mp_buf_puts(o, "        volumeMounts:\n");
    if (d->vols & VOL_TMP) mp_buf_puts(o, "        - name: tmp\n          mountPath: /tmp\n");
    if (d->vols & VOL_WLP)
      mp_buf_puts(o, "        - name: wlp-output\n          mountPath: /opt/ibm/wlp/output\n");
    mp_buf_puts(o, "      volumes:\n");
    if (d->vols & VOL_TMP) mp_buf_puts(o, "      - name: tmp\n        emptyDir: {}\n");
    if (d->vols & VOL_WLP) mp_buf_puts(o, "      - name: wlp-output\n        emptyDir: {}\n");
  }
}

mp_status mp_adapter_render_sample(const mp_adapter_sample *sample, const char *ns, mp_buf *out) {
  const app *a = NULL;
  for (size_t i = 0; i < MP_ARRAY_LEN(apps) && !a; i++)
    if (sample && sample->app && !strcmp(apps[i].name, sample->app)) a = &apps[i];
  if (!a)
    return mp_error_set(MP_ERR_NOT_FOUND,
                        "no sample application \"%s\" (have bookinfo, "
                        "httpbin, imagehub, emojivoto)",
                        sample && sample->app ? sample->app : "");
  if (!mp_adapter_valid_namespace(ns))
    return mp_error_set(MP_ERR_INVALID, "\"%s\" is not a namespace name", ns);
  mp_buf_printf(out, "# %s sample application, rendered by meshplane for namespace %s\n", a->name,
                ns);
  for (const acct *x = a->accts; x < a->accts + 4 && x->name; x++) render_acct(out, x);
  for (const svc *x = a->svcs; x < a->svcs + 4 && x->name; x++) render_svc(out, x);
  for (const dep *x = a->deps; x < a->deps + 6 && x->name; x++)
    render_dep(out, x, ns, sample->pod_annotations);
  if (sample->extra) sample->extra(ns, out);
  return MP_OK;
}
