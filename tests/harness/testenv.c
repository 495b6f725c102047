/* Reads the env file of the "services" fixture and creates per-test databases.
 *
 * The file is KEY=VALUE lines written by services.sh; a value may be wrapped in single
 * quotes (which it then does not contain). It is parsed once, on first use, and kept
 * until exit. */
#include "testenv.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "meshplane/base.h"

#define ENV_VAR "MESHPLANE_SERVICES_ENV"

typedef struct entry {
  char *key;
  char *value;
} entry;

static pthread_once_t load_once = PTHREAD_ONCE_INIT;
static entry *entries;
static size_t nentries;

MP_PRINTF(1, 2) static _Noreturn void fail(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("mp_testenv: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  abort();
}

static void unload(void) {
  for (size_t i = 0; i < nentries; i++) {
    mp_free(entries[i].key);
    mp_free(entries[i].value);
  }
  mp_free(entries);
  entries = NULL;
  nentries = 0;
}

/* Parses one line in place. Blank lines and comments are skipped. */
static void parse_line(char *line, const char *path, int lineno) {
  size_t n = strlen(line);
  while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r')) line[--n] = '\0';
  if (n == 0 || line[0] == '#') return;
  char *eq = strchr(line, '=');
  if (!eq || eq == line) fail("%s:%d: expected KEY=VALUE, got \"%s\"", path, lineno, line);
  *eq = '\0';
  char *value = eq + 1;
  size_t vlen = strlen(value);
  if (vlen >= 2 && value[0] == '\'' && value[vlen - 1] == '\'') {
    value[vlen - 1] = '\0';
    value++;
  }
  entries = mp_realloc(entries, (nentries + 1) * sizeof *entries);
  entries[nentries].key = mp_strdup(line);
  entries[nentries].value = mp_strdup(value);
  nentries++;
}

static void load(void) {
  const char *path = getenv(ENV_VAR);
  if (!path || !*path)
    fail(ENV_VAR " is not set: run this test through ctest (it needs the \"services\" "
                 "fixture), or run `tests/harness/services.sh start DIR` and export " ENV_VAR
                 "=DIR/env");
  FILE *f = fopen(path, "r");
  if (!f)
    fail("cannot read %s (%s): did the services_start test run and pass?", path, strerror(errno));
  char *line = NULL;
  size_t cap = 0;
  int lineno = 0;
  while (getline(&line, &cap, f) >= 0) parse_line(line, path, ++lineno);
  free(line); /* allocated by getline */
  fclose(f);
  atexit(unload);
}

const char *mp_testenv(const char *key) {
  pthread_once(&load_once, load);
  for (size_t i = 0; i < nentries; i++)
    if (strcmp(entries[i].key, key) == 0) return entries[i].value;
  return NULL;
}

static const char *require(const char *key) {
  const char *v = mp_testenv(key);
  if (!v || !*v) fail("%s has no %s", getenv(ENV_VAR), key);
  return v;
}

/* Appends ` key='value'` to a conninfo, quoting as libpq expects. */
static void conninfo_add(mp_buf *b, const char *key, const char *value) {
  mp_buf_printf(b, "%s%s='", b->len ? " " : "", key);
  for (const char *p = value; *p; p++) {
    if (*p == '\'' || *p == '\\') mp_buf_append(b, "\\", 1);
    mp_buf_append(b, p, 1);
  }
  mp_buf_append(b, "'", 1);
}

char *mp_testenv_fresh_db(const char *prefix) {
  const char *host = require("MP_PG_HOST"), *port = require("MP_PG_PORT");
  const char *user = require("MP_PG_USER");

  /* A name that needs no quoting: [a-z_][a-z0-9_]*, at most 24 + 1 + 32 < 63 bytes. */
  mp_buf name = {0};
  char lead = prefix ? (char)(prefix[0] | 0x20) : 0;
  if (lead < 'a' || lead > 'z') mp_buf_puts(&name, "t");
  for (const char *p = prefix ? prefix : ""; *p && name.len < 24; p++) {
    char c = *p >= 'A' && *p <= 'Z' ? (char)(*p - 'A' + 'a') : *p;
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))) c = '_';
    mp_buf_append(&name, &c, 1);
  }
  char uuid[MP_UUID_STRLEN];
  mp_uuid_new(uuid);
  mp_buf_puts(&name, "_");
  for (const char *p = uuid; *p; p++)
    if (*p != '-') mp_buf_append(&name, p, 1);

  const char *const keys[] = {"host", "port", "user", "dbname", "connect_timeout", NULL};
  const char *const vals[] = {host, port, user, "postgres", "10", NULL};
  PGconn *conn = PQconnectdbParams(keys, vals, 0);
  if (PQstatus(conn) != CONNECTION_OK)
    fail("cannot connect to the maintenance database on %s port %s: %s", host, port,
         PQerrorMessage(conn));
  char *sql = mp_asprintf("CREATE DATABASE %s", name.data);
  PGresult *res = PQexec(conn, sql);
  if (PQresultStatus(res) != PGRES_COMMAND_OK) fail("%s: %s", sql, PQresultErrorMessage(res));
  PQclear(res);
  PQfinish(conn);
  mp_free(sql);

  mp_buf ci = {0};
  conninfo_add(&ci, "host", host);
  conninfo_add(&ci, "port", port);
  conninfo_add(&ci, "dbname", name.data);
  conninfo_add(&ci, "user", user);
  mp_buf_free(&name);
  return mp_buf_steal(&ci);
}
