/* Load-generator workers: configured addresses plus self-registration (RegisterWorker,
 * repeated as a heartbeat), health-checked with LoadGenerator.Info every couple of
 * seconds by one monitor thread. Runs pick from the healthy ones. */
#include <pthread.h>
#include <string.h>

#include "meshplane/v1/loadgen.pb-c.h"
#include "workers.h"

#define CHECK_EVERY_MS 2000
#define CHECK_TIMEOUT_MS 1500
#define HEARTBEAT_MS 5000

typedef struct worker {
  char id[MP_UUID_STRLEN];
  char *address;
  char *version;
  bool configured;
  mp_rpc_channel *ch;
  Meshplane__V1__Health health;
  int64_t last_seen_ms;
  uint32_t active_runs; /* as the worker reports */
  uint32_t leased;      /* runs this server started on it and has not finished */
  struct worker *next;
} worker;

struct mp_workers {
  mp_server *srv;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  bool stop;
  worker *list;
  size_t count;
  pthread_t thread;
};

static worker *find_locked(mp_workers *w, const char *key) {
  for (worker *x = w->list; x; x = x->next)
    if (!strcmp(x->address, key) || !strcmp(x->id, key)) return x;
  return NULL;
}

static worker *add_locked(mp_workers *w, const char *address, bool configured) {
  worker *x = find_locked(w, address);
  if (x) return x;
  x = mp_calloc(1, sizeof *x);
  if (mp_rpc_channel_new(address, NULL, &x->ch) != MP_OK) {
    mp_free(x);
    return NULL;
  }
  mp_uuid_new(x->id);
  x->address = mp_strdup(address);
  x->version = mp_strdup("");
  x->configured = configured;
  x->next = w->list;
  w->list = x;
  w->count++;
  return x;
}

/* One round of health checks. The worker list only grows, so pointers stay valid. */
static void check_all(mp_workers *w) {
  pthread_mutex_lock(&w->mu);
  size_t n = w->count;
  worker **snap = mp_calloc(n + 1, sizeof *snap);
  size_t i = 0;
  for (worker *x = w->list; x && i < n; x = x->next) snap[i++] = x;
  pthread_mutex_unlock(&w->mu);
  for (i = 0; i < n; i++) {
    worker *x = snap[i];
    Meshplane__V1__InfoRequest req = MESHPLANE__V1__INFO_REQUEST__INIT;
    ProtobufCMessage *resp = NULL;
    mp_rpc_call_opts o = {.timeout_ms = CHECK_TIMEOUT_MS};
    mp_rpc_status st;
    mp_rpc_code code = mp_rpc_unary(x->ch, &meshplane__v1__load_generator__descriptor, "Info",
                                    &req.base, &resp, &o, &st);
    pthread_mutex_lock(&w->mu);
    Meshplane__V1__Health old = x->health;
    if (code == MP_RPC_OK) {
      Meshplane__V1__InfoResponse *info = (Meshplane__V1__InfoResponse *)resp;
      x->health = MESHPLANE__V1__HEALTH__HEALTH_SERVING;
      x->last_seen_ms = mp_now_ms();
      x->active_runs = info->active_runs;
      mp_free(x->version);
      x->version = mp_strdup(info->version);
    } else {
      x->health = MESHPLANE__V1__HEALTH__HEALTH_UNREACHABLE;
    }
    Meshplane__V1__Health now = x->health;
    pthread_mutex_unlock(&w->mu);
    if (resp) protobuf_c_message_free_unpacked(resp, NULL);
    if (old != now)
      mp_info(now == MESHPLANE__V1__HEALTH__HEALTH_SERVING ? "worker is up"
                                                           : "worker is unreachable",
              "address=%s%s%s", x->address,
              code == MP_RPC_OK ? "" : " error=", code == MP_RPC_OK ? "" : st.message);
  }
  mp_free(snap);
}

static void *monitor(void *arg) {
  mp_workers *w = arg;
  pthread_mutex_lock(&w->mu);
  while (!w->stop) {
    pthread_mutex_unlock(&w->mu);
    check_all(w);
    pthread_mutex_lock(&w->mu);
    if (!w->stop) mp_cond_wait_until(&w->cv, &w->mu, mp_mono_ns() + CHECK_EVERY_MS * MP_NS_PER_MS);
  }
  pthread_mutex_unlock(&w->mu);
  return NULL;
}

mp_workers *mp_workers_start(mp_server *s, const mp_strlist *configured) {
  mp_workers *w = mp_calloc(1, sizeof *w);
  w->srv = s;
  pthread_mutex_init(&w->mu, NULL);
  mp_cond_init_mono(&w->cv);
  pthread_mutex_lock(&w->mu);
  for (size_t i = 0; i < configured->len; i++)
    if (!add_locked(w, configured->items[i], true))
      mp_warn("ignoring a worker address", "address=%s error=\"%s\"", configured->items[i],
              mp_error_last());
  pthread_mutex_unlock(&w->mu);
  pthread_create(&w->thread, NULL, monitor, w);
  return w;
}

void mp_workers_stop(mp_workers *w) {
  if (!w) return;
  pthread_mutex_lock(&w->mu);
  w->stop = true;
  pthread_cond_broadcast(&w->cv);
  pthread_mutex_unlock(&w->mu);
  pthread_join(w->thread, NULL);
  for (worker *x = w->list, *next; x; x = next) {
    next = x->next;
    mp_rpc_channel_free(x->ch);
    mp_free(x->address);
    mp_free(x->version);
    mp_free(x);
  }
  pthread_mutex_destroy(&w->mu);
  pthread_cond_destroy(&w->cv);
  mp_free(w);
}

void mp_workers_register(mp_workers *w, const Meshplane__V1__RegisterWorkerRequest *in,
                         Meshplane__V1__RegisterWorkerResponse_Closure done, void *cd) {
  if (!in->address || !strchr(in->address, ':')) {
    mp_rpc_fail(cd, MP_RPC_INVALID_ARGUMENT,
                "address must be the host:port where the server can reach the worker");
    return;
  }
  pthread_mutex_lock(&w->mu);
  worker *x = add_locked(w, in->address, false);
  Meshplane__V1__RegisterWorkerResponse resp = MESHPLANE__V1__REGISTER_WORKER_RESPONSE__INIT;
  char id[MP_UUID_STRLEN] = "";
  bool is_new = false;
  if (x) {
    is_new = x->last_seen_ms == 0;
    x->last_seen_ms = mp_now_ms();
    if (in->version && *in->version) {
      mp_free(x->version);
      x->version = mp_strdup(in->version);
    }
    mp_strlcpy(id, x->id, sizeof id);
    pthread_cond_broadcast(&w->cv); /* check it now */
  }
  pthread_mutex_unlock(&w->mu);
  if (!x) {
    mp_rpc_fail(cd, MP_RPC_INVALID_ARGUMENT, "cannot use worker address %s: %s", in->address,
                mp_error_last());
    return;
  }
  if (is_new) mp_info("worker registered", "address=%s", in->address);
  resp.id = id;
  resp.heartbeat_interval_ms = HEARTBEAT_MS;
  done(&resp, cd);
}

void mp_workers_list(mp_workers *w, Meshplane__V1__ListWorkersResponse_Closure done, void *cd) {
  pthread_mutex_lock(&w->mu);
  Meshplane__V1__Worker *views = mp_calloc(w->count + 1, sizeof *views);
  Meshplane__V1__Worker **ptrs = mp_calloc(w->count + 1, sizeof *ptrs);
  size_t n = 0;
  for (worker *x = w->list; x; x = x->next, n++) {
    meshplane__v1__worker__init(&views[n]);
    views[n].id = x->id;
    views[n].address = x->address;
    views[n].health = x->health;
    views[n].version = x->version;
    views[n].last_seen_ms = x->last_seen_ms;
    views[n].active_runs = x->active_runs;
    views[n].configured = x->configured;
    ptrs[n] = &views[n];
  }
  Meshplane__V1__ListWorkersResponse resp = MESHPLANE__V1__LIST_WORKERS_RESPONSE__INIT;
  resp.workers = ptrs;
  resp.n_workers = n;
  done(&resp, cd);
  pthread_mutex_unlock(&w->mu);
  mp_free(views);
  mp_free(ptrs);
}

size_t mp_workers_pick(mp_workers *w, size_t want, mp_worker_ref *out) {
  pthread_mutex_lock(&w->mu);
  size_t n = 0;
  /* Least loaded first: repeatedly take the healthy worker with the fewest leases. */
  while (n < want) {
    worker *best = NULL;
    for (worker *x = w->list; x; x = x->next) {
      if (x->health != MESHPLANE__V1__HEALTH__HEALTH_SERVING) continue;
      bool taken = false;
      for (size_t i = 0; i < n; i++) taken = taken || out[i].ch == x->ch;
      if (!taken && (!best || x->leased < best->leased)) best = x;
    }
    if (!best) break;
    best->leased++;
    mp_strlcpy(out[n].id, best->id, sizeof out[n].id);
    mp_strlcpy(out[n].address, best->address, sizeof out[n].address);
    out[n].ch = best->ch;
    n++;
  }
  pthread_mutex_unlock(&w->mu);
  return n;
}

void mp_workers_release(mp_workers *w, const mp_worker_ref *ref) {
  pthread_mutex_lock(&w->mu);
  for (worker *x = w->list; x; x = x->next)
    if (x->ch == ref->ch && x->leased) x->leased--;
  pthread_mutex_unlock(&w->mu);
}

unsigned mp_workers_healthy(mp_workers *w) {
  unsigned n = 0;
  pthread_mutex_lock(&w->mu);
  for (worker *x = w->list; x; x = x->next) n += x->health == MESHPLANE__V1__HEALTH__HEALTH_SERVING;
  pthread_mutex_unlock(&w->mu);
  return n;
}
