/* The analyze operation's engine: adapters/analyzer over the YAML, one event per finding
 * (ERROR or WARN with the rule's code as error_code, INFO for informational findings),
 * then a summary event. mp_adapter_main connects it with mp_adapter_set_analyzer. */
#include <stdio.h>

#include "internal.h"
#include "meshplane/analyzer.h"

mp_status mp__adapter_analyze(mp_adapter_ctx *ctx, const char *yaml, size_t len) {
  mp_analyzer *a = mp_analyzer_new(NULL);
  /* A syntax error is reported as a finding (MP0001) by the run below. */
  mp_analyzer_add(a, "configuration", yaml, len);
  mp_analyzer_report *r = NULL;
  mp_status st = mp_analyzer_run(a, &r);
  if (st != MP_OK) {
    mp_analyzer_free(a);
    return st;
  }
  for (size_t i = 0; i < r->count; i++) {
    const mp_analyzer_finding *f = &r->findings[i];
    char summary[512], details[256];
    snprintf(summary, sizeof summary, "%s %s%s%s", f->code, f->resource, *f->resource ? ": " : "",
             f->message);
    snprintf(details, sizeof details, "%s:%d (%s)", f->file, f->line,
             mp_analyzer_level_str(f->level));
    mp_adapter_event_type type = f->level == MP_ANALYZER_ERROR     ? MP_EVENT_ERROR
                                 : f->level == MP_ANALYZER_WARNING ? MP_EVENT_WARN
                                                                   : MP_EVENT_INFO;
    mp_adapter_emit_event(ctx, type, summary, details, f->message,
                          "see adapters/analyzer/RULES.md for the rule and its fix", f->code);
  }
  char summary[256];
  snprintf(summary, sizeof summary,
           "configuration analyzed: %zu resources, %zu errors, %zu warnings, %zu findings in all",
           r->resources, mp_analyzer_report_count(r, MP_ANALYZER_ERROR),
           mp_analyzer_report_count(r, MP_ANALYZER_WARNING) -
               mp_analyzer_report_count(r, MP_ANALYZER_ERROR),
           r->count);
  mp_adapter_emit_event(ctx, MP_EVENT_INFO, summary, "", "", "", "");
  mp_analyzer_report_free(r);
  mp_analyzer_free(a);
  return MP_OK;
}
