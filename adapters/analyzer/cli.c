/* meshplane-analyze: the offline entry point of the configuration analyzer.
 *
 *   meshplane-analyze [--json] [--namespace NS] [--suppress CODES] FILE...
 *
 * All files form one set (cross-resource rules see them together). Exit status: 0 when
 * no finding reaches --failure-threshold (default error), 1 when one does, 2 when the
 * command line is wrong or a file cannot be read. */
#include <stdio.h>
#include <string.h>

#include "meshplane/analyzer.h"
#include "meshplane/base.h"

static void list_rules(void) {
  printf("%-8s %-8s %-26s %s\n", "CODE", "LEVEL", "NAME", "TITLE");
  for (size_t i = 0; i < mp_analyzer_rule_count(); i++) {
    const mp_analyzer_rule *r = mp_analyzer_rule_at(i);
    printf("%-8s %-8s %-26s %s\n", r->code, mp_analyzer_level_str(r->level), r->name, r->title);
  }
}

/* Analyzes the files as one set and prints the report; returns the exit status. */
static int analyze(char **files, int n, const mp_analyzer_options *opts, bool json,
                   mp_analyzer_level fail_at) {
  int status = 0;
  mp_analyzer *a = mp_analyzer_new(opts);
  for (int i = 0; i < n; i++) {
    /* Syntax errors are findings (MP0001) and show up in the report. */
    if (mp_analyzer_add_file(a, files[i]) == MP_ERR_IO) {
      fprintf(stderr, "meshplane-analyze: %s\n", mp_error_last());
      status = 2;
    }
  }
  mp_analyzer_report *r = NULL;
  if (status == 0 && mp_analyzer_run(a, &r) == MP_OK) {
    char *out = json ? mp_analyzer_report_json(r) : mp_analyzer_report_table(r);
    fputs(out, stdout);
    mp_free(out);
    if (mp_analyzer_report_count(r, fail_at) > 0) status = 1;
  }
  mp_analyzer_report_free(r);
  mp_analyzer_free(a);
  return status;
}

int main(int argc, char **argv) {
  mp_log_init("meshplane-analyze");
  bool json = false, rules = false, no_gateway = false;
  char *ns = NULL, *suppress = NULL, *threshold = NULL;
  const mp_flag flags[] = {
      {"json", 'j', MP_FLAG_BOOL, &json, NULL, "print findings as JSON", NULL},
      {"namespace", 'n', MP_FLAG_STRING, &ns, NULL,
       "namespace of resources that name none (default \"default\")", "NS"},
      {"suppress", 's', MP_FLAG_STRING, &suppress, "MESHPLANE_ANALYZE_SUPPRESS",
       "comma-separated codes or rule names to leave out", "CODES"},
      {"failure-threshold", 0, MP_FLAG_STRING, &threshold, NULL,
       "lowest level that makes the exit status 1: info, warning or error (default error)",
       "LEVEL"},
      {"no-default-gateway", 0, MP_FLAG_BOOL, &no_gateway, NULL,
       "do not assume istio-system runs the stock istio-ingressgateway", NULL},
      {"list-rules", 0, MP_FLAG_BOOL, &rules, NULL, "print the rule table and exit", NULL},
  };
  const mp_program prog = {
      .name = "meshplane-analyze",
      .summary = "check Kubernetes and service-mesh YAML against best-practice rules",
      .usage = "[flags] FILE... (\"-\" reads standard input)",
      .epilog = "Rules and fixes: adapters/analyzer/RULES.md. Exit 0: clean, 1: findings at "
                "or above the failure threshold, 2: usage or I/O error.",
  };
  int nargs = 0;
  int rc = mp_flags_parse(&prog, flags, MP_ARRAY_LEN(flags), argc, argv, &nargs);
  int status = rc > 0 ? 0 : 2;
  mp_analyzer_level fail_at = MP_ANALYZER_ERROR;
  if (rc != 0) {
    /* help or version printed, or a usage error reported */
  } else if (rules) {
    list_rules();
    status = 0;
  } else if (threshold && mp_analyzer_level_parse(threshold, &fail_at) != MP_OK) {
    fprintf(stderr, "meshplane-analyze: --failure-threshold: %s\n", mp_error_last());
  } else if (nargs == 0) {
    fprintf(stderr, "meshplane-analyze: name at least one YAML file (see --help)\n");
  } else {
    mp_analyzer_options opts = {
        .default_namespace = ns, .no_default_gateway = no_gateway, .suppress = suppress};
    status = analyze(argv, nargs, &opts, json, fail_at);
  }
  mp_flags_free(flags, MP_ARRAY_LEN(flags));
  return status;
}
