/* PostgreSQL pool, parameterized statements, reconnect, migrations. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"

/* Any 64-bit key: the lock that serializes migrations across server replicas. */
#define MIGRATION_LOCK_KEY "7212889301"

/* Parameterized statements are prepared once per connection and then only executed:
 * planning the profile query costs ~4x its execution. The cache is keyed by the SQL text
 * (statements are string literals, a few dozen in all); past STMT_CACHE the rest run
 * unprepared. A reset connection forgets its statements. */
#define STMT_CACHE 96

typedef struct stmt {
  uint64_t hash;
  char *sql;
} stmt;

struct mp_dbc {
  PGconn *pg;
  bool in_tx;
  mp_dbc *next_free;
  stmt stmts[STMT_CACHE];
  unsigned n_stmts;
};

struct mp_db {
  char *conninfo;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  mp_dbc *conns;
  unsigned size;
  mp_dbc *free_list;
};

static PGconn *connect_pg(const char *conninfo) {
  PGconn *pg = PQconnectdb(conninfo);
  if (PQstatus(pg) != CONNECTION_OK) {
    char msg[512];
    mp_strlcpy(msg, PQerrorMessage(pg), sizeof msg);
    msg[strcspn(msg, "\n")] = '\0';
    PQfinish(pg);
    mp_error_set(MP_ERR_UNAVAILABLE,
                 "cannot connect to PostgreSQL: %s (check --database / MESHPLANE_DATABASE_URL "
                 "and that the server is running)",
                 msg);
    return NULL;
  }
  /* Quiet NOTICEs (e.g. "relation already exists, skipping"). */
  PQclear(PQexec(pg, "SET client_min_messages TO warning"));
  return pg;
}

mp_status mp_db_open(const char *conninfo, unsigned pool_size, mp_db **out) {
  *out = NULL;
  PGconn *first = connect_pg(conninfo);
  if (!first) return MP_ERR_UNAVAILABLE;
  mp_db *db = mp_calloc(1, sizeof *db);
  db->conninfo = mp_strdup(conninfo);
  db->size = pool_size ? pool_size : 8;
  db->conns = mp_calloc(db->size, sizeof *db->conns);
  db->conns[0].pg = first;
  for (unsigned i = 0; i < db->size; i++) {
    db->conns[i].next_free = db->free_list;
    db->free_list = &db->conns[i];
  }
  pthread_mutex_init(&db->mu, NULL);
  pthread_cond_init(&db->cv, NULL);
  *out = db;
  return MP_OK;
}

static void forget_stmts(mp_dbc *c) {
  for (unsigned i = 0; i < c->n_stmts; i++) mp_free(c->stmts[i].sql);
  c->n_stmts = 0;
}

void mp_db_close(mp_db *db) {
  if (!db) return;
  for (unsigned i = 0; i < db->size; i++) {
    if (db->conns[i].pg) PQfinish(db->conns[i].pg);
    forget_stmts(&db->conns[i]);
  }
  pthread_mutex_destroy(&db->mu);
  pthread_cond_destroy(&db->cv);
  mp_free(db->conns);
  mp_free(db->conninfo);
  mp_free(db);
}

mp_dbc *mp_db_get(mp_db *db) {
  pthread_mutex_lock(&db->mu);
  while (!db->free_list) pthread_cond_wait(&db->cv, &db->mu);
  mp_dbc *c = db->free_list;
  db->free_list = c->next_free;
  pthread_mutex_unlock(&db->mu);
  /* The connection is (re)opened lazily, outside the lock. */
  if (!c->pg) c->pg = connect_pg(db->conninfo);
  c->in_tx = false;
  return c;
}

void mp_db_put(mp_db *db, mp_dbc *c) {
  if (c->in_tx) mp_dbc_rollback(c);
  pthread_mutex_lock(&db->mu);
  c->next_free = db->free_list;
  db->free_list = c;
  pthread_cond_signal(&db->cv);
  pthread_mutex_unlock(&db->mu);
}

PGconn *mp_dbc_pg(mp_dbc *c) { return c->pg; }

/* ---- parameters ----------------------------------------------------------------------- */

static void push(mp_dbargs *a, char *owned, const char *value, int len, int format) {
  if (a->n >= MP_DB_MAX_ARGS) abort(); /* a programming error, caught by tests */
  a->owned[a->n] = owned;
  a->values[a->n] = value;
  a->lengths[a->n] = len;
  a->formats[a->n] = format;
  a->n++;
}

void mp_dbargs_text(mp_dbargs *a, const char *s) {
  char *copy = mp_strdup(s);
  push(a, copy, copy, 0, 0);
}

void mp_dbargs_int(mp_dbargs *a, int64_t v) {
  char *s = mp_asprintf("%lld", (long long)v);
  push(a, s, s, 0, 0);
}

void mp_dbargs_double(mp_dbargs *a, double v) {
  char *s = mp_asprintf("%.17g", v);
  push(a, s, s, 0, 0);
}

void mp_dbargs_bool(mp_dbargs *a, bool v) { push(a, NULL, v ? "true" : "false", 0, 0); }

void mp_dbargs_bytes(mp_dbargs *a, const void *p, size_t n) {
  char *copy = mp_malloc(n ? n : 1);
  if (n) memcpy(copy, p, n);
  push(a, copy, copy, (int)n, 1);
}

void mp_dbargs_textarray(mp_dbargs *a, char *const *items, size_t n) {
  /* Array literal: {"a","b \"q\""}; every element quoted, quotes and backslashes escaped. */
  mp_buf b = {0};
  mp_buf_append(&b, "{", 1);
  for (size_t i = 0; i < n; i++) {
    if (i) mp_buf_append(&b, ",", 1);
    mp_buf_append(&b, "\"", 1);
    for (const char *p = items[i]; *p; p++) {
      if (*p == '"' || *p == '\\') mp_buf_append(&b, "\\", 1);
      mp_buf_append(&b, p, 1);
    }
    mp_buf_append(&b, "\"", 1);
  }
  mp_buf_append(&b, "}", 1);
  char *s = mp_buf_steal(&b);
  push(a, s, s, 0, 0);
}

void mp_dbargs_free(mp_dbargs *a) {
  for (int i = 0; i < a->n; i++) mp_free(a->owned[i]);
  a->n = 0;
}

/* ---- statements ------------------------------------------------------------------------ */

static mp_status classify(PGresult *r, PGconn *pg) {
  const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
  char msg[512];
  mp_strlcpy(msg, r ? PQresultErrorMessage(r) : PQerrorMessage(pg), sizeof msg);
  msg[strcspn(msg, "\n")] = '\0';
  if (PQstatus(pg) != CONNECTION_OK || (state && !strncmp(state, "08", 2)) ||
      (state && !strcmp(state, "57P01")))
    return mp_error_set(MP_ERR_UNAVAILABLE, "the database is unavailable: %s", msg);
  if (state && !strcmp(state, "23505")) return mp_error_set(MP_ERR_EXISTS, "%s", msg);
  if (state && (!strncmp(state, "22", 2) || !strncmp(state, "23", 2)))
    return mp_error_set(MP_ERR_INVALID, "%s", msg);
  return mp_error_set(MP_ERR_INTERNAL, "database error: %s", msg);
}

static uint64_t fnv1a(const char *s) {
  uint64_t h = 14695981039346656037ULL;
  for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ULL;
  return h;
}

/* The name of sql's prepared statement on c ("s<index>"), preparing it the first time.
 * False when the cache is full, or when PostgreSQL refused it: then *err is its error
 * result (NULL when the connection is gone), for the caller to report. */
static bool prepared(mp_dbc *c, const char *sql, int nparams, char name[16], PGresult **err) {
  uint64_t h = fnv1a(sql);
  unsigned i = 0;
  while (i < c->n_stmts && (c->stmts[i].hash != h || strcmp(c->stmts[i].sql, sql))) i++;
  snprintf(name, 16, "s%u", i);
  if (i < c->n_stmts) return true;
  if (i == STMT_CACHE) return false;
  PGresult *r = PQprepare(c->pg, name, sql, nparams, NULL);
  if (!r || PQresultStatus(r) != PGRES_COMMAND_OK) {
    *err = r;
    return false;
  }
  PQclear(r);
  c->stmts[i].hash = h;
  c->stmts[i].sql = mp_strdup(sql);
  c->n_stmts++;
  return true;
}

static PGresult *exec_once(mp_dbc *c, const char *sql, const mp_dbargs *args, mp_status *st) {
  if (!c->pg) {
    *st = MP_ERR_UNAVAILABLE; /* connect_pg recorded why */
    return NULL;
  }
  char name[16];
  PGresult *r = NULL;
  if (!args || !args->n)
    r = PQexecParams(c->pg, sql, 0, NULL, NULL, NULL, NULL, 0);
  else if (prepared(c, sql, args->n, name, &r)) {
    r = PQexecPrepared(c->pg, name, args->n, args->values, args->lengths, args->formats, 0);
    const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    if (state && !strcmp(state, "0A000") && !c->in_tx) {
      /* "cached plan must not change result type": another server migrated the schema
       * under this one. Start over with fresh statements. */
      PQclear(r);
      PQclear(PQexec(c->pg, "DEALLOCATE ALL"));
      forget_stmts(c);
      r = PQexecParams(c->pg, sql, args->n, NULL, args->values, args->lengths, args->formats, 0);
    }
  } else if (!r && PQstatus(c->pg) == CONNECTION_OK) /* the cache is full */
    r = PQexecParams(c->pg, sql, args->n, NULL, args->values, args->lengths, args->formats, 0);
  ExecStatusType es = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
  if (es == PGRES_COMMAND_OK || es == PGRES_TUPLES_OK) {
    *st = MP_OK;
    return r;
  }
  *st = classify(r, c->pg);
  PQclear(r);
  return NULL;
}

PGresult *mp_dbc_exec(mp_dbc *c, const char *sql, const mp_dbargs *args, mp_status *st) {
  mp_status dummy;
  if (!st) st = &dummy;
  PGresult *r = exec_once(c, sql, args, st);
  if (r || *st != MP_ERR_UNAVAILABLE || c->in_tx) return r;
  /* The connection broke (PostgreSQL restarted?): reconnect and try once more. A
   * statement that failed this way was not applied. */
  if (c->pg) {
    forget_stmts(c);
    PQreset(c->pg);
    if (PQstatus(c->pg) != CONNECTION_OK) {
      mp_error_set(MP_ERR_UNAVAILABLE, "the database is unavailable: %s", PQerrorMessage(c->pg));
      return NULL;
    }
    PQclear(PQexec(c->pg, "SET client_min_messages TO warning"));
  } else {
    return NULL;
  }
  return exec_once(c, sql, args, st);
}

static mp_status simple(mp_dbc *c, const char *sql) {
  mp_status st;
  PGresult *r = mp_dbc_exec(c, sql, NULL, &st);
  PQclear(r);
  return st;
}

mp_status mp_dbc_begin(mp_dbc *c) {
  mp_status st = simple(c, "BEGIN");
  if (st == MP_OK) c->in_tx = true;
  return st;
}

mp_status mp_dbc_commit(mp_dbc *c) {
  mp_status st = simple(c, "COMMIT");
  c->in_tx = false;
  return st;
}

void mp_dbc_rollback(mp_dbc *c) {
  if (c->pg && PQstatus(c->pg) == CONNECTION_OK) PQclear(PQexec(c->pg, "ROLLBACK"));
  c->in_tx = false;
}

PGresult *mp_db_exec(mp_db *db, const char *sql, const mp_dbargs *args, mp_status *st) {
  mp_dbc *c = mp_db_get(db);
  PGresult *r = mp_dbc_exec(c, sql, args, st);
  mp_db_put(db, c);
  return r;
}

/* ---- reading ---------------------------------------------------------------------------- */

const char *mp_db_text(const PGresult *r, int row, int col) {
  return PQgetisnull(r, row, col) ? "" : PQgetvalue(r, row, col);
}

int64_t mp_db_int(const PGresult *r, int row, int col) {
  return strtoll(mp_db_text(r, row, col), NULL, 10);
}

double mp_db_double(const PGresult *r, int row, int col) {
  return strtod(mp_db_text(r, row, col), NULL);
}

bool mp_db_bool(const PGresult *r, int row, int col) { return mp_db_text(r, row, col)[0] == 't'; }

unsigned char *mp_db_bytes(const PGresult *r, int row, int col, size_t *len) {
  return PQunescapeBytea((const unsigned char *)mp_db_text(r, row, col), len);
}

char **mp_db_textarray(const PGresult *r, int row, int col, size_t *n) {
  /* Text output of a 1-D array: {a,"b c",NULL}; quoted elements escape " and \. */
  const char *p = mp_db_text(r, row, col);
  size_t cap = 4, len = 0;
  char **items = mp_malloc(cap * sizeof *items);
  if (*p == '{') p++;
  while (*p && *p != '}') {
    mp_buf b = {0};
    if (*p == '"') {
      for (p++; *p && *p != '"'; p++) {
        if (*p == '\\' && p[1]) p++;
        mp_buf_append(&b, p, 1);
      }
      if (*p == '"') p++;
    } else {
      while (*p && *p != ',' && *p != '}') mp_buf_append(&b, p++, 1);
    }
    if (len + 1 >= cap) items = mp_realloc(items, (cap *= 2) * sizeof *items);
    items[len++] = mp_buf_steal(&b);
    if (*p == ',') p++;
  }
  items[len] = NULL;
  *n = len;
  return items;
}

/* ---- migrations --------------------------------------------------------------------------- */

mp_status mp_db_migrate(mp_db *db) {
  mp_dbc *c = mp_db_get(db);
  mp_status st;
  PGresult *r = mp_dbc_exec(c, "SELECT pg_advisory_lock(" MIGRATION_LOCK_KEY ")", NULL, &st);
  PQclear(r);
  if (st != MP_OK) {
    mp_db_put(db, c);
    return st;
  }
  r = mp_dbc_exec(c,
                  "CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, "
                  "name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())",
                  NULL, &st);
  PQclear(r);
  for (size_t i = 0; st == MP_OK && i < mp_migrations_count; i++) {
    const mp_migration *m = &mp_migrations[i];
    mp_dbargs a = {0};
    mp_dbargs_int(&a, m->version);
    r = mp_dbc_exec(c, "SELECT 1 FROM schema_migrations WHERE version = $1", &a, &st);
    bool done = r && PQntuples(r) > 0;
    PQclear(r);
    if (st != MP_OK || done) {
      mp_dbargs_free(&a);
      continue;
    }
    if ((st = mp_dbc_begin(c)) != MP_OK) {
      mp_dbargs_free(&a);
      break;
    }
    /* A migration file may hold several statements: the simple protocol runs them all. */
    PGresult *mr = PQexec(c->pg, m->sql);
    if (PQresultStatus(mr) != PGRES_COMMAND_OK && PQresultStatus(mr) != PGRES_TUPLES_OK) {
      st = mp_error_set(MP_ERR_INTERNAL, "migration %03d_%s failed: %s", m->version, m->name,
                        PQresultErrorMessage(mr));
      PQclear(mr);
      mp_dbc_rollback(c);
      mp_dbargs_free(&a);
      break;
    }
    PQclear(mr);
    mp_dbargs_text(&a, m->name);
    r = mp_dbc_exec(c, "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", &a, &st);
    PQclear(r);
    mp_dbargs_free(&a);
    if (st == MP_OK)
      st = mp_dbc_commit(c);
    else
      mp_dbc_rollback(c);
    if (st == MP_OK) mp_info("applied migration", "version=%d name=%s", m->version, m->name);
  }
  char msg[512];
  mp_strlcpy(msg, mp_error_last(), sizeof msg);
  PQclear(mp_dbc_exec(c, "SELECT pg_advisory_unlock(" MIGRATION_LOCK_KEY ")", NULL, NULL));
  mp_db_put(db, c);
  if (st != MP_OK) mp_error_set(st, "%s", msg);
  return st;
}
