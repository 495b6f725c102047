/* grpc.health.v1.Health on every server: Check answers from a per-server table;
 * Watch streams the status of one service whenever it changes. */
#include <pthread.h>
#include <string.h>

#include "grpc/health/v1/health.pb-c.h"
#include "internal.h"

typedef struct entry {
  char *name;
  int status; /* Grpc__Health__V1__HealthCheckResponse__ServingStatus */
  struct entry *next;
} entry;

struct mp__health {
  pthread_mutex_t mu;
  entry *entries;
  uint64_t version; /* bumped on every change, so watchers notice */
};

mp__health *mp__health_new(void) {
  mp__health *h = mp_calloc(1, sizeof *h);
  pthread_mutex_init(&h->mu, NULL);
  return h;
}

void mp__health_free(mp__health *h) {
  if (!h) return;
  for (entry *e = h->entries, *next; e; e = next) {
    next = e->next;
    mp_free(e->name);
    mp_free(e);
  }
  pthread_mutex_destroy(&h->mu);
  mp_free(h);
}

void mp__health_set(mp__health *h, const char *service, int status) {
  pthread_mutex_lock(&h->mu);
  entry *e = h->entries;
  while (e && strcmp(e->name, service)) e = e->next;
  if (!e) {
    e = mp_calloc(1, sizeof *e);
    e->name = mp_strdup(service);
    e->next = h->entries;
    h->entries = e;
  }
  if (e->status != status) h->version++;
  e->status = status;
  pthread_mutex_unlock(&h->mu);
}

void mp__health_set_all(mp__health *h, int status) {
  pthread_mutex_lock(&h->mu);
  for (entry *e = h->entries; e; e = e->next) e->status = status;
  h->version++;
  pthread_mutex_unlock(&h->mu);
}

/* The status of service, SERVICE_UNKNOWN when it was never set; *version is the
 * table's version at the time. */
static int lookup(mp__health *h, const char *service, uint64_t *version) {
  int st = GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVICE_UNKNOWN;
  pthread_mutex_lock(&h->mu);
  for (entry *e = h->entries; e; e = e->next)
    if (!strcmp(e->name, service)) st = e->status;
  if (version) *version = h->version;
  pthread_mutex_unlock(&h->mu);
  return st;
}

static void health_check(Grpc__Health__V1__Health_Service *svc,
                         const Grpc__Health__V1__HealthCheckRequest *in,
                         Grpc__Health__V1__HealthCheckResponse_Closure done, void *cd) {
  int st = lookup(mp__server_health(mp_rpc_call_server(cd)), in->service, NULL);
  if (st == GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVICE_UNKNOWN) {
    mp_rpc_fail(cd, MP_RPC_NOT_FOUND, "unknown service \"%s\"", in->service);
    return;
  }
  Grpc__Health__V1__HealthCheckResponse resp = GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__INIT;
  resp.status = st;
  done(&resp, cd);
}

/* Streams the status now and after every change, until the client goes away. When the
 * server drains, the last message says NOT_SERVING and the stream ends. */
static void health_watch(Grpc__Health__V1__Health_Service *svc,
                         const Grpc__Health__V1__HealthCheckRequest *in,
                         Grpc__Health__V1__HealthCheckResponse_Closure done, void *cd) {
  mp__health *h = mp__server_health(mp_rpc_call_server(cd));
  int last = -1;
  uint64_t seen = UINT64_MAX;
  for (;;) {
    /* Read draining before the status: shutdown marks NOT_SERVING first, so the last
     * message of a draining server always says so. */
    bool draining = mp_rpc_draining(cd);
    uint64_t version;
    int st = lookup(h, in->service, &version);
    if (version != seen && st != last) {
      Grpc__Health__V1__HealthCheckResponse resp = GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__INIT;
      resp.status = st;
      if (!mp_rpc_send(cd, &resp.base)) return;
      last = st;
    }
    seen = version;
    if (draining) return;
    if (!mp_rpc_wait(cd, 200)) return;
  }
}

static Grpc__Health__V1__Health_Service health_service = GRPC__HEALTH__V1__HEALTH__INIT(health_);

ProtobufCService *mp__health_service(void) { return &health_service.base; }
