/* mp_test_adapter: a small meshes.MeshService adapter for the server's integration tests,
 * written by hand (not on the SDK). Operation "emit" with custom_body N emits N events
 * ("event 0".."event N-1") for its operation id, then ends as SDK adapters do, with a
 * terminal event (component "operation", INFO "emit N events: done"); "fail" ends with a
 * terminal ERROR "failed on purpose"; "burst" (benchmarks) emits events at a rate and marks
 * no end, as adapters not built on the SDK do. StreamEvents gives each subscriber every
 * event emitted after it subscribed. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "meshes/meshops.pb-c.h"
#include "meshplane/rpc.h"

typedef struct ev {
  char op[MP_UUID_STRLEN];
  const char *component; /* "adapter", or "operation" for an operation's terminal event */
  int type;
  char summary[64];
  char details[32]; /* "burst" events: the wall-clock µs when emitted */
} ev;

static struct {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  ev *list;
  size_t len, cap;
} E = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};

static char *mesh = "testmesh";

static void emit_at(const char *op, int type, const char *summary, const char *details,
                    const char *component);
static void emit(const char *op, int type, const char *summary) {
  emit_at(op, type, summary, "", "adapter");
}

static void emit_at(const char *op, int type, const char *summary, const char *details,
                    const char *component) {
  pthread_mutex_lock(&E.mu);
  if (E.len == E.cap) {
    E.cap = E.cap ? E.cap * 2 : 1024;
    E.list = mp_realloc(E.list, E.cap * sizeof *E.list);
  }
  ev *e = &E.list[E.len++];
  mp_strlcpy(e->op, op, sizeof e->op);
  e->component = component;
  e->type = type;
  mp_strlcpy(e->summary, summary, sizeof e->summary);
  mp_strlcpy(e->details, details, sizeof e->details);
  pthread_cond_broadcast(&E.cv);
  pthread_mutex_unlock(&E.mu);
}

static void ad_mesh_name(Meshes__MeshService_Service *svc, const Meshes__MeshNameRequest *in,
                         Meshes__MeshNameResponse_Closure done, void *cd) {
  Meshes__MeshNameResponse r = MESHES__MESH_NAME_RESPONSE__INIT;
  r.name = mesh;
  done(&r, cd);
}

static void ad_mesh_versions(Meshes__MeshService_Service *svc,
                             const Meshes__MeshVersionsRequest *in,
                             Meshes__MeshVersionsResponse_Closure done, void *cd) {
  static char *versions[] = {"1.0.0", "1.1.0"};
  Meshes__MeshVersionsResponse r = MESHES__MESH_VERSIONS_RESPONSE__INIT;
  r.version = versions;
  r.n_version = 2;
  done(&r, cd);
}

typedef struct burst_arg {
  long n, rate;
  char op[MP_UUID_STRLEN];
} burst_arg;

static void *burst(void *arg) {
  burst_arg *b = arg;
  int64_t t0 = mp_mono_ns(), gap = MP_NS_PER_S / b->rate;
  for (long i = 0; i < b->n; i++) {
    int64_t due = t0 + i * gap, now = mp_mono_ns();
    if (due > now) mp_sleep_ms((due - now) / MP_NS_PER_MS);
    char summary[64], stamp[32];
    snprintf(summary, sizeof summary, "event %ld", i);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    snprintf(stamp, sizeof stamp, "%lld", (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000);
    emit_at(b->op, 0, summary, stamp, "adapter");
  }
  mp_free(b);
  return NULL;
}

/* "ownid": the operation under an id of the adapter's own, ended 300 ms after the reply. */
static void *late_end(void *arg) {
  char *id = arg;
  mp_sleep_ms(300);
  emit_at(id, 0, "own id: done", "finished in 0.30s", "operation");
  mp_free(id);
  return NULL;
}

static void ad_apply_operation(Meshes__MeshService_Service *svc, const Meshes__ApplyRuleRequest *in,
                               Meshes__ApplyRuleResponse_Closure done, void *cd) {
  Meshes__ApplyRuleResponse r = MESHES__APPLY_RULE_RESPONSE__INIT;
  r.operation_id = in->operation_id;
  if (!strcmp(in->opname, "emit")) {
    int n = atoi(in->custom_body);
    for (int i = 0; i < n; i++) {
      char s[64];
      snprintf(s, sizeof s, "event %d", i);
      emit(in->operation_id, 0, s);
    }
    emit_at(in->operation_id, 0, "emit N events: done", "finished in 0.00s", "operation");
  } else if (!strcmp(in->opname, "burst")) {
    /* "N RATE": N events at RATE per second, stamped with their emit time (benchmarks). */
    long n = 0, rate = 1000;
    sscanf(in->custom_body, "%ld %ld", &n, &rate);
    burst_arg *b = mp_malloc(sizeof *b);
    *b = (burst_arg){n, rate > 0 ? rate : 1000, ""};
    mp_strlcpy(b->op, in->operation_id, sizeof b->op);
    pthread_t t;
    pthread_create(&t, NULL, burst, b);
    pthread_detach(t);
  } else if (!strcmp(in->opname, "ownid")) {
    char *own = mp_malloc(MP_UUID_STRLEN);
    mp_uuid_new(own);
    r.operation_id = mp_strdup(own);
    pthread_t t;
    pthread_create(&t, NULL, late_end, own);
    pthread_detach(t);
  } else if (!strcmp(in->opname, "fail")) {
    emit_at(in->operation_id, 2, "failed on purpose", "", "operation");
  } else {
    r.error = "unknown operation: valid keys are emit, burst, ownid, fail";
  }
  done(&r, cd);
  if (r.operation_id != in->operation_id) mp_free(r.operation_id);
}

static void ad_supported_operations(Meshes__MeshService_Service *svc,
                                    const Meshes__SupportedOperationsRequest *in,
                                    Meshes__SupportedOperationsResponse_Closure done, void *cd) {
  Meshes__SupportedOperation a = MESHES__SUPPORTED_OPERATION__INIT, b = a;
  a.key = "emit";
  a.value = "emit N events";
  a.category = MESHES__OP_CATEGORY__CUSTOM;
  b.key = "fail";
  b.value = "emit one error event";
  b.category = MESHES__OP_CATEGORY__VALIDATE;
  Meshes__SupportedOperation *ops[] = {&a, &b};
  Meshes__SupportedOperationsResponse r = MESHES__SUPPORTED_OPERATIONS_RESPONSE__INIT;
  r.ops = ops;
  r.n_ops = 2;
  done(&r, cd);
}

static void ad_stream_events(Meshes__MeshService_Service *svc, const Meshes__EventsRequest *in,
                             Meshes__EventsResponse_Closure done, void *cd) {
  pthread_mutex_lock(&E.mu);
  size_t next = E.len;
  pthread_mutex_unlock(&E.mu);
  while (!mp_rpc_cancelled(cd) && !mp_rpc_draining(cd)) {
    pthread_mutex_lock(&E.mu);
    if (next == E.len) {
      struct timespec until;
      clock_gettime(CLOCK_REALTIME, &until);
      until.tv_nsec += 100000000;
      if (until.tv_nsec >= 1000000000) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000;
      }
      pthread_cond_timedwait(&E.cv, &E.mu, &until);
    }
    ev batch[64];
    size_t n = 0;
    while (next < E.len && n < 64) batch[n++] = E.list[next++];
    pthread_mutex_unlock(&E.mu);
    for (size_t i = 0; i < n; i++) {
      Meshes__EventsResponse r = MESHES__EVENTS_RESPONSE__INIT;
      r.event_type = (Meshes__EventType)batch[i].type;
      r.summary = batch[i].summary;
      r.details = batch[i].details;
      r.operation_id = batch[i].op;
      r.component = (char *)batch[i].component;
      r.component_name = mesh;
      if (!mp_rpc_send(cd, &r.base)) return;
    }
  }
}

static void ad_provision(Meshes__MeshService_Service *svc, const Meshes__ProvisionRequest *in,
                         Meshes__ProvisionResponse_Closure done, void *cd) {
  Meshes__ProvisionResponse r = MESHES__PROVISION_RESPONSE__INIT;
  r.message = "nothing to provision";
  done(&r, cd);
}

static void ad_component_info(Meshes__MeshService_Service *svc,
                              const Meshes__ComponentInfoRequest *in,
                              Meshes__ComponentInfoResponse_Closure done, void *cd) {
  Meshes__ComponentInfoResponse r = MESHES__COMPONENT_INFO_RESPONSE__INIT;
  r.type = "adapter";
  r.name = mesh;
  r.version = "0.0.1-test";
  done(&r, cd);
}

static Meshes__MeshService_Service service = MESHES__MESH_SERVICE__INIT(ad_);

int main(int argc, char **argv) {
  char *listen = "127.0.0.1:0", *ready = "";
  const mp_flag flags[] = {
      {"listen", 'l', MP_FLAG_STRING, &listen, NULL, "address", "ADDR"},
      {"mesh", 0, MP_FLAG_STRING, &mesh, NULL, "mesh name", "NAME"},
      {"ready-file", 0, MP_FLAG_STRING, &ready, NULL, "write host:port here", "FILE"},
  };
  static const mp_program prog = {"mp_test_adapter", "a test adapter", NULL, NULL};
  int nargs;
  if (mp_flags_parse(&prog, flags, MP_ARRAY_LEN(flags), argc, argv, &nargs) != 0) return 2;
  mp_log_init(prog.name);
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGTERM);
  sigaddset(&sigs, SIGINT);
  pthread_sigmask(SIG_BLOCK, &sigs, NULL);
  mp_rpc_server_opts o = {.listen = listen, .grace_ms = 1000};
  mp_rpc_server *s;
  if (mp_rpc_server_new(&o, &s) != MP_OK) {
    fprintf(stderr, "%s\n", mp_error_last());
    return 1;
  }
  mp_rpc_server_add_service(s, &service.base);
  mp_rpc_server_start(s);
  if (*ready) {
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", ready);
    FILE *f = fopen(tmp, "w");
    fprintf(f, "127.0.0.1:%d\n", mp_rpc_server_port(s));
    fclose(f);
    rename(tmp, ready);
  }
  int sig;
  sigwait(&sigs, &sig);
  mp_rpc_server_free(s);
  mp_free(E.list);
  mp_flags_free(flags, MP_ARRAY_LEN(flags));
  return 0;
}
