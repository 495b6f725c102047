/* libFuzzer target for adapters/analyzer: YAML parsing, the resource model, every rule
 * and both renderings.
 *
 * NUL bytes split the input into several files analyzed as one set, so cross-file rules
 * get exercised; the low bit of the first byte turns the assumed ingress gateway off.
 * Besides "never crash", it checks what a report promises: findings sorted by file and
 * line, every finding complete, and renderings that start and end as documented. A broken
 * promise aborts, which libFuzzer reports like a crash. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "meshplane/analyzer.h"

static void check(bool ok, const char *what) {
  if (!ok) {
    fprintf(stderr, "fuzz_analyzer: broken promise: %s\n", what);
    abort();
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  mp_analyzer_options opts = {.no_default_gateway = size > 0 && (data[0] & 1)};
  mp_analyzer *a = mp_analyzer_new(&opts);
  size_t files = 0;
  for (size_t start = 0; start <= size;) {
    const uint8_t *nul = size > start ? memchr(data + start, 0, size - start) : NULL;
    size_t end = nul ? (size_t)(nul - data) : size;
    char name[32];
    snprintf(name, sizeof(name), "f%zu.yaml", files++);
    mp_status st = mp_analyzer_add(a, name, data + start, end - start);
    check(st == MP_OK || st == MP_ERR_INVALID, "add returns ok or invalid");
    start = end + 1;
  }
  mp_analyzer_report *r = NULL;
  check(mp_analyzer_run(a, &r) == MP_OK && r, "run");
  check(r->files == files, "every buffer counted");
  size_t syntax = 0;
  for (size_t i = 0; i < r->count; i++) {
    const mp_analyzer_finding *f = &r->findings[i];
    check(f->code && *f->code && f->resource && f->message && *f->message && f->file,
          "complete finding");
    check(f->line >= 0 && f->level <= MP_ANALYZER_ERROR, "line and level");
    syntax += strcmp(f->code, "MP0001") == 0;
    if (i) {
      const mp_analyzer_finding *p = &r->findings[i - 1];
      int c = strcmp(p->file, f->file);
      check(c < 0 || (c == 0 && p->line <= f->line), "sorted by file and line");
    }
  }
  check(syntax <= files, "at most one syntax error per file");
  char *json = mp_analyzer_report_json(r);
  size_t jl = strlen(json);
  check(jl > 2 && json[0] == '{' && json[jl - 2] == '}' && json[jl - 1] == '\n', "JSON shape");
  char *table = mp_analyzer_report_table(r);
  check(strlen(table) > 0, "table");
  mp_free(json);
  mp_free(table);
  mp_analyzer_report_free(r);
  mp_analyzer_free(a);
  return 0;
}
