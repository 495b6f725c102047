/* Test-program side of the "services" fixture (tests/harness/services.sh).
 *
 * A test registered with `mp_test(... FIXTURES services)` runs with
 * MESHPLANE_SERVICES_ENV naming the env file of a private PostgreSQL and nats-server.
 * Its keys:
 *   MP_PG_CONNINFO  libpq conninfo of the `meshplane` database (unix socket)
 *   MP_PG_HOST      the socket directory; MP_PG_PORT, MP_PG_DB, MP_PG_USER
 *   MP_PG_PASSWORD  needed over TCP only; MP_PG_URL is a postgresql:// URL over TCP
 *   MP_NATS_URL     nats://127.0.0.1:PORT (JetStream enabled); MP_NATS_PORT
 *   MP_SERVICES_DIR, MP_PG_BINDIR
 * These helpers are for tests: on failure they print what is wrong and abort().
 */
#ifndef MESHPLANE_TESTENV_H
#define MESHPLANE_TESTENV_H

#ifdef __cplusplus
extern "C" {
#endif

/* The value of `key` in the env file, or NULL when the file has no such key. The string
 * is borrowed and lives until exit. Aborts when MESHPLANE_SERVICES_ENV is unset or its
 * file cannot be read (the fixture did not run). Thread-safe. */
const char *mp_testenv(const char *key);

/* Creates an empty database named `<prefix>_<random>` (prefix lower-cased, other
 * characters than [a-z0-9_] replaced by '_', cut to 24 characters) owned by MP_PG_USER,
 * and returns a libpq conninfo for it, the caller's to mp_free(). Use one per test to
 * keep tests isolated; the databases go away when the fixture stops. Aborts on failure.
 * From a shell: `tests/harness/services.sh freshdb "$MP_SERVICES_DIR" PREFIX`. */
char *mp_testenv_fresh_db(const char *prefix);

#ifdef __cplusplus
}
#endif
#endif
