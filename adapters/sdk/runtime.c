/* Operations: validation of ApplyOperation requests, the bounded worker pool that runs
 * handlers, and what a handler sees of its operation (request, events, problems). */
#include <stdarg.h>
#include <string.h>
#include <time.h>

#include "internal.h"

#define ID_MAX 128
#define VERSION_MAX 64
#define KUBE_CONFIGS_MAX 32

/* ---- the table -------------------------------------------------------------------------- */

mp_status mp__adapter_check(const mp_adapter *ad) {
  if (!ad) return mp_error_set(MP_ERR_INVALID, "no adapter table");
  if (ad->abi_version != MP_ADAPTER_ABI_VERSION || ad->struct_size != sizeof(mp_adapter))
    return mp_error_set(MP_ERR_INVALID,
                        "adapter table has ABI %u/size %u but this SDK expects %u/%zu: "
                        "rebuild the adapter against this SDK (start the table with "
                        "MP_ADAPTER_V1)",
                        ad->abi_version, ad->struct_size, MP_ADAPTER_ABI_VERSION,
                        sizeof(mp_adapter));
  if (!ad->name || !*ad->name) return mp_error_set(MP_ERR_INVALID, "adapter table has no name");
  if (!ad->ops || !ad->n_ops)
    return mp_error_set(MP_ERR_INVALID, "adapter %s has no operations", ad->name);
  const mp_adapter_platform *p = ad->platform;
  if (p && (p->abi_version != MP_ADAPTER_ABI_VERSION || p->struct_size != sizeof(*p)))
    return mp_error_set(MP_ERR_INVALID, "platform %s was built for another SDK ABI",
                        p->name ? p->name : "?");
  for (size_t i = 0; i < ad->n_ops; i++) {
    const mp_adapter_op *op = &ad->ops[i];
    if (!op->key || !*op->key || !op->handler || !op->description)
      return mp_error_set(MP_ERR_INVALID,
                          "adapter %s: operation #%zu needs a key, a "
                          "description and a handler",
                          ad->name, i);
    if ((unsigned)op->category > MP_OP_CUSTOM)
      return mp_error_set(MP_ERR_INVALID, "operation %s has an unknown category %d", op->key,
                          (int)op->category);
    for (size_t j = 0; j < i; j++)
      if (!strcmp(ad->ops[j].key, op->key))
        return mp_error_set(MP_ERR_INVALID, "adapter %s lists operation %s twice", ad->name,
                            op->key);
  }
  return MP_OK;
}

char *mp__runtime_keys(const mp__runtime *rt) {
  mp_buf b = {0};
  for (size_t i = 0; i < rt->ad->n_ops; i++)
    mp_buf_printf(&b, "%s%s", i ? ", " : "", rt->ad->ops[i].key);
  return mp_buf_steal(&b);
}

/* ---- contexts ----------------------------------------------------------------------------- */

static void ctx_free(mp_adapter_ctx *c) {
  if (!c) return;
  mp_free(c->s_op);
  mp_free(c->s_id);
  mp_free(c->s_ns);
  mp_free(c->s_user);
  mp_free(c->s_body);
  mp_free(c->s_version);
  for (size_t i = 0; i < c->req.n_kube_configs; i++) mp_free(c->s_kube[i]);
  mp_free(c->s_kube);
  mp_free(c->problem.code);
  mp_free(c->problem.summary);
  mp_free(c->problem.details);
  mp_free(c->problem.cause);
  mp_free(c->problem.remedy);
  mp_free(c->first_error);
  mp_free(c->first_error_code);
  mp_free(c);
}

static bool printable(const char *s) {
  for (; *s; s++)
    if ((unsigned char)*s < 0x21 || (unsigned char)*s > 0x7e) return false;
  return true;
}

static bool valid_version(const char *v) {
  if (strlen(v) > VERSION_MAX || v[0] == '-') return false;
  for (; *v; v++)
    if (!((*v >= 'a' && *v <= 'z') || (*v >= 'A' && *v <= 'Z') || (*v >= '0' && *v <= '9') ||
          *v == '.' || *v == '-' || *v == '_' || *v == '+'))
      return false;
  return true;
}

bool mp_adapter_valid_namespace(const char *ns) {
  size_t n = ns ? strlen(ns) : 0;
  if (n == 0 || n > 63 || ns[0] == '-' || ns[n - 1] == '-') return false;
  for (size_t i = 0; i < n; i++)
    if (!((ns[i] >= 'a' && ns[i] <= 'z') || (ns[i] >= '0' && ns[i] <= '9') || ns[i] == '-'))
      return false;
  return true;
}

static const char *nz(const char *s) { return s ? s : ""; }

/* Builds the context of a request, or returns the error for the response. */
static char *ctx_new(mp__runtime *rt, const mp_adapter_request *req, const mp_adapter_op *op,
                     mp_adapter_ctx **out) {
  *out = NULL;
  const char *key = nz(req->op);
  if (!op) {
    for (size_t i = 0; i < rt->ad->n_ops && !op; i++)
      if (!strcmp(rt->ad->ops[i].key, key)) op = &rt->ad->ops[i];
  }
  if (!op) {
    char *keys = mp__runtime_keys(rt);
    char *e = *key
                  ? mp_asprintf("unknown operation \"%.100s\"; valid operations: %s", key, keys)
                  : mp_asprintf("no operation given (opName is empty); valid operations: %s", keys);
    mp_free(keys);
    return e;
  }
  const char *ns = *nz(req->ns) ? req->ns : "default";
  if (!mp_adapter_valid_namespace(ns))
    return mp_asprintf("namespace \"%.100s\" is not a valid Kubernetes namespace name "
                       "(lower-case letters, digits and '-', at most 63, starting and ending "
                       "with a letter or digit)",
                       ns);
  if (!valid_version(nz(req->version)))
    return mp_asprintf("version \"%.100s\" is not a version (letters, digits, '.', '-', '_', "
                       "'+'; at most %d; not starting with '-')",
                       nz(req->version), VERSION_MAX);
  const char *id = nz(req->operation_id);
  if (strlen(id) > ID_MAX || !printable(id))
    return mp_asprintf("operation_id must be at most %d printable characters without spaces "
                       "(or empty, and the adapter assigns a uuid)",
                       ID_MAX);
  if (req->n_kube_configs > KUBE_CONFIGS_MAX)
    return mp_asprintf("%zu kube_configs: at most %d clusters per operation", req->n_kube_configs,
                       KUBE_CONFIGS_MAX);
  for (size_t i = 0; i < req->n_kube_configs; i++)
    if (!req->kube_configs[i] || !*req->kube_configs[i])
      return mp_asprintf("kube_configs[%zu] is empty: send the kubeconfig document itself", i);

  mp_adapter_ctx *c = mp_calloc(1, sizeof *c);
  c->rt = rt;
  c->op = op;
  char uuid[MP_UUID_STRLEN];
  if (!*id) {
    mp_uuid_new(uuid);
    id = uuid;
  }
  c->s_op = mp_strdup(op->key);
  c->s_id = mp_strdup(id);
  c->s_ns = mp_strdup(ns);
  c->s_user = mp_strdup(nz(req->username));
  c->s_body = mp_strdup(nz(req->custom_body));
  c->s_version = mp_strdup(nz(req->version));
  c->s_kube = mp_calloc(req->n_kube_configs + 1, sizeof *c->s_kube); /* checked above */
  for (size_t i = 0; i < req->n_kube_configs; i++) c->s_kube[i] = mp_strdup(req->kube_configs[i]);
  c->req = (mp_adapter_request){
      .struct_size = sizeof(mp_adapter_request),
      .op = c->s_op,
      .operation_id = c->s_id,
      .ns = c->s_ns,
      .username = c->s_user,
      .custom_body = c->s_body,
      .version = c->s_version,
      .delete_op = req->delete_op,
      .kube_configs = (const char *const *)c->s_kube,
      .n_kube_configs = req->n_kube_configs,
  };
  *out = c;
  return NULL;
}

/* ---- what handlers see ------------------------------------------------------------------ */

const mp_adapter_request *mp_adapter_req(const mp_adapter_ctx *ctx) { return &ctx->req; }
const void *mp_adapter_op_arg(const mp_adapter_ctx *ctx) { return ctx->op->arg; }
const mp_adapter_op *mp_adapter_op_of(const mp_adapter_ctx *ctx) { return ctx->op; }
void *mp_adapter_platform_data(const mp_adapter_ctx *ctx) { return ctx->rt->platform_data; }
void *mp_adapter_platform_global(const mp_adapter_ctx *ctx) { return ctx->rt->platform_global; }
const mp_adapter *mp_adapter_of(const mp_adapter_ctx *ctx) { return ctx->rt->ad; }

const char *mp_adapter_version(const mp_adapter_ctx *ctx) {
  if (*ctx->req.version) return ctx->req.version;
  const char *const *v = ctx->rt->ad->versions;
  return v && v[0] ? v[0] : "";
}

bool mp_adapter_cancelled(const mp_adapter_ctx *ctx) {
  if (atomic_load(&((mp_adapter_ctx *)ctx)->cancelled)) return true;
  return ctx->deadline_ns && mp_mono_ns() >= ctx->deadline_ns;
}

/* Publishes one event of ctx's operation with the given component. */
static void emit(mp_adapter_ctx *ctx, const char *component, mp_adapter_event_type type,
                 const char *summary, const char *details, const char *probable_cause,
                 const char *suggested_remediation, const char *error_code) {
  char *cut = NULL;
  if (details && strlen(details) > MP__EVENT_DETAILS_MAX) {
    cut = mp_asprintf("%.*s\n[... %zu more bytes cut]", MP__EVENT_DETAILS_MAX, details,
                      strlen(details) - MP__EVENT_DETAILS_MAX);
    details = cut;
  }
  mp_adapter_event ev = {
      .type = type,
      .summary = (char *)summary,
      .details = (char *)details,
      .operation_id = ctx->s_id,
      .probable_cause = (char *)probable_cause,
      .suggested_remediation = (char *)suggested_remediation,
      .error_code = (char *)error_code,
      .component = (char *)component,
      .component_name = (char *)ctx->rt->ad->name,
  };
  uint64_t seq = mp__ring_push(&ctx->rt->ring, &ev);
  mp_free(cut);
  mp_log_level lvl = type == MP_EVENT_ERROR  ? MP_LOG_ERROR
                     : type == MP_EVENT_WARN ? MP_LOG_WARN
                                             : MP_LOG_INFO;
  MP_LOG(lvl, "event", "op=%s operation_id=%s seq=%llu component=%s summary=\"%s\" error_code=%s",
         ctx->s_op, ctx->s_id, (unsigned long long)seq, component, summary ? summary : "",
         error_code ? error_code : "");
}

void mp_adapter_emit_event(mp_adapter_ctx *ctx, mp_adapter_event_type type, const char *summary,
                           const char *details, const char *probable_cause,
                           const char *suggested_remediation, const char *error_code) {
  if (type == MP_EVENT_ERROR && ctx->n_errors++ == 0) {
    ctx->error_emitted = true;
    ctx->first_error = mp_strdup(summary ? summary : "");
    ctx->first_error_code = mp_strdup(error_code ? error_code : "");
  }
  emit(ctx, MP__COMPONENT_ADAPTER, type, summary, details, probable_cause, suggested_remediation,
       error_code);
}

void mp_adapter_stream_emit(mp_adapter_stream *s, mp_adapter_event_type type, const char *summary,
                            const char *details, const char *probable_cause,
                            const char *suggested_remediation, const char *error_code) {
  mp_adapter_event ev = {
      .type = type,
      .summary = (char *)summary,
      .details = (char *)details,
      .operation_id = "",
      .probable_cause = (char *)probable_cause,
      .suggested_remediation = (char *)suggested_remediation,
      .error_code = (char *)error_code,
      .component = MP__COMPONENT_ADAPTER,
      .component_name = (char *)s->rt->ad->name,
  };
  uint64_t seq = mp__ring_push(&s->rt->ring, &ev);
  mp_log_level lvl = type == MP_EVENT_ERROR  ? MP_LOG_ERROR
                     : type == MP_EVENT_WARN ? MP_LOG_WARN
                                             : MP_LOG_INFO;
  MP_LOG(lvl, "event", "op=- seq=%llu summary=\"%s\" error_code=%s", (unsigned long long)seq,
         summary ? summary : "", error_code ? error_code : "");
}

MP_PRINTF(3, 0)
static void emitv(mp_adapter_ctx *ctx, mp_adapter_event_type t, const char *fmt, va_list ap) {
  char *s = mp_vasprintf(fmt, ap);
  mp_adapter_emit_event(ctx, t, s, NULL, NULL, NULL, NULL);
  mp_free(s);
}

void mp_adapter_infof(mp_adapter_ctx *ctx, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  emitv(ctx, MP_EVENT_INFO, fmt, ap);
  va_end(ap);
}

void mp_adapter_warnf(mp_adapter_ctx *ctx, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  emitv(ctx, MP_EVENT_WARN, fmt, ap);
  va_end(ap);
}

mp_status mp_adapter_problem(mp_adapter_ctx *ctx, mp_status st, const char *error_code,
                             const char *summary, const char *details, const char *probable_cause,
                             const char *suggested_remediation) {
  if (!ctx->problem.set) {
    ctx->problem.set = true;
    ctx->problem.code = mp_strdup(error_code);
    ctx->problem.summary = mp_strdup(summary);
    ctx->problem.details = mp_strdup(details);
    ctx->problem.cause = mp_strdup(probable_cause);
    ctx->problem.remedy = mp_strdup(suggested_remediation);
  }
  mp_error_set(st, "%s", summary ? summary : "operation failed");
  return st;
}

mp_status mp_adapter_failf(mp_adapter_ctx *ctx, mp_status st, const char *error_code,
                           const char *probable_cause, const char *suggested_remediation,
                           const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char *s = mp_vasprintf(fmt, ap);
  va_end(ap);
  mp_adapter_problem(ctx, st, error_code, s, NULL, probable_cause, suggested_remediation);
  mp_free(s);
  return st;
}

/* ---- running an operation ---------------------------------------------------------------- */

static const char *default_code(mp_status st) {
  switch (st) {
  case MP_ERR_CANCELLED: return MP_ADAPTER_ERR_CANCELLED;
  case MP_ERR_TIMEOUT: return MP_ADAPTER_ERR_TIMEOUT;
  case MP_ERR_INVALID: return MP_ADAPTER_ERR_INVALID;
  default: return MP_ADAPTER_ERR_INTERNAL;
  }
}

/* Publishes the operation's terminal event, its last and the only one with component
 * "operation" (the contract is in adapter.h, at mp_adapter_handler). */
static void emit_terminal(mp_adapter_ctx *c, mp_status st) {
  const char *desc = c->op->description;
  double secs = (double)(mp_mono_ns() - c->started_ns) / (double)MP_NS_PER_S;
  if (st == MP_OK) {
    char *summary = mp_asprintf("%s: %s", desc, c->req.delete_op ? "removed" : "done");
    char *details = mp_asprintf("finished in %.2fs", secs);
    emit(c, MP__COMPONENT_OPERATION, MP_EVENT_INFO, summary, details, NULL, NULL, NULL);
    mp_free(summary);
    mp_free(details);
    return;
  }
  if (!c->n_errors) {
    char *summary = c->problem.summary ? mp_strdup(c->problem.summary)
                                       : mp_asprintf("%s: %s failed", desc,
                                                     c->req.delete_op ? "removal" : "operation");
    const char *details = c->problem.set ? c->problem.details : mp_error_last();
    emit(c, MP__COMPONENT_OPERATION, MP_EVENT_ERROR, summary, details, c->problem.cause,
         c->problem.remedy, c->problem.code ? c->problem.code : default_code(st));
    mp_free(summary);
    return;
  }
  /* The handler said why in ERROR events of its own: point at them. */
  mp_buf d = {0};
  mp_buf_printf(
      &d, "failed after %.2fs; the %u ERROR event%s before this one say%s why (the first: %s)",
      secs, c->n_errors, c->n_errors == 1 ? "" : "s", c->n_errors == 1 ? "s" : "", c->first_error);
  if (c->problem.summary && strcmp(c->problem.summary, c->first_error))
    mp_buf_printf(&d, "; recorded problem: %s", c->problem.summary);
  /* The ERRORs before may be findings: a cancelled or timed-out operation says so. */
  bool stopped = st == MP_ERR_CANCELLED || st == MP_ERR_TIMEOUT;
  const char *code = c->problem.code                    ? c->problem.code
                     : !stopped && *c->first_error_code ? c->first_error_code
                                                        : default_code(st);
  char *summary = mp_asprintf("%s: failed", desc);
  emit(c, MP__COMPONENT_OPERATION, MP_EVENT_ERROR, summary, d.data, c->problem.cause,
       c->problem.remedy, code);
  mp_free(summary);
  mp_buf_free(&d);
}

/* Runs the operation a worker took (or, when the drain cancelled it while it waited, only
 * reports that) and publishes its terminal event. */
static void run_op(mp_adapter_ctx *c) {
  mp__runtime *rt = c->rt;
  c->started_ns = mp_mono_ns();
  mp_status st;
  if (atomic_load(&c->cancelled)) {
    st = mp_adapter_problem(c, MP_ERR_CANCELLED, MP_ADAPTER_ERR_CANCELLED,
                            "operation cancelled before it started: the adapter is shutting down",
                            NULL, "The adapter received SIGTERM or SIGINT.",
                            "Send the operation again once the adapter is back.");
  } else {
    if (rt->op_timeout_ms > 0) c->deadline_ns = c->started_ns + rt->op_timeout_ms * MP_NS_PER_MS;
    mp_info("operation started", "op=%s operation_id=%s ns=%s delete=%d", c->s_op, c->s_id, c->s_ns,
            (int)c->req.delete_op);
    mp_error_set(MP_OK, "%s", "");
    st = c->op->handler(c);
    if (c->pbegun == 1 && rt->platform->end) rt->platform->end(c, c->pstate);
  }
  emit_terminal(c, st);
  mp_info("operation finished", "op=%s operation_id=%s status=\"%s\"", c->s_op, c->s_id,
          mp_status_str(st));
}

static void unlink_running(mp__runtime *rt, mp_adapter_ctx *c) {
  for (mp_adapter_ctx **p = &rt->running; *p; p = &(*p)->next) {
    if (*p == c) {
      *p = c->next;
      return;
    }
  }
}

static void *worker(void *arg) {
  mp__runtime *rt = arg;
  pthread_mutex_lock(&rt->mu);
  for (;;) {
    while (!rt->q_head && !rt->stopping) pthread_cond_wait(&rt->work_cv, &rt->mu);
    if (!rt->q_head) break; /* stopping and nothing left */
    mp_adapter_ctx *c = rt->q_head;
    rt->q_head = c->next;
    if (!rt->q_head) rt->q_tail = NULL;
    rt->queued--;
    c->next = rt->running;
    rt->running = c;
    c->running = true;
    pthread_mutex_unlock(&rt->mu);
    run_op(c);
    pthread_mutex_lock(&rt->mu);
    unlink_running(rt, c);
    pthread_cond_broadcast(&rt->done_cv);
    pthread_mutex_unlock(&rt->mu);
    ctx_free(c);
    pthread_mutex_lock(&rt->mu);
  }
  pthread_mutex_unlock(&rt->mu);
  return NULL;
}

mp__runtime *mp__runtime_new(const mp_adapter *ad, const mp__runtime_opts *o) {
  mp__runtime *rt = mp_calloc(1, sizeof *rt);
  rt->ad = ad;
  rt->platform = o->platform    ? o->platform
                 : ad->platform ? ad->platform
                                : &mp_adapter_platform_kubernetes;
  rt->platform_data = o->platform_data;
  rt->queue_max = o->queue ? o->queue : 64;
  rt->op_timeout_ms = o->op_timeout_ms;
  mp__ring_init(&rt->ring, o->events ? o->events : 1024, ad->name);
  pthread_mutex_init(&rt->mu, NULL);
  pthread_cond_init(&rt->work_cv, NULL);
  mp_cond_init_mono(&rt->done_cv);
  unsigned n = o->workers ? o->workers : 4;
  rt->stream.rt = rt;
  if (rt->platform->attach) {
    if (rt->platform->attach(ad, &rt->stream, &rt->platform_global) != MP_OK) {
      mp__ring_destroy(&rt->ring);
      pthread_cond_destroy(&rt->work_cv);
      pthread_cond_destroy(&rt->done_cv);
      pthread_mutex_destroy(&rt->mu);
      mp_free(rt);
      return NULL;
    }
    rt->attached = true;
  }
  rt->threads = mp_calloc(n, sizeof *rt->threads);
  for (unsigned i = 0; i < n; i++) {
    if (pthread_create(&rt->threads[i], NULL, worker, rt) != 0) break;
    rt->n_threads++;
  }
  if (!rt->n_threads) mp_error("cannot start any operation worker", "wanted=%u", n);
  return rt;
}

static bool id_known(mp__runtime *rt, const char *id) {
  for (mp_adapter_ctx *c = rt->q_head; c; c = c->next)
    if (!strcmp(c->s_id, id)) return true;
  for (mp_adapter_ctx *c = rt->running; c; c = c->next)
    if (!strcmp(c->s_id, id)) return true;
  return false;
}

char *mp__runtime_submit(mp__runtime *rt, const mp_adapter_request *req, const mp_adapter_op *op,
                         char **id_out) {
  *id_out = NULL;
  mp_adapter_ctx *c;
  char *err = ctx_new(rt, req, op, &c);
  if (err) return err;
  pthread_mutex_lock(&rt->mu);
  if (rt->stopping || !rt->n_threads) {
    err = mp_strdup("the adapter is shutting down; send the operation again once it is back");
  } else if (rt->queued >= rt->queue_max) {
    err = mp_asprintf("%zu operations are already waiting (the adapter's --queue); retry "
                      "when some have finished",
                      rt->queued);
  } else if (id_known(rt, c->s_id)) {
    err = mp_asprintf("operation %s is already queued or running; use a new operation_id "
                      "(or leave it empty)",
                      c->s_id);
  } else {
    *id_out = mp_strdup(c->s_id);
    if (rt->q_tail)
      rt->q_tail->next = c;
    else
      rt->q_head = c;
    rt->q_tail = c;
    rt->queued++;
    pthread_cond_signal(&rt->work_cv);
    c = NULL;
  }
  pthread_mutex_unlock(&rt->mu);
  ctx_free(c);
  return err;
}

bool mp__runtime_busy(mp__runtime *rt, const char *id) {
  pthread_mutex_lock(&rt->mu);
  bool b = id_known(rt, id);
  pthread_mutex_unlock(&rt->mu);
  return b;
}

bool mp__runtime_wait(mp__runtime *rt, const char *id, int64_t timeout_ms) {
  int64_t until = mp_mono_ns() + timeout_ms * MP_NS_PER_MS;
  pthread_mutex_lock(&rt->mu);
  bool busy;
  while ((busy = id_known(rt, id)))
    if (mp_cond_wait_until(&rt->done_cv, &rt->mu, until) != 0) {
      busy = id_known(rt, id);
      break;
    }
  pthread_mutex_unlock(&rt->mu);
  return !busy;
}

void mp__runtime_stop(mp__runtime *rt) {
  pthread_mutex_lock(&rt->mu);
  if (rt->stopping && !rt->threads) {
    pthread_mutex_unlock(&rt->mu);
    return;
  }
  rt->stopping = true;
  for (mp_adapter_ctx *c = rt->q_head; c; c = c->next) atomic_store(&c->cancelled, true);
  for (mp_adapter_ctx *c = rt->running; c; c = c->next) atomic_store(&c->cancelled, true);
  pthread_cond_broadcast(&rt->work_cv);
  pthread_mutex_unlock(&rt->mu);
  for (unsigned i = 0; i < rt->n_threads; i++) pthread_join(rt->threads[i], NULL);
  pthread_mutex_lock(&rt->mu);
  mp_free(rt->threads);
  rt->threads = NULL;
  rt->n_threads = 0;
  pthread_mutex_unlock(&rt->mu);
}

void mp__runtime_free(mp__runtime *rt) {
  if (!rt) return;
  mp__runtime_stop(rt);
  if (rt->attached && rt->platform->detach) rt->platform->detach(rt->platform_global);
  rt->attached = false;
  mp__ring_destroy(&rt->ring);
  pthread_cond_destroy(&rt->work_cv);
  pthread_cond_destroy(&rt->done_cv);
  pthread_mutex_destroy(&rt->mu);
  mp_free(rt);
}
