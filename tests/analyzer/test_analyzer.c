/* Tests of adapters/analyzer.
 *
 * The rule cases are table-driven: every rule of the table (mp_analyzer_rule_at) must have
 * a positive and a negative case under cases/, named after the rule:
 *   cases/<rule-name>.pos.yaml   (or a directory cases/<rule-name>.pos/ of several files)
 *   cases/<rule-name>.neg.yaml
 * A positive case states what it must produce in comments:
 *   # expect: CODE | Kind ns/name | LINE        (LINE in the file holding the comment)
 *   # expect: CODE | Kind ns/name | FILE:LINE
 * and the findings carrying the rule's code must be exactly those. A negative case must
 * produce no finding with the rule's code. All files of a case are analyzed as one set.
 * The other tests cover the API: malformed input, unknown kinds, List, options, sorting
 * and renderings. */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "meshplane/analyzer.h"
#include "meshplane/base.h"

#define ASSERT_OK(call)                                                                            \
  do {                                                                                             \
    mp_status st_ = (call);                                                                        \
    if (st_ != MP_OK) fail_msg("%s: %s: %s", #call, mp_status_str(st_), mp_error_last());          \
  } while (0)

#define ASSERT_SIZE(got, want)                                                                     \
  do {                                                                                             \
    size_t got_ = (got), want_ = (want);                                                           \
    if (got_ != want_) fail_msg("%s: got %zu, want %zu", #got, got_, want_);                       \
  } while (0)

#define ASSERT_CONTAINS(hay, needle)                                                               \
  do {                                                                                             \
    const char *h_ = (hay), *n_ = (needle);                                                        \
    if (!strstr(h_, n_)) fail_msg("%s does not contain \"%s\":\n%s", #hay, n_, h_);                \
  } while (0)

/* ---- helpers ------------------------------------------------------------------------------ */

static char *read_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  mp_buf b = {0};
  char chunk[4096];
  size_t n;
  while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) mp_buf_append(&b, chunk, n);
  fclose(f);
  *len = b.len;
  return mp_buf_steal(&b);
}

static mp_analyzer_report *analyze(const mp_analyzer_options *opts, const char *file,
                                   const char *yaml) {
  mp_analyzer *a = mp_analyzer_new(opts);
  mp_analyzer_add(a, file, yaml, strlen(yaml));
  mp_analyzer_report *r = NULL;
  ASSERT_OK(mp_analyzer_run(a, &r));
  mp_analyzer_free(a);
  return r;
}

static size_t count_code(const mp_analyzer_report *r, const char *code) {
  size_t n = 0;
  for (size_t i = 0; i < r->count; i++) n += strcmp(r->findings[i].code, code) == 0;
  return n;
}

static const mp_analyzer_finding *find_code(const mp_analyzer_report *r, const char *code) {
  for (size_t i = 0; i < r->count; i++)
    if (strcmp(r->findings[i].code, code) == 0) return &r->findings[i];
  return NULL;
}

/* ---- table-driven rule cases -------------------------------------------------------------------
 */

typedef struct expect {
  char code[32], resource[256], file[256];
  int line;
  bool seen;
} expect;

typedef struct kase {
  char path[1024];
  char files[16][256]; /* base names, sorted */
  char full[16][1400];
  size_t nfiles;
  expect exp[16];
  size_t nexp;
} kase;

static int cmp_name(const void *a, const void *b) {
  return strcmp((const char *)a, (const char *)b);
}

static char *trim(char *s) {
  while (*s == ' ' || *s == '\t') s++;
  size_t n = strlen(s);
  while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' || s[n - 1] == '\n')) n--;
  s[n] = '\0';
  return s;
}

/* Reads "# expect: CODE | RESOURCE | [FILE:]LINE" lines. */
static void parse_expects(kase *k, const char *file, const char *text, mp_buf *errors) {
  for (const char *p = text; p && *p;) {
    const char *eol = strchr(p, '\n');
    size_t n = eol ? (size_t)(eol - p) : strlen(p);
    if (n > 9 && strncmp(p, "# expect:", 9) == 0 && k->nexp < MP_ARRAY_LEN(k->exp)) {
      char line[600];
      snprintf(line, sizeof(line), "%.*s", (int)(n - 9), p + 9);
      char *f1 = line, *f2 = strchr(f1, '|'), *f3 = f2 ? strchr(f2 + 1, '|') : NULL;
      if (!f2 || !f3) {
        mp_buf_printf(errors, "%s: malformed expect line: %.*s\n", file, (int)n, p);
      } else {
        *f2++ = '\0';
        *f3++ = '\0';
        expect *e = &k->exp[k->nexp++];
        memset(e, 0, sizeof(*e));
        snprintf(e->code, sizeof(e->code), "%s", trim(f1));
        snprintf(e->resource, sizeof(e->resource), "%s", trim(f2));
        char *loc = trim(f3), *colon = strrchr(loc, ':');
        if (colon) {
          *colon = '\0';
          snprintf(e->file, sizeof(e->file), "%s", loc);
          e->line = atoi(colon + 1);
        } else {
          snprintf(e->file, sizeof(e->file), "%s", file);
          e->line = atoi(loc);
        }
      }
    }
    p = eol ? eol + 1 : NULL;
  }
}

/* Finds cases/<name>.<kind>.yaml or the directory cases/<name>.<kind>/. */
static bool load_case(kase *k, const char *name, const char *kind) {
  memset(k, 0, sizeof(*k));
  struct stat st;
  snprintf(k->path, sizeof(k->path), "%s/%s.%s.yaml", ANALYZER_CASES_DIR, name, kind);
  if (stat(k->path, &st) == 0 && S_ISREG(st.st_mode)) {
    snprintf(k->files[0], sizeof(k->files[0]), "%s.%s.yaml", name, kind);
    snprintf(k->full[0], sizeof(k->full[0]), "%s", k->path);
    k->nfiles = 1;
    return true;
  }
  snprintf(k->path, sizeof(k->path), "%s/%s.%s", ANALYZER_CASES_DIR, name, kind);
  DIR *d = opendir(k->path);
  if (!d) return false;
  for (struct dirent *e; (e = readdir(d)) && k->nfiles < MP_ARRAY_LEN(k->files);) {
    if (e->d_name[0] == '.') continue;
    snprintf(k->files[k->nfiles++], sizeof(k->files[0]), "%s", e->d_name);
  }
  closedir(d);
  qsort(k->files, k->nfiles, sizeof(k->files[0]), cmp_name);
  for (size_t i = 0; i < k->nfiles; i++)
    if (snprintf(k->full[i], sizeof(k->full[i]), "%s/%s", k->path, k->files[i]) < 0) return false;
  return k->nfiles > 0;
}

static mp_analyzer_report *run_case(kase *k, mp_buf *errors) {
  mp_analyzer *a = mp_analyzer_new(NULL);
  for (size_t i = 0; i < k->nfiles; i++) {
    size_t len;
    char *text = read_file(k->full[i], &len);
    if (!text) {
      mp_buf_printf(errors, "%s: cannot read\n", k->full[i]);
      continue;
    }
    parse_expects(k, k->files[i], text, errors);
    mp_analyzer_add(a, k->files[i], text, len); /* MP0001 cases fail here on purpose */
    mp_free(text);
  }
  mp_analyzer_report *r = NULL;
  if (mp_analyzer_run(a, &r) != MP_OK) mp_buf_printf(errors, "%s: run failed\n", k->path);
  mp_analyzer_free(a);
  return r;
}

/* A case that does not parse proves nothing, except the MP0001 case itself. */
static void check_parsed(const mp_analyzer_rule *rule, const kase *k, const mp_analyzer_report *r,
                         mp_buf *errors) {
  if (r && strcmp(rule->code, "MP0001") != 0 && count_code(r, "MP0001"))
    mp_buf_printf(errors, "%s: %s has a YAML syntax error\n", rule->name, k->path);
}

static void dump(mp_buf *errors, const mp_analyzer_report *r) {
  char *t = mp_analyzer_report_table(r);
  mp_buf_printf(errors, "%s", t);
  mp_free(t);
}

static void check_rule(const mp_analyzer_rule *rule, mp_buf *errors) {
  kase k;
  if (!load_case(&k, rule->name, "pos")) {
    mp_buf_printf(errors, "%s: no positive case (cases/%s.pos.yaml)\n", rule->name, rule->name);
  } else {
    mp_analyzer_report *r = run_case(&k, errors);
    size_t start = errors->len;
    check_parsed(rule, &k, r, errors);
    if (k.nexp == 0) mp_buf_printf(errors, "%s: the positive case expects nothing\n", rule->name);
    for (size_t i = 0; i < k.nexp; i++)
      if (strcmp(k.exp[i].code, rule->code) != 0)
        mp_buf_printf(errors, "%s: expect line names code %s\n", rule->name, k.exp[i].code);
    for (size_t i = 0; r && i < r->count; i++) {
      const mp_analyzer_finding *f = &r->findings[i];
      if (strcmp(f->code, rule->code) != 0) continue;
      bool matched = false;
      for (size_t j = 0; j < k.nexp && !matched; j++) {
        expect *e = &k.exp[j];
        if (!e->seen && strcmp(e->resource, f->resource) == 0 && strcmp(e->file, f->file) == 0 &&
            e->line == f->line) {
          e->seen = matched = true;
        }
      }
      if (!matched)
        mp_buf_printf(errors, "%s: unexpected finding %s (%s %s:%d) %s\n", rule->name, f->code,
                      f->resource, f->file, f->line, f->message);
      else if (f->level != rule->level)
        mp_buf_printf(errors, "%s: finding level %s, the rule says %s\n", rule->name,
                      mp_analyzer_level_str(f->level), mp_analyzer_level_str(rule->level));
    }
    for (size_t j = 0; j < k.nexp; j++)
      if (!k.exp[j].seen)
        mp_buf_printf(errors, "%s: missing finding %s | %s | %s:%d\n", rule->name, k.exp[j].code,
                      k.exp[j].resource, k.exp[j].file, k.exp[j].line);
    if (errors->len != start && r) dump(errors, r);
    mp_analyzer_report_free(r);
  }
  if (!load_case(&k, rule->name, "neg")) {
    mp_buf_printf(errors, "%s: no negative case (cases/%s.neg.yaml)\n", rule->name, rule->name);
    return;
  }
  mp_analyzer_report *r = run_case(&k, errors);
  check_parsed(rule, &k, r, errors);
  size_t hits = r ? count_code(r, rule->code) : 0;
  if (hits) {
    mp_buf_printf(errors, "%s: the negative case produced %zu %s finding(s)\n", rule->name, hits,
                  rule->code);
    dump(errors, r);
  }
  mp_analyzer_report_free(r);
}

static void test_rule_cases(void **state) {
  (void)state;
  mp_buf errors = {0};
  for (size_t i = 0; i < mp_analyzer_rule_count(); i++) check_rule(mp_analyzer_rule_at(i), &errors);
  if (errors.len) {
    fprintf(stderr, "%s", errors.data);
    mp_buf_free(&errors);
    fail_msg("rule cases failed (details above)");
  }
  mp_buf_free(&errors);
}

/* ---- the rule table ----------------------------------------------------------------------- */

static void test_rule_table(void **state) {
  (void)state;
  size_t n = mp_analyzer_rule_count(), codes = 0;
  if (n < 30) fail_msg("only %zu rules", n);
  for (size_t i = 0; i < n; i++) {
    const mp_analyzer_rule *r = mp_analyzer_rule_at(i);
    assert_non_null(r->code);
    assert_non_null(r->title);
    assert_true(strncmp(r->name, r->code, strlen(r->code)) == 0);
    bool first = true;
    for (size_t j = 0; j < i; j++) {
      if (strcmp(mp_analyzer_rule_at(j)->name, r->name) == 0) fail_msg("duplicate %s", r->name);
      if (strcmp(mp_analyzer_rule_at(j)->code, r->code) == 0) first = false;
    }
    codes += first;
  }
  if (codes < 30) fail_msg("only %zu distinct codes", codes);
  assert_null(mp_analyzer_rule_at(n));
  mp_analyzer_level l;
  ASSERT_OK(mp_analyzer_level_parse("WARN", &l));
  assert_int_equal(l, MP_ANALYZER_WARNING);
  assert_int_equal(mp_analyzer_level_parse("fatal", &l), MP_ERR_INVALID);
}

/* ---- input handling -------------------------------------------------------------------------- */

static const char privileged_pod[] = "apiVersion: v1\n"
                                     "kind: Pod\n"
                                     "metadata: {name: p, namespace: ns}\n"
                                     "spec:\n"
                                     "  containers:\n"
                                     "  - name: c\n"
                                     "    image: nginx:1.25\n"
                                     "    securityContext: {privileged: true}\n";

static void test_malformed_yaml(void **state) {
  (void)state;
  mp_buf in = {0};
  mp_buf_puts(&in, privileged_pod);
  mp_buf_puts(&in, "---\nkind: Service\nmetadata:\n  name: [unclosed\n  namespace: x\n");
  mp_analyzer *a = mp_analyzer_new(NULL);
  assert_int_equal(mp_analyzer_add(a, "bad.yaml", in.data, in.len), MP_ERR_INVALID);
  ASSERT_CONTAINS(mp_error_last(), "bad.yaml:");
  mp_analyzer_report *r;
  ASSERT_OK(mp_analyzer_run(a, &r));
  ASSERT_SIZE(count_code(r, "MP0001"), 1);
  const mp_analyzer_finding *f = find_code(r, "MP0001");
  assert_string_equal(f->file, "bad.yaml");
  assert_int_equal(f->level, MP_ANALYZER_ERROR);
  if (f->line < 12 || f->line > 14) fail_msg("syntax error reported at line %d", f->line);
  /* The document before the error is still analyzed. */
  ASSERT_SIZE(count_code(r, "MP1006"), 1);
  mp_analyzer_report_free(r);
  mp_analyzer_free(a);
  mp_buf_free(&in);

  /* Garbage of several kinds: never a crash, at most one MP0001 per buffer. */
  static const char *const bad[] = {"\t- x",
                                    "a: b: c",
                                    "{",
                                    "[1, 2",
                                    "key: \"unterminated",
                                    "- &a [*a]",
                                    "\xff\xfe\x00",
                                    "? ? ?\n: : :",
                                    "%YAML 9.9\n---\n"};
  for (size_t i = 0; i < MP_ARRAY_LEN(bad); i++) {
    a = mp_analyzer_new(NULL);
    mp_analyzer_add(a, "g.yaml", bad[i], i == 6 ? 3 : strlen(bad[i]));
    ASSERT_OK(mp_analyzer_run(a, &r));
    if (count_code(r, "MP0001") > 1) fail_msg("input %zu: %zu MP0001", i, count_code(r, "MP0001"));
    mp_analyzer_report_free(r);
    mp_analyzer_free(a);
  }
}

static void test_unknown_kinds_and_odd_documents(void **state) {
  (void)state;
  const char *yaml = "apiVersion: example.com/v1\n"
                     "kind: Widget\n"
                     "metadata: {name: w}\n"
                     "spec: {containers: [{name: x, securityContext: {privileged: true}}]}\n"
                     "---\n"
                     "just a scalar\n"
                     "---\n"
                     "- a\n- sequence\n"
                     "---\n"
                     "---\n"
                     "# only a comment\n"
                     "---\n"
                     "kind: Gateway\n"
                     "apiVersion: gateway.networking.k8s.io/v1\n"
                     "metadata: {name: not-istio}\n"
                     "spec: {selector: {nothing: here}}\n";
  mp_analyzer_report *r = analyze(NULL, "odd.yaml", yaml);
  ASSERT_SIZE(r->count, 0);
  ASSERT_SIZE(r->resources, 2);
  mp_analyzer_report_free(r);
}

static void test_list_and_partial(void **state) {
  (void)state;
  const char *yaml = "apiVersion: v1\n"
                     "kind: List\n"
                     "items:\n"
                     "- kind: Pod\n"
                     "  metadata: {name: a}\n"
                     "  spec: {containers: [{name: c, image: 'busybox:latest'}]}\n"
                     "- kind: Pod\n"
                     "  metadata: {name: b}\n"
                     "  spec: {containers: [{name: c, image: busybox}]}\n"
                     "- 42\n"
                     "---\n"
                     "kind: Service\n"
                     "---\n"
                     "metadata: {name: no-kind}\n";
  mp_analyzer_report *r = analyze(NULL, "list.yaml", yaml);
  ASSERT_SIZE(r->resources, 4);
  const mp_analyzer_finding *f = find_code(r, "MP1002");
  assert_non_null(f);
  assert_string_equal(f->resource, "Pod default/a");
  assert_int_equal(f->line, 6);
  f = find_code(r, "MP1003");
  assert_non_null(f);
  assert_string_equal(f->resource, "Pod default/b");
  mp_analyzer_report_free(r);
}

static void test_aliases_stay_small(void **state) {
  (void)state;
  /* "Billion laughs": aliases share nodes, so this is cheap. */
  const char *yaml = "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
                     "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
                     "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
                     "d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
                     "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\n"
                     "f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n"
                     "g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f, *f]\n"
                     "kind: Pod\n"
                     "metadata: {name: laughs, labels: *g}\n"
                     "spec: {containers: *g}\n";
  mp_analyzer_report *r = analyze(NULL, "lol.yaml", yaml);
  ASSERT_SIZE(r->resources, 1);
  mp_analyzer_report_free(r);
}

static void test_empty_and_null(void **state) {
  (void)state;
  mp_analyzer_free(NULL);
  mp_analyzer_report_free(NULL);
  mp_analyzer *a = mp_analyzer_new(NULL);
  ASSERT_OK(mp_analyzer_add(a, NULL, NULL, 0));
  ASSERT_OK(mp_analyzer_add(a, "empty.yaml", "", 0));
  assert_int_equal(mp_analyzer_add(NULL, "x", "", 0), MP_ERR_INVALID);
  assert_int_equal(mp_analyzer_run(a, NULL), MP_ERR_INVALID);
  assert_int_equal(mp_analyzer_add_file(a, "/nonexistent/meshplane.yaml"), MP_ERR_IO);
  mp_analyzer_report *r;
  ASSERT_OK(mp_analyzer_run(a, &r));
  ASSERT_SIZE(r->count, 0);
  ASSERT_SIZE(r->files, 2);
  char *t = mp_analyzer_report_table(r);
  ASSERT_CONTAINS(t, "No issues found in 2 files (0 resources)");
  mp_free(t);
  char *j = mp_analyzer_report_json(r);
  ASSERT_CONTAINS(j, "\"findings\":[]");
  mp_free(j);
  mp_analyzer_report_free(r);
  mp_analyzer_free(a);
}

/* ---- options, order and renderings -------------------------------------------------------- */

static const char two_problems[] = "apiVersion: v1\n"
                                   "kind: Namespace\n"
                                   "metadata: {name: shop}\n"
                                   "---\n"
                                   "kind: Pod\n"
                                   "metadata: {name: \"q\\\"uote\"}\n"
                                   "spec:\n"
                                   "  containers:\n"
                                   "  - name: c\n"
                                   "    image: registry.local:5000/app\n";

static void test_options(void **state) {
  (void)state;
  mp_analyzer_options o = {.default_namespace = "shop", .suppress = " MP1001 , mp1004,MP1005"};
  mp_analyzer_report *r = analyze(&o, "p.yaml", two_problems);
  ASSERT_SIZE(count_code(r, "MP1001"), 0);
  ASSERT_SIZE(count_code(r, "MP1004"), 0);
  ASSERT_SIZE(count_code(r, "IST0102"), 1);
  const mp_analyzer_finding *f = find_code(r, "MP1003");
  assert_non_null(f);
  assert_string_equal(f->resource, "Pod shop/q\"uote");
  mp_analyzer_report_free(r);

  /* Without the assumed ingress gateway, a Gateway on istio=ingressgateway selects nothing. */
  const char *gw = "apiVersion: networking.istio.io/v1\nkind: Gateway\n"
                   "metadata: {name: g, namespace: web}\n"
                   "spec:\n  selector: {istio: ingressgateway}\n"
                   "  servers: [{port: {number: 80, name: http, protocol: HTTP}, hosts: ['*']}]\n";
  r = analyze(NULL, "gw.yaml", gw);
  ASSERT_SIZE(r->count, 0);
  mp_analyzer_report_free(r);
  mp_analyzer_options nog = {.no_default_gateway = true};
  r = analyze(&nog, "gw.yaml", gw);
  ASSERT_SIZE(count_code(r, "IST0101"), 1);
  mp_analyzer_report_free(r);
  mp_analyzer_options sup = {.suppress = "IST0101-gateway-selector", .no_default_gateway = true};
  r = analyze(&sup, "gw.yaml", gw);
  ASSERT_SIZE(r->count, 0);
  mp_analyzer_report_free(r);
}

static char *json_of(const char *first, const char *second) {
  static const char *const docs[2] = {two_problems, privileged_pod};
  mp_analyzer *a = mp_analyzer_new(NULL);
  const char *names[2] = {first, second};
  for (int i = 0; i < 2; i++) {
    int d = strcmp(names[i], "a.yaml") == 0 ? 0 : 1;
    ASSERT_OK(mp_analyzer_add(a, names[i], docs[d], strlen(docs[d])));
  }
  mp_analyzer_report *r;
  ASSERT_OK(mp_analyzer_run(a, &r));
  /* Sorted by file, then line, then code. */
  for (size_t i = 1; i < r->count; i++) {
    const mp_analyzer_finding *p = &r->findings[i - 1], *f = &r->findings[i];
    int c = strcmp(p->file, f->file);
    if (c > 0 || (c == 0 && p->line > f->line)) fail_msg("findings out of order at %zu", i);
  }
  char *j = mp_analyzer_report_json(r);
  mp_analyzer_report_free(r);
  mp_analyzer_free(a);
  return j;
}

static void test_order_is_deterministic(void **state) {
  (void)state;
  char *x = json_of("a.yaml", "b.yaml"), *y = json_of("b.yaml", "a.yaml");
  assert_string_equal(x, y);
  mp_free(x);
  mp_free(y);
}

static void test_renderings(void **state) {
  (void)state;
  mp_analyzer_report *r = analyze(NULL, "p.yaml", two_problems);
  char *j = mp_analyzer_report_json(r);
  ASSERT_CONTAINS(j, "\"code\":\"IST0102\",\"level\":\"Info\",\"resource\":\"Namespace shop\"");
  ASSERT_CONTAINS(j, "\"file\":\"p.yaml\",\"line\":3,"
                     "\"doc\":\"https://istio.io/latest/docs/reference/config/analysis/ist0102/\"");
  ASSERT_CONTAINS(j, "Pod default/q\\\"uote");
  ASSERT_CONTAINS(j, "\"summary\":{\"files\":1,\"resources\":2,\"errors\":0,\"warnings\":4,"
                     "\"info\":1}");
  mp_free(j);
  char *t = mp_analyzer_report_table(r);
  ASSERT_CONTAINS(t, "LEVEL    CODE     RESOURCE");
  ASSERT_CONTAINS(t, "Info     IST0102  Namespace shop");
  ASSERT_CONTAINS(t, "p.yaml:3");
  ASSERT_CONTAINS(t, "5 findings (0 errors, 4 warnings, 1 info) in 1 file.");
  mp_free(t);
  ASSERT_SIZE(mp_analyzer_report_count(r, MP_ANALYZER_WARNING), 4);
  ASSERT_SIZE(mp_analyzer_report_count(r, MP_ANALYZER_ERROR), 0);
  mp_analyzer_report_free(r);
}

static void test_rerun_and_add_file(void **state) {
  (void)state;
  mp_analyzer *a = mp_analyzer_new(NULL);
  ASSERT_OK(mp_analyzer_add(a, "p.yaml", privileged_pod, strlen(privileged_pod)));
  mp_analyzer_report *r1, *r2;
  ASSERT_OK(mp_analyzer_run(a, &r1));
  char path[1024];
  snprintf(path, sizeof(path), "%s/MP1006.pos.yaml", ANALYZER_CASES_DIR);
  ASSERT_OK(mp_analyzer_add_file(a, path));
  ASSERT_OK(mp_analyzer_run(a, &r2));
  mp_analyzer_free(a); /* reports outlive their analyzer */
  if (count_code(r2, "MP1006") <= count_code(r1, "MP1006")) fail_msg("second run saw no new file");
  assert_int_equal(r2->files, 2);
  ASSERT_SIZE(count_code(r1, "MP1006"), 1);
  mp_analyzer_report_free(r1);
  mp_analyzer_report_free(r2);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_rule_table),
      cmocka_unit_test(test_rule_cases),
      cmocka_unit_test(test_malformed_yaml),
      cmocka_unit_test(test_unknown_kinds_and_odd_documents),
      cmocka_unit_test(test_list_and_partial),
      cmocka_unit_test(test_aliases_stay_small),
      cmocka_unit_test(test_empty_and_null),
      cmocka_unit_test(test_options),
      cmocka_unit_test(test_order_is_deterministic),
      cmocka_unit_test(test_renderings),
      cmocka_unit_test(test_rerun_and_add_file),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
