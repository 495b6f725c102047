/* meshplane-loadgen worker mode: serves meshplane.v1.LoadGenerator for meshplane-server.
 *
 * Run streams progress about once a second and ends with the result. The engine's
 * control thread produces progress; it is queued here and sent by the handler's thread
 * (an rpc call is only touched by its handler). One run at a time: a second Run gets
 * RESOURCE_EXHAUSTED. A cancelled call cancels the load. With --register the worker
 * announces itself to a server (RegisterWorker, repeated as a heartbeat). */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "meshplane/loadgen.h"
#include "meshplane/loadgen_proto.h"
#include "meshplane/rpc.h"
#include "meshplane/v1/loadgen.pb-c.h"
#include "meshplane/v1/server.pb-c.h"
#include "worker.h"

typedef struct queued {
  uint8_t *data; /* a packed RunEvent */
  size_t len;
  struct queued *next;
} queued;

typedef struct run_ctx {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  queued *head, *tail;
  const char *run_id;
  char hostname[128];
} run_ctx;

static atomic_int busy;
static char host[128];

/* On the engine's control thread: pack the progress and queue it for the handler. */
static void on_progress(const mp_loadgen_progress *p, void *arg) {
  run_ctx *rc = arg;
  Meshplane__V1__Progress msg;
  if (mp_loadgen_progress_to_proto(p, rc->run_id, rc->hostname, &msg) != MP_OK) return;
  Meshplane__V1__RunEvent ev = MESHPLANE__V1__RUN_EVENT__INIT;
  ev.event_case = MESHPLANE__V1__RUN_EVENT__EVENT_PROGRESS;
  ev.progress = &msg;
  queued *q = mp_calloc(1, sizeof *q);
  q->len = meshplane__v1__run_event__get_packed_size(&ev);
  q->data = mp_malloc(q->len ? q->len : 1);
  meshplane__v1__run_event__pack(&ev, q->data);
  mp_loadgen_proto_progress_clear(&msg);
  pthread_mutex_lock(&rc->mu);
  if (rc->tail)
    rc->tail->next = q;
  else
    rc->head = q;
  rc->tail = q;
  pthread_cond_signal(&rc->cv);
  pthread_mutex_unlock(&rc->mu);
}

/* Sends what is queued; false when the client went away. */
static bool flush(run_ctx *rc, void *cd) {
  pthread_mutex_lock(&rc->mu);
  queued *q = rc->head;
  rc->head = rc->tail = NULL;
  pthread_mutex_unlock(&rc->mu);
  bool alive = true;
  while (q) {
    queued *next = q->next;
    Meshplane__V1__RunEvent *ev = meshplane__v1__run_event__unpack(NULL, q->len, q->data);
    if (ev && alive) alive = mp_rpc_send(cd, &ev->base);
    if (ev) meshplane__v1__run_event__free_unpacked(ev, NULL);
    mp_free(q->data);
    mp_free(q);
    q = next;
  }
  return alive;
}

/* Frees what is still queued (a run that was cancelled or failed). */
static void drop(run_ctx *rc) {
  for (queued *q = rc->head, *next; q; q = next) {
    next = q->next;
    mp_free(q->data);
    mp_free(q);
  }
  rc->head = rc->tail = NULL;
}

static void lg_run(Meshplane__V1__LoadGenerator_Service *svc, const Meshplane__V1__RunRequest *in,
                   Meshplane__V1__RunEvent_Closure done, void *cd) {
  if (!in->spec) {
    mp_rpc_fail(cd, MP_RPC_INVALID_ARGUMENT, "spec is required");
    return;
  }
  int expected = 0;
  if (!atomic_compare_exchange_strong(&busy, &expected, 1)) {
    mp_rpc_fail(cd, MP_RPC_RESOURCE_EXHAUSTED,
                "this worker is already running a load; wait for it or use another worker");
    return;
  }
  run_ctx rc = {.run_id = in->spec->run_id};
  pthread_mutex_init(&rc.mu, NULL);
  pthread_cond_init(&rc.cv, NULL);
  mp_strlcpy(rc.hostname, host, sizeof rc.hostname);
  mp_loadgen_spec spec;
  mp_loadgen_run *run = NULL;
  mp_status st = mp_loadgen_spec_from_proto(in->spec, &spec);
  if (st == MP_OK) {
    spec.on_progress = on_progress;
    spec.progress_arg = &rc;
    st = mp_loadgen_start(&spec, &run);
  }
  if (st != MP_OK) {
    mp_rpc_fail(cd, st == MP_ERR_INVALID ? MP_RPC_INVALID_ARGUMENT : MP_RPC_FAILED_PRECONDITION,
                "%s", mp_error_last());
    goto out;
  }
  mp_info("run started", "run=%s endpoints=%zu rate=%.1f connections=%u", rc.run_id,
          in->spec->n_endpoints, spec.rate, spec.connections);
  bool alive = true;
  while (mp_loadgen_wait(run, 20 * MP_NS_PER_MS) != MP_OK) {
    alive = flush(&rc, cd) && !mp_rpc_cancelled(cd);
    if (!alive) {
      mp_info("run cancelled by the caller", "run=%s", rc.run_id);
      mp_loadgen_cancel(run);
      mp_loadgen_wait(run, -1);
      break;
    }
  }
  if (alive && flush(&rc, cd)) {
    const mp_loadgen_result *r = mp_loadgen_result_get(run);
    Meshplane__V1__Result res;
    if (mp_loadgen_result_to_proto(r, &res) == MP_OK) {
      res.run_id = (char *)rc.run_id;
      char *workers[] = {rc.hostname};
      res.workers = workers;
      res.n_workers = 1;
      Meshplane__V1__RunEvent ev = MESHPLANE__V1__RUN_EVENT__INIT;
      ev.event_case = MESHPLANE__V1__RUN_EVENT__EVENT_RESULT;
      ev.result = &res;
      done(&ev, cd);
      res.workers = NULL;
      res.n_workers = 0;
      res.run_id = NULL;
      mp_loadgen_proto_result_clear(&res);
    }
    if (r->error) mp_rpc_fail(cd, MP_RPC_FAILED_PRECONDITION, "%s", r->error);
    mp_info("run ended", "run=%s requests=%llu", rc.run_id, (unsigned long long)r->total.requests);
  }
out:
  mp_loadgen_free(run);
  drop(&rc);
  pthread_mutex_destroy(&rc.mu);
  pthread_cond_destroy(&rc.cv);
  atomic_store(&busy, 0);
}

static void lg_info(Meshplane__V1__LoadGenerator_Service *svc, const Meshplane__V1__InfoRequest *in,
                    Meshplane__V1__InfoResponse_Closure done, void *cd) {
  Meshplane__V1__InfoResponse r = MESHPLANE__V1__INFO_RESPONSE__INIT;
  /* Every protocol the engine loads, each over plain TCP and TLS. */
  Meshplane__V1__Protocol protos[] = {MESHPLANE__V1__PROTOCOL__PROTOCOL_HTTP1,
                                      MESHPLANE__V1__PROTOCOL__PROTOCOL_HTTP2,
                                      MESHPLANE__V1__PROTOCOL__PROTOCOL_GRPC};
  r.name = MP_LOADGEN_NAME;
  r.version = MESHPLANE_VERSION;
  r.git_sha = MESHPLANE_GIT_SHA;
  r.hostname = host;
  r.protocols = protos;
  r.n_protocols = MP_ARRAY_LEN(protos);
  r.threads = (uint32_t)sysconf(_SC_NPROCESSORS_ONLN);
  r.max_connections = MP_LOADGEN_MAX_CONNECTIONS;
  r.active_runs = (uint32_t)atomic_load(&busy);
  done(&r, cd);
}

static Meshplane__V1__LoadGenerator_Service service = MESHPLANE__V1__LOAD_GENERATOR__INIT(lg_);

/* ---- self-registration --------------------------------------------------------------- */

typedef struct registrar {
  const char *server, *advertise;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  bool stop;
} registrar;

static void *register_loop(void *arg) {
  registrar *g = arg;
  mp_rpc_channel *ch = NULL;
  if (mp_rpc_channel_new(g->server, NULL, &ch) != MP_OK) return NULL;
  int64_t every_ms = 5000;
  bool announced = false;
  pthread_mutex_lock(&g->mu);
  while (!g->stop) {
    pthread_mutex_unlock(&g->mu);
    Meshplane__V1__RegisterWorkerRequest req = MESHPLANE__V1__REGISTER_WORKER_REQUEST__INIT;
    req.address = (char *)g->advertise;
    req.version = MESHPLANE_VERSION;
    ProtobufCMessage *resp = NULL;
    mp_rpc_call_opts o = {.timeout_ms = 3000};
    mp_rpc_status st;
    if (mp_rpc_unary(ch, &meshplane__v1__meshplane__descriptor, "RegisterWorker", &req.base, &resp,
                     &o, &st) == MP_RPC_OK) {
      uint32_t hb = ((Meshplane__V1__RegisterWorkerResponse *)resp)->heartbeat_interval_ms;
      if (hb) every_ms = hb;
      if (!announced)
        mp_info("registered with the server", "server=%s as=%s", g->server, g->advertise);
      announced = true;
      protobuf_c_message_free_unpacked(resp, NULL);
    } else {
      if (announced || every_ms == 5000)
        mp_warn("cannot register with the server; retrying", "server=%s error=\"%s\"", g->server,
                st.message);
      announced = false;
    }
    pthread_mutex_lock(&g->mu);
    int64_t wait_ms = announced ? every_ms : 1000;
    if (!g->stop) mp_cond_wait_until(&g->cv, &g->mu, mp_mono_ns() + wait_ms * MP_NS_PER_MS);
  }
  pthread_mutex_unlock(&g->mu);
  mp_rpc_channel_free(ch);
  return NULL;
}

/* ---- main ------------------------------------------------------------------------------ */

static void write_ready(const char *path, const char *listen, int port) {
  if (!path || !*path) return;
  char tmp[4096];
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  FILE *f = fopen(tmp, "w");
  if (!f) return;
  const char *colon = strrchr(listen, ':');
  fprintf(f, "%.*s:%d\n", colon ? (int)(colon - listen) : 0, listen, port);
  fclose(f);
  rename(tmp, path);
}

int mp_loadgen_worker_main(int argc, char **argv) {
  char *listen = "127.0.0.1:9700", *reg = "", *advertise = "", *ready = "";
  int64_t threads = 0, grace_ns = 30 * MP_NS_PER_S;
  const mp_flag flags[] = {
      {"listen", 'l', MP_FLAG_STRING, &listen, "MESHPLANE_LOADGEN_LISTEN",
       "address of the gRPC worker service (meshplane.v1.LoadGenerator)", "ADDR"},
      {"threads", 't', MP_FLAG_INT, &threads, "MESHPLANE_LOADGEN_THREADS",
       "default event-loop threads per run (0 = one per CPU)", "N"},
      {"register", 0, MP_FLAG_STRING, &reg, "MESHPLANE_LOADGEN_REGISTER",
       "meshplane-server to register with (host:port); empty = do not register", "ADDR"},
      {"advertise", 0, MP_FLAG_STRING, &advertise, "MESHPLANE_LOADGEN_ADVERTISE",
       "address the server should use for this worker (default: --listen)", "ADDR"},
      {"grace", 0, MP_FLAG_DURATION, &grace_ns, "MESHPLANE_LOADGEN_GRACE",
       "on SIGTERM, how long a run in flight may finish", "DUR"},
      {"ready-file", 0, MP_FLAG_STRING, &ready, NULL,
       "write the bound host:port here once listening", "FILE"},
  };
  const mp_program prog = {
      .name = MP_LOADGEN_NAME,
      .summary = "load generator: gRPC worker (default) or standalone runs",
      .usage = "[serve] [flags]   |   " MP_LOADGEN_NAME " run [flags] URL...",
      .epilog = "Modes:\n"
                "  serve (default)   serve meshplane.v1.LoadGenerator for meshplane-server\n"
                "  run URL...        run a load test now and print the results; see\n"
                "                    '" MP_LOADGEN_NAME " run --help'",
  };
  int nargs = 0;
  int rc = mp_flags_parse(&prog, flags, MP_ARRAY_LEN(flags), argc, argv, &nargs);
  if (rc != 0 || nargs > 0) {
    if (rc == 0)
      fprintf(stderr, "%s: unknown command \"%s\" (use 'run' or 'serve')\n", MP_LOADGEN_NAME,
              argv[0]);
    mp_flags_free(flags, MP_ARRAY_LEN(flags));
    return rc > 0 ? 0 : 2;
  }
  (void)threads; /* runs take threads from their spec; 0 there means one per CPU */
  gethostname(host, sizeof host - 1);
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGTERM);
  sigaddset(&sigs, SIGINT);
  pthread_sigmask(SIG_BLOCK, &sigs, NULL);
  signal(SIGPIPE, SIG_IGN);
  mp_rpc_server_opts o = {.listen = listen, .grace_ms = grace_ns / MP_NS_PER_MS};
  mp_rpc_server *s = NULL;
  if (mp_rpc_server_new(&o, &s) != MP_OK || mp_rpc_server_add_service(s, &service.base) != MP_OK ||
      mp_rpc_server_start(s) != MP_OK) {
    fprintf(stderr, "%s: %s\n", MP_LOADGEN_NAME, mp_error_last());
    mp_rpc_server_free(s);
    mp_flags_free(flags, MP_ARRAY_LEN(flags));
    return 1;
  }
  int port = mp_rpc_server_port(s);
  write_ready(ready, listen, port);
  mp_info("serving", "listen=%s port=%d", listen, port);
  registrar g = {.server = reg, .advertise = *advertise ? advertise : listen};
  pthread_mutex_init(&g.mu, NULL);
  mp_cond_init_mono(&g.cv);
  pthread_t reg_thread;
  bool registering = *reg && pthread_create(&reg_thread, NULL, register_loop, &g) == 0;
  int sig = 0;
  sigwait(&sigs, &sig);
  mp_info("shutting down", "signal=%s", sig == SIGTERM ? "TERM" : "INT");
  if (registering) {
    pthread_mutex_lock(&g.mu);
    g.stop = true;
    pthread_cond_signal(&g.cv);
    pthread_mutex_unlock(&g.mu);
    pthread_join(reg_thread, NULL);
  }
  pthread_mutex_destroy(&g.mu);
  pthread_cond_destroy(&g.cv);
  mp_rpc_server_free(s); /* drains: a run in flight may finish within --grace */
  mp_flags_free(flags, MP_ARRAY_LEN(flags));
  return 0;
}
