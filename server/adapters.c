/* Adapters: configured and registered addresses, each watched by a thread that learns
 * the mesh (MeshName, MeshVersions, SupportedOperations), keeps a StreamEvents
 * subscription open (feeding the events module), and reconnects with backoff when the
 * adapter goes away — without a server restart. ApplyOperation is forwarded with a
 * server-made operation id. */
#include <pthread.h>
#include <string.h>

#include "adapters.h"
#include "events.h"
#include "meshes/meshops.pb-c.h"

#define MESH (&meshes__mesh_service__descriptor)
#define PROBE_TIMEOUT_MS 3000
#define BACKOFF_MIN_MS 250
#define BACKOFF_MAX_MS 5000

typedef struct adapter {
  mp_adapters *reg;
  char id[MP_UUID_STRLEN];
  char *address;
  bool configured;
  mp_rpc_channel *ch;
  pthread_t thread;
  /* Guarded by reg->mu. */
  Meshplane__V1__Health health;
  char *mesh_name, *version;
  char **versions;
  size_t n_versions;
  Meshplane__V1__AdapterOperation **ops;
  size_t n_ops;
  int64_t last_seen_ms;
  mp_rpc_stream *stream; /* open StreamEvents, cancelled at stop */
  struct adapter *next;
} adapter;

struct mp_adapters {
  mp_server *srv;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  bool stop;
  adapter *list;
};

static void free_ops(Meshplane__V1__AdapterOperation **ops, size_t n) {
  for (size_t i = 0; i < n; i++) protobuf_c_message_free_unpacked(&ops[i]->base, NULL);
  mp_free(ops);
}

static bool stopping(mp_adapters *r) {
  pthread_mutex_lock(&r->mu);
  bool s = r->stop;
  pthread_mutex_unlock(&r->mu);
  return s;
}

/* Sleeps ms unless the registry stops first. */
static void nap(mp_adapters *r, int64_t ms) {
  int64_t until = mp_mono_ns() + ms * MP_NS_PER_MS;
  pthread_mutex_lock(&r->mu);
  if (!r->stop) mp_cond_wait_until(&r->cv, &r->mu, until);
  pthread_mutex_unlock(&r->mu);
}

static void set_health(adapter *a, Meshplane__V1__Health h) {
  pthread_mutex_lock(&a->reg->mu);
  Meshplane__V1__Health old = a->health;
  a->health = h;
  if (h == MESHPLANE__V1__HEALTH__HEALTH_SERVING) a->last_seen_ms = mp_now_ms();
  pthread_mutex_unlock(&a->reg->mu);
  if (old != h)
    mp_info(h == MESHPLANE__V1__HEALTH__HEALTH_SERVING ? "adapter is up" : "adapter is unreachable",
            "address=%s", a->address);
}

static void persist(adapter *a) {
  mp_dbargs args = {0};
  pthread_mutex_lock(&a->reg->mu);
  mp_dbargs_text(&args, a->id);
  mp_dbargs_text(&args, a->address);
  mp_dbargs_text(&args, a->mesh_name ? a->mesh_name : "");
  mp_dbargs_text(&args, a->version ? a->version : "");
  mp_dbargs_textarray(&args, a->versions, a->n_versions);
  mp_dbargs_bool(&args, a->configured);
  mp_dbargs_text(
      &args,
      protobuf_c_enum_descriptor_get_value(&meshplane__v1__health__descriptor, a->health)->name);
  pthread_mutex_unlock(&a->reg->mu);
  mp_status st;
  PQclear(mp_db_exec(a->reg->srv->db,
                     "INSERT INTO adapters (id, address, mesh_name, version, versions, configured, "
                     "health, last_seen) VALUES ($1, $2, $3, $4, $5, $6, $7, now()) ON CONFLICT "
                     "(address) DO UPDATE SET mesh_name = $3, version = $4, versions = $5, "
                     "configured = adapters.configured OR $6, health = $7, last_seen = now()",
                     &args, &st));
  mp_dbargs_free(&args);
}

/* Learns what the adapter is. True when it answered. */
static bool probe(adapter *a) {
  mp_rpc_call_opts o = {.timeout_ms = PROBE_TIMEOUT_MS};
  mp_rpc_status st;
  Meshes__MeshNameRequest nreq = MESHES__MESH_NAME_REQUEST__INIT;
  ProtobufCMessage *resp = NULL;
  if (mp_rpc_unary(a->ch, MESH, "MeshName", &nreq.base, &resp, &o, &st) != MP_RPC_OK) {
    mp_debug("adapter probe failed", "address=%s error=\"%s\"", a->address, st.message);
    return false;
  }
  char *name = mp_strdup(((Meshes__MeshNameResponse *)resp)->name);
  protobuf_c_message_free_unpacked(resp, NULL);

  char **versions = NULL;
  size_t n_versions = 0;
  Meshes__MeshVersionsRequest vreq = MESHES__MESH_VERSIONS_REQUEST__INIT;
  if (mp_rpc_unary(a->ch, MESH, "MeshVersions", &vreq.base, &resp, &o, &st) == MP_RPC_OK) {
    Meshes__MeshVersionsResponse *v = (Meshes__MeshVersionsResponse *)resp;
    versions = mp_calloc(v->n_version + 1, sizeof *versions);
    for (size_t i = 0; i < v->n_version; i++) versions[i] = mp_strdup(v->version[i]);
    n_versions = v->n_version;
    protobuf_c_message_free_unpacked(resp, NULL);
  }
  Meshplane__V1__AdapterOperation **ops = NULL;
  size_t n_ops = 0;
  Meshes__SupportedOperationsRequest sreq = MESHES__SUPPORTED_OPERATIONS_REQUEST__INIT;
  if (mp_rpc_unary(a->ch, MESH, "SupportedOperations", &sreq.base, &resp, &o, &st) == MP_RPC_OK) {
    Meshes__SupportedOperationsResponse *s = (Meshes__SupportedOperationsResponse *)resp;
    ops = mp_calloc(s->n_ops + 1, sizeof *ops);
    for (size_t i = 0; i < s->n_ops; i++) {
      ops[i] = mp_malloc(sizeof *ops[i]);
      meshplane__v1__adapter_operation__init(ops[i]);
      ops[i]->key = mp_strdup(s->ops[i]->key);
      ops[i]->description = mp_strdup(s->ops[i]->value);
      ops[i]->category = (int32_t)s->ops[i]->category;
    }
    n_ops = s->n_ops;
    protobuf_c_message_free_unpacked(resp, NULL);
  }
  char *version = NULL;
  Meshes__ComponentInfoRequest creq = MESHES__COMPONENT_INFO_REQUEST__INIT;
  if (mp_rpc_unary(a->ch, MESH, "ComponentInfo", &creq.base, &resp, &o, &st) == MP_RPC_OK) {
    version = mp_strdup(((Meshes__ComponentInfoResponse *)resp)->version);
    protobuf_c_message_free_unpacked(resp, NULL);
  }
  pthread_mutex_lock(&a->reg->mu);
  mp_free(a->mesh_name);
  a->mesh_name = name;
  for (size_t i = 0; i < a->n_versions; i++) mp_free(a->versions[i]);
  mp_free(a->versions);
  a->versions = versions;
  a->n_versions = n_versions;
  free_ops(a->ops, a->n_ops);
  a->ops = ops;
  a->n_ops = n_ops;
  mp_free(a->version);
  a->version = version;
  pthread_mutex_unlock(&a->reg->mu);
  return true;
}

/* Reads the adapter's event stream until it ends; each event goes to the events module,
 * and an operation's terminal event also settles the operation's status. */
static void stream_events(adapter *a) {
  Meshes__EventsRequest req = MESHES__EVENTS_REQUEST__INIT;
  mp_rpc_stream *s;
  mp_rpc_status st;
  if (mp_rpc_stream_open(a->ch, MESH, "StreamEvents", &req.base, NULL, &s, &st) != MP_RPC_OK)
    return;
  pthread_mutex_lock(&a->reg->mu);
  bool stop = a->reg->stop;
  if (!stop) a->stream = s;
  char *mesh = mp_strdup(a->mesh_name);
  pthread_mutex_unlock(&a->reg->mu);
  ProtobufCMessage *m;
  while (!stop && mp_rpc_stream_next(s, &m, &st)) {
    Meshes__EventsResponse *in = (Meshes__EventsResponse *)m;
    Meshplane__V1__Event ev = MESHPLANE__V1__EVENT__INIT;
    ev.source = a->id;
    ev.operation_id = in->operation_id;
    ev.type = (int32_t)in->event_type;
    ev.summary = in->summary;
    ev.details = in->details;
    ev.probable_cause = in->probable_cause;
    ev.suggested_remediation = in->suggested_remediation;
    ev.error_code = in->error_code;
    ev.component = in->component;
    ev.component_name = in->component_name;
    mp_events_record(a->reg->srv->events, mesh, &ev);
    if (in->component && !strcmp(in->component, "operation"))
      mp_operations_ended(a->reg->srv, in->operation_id,
                          in->event_type == MESHES__EVENT_TYPE__ERROR, in->summary);
    protobuf_c_message_free_unpacked(m, NULL);
    pthread_mutex_lock(&a->reg->mu);
    a->last_seen_ms = mp_now_ms();
    pthread_mutex_unlock(&a->reg->mu);
  }
  pthread_mutex_lock(&a->reg->mu);
  a->stream = NULL;
  pthread_mutex_unlock(&a->reg->mu);
  mp_rpc_stream_free(s);
  mp_free(mesh);
}

static void *watch_adapter(void *arg) {
  adapter *a = arg;
  int64_t backoff = BACKOFF_MIN_MS;
  while (!stopping(a->reg)) {
    if (!probe(a)) {
      set_health(a, MESHPLANE__V1__HEALTH__HEALTH_UNREACHABLE);
      persist(a);
      nap(a->reg, backoff);
      backoff = backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff * 2;
      continue;
    }
    backoff = BACKOFF_MIN_MS;
    set_health(a, MESHPLANE__V1__HEALTH__HEALTH_SERVING);
    persist(a);
    stream_events(a); /* returns when the adapter goes away (or at stop) */
    if (!stopping(a->reg)) nap(a->reg, BACKOFF_MIN_MS);
  }
  return NULL;
}

/* ---- registry ------------------------------------------------------------------------------ */

static adapter *find_locked(mp_adapters *r, const char *key) {
  for (adapter *a = r->list; a; a = a->next)
    if (!strcmp(a->id, key) || !strcmp(a->address, key) ||
        (a->mesh_name && !strcasecmp(a->mesh_name, key)))
      return a;
  return NULL;
}

static adapter *add(mp_adapters *r, const char *address, bool configured, const char *id) {
  pthread_mutex_lock(&r->mu);
  adapter *a = find_locked(r, address);
  if (a || r->stop) {
    pthread_mutex_unlock(&r->mu);
    return a;
  }
  a = mp_calloc(1, sizeof *a);
  a->reg = r;
  a->address = mp_strdup(address);
  a->configured = configured;
  if (id)
    mp_strlcpy(a->id, id, sizeof a->id);
  else
    mp_uuid_new(a->id);
  a->health = MESHPLANE__V1__HEALTH__HEALTH_UNKNOWN;
  if (mp_rpc_channel_new(address, NULL, &a->ch) != MP_OK) {
    pthread_mutex_unlock(&r->mu);
    mp_warn("ignoring an adapter address", "address=%s error=\"%s\"", address, mp_error_last());
    mp_free(a->address);
    mp_free(a);
    return NULL;
  }
  a->next = r->list;
  r->list = a;
  pthread_create(&a->thread, NULL, watch_adapter, a);
  pthread_mutex_unlock(&r->mu);
  mp_info("watching adapter", "address=%s configured=%s", address, configured ? "yes" : "no");
  return a;
}

mp_adapters *mp_adapters_start(mp_server *s, const mp_strlist *configured) {
  mp_adapters *r = mp_calloc(1, sizeof *r);
  r->srv = s;
  pthread_mutex_init(&r->mu, NULL);
  mp_cond_init_mono(&r->cv);
  for (size_t i = 0; i < configured->len; i++) add(r, configured->items[i], true, NULL);
  /* Adapters registered with an earlier run of the server are watched again. */
  mp_status st;
  PGresult *res =
      mp_db_exec(s->db, "SELECT address, id FROM adapters WHERE NOT configured", NULL, &st);
  for (int i = 0; res && i < PQntuples(res); i++)
    add(r, PQgetvalue(res, i, 0), false, PQgetvalue(res, i, 1));
  PQclear(res);
  return r;
}

void mp_adapters_stop(mp_adapters *r) {
  if (!r) return;
  pthread_mutex_lock(&r->mu);
  r->stop = true;
  pthread_cond_broadcast(&r->cv);
  for (adapter *a = r->list; a; a = a->next)
    if (a->stream) mp_rpc_stream_cancel(a->stream);
  pthread_mutex_unlock(&r->mu);
  for (adapter *a = r->list, *next; a; a = next) {
    next = a->next;
    pthread_join(a->thread, NULL);
    mp_rpc_channel_free(a->ch);
    mp_free(a->address);
    mp_free(a->mesh_name);
    mp_free(a->version);
    for (size_t i = 0; i < a->n_versions; i++) mp_free(a->versions[i]);
    mp_free(a->versions);
    free_ops(a->ops, a->n_ops);
    mp_free(a);
  }
  pthread_mutex_destroy(&r->mu);
  pthread_cond_destroy(&r->cv);
  mp_free(r);
}

/* Copies a's public view into out (strings borrowed from a: use under the lock). */
static void view_locked(const adapter *a, Meshplane__V1__Adapter *out) {
  meshplane__v1__adapter__init(out);
  out->id = (char *)a->id;
  out->address = a->address;
  out->mesh_name = a->mesh_name ? a->mesh_name : "";
  out->version = a->version ? a->version : "";
  out->versions = a->versions;
  out->n_versions = a->n_versions;
  out->operations = a->ops;
  out->n_operations = a->n_ops;
  out->health = a->health;
  out->last_seen_ms = a->last_seen_ms;
  out->configured = a->configured;
}

void mp_adapters_list(mp_adapters *r, Meshplane__V1__ListAdaptersResponse_Closure done, void *cd) {
  pthread_mutex_lock(&r->mu);
  size_t n = 0;
  for (adapter *a = r->list; a; a = a->next) n++;
  Meshplane__V1__Adapter *views = mp_calloc(n + 1, sizeof *views);
  Meshplane__V1__Adapter **ptrs = mp_calloc(n + 1, sizeof *ptrs);
  size_t i = 0;
  for (adapter *a = r->list; a; a = a->next, i++) {
    view_locked(a, &views[i]);
    ptrs[i] = &views[i];
  }
  Meshplane__V1__ListAdaptersResponse resp = MESHPLANE__V1__LIST_ADAPTERS_RESPONSE__INIT;
  resp.adapters = ptrs;
  resp.n_adapters = n;
  /* Sent under the lock: the views borrow the adapters' strings. */
  done(&resp, cd);
  pthread_mutex_unlock(&r->mu);
  mp_free(views);
  mp_free(ptrs);
}

void mp_adapters_register(mp_adapters *r, const Meshplane__V1__RegisterAdapterRequest *in,
                          Meshplane__V1__Adapter_Closure done, void *cd) {
  if (!in->address || !*in->address || !strchr(in->address, ':')) {
    mp_rpc_fail(cd, MP_RPC_INVALID_ARGUMENT, "address must be host:port of the adapter's gRPC API");
    return;
  }
  adapter *a = add(r, in->address, false, NULL);
  if (!a) {
    mp_rpc_fail(cd, MP_RPC_INVALID_ARGUMENT, "cannot use adapter address %s: %s", in->address,
                mp_error_last());
    return;
  }
  /* Give the first probe a moment, so the answer says whether the adapter is up. */
  for (int i = 0; i < 40; i++) {
    pthread_mutex_lock(&r->mu);
    bool known = a->health != MESHPLANE__V1__HEALTH__HEALTH_UNKNOWN;
    pthread_mutex_unlock(&r->mu);
    if (known) break;
    mp_sleep_ms(50);
  }
  pthread_mutex_lock(&r->mu);
  Meshplane__V1__Adapter view;
  view_locked(a, &view);
  done(&view, cd);
  pthread_mutex_unlock(&r->mu);
}

bool mp_adapters_find(mp_adapters *r, const char *key, mp_adapter_ref *out) {
  pthread_mutex_lock(&r->mu);
  adapter *a = find_locked(r, key);
  if (a) {
    mp_strlcpy(out->id, a->id, sizeof out->id);
    mp_strlcpy(out->address, a->address, sizeof out->address);
    mp_strlcpy(out->mesh, a->mesh_name ? a->mesh_name : "", sizeof out->mesh);
    out->serving = a->health == MESHPLANE__V1__HEALTH__HEALTH_SERVING;
    out->ch = a->ch;
  }
  pthread_mutex_unlock(&r->mu);
  return a != NULL;
}

unsigned mp_adapters_healthy(mp_adapters *r) {
  unsigned n = 0;
  pthread_mutex_lock(&r->mu);
  for (adapter *a = r->list; a; a = a->next)
    n += a->health == MESHPLANE__V1__HEALTH__HEALTH_SERVING;
  pthread_mutex_unlock(&r->mu);
  return n;
}
