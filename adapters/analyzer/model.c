/* The resource model: documents become mp__res (kind, namespace, name, pod template),
 * and the helpers the rules share — selectors, ports, Istio hosts and injection. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "analyzer_internal.h"

typedef struct kind_info {
  const char *kind;
  const char *group;     /* required API group when apiVersion is given */
  const char *alt_group; /* older group that served the same kind, or NULL */
  mp__kind k;
} kind_info;

static const kind_info kinds[] = {
    {"Namespace", "", NULL, MP__K_NAMESPACE},
    {"Service", "", NULL, MP__K_SERVICE},
    {"ServiceAccount", "", NULL, MP__K_SERVICEACCOUNT},
    {"Pod", "", NULL, MP__K_POD},
    {"ReplicationController", "", NULL, MP__K_RC},
    {"Deployment", "apps", "extensions", MP__K_DEPLOYMENT},
    {"StatefulSet", "apps", NULL, MP__K_STATEFULSET},
    {"DaemonSet", "apps", "extensions", MP__K_DAEMONSET},
    {"ReplicaSet", "apps", "extensions", MP__K_REPLICASET},
    {"Job", "batch", NULL, MP__K_JOB},
    {"CronJob", "batch", NULL, MP__K_CRONJOB},
    {"VirtualService", "networking.istio.io", NULL, MP__K_VIRTUALSERVICE},
    {"Gateway", "networking.istio.io", NULL, MP__K_GATEWAY},
    {"DestinationRule", "networking.istio.io", NULL, MP__K_DESTINATIONRULE},
    {"ServiceEntry", "networking.istio.io", NULL, MP__K_SERVICEENTRY},
    {"Sidecar", "networking.istio.io", NULL, MP__K_SIDECAR},
    {"PeerAuthentication", "security.istio.io", NULL, MP__K_PEERAUTHENTICATION},
    {"AuthorizationPolicy", "security.istio.io", NULL, MP__K_AUTHORIZATIONPOLICY},
    {"TrafficSplit", "split.smi-spec.io", NULL, MP__K_TRAFFICSPLIT},
    {"TrafficTarget", "access.smi-spec.io", NULL, MP__K_TRAFFICTARGET},
    {"HTTPRouteGroup", "specs.smi-spec.io", NULL, MP__K_HTTPROUTEGROUP},
    {"TCPRoute", "specs.smi-spec.io", NULL, MP__K_TCPROUTE},
    {"UDPRoute", "specs.smi-spec.io", NULL, MP__K_UDPROUTE},
};

/* Kinds without a namespace, besides Namespace itself. */
static const char *const cluster_kinds[] = {
    "Namespace",
    "Node",
    "PersistentVolume",
    "StorageClass",
    "ClusterRole",
    "ClusterRoleBinding",
    "CustomResourceDefinition",
    "MutatingWebhookConfiguration",
    "ValidatingWebhookConfiguration",
    "PriorityClass",
    "IngressClass",
    "GatewayClass",
    "APIService",
    "RuntimeClass",
    "CSIDriver",
    "ClusterIssuer",
};

static bool is_cluster_kind(const char *kind) {
  for (size_t i = 0; i < MP_ARRAY_LEN(cluster_kinds); i++)
    if (strcmp(kind, cluster_kinds[i]) == 0) return true;
  return false;
}

static mp__kind classify(const char *kind, const char *group, bool has_api_version) {
  for (size_t i = 0; i < MP_ARRAY_LEN(kinds); i++) {
    if (strcmp(kinds[i].kind, kind) != 0) continue;
    /* Partial resources without apiVersion are taken at their word. */
    if (!has_api_version || strcmp(group, kinds[i].group) == 0 ||
        (kinds[i].alt_group && strcmp(group, kinds[i].alt_group) == 0))
      return kinds[i].k;
  }
  return MP__K_OTHER;
}

bool mp__kind_is_workload(mp__kind k) {
  switch (k) {
  case MP__K_POD:
  case MP__K_DEPLOYMENT:
  case MP__K_STATEFULSET:
  case MP__K_DAEMONSET:
  case MP__K_REPLICASET:
  case MP__K_RC:
  case MP__K_JOB:
  case MP__K_CRONJOB: return true;
  default: return false;
  }
}

static void one_resource(mp_arena *a, const mp_yaml_node *root, const char *file,
                         const char *default_ns, mp__res_fn fn, void *arg) {
  const char *kind = mp_yaml_gets(root, "kind");
  const char *api = mp_yaml_gets(root, "apiVersion");
  mp__res *r = mp_arena_alloc(a, sizeof(*r));
  r->root = root;
  r->file = file;
  r->kind_name = kind ? kind : "";
  const char *slash = api ? strchr(api, '/') : NULL;
  r->group = slash ? mp_arena_strndup(a, api, (size_t)(slash - api)) : "";
  r->kind = classify(r->kind_name, r->group, api != NULL);
  r->meta = mp_yaml_get(root, "metadata");
  r->spec = mp_yaml_get(root, "spec");
  r->labels = mp_yaml_get(r->meta, "labels");
  r->annotations = mp_yaml_get(r->meta, "annotations");
  const mp_yaml_node *name = mp_yaml_get(r->meta, "name");
  r->name = mp_yaml_str(name) ? mp_yaml_str(name) : "";
  r->line = mp_yaml_line(name, mp_yaml_line(mp_yaml_get(root, "kind"), root->line));
  const char *ns = mp_yaml_gets(r->meta, "namespace");
  if (is_cluster_kind(r->kind_name))
    r->ns = "";
  else
    r->ns = ns && *ns ? ns : default_ns;
  const char *shown = *r->name ? r->name : "(unnamed)";
  r->ident = *r->ns ? mp_arena_printf(a, "%s %s/%s", *r->kind_name ? r->kind_name : "(no kind)",
                                      r->ns, shown)
                    : mp_arena_printf(a, "%s %s", r->kind_name, shown);
  if (mp__kind_is_workload(r->kind)) {
    r->workload = true;
    if (r->kind == MP__K_POD) {
      r->pod_meta = r->meta;
      r->pod_spec = r->spec;
    } else {
      const mp_yaml_node *tmpl =
          r->kind == MP__K_CRONJOB ? mp_yaml_path(r->spec, "jobTemplate", "spec", "template", NULL)
                                   : mp_yaml_get(r->spec, "template");
      r->pod_meta = mp_yaml_get(tmpl, "metadata");
      r->pod_spec = mp_yaml_get(tmpl, "spec");
    }
    r->pod_labels = mp_yaml_get(r->pod_meta, "labels");
    r->pod_annotations = mp_yaml_get(r->pod_meta, "annotations");
  }
  fn(arg, r);
}

void mp__resources_from_doc(mp_arena *a, const mp_yaml_node *root, const char *file,
                            const char *default_ns, mp__res_fn fn, void *arg) {
  if (!mp_yaml_is_map(root)) return; /* not a resource: ignored */
  const char *kind = mp_yaml_gets(root, "kind");
  const mp_yaml_node *items = mp_yaml_get(root, "items");
  if (kind && strcmp(kind, "List") == 0 && mp_yaml_is_seq(items)) {
    for (size_t i = 0; i < mp_yaml_len(items); i++)
      if (mp_yaml_is_map(mp_yaml_at(items, i)))
        one_resource(a, mp_yaml_at(items, i), file, default_ns, fn, arg);
    return;
  }
  one_resource(a, root, file, default_ns, fn, arg);
}

/* ---- lookups ------------------------------------------------------------------------- */

const mp__res **mp__list(const mp__ctx *cx, mp__kind k, size_t *n) {
  *n = cx->nkind[k];
  return cx->by_kind[k];
}

const mp__res *mp__find(const mp__ctx *cx, mp__kind k, const char *ns, const char *name) {
  for (size_t i = 0; i < cx->nkind[k]; i++) {
    const mp__res *r = cx->by_kind[k][i];
    if (strcmp(r->name, name) == 0 && (!ns || strcmp(r->ns, ns) == 0)) return r;
  }
  return NULL;
}

bool mp__ns_known(const mp__ctx *cx, const char *ns) {
  for (size_t i = 0; i < cx->nall; i++) {
    const mp__res *r = cx->all[i];
    if (r->kind == MP__K_NAMESPACE && strcmp(r->name, ns) == 0) return true;
    if (strcmp(r->ns, ns) == 0) return true;
  }
  return false;
}

/* ---- labels and selectors --------------------------------------------------------------- */

bool mp__labels_match(const mp_yaml_node *selector, const mp_yaml_node *labels) {
  for (size_t i = 0; i < mp_yaml_npairs(selector); i++) {
    const char *k = mp_yaml_str(mp_yaml_key(selector, i));
    const char *want = mp_yaml_str(mp_yaml_val(selector, i));
    if (!k) return false;
    const char *have = mp_yaml_gets(labels, k);
    if (!have || strcmp(have, want ? want : "") != 0) return false;
  }
  return true;
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

const char *mp__selector_str(mp__ctx *cx, const mp_yaml_node *selector) {
  size_t n = mp_yaml_npairs(selector);
  if (n == 0) return "";
  const char **pairs = mp_arena_alloc(cx->scratch, n * sizeof(*pairs));
  for (size_t i = 0; i < n; i++) {
    const char *k = mp_yaml_str(mp_yaml_key(selector, i)),
               *v = mp_yaml_str(mp_yaml_val(selector, i));
    pairs[i] = mp_arena_printf(cx->scratch, "%s=%s", k ? k : "", v ? v : "");
  }
  qsort(pairs, n, sizeof(*pairs), cmp_str);
  mp_buf b = {0};
  for (size_t i = 0; i < n; i++) {
    if (i) mp_buf_puts(&b, ",");
    mp_buf_puts(&b, pairs[i]);
  }
  const char *s = mp_arena_strdup(cx->scratch, b.data);
  mp_buf_free(&b);
  return s;
}

size_t mp__count_selected(const mp__ctx *cx, const char *ns, const mp_yaml_node *selector) {
  size_t n = 0;
  for (size_t i = 0; i < cx->nworkloads; i++) {
    const mp__res *w = cx->workloads[i];
    if (ns && strcmp(w->ns, ns) != 0) continue;
    if (mp__labels_match(selector, w->pod_labels)) n++;
  }
  return n;
}

/* ---- containers and ports ----------------------------------------------------------------- */

const mp_yaml_node *mp__containers(const mp__res *w) {
  return mp_yaml_get(w->pod_spec, "containers");
}

bool mp__is_proxy_container(const mp_yaml_node *c) {
  const char *name = mp_yaml_gets(c, "name");
  return name && (strcmp(name, "istio-proxy") == 0 || strcmp(name, "linkerd-proxy") == 0);
}

bool mp__target_port(const mp_yaml_node *svc_port, const mp__res *w, long *out) {
  const mp_yaml_node *tp = mp_yaml_get(svc_port, "targetPort");
  if (mp_yaml_int(tp, out) && *out > 0) return true;
  const char *named = mp_yaml_str(tp);
  if (!named || !*named) return mp_yaml_int(mp_yaml_get(svc_port, "port"), out);
  if (!w) return false;
  const mp_yaml_node *cs = mp__containers(w);
  for (size_t i = 0; i < mp_yaml_len(cs); i++) {
    const mp_yaml_node *ports = mp_yaml_get(mp_yaml_at(cs, i), "ports");
    for (size_t j = 0; j < mp_yaml_len(ports); j++) {
      const char *pn = mp_yaml_gets(mp_yaml_at(ports, j), "name");
      if (pn && strcmp(pn, named) == 0)
        return mp_yaml_int(mp_yaml_get(mp_yaml_at(ports, j), "containerPort"), out);
    }
  }
  return false;
}

/* ---- Istio hosts ---------------------------------------------------------------------- */

const char *mp__fqdn(mp__ctx *cx, const char *ns, const char *host) {
  if (!host) return "";
  if (host[0] == '*' || strchr(host, '.')) return host;
  return mp_arena_printf(cx->scratch, "%s.%s.svc.cluster.local", host, ns);
}

static bool ends_with_ci(const char *s, const char *suffix) {
  size_t ls = strlen(s), lx = strlen(suffix);
  return ls >= lx && strcasecmp(s + ls - lx, suffix) == 0;
}

bool mp__hosts_match(const char *a, const char *b) {
  if (!a || !b) return false;
  if (strcmp(a, "*") == 0 || strcmp(b, "*") == 0) return true;
  bool wa = a[0] == '*', wb = b[0] == '*';
  if (wa && wb) return ends_with_ci(a + 1, b + 1) || ends_with_ci(b + 1, a + 1);
  if (wa) return ends_with_ci(b, a + 1);
  if (wb) return ends_with_ci(a, b + 1);
  return strcasecmp(a, b) == 0;
}

const mp__res *mp__service_for_fqdn(const mp__ctx *cx, const char *fqdn) {
  for (size_t i = 0; i < cx->nkind[MP__K_SERVICE]; i++) {
    const mp__res *s = cx->by_kind[MP__K_SERVICE][i];
    size_t ln = strlen(s->name), ls = strlen(s->ns);
    if (!ln) continue;
    if (strncasecmp(fqdn, s->name, ln) == 0 && fqdn[ln] == '.' &&
        strncasecmp(fqdn + ln + 1, s->ns, ls) == 0 &&
        strcasecmp(fqdn + ln + 1 + ls, ".svc.cluster.local") == 0)
      return s;
  }
  return NULL;
}

/* ServiceEntry exportTo: absent or "*" is everywhere, "." its own namespace. */
static bool se_visible(const mp__res *se, const char *from_ns) {
  const mp_yaml_node *exp = mp_yaml_get(se->spec, "exportTo");
  if (mp_yaml_len(exp) == 0) return true;
  for (size_t i = 0; i < mp_yaml_len(exp); i++) {
    const char *e = mp_yaml_str(mp_yaml_at(exp, i));
    if (!e) continue;
    if (strcmp(e, "*") == 0) return true;
    if (strcmp(e, ".") == 0 ? strcmp(se->ns, from_ns) == 0 : strcmp(e, from_ns) == 0) return true;
  }
  return false;
}

const mp__res *mp__serviceentry_for(const mp__ctx *cx, const char *from_ns, const char *fqdn) {
  for (size_t i = 0; i < cx->nkind[MP__K_SERVICEENTRY]; i++) {
    const mp__res *se = cx->by_kind[MP__K_SERVICEENTRY][i];
    if (!se_visible(se, from_ns)) continue;
    const mp_yaml_node *hosts = mp_yaml_get(se->spec, "hosts");
    for (size_t j = 0; j < mp_yaml_len(hosts); j++) {
      const char *h = mp_yaml_str(mp_yaml_at(hosts, j));
      if (!h) continue;
      /* Short ServiceEntry hosts are qualified with the entry's own namespace. */
      bool wildcard = h[0] == '*';
      if (wildcard ? ends_with_ci(fqdn, h + 1) : strcasecmp(h, fqdn) == 0) return se;
      if (!wildcard && !strchr(h, '.')) {
        size_t lh = strlen(h), ln = strlen(se->ns);
        if (strncasecmp(fqdn, h, lh) == 0 && fqdn[lh] == '.' &&
            strncmp(fqdn + lh + 1, se->ns, ln) == 0 &&
            strcasecmp(fqdn + lh + 1 + ln, ".svc.cluster.local") == 0)
          return se;
      }
    }
  }
  return NULL;
}

/* ---- Istio injection ---------------------------------------------------------------------- */

bool mp__is_system_ns(const char *ns) {
  static const char *const sys[] = {"kube-system", "kube-public", "kube-node-lease",
                                    "local-path-storage"};
  for (size_t i = 0; i < MP_ARRAY_LEN(sys); i++)
    if (strcmp(ns, sys[i]) == 0) return true;
  return false;
}

int mp__istio_ns_injection(const mp__ctx *cx, const char *ns) {
  const mp__res *n = mp__find(cx, MP__K_NAMESPACE, NULL, ns);
  if (!n) return -1;
  const char *legacy = mp_yaml_gets(n->labels, "istio-injection");
  if (legacy) return strcmp(legacy, "enabled") == 0;
  return mp_yaml_get(n->labels, "istio.io/rev") != NULL;
}

bool mp__istio_in_mesh(const mp__ctx *cx, const mp__res *w) {
  if (w->synthetic) return true; /* the gateway runs a proxy */
  const mp_yaml_node *cs = mp__containers(w);
  for (size_t i = 0; i < mp_yaml_len(cs); i++) {
    const char *name = mp_yaml_gets(mp_yaml_at(cs, i), "name");
    if (name && strcmp(name, "istio-proxy") == 0) return true;
  }
  /* The pod's own label, then its annotation, decide before the namespace does. */
  const char *v = mp_yaml_gets(w->pod_labels, "sidecar.istio.io/inject");
  if (!v) v = mp_yaml_gets(w->pod_annotations, "sidecar.istio.io/inject");
  if (v) return strcmp(v, "true") == 0;
  return mp__istio_ns_injection(cx, w->ns) == 1;
}
