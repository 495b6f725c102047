/* meshctl output: messages as JSON or YAML through lib/report's generic writer, and the
 * small formatters every table uses. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "meshplane/report.h"

void mctl_print_message(const mctl_ctx *c, const ProtobufCMessage *m) {
  mp_buf b = {0};
  if (c->format == MCTL_YAML) {
    mp_report_message_yaml(m, NULL, &b);
  } else {
    mp_report_msg_opts o = {.indent = 2};
    mp_report_message_json(m, &o, &b);
    mp_buf_puts(&b, "\n");
  }
  fwrite(b.data, 1, b.len, stdout);
  mp_buf_free(&b);
}

void mctl_print_messages(const mctl_ctx *c, const char *key, const ProtobufCMessage *const *msgs,
                         size_t n) {
  mp_buf b = {0};
  if (c->format == MCTL_YAML) {
    mp_report_msg_opts o = {.depth = key ? 1 : 0};
    if (key) mp_buf_printf(&b, "%s:%s", key, n ? "\n" : "");
    if (key && !n)
      mp_buf_puts(&b, " []\n");
    else
      mp_report_messages_yaml(msgs, n, key ? &o : NULL, &b);
  } else {
    int depth = key ? 1 : 0;
    if (key) {
      mp_buf_puts(&b, "{\n  ");
      mp_json_str(&b, key);
      mp_buf_puts(&b, ": ");
    }
    mp_buf_puts(&b, "[");
    for (size_t i = 0; i < n; i++) {
      mp_buf_printf(&b, "%s\n%*s", i ? "," : "", 2 * (depth + 1), "");
      mp_report_msg_opts o = {.indent = 2, .depth = depth + 1};
      mp_report_message_json(msgs[i], &o, &b);
    }
    if (n) mp_buf_printf(&b, "\n%*s", 2 * depth, "");
    mp_buf_puts(&b, key ? "]\n}\n" : "]\n");
  }
  fwrite(b.data, 1, b.len, stdout);
  mp_buf_free(&b);
}

const char *mctl_fmt_time(int64_t ms, char *buf, size_t n) {
  if (ms <= 0) {
    snprintf(buf, n, "-");
    return buf;
  }
  time_t t = (time_t)(ms / 1000);
  struct tm tm;
  localtime_r(&t, &tm);
  strftime(buf, n, "%Y-%m-%d %H:%M:%S", &tm);
  return buf;
}

const char *mctl_fmt_ago(int64_t ms, char *buf, size_t n) {
  if (ms <= 0) {
    snprintf(buf, n, "never");
    return buf;
  }
  int64_t s = (mp_now_ms() - ms) / 1000;
  if (s < 0) s = 0;
  if (s < 120)
    snprintf(buf, n, "%llds ago", (long long)s);
  else if (s < 7200)
    snprintf(buf, n, "%lldm ago", (long long)(s / 60));
  else if (s < 172800)
    snprintf(buf, n, "%lldh ago", (long long)(s / 3600));
  else
    snprintf(buf, n, "%lldd ago", (long long)(s / 86400));
  return buf;
}

const char *mctl_fmt_us(double us, char *buf, size_t n) { return mp_report_fmt_us(us, buf, n); }

const char *mctl_fmt_qps(double qps, char *buf, size_t n) {
  if (qps <= 0)
    snprintf(buf, n, "max");
  else if (qps >= 100)
    snprintf(buf, n, "%.0f", qps);
  else
    snprintf(buf, n, "%.1f", qps);
  return buf;
}

const char *mctl_fmt_ms_dur(int64_t ms, char *buf, size_t n) {
  if (ms <= 0) {
    snprintf(buf, n, "-");
    return buf;
  }
  /* Whole seconds read better in tables: "30s" rather than "30.012s". */
  int64_t ns = ms >= 10000 ? (ms + 500) / 1000 * MP_NS_PER_S : ms * MP_NS_PER_MS;
  mp_duration_format(ns, buf, n);
  /* "1m30s" rather than Go's "1m30s"; strip a trailing "0s" after minutes ("2m0s"). */
  size_t len = strlen(buf);
  if (len > 3 && !strcmp(buf + len - 2, "0s") && (buf[len - 3] == 'm' || buf[len - 3] == 'h'))
    buf[len - 2] = '\0';
  len = strlen(buf);
  if (len > 3 && !strcmp(buf + len - 2, "0m") && buf[len - 3] == 'h') buf[len - 2] = '\0';
  return buf;
}

const char *mctl_short_id(const char *id, char *buf, size_t n) {
  snprintf(buf, n, "%.8s", id ? id : "");
  if (!*buf) snprintf(buf, n, "-");
  return buf;
}

const char *mctl_enum_name(const ProtobufCEnumDescriptor *d, int v, const char *prefix) {
  const ProtobufCEnumValue *ev = protobuf_c_enum_descriptor_get_value(d, v);
  if (!ev) return "UNKNOWN";
  size_t pl = prefix ? strlen(prefix) : 0;
  return pl && !strncmp(ev->name, prefix, pl) ? ev->name + pl : ev->name;
}

const char *mctl_or_dash(const char *s) { return s && *s ? s : "-"; }

int mctl_read_file(mctl_ctx *c, const char *path, char **out, size_t *len) {
  FILE *f = strcmp(path, "-") ? fopen(path, "rb") : stdin;
  if (!f) return mctl_fail(c, MCTL_EXIT_USAGE, "cannot read %s: %s", path, strerror(errno));
  mp_buf b = {0};
  char chunk[8192];
  size_t n;
  while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) mp_buf_append(&b, chunk, n);
  bool err = ferror(f);
  if (f != stdin) fclose(f);
  if (err) {
    mp_buf_free(&b);
    return mctl_fail(c, MCTL_EXIT_USAGE, "cannot read %s: %s", path, strerror(errno));
  }
  mp_buf_append(&b, "", 0); /* NUL-terminated even when the file is empty */
  *len = b.len;
  *out = mp_buf_steal(&b);
  return 0;
}
