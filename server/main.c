/* meshplane-server: the coordinator. Flags and environment, start-up (database,
 * migrations, gRPC API), and a graceful stop on SIGTERM/SIGINT. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adapters.h"
#include "events.h"
#include "runs.h"
#include "schedules.h"
#include "workers.h"

typedef struct config {
  char *listen, *database, *nats, *token, *tls_cert, *tls_key, *tls_client_ca, *ready_file;
  mp_strlist adapters, workers;
  int64_t db_pool, db_wait_ns, grace_ns;
} config;

static const mp_program prog = {
    "meshplane-server", "the meshplane coordinator: profiles, runs, results, adapters and events",
    "[flags]",
    "The database is PostgreSQL (libpq conninfo or postgresql:// URL); its schema is\n"
    "created and migrated at start."};

/* Writes "host:port" to path once the server listens, for scripts and tests. */
static void write_ready_file(const char *path, const char *listen, int port) {
  if (!path || !*path) return;
  char tmp[4096];
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  FILE *f = fopen(tmp, "w");
  if (!f) {
    mp_warn("cannot write the ready file", "path=%s", path);
    return;
  }
  /* Keep the host part of --listen, with the bound port. */
  const char *colon = strrchr(listen, ':');
  int hostlen = colon ? (int)(colon - listen) : (int)strlen(listen);
  fprintf(f, "%.*s:%d\n", hostlen, listen, port);
  fclose(f);
  rename(tmp, path);
}

static mp_status open_database(const config *c, mp_db **db) {
  int64_t end = mp_mono_ns() + c->db_wait_ns;
  for (int attempt = 0;; attempt++) {
    mp_status st = mp_db_open(c->database, (unsigned)c->db_pool, db);
    if (st == MP_OK || mp_mono_ns() >= end) return st;
    if (attempt == 0) mp_warn("waiting for the database", "error=\"%s\"", mp_error_last());
    mp_sleep_ms(500);
  }
}

int main(int argc, char **argv) {
  config c = {.listen = "127.0.0.1:9600",
              .database = "host=/var/run/postgresql dbname=meshplane",
              .nats = "",
              .token = "",
              .tls_cert = "",
              .tls_key = "",
              .tls_client_ca = "",
              .ready_file = "",
              .db_pool = 8,
              .db_wait_ns = 30 * MP_NS_PER_S,
              .grace_ns = 10 * MP_NS_PER_S};
  const mp_flag flags[] = {
      {"listen", 'l', MP_FLAG_STRING, &c.listen, "MESHPLANE_LISTEN", "gRPC API address", "ADDR"},
      {"database", 'd', MP_FLAG_STRING, &c.database, "MESHPLANE_DATABASE_URL",
       "PostgreSQL conninfo or URL", "DSN"},
      {"nats", 0, MP_FLAG_STRING, &c.nats, "MESHPLANE_NATS_URL",
       "NATS server for events across replicas (empty: in-process, one replica)", "URL"},
      {"adapters", 'a', MP_FLAG_LIST, &c.adapters, "MESHPLANE_ADAPTERS",
       "adapter address host:port (repeatable, comma-separated in env)", "ADDR"},
      {"workers", 'w', MP_FLAG_LIST, &c.workers, "MESHPLANE_WORKERS",
       "loadgen worker address host:port (repeatable, comma-separated in env)", "ADDR"},
      {"db-pool", 0, MP_FLAG_INT, &c.db_pool, "MESHPLANE_DB_POOL", "database connections", "N"},
      {"db-wait", 0, MP_FLAG_DURATION, &c.db_wait_ns, "MESHPLANE_DB_WAIT",
       "how long to wait for the database at start", "DUR"},
      {"token", 0, MP_FLAG_STRING, &c.token, "MESHPLANE_TOKEN",
       "require this bearer token from clients", "TOKEN"},
      {"tls-cert", 0, MP_FLAG_STRING, &c.tls_cert, "MESHPLANE_TLS_CERT", "TLS certificate (PEM)",
       "FILE"},
      {"tls-key", 0, MP_FLAG_STRING, &c.tls_key, "MESHPLANE_TLS_KEY", "TLS private key (PEM)",
       "FILE"},
      {"tls-client-ca", 0, MP_FLAG_STRING, &c.tls_client_ca, "MESHPLANE_TLS_CLIENT_CA",
       "require client certificates signed by this CA", "FILE"},
      {"grace", 0, MP_FLAG_DURATION, &c.grace_ns, "MESHPLANE_GRACE",
       "on SIGTERM, how long calls in flight may finish", "DUR"},
      {"ready-file", 0, MP_FLAG_STRING, &c.ready_file, NULL,
       "write the bound host:port here once listening", "FILE"},
  };
  int nargs;
  int rc = mp_flags_parse(&prog, flags, MP_ARRAY_LEN(flags), argc, argv, &nargs);
  if (rc != 0 || nargs > 0) {
    if (nargs > 0 && rc == 0) fprintf(stderr, "%s: unexpected argument %s\n", prog.name, argv[0]);
    mp_flags_free(flags, MP_ARRAY_LEN(flags));
    return rc > 0 ? 0 : 2;
  }
  mp_log_init(prog.name);
  /* Signals are blocked before gRPC starts threads, and taken with sigwait below. */
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGTERM);
  sigaddset(&sigs, SIGINT);
  pthread_sigmask(SIG_BLOCK, &sigs, NULL);
  signal(SIGPIPE, SIG_IGN);

  mp_server s = {0};
  mp_sched *sched = NULL;
  mp_uuid_new(s.id);
  s.started_ms = mp_now_ms();
  mp_server_api_init(&s);
  rc = 1;
  s.conninfo = c.database;
  mp_bus_opts bo = {
      .url = c.nats, .name = prog.name, .stream = "MESHPLANE", .stream_subjects = "meshplane.>"};
  if (open_database(&c, &s.db) != MP_OK || mp_db_migrate(s.db) != MP_OK ||
      mp_bus_open(&bo, &s.bus) != MP_OK) {
    fprintf(stderr, "%s: %s\n", prog.name, mp_error_last());
    goto out;
  }
  s.events = mp_events_start(&s);
  s.adapters = mp_adapters_start(&s, &c.adapters);
  s.workers = mp_workers_start(&s, &c.workers);
  s.runs = mp_runs_new(&s);
  sched = mp_sched_start(&s, mp_runs_launch_scheduled);
  mp_rpc_server_opts o = {.listen = c.listen,
                          .auth_token = *c.token ? c.token : NULL,
                          .tls_cert_file = *c.tls_cert ? c.tls_cert : NULL,
                          .tls_key_file = *c.tls_key ? c.tls_key : NULL,
                          .tls_client_ca_file = *c.tls_client_ca ? c.tls_client_ca : NULL,
                          .grace_ms = c.grace_ns / MP_NS_PER_MS};
  if (mp_rpc_server_new(&o, &s.rpc) != MP_OK ||
      mp_rpc_server_add_service(s.rpc, &s.service.base) != MP_OK ||
      mp_rpc_server_start(s.rpc) != MP_OK) {
    fprintf(stderr, "%s: %s\n", prog.name, mp_error_last());
    goto out;
  }
  int port = mp_rpc_server_port(s.rpc);
  write_ready_file(c.ready_file, c.listen, port);
  mp_info("serving", "listen=%s port=%d replica=%s tls=%s auth=%s", c.listen, port, s.id,
          o.tls_cert_file ? "on" : "off", o.auth_token ? "token" : "none");
  int sig = 0;
  sigwait(&sigs, &sig);
  mp_info("shutting down", "signal=%s", sig == SIGTERM ? "TERM" : "INT");
  rc = 0;
out:
  /* Clients first (streams end), then the adapters that feed events, then the events
   * writer (it stores what is queued), then the connections. */
  if (s.rpc) mp_rpc_server_shutdown(s.rpc);
  mp_sched_stop(sched);
  mp_runs_stop(s.runs);
  mp_adapters_stop(s.adapters);
  mp_workers_stop(s.workers);
  mp_events_stop(s.events);
  mp_rpc_server_free(s.rpc);
  mp_bus_close(s.bus);
  mp_db_close(s.db);
  mp_flags_free(flags, MP_ARRAY_LEN(flags));
  return rc;
}
