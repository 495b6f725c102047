/* Renderings of a report: JSON for programs (meshctl, adapters' events) and an aligned
 * table for people. */
#include <stdio.h>
#include <string.h>

#include "analyzer_internal.h"

static void json_str(mp_buf *b, const char *s) {
  mp_buf_puts(b, "\"");
  for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
    switch (*p) {
    case '"': mp_buf_puts(b, "\\\""); break;
    case '\\': mp_buf_puts(b, "\\\\"); break;
    case '\n': mp_buf_puts(b, "\\n"); break;
    case '\r': mp_buf_puts(b, "\\r"); break;
    case '\t': mp_buf_puts(b, "\\t"); break;
    default:
      if (*p < 0x20 || *p == 0x7f)
        mp_buf_printf(b, "\\u%04x", *p);
      else
        mp_buf_append(b, p, 1);
    }
  }
  mp_buf_puts(b, "\"");
}

/* Istio documents every IST code at a stable address. */
static void doc_url(mp_buf *b, const char *code) {
  if (strncmp(code, "IST", 3) != 0) return;
  mp_buf_puts(b, ",\"doc\":\"https://istio.io/latest/docs/reference/config/analysis/ist");
  mp_buf_puts(b, code + 3);
  mp_buf_puts(b, "/\"");
}

char *mp_analyzer_report_json(const mp_analyzer_report *r) {
  mp_buf b = {0};
  mp_buf_puts(&b, "{\"findings\":[");
  for (size_t i = 0; r && i < r->count; i++) {
    const mp_analyzer_finding *f = &r->findings[i];
    mp_buf_puts(&b, i ? ",\n{" : "\n{");
    mp_buf_puts(&b, "\"code\":");
    json_str(&b, f->code);
    mp_buf_puts(&b, ",\"level\":");
    json_str(&b, mp_analyzer_level_str(f->level));
    mp_buf_puts(&b, ",\"resource\":");
    json_str(&b, f->resource);
    mp_buf_puts(&b, ",\"message\":");
    json_str(&b, f->message);
    mp_buf_puts(&b, ",\"file\":");
    json_str(&b, f->file);
    mp_buf_printf(&b, ",\"line\":%d", f->line);
    doc_url(&b, f->code);
    mp_buf_puts(&b, "}");
  }
  mp_buf_printf(&b,
                "%s],\n\"summary\":{\"files\":%zu,\"resources\":%zu,\"errors\":%zu,"
                "\"warnings\":%zu,\"info\":%zu}}\n",
                r && r->count ? "\n" : "", r ? r->files : 0, r ? r->resources : 0,
                mp_analyzer_report_count(r, MP_ANALYZER_ERROR),
                mp_analyzer_report_count(r, MP_ANALYZER_WARNING) -
                    mp_analyzer_report_count(r, MP_ANALYZER_ERROR),
                r ? r->count - mp_analyzer_report_count(r, MP_ANALYZER_WARNING) : 0);
  return mp_buf_steal(&b);
}

static const char *location(char *buf, size_t n, const mp_analyzer_finding *f) {
  if (!*f->file)
    snprintf(buf, n, "-");
  else if (f->line > 0)
    snprintf(buf, n, "%s:%d", f->file, f->line);
  else
    snprintf(buf, n, "%s", f->file);
  return buf;
}

static void pad(mp_buf *b, const char *s, size_t width) {
  mp_buf_puts(b, s);
  for (size_t i = strlen(s); i < width + 2; i++) mp_buf_puts(b, " ");
}

char *mp_analyzer_report_table(const mp_analyzer_report *r) {
  mp_buf b = {0};
  size_t nfiles = r ? r->files : 0, nres = r ? r->resources : 0;
  if (!r || r->count == 0) {
    mp_buf_printf(&b, "No issues found in %zu file%s (%zu resource%s).\n", nfiles,
                  nfiles == 1 ? "" : "s", nres, nres == 1 ? "" : "s");
    return mp_buf_steal(&b);
  }
  size_t wl = strlen("LEVEL"), wc = strlen("CODE"), wr = strlen("RESOURCE"),
         wf = strlen("LOCATION");
  char loc[512];
  for (size_t i = 0; i < r->count; i++) {
    const mp_analyzer_finding *f = &r->findings[i];
    size_t l = strlen(mp_analyzer_level_str(f->level));
    if (l > wl) wl = l;
    if (strlen(f->code) > wc) wc = strlen(f->code);
    l = strlen(*f->resource ? f->resource : "-");
    if (l > wr) wr = l;
    l = strlen(location(loc, sizeof(loc), f));
    if (l > wf) wf = l;
  }
  pad(&b, "LEVEL", wl);
  pad(&b, "CODE", wc);
  pad(&b, "RESOURCE", wr);
  pad(&b, "LOCATION", wf);
  mp_buf_puts(&b, "MESSAGE\n");
  for (size_t i = 0; i < r->count; i++) {
    const mp_analyzer_finding *f = &r->findings[i];
    pad(&b, mp_analyzer_level_str(f->level), wl);
    pad(&b, f->code, wc);
    pad(&b, *f->resource ? f->resource : "-", wr);
    pad(&b, location(loc, sizeof(loc), f), wf);
    mp_buf_puts(&b, f->message);
    mp_buf_puts(&b, "\n");
  }
  size_t errors = mp_analyzer_report_count(r, MP_ANALYZER_ERROR);
  size_t warnings = mp_analyzer_report_count(r, MP_ANALYZER_WARNING) - errors;
  size_t info = r->count - errors - warnings;
  mp_buf_printf(&b, "\n%zu finding%s (%zu error%s, %zu warning%s, %zu info) in %zu file%s.\n",
                r->count, r->count == 1 ? "" : "s", errors, errors == 1 ? "" : "s", warnings,
                warnings == 1 ? "" : "s", info, nfiles, nfiles == 1 ? "" : "s");
  return mp_buf_steal(&b);
}
