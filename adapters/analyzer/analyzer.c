/* The public analyzer API: collecting resources from YAML buffers, running the rule
 * table over the set, and turning findings into a sorted report. */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "analyzer_internal.h"

struct mp_analyzer {
  mp_arena arena; /* trees, resources and file names: as long as the analyzer lives */
  char *default_ns;
  bool no_default_gateway;
  char **suppress;
  size_t nsuppress;
  mp__res **res;
  size_t nres, cap;
  mp__res **synth; /* the assumed ingress gateway */
  size_t nsynth, capsynth;
  mp__findings parse; /* MP0001 findings recorded by mp_analyzer_add */
  size_t files;
};

/* What the analyzer assumes every Istio install has in istio-system. */
static const char default_gateway_yaml[] =
    "apiVersion: apps/v1\n"
    "kind: Deployment\n"
    "metadata: {name: istio-ingressgateway, namespace: istio-system,\n"
    "           labels: {app: istio-ingressgateway, istio: ingressgateway}}\n"
    "spec:\n"
    "  selector: {matchLabels: {app: istio-ingressgateway, istio: ingressgateway}}\n"
    "  template:\n"
    "    metadata: {labels: {app: istio-ingressgateway, istio: ingressgateway}}\n"
    "    spec: {containers: [{name: istio-proxy, image: auto}]}\n"
    "---\n"
    "apiVersion: v1\n"
    "kind: Service\n"
    "metadata: {name: istio-ingressgateway, namespace: istio-system,\n"
    "           labels: {app: istio-ingressgateway, istio: ingressgateway}}\n"
    "spec:\n"
    "  selector: {app: istio-ingressgateway, istio: ingressgateway}\n"
    "  ports:\n"
    "  - {name: status-port, port: 15021, targetPort: 15021, protocol: TCP}\n"
    "  - {name: http2, port: 80, targetPort: 8080, protocol: TCP}\n"
    "  - {name: https, port: 443, targetPort: 8443, protocol: TCP}\n";

const char *mp_analyzer_level_str(mp_analyzer_level level) {
  switch (level) {
  case MP_ANALYZER_ERROR: return "Error";
  case MP_ANALYZER_WARNING: return "Warning";
  default: return "Info";
  }
}

mp_status mp_analyzer_level_parse(const char *s, mp_analyzer_level *out) {
  if (s && strcasecmp(s, "info") == 0)
    *out = MP_ANALYZER_INFO;
  else if (s && (strcasecmp(s, "warning") == 0 || strcasecmp(s, "warn") == 0))
    *out = MP_ANALYZER_WARNING;
  else if (s && strcasecmp(s, "error") == 0)
    *out = MP_ANALYZER_ERROR;
  else
    return mp_error_set(MP_ERR_INVALID, "unknown level \"%s\": use info, warning or error",
                        s ? s : "");
  return MP_OK;
}

size_t mp_analyzer_rule_count(void) { return mp__nrules; }

const mp_analyzer_rule *mp_analyzer_rule_at(size_t i) {
  return i < mp__nrules ? &mp__rules[i].info : NULL;
}

/* ---- findings ----------------------------------------------------------------------------- */

void mp__findings_add(mp__findings *f, const char *code, const char *rule, mp_analyzer_level lvl,
                      const char *resource, const char *file, int line, const char *message) {
  if (f->n == f->cap) {
    f->cap = f->cap ? f->cap * 2 : 16;
    f->v = mp_realloc(f->v, f->cap * sizeof(*f->v));
  }
  f->v[f->n++] = (mp__finding){
      .code = code,
      .rule = rule,
      .level = lvl,
      .resource = mp_strdup(resource ? resource : ""),
      .message = mp_strdup(message ? message : ""),
      .file = mp_strdup(file ? file : ""),
      .line = line,
  };
}

void mp__findings_clear(mp__findings *f) {
  for (size_t i = 0; i < f->n; i++) {
    mp_free(f->v[i].resource);
    mp_free(f->v[i].message);
    mp_free(f->v[i].file);
  }
  mp_free(f->v);
  memset(f, 0, sizeof(*f));
}

void mp__report(mp__ctx *cx, const mp__res *r, int line, const char *fmt, ...) {
  if (!r || r->synthetic) return;
  va_list ap;
  va_start(ap, fmt);
  char *msg = mp_vasprintf(fmt, ap);
  va_end(ap);
  mp__findings_add(cx->out, cx->rule->info.code, cx->rule->info.name, cx->rule->info.level,
                   r->ident, r->file, line > 0 ? line : r->line, msg);
  mp_free(msg);
}

/* ---- building the set ---------------------------------------------------------------------- */

static void push_res(mp__res ***v, size_t *n, size_t *cap, mp__res *r) {
  if (*n == *cap) {
    *cap = *cap ? *cap * 2 : 32;
    *v = mp_realloc(*v, *cap * sizeof(**v));
  }
  (*v)[(*n)++] = r;
}

static void add_res(void *arg, mp__res *r) {
  mp_analyzer *a = arg;
  push_res(&a->res, &a->nres, &a->cap, r);
}

static void add_synth(void *arg, mp__res *r) {
  mp_analyzer *a = arg;
  r->synthetic = true;
  push_res(&a->synth, &a->nsynth, &a->capsynth, r);
}

typedef struct doc_sink {
  mp_analyzer *a;
  const char *file;
  mp__res_fn fn;
} doc_sink;

static void on_doc(void *arg, mp_yaml_node *root) {
  doc_sink *s = arg;
  mp__resources_from_doc(&s->a->arena, root, s->file, s->a->default_ns, s->fn, s->a);
}

static void parse_suppress(mp_analyzer *a, const char *list) {
  for (const char *p = list; p && *p;) {
    while (*p == ',' || isspace((unsigned char)*p)) p++;
    const char *end = p;
    while (*end && *end != ',') end++;
    const char *last = end;
    while (last > p && isspace((unsigned char)last[-1])) last--;
    if (last > p) {
      a->suppress = mp_realloc(a->suppress, (a->nsuppress + 1) * sizeof(*a->suppress));
      a->suppress[a->nsuppress++] = mp_strndup(p, (size_t)(last - p));
    }
    p = end;
  }
}

mp_analyzer *mp_analyzer_new(const mp_analyzer_options *opts) {
  mp_analyzer *a = mp_calloc(1, sizeof(*a));
  a->default_ns = mp_strdup(opts && opts->default_namespace && *opts->default_namespace
                                ? opts->default_namespace
                                : "default");
  a->no_default_gateway = opts && opts->no_default_gateway;
  parse_suppress(a, opts ? opts->suppress : NULL);
  if (!a->no_default_gateway) {
    doc_sink s = {a, "", add_synth};
    char err[128];
    int line;
    if (!mp_yaml_parse(&a->arena, default_gateway_yaml, sizeof(default_gateway_yaml) - 1, on_doc,
                       &s, err, sizeof(err), &line))
      abort(); /* a constant that must parse */
  }
  return a;
}

void mp_analyzer_free(mp_analyzer *a) {
  if (!a) return;
  mp_arena_free(&a->arena);
  mp_free(a->default_ns);
  for (size_t i = 0; i < a->nsuppress; i++) mp_free(a->suppress[i]);
  mp_free(a->suppress);
  mp_free(a->res);
  mp_free(a->synth);
  mp__findings_clear(&a->parse);
  mp_free(a);
}

mp_status mp_analyzer_add(mp_analyzer *a, const char *file, const void *data, size_t len) {
  if (!a) return mp_error_set(MP_ERR_INVALID, "mp_analyzer_add: no analyzer");
  a->files++;
  const char *f = mp_arena_strdup(&a->arena, file ? file : "");
  doc_sink s = {a, f, add_res};
  char err[256];
  int line = 0;
  if (mp_yaml_parse(&a->arena, data, data ? len : 0, on_doc, &s, err, sizeof(err), &line))
    return MP_OK;
  char *msg = mp_asprintf("YAML syntax error: %s (line %d); documents after it were not analyzed",
                          err, line);
  mp__findings_add(&a->parse, "MP0001", "MP0001-yaml-syntax", MP_ANALYZER_ERROR, "", f, line, msg);
  mp_free(msg);
  return mp_error_set(MP_ERR_INVALID, "%s:%d: %s", *f ? f : "<input>", line, err);
}

mp_status mp_analyzer_add_file(mp_analyzer *a, const char *path) {
  bool is_stdin = strcmp(path, "-") == 0;
  FILE *f = is_stdin ? stdin : fopen(path, "rb");
  if (!f) return mp_error_set(MP_ERR_IO, "cannot open %s: %s", path, strerror(errno));
  mp_buf b = {0};
  char chunk[8192];
  size_t n;
  while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) mp_buf_append(&b, chunk, n);
  bool failed = ferror(f);
  int err = errno;
  if (!is_stdin) fclose(f);
  if (failed) {
    mp_buf_free(&b);
    return mp_error_set(MP_ERR_IO, "cannot read %s: %s", path, strerror(err));
  }
  mp_status st = mp_analyzer_add(a, is_stdin ? "<stdin>" : path, b.data, b.len);
  mp_buf_free(&b);
  return st;
}

/* ---- running ----------------------------------------------------------------------------------
 */

static bool suppressed(const mp_analyzer *a, const char *code, const char *rule) {
  for (size_t i = 0; i < a->nsuppress; i++)
    if (strcasecmp(a->suppress[i], code) == 0 || strcasecmp(a->suppress[i], rule) == 0) return true;
  return false;
}

static bool user_has_gateway(const mp_analyzer *a) {
  for (size_t i = 0; i < a->nres; i++) {
    const mp__res *r = a->res[i];
    if ((r->kind == MP__K_SERVICE || r->kind == MP__K_DEPLOYMENT) &&
        strcmp(r->ns, "istio-system") == 0 && strcmp(r->name, "istio-ingressgateway") == 0)
      return true;
  }
  return false;
}

static void build_ctx(const mp_analyzer *a, mp__ctx *cx) {
  size_t nsynth = user_has_gateway(a) ? 0 : a->nsynth;
  cx->nall = a->nres + nsynth;
  cx->all = mp_arena_alloc(cx->scratch, (cx->nall + 1) * sizeof(*cx->all));
  for (size_t i = 0; i < a->nres; i++) cx->all[i] = a->res[i];
  for (size_t i = 0; i < nsynth; i++) cx->all[a->nres + i] = a->synth[i];
  for (size_t i = 0; i < cx->nall; i++) {
    cx->nkind[cx->all[i]->kind]++;
    if (cx->all[i]->workload) cx->nworkloads++;
  }
  for (int k = 0; k < MP__K_COUNT; k++) {
    cx->by_kind[k] = mp_arena_alloc(cx->scratch, (cx->nkind[k] + 1) * sizeof(*cx->by_kind[k]));
    cx->nkind[k] = 0;
  }
  cx->workloads = mp_arena_alloc(cx->scratch, (cx->nworkloads + 1) * sizeof(*cx->workloads));
  cx->nworkloads = 0;
  for (size_t i = 0; i < cx->nall; i++) {
    const mp__res *r = cx->all[i];
    cx->by_kind[r->kind][cx->nkind[r->kind]++] = r;
    if (r->workload) cx->workloads[cx->nworkloads++] = r;
  }
}

static int cmp_finding(const void *pa, const void *pb) {
  const mp_analyzer_finding *a = pa, *b = pb;
  int c = strcmp(a->file, b->file);
  if (c) return c;
  if (a->line != b->line) return a->line < b->line ? -1 : 1;
  if ((c = strcmp(a->code, b->code))) return c;
  if ((c = strcmp(a->resource, b->resource))) return c;
  return strcmp(a->message, b->message);
}

static void free_finding(mp_analyzer_finding *f) {
  mp_free((char *)f->resource);
  mp_free((char *)f->message);
  mp_free((char *)f->file);
}

mp_status mp_analyzer_run(mp_analyzer *a, mp_analyzer_report **out) {
  if (!a || !out) return mp_error_set(MP_ERR_INVALID, "mp_analyzer_run: no analyzer or output");
  mp_arena scratch = {0};
  mp__findings found = {0};
  mp__ctx cx = {.scratch = &scratch, .out = &found};
  build_ctx(a, &cx);
  for (size_t i = 0; i < mp__nrules; i++) {
    const mp__rule *rule = &mp__rules[i];
    if (!rule->check || suppressed(a, rule->info.code, rule->info.name)) continue;
    cx.rule = rule;
    rule->check(&cx);
  }
  for (size_t i = 0; i < a->parse.n; i++) {
    const mp__finding *p = &a->parse.v[i];
    if (!suppressed(a, p->code, p->rule))
      mp__findings_add(&found, p->code, p->rule, p->level, p->resource, p->file, p->line,
                       p->message);
  }
  mp_arena_free(&scratch);

  mp_analyzer_report *r = mp_calloc(1, sizeof(*r));
  r->files = a->files;
  r->resources = a->nres;
  r->findings = mp_calloc(found.n + 1, sizeof(*r->findings));
  for (size_t i = 0; i < found.n; i++) {
    /* The report takes the strings over. */
    r->findings[i] = (mp_analyzer_finding){
        .code = found.v[i].code,
        .level = found.v[i].level,
        .resource = found.v[i].resource,
        .message = found.v[i].message,
        .file = found.v[i].file,
        .line = found.v[i].line,
    };
  }
  size_t n = found.n;
  mp_free(found.v);
  qsort(r->findings, n, sizeof(*r->findings), cmp_finding);
  /* Rules that reach the same finding twice (two routes to one host) report it once. */
  size_t kept = 0;
  for (size_t i = 0; i < n; i++) {
    if (kept && cmp_finding(&r->findings[kept - 1], &r->findings[i]) == 0 &&
        r->findings[kept - 1].level == r->findings[i].level) {
      free_finding(&r->findings[i]);
      continue;
    }
    r->findings[kept++] = r->findings[i];
  }
  r->count = kept;
  *out = r;
  return MP_OK;
}

void mp_analyzer_report_free(mp_analyzer_report *r) {
  if (!r) return;
  for (size_t i = 0; i < r->count; i++) free_finding(&r->findings[i]);
  mp_free(r->findings);
  mp_free(r);
}

size_t mp_analyzer_report_count(const mp_analyzer_report *r, mp_analyzer_level level) {
  size_t n = 0;
  for (size_t i = 0; r && i < r->count; i++)
    if (r->findings[i].level >= level) n++;
  return n;
}
