/* The gRPC server: registration from protobuf-c service descriptors, a pool of threads
 * that take calls from one notification queue and run each call to completion on its
 * own per-call queue (pool.c), and a graceful shutdown.
 *
 * Every registered method keeps requested call slots armed; the pool thread that receives
 * a call re-arms the slot, then runs the handler itself with blocking start_batch + pluck
 * on the call's own queue (see call.c).
 * One generic slot is always armed as well, so a call to an unknown method is answered
 * UNIMPLEMENTED at once instead of hanging until the client's deadline.
 */
#include <pthread.h>
#include <string.h>

#include <grpc/grpc_security.h>

#include "internal.h"
#include "server.h"

#define SLOTS_PER_METHOD 2

/* ---- per-call completion queues, recycled ----------------------------------------- */

grpc_completion_queue *mp__server_cq_get(mp_rpc_server *s) {
  grpc_completion_queue *cq = NULL;
  pthread_mutex_lock(&s->mu);
  if (s->free_cqs.len) cq = s->free_cqs.items[--s->free_cqs.len];
  pthread_mutex_unlock(&s->mu);
  return cq ? cq : grpc_completion_queue_create_for_pluck(NULL);
}

static void cq_destroy(grpc_completion_queue *cq) {
  grpc_completion_queue_shutdown(cq);
  while (grpc_completion_queue_pluck(cq, NULL, gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL).type !=
         GRPC_QUEUE_SHUTDOWN) {
  }
  grpc_completion_queue_destroy(cq);
}

/* Returns a drained queue for reuse. */
void mp__server_cq_put(mp_rpc_server *s, grpc_completion_queue *cq) {
  pthread_mutex_lock(&s->mu);
  if (s->free_cqs.len < s->opts.max_threads) {
    if (s->free_cqs.len == s->free_cqs.cap) {
      s->free_cqs.cap = s->free_cqs.cap ? s->free_cqs.cap * 2 : 16;
      s->free_cqs.items =
          mp_realloc(s->free_cqs.items, s->free_cqs.cap * sizeof *s->free_cqs.items);
    }
    s->free_cqs.items[s->free_cqs.len++] = cq;
    cq = NULL;
  }
  pthread_mutex_unlock(&s->mu);
  if (cq) cq_destroy(cq);
}

/* ---- slots ------------------------------------------------------------------------------ */

void mp__slot_free(mp__slot *sl) {
  if (!sl) return;
  grpc_metadata_array_destroy(&sl->md);
  grpc_call_details_destroy(&sl->details);
  if (sl->payload) grpc_byte_buffer_destroy(sl->payload);
  if (sl->cq) mp__server_cq_put(sl->srv, sl->cq);
  mp_free(sl);
}

void mp__slot_arm(mp_rpc_server *s, mp__method *m) {
  mp__slot *sl = mp_calloc(1, sizeof *sl);
  sl->srv = s;
  sl->method = m;
  grpc_metadata_array_init(&sl->md);
  grpc_call_details_init(&sl->details);
  sl->cq = mp__server_cq_get(s);
  grpc_call_error err;
  if (m) {
    err = grpc_server_request_registered_call(s->server, m->handle, &sl->call, &sl->deadline,
                                              &sl->md, &sl->payload, sl->cq, s->cq, sl);
  } else {
    err = grpc_server_request_call(s->server, &sl->call, &sl->details, &sl->md, sl->cq, s->cq, sl);
  }
  if (err != GRPC_CALL_OK) {
    mp_warn("cannot request a call", "method=%s err=%d", m ? m->path : "*", (int)err);
    mp__slot_free(sl);
  }
}

/* ---- creation and registration ------------------------------------------------------ */

static mp_status bind_port(mp_rpc_server *s) {
  grpc_server_credentials *creds;
  const mp_rpc_server_opts *o = &s->opts;
  if (o->tls_cert_file || o->tls_key_file) {
    if (!o->tls_cert_file || !o->tls_key_file)
      return mp_error_set(MP_ERR_INVALID, "TLS needs both a certificate and a key file");
    char *cert = mp__rpc_read_file(o->tls_cert_file);
    char *key = cert ? mp__rpc_read_file(o->tls_key_file) : NULL;
    char *ca = key && o->tls_client_ca_file ? mp__rpc_read_file(o->tls_client_ca_file) : NULL;
    if (!cert || !key || (o->tls_client_ca_file && !ca)) {
      mp_free(cert);
      mp_free(key);
      return MP_ERR_IO; /* the message is already set */
    }
    grpc_ssl_pem_key_cert_pair pair = {key, cert};
    creds = grpc_ssl_server_credentials_create_ex(
        ca, &pair, 1,
        ca ? GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY
           : GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE,
        NULL);
    mp_free(cert);
    mp_free(key);
    mp_free(ca);
  } else {
    creds = grpc_insecure_server_credentials_create();
  }
  s->port = grpc_server_add_http2_port(s->server, o->listen, creds);
  grpc_server_credentials_release(creds);
  if (s->port <= 0)
    return mp_error_set(MP_ERR_IO,
                        "cannot listen on %s: the address is invalid or already in use "
                        "(pick another with --listen)",
                        o->listen);
  return MP_OK;
}

mp_status mp_rpc_server_new(const mp_rpc_server_opts *opts, mp_rpc_server **out) {
  *out = NULL;
  if (!opts || !opts->listen || !*opts->listen)
    return mp_error_set(MP_ERR_INVALID, "the server needs a listen address (host:port)");
  mp_rpc_init();
  mp_rpc_server *s = mp_calloc(1, sizeof *s);
  s->opts = *opts;
  s->opts.listen = mp_strdup(opts->listen);
  s->opts.tls_cert_file = mp_strdup(opts->tls_cert_file);
  s->opts.tls_key_file = mp_strdup(opts->tls_key_file);
  s->opts.tls_client_ca_file = mp_strdup(opts->tls_client_ca_file);
  s->opts.auth_token = mp_strdup(opts->auth_token);
  if (!s->opts.min_threads) s->opts.min_threads = 2;
  if (!s->opts.max_threads) s->opts.max_threads = 256;
  if (s->opts.max_threads < s->opts.min_threads) s->opts.max_threads = s->opts.min_threads;
  if (!s->opts.grace_ms) s->opts.grace_ms = 5000;
  if (!s->opts.max_message_bytes) s->opts.max_message_bytes = MP_RPC_DEFAULT_MAX_MESSAGE;
  pthread_mutex_init(&s->mu, NULL);
  mp_cond_init_mono(&s->cv);
  s->health = mp__health_new();

  grpc_arg args[] = {
      {GRPC_ARG_INTEGER, GRPC_ARG_ALLOW_REUSEPORT, {.integer = 0}},
      {GRPC_ARG_INTEGER,
       GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH,
       {.integer = (int)s->opts.max_message_bytes}},
      {GRPC_ARG_INTEGER,
       GRPC_ARG_MAX_SEND_MESSAGE_LENGTH,
       {.integer = (int)s->opts.max_message_bytes}},
  };
  grpc_channel_args chargs = {MP_ARRAY_LEN(args), args};
  s->server = grpc_server_create(&chargs, NULL);
  s->cq = grpc_completion_queue_create_for_next(NULL);
  grpc_server_register_completion_queue(s->server, s->cq, NULL);
  mp_status st = bind_port(s);
  if (st == MP_OK) st = mp_rpc_server_add_service(s, mp__health_service());
  if (st != MP_OK) {
    char msg[512];
    mp_strlcpy(msg, mp_error_last(), sizeof msg);
    mp_rpc_server_free(s);
    return mp_error_set(st, "%s", msg);
  }
  *out = s;
  return MP_OK;
}

static mp_status add_methods(mp_rpc_server *s, ProtobufCService *service, const char *name,
                             const char *const *renames) {
  if (s->started) return mp_error_set(MP_ERR_INVALID, "services must be added before start");
  const ProtobufCServiceDescriptor *d = service->descriptor;
  for (unsigned i = 0; i < d->n_methods; i++) {
    const char *mname = d->methods[i].name;
    for (const char *const *r = renames; r && r[0] && r[1]; r += 2)
      if (!strcmp(r[1], mname)) mname = r[0];
    mp__method *m = mp_calloc(1, sizeof *m);
    m->path = mp__rpc_path(name, mname);
    m->service = service;
    m->index = i;
    m->is_health = service == mp__health_service();
    m->unary = mp__rpc_method_is_unary(d->name, d->methods[i].name);
    m->handle = grpc_server_register_method(s->server, m->path, NULL,
                                            GRPC_SRM_PAYLOAD_READ_INITIAL_BYTE_BUFFER, 0);
    if (!m->handle) {
      mp_status st = mp_error_set(MP_ERR_EXISTS, "method %s is registered twice", m->path);
      mp_free(m->path);
      mp_free(m);
      return st;
    }
    m->next = s->methods;
    s->methods = m;
  }
  if (service != mp__health_service()) mp__health_set(s->health, name, 1);
  return MP_OK;
}

mp_status mp_rpc_server_add_service(mp_rpc_server *s, ProtobufCService *service) {
  return add_methods(s, service, service->descriptor->name, NULL);
}

mp_status mp_rpc_server_add_service_alias(mp_rpc_server *s, ProtobufCService *service,
                                          const char *service_name, const char *const *renames) {
  return add_methods(s, service, service_name, renames);
}

mp_status mp_rpc_server_start(mp_rpc_server *s) {
  if (s->started) return MP_OK;
  grpc_server_start(s->server);
  s->started = true;
  mp__health_set(s->health, "", 1);
  for (mp__method *m = s->methods; m; m = m->next)
    for (int i = 0; i < SLOTS_PER_METHOD; i++) mp__slot_arm(s, m);
  mp__slot_arm(s, NULL);
  mp__pool_start(s);
  return MP_OK;
}

int mp_rpc_server_port(const mp_rpc_server *s) { return s->port; }

void mp_rpc_server_set_health(mp_rpc_server *s, const char *service, bool serving) {
  mp__health_set(s->health, service, serving ? 1 : 2);
}

mp__health *mp__server_health(mp_rpc_server *s) { return s->health; }

/* ---- shutdown ----------------------------------------------------------------------------- */

static void timed_wait(mp_rpc_server *s, int64_t deadline_ns) {
  int64_t slice = mp_mono_ns() + 100 * MP_NS_PER_MS;
  mp_cond_wait_until(&s->cv, &s->mu, deadline_ns < slice ? deadline_ns : slice);
}

void mp_rpc_server_shutdown(mp_rpc_server *s) {
  pthread_mutex_lock(&s->mu);
  if (s->shut) {
    pthread_mutex_unlock(&s->mu);
    return;
  }
  s->shut = true;
  pthread_mutex_unlock(&s->mu);
  /* NOT_SERVING before draining, so health watchers report it before they end. */
  mp__health_set_all(s->health, 2);
  pthread_mutex_lock(&s->mu);
  s->draining = true;
  bool started = s->started;
  pthread_mutex_unlock(&s->mu);
  grpc_server_shutdown_and_notify(s->server, s->cq, &s->shutdown_tag);
  if (!started) {
    /* No pool: consume the notification here. */
    grpc_completion_queue_next(s->cq, gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL);
    grpc_completion_queue_shutdown(s->cq);
    while (grpc_completion_queue_next(s->cq, gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL).type !=
           GRPC_QUEUE_SHUTDOWN) {
    }
    return;
  }
  int64_t deadline = mp_mono_ns() + s->opts.grace_ms * MP_NS_PER_MS;
  pthread_mutex_lock(&s->mu);
  while (s->active_calls > 0 && mp_mono_ns() < deadline) timed_wait(s, deadline);
  unsigned left = s->active_calls;
  pthread_mutex_unlock(&s->mu);
  if (left) {
    mp_info("cancelling calls still in flight after the grace period", "calls=%u", left);
    grpc_server_cancel_all_calls(s->server);
  }
  pthread_mutex_lock(&s->mu);
  while (!s->shutdown_done || s->active_calls > 0) pthread_cond_wait(&s->cv, &s->mu);
  pthread_mutex_unlock(&s->mu);
  grpc_completion_queue_shutdown(s->cq);
  mp__pool_stop(s);
}

void mp_rpc_server_free(mp_rpc_server *s) {
  if (!s) return;
  mp_rpc_server_shutdown(s);
  grpc_server_destroy(s->server);
  grpc_completion_queue_destroy(s->cq);
  for (size_t i = 0; i < s->free_cqs.len; i++) cq_destroy(s->free_cqs.items[i]);
  mp_free(s->free_cqs.items);
  for (mp__method *m = s->methods, *next; m; m = next) {
    next = m->next;
    mp_free(m->path);
    mp_free(m);
  }
  mp__health_free(s->health);
  mp_free((char *)s->opts.listen);
  mp_free((char *)s->opts.tls_cert_file);
  mp_free((char *)s->opts.tls_key_file);
  mp_free((char *)s->opts.tls_client_ca_file);
  mp_free((char *)s->opts.auth_token);
  pthread_mutex_destroy(&s->mu);
  pthread_cond_destroy(&s->cv);
  mp_free(s);
  mp_rpc_shutdown();
}
