/* Command-line flags and environment configuration from one declarative table.
 * Precedence: the default in the target < the environment variable < argv. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "meshplane/base.h"

void mp_strlist_push(mp_strlist *l, const char *s) {
  l->items = mp_realloc(l->items, (l->len + 1) * sizeof *l->items);
  l->items[l->len++] = mp_strdup(s);
}

void mp_strlist_free(mp_strlist *l) {
  for (size_t i = 0; i < l->len; i++) mp_free(l->items[i]);
  mp_free(l->items);
  l->items = NULL;
  l->len = 0;
}

static mp_status parse_bool(const char *v, bool *out) {
  if (!strcasecmp(v, "true") || !strcmp(v, "1") || !strcasecmp(v, "yes") || !strcasecmp(v, "on")) {
    *out = true;
  } else if (!strcasecmp(v, "false") || !strcmp(v, "0") || !strcasecmp(v, "no") ||
             !strcasecmp(v, "off")) {
    *out = false;
  } else {
    return mp_error_set(MP_ERR_INVALID, "\"%s\" is not a boolean (use true or false)", v);
  }
  return MP_OK;
}

/* Stores the text value v into the flag's target. from_env splits lists on commas. */
static mp_status set_value(const mp_flag *f, const char *v, bool from_env) {
  switch (f->type) {
  case MP_FLAG_STRING: {
    char **t = f->target;
    mp_free(*t);
    *t = mp_strdup(v);
    return MP_OK;
  }
  case MP_FLAG_INT: {
    errno = 0;
    char *end;
    long long n = strtoll(v, &end, 0);
    if (errno || end == v || *end)
      return mp_error_set(MP_ERR_INVALID, "\"%s\" is not a whole number", v);
    *(int64_t *)f->target = n;
    return MP_OK;
  }
  case MP_FLAG_DOUBLE: {
    errno = 0;
    char *end;
    double d = strtod(v, &end);
    if (errno || end == v || *end || !isfinite(d))
      return mp_error_set(MP_ERR_INVALID, "\"%s\" is not a number", v);
    *(double *)f->target = d;
    return MP_OK;
  }
  case MP_FLAG_BOOL: return parse_bool(v, f->target);
  case MP_FLAG_DURATION: return mp_duration_parse(v, f->target);
  case MP_FLAG_LIST: {
    /* Comma-separated in both places; the environment replaces the default, each flag
     * on the command line adds to what is there. */
    mp_strlist *l = f->target;
    if (from_env) mp_strlist_free(l);
    char *copy = mp_strdup(v), *save = NULL;
    for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
      if (*tok) mp_strlist_push(l, tok);
    mp_free(copy);
    return MP_OK;
  }
  }
  return MP_ERR_INTERNAL;
}

static const char *default_text(const mp_flag *f, char *buf, size_t n) {
  switch (f->type) {
  case MP_FLAG_STRING: {
    const char *s = *(char **)f->target;
    return s && *s ? s : NULL;
  }
  case MP_FLAG_INT: snprintf(buf, n, "%lld", (long long)*(int64_t *)f->target); return buf;
  case MP_FLAG_DOUBLE: snprintf(buf, n, "%g", *(double *)f->target); return buf;
  case MP_FLAG_BOOL: return *(bool *)f->target ? "true" : NULL;
  case MP_FLAG_DURATION: return mp_duration_format(*(int64_t *)f->target, buf, n);
  case MP_FLAG_LIST: {
    const mp_strlist *l = f->target;
    if (!l->len) return NULL;
    buf[0] = '\0';
    for (size_t i = 0; i < l->len; i++) {
      size_t used = strlen(buf);
      snprintf(buf + used, n - used, "%s%s", i ? "," : "", l->items[i]);
    }
    return buf;
  }
  }
  return NULL;
}

static const mp_flag builtin_log_level = {"log-level",
                                          0,
                                          MP_FLAG_STRING,
                                          NULL,
                                          "MESHPLANE_LOG_LEVEL",
                                          "log verbosity: debug, info, warn, error or off",
                                          "LEVEL"};

void mp_flags_usage(const mp_program *prog, const mp_flag *flags, size_t nflags, void *fp) {
  FILE *f = fp;
  fprintf(f, "%s - %s\n\nUsage: %s %s\n\nFlags:\n", prog->name, prog->summary, prog->name,
          prog->usage ? prog->usage : "[flags]");
  for (size_t i = 0; i <= nflags; i++) {
    const mp_flag *fl = i < nflags ? &flags[i] : &builtin_log_level;
    char left[64], def[256];
    const char *meta = fl->type == MP_FLAG_BOOL ? "" : fl->metavar ? fl->metavar : "VALUE";
    snprintf(left, sizeof left, "%c%c%c --%s%s%s", fl->short_name ? '-' : ' ',
             fl->short_name ? fl->short_name : ' ', fl->short_name ? ',' : ' ', fl->name,
             *meta ? " " : "", meta);
    fprintf(f, "  %-30s %s", left, fl->help ? fl->help : "");
    const char *d = fl->target ? default_text(fl, def, sizeof def) : "info";
    if (fl->env && d)
      fprintf(f, " (env %s, default %s)", fl->env, d);
    else if (fl->env)
      fprintf(f, " (env %s)", fl->env);
    else if (d)
      fprintf(f, " (default %s)", d);
    fputc('\n', f);
  }
  fprintf(f, "  %-30s %s\n  %-30s %s\n", "-h, --help", "show this help and exit", "    --version",
          "print the version and exit");
  if (prog->epilog) fprintf(f, "\n%s\n", prog->epilog);
}

static const mp_flag *find_long(const mp_flag *flags, size_t n, const char *name, size_t len) {
  for (size_t i = 0; i < n; i++)
    if (strlen(flags[i].name) == len && !strncmp(flags[i].name, name, len)) return &flags[i];
  return NULL;
}

static int fail(const mp_program *prog, const char *fmt, ...) MP_PRINTF(2, 3);
static int fail(const mp_program *prog, const char *fmt, ...) {
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  fprintf(stderr, "%s: %s\nRun '%s --help' for usage.\n", prog->name, msg, prog->name);
  return -1;
}

int mp_flags_parse(const mp_program *prog, const mp_flag *flags, size_t nflags, int argc,
                   char **argv, int *nargs) {
  /* Own every string default, so mp_flags_free can free what the targets hold. */
  for (size_t i = 0; i < nflags; i++) {
    if (flags[i].type == MP_FLAG_STRING) {
      char **t = flags[i].target;
      *t = mp_strdup(*t);
    }
  }
  char *log_level = NULL;
  const char *env_level = getenv("MESHPLANE_LOG_LEVEL");
  if (env_level && *env_level) log_level = mp_strdup(env_level);
  for (size_t i = 0; i < nflags; i++) {
    const char *v = flags[i].env ? getenv(flags[i].env) : NULL;
    if (v && set_value(&flags[i], v, true) != MP_OK) {
      mp_free(log_level);
      return fail(prog, "environment %s: %s", flags[i].env, mp_error_last());
    }
  }

  int npos = 0, rc = 0;
  bool only_args = false;
  for (int i = 1; i < argc && rc == 0; i++) {
    char *a = argv[i];
    if (only_args || a[0] != '-' || a[1] == '\0') {
      argv[npos++] = a;
      continue;
    }
    if (!strcmp(a, "--")) {
      only_args = true;
      continue;
    }
    if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
      mp_flags_usage(prog, flags, nflags, stdout);
      rc = 1;
      break;
    }
    if (!strcmp(a, "--version")) {
      printf("%s %s (git %s)\n", prog->name, MESHPLANE_VERSION, MESHPLANE_GIT_SHA);
      rc = 1;
      break;
    }
    const mp_flag *f = NULL;
    const char *value = NULL;
    bool negated = false;
    if (a[1] == '-') {
      const char *name = a + 2, *eq = strchr(name, '=');
      size_t len = eq ? (size_t)(eq - name) : strlen(name);
      if (eq) value = eq + 1;
      if (len == 9 && !strncmp(name, "log-level", 9)) {
        if (!value) {
          if (i + 1 >= argc) {
            rc = fail(prog, "flag --%s needs a value", "log-level");
            break;
          }
          value = argv[++i];
        }
        mp_free(log_level);
        log_level = mp_strdup(value);
        continue;
      }
      f = find_long(flags, nflags, name, len);
      if (!f && len > 3 && !strncmp(name, "no-", 3)) {
        f = find_long(flags, nflags, name + 3, len - 3);
        if (f && f->type == MP_FLAG_BOOL && !value)
          negated = true;
        else
          f = NULL;
      }
    } else {
      for (size_t k = 0; k < nflags; k++)
        if (flags[k].short_name == a[1]) f = &flags[k];
      /* "-t2" is "-t 2" for flags that take a value; "-x" alone otherwise. */
      if (f && a[2] != '\0') {
        if (f->type == MP_FLAG_BOOL)
          f = NULL;
        else
          value = a + 2;
      }
    }
    if (!f) {
      rc = fail(prog, "unknown flag %s", a);
      break;
    }
    if (f->type == MP_FLAG_BOOL && !value) {
      *(bool *)f->target = !negated;
      continue;
    }
    if (!value) {
      if (i + 1 >= argc) {
        rc = fail(prog, "flag --%s needs a value", f->name);
        break;
      }
      value = argv[++i];
    }
    if (set_value(f, value, false) != MP_OK) rc = fail(prog, "--%s: %s", f->name, mp_error_last());
  }
  if (rc == 0 && log_level) {
    mp_log_level lvl;
    if (mp_log_level_parse(log_level, &lvl) != MP_OK)
      rc = fail(prog, "--log-level: %s", mp_error_last());
    else
      mp_log_set_level(lvl);
  }
  mp_free(log_level);
  if (nargs) *nargs = npos;
  return rc;
}

void mp_flags_free(const mp_flag *flags, size_t nflags) {
  for (size_t i = 0; i < nflags; i++) {
    if (flags[i].type == MP_FLAG_STRING) {
      char **t = flags[i].target;
      mp_free(*t);
      *t = NULL;
    } else if (flags[i].type == MP_FLAG_LIST) {
      mp_strlist_free(flags[i].target);
    }
  }
}
