/* Istio rules about namespaces, pods, Sidecars, Services, Deployments and authorization:
 * IST0101 (Sidecar selectors, policy namespaces), IST0102, IST0103, IST0110, IST0111,
 * IST0116, IST0118, IST0123, IST0127, IST0137, IST0144. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "analyzer_internal.h"

/* ---- namespaces and pods --------------------------------------------------------------- */

void mp__rule_ist0102(mp__ctx *cx) {
  size_t n;
  const mp__res **nss = mp__list(cx, MP__K_NAMESPACE, &n);
  for (size_t i = 0; i < n; i++) {
    const mp__res *ns = nss[i];
    if (strcmp(ns->name, "istio-system") == 0 || mp__is_system_ns(ns->name)) continue;
    if (mp_yaml_get(ns->labels, "istio-injection") || mp_yaml_get(ns->labels, "istio.io/rev"))
      continue;
    const char *mode = mp_yaml_gets(ns->labels, "istio.io/dataplane-mode");
    if (mode && strcmp(mode, "ambient") == 0) continue; /* ambient needs no sidecars */
    mp__report(cx, ns, 0,
               "Namespace %s has neither an istio-injection nor an istio.io/rev label; label it "
               "istio-injection=enabled to add sidecars, or istio-injection=disabled to keep it "
               "out of the mesh on purpose",
               ns->name);
  }
}

void mp__rule_ist0123(mp__ctx *cx) {
  size_t n;
  const mp__res **nss = mp__list(cx, MP__K_NAMESPACE, &n);
  for (size_t i = 0; i < n; i++) {
    const mp_yaml_node *legacy = mp_yaml_get(nss[i]->labels, "istio-injection");
    const mp_yaml_node *rev = mp_yaml_get(nss[i]->labels, "istio.io/rev");
    if (!legacy || !rev || legacy->type == MP_YAML_NULL) continue;
    mp__report(cx, nss[i], legacy->line,
               "Namespace %s has both istio-injection and istio.io/rev labels, which injector "
               "acts is undefined; keep only one of them",
               nss[i]->name);
  }
}

void mp__rule_ist0103(mp__ctx *cx) {
  size_t n;
  const mp__res **pods = mp__list(cx, MP__K_POD, &n);
  for (size_t i = 0; i < n; i++) {
    const mp__res *p = pods[i];
    if (mp__istio_ns_injection(cx, p->ns) != 1) continue;
    const char *inj = mp_yaml_gets(p->labels, "sidecar.istio.io/inject");
    if (!inj) inj = mp_yaml_gets(p->annotations, "sidecar.istio.io/inject");
    if ((inj && strcasecmp(inj, "false") == 0) || mp_yaml_true(mp_yaml_get(p->spec, "hostNetwork")))
      continue;
    const mp_yaml_node *cs = mp__containers(p);
    bool proxy = false;
    for (size_t j = 0; j < mp_yaml_len(cs) && !proxy; j++) {
      const char *name = mp_yaml_gets(mp_yaml_at(cs, j), "name");
      proxy = name && strcmp(name, "istio-proxy") == 0;
    }
    if (!proxy)
      mp__report(cx, p, 0,
                 "Pod %s/%s runs in an injected namespace without an istio-proxy container; "
                 "restart or redeploy its workload so the injector adds the sidecar",
                 p->ns, p->name);
  }
}

/* ---- Sidecars ------------------------------------------------------------------------------- */

static const mp_yaml_node *sidecar_labels(const mp__res *sc) {
  return mp_yaml_path(sc->spec, "workloadSelector", "labels", NULL);
}

void mp__rule_ist0101_sidecar_selector(mp__ctx *cx) {
  size_t n;
  const mp__res **scs = mp__list(cx, MP__K_SIDECAR, &n);
  for (size_t i = 0; i < n; i++) {
    const mp_yaml_node *sel = sidecar_labels(scs[i]);
    if (mp_yaml_npairs(sel) == 0 || mp__count_selected(cx, scs[i]->ns, sel) > 0) continue;
    mp__report(cx, scs[i], sel->line,
               "No workload in namespace %s carries the labels %s this Sidecar selects", scs[i]->ns,
               mp__selector_str(cx, sel));
  }
}

void mp__rule_ist0110(mp__ctx *cx) {
  size_t n;
  const mp__res **scs = mp__list(cx, MP__K_SIDECAR, &n);
  for (size_t w = 0; w < cx->nworkloads; w++) {
    const mp__res *wl = cx->workloads[w];
    mp_buf names = {0};
    size_t hits = 0;
    for (size_t i = 0; i < n; i++) {
      const mp_yaml_node *sel = sidecar_labels(scs[i]);
      if (mp_yaml_npairs(sel) == 0 || strcmp(scs[i]->ns, wl->ns) != 0) continue;
      if (!mp__labels_match(sel, wl->pod_labels)) continue;
      mp_buf_printf(&names, "%s%s", hits++ ? ", " : "", scs[i]->name);
    }
    for (size_t i = 0; hits > 1 && i < n; i++) {
      const mp_yaml_node *sel = sidecar_labels(scs[i]);
      if (mp_yaml_npairs(sel) == 0 || strcmp(scs[i]->ns, wl->ns) != 0) continue;
      if (mp__labels_match(sel, wl->pod_labels))
        mp__report(cx, scs[i], 0,
                   "Sidecars [%s] in namespace %s all select %s; which one applies is undefined",
                   names.data, wl->ns, wl->ident);
    }
    mp_buf_free(&names);
  }
}

void mp__rule_ist0111(mp__ctx *cx) {
  size_t n;
  const mp__res **scs = mp__list(cx, MP__K_SIDECAR, &n);
  for (size_t i = 0; i < n; i++) {
    if (mp_yaml_get(scs[i]->spec, "workloadSelector")) continue;
    mp_buf names = {0};
    size_t same = 0;
    for (size_t j = 0; j < n; j++) {
      if (mp_yaml_get(scs[j]->spec, "workloadSelector") || strcmp(scs[j]->ns, scs[i]->ns) != 0)
        continue;
      mp_buf_printf(&names, "%s%s", same++ ? ", " : "", scs[j]->name);
    }
    if (same > 1)
      mp__report(cx, scs[i], 0,
                 "Sidecars [%s] in namespace %s have no workloadSelector; only one namespace-wide "
                 "Sidecar may exist",
                 names.data, scs[i]->ns);
    mp_buf_free(&names);
  }
}

/* ---- Services ----------------------------------------------------------------------------------
 */

static bool known_protocol(const char *s, size_t n) {
  static const char *const protos[] = {"http", "http2", "https", "http_proxy", "grpc",  "grpc-web",
                                       "tcp",  "tls",   "udp",   "mongo",      "mysql", "redis"};
  for (size_t i = 0; i < MP_ARRAY_LEN(protos); i++)
    if (strlen(protos[i]) == n && strncasecmp(protos[i], s, n) == 0) return true;
  return false;
}

/* Istio reads a port's protocol from appProtocol, else from the name "<proto>[-<suffix>]". */
static bool port_names_protocol(const mp_yaml_node *port) {
  const char *app = mp_yaml_gets(port, "appProtocol");
  if (app && *app) {
    if (strcmp(app, "kubernetes.io/h2c") == 0 || strcmp(app, "kubernetes.io/ws") == 0 ||
        strcmp(app, "kubernetes.io/wss") == 0)
      return true;
    return known_protocol(app, strlen(app));
  }
  const char *proto = mp_yaml_gets(port, "protocol");
  if (proto && strcasecmp(proto, "UDP") == 0) return true;
  const char *name = mp_yaml_gets(port, "name");
  if (!name || !*name) return false;
  if (strncasecmp(name, "grpc-web", 8) == 0 && (name[8] == '\0' || name[8] == '-')) return true;
  const char *dash = strchr(name, '-');
  return known_protocol(name, dash ? (size_t)(dash - name) : strlen(name));
}

void mp__rule_ist0118(mp__ctx *cx) {
  size_t n;
  const mp__res **svcs = mp__list(cx, MP__K_SERVICE, &n);
  for (size_t i = 0; i < n; i++) {
    const mp__res *s = svcs[i];
    const char *type = mp_yaml_gets(s->spec, "type");
    if (mp__is_system_ns(s->ns) || (type && strcmp(type, "ExternalName") == 0)) continue;
    const char *release = mp_yaml_gets(s->labels, "release");
    if (mp_yaml_get(s->labels, "istio") || (release && strcmp(release, "istio") == 0)) continue;
    const mp_yaml_node *ports = mp_yaml_get(s->spec, "ports");
    for (size_t j = 0; j < mp_yaml_len(ports); j++) {
      const mp_yaml_node *p = mp_yaml_at(ports, j);
      if (port_names_protocol(p)) continue;
      const char *name = mp_yaml_gets(p, "name"), *num = mp_yaml_gets(p, "port");
      mp__report(cx, s, p->line,
                 "Port %s (%s) does not name its protocol as <protocol>[-<suffix>] or with "
                 "appProtocol, so Istio falls back to protocol sniffing",
                 name && *name ? name : "(unnamed)", num ? num : "?");
    }
  }
}

/* ---- Deployments and their Services (IST0116, IST0137) ------------------------------------------
 */

typedef struct svc_port {
  const char *service;
  long port;
  const char *protocol;
  const char *target; /* targetPort as written, or the port */
} svc_port;

static int cmp_svc_port(const void *a, const void *b) {
  const svc_port *x = a, *y = b;
  if (x->port != y->port) return x->port < y->port ? -1 : 1;
  return strcmp(x->service, y->service);
}

/* The ports of every Service that selects the deployment's pods, sorted by port. */
static svc_port *deployment_ports(mp__ctx *cx, const mp__res *d, size_t *count) {
  size_t n, np = 0, cap = 0;
  const mp__res **svcs = mp__list(cx, MP__K_SERVICE, &n);
  svc_port *v = NULL;
  for (size_t i = 0; i < n; i++) {
    const mp_yaml_node *sel = mp_yaml_get(svcs[i]->spec, "selector");
    if (strcmp(svcs[i]->ns, d->ns) != 0 || mp_yaml_npairs(sel) == 0) continue;
    if (!mp__labels_match(sel, d->pod_labels)) continue;
    const mp_yaml_node *ports = mp_yaml_get(svcs[i]->spec, "ports");
    for (size_t j = 0; j < mp_yaml_len(ports); j++) {
      const mp_yaml_node *p = mp_yaml_at(ports, j);
      long port;
      if (!mp_yaml_int(mp_yaml_get(p, "port"), &port)) continue;
      const char *proto = mp_yaml_gets(p, "protocol"), *target = mp_yaml_gets(p, "targetPort");
      if (np == cap) {
        cap = cap ? cap * 2 : 8;
        v = mp_realloc(v, cap * sizeof(*v));
      }
      v[np++] = (svc_port){svcs[i]->name, port, proto && *proto ? proto : "TCP",
                           target && *target && strcmp(target, "0") != 0 ? target
                                                                         : mp_yaml_gets(p, "port")};
    }
  }
  if (np) qsort(v, np, sizeof(*v), cmp_svc_port);
  *count = np;
  return v;
}

static bool deployment_checked(const mp__ctx *cx, const mp__res *d) {
  const char *managed = mp_yaml_gets(d->labels, "gateway.istio.io/managed");
  if (managed && strcmp(managed, "istio.io-mesh-controller") == 0) return false; /* waypoint */
  return mp__istio_in_mesh(cx, d);
}

void mp__rule_ist0116(mp__ctx *cx) {
  size_t n;
  const mp__res **deps = mp__list(cx, MP__K_DEPLOYMENT, &n);
  for (size_t i = 0; i < n; i++) {
    if (!deployment_checked(cx, deps[i])) continue;
    size_t np;
    svc_port *v = deployment_ports(cx, deps[i], &np);
    for (size_t a = 0; a < np;) {
      size_t b = a;
      bool mixed = false;
      for (; b < np && v[b].port == v[a].port; b++)
        if (strcasecmp(v[b].protocol, v[a].protocol) != 0) mixed = true;
      if (mixed) {
        mp_buf list = {0};
        for (size_t k = a; k < b; k++)
          mp_buf_printf(&list, "%s%s (%s)", list.len ? ", " : "", v[k].service, v[k].protocol);
        mp__report(cx, deps[i], 0,
                   "Services selecting this deployment use port %ld with different protocols: "
                   "%s; one port must carry one protocol",
                   v[a].port, list.data);
        mp_buf_free(&list);
      }
      a = b;
    }
    mp_free(v);
  }
}

static int cmp_by_target(const void *a, const void *b) {
  const svc_port *x = a, *y = b;
  int c = strcmp(x->target, y->target);
  return c ? c : cmp_svc_port(a, b);
}

void mp__rule_ist0137(mp__ctx *cx) {
  size_t n;
  const mp__res **deps = mp__list(cx, MP__K_DEPLOYMENT, &n);
  for (size_t i = 0; i < n; i++) {
    if (!deployment_checked(cx, deps[i])) continue;
    size_t np;
    svc_port *v = deployment_ports(cx, deps[i], &np);
    if (np) qsort(v, np, sizeof(*v), cmp_by_target);
    for (size_t a = 0; a < np;) {
      size_t b = a;
      bool differ = false;
      for (; b < np && strcmp(v[b].target, v[a].target) == 0; b++)
        if (v[b].port != v[a].port) differ = true;
      if (differ) {
        mp_buf list = {0};
        for (size_t k = a; k < b; k++)
          mp_buf_printf(&list, "%s%s:%ld", list.len ? ", " : "", v[k].service, v[k].port);
        mp__report(cx, deps[i], 0,
                   "Services reach targetPort %s of this deployment through different ports "
                   "(%s); Services sharing a targetPort must use the same port",
                   v[a].target, list.data);
        mp_buf_free(&list);
      }
      a = b;
    }
    mp_free(v);
  }
}

/* ---- AuthorizationPolicy (IST0127, IST0101)
 * ------------------------------------------------------ */

static bool in_mesh_match(const mp__ctx *cx, const char *ns, const mp_yaml_node *sel) {
  for (size_t w = 0; w < cx->nworkloads; w++) {
    const mp__res *wl = cx->workloads[w];
    if (ns && strcmp(wl->ns, ns) != 0) continue;
    if (mp__labels_match(sel, wl->pod_labels) && mp__istio_in_mesh(cx, wl)) return true;
  }
  return false;
}

void mp__rule_ist0127(mp__ctx *cx) {
  size_t n;
  const mp__res **aps = mp__list(cx, MP__K_AUTHORIZATIONPOLICY, &n);
  for (size_t i = 0; i < n; i++) {
    const mp__res *ap = aps[i];
    /* Policies attached to gateways or waypoints by targetRef select no sidecars. */
    if (mp_yaml_get(ap->spec, "targetRef") || mp_yaml_get(ap->spec, "targetRefs")) continue;
    const mp_yaml_node *sel = mp_yaml_path(ap->spec, "selector", "matchLabels", NULL);
    bool root = strcmp(ap->ns, "istio-system") == 0;
    if (root && mp_yaml_npairs(sel) == 0) continue; /* mesh-wide: applies to everything */
    if (in_mesh_match(cx, root ? NULL : ap->ns, sel)) continue;
    if (mp_yaml_npairs(sel))
      mp__report(cx, ap, sel->line,
                 "No workload in the mesh%s%s matches the selector %s, so this policy applies "
                 "to nothing",
                 root ? "" : " in namespace ", root ? "" : ap->ns, mp__selector_str(cx, sel));
    else
      mp__report(cx, ap, 0,
                 "Namespace %s has no workload in the mesh, so this policy applies to nothing",
                 ap->ns);
  }
}

/* Istio's namespace patterns: "*", "prefix*", "*suffix" or an exact name. */
static bool ns_pattern_known(const mp__ctx *cx, const char *pat) {
  size_t lp = strlen(pat);
  if (strcmp(pat, "*") == 0) return true;
  if (lp == 0 || (pat[0] != '*' && pat[lp - 1] != '*')) return mp__ns_known(cx, pat);
  for (size_t i = 0; i < cx->nall; i++) {
    const mp__res *r = cx->all[i];
    const char *ns = r->kind == MP__K_NAMESPACE ? r->name : r->ns;
    size_t ln = strlen(ns);
    if (!ln) continue;
    if (pat[0] == '*' && ln >= lp - 1 && strcmp(ns + ln - (lp - 1), pat + 1) == 0) return true;
    if (pat[lp - 1] == '*' && strncmp(ns, pat, lp - 1) == 0) return true;
  }
  return false;
}

void mp__rule_ist0101_authz_namespace(mp__ctx *cx) {
  size_t n;
  const mp__res **aps = mp__list(cx, MP__K_AUTHORIZATIONPOLICY, &n);
  for (size_t i = 0; i < n; i++) {
    const mp_yaml_node *rules = mp_yaml_get(aps[i]->spec, "rules");
    for (size_t r = 0; r < mp_yaml_len(rules); r++) {
      const mp_yaml_node *from = mp_yaml_get(mp_yaml_at(rules, r), "from");
      for (size_t f = 0; f < mp_yaml_len(from); f++) {
        const mp_yaml_node *src = mp_yaml_get(mp_yaml_at(from, f), "source");
        static const char *const keys[] = {"namespaces", "notNamespaces"};
        for (size_t k = 0; k < MP_ARRAY_LEN(keys); k++) {
          const mp_yaml_node *list = mp_yaml_get(src, keys[k]);
          for (size_t j = 0; j < mp_yaml_len(list); j++) {
            const char *ns = mp_yaml_str(mp_yaml_at(list, j));
            if (!ns || ns_pattern_known(cx, ns)) continue;
            mp__report(cx, aps[i], mp_yaml_at(list, j)->line,
                       "Namespace \"%s\" in source.%s does not exist; fix the name or remove it",
                       ns, keys[k]);
          }
        }
      }
    }
  }
}

/* ---- IST0144
 * -------------------------------------------------------------------------------------- */

static bool runs_as_1337(const mp_yaml_node *security_context) {
  long uid;
  return mp_yaml_int(mp_yaml_get(security_context, "runAsUser"), &uid) && uid == 1337;
}

void mp__rule_ist0144(mp__ctx *cx) {
  for (size_t w = 0; w < cx->nworkloads; w++) {
    const mp__res *wl = cx->workloads[w];
    const mp_yaml_node *psc = mp_yaml_get(wl->pod_spec, "securityContext");
    if (runs_as_1337(psc)) {
      mp__report(cx, wl, mp_yaml_get(psc, "runAsUser")->line,
                 "The pod runs as UID 1337, which is reserved for the Istio sidecar; pick "
                 "another runAsUser");
      continue;
    }
    const mp_yaml_node *cs = mp__containers(wl);
    for (size_t i = 0; i < mp_yaml_len(cs); i++) {
      const mp_yaml_node *c = mp_yaml_at(cs, i);
      if (mp__is_proxy_container(c) || !runs_as_1337(mp_yaml_get(c, "securityContext"))) continue;
      mp__report(cx, wl, mp_yaml_path(c, "securityContext", "runAsUser", NULL)->line,
                 "Container %s runs as UID 1337, which is reserved for the Istio sidecar; pick "
                 "another runAsUser",
                 mp_yaml_gets(c, "name") ? mp_yaml_gets(c, "name") : "?");
    }
  }
}
