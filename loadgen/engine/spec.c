/* Turning an mp_loadgen_spec into a ready run: validation with messages that say what to
 * fix, private copies of every borrowed field, URL parsing, name resolution, and the
 * pre-serialized request of each endpoint. */
#include <arpa/inet.h>
#include <math.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

static mp_status invalid(const char *what, const char *why) {
  return mp_error_set(MP_ERR_INVALID, "%s: %s", what, why);
}

static mp_status check_numbers(const mp_loadgen_spec *s) {
  if (s->n_endpoints == 0) return invalid("endpoints", "give at least one URL");
  if (s->n_endpoints > MP_LOADGEN_MAX_ENDPOINTS)
    return invalid("endpoints", "too many (at most 1024)");
  if (!(s->rate >= 0) || !isfinite(s->rate))
    return mp_error_set(MP_ERR_INVALID,
                        "rate %g: must be a positive number of requests/s, or 0 "
                        "for closed loop",
                        s->rate);
  if (s->duration_ns < 0) return invalid("duration", "must not be negative");
  if (s->warmup_ns < 0) return invalid("warm-up", "must not be negative");
  if (s->rampup_ns < 0) return invalid("ramp-up", "must not be negative");
  if (s->rampup_ns > 0 && s->rate == 0)
    return invalid("ramp-up", "only applies to constant-rate runs (set a rate)");
  if (s->timeout_ns < 0) return invalid("timeout", "must not be negative");
  if (s->progress_interval_ns < 0) return invalid("progress interval", "must not be negative");
  if (s->sigfigs < 0 || s->sigfigs > 5)
    return invalid("significant figures", "must be between 1 and 5");
  if (s->threads > MP_LOADGEN_MAX_THREADS)
    return mp_error_set(MP_ERR_INVALID, "threads: at most %d", MP_LOADGEN_MAX_THREADS);
  if (s->connections > MP_LOADGEN_MAX_CONNECTIONS)
    return mp_error_set(MP_ERR_INVALID, "connections: at most %d", MP_LOADGEN_MAX_CONNECTIONS);
  uint32_t conns = s->connections ? s->connections : 10;
  if (conns < s->n_endpoints)
    return mp_error_set(MP_ERR_INVALID,
                        "connections: %u is fewer than the %zu endpoints; every endpoint "
                        "needs at least one connection",
                        conns, s->n_endpoints);
  if (s->streams > MP_LOADGEN_MAX_STREAMS)
    return mp_error_set(MP_ERR_INVALID, "streams: at most %d per connection",
                        MP_LOADGEN_MAX_STREAMS);
  if ((uint64_t)conns * (s->streams ? s->streams : 1) > MP_LOADGEN_MAX_CONNECTIONS)
    return mp_error_set(MP_ERR_INVALID,
                        "connections x streams: at most %d requests in flight at once",
                        MP_LOADGEN_MAX_CONNECTIONS);
  if ((unsigned)s->protocol > MP_LOADGEN_GRPC) return invalid("protocol", "unknown protocol");
  uint32_t wc = s->worker_count ? s->worker_count : 1;
  if (s->worker_index >= wc)
    return mp_error_set(MP_ERR_INVALID, "worker index %u out of range for %u workers",
                        s->worker_index, wc);
  return MP_OK;
}

static mp_status resolve(mp__endpoint *ep) {
  struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res = NULL;
  char port[8];
  snprintf(port, sizeof port, "%u", (unsigned)ep->u.port);
  int rc = getaddrinfo(ep->u.host, port, &hints, &res);
  if (rc != 0 || !res)
    return mp_error_set(MP_ERR_UNAVAILABLE, "cannot resolve the host of \"%s\": %s", ep->url,
                        rc ? gai_strerror(rc) : "no address");
  memcpy(&ep->addr, res->ai_addr, res->ai_addrlen);
  ep->addrlen = res->ai_addrlen;
  char ip[INET6_ADDRSTRLEN] = "?";
  if (res->ai_family == AF_INET)
    inet_ntop(AF_INET, &((struct sockaddr_in *)res->ai_addr)->sin_addr, ip, sizeof ip);
  else if (res->ai_family == AF_INET6)
    inet_ntop(AF_INET6, &((struct sockaddr_in6 *)res->ai_addr)->sin6_addr, ip, sizeof ip);
  snprintf(ep->addr_text, sizeof ep->addr_text, res->ai_family == AF_INET6 ? "[%s]:%u" : "%s:%u",
           ip, (unsigned)ep->u.port);
  freeaddrinfo(res);
  return MP_OK;
}

/* The transport and protocol of an endpoint, from its scheme and the run's protocol. */
static mp_status choose(const mp_loadgen_run *run, mp__endpoint *ep) {
  const char *scheme = ep->u.scheme;
  bool grpc_url = !strncmp(scheme, "grpc", 4);
  ep->transport = !strcmp(scheme, "https") || !strcmp(scheme, "grpcs") ? &mp__transport_tls
                                                                       : &mp__transport_plain;
  switch (run->protocol) {
  case MP_LOADGEN_HTTP2: ep->proto = &mp__proto_h2; break;
  case MP_LOADGEN_GRPC: ep->proto = &mp__proto_grpc; break;
  case MP_LOADGEN_HTTP1: ep->proto = &mp__proto_http1; break;
  default: ep->proto = grpc_url ? &mp__proto_grpc : &mp__proto_http1; break;
  }
  if (grpc_url && ep->proto != &mp__proto_grpc)
    return mp_error_set(MP_ERR_INVALID,
                        "%s: a %s:// URL is a gRPC endpoint; use the protocol auto or grpc "
                        "(or an http(s):// URL)",
                        ep->url, scheme);
  ep->grpc = ep->proto == &mp__proto_grpc;
  if (!ep->grpc && (run->grpc_method || run->grpc_payload))
    return mp_error_set(MP_ERR_INVALID,
                        "%s: a gRPC method or payload applies to gRPC endpoints only (grpc:// or "
                        "grpcs:// URLs, or the protocol grpc)",
                        ep->url);
  if (!ep->proto->multiplexed && run->streams > 1)
    return mp_error_set(MP_ERR_INVALID,
                        "streams: %u requests per connection need HTTP/2 or gRPC; %s is "
                        "HTTP/1.1 (one request at a time per connection: raise the connections "
                        "instead, or choose HTTP/2)",
                        run->streams, ep->url);
  return MP_OK;
}

mp_status mp__run_prepare(const mp_loadgen_spec *s, mp_loadgen_run *run) {
  mp_status st = check_numbers(s);
  if (st != MP_OK) return st;

  /* Copies of the request fields. */
  run->method = s->method && *s->method ? mp_strdup(s->method) : NULL;
  run->cookies = s->cookies && *s->cookies ? mp_strdup(s->cookies) : NULL;
  run->content_type = s->content_type && *s->content_type ? mp_strdup(s->content_type) : NULL;
  if (!s->user_agent)
    run->user_agent = mp_strdup(MP_LOADGEN_NAME "/" MESHPLANE_VERSION);
  else if (*s->user_agent)
    run->user_agent = mp_strdup(s->user_agent);
  run->headers = mp_calloc(s->n_headers + 1, sizeof *run->headers);
  for (size_t i = 0; i < s->n_headers; i++) run->headers[i] = mp_strdup(s->headers[i]);
  if (s->body_len) {
    run->body = mp_malloc(s->body_len);
    memcpy(run->body, s->body, s->body_len);
  }
  run->tls_insecure = s->tls_insecure;
  run->tls_ca_pem = s->tls_ca_pem && *s->tls_ca_pem ? mp_strdup(s->tls_ca_pem) : NULL;
  run->tls_sni = s->tls_sni && *s->tls_sni ? mp_strdup(s->tls_sni) : NULL;
  run->protocol = s->protocol;
  run->streams = s->streams ? s->streams : 1;
  run->grpc_method = s->grpc_method && *s->grpc_method ? mp_strdup(s->grpc_method) : NULL;
  if (s->grpc_payload) {
    run->grpc_payload = mp_malloc(s->grpc_payload_len ? s->grpc_payload_len : 1);
    memcpy(run->grpc_payload, s->grpc_payload, s->grpc_payload_len);
  }
  run->parts = (mp__request_parts){
      .method = run->method,
      .headers = (const char *const *)run->headers,
      .n_headers = s->n_headers,
      .cookies = run->cookies,
      .body = run->body,
      .body_len = s->body_len,
      .content_type = run->content_type,
      .user_agent = run->user_agent,
      .grpc_method = run->grpc_method,
      .grpc_payload = run->grpc_payload,
      .grpc_payload_len = s->grpc_payload_len,
  };

  run->eps = mp_calloc(s->n_endpoints, sizeof *run->eps);
  run->n_eps = s->n_endpoints;
  for (size_t i = 0; i < s->n_endpoints; i++) {
    mp__endpoint *ep = &run->eps[i];
    if (!s->endpoints[i]) return invalid("endpoints", "a URL is missing");
    ep->url = mp_strdup(s->endpoints[i]);
    if ((st = mp__url_parse(ep->url, &ep->u)) != MP_OK) return st;
    if ((st = choose(run, ep)) != MP_OK) return st;
    if ((st = ep->proto->prepare(ep, &run->parts)) != MP_OK) return st;
    if (ep->transport->prepare && (st = ep->transport->prepare(ep, run)) != MP_OK) return st;
    if ((st = resolve(ep)) != MP_OK) return st;
  }

  run->n_conns = s->connections ? s->connections : 10;
  long cpus = sysconf(_SC_NPROCESSORS_ONLN);
  uint32_t threads = s->threads ? s->threads : (uint32_t)(cpus > 0 ? cpus : 1);
  run->n_threads = threads < run->n_conns ? threads : run->n_conns;
  run->worker_count = s->worker_count ? s->worker_count : 1;
  run->worker_index = s->worker_index;
  run->worker_rate = s->rate;
  run->rate = s->rate * run->worker_count;
  run->max_requests = s->max_requests;
  run->sigfigs = s->sigfigs ? s->sigfigs : MP_HDR_DEFAULT_SIGFIGS;
  run->duration_ns = s->duration_ns;
  if (run->duration_ns == 0 && run->max_requests == 0)
    run->duration_ns = MP_LOADGEN_DEFAULT_DURATION_NS;
  run->warmup_ns = s->warmup_ns;
  run->rampup_ns = s->rampup_ns;
  run->timeout_ns = s->timeout_ns ? s->timeout_ns : MP_LOADGEN_DEFAULT_TIMEOUT_NS;
  run->interval_ns = s->progress_interval_ns ? s->progress_interval_ns : MP_NS_PER_S;
  if (run->interval_ns < 10 * MP_NS_PER_MS) run->interval_ns = 10 * MP_NS_PER_MS;
  run->on_progress = s->on_progress;
  run->progress_arg = s->progress_arg;
  return MP_OK;
}

void mp__run_release(mp_loadgen_run *run) {
  for (size_t i = 0; run->eps && i < run->n_eps; i++) {
    mp__endpoint *ep = &run->eps[i];
    if (ep->proto && ep->proto->release) ep->proto->release(ep);
    if (ep->transport && ep->transport->release) ep->transport->release(ep);
    mp__url_free(&ep->u);
    mp_free(ep->url);
  }
  mp_free(run->eps);
  run->eps = NULL;
  for (size_t i = 0; run->headers && run->headers[i]; i++) mp_free(run->headers[i]);
  mp_free(run->headers);
  mp_free(run->method);
  mp_free(run->cookies);
  mp_free(run->content_type);
  mp_free(run->user_agent);
  mp_free(run->body);
  mp_free(run->tls_ca_pem);
  mp_free(run->tls_sni);
  mp_free(run->grpc_method);
  mp_free(run->grpc_payload);
}
