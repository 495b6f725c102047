/* What one workload's sidecar must do, resolved from the model: the TrafficTargets whose
 * destination is its service account (with their sources and HTTP matches), the Services
 * it can call with their endpoints, and TrafficSplits with integer weights. The proxy
 * renders configuration from this view and nothing else. */
#include <string.h>
#include <unistd.h>

#include "host.h"

#define WEIGHT_MAX 256

static const mp__hroutegroup *group(const mp__hmodel *m, const char *ns, const char *name) {
  for (size_t i = 0; i < m->n_groups; i++)
    if (!strcmp(m->groups[i].ns, ns) && !strcmp(m->groups[i].name, name)) return &m->groups[i];
  return NULL;
}

static const mp__htcproute *tcproute(const mp__hmodel *m, const char *ns, const char *name) {
  for (size_t i = 0; i < m->n_tcp; i++)
    if (!strcmp(m->tcp[i].ns, ns) && !strcmp(m->tcp[i].name, name)) return &m->tcp[i];
  return NULL;
}

static bool listed(const char *const *names, const char *s) {
  for (; names && *names; names++)
    if (!strcmp(*names, s)) return true;
  return false;
}

/* Appends the matches of group g (only those named in names, all when names is NULL). */
static void add_matches(mp_arena *a, const mp__hroutegroup *g, const char *const *names,
                        mp_adapter_host_match **out, size_t *n) {
  for (size_t i = 0; i < g->n; i++) {
    if (names && !listed(names, g->names[i])) continue;
    mp_adapter_host_match *grown = mp_arena_alloc(a, (*n + 1) * sizeof *grown);
    if (*n) memcpy(grown, *out, *n * sizeof *grown);
    grown[(*n)++] = g->matches[i];
    *out = grown;
  }
}

/* The allow entry of TrafficTarget t for workload w; false when t admits nothing there. */
static bool resolve_target(const mp__hmodel *m, const mp__htarget *t, const mp__hworkload *w,
                           mp_adapter_host_allow *out) {
  mp_arena *a = (mp_arena *)&m->arena;
  if (strcmp(t->dest_sa, w->sa) || strcmp(t->dest_ns, w->ns)) return false;
  if (t->dest_port && t->dest_port != w->spec_port) return false;
  bool any_tcp = false, port_ok = false, any_http = false;
  mp_adapter_host_match *matches = NULL;
  size_t n = 0;
  for (size_t i = 0; i < t->n_rules; i++) {
    const mp__hrule *r = &t->rules[i];
    if (!strcmp(r->kind, "TCPRoute")) {
      any_tcp = true;
      const mp__htcproute *tr = tcproute(m, t->ns, r->name);
      for (size_t j = 0; tr && j < tr->n_ports && !port_ok; j++)
        port_ok = tr->ports[j] == w->spec_port;
      if (tr && !tr->n_ports) port_ok = true;
    } else {
      any_http = true;
      const mp__hroutegroup *g = group(m, t->ns, r->name);
      if (g) add_matches(a, g, r->matches, &matches, &n);
    }
  }
  if (any_tcp && !port_ok) return false;
  if (any_http && n == 0) return false; /* the route groups it names do not exist (yet) */
  *out =
      (mp_adapter_host_allow){mp_arena_printf(a, "%s/%s", t->ns, t->name), t->sources, matches, n};
  return true;
}

static unsigned long gcd(unsigned long a, unsigned long b) {
  while (b) {
    unsigned long t = a % b;
    a = b;
    b = t;
  }
  return a;
}

/* Scales weights (zeros dropped by the caller) to whole numbers in 1..WEIGHT_MAX with the
 * same ratios where possible: divided by their gcd, then scaled down when still too big. */
static void normalize(mp_adapter_host_endpoint *e, unsigned long *w, size_t n) {
  unsigned long g = 0, max = 0;
  for (size_t i = 0; i < n; i++) g = gcd(g, w[i]);
  for (size_t i = 0; i < n; i++) {
    w[i] /= g ? g : 1;
    if (w[i] > max) max = w[i];
  }
  for (size_t i = 0; i < n; i++) {
    unsigned long v = max > WEIGHT_MAX ? (w[i] * WEIGHT_MAX + max / 2) / max : w[i];
    e[i].weight = (unsigned)(v ? v : 1);
  }
}

static const char *address_of(mp__host *h, const mp__hworkload *w, mp_arena *a) {
  mp__hside *s = mp__host_side(h, w->ns, w->name);
  return s ? mp_arena_printf(a, "127.0.0.1:%d", s->inbound) : NULL;
}

/* The endpoints of service s: every workload it selects, weight 1. */
static size_t endpoints_of(mp__host *h, const mp__hmodel *m, const mp__hservice *s,
                           mp_adapter_host_endpoint **out) {
  mp_arena *a = (mp_arena *)&m->arena;
  *out = mp_arena_alloc(a, (m->n_workloads + 1) * sizeof **out);
  size_t n = 0;
  for (size_t i = 0; i < m->n_workloads; i++) {
    const mp__hworkload *w = &m->workloads[i];
    const char *addr = mp__hselects(s, w) ? address_of(h, w, a) : NULL;
    if (addr)
      (*out)[n++] =
          (mp_adapter_host_endpoint){addr, mp_arena_printf(a, "%s/%s", w->ns, w->name), 1};
  }
  return n;
}

/* The weighted endpoints of a split: each backend's weight shared by its endpoints. */
static void resolve_split(mp__host *h, const mp__hmodel *m, const mp__hsplit *sp,
                          mp_adapter_host_route *r) {
  mp_arena *a = (mp_arena *)&m->arena;
  size_t cap = m->n_workloads * sp->n_backends + 1, n = 0;
  mp_adapter_host_endpoint *e = mp_arena_alloc(a, cap * sizeof *e);
  unsigned long *w = mp_arena_alloc(a, cap * sizeof *w);
  /* A backend with k endpoints gives each weight * L / k, L the lcm of the k's. */
  unsigned long l = 1;
  for (size_t b = 0; b < sp->n_backends; b++) {
    const mp__hservice *s = mp__hmodel_service(m, sp->ns, sp->backends[b].service);
    mp_adapter_host_endpoint *eps;
    size_t k = s ? endpoints_of(h, m, s, &eps) : 0;
    if (k && sp->backends[b].weight > 0 && l < 1000000) l = l / gcd(l, k) * k;
  }
  for (size_t b = 0; b < sp->n_backends; b++) {
    if (sp->backends[b].weight <= 0) continue;
    const mp__hservice *s = mp__hmodel_service(m, sp->ns, sp->backends[b].service);
    mp_adapter_host_endpoint *eps;
    size_t k = s ? endpoints_of(h, m, s, &eps) : 0;
    for (size_t i = 0; i < k && n < cap; i++) {
      e[n] = eps[i];
      w[n++] = (unsigned long)sp->backends[b].weight * (l / k);
    }
  }
  normalize(e, w, n);
  r->split_endpoints = e;
  r->n_split = n;
  r->split_matches = NULL;
  r->n_split_matches = 0;
  if (!n) {
    /* Every backend has weight 0 or no endpoint: nothing may be sent anywhere. */
    r->split_endpoints = NULL;
    r->n_split = 0;
    r->n_endpoints = 0;
    return;
  }
  mp_adapter_host_match *mt = NULL;
  size_t nm = 0;
  for (size_t i = 0; sp->matches && sp->matches[i]; i++) {
    const mp__hroutegroup *g = group(m, sp->ns, sp->matches[i]);
    if (g) add_matches(a, g, NULL, &mt, &nm);
  }
  r->split_matches = mt;
  r->n_split_matches = nm;
}

static mp_status resolve_route(mp__host *h, const mp__hmodel *m, const mp__hworkload *from,
                               const mp__hservice *s, size_t index, mp_adapter_host_route *r) {
  mp_arena *a = (mp_arena *)&m->arena;
  memset(r, 0, sizeof *r);
  r->service = s->name;
  r->ns = s->ns;
  /* [a-z0-9_] only (nginx variable names), unique by the index. */
  char *key = mp_arena_printf(a, "%s_%s_%zu", s->ns, s->name, index);
  for (char *k = key; *k; k++)
    if (*k == '-') *k = '_';
  r->key = key;
  const char **hosts = mp_arena_alloc(a, 5 * sizeof *hosts);
  size_t nh = 0;
  if (!strcmp(s->ns, from->ns)) hosts[nh++] = s->name;
  hosts[nh++] = mp_arena_printf(a, "%s.%s", s->name, s->ns);
  hosts[nh++] = mp_arena_printf(a, "%s.%s.svc", s->name, s->ns);
  hosts[nh++] = mp_arena_printf(a, "%s.%s.svc.cluster.local", s->name, s->ns);
  r->hosts = hosts;
  r->tls_name = hosts[nh - 2];
  mp_adapter_host_endpoint *eps;
  r->n_endpoints = endpoints_of(h, m, s, &eps);
  r->endpoints = eps;
  for (size_t i = 0; i < m->n_splits; i++) {
    const mp__hsplit *sp = &m->splits[i];
    if (!strcmp(sp->ns, s->ns) && !strcmp(sp->root, s->name)) {
      resolve_split(h, m, sp, r);
      break; /* one split per root service; the first applied wins */
    }
  }
  return MP_OK;
}

mp_status mp__hsidecar_view(mp__host *h, const mp__hmodel *m, const mp__hworkload *w,
                            const mp__hside *side, mp_adapter_host_sidecar *out) {
  mp_arena *a = (mp_arena *)&m->arena;
  char *dir = mp__hpath(h, "sidecars/%s/%s", w->ns, w->name);
  char *ca = mp__hpath(h, "ca/ca.crt");
  *out = (mp_adapter_host_sidecar){
      .name = w->name,
      .ns = w->ns,
      .identity = w->identity,
      .dir = mp_arena_strdup(a, dir),
      .cert = mp_arena_printf(a, "%s/cert.pem", dir),
      .key = mp_arena_printf(a, "%s/key.pem", dir),
      .cert_key = mp_arena_printf(a, "%s/cert-key.pem", dir),
      .ca = mp_arena_strdup(a, ca),
      .listen_ip = "127.0.0.1",
      .inbound_port = side->inbound,
      .outbound_port = side->outbound,
      .app_address = w->address,
      .mtls = h->mtls,
      .access_control = h->access,
      .as_root = geteuid() == 0,
      .admin_host = MP__HOST_ADMIN,
      .generation = side->generation,
  };
  mp_free(dir);
  mp_free(ca);
  mp_adapter_host_allow *allow = mp_arena_alloc(a, (m->n_targets + 1) * sizeof *allow);
  size_t na = 0;
  for (size_t i = 0; i < m->n_targets; i++)
    if (resolve_target(m, &m->targets[i], w, &allow[na])) na++;
  out->allow = allow;
  out->n_allow = na;
  mp_adapter_host_route *routes = mp_arena_alloc(a, (m->n_services + 1) * sizeof *routes);
  for (size_t i = 0; i < m->n_services; i++) {
    mp_status st = resolve_route(h, m, w, &m->services[i], i, &routes[i]);
    if (st != MP_OK) return st;
  }
  out->routes = routes;
  out->n_routes = m->n_services;
  return MP_OK;
}

static void add_dns(mp_arena *a, const char **list, size_t *n, const char *name) {
  for (size_t i = 0; i < *n; i++)
    if (!strcmp(list[i], name)) return;
  list[(*n)++] = mp_arena_strdup(a, name);
}

const char **mp__hsidecar_dns(const mp__hmodel *m, const mp__hworkload *w) {
  mp_arena *a = (mp_arena *)&m->arena;
  const char **dns = mp_arena_alloc(a, (m->n_services + m->n_splits + 1) * sizeof *dns);
  size_t n = 0;
  for (size_t i = 0; i < m->n_services; i++) {
    const mp__hservice *s = &m->services[i];
    if (!mp__hselects(s, w)) continue;
    char *name = mp_asprintf("%s.%s.svc", s->name, s->ns);
    add_dns(a, dns, &n, name);
    mp_free(name);
    for (size_t j = 0; j < m->n_splits; j++) {
      const mp__hsplit *sp = &m->splits[j];
      for (size_t b = 0; b < sp->n_backends; b++) {
        if (strcmp(sp->ns, s->ns) || strcmp(sp->backends[b].service, s->name)) continue;
        char *root = mp_asprintf("%s.%s.svc", sp->root, sp->ns);
        add_dns(a, dns, &n, root);
        mp_free(root);
      }
    }
  }
  /* Sorted, so that the certificate check compares like with like. */
  for (size_t i = 1; i < n; i++)
    for (size_t j = i; j > 0 && strcmp(dns[j - 1], dns[j]) > 0; j--) {
      const char *t = dns[j];
      dns[j] = dns[j - 1];
      dns[j - 1] = t;
    }
  return dns;
}
