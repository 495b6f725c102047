/* Istio VirtualService rules: references to gateways, hosts, ports and subsets (IST0101),
 * hosts bound twice to the mesh gateway (IST0109), ambiguous destination ports (IST0112)
 * and hosts a referenced Gateway does not serve (IST0132). */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "analyzer_internal.h"

/* ---- shared walking ------------------------------------------------------------------- */

typedef void (*dest_fn)(mp__ctx *cx, const mp__res *vs, const mp_yaml_node *dest, void *arg);

/* Calls fn for every route destination (http, tcp, tls) and every http mirror. */
static void each_destination(mp__ctx *cx, const mp__res *vs, dest_fn fn, void *arg) {
  static const char *const sections[] = {"http", "tcp", "tls"};
  for (size_t s = 0; s < MP_ARRAY_LEN(sections); s++) {
    const mp_yaml_node *rules = mp_yaml_get(vs->spec, sections[s]);
    for (size_t i = 0; i < mp_yaml_len(rules); i++) {
      const mp_yaml_node *rule = mp_yaml_at(rules, i);
      const mp_yaml_node *routes = mp_yaml_get(rule, "route");
      for (size_t j = 0; j < mp_yaml_len(routes); j++) {
        const mp_yaml_node *d = mp_yaml_get(mp_yaml_at(routes, j), "destination");
        if (mp_yaml_is_map(d)) fn(cx, vs, d, arg);
      }
      if (s != 0) continue;
      if (mp_yaml_is_map(mp_yaml_get(rule, "mirror"))) fn(cx, vs, mp_yaml_get(rule, "mirror"), arg);
      const mp_yaml_node *mirrors = mp_yaml_get(rule, "mirrors");
      for (size_t j = 0; j < mp_yaml_len(mirrors); j++) {
        const mp_yaml_node *d = mp_yaml_get(mp_yaml_at(mirrors, j), "destination");
        if (mp_yaml_is_map(d)) fn(cx, vs, d, arg);
      }
    }
  }
}

/* Services are visible everywhere unless networking.istio.io/exportTo narrows them. */
static bool service_visible(const mp__res *svc, const char *from_ns) {
  const char *exp = mp_yaml_gets(svc->annotations, "networking.istio.io/exportTo");
  if (!exp || !*exp) return true;
  const char *p = exp;
  while (*p) {
    const char *end = strchr(p, ',');
    size_t n = end ? (size_t)(end - p) : strlen(p);
    while (n && *p == ' ') p++, n--;
    while (n && p[n - 1] == ' ') n--;
    if ((n == 1 && *p == '*') || (n == strlen(from_ns) && strncmp(p, from_ns, n) == 0) ||
        (n == 1 && *p == '.' && strcmp(svc->ns, from_ns) == 0))
      return true;
    if (!end) break;
    p = end + 1;
  }
  return false;
}

/* The ports of what a destination host names: a Service's spec.ports (key "port") or a
 * ServiceEntry's spec.ports (key "number"). Returns false when the host is unknown. */
static bool destination_ports(mp__ctx *cx, const mp__res *vs, const char *host,
                              const mp_yaml_node **ports, const char **port_key) {
  const char *fqdn = mp__fqdn(cx, vs->ns, host);
  const mp__res *svc = mp__service_for_fqdn(cx, fqdn);
  if (svc && service_visible(svc, vs->ns)) {
    *ports = mp_yaml_get(svc->spec, "ports");
    *port_key = "port";
    return true;
  }
  const mp__res *se = mp__serviceentry_for(cx, vs->ns, fqdn);
  if (se) {
    *ports = mp_yaml_get(se->spec, "ports");
    *port_key = "number";
    return true;
  }
  return false;
}

static const char *port_list(mp__ctx *cx, const mp_yaml_node *ports, const char *key) {
  mp_buf b = {0};
  for (size_t i = 0; i < mp_yaml_len(ports); i++) {
    const char *p = mp_yaml_gets(mp_yaml_at(ports, i), key);
    mp_buf_printf(&b, "%s%s", b.len ? ", " : "", p ? p : "?");
  }
  const char *s = mp_arena_strdup(cx->scratch, b.data ? b.data : "");
  mp_buf_free(&b);
  return s;
}

/* ---- IST0101: gateways ------------------------------------------------------------------ */

/* "ns/name" or "name" (in the VirtualService's namespace). */
static const mp__res *resolve_gateway(mp__ctx *cx, const mp__res *vs, const char *ref,
                                      const char **ns, const char **name) {
  const char *slash = strchr(ref, '/');
  if (slash) {
    *ns = mp_arena_strndup(cx->scratch, ref, (size_t)(slash - ref));
    *name = slash + 1;
  } else {
    *ns = vs->ns;
    *name = ref;
  }
  return mp__find(cx, MP__K_GATEWAY, *ns, *name);
}

void mp__rule_ist0101_vs_gateway(mp__ctx *cx) {
  size_t n;
  const mp__res **vss = mp__list(cx, MP__K_VIRTUALSERVICE, &n);
  for (size_t i = 0; i < n; i++) {
    const mp_yaml_node *gws = mp_yaml_get(vss[i]->spec, "gateways");
    for (size_t j = 0; j < mp_yaml_len(gws); j++) {
      const char *ref = mp_yaml_str(mp_yaml_at(gws, j)), *ns, *name;
      if (!ref || strcmp(ref, "mesh") == 0) continue;
      if (!resolve_gateway(cx, vss[i], ref, &ns, &name))
        mp__report(cx, vss[i], mp_yaml_at(gws, j)->line,
                   "Gateway \"%s\" does not exist (looked for %s/%s); create it or fix the "
                   "reference",
                   ref, ns, name);
    }
  }
}

/* ---- IST0101: destination hosts and ports, IST0112 ------------------------------------------ */

static void check_host(mp__ctx *cx, const mp__res *vs, const mp_yaml_node *d, void *arg) {
  bool ambiguity = *(bool *)arg; /* false: IST0101 host/port, true: IST0112 */
  const mp_yaml_node *h = mp_yaml_get(d, "host");
  const char *host = mp_yaml_str(h);
  if (!host || !*host) return;
  const mp_yaml_node *ports;
  const char *key;
  if (!destination_ports(cx, vs, host, &ports, &key)) {
    if (!ambiguity)
      mp__report(cx, vs, h->line,
                 "Destination host \"%s\" matches no Service or ServiceEntry (looked up as %s)",
                 host, mp__fqdn(cx, vs->ns, host));
    return;
  }
  const mp_yaml_node *pn = mp_yaml_path(d, "port", "number", NULL);
  long want;
  if (!mp_yaml_int(pn, &want)) {
    if (ambiguity && mp_yaml_len(ports) > 1)
      mp__report(cx, vs, h->line,
                 "Destination host \"%s\" exposes several ports (%s); set destination.port.number "
                 "to say which one",
                 host, port_list(cx, ports, key));
    return;
  }
  if (ambiguity) return;
  for (size_t i = 0; i < mp_yaml_len(ports); i++) {
    long have;
    if (mp_yaml_int(mp_yaml_get(mp_yaml_at(ports, i), key), &have) && have == want) return;
  }
  mp__report(cx, vs, mp_yaml_line(pn, h->line),
             "Destination %s:%ld names a port the host does not expose (it has %s)", host, want,
             port_list(cx, ports, key));
}

void mp__rule_ist0101_vs_host(mp__ctx *cx) {
  size_t n;
  const mp__res **vss = mp__list(cx, MP__K_VIRTUALSERVICE, &n);
  bool ambiguity = false;
  for (size_t i = 0; i < n; i++) each_destination(cx, vss[i], check_host, &ambiguity);
}

void mp__rule_ist0112(mp__ctx *cx) {
  size_t n;
  const mp__res **vss = mp__list(cx, MP__K_VIRTUALSERVICE, &n);
  bool ambiguity = true;
  for (size_t i = 0; i < n; i++) each_destination(cx, vss[i], check_host, &ambiguity);
}

/* ---- IST0101: subsets ---------------------------------------------------------------------- */

static void check_subset(mp__ctx *cx, const mp__res *vs, const mp_yaml_node *d, void *arg) {
  (void)arg;
  const char *host = mp_yaml_gets(d, "host");
  const mp_yaml_node *sn = mp_yaml_get(d, "subset");
  const char *subset = mp_yaml_str(sn);
  if (!host || !subset || !*subset) return;
  const char *fqdn = mp__fqdn(cx, vs->ns, host);
  size_t n;
  const mp__res **drs = mp__list(cx, MP__K_DESTINATIONRULE, &n);
  for (size_t i = 0; i < n; i++) {
    const char *drhost = mp_yaml_gets(drs[i]->spec, "host");
    if (!drhost || strcasecmp(mp__fqdn(cx, drs[i]->ns, drhost), fqdn) != 0) continue;
    const mp_yaml_node *subsets = mp_yaml_get(drs[i]->spec, "subsets");
    for (size_t j = 0; j < mp_yaml_len(subsets); j++) {
      const char *name = mp_yaml_gets(mp_yaml_at(subsets, j), "name");
      if (name && strcmp(name, subset) == 0) return;
    }
  }
  mp__report(cx, vs, sn->line,
             "Subset \"%s\" of host \"%s\" is not defined by any DestinationRule for %s", subset,
             host, fqdn);
}

void mp__rule_ist0101_vs_subset(mp__ctx *cx) {
  size_t n;
  const mp__res **vss = mp__list(cx, MP__K_VIRTUALSERVICE, &n);
  for (size_t i = 0; i < n; i++) each_destination(cx, vss[i], check_subset, NULL);
}

/* ---- IST0109 --------------------------------------------------------------------------------- */

typedef struct bound_host {
  const char *key; /* "<scope>|<fqdn>" */
  const char *host;
  const mp__res *vs;
} bound_host;

static int cmp_bound(const void *a, const void *b) {
  const bound_host *x = a, *y = b;
  int c = strcmp(x->key, y->key);
  if (c) return c;
  c = strcmp(x->vs->ns, y->vs->ns);
  return c ? c : strcmp(x->vs->name, y->vs->name);
}

static bool on_mesh_gateway(const mp__res *vs) {
  const mp_yaml_node *gws = mp_yaml_get(vs->spec, "gateways");
  if (mp_yaml_len(gws) == 0) return true;
  for (size_t i = 0; i < mp_yaml_len(gws); i++) {
    const char *g = mp_yaml_str(mp_yaml_at(gws, i));
    if (g && strcmp(g, "mesh") == 0) return true;
  }
  return false;
}

void mp__rule_ist0109(mp__ctx *cx) {
  size_t n, nb = 0, cap = 0;
  const mp__res **vss = mp__list(cx, MP__K_VIRTUALSERVICE, &n);
  bound_host *b = NULL;
  for (size_t i = 0; i < n; i++) {
    const mp__res *vs = vss[i];
    if (!on_mesh_gateway(vs)) continue;
    /* exportTo decides in which namespaces the hosts compete: all of them by default. */
    const mp_yaml_node *exp = mp_yaml_get(vs->spec, "exportTo");
    size_t nscopes = mp_yaml_len(exp) ? mp_yaml_len(exp) : 1;
    for (size_t e = 0; e < nscopes; e++) {
      const char *scope = mp_yaml_len(exp) ? mp_yaml_str(mp_yaml_at(exp, e)) : "*";
      if (!scope) continue;
      if (strcmp(scope, ".") == 0) scope = vs->ns;
      const mp_yaml_node *hosts = mp_yaml_get(vs->spec, "hosts");
      for (size_t h = 0; h < mp_yaml_len(hosts); h++) {
        const char *host = mp_yaml_str(mp_yaml_at(hosts, h));
        if (!host) continue;
        if (nb == cap) {
          cap = cap ? cap * 2 : 16;
          b = mp_realloc(b, cap * sizeof(*b));
        }
        b[nb++] = (bound_host){
            mp_arena_printf(cx->scratch, "%s|%s", scope, mp__fqdn(cx, vs->ns, host)), host, vs};
      }
    }
  }
  if (nb) qsort(b, nb, sizeof(*b), cmp_bound);
  for (size_t i = 0; i < nb;) {
    size_t j = i, distinct = 0;
    mp_buf names = {0};
    for (; j < nb && strcmp(b[j].key, b[i].key) == 0; j++) {
      if (j > i && b[j].vs == b[j - 1].vs) continue;
      distinct++;
      mp_buf_printf(&names, "%s%s/%s", names.len ? ", " : "", b[j].vs->ns, b[j].vs->name);
    }
    for (size_t k = i; distinct > 1 && k < j; k++) {
      if (k > i && b[k].vs == b[k - 1].vs) continue;
      mp__report(cx, b[k].vs, 0,
                 "VirtualServices %s all route host %s on the mesh gateway; which one wins is "
                 "undefined, so merge them into one VirtualService",
                 names.data, b[k].host);
    }
    mp_buf_free(&names);
    i = j;
  }
  mp_free(b);
}

/* ---- IST0132 ----------------------------------------------------------------------------------
 */

/* Whether a Gateway server host admits a VirtualService host from namespace vs_ns.
 * Server hosts are "host", "ns/host", "./host" or "*\/host". */
static bool gateway_host_admits(const char *gw_ns, const char *server_host, const char *vs_ns,
                                const char *vs_host) {
  const char *slash = strchr(server_host, '/');
  if (slash) {
    size_t n = (size_t)(slash - server_host);
    bool any = n == 1 && server_host[0] == '*';
    bool here = n == 1 && server_host[0] == '.';
    if (!any && here && strcmp(gw_ns, vs_ns) != 0) return false;
    if (!any && !here && (strlen(vs_ns) != n || strncmp(server_host, vs_ns, n) != 0)) return false;
    server_host = slash + 1;
  }
  return mp__hosts_match(server_host, vs_host);
}

void mp__rule_ist0132(mp__ctx *cx) {
  size_t n;
  const mp__res **vss = mp__list(cx, MP__K_VIRTUALSERVICE, &n);
  for (size_t i = 0; i < n; i++) {
    const mp__res *vs = vss[i];
    const mp_yaml_node *gws = mp_yaml_get(vs->spec, "gateways");
    const mp_yaml_node *hosts = mp_yaml_get(vs->spec, "hosts");
    for (size_t g = 0; g < mp_yaml_len(gws); g++) {
      const char *ref = mp_yaml_str(mp_yaml_at(gws, g)), *ns, *name;
      if (!ref || strcmp(ref, "mesh") == 0) continue;
      const mp__res *gw = resolve_gateway(cx, vs, ref, &ns, &name);
      if (!gw) continue; /* IST0101 already says it is missing */
      bool served = false;
      const mp_yaml_node *servers = mp_yaml_get(gw->spec, "servers");
      for (size_t s = 0; s < mp_yaml_len(servers) && !served; s++) {
        const mp_yaml_node *sh = mp_yaml_get(mp_yaml_at(servers, s), "hosts");
        for (size_t k = 0; k < mp_yaml_len(sh) && !served; k++)
          for (size_t h = 0; h < mp_yaml_len(hosts) && !served; h++)
            served = gateway_host_admits(
                gw->ns, mp_yaml_str(mp_yaml_at(sh, k)) ? mp_yaml_str(mp_yaml_at(sh, k)) : "",
                vs->ns, mp_yaml_str(mp_yaml_at(hosts, h)));
      }
      if (served) continue;
      mp_buf list = {0};
      for (size_t h = 0; h < mp_yaml_len(hosts); h++) {
        const char *host = mp_yaml_str(mp_yaml_at(hosts, h));
        mp_buf_printf(&list, "%s%s", list.len ? ", " : "", host ? host : "?");
      }
      mp__report(cx, vs, mp_yaml_at(gws, g)->line,
                 "Gateway %s/%s serves none of this VirtualService's hosts [%s]; add them to "
                 "one of its servers or fix the hosts",
                 gw->ns, gw->name, list.data ? list.data : "");
      mp_buf_free(&list);
    }
  }
}
