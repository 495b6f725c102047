/* The host platform's desired state: the store of applied objects (as JSON), and the model
 * parsed from it. The same parser checks objects as they are applied (so errors name the
 * request's lines) and rebuilds the model from the store. Everything the model holds
 * reaches proxy configurations, so names, regexes, methods and header names are checked
 * here: names are RFC 1123, strings carry no control characters or quotes that could end
 * a configuration token. */
#include <stdio.h>
#include <string.h>

#include "host.h"

#define ARGS_MAX 32
#define REGEX_MAX 1024

/* ---- the store -------------------------------------------------------------------------- */

void mp__hstore_free(mp__hstore *s) {
  for (size_t i = 0; i < s->n; i++) {
    mp_free(s->objs[i].kind);
    mp_free(s->objs[i].ns);
    mp_free(s->objs[i].name);
    mp_free(s->objs[i].json);
  }
  mp_free(s->objs);
  memset(s, 0, sizeof *s);
}

void mp__hstore_put(mp__hstore *s, const char *kind, const char *ns, const char *name,
                    const char *json) {
  for (size_t i = 0; i < s->n; i++) {
    mp__hobj *o = &s->objs[i];
    if (!strcmp(o->kind, kind) && !strcmp(o->ns, ns) && !strcmp(o->name, name)) {
      mp_free(o->json);
      o->json = mp_strdup(json);
      return;
    }
  }
  if (s->n == s->cap) {
    s->cap = s->cap ? s->cap * 2 : 16;
    s->objs = mp_realloc(s->objs, s->cap * sizeof *s->objs);
  }
  s->objs[s->n++] = (mp__hobj){mp_strdup(kind), mp_strdup(ns), mp_strdup(name), mp_strdup(json)};
}

bool mp__hstore_del(mp__hstore *s, const char *kind, const char *ns, const char *name) {
  for (size_t i = 0; i < s->n; i++) {
    mp__hobj *o = &s->objs[i];
    if (!strcmp(o->kind, kind) && !strcmp(o->ns, ns) && !strcmp(o->name, name)) {
      mp_free(o->kind);
      mp_free(o->ns);
      mp_free(o->name);
      mp_free(o->json);
      memmove(o, o + 1, (s->n - i - 1) * sizeof *o);
      s->n--;
      return true;
    }
  }
  return false;
}

void mp__hstore_copy(const mp__hstore *from, mp__hstore *to) {
  memset(to, 0, sizeof *to);
  for (size_t i = 0; i < from->n; i++) {
    const mp__hobj *o = &from->objs[i];
    mp__hstore_put(to, o->kind, o->ns, o->name, o->json);
  }
}

/* ---- checks ------------------------------------------------------------------------------- */

bool mp__hname_ok(const char *s) { return mp_adapter_valid_namespace(s); }

/* A DNS subdomain (SMI object names may hold dots). */
static bool subdomain_ok(const char *s) {
  size_t n = strlen(s);
  if (!n || n > 253 || s[0] == '-' || s[0] == '.' || s[n - 1] == '-' || s[n - 1] == '.')
    return false;
  for (size_t i = 0; i < n; i++)
    if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-' ||
          s[i] == '.'))
      return false;
  return true;
}

/* Text that may reach a quoted configuration token: printable ASCII, no quotes. */
static bool text_ok(const char *s, size_t max) {
  size_t n = 0;
  for (; s[n]; n++)
    if ((unsigned char)s[n] < 0x20 || (unsigned char)s[n] > 0x7e || s[n] == '"' || s[n] == '\'')
      return false;
  return n <= max;
}

static bool token_ok(const char *s, size_t max, bool upper_only) {
  size_t n = strlen(s);
  if (!n || n > max) return false;
  for (size_t i = 0; i < n; i++) {
    char c = s[i];
    bool ok =
        (c >= 'A' && c <= 'Z') ||
        (!upper_only && ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_'));
    if (!ok) return false;
  }
  return true;
}

static const char *const known_kinds[] = {"Service",   "Deployment",    "ServiceAccount",
                                          "Namespace", "TrafficTarget", "HTTPRouteGroup",
                                          "TCPRoute",  "TrafficSplit",  NULL};

bool mp__hkind_known(const char *kind) {
  for (const char *const *k = known_kinds; *k; k++)
    if (!strcmp(*k, kind)) return true;
  return false;
}

/* The API versions each kind is read from. */
static bool version_ok(const char *kind, const char *av) {
  static const struct {
    const char *kind, *const versions[4];
  } table[] = {
      {"Service", {"v1"}},
      {"ServiceAccount", {"v1"}},
      {"Namespace", {"v1"}},
      {"Deployment", {"apps/v1"}},
      {"TrafficTarget", {"access.smi-spec.io/v1alpha3", "access.smi-spec.io/v1alpha2"}},
      {"HTTPRouteGroup", {"specs.smi-spec.io/v1alpha4", "specs.smi-spec.io/v1alpha3"}},
      {"TCPRoute", {"specs.smi-spec.io/v1alpha4", "specs.smi-spec.io/v1alpha3"}},
      {"TrafficSplit",
       {"split.smi-spec.io/v1alpha4", "split.smi-spec.io/v1alpha3", "split.smi-spec.io/v1alpha2"}},
  };
  for (size_t i = 0; i < MP_ARRAY_LEN(table); i++) {
    if (strcmp(table[i].kind, kind)) continue;
    for (size_t j = 0; j < 4 && table[i].versions[j]; j++)
      if (!strcmp(table[i].versions[j], av)) return true;
    return false;
  }
  return true; /* kinds without effect: any version */
}

mp_status mp__hobj_check(mp_arena *a, const mp_yaml_node *doc, const char *default_ns,
                         const char **kind, const char **ns, const char **name) {
  int line = mp_yaml_line(doc, 1);
  if (!mp_yaml_is_map(doc))
    return mp_error_set(MP_ERR_INVALID, "line %d: a document is not a mapping", line);
  const char *av = mp_yaml_gets(doc, "apiVersion"), *k = mp_yaml_gets(doc, "kind");
  const mp_yaml_node *meta = mp_yaml_get(doc, "metadata");
  const char *nm = mp_yaml_gets(meta, "name"), *n = mp_yaml_gets(meta, "namespace");
  if (!av || !k || !*k)
    return mp_error_set(MP_ERR_INVALID, "line %d: the document lacks apiVersion or kind", line);
  if (!token_ok(k, 63, false))
    return mp_error_set(MP_ERR_INVALID, "line %d: kind \"%.63s\" is not a kind", line, k);
  if (!nm || !*nm) return mp_error_set(MP_ERR_INVALID, "line %d: %s lacks metadata.name", line, k);
  if (!n || !*n) n = default_ns;
  if (!mp_adapter_valid_namespace(n))
    return mp_error_set(MP_ERR_INVALID, "line %d: %s %.63s: namespace \"%.63s\" is not valid", line,
                        k, nm, n);
  bool workload = !strcmp(k, "Deployment") || !strcmp(k, "Service") || !strcmp(k, "Namespace");
  if (workload ? !mp__hname_ok(nm) : !subdomain_ok(nm))
    return mp_error_set(MP_ERR_INVALID,
                        "line %d: %s name \"%.63s\" is not valid (lower-case letters, digits "
                        "and '-'%s)",
                        line, k, nm, workload ? ", at most 63" : " and '.'");
  if (!version_ok(k, av))
    return mp_error_set(MP_ERR_INVALID,
                        "line %d: %s %s/%s: apiVersion %.63s is not one the host platform reads "
                        "(access.smi-spec.io/v1alpha3, specs.smi-spec.io/v1alpha4, "
                        "split.smi-spec.io/v1alpha4, apps/v1, v1)",
                        line, k, n, nm, av);
  *kind = mp_arena_strdup(a, k);
  *ns = mp_arena_strdup(a, n);
  *name = mp_arena_strdup(a, nm);
  return MP_OK;
}

/* ---- parsing one object into the model ------------------------------------------------------ */

typedef struct pctx {
  mp__hmodel *m;
  const char *td, *kind, *ns, *name;
} pctx;

MP_PRINTF(3, 4)
static mp_status bad(const pctx *c, const mp_yaml_node *at, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char *msg = mp_vasprintf(fmt, ap);
  va_end(ap);
  mp_status st = mp_error_set(MP_ERR_INVALID, "line %d: %s %s/%s: %s", mp_yaml_line(at, 1), c->kind,
                              c->ns, c->name, msg);
  mp_free(msg);
  return st;
}

/* Grows an arena array by one element (copying; arrays are small). */
static void *grow(mp_arena *a, void *arr, size_t n, size_t size) {
  void *p = mp_arena_alloc(a, (n + 1) * size);
  if (n) memcpy(p, arr, n * size);
  return p;
}

static mp_status labels_of(const pctx *c, const mp_yaml_node *map, const char *what, mp__hkv **out,
                           size_t *n) {
  *out = NULL;
  *n = 0;
  if (!map) return MP_OK;
  if (!mp_yaml_is_map(map)) return bad(c, map, "%s must be a mapping", what);
  size_t np = mp_yaml_npairs(map);
  *out = mp_arena_alloc(&c->m->arena, (np + 1) * sizeof **out);
  for (size_t i = 0; i < np; i++) {
    const char *k = mp_yaml_str(mp_yaml_key(map, i)), *v = mp_yaml_str(mp_yaml_val(map, i));
    if (!k || !v || !text_ok(k, 317) || !text_ok(v, 63))
      return bad(c, mp_yaml_val(map, i), "%s entries must be short strings", what);
    (*out)[(*n)++] = (mp__hkv){k, v};
  }
  return MP_OK;
}

static bool is_sample_image(const char *image) {
  const char *p = strstr(image, MP__HOST_SAMPLE_IMAGE);
  if (!p || (p != image && p[-1] != '/')) return false;
  p += strlen(MP__HOST_SAMPLE_IMAGE);
  return *p == '\0' || *p == ':' || *p == '@';
}

/* "a.b.c.d:port" with a numeric IPv4 address. */
static bool address_ok(const char *s, int *port) {
  unsigned a, b, c, d;
  int p, used = 0;
  if (sscanf(s, "%3u.%3u.%3u.%3u:%5d%n", &a, &b, &c, &d, &p, &used) != 5 || s[used] || a > 255 ||
      b > 255 || c > 255 || d > 255 || p < 1 || p > 65535)
    return false;
  *port = p;
  return true;
}

static mp_status parse_deployment(pctx *c, const mp_yaml_node *doc) {
  mp_arena *a = &c->m->arena;
  const mp_yaml_node *tmpl = mp_yaml_path(doc, "spec", "template", NULL);
  const mp_yaml_node *pod = mp_yaml_get(tmpl, "spec");
  mp__hworkload w = {.ns = c->ns, .name = c->name};
  const mp_yaml_node *labels = mp_yaml_path(tmpl, "metadata", "labels", NULL);
  if (!labels) labels = mp_yaml_path(doc, "spec", "selector", "matchLabels", NULL);
  mp_status st = labels_of(c, labels, "the pod template's labels", &w.labels, &w.n_labels);
  if (st != MP_OK) return st;
  const char *sa = mp_yaml_gets(pod, "serviceAccountName");
  if (!sa) sa = mp_yaml_gets(pod, "serviceAccount");
  if (!sa || !*sa) sa = "default";
  if (!mp__hname_ok(sa)) return bad(c, pod, "serviceAccountName \"%.63s\" is not a valid name", sa);
  w.sa = sa;
  w.identity = mp__hidentity(a, c->td, c->ns, sa);
  const mp_yaml_node *ctr = mp_yaml_at(mp_yaml_get(pod, "containers"), 0);
  if (!mp_yaml_is_map(ctr)) return bad(c, doc, "spec.template.spec.containers is empty");
  const char *image = mp_yaml_gets(ctr, "image");
  long cport = 0;
  mp_yaml_int(mp_yaml_get(mp_yaml_at(mp_yaml_get(ctr, "ports"), 0), "containerPort"), &cport);
  const char *addr =
      mp_yaml_gets(mp_yaml_path(tmpl, "metadata", "annotations", NULL), MP__HOST_ANN_ADDRESS);
  if (!addr)
    addr = mp_yaml_gets(mp_yaml_path(doc, "metadata", "annotations", NULL), MP__HOST_ANN_ADDRESS);
  w.run = image && is_sample_image(image);
  w.spec_port = cport > 0 && cport <= 65535 ? (int)cport : 0;
  if (addr) {
    if (!address_ok(addr, &w.port))
      return bad(c, doc, "annotation %s: \"%.64s\" is not IPv4:port", MP__HOST_ANN_ADDRESS, addr);
    w.address = mp_arena_strdup(a, addr);
    w.fixed_address = true;
    if (!w.spec_port) w.spec_port = w.port;
  } else if (!w.run) {
    if (cport < 1 || cport > 65535)
      return bad(c, ctr,
                 "the host platform needs the app's address: annotate the pod template with "
                 "%s: \"127.0.0.1:PORT\", or give the container a containerPort",
                 MP__HOST_ANN_ADDRESS);
    w.port = (int)cport;
    w.address = mp_arena_printf(a, "127.0.0.1:%ld", cport);
    w.fixed_address = true;
  }
  const mp_yaml_node *args = mp_yaml_get(ctr, "args");
  if (w.run) {
    size_t n = mp_yaml_len(args);
    if (n > ARGS_MAX) return bad(c, args, "more than %d container args", ARGS_MAX);
    w.args = mp_arena_alloc(a, (n + 1) * sizeof *w.args);
    for (size_t i = 0; i < n; i++) {
      const char *s = mp_yaml_str(mp_yaml_at(args, i));
      if (!s || !text_ok(s, 256)) return bad(c, args, "container args must be short strings");
      w.args[i] = s;
    }
  }
  c->m->workloads = grow(a, c->m->workloads, c->m->n_workloads, sizeof w);
  c->m->workloads[c->m->n_workloads++] = w;
  return MP_OK;
}

static mp_status parse_service(pctx *c, const mp_yaml_node *doc) {
  mp_arena *a = &c->m->arena;
  mp__hservice s = {.ns = c->ns, .name = c->name};
  mp_status st = labels_of(c, mp_yaml_path(doc, "spec", "selector", NULL), "spec.selector",
                           &s.selector, &s.n_selector);
  if (st != MP_OK) return st;
  const mp_yaml_node *ports = mp_yaml_path(doc, "spec", "ports", NULL);
  s.ports = mp_arena_alloc(a, (mp_yaml_len(ports) + 1) * sizeof *s.ports);
  for (size_t i = 0; i < mp_yaml_len(ports); i++) {
    long p = 0;
    if (!mp_yaml_int(mp_yaml_get(mp_yaml_at(ports, i), "port"), &p) || p < 1 || p > 65535)
      return bad(c, mp_yaml_at(ports, i), "spec.ports[%zu].port must be 1..65535", i);
    s.ports[s.n_ports++] = (int)p;
  }
  c->m->services = grow(a, c->m->services, c->m->n_services, sizeof s);
  c->m->services[c->m->n_services++] = s;
  return MP_OK;
}

/* A NULL-terminated array of the scalars of seq, each checked with ok(). */
static mp_status strings_of(const pctx *c, const mp_yaml_node *seq, const char *what,
                            bool (*ok)(const char *), const char ***out) {
  *out = NULL;
  if (!seq) return MP_OK;
  if (!mp_yaml_is_seq(seq)) return bad(c, seq, "%s must be a list", what);
  size_t n = mp_yaml_len(seq);
  *out = mp_arena_alloc(&c->m->arena, (n + 1) * sizeof **out);
  for (size_t i = 0; i < n; i++) {
    const char *s = mp_yaml_str(mp_yaml_at(seq, i));
    if (!s || !ok(s)) return bad(c, mp_yaml_at(seq, i), "%s[%zu] is not valid", what, i);
    (*out)[i] = s;
  }
  return MP_OK;
}

static bool method_ok(const char *s) { return !strcmp(s, "*") || token_ok(s, 20, true); }
static bool match_name_ok(const char *s) { return text_ok(s, 253) && *s; }

/* One header filter: name (token) and value regex. */
static mp_status add_header(const pctx *c, const mp_yaml_node *k, const mp_yaml_node *v,
                            const char **hdrs, size_t *n) {
  const char *name = mp_yaml_str(k), *re = mp_yaml_str(v);
  if (!name || !token_ok(name, 64, false))
    return bad(c, k, "header name \"%.64s\" is not a token", name ? name : "");
  if (!re || !text_ok(re, REGEX_MAX))
    return bad(c, v,
               "the regex for header %s has quotes or control characters, or is over %d "
               "bytes",
               name, REGEX_MAX);
  hdrs[(*n)++] = name;
  hdrs[(*n)++] = re;
  return MP_OK;
}

static mp_status parse_match(const pctx *c, const mp_yaml_node *mn, const char **name,
                             mp_adapter_host_match *out) {
  mp_arena *a = &c->m->arena;
  *name = mp_yaml_gets(mn, "name");
  if (!mp_yaml_is_map(mn) || !*name || !match_name_ok(*name))
    return bad(c, mn, "every spec.matches entry needs a name");
  const char *re = mp_yaml_gets(mn, "pathRegex");
  if (re && !text_ok(re, REGEX_MAX))
    return bad(c, mn, "match %s: pathRegex has quotes or control characters, or is over %d bytes",
               *name, REGEX_MAX);
  out->path_regex = re && *re ? re : NULL;
  const char **methods;
  mp_status st = strings_of(c, mp_yaml_get(mn, "methods"), "methods", method_ok, &methods);
  if (st != MP_OK) return st;
  for (size_t i = 0; methods && methods[i]; i++)
    if (!strcmp(methods[i], "*")) methods = NULL; /* any method */
  out->methods = methods;
  const mp_yaml_node *h = mp_yaml_get(mn, "headers");
  size_t cap = 2 * (mp_yaml_npairs(h) + mp_yaml_len(h)) + 1, n = 0;
  const char **hdrs = mp_arena_alloc(a, cap * sizeof *hdrs);
  if (mp_yaml_is_map(h)) { /* v1alpha4: name: regex */
    for (size_t i = 0; i < mp_yaml_npairs(h) && st == MP_OK; i++)
      st = add_header(c, mp_yaml_key(h, i), mp_yaml_val(h, i), hdrs, &n);
  } else if (mp_yaml_is_seq(h)) { /* v1alpha3: a list of one-pair mappings */
    for (size_t i = 0; i < mp_yaml_len(h) && st == MP_OK; i++) {
      const mp_yaml_node *one = mp_yaml_at(h, i);
      if (mp_yaml_npairs(one) != 1) return bad(c, one, "headers[%zu] must be one name: regex", i);
      st = add_header(c, mp_yaml_key(one, 0), mp_yaml_val(one, 0), hdrs, &n);
    }
  } else if (h && h->type != MP_YAML_NULL) {
    return bad(c, h, "headers must be a mapping of header names to regexes");
  }
  out->headers = n ? (const char *const *)hdrs : NULL;
  return st;
}

static mp_status parse_routegroup(pctx *c, const mp_yaml_node *doc) {
  mp_arena *a = &c->m->arena;
  const mp_yaml_node *ms = mp_yaml_path(doc, "spec", "matches", NULL);
  if (!ms) ms = mp_yaml_get(doc, "matches"); /* v1alpha2 layout */
  size_t n = mp_yaml_len(ms);
  if (!n) return bad(c, doc, "spec.matches must list at least one match");
  mp__hroutegroup g = {.ns = c->ns, .name = c->name, .n = n};
  g.names = mp_arena_alloc(a, n * sizeof *g.names);
  g.matches = mp_arena_alloc(a, n * sizeof *g.matches);
  for (size_t i = 0; i < n; i++) {
    mp_status st = parse_match(c, mp_yaml_at(ms, i), &g.names[i], &g.matches[i]);
    if (st != MP_OK) return st;
  }
  c->m->groups = grow(a, c->m->groups, c->m->n_groups, sizeof g);
  c->m->groups[c->m->n_groups++] = g;
  return MP_OK;
}

static mp_status parse_tcproute(pctx *c, const mp_yaml_node *doc) {
  mp_arena *a = &c->m->arena;
  const mp_yaml_node *ports = mp_yaml_path(doc, "spec", "matches", "ports", NULL);
  mp__htcproute t = {.ns = c->ns, .name = c->name};
  t.ports = mp_arena_alloc(a, (mp_yaml_len(ports) + 1) * sizeof *t.ports);
  for (size_t i = 0; i < mp_yaml_len(ports); i++) {
    long p;
    if (!mp_yaml_int(mp_yaml_at(ports, i), &p) || p < 1 || p > 65535)
      return bad(c, mp_yaml_at(ports, i), "spec.matches.ports[%zu] must be 1..65535", i);
    t.ports[t.n_ports++] = p;
  }
  c->m->tcp = grow(a, c->m->tcp, c->m->n_tcp, sizeof t);
  c->m->tcp[c->m->n_tcp++] = t;
  return MP_OK;
}

/* A ServiceAccount reference: its name and namespace (default: the object's). */
static mp_status sa_ref(const pctx *c, const mp_yaml_node *n, const char *what, const char **sa,
                        const char **ns) {
  const char *kind = mp_yaml_gets(n, "kind");
  *sa = mp_yaml_gets(n, "name");
  *ns = mp_yaml_gets(n, "namespace");
  if (!*ns || !**ns) *ns = c->ns;
  if (kind && strcmp(kind, "ServiceAccount"))
    return bad(c, n, "%s: kind %.63s is not supported (ServiceAccount only)", what, kind);
  if (!*sa || !mp__hname_ok(*sa) || !mp_adapter_valid_namespace(*ns))
    return bad(c, n, "%s needs a valid ServiceAccount name and namespace", what);
  return MP_OK;
}

static mp_status parse_target(pctx *c, const mp_yaml_node *doc) {
  mp_arena *a = &c->m->arena;
  const mp_yaml_node *spec = mp_yaml_get(doc, "spec");
  mp__htarget t = {.ns = c->ns, .name = c->name};
  const mp_yaml_node *dest = mp_yaml_get(spec, "destination");
  mp_status st = sa_ref(c, dest, "spec.destination", &t.dest_sa, &t.dest_ns);
  if (st != MP_OK) return st;
  const mp_yaml_node *dp = mp_yaml_get(dest, "port");
  if (dp && (!mp_yaml_int(dp, &t.dest_port) || t.dest_port < 1 || t.dest_port > 65535))
    return bad(c, dp, "spec.destination.port must be 1..65535");
  const mp_yaml_node *rules = mp_yaml_get(spec, "rules");
  t.n_rules = mp_yaml_len(rules);
  if (!t.n_rules) return bad(c, spec, "spec.rules must list at least one rule");
  t.rules = mp_arena_alloc(a, t.n_rules * sizeof *t.rules);
  for (size_t i = 0; i < t.n_rules; i++) {
    const mp_yaml_node *r = mp_yaml_at(rules, i);
    mp__hrule *ru = &t.rules[i];
    ru->kind = mp_yaml_gets(r, "kind");
    ru->name = mp_yaml_gets(r, "name");
    if (!ru->kind || (strcmp(ru->kind, "HTTPRouteGroup") && strcmp(ru->kind, "TCPRoute")))
      return bad(c, r, "spec.rules[%zu].kind must be HTTPRouteGroup or TCPRoute", i);
    if (!ru->name || !subdomain_ok(ru->name))
      return bad(c, r, "spec.rules[%zu].name is missing or not valid", i);
    st = strings_of(c, mp_yaml_get(r, "matches"), "matches", match_name_ok, &ru->matches);
    if (st != MP_OK) return st;
  }
  const mp_yaml_node *srcs = mp_yaml_get(spec, "sources");
  size_t ns = mp_yaml_len(srcs);
  if (!ns) return bad(c, spec, "spec.sources must list at least one ServiceAccount");
  t.sources = mp_arena_alloc(a, (ns + 1) * sizeof *t.sources);
  for (size_t i = 0; i < ns; i++) {
    const char *sa, *sns;
    st = sa_ref(c, mp_yaml_at(srcs, i), "spec.sources[]", &sa, &sns);
    if (st != MP_OK) return st;
    t.sources[i] = mp__hidentity(a, c->td, sns, sa);
  }
  c->m->targets = grow(a, c->m->targets, c->m->n_targets, sizeof t);
  c->m->targets[c->m->n_targets++] = t;
  return MP_OK;
}

/* "name", or an FQDN "name.ns.svc[.cluster.local]" in namespace ns. */
static const char *service_ref(const pctx *c, const char *s) {
  const char *dot = strchr(s, '.');
  if (!dot) return mp__hname_ok(s) ? s : NULL;
  char *name = mp_arena_strndup(&c->m->arena, s, (size_t)(dot - s));
  size_t nl = strlen(c->ns);
  if (strncmp(dot + 1, c->ns, nl) || (dot[1 + nl] != '\0' && dot[1 + nl] != '.')) return NULL;
  return mp__hname_ok(name) ? name : NULL;
}

static mp_status parse_split(pctx *c, const mp_yaml_node *doc) {
  mp_arena *a = &c->m->arena;
  const mp_yaml_node *spec = mp_yaml_get(doc, "spec");
  mp__hsplit s = {.ns = c->ns, .name = c->name};
  const char *root = mp_yaml_gets(spec, "service");
  if (!root || !(s.root = service_ref(c, root)))
    return bad(c, spec, "spec.service must name a Service of namespace %s", c->ns);
  const mp_yaml_node *bs = mp_yaml_get(spec, "backends");
  s.n_backends = mp_yaml_len(bs);
  if (!s.n_backends) return bad(c, spec, "spec.backends must list at least one backend");
  s.backends = mp_arena_alloc(a, s.n_backends * sizeof *s.backends);
  for (size_t i = 0; i < s.n_backends; i++) {
    const mp_yaml_node *b = mp_yaml_at(bs, i);
    const char *svc = mp_yaml_gets(b, "service");
    if (!svc || !(s.backends[i].service = service_ref(c, svc)))
      return bad(c, b, "spec.backends[%zu].service must name a Service of namespace %s", i, c->ns);
    if (!mp_yaml_int(mp_yaml_get(b, "weight"), &s.backends[i].weight) || s.backends[i].weight < 0 ||
        s.backends[i].weight > 1000000)
      return bad(c, b, "spec.backends[%zu].weight must be a whole number 0..1000000", i);
  }
  const mp_yaml_node *ms = mp_yaml_get(spec, "matches");
  if (mp_yaml_len(ms)) {
    s.matches = mp_arena_alloc(a, (mp_yaml_len(ms) + 1) * sizeof *s.matches);
    for (size_t i = 0; i < mp_yaml_len(ms); i++) {
      const mp_yaml_node *r = mp_yaml_at(ms, i);
      const char *kind = mp_yaml_gets(r, "kind"), *name = mp_yaml_gets(r, "name");
      if ((kind && strcmp(kind, "HTTPRouteGroup")) || !name || !subdomain_ok(name))
        return bad(c, r, "spec.matches[%zu] must name an HTTPRouteGroup", i);
      s.matches[i] = name;
    }
  }
  c->m->splits = grow(a, c->m->splits, c->m->n_splits, sizeof s);
  c->m->splits[c->m->n_splits++] = s;
  return MP_OK;
}

mp_status mp__hmodel_add(mp__hmodel *m, const char *td, const mp_yaml_node *doc,
                         const char *default_ns) {
  pctx c = {.m = m, .td = td};
  mp_status st = mp__hobj_check(&m->arena, doc, default_ns, &c.kind, &c.ns, &c.name);
  if (st != MP_OK) return st;
  if (!strcmp(c.kind, "Deployment")) return parse_deployment(&c, doc);
  if (!strcmp(c.kind, "Service")) return parse_service(&c, doc);
  if (!strcmp(c.kind, "HTTPRouteGroup")) return parse_routegroup(&c, doc);
  if (!strcmp(c.kind, "TCPRoute")) return parse_tcproute(&c, doc);
  if (!strcmp(c.kind, "TrafficTarget")) return parse_target(&c, doc);
  if (!strcmp(c.kind, "TrafficSplit")) return parse_split(&c, doc);
  return MP_OK;
}

typedef struct build {
  mp__hmodel *m;
  const char *td, *ns;
  mp_status st;
} build;

static void on_doc(void *arg, mp_yaml_node *root) {
  build *b = arg;
  if (b->st == MP_OK) b->st = mp__hmodel_add(b->m, b->td, root, b->ns);
}

mp_status mp__hmodel_build(const mp__hstore *store, const char *trust_domain, mp__hmodel *m) {
  memset(m, 0, sizeof *m);
  for (size_t i = 0; i < store->n; i++) {
    const mp__hobj *o = &store->objs[i];
    build b = {m, trust_domain, o->ns, MP_OK};
    char err[256];
    int line = 0;
    if (!mp_yaml_parse(&m->arena, o->json, strlen(o->json), on_doc, &b, err, sizeof err, &line))
      b.st = mp_error_set(MP_ERR_INVALID, "stored %s %s/%s: %s", o->kind, o->ns, o->name, err);
    if (b.st != MP_OK) {
      mp__hmodel_free(m);
      return b.st;
    }
  }
  return MP_OK;
}

void mp__hmodel_free(mp__hmodel *m) {
  mp_arena_free(&m->arena);
  memset(m, 0, sizeof *m);
}

bool mp__hselects(const mp__hservice *s, const mp__hworkload *w) {
  if (strcmp(s->ns, w->ns) || !s->n_selector) return false;
  for (size_t i = 0; i < s->n_selector; i++) {
    bool found = false;
    for (size_t j = 0; j < w->n_labels && !found; j++)
      found =
          !strcmp(s->selector[i].k, w->labels[j].k) && !strcmp(s->selector[i].v, w->labels[j].v);
    if (!found) return false;
  }
  return true;
}

const mp__hservice *mp__hmodel_service(const mp__hmodel *m, const char *ns, const char *name) {
  for (size_t i = 0; i < m->n_services; i++)
    if (!strcmp(m->services[i].ns, ns) && !strcmp(m->services[i].name, name))
      return &m->services[i];
  return NULL;
}

const char *mp__hidentity(mp_arena *a, const char *td, const char *ns, const char *sa) {
  return mp_arena_printf(a, "spiffe://%s/ns/%s/sa/%s", td, ns, sa);
}
