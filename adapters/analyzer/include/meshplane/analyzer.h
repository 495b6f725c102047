/* meshplane configuration analyzer: Kubernetes and service-mesh YAML in, findings out.
 *
 * Every adapter's "analyze" operation and the offline `meshplane-analyze FILE...` use it:
 *
 *   mp_analyzer *a = mp_analyzer_new(NULL);
 *   mp_analyzer_add(a, "app.yaml", data, len);      // once per file; they form one set
 *   mp_analyzer_report *r;
 *   mp_analyzer_run(a, &r);                          // every rule over the whole set
 *   char *json = mp_analyzer_report_json(r);         // or mp_analyzer_report_table(r)
 *   ...
 *   mp_free(json); mp_analyzer_report_free(r); mp_analyzer_free(a);
 *
 * Input is multi-document YAML (also `kind: List`); resources may be partial. Kinds the
 * analyzer does not know are kept (they count as "something with that name exists") but
 * no rule looks inside them. Istio findings carry Istio's own codes (IST0xxx, as
 * `istioctl analyze` reports them); the others have meshplane codes MP0xxx..MP4xxx.
 * adapters/analyzer/RULES.md documents every rule.
 *
 * An analyzer is not thread-safe; use one per thread. Reports are independent of the
 * analyzer that made them and may outlive it. */
#ifndef MESHPLANE_ANALYZER_H
#define MESHPLANE_ANALYZER_H

#include <stdbool.h>
#include <stddef.h>

#include "meshplane/base.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum mp_analyzer_level {
  MP_ANALYZER_INFO = 0,
  MP_ANALYZER_WARNING = 1,
  MP_ANALYZER_ERROR = 2,
} mp_analyzer_level;

/* "Info", "Warning", "Error" (static strings, as istioctl prints them). */
const char *mp_analyzer_level_str(mp_analyzer_level level);
/* Parses "info", "warning"/"warn", "error" in any case. */
mp_status mp_analyzer_level_parse(const char *s, mp_analyzer_level *out);

/* One rule of the built-in table. Several table entries may share a code when Istio uses
 * one code for several checks (IST0101 "referenced resource not found"); `name` is unique. */
typedef struct mp_analyzer_rule {
  const char *code; /* "IST0101", "MP1001" */
  mp_analyzer_level level;
  const char *name;  /* unique slug, "IST0101-vs-gateway" */
  const char *title; /* one line: what the rule looks for */
} mp_analyzer_rule;

/* The rule table, in a fixed order. Entries are static; NULL past the end. */
size_t mp_analyzer_rule_count(void);
const mp_analyzer_rule *mp_analyzer_rule_at(size_t i);

typedef struct mp_analyzer_options {
  /* Namespace of resources that name none, like `kubectl apply` without -n. NULL means
   * "default". Copied. */
  const char *default_namespace;
  /* By default the analyzer assumes istio-system runs the stock ingress gateway (a
   * Deployment and Service istio-ingressgateway, pods labelled istio=ingressgateway, ports
   * 80, 443, 15021), as every Istio install has; set this when it does not. */
  bool no_default_gateway;
  /* Comma-separated codes or rule names to leave out ("IST0102,MP1005"), or NULL. Copied. */
  const char *suppress;
} mp_analyzer_options;

typedef struct mp_analyzer mp_analyzer;

/* A new, empty analyzer. opts may be NULL for the defaults; it is copied. Free with
 * mp_analyzer_free. */
mp_analyzer *mp_analyzer_new(const mp_analyzer_options *opts);
/* Accepts NULL. */
void mp_analyzer_free(mp_analyzer *a);

/* Parses one buffer of YAML (borrowed, need not be NUL-terminated) and adds its resources
 * to the set; `file` (copied) names it in findings. A syntax error keeps the documents
 * before it, records an MP0001 finding with the line, and returns MP_ERR_INVALID with
 * "file:line: problem" in mp_error_last(); it never aborts the analysis. */
mp_status mp_analyzer_add(mp_analyzer *a, const char *file, const void *data, size_t len);
/* Reads and adds a file ("-" is standard input). MP_ERR_IO when it cannot be read. */
mp_status mp_analyzer_add_file(mp_analyzer *a, const char *path);

typedef struct mp_analyzer_finding {
  const char *code; /* static */
  mp_analyzer_level level;
  const char *resource; /* "VirtualService default/reviews", "Namespace prod"; "" for a file */
  const char *message;
  const char *file; /* as given to mp_analyzer_add; "" when the finding has no place */
  int line;         /* 1-based; 0 when unknown */
} mp_analyzer_finding;

typedef struct mp_analyzer_report {
  mp_analyzer_finding *findings; /* sorted by file, line, code, resource, message */
  size_t count;
  size_t files;     /* buffers added */
  size_t resources; /* resources analyzed (List items counted one by one) */
} mp_analyzer_report;

/* Runs every rule over everything added so far and returns a new report (taken by the
 * caller; free with mp_analyzer_report_free). May be called again after more adds. */
mp_status mp_analyzer_run(mp_analyzer *a, mp_analyzer_report **out);
/* Accepts NULL. */
void mp_analyzer_report_free(mp_analyzer_report *r);

/* Number of findings at `level` or above. */
size_t mp_analyzer_report_count(const mp_analyzer_report *r, mp_analyzer_level level);

/* Renderings; each returns a new string that the caller frees with mp_free.
 * JSON: {"findings":[{"code","level","resource","message","file","line"[,"doc"]}],
 *        "summary":{"files","resources","errors","warnings","info"}}.
 * Table: aligned columns LEVEL CODE RESOURCE LOCATION MESSAGE and a summary line. */
char *mp_analyzer_report_json(const mp_analyzer_report *r);
char *mp_analyzer_report_table(const mp_analyzer_report *r);

#ifdef __cplusplus
}
#endif
#endif
