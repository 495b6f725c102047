/* meshctl analyze: the configuration analyzer (adapters/analyzer) on local files, offline.
 * Built in when the mp_analyzer library is part of the build (MESHCTL_HAVE_ANALYZER). */
#include <stdio.h>
#include <string.h>

#include "cli.h"

#ifdef MESHCTL_HAVE_ANALYZER
#include "meshplane/analyzer.h"
#include "meshplane/report.h"

/* The report as YAML: the same keys as mp_analyzer_report_json. */
static void report_yaml(const mp_analyzer_report *r, mp_buf *b) {
  mp_buf_puts(b, r->count ? "findings:\n" : "findings: []\n");
  for (size_t i = 0; i < r->count; i++) {
    const mp_analyzer_finding *f = &r->findings[i];
    mp_buf_puts(b, "  - code: ");
    mp_json_str(b, f->code);
    mp_buf_puts(b, "\n    level: ");
    mp_json_str(b, mp_analyzer_level_str(f->level));
    mp_buf_puts(b, "\n    resource: ");
    mp_json_str(b, f->resource);
    mp_buf_puts(b, "\n    message: ");
    mp_json_str(b, f->message);
    mp_buf_puts(b, "\n    file: ");
    mp_json_str(b, f->file);
    mp_buf_printf(b, "\n    line: %d\n", f->line);
  }
  mp_buf_printf(b, "summary:\n  files: %zu\n  resources: %zu\n  errors: %zu\n  warnings: %zu\n",
                r->files, r->resources, mp_analyzer_report_count(r, MP_ANALYZER_ERROR),
                mp_analyzer_report_count(r, MP_ANALYZER_WARNING) -
                    mp_analyzer_report_count(r, MP_ANALYZER_ERROR));
  mp_buf_printf(b, "  info: %zu\n", r->count - mp_analyzer_report_count(r, MP_ANALYZER_WARNING));
}

int mctl_analyze(mctl_ctx *c, int argc, char **argv) {
  static char *ns, *suppress, *fail_level;
  static bool no_gateway;
  ns = suppress = "";
  fail_level = "error";
  no_gateway = false;
  const mp_flag flags[] = {
      {"namespace", 'n', MP_FLAG_STRING, &ns, NULL,
       "namespace of resources that name none (default \"default\")", "NS"},
      {"suppress", 0, MP_FLAG_STRING, &suppress, NULL,
       "comma-separated codes or rule names to leave out", "CODES"},
      {"fail-level", 0, MP_FLAG_STRING, &fail_level, NULL,
       "exit 7 when a finding is at this level or above: info, warning, error or none", "LEVEL"},
      {"no-default-gateway", 0, MP_FLAG_BOOL, &no_gateway, NULL,
       "do not assume Istio's stock ingress gateway in istio-system", NULL},
  };
  int nargs, rc;
  if (!mctl_parse(
          c, "FILE... [flags]",
          "Analyzes Kubernetes and service-mesh YAML (Istio, Linkerd, SMI, ...) against\n"
          "best-practice rules, offline: no server needed. FILE may be - (stdin); all files\n"
          "form one set, so references across them resolve.",
          flags, MP_ARRAY_LEN(flags), false, argc, argv, &nargs, &rc))
    return rc;
  if (nargs == 0) return mctl_fail(c, MCTL_EXIT_USAGE, "give one or more YAML FILEs (- for stdin)");
  bool never = !strcmp(fail_level, "none");
  mp_analyzer_level lvl = MP_ANALYZER_ERROR;
  if (!never && mp_analyzer_level_parse(fail_level, &lvl) != MP_OK)
    return mctl_fail(c, MCTL_EXIT_USAGE, "--fail-level %s: use info, warning, error or none",
                     fail_level);
  mp_analyzer_options o = {.default_namespace = *ns ? ns : NULL,
                           .no_default_gateway = no_gateway,
                           .suppress = *suppress ? suppress : NULL};
  mp_analyzer *a = mp_analyzer_new(&o);
  for (int i = 0; i < nargs && rc == 0; i++)
    if (mp_analyzer_add_file(a, argv[i]) == MP_ERR_IO)
      rc = mctl_fail(c, MCTL_EXIT_USAGE, "%s", mp_error_last());
  mp_analyzer_report *r = NULL;
  if (rc == 0 && mp_analyzer_run(a, &r) != MP_OK)
    rc = mctl_fail(c, MCTL_EXIT_FAILURE, "the analysis failed: %s", mp_error_last());
  if (rc == 0) {
    char *text = NULL;
    mp_buf b = {0};
    if (c->format == MCTL_JSON) {
      text = mp_analyzer_report_json(r);
    } else if (c->format == MCTL_YAML) {
      report_yaml(r, &b);
      text = mp_buf_steal(&b);
    } else {
      text = mp_analyzer_report_table(r);
    }
    fputs(text, stdout);
    if (*text && text[strlen(text) - 1] != '\n') fputc('\n', stdout);
    mp_free(text);
    size_t bad = never ? 0 : mp_analyzer_report_count(r, lvl);
    if (bad)
      rc = mctl_fail(c, MCTL_EXIT_CHECK, "%zu finding%s at level %s or above", bad,
                     bad == 1 ? "" : "s", mp_analyzer_level_str(lvl));
  }
  mp_analyzer_report_free(r);
  mp_analyzer_free(a);
  return rc;
}

#else

int mctl_analyze(mctl_ctx *c, int argc, char **argv) {
  int nargs, rc;
  if (!mctl_parse(c, "FILE...", "Analyzes Kubernetes and service-mesh YAML, offline.", NULL, 0,
                  false, argc, argv, &nargs, &rc))
    return rc;
  return mctl_fail(c, MCTL_EXIT_FAILURE,
                   "this meshctl was built without the configuration analyzer (adapters/analyzer "
                   "was not part of the build): rebuild meshplane with it, or run "
                   "meshplane-analyze FILE...");
}

#endif
