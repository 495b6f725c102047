/* PostgreSQL access for meshplane-server: a pool of libpq connections, parameterized
 * statements only, transparent reconnect after the database restarts, and versioned
 * migrations applied at start under an advisory lock. */
#ifndef MP_SERVER_DB_H
#define MP_SERVER_DB_H

#include <libpq-fe.h>

#include "meshplane/base.h"

typedef struct mp_db mp_db;
typedef struct mp_dbc mp_dbc; /* a connection leased from the pool */

/* Connects pool_size connections lazily; the first is opened now to check conninfo.
 * MP_ERR_UNAVAILABLE with libpq's message when the database cannot be reached. */
mp_status mp_db_open(const char *conninfo, unsigned pool_size, mp_db **out);
void mp_db_close(mp_db *db);

/* Leases a connection (waits while all are in use) and gives it back. */
mp_dbc *mp_db_get(mp_db *db);
void mp_db_put(mp_db *db, mp_dbc *c);

/* Statement parameters, built up in order ($1, $2, ...). Values are copied. */
#define MP_DB_MAX_ARGS 32
typedef struct mp_dbargs {
  int n;
  const char *values[MP_DB_MAX_ARGS];
  int lengths[MP_DB_MAX_ARGS];
  int formats[MP_DB_MAX_ARGS];
  char *owned[MP_DB_MAX_ARGS];
} mp_dbargs;

void mp_dbargs_text(mp_dbargs *a, const char *s); /* NULL is SQL NULL */
void mp_dbargs_int(mp_dbargs *a, int64_t v);
void mp_dbargs_double(mp_dbargs *a, double v);
void mp_dbargs_bool(mp_dbargs *a, bool v);
void mp_dbargs_bytes(mp_dbargs *a, const void *p, size_t n);
/* A text[] parameter from n strings. */
void mp_dbargs_textarray(mp_dbargs *a, char *const *items, size_t n);
/* Unix milliseconds as a timestamptz parameter (use with $n::bigint in to_timestamp). */
void mp_dbargs_free(mp_dbargs *a);

/* Runs one statement. Returns the result (free with PQclear) or NULL with the error
 * recorded (mp_error_last) and *st set: MP_ERR_EXISTS for unique violations,
 * MP_ERR_INVALID for bad input rejected by the database, MP_ERR_UNAVAILABLE when the
 * database cannot be reached. Outside a transaction a broken connection is reset and
 * the statement retried once, so a restarted PostgreSQL is invisible to callers. */
PGresult *mp_dbc_exec(mp_dbc *c, const char *sql, const mp_dbargs *args, mp_status *st);
mp_status mp_dbc_begin(mp_dbc *c);
mp_status mp_dbc_commit(mp_dbc *c);
void mp_dbc_rollback(mp_dbc *c);
PGconn *mp_dbc_pg(mp_dbc *c);

/* mp_dbc_exec on a connection leased for just this statement. */
PGresult *mp_db_exec(mp_db *db, const char *sql, const mp_dbargs *args, mp_status *st);

/* Reading results. Text format. */
const char *mp_db_text(const PGresult *r, int row, int col); /* "" for NULL */
int64_t mp_db_int(const PGresult *r, int row, int col);
double mp_db_double(const PGresult *r, int row, int col);
bool mp_db_bool(const PGresult *r, int row, int col);
/* A bytea column; *len set. The caller frees with PQfreemem. */
unsigned char *mp_db_bytes(const PGresult *r, int row, int col, size_t *len);
/* A text[] column as a newly allocated NULL-terminated array (the caller frees each
 * string and the array with mp_free); *n set. */
char **mp_db_textarray(const PGresult *r, int row, int col, size_t *n);

/* Migrations: compiled in from server/migrations/NNN_name.sql. */
typedef struct mp_migration {
  int version;
  const char *name;
  const char *sql;
} mp_migration;
extern const mp_migration mp_migrations[];
extern const size_t mp_migrations_count;

/* Applies the migrations not yet recorded in schema_migrations, each in its own
 * transaction, all under one advisory lock so concurrent servers apply them once. */
mp_status mp_db_migrate(mp_db *db);

#endif
