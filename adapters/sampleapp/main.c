/* meshplane-sampleapp: a tiny HTTP/1.1 service for host meshes, SMI conformance and demos.
 *
 *   GET  /counters        requests received and answered per path, as JSON (not counted)
 *   POST /counters/reset  zeroes the counters (not counted)
 *   GET  /healthz         200 "ok" (not counted)
 *   GET  /metrics         the counters in Prometheus text format
 *   any other request     echoed as JSON (method, path, query, headers, body size)
 * Query parameters on any counted path: delay=<Go duration> (answer after it, at most 60s)
 * and status=<100..599> (answer with it). --delay and --status set the defaults.
 *
 * One thread per connection (keep-alive), at most --max-connections at once. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "sampleapp.h"

#define BODY_MAX (16 << 20)
#define DELAY_MAX_NS (60 * MP_NS_PER_S)

typedef struct app {
  char *name;
  int64_t delay_ns;
  int64_t status;
  mp_sa_counters *counters;
  atomic_int conns;
  int64_t max_conns;
} app;

static app g;

static const char *reason(int code) {
  switch (code) {
  case 200: return "OK";
  case 201: return "Created";
  case 204: return "No Content";
  case 400: return "Bad Request";
  case 403: return "Forbidden";
  case 404: return "Not Found";
  case 405: return "Method Not Allowed";
  case 413: return "Payload Too Large";
  case 429: return "Too Many Requests";
  case 500: return "Internal Server Error";
  case 501: return "Not Implemented";
  case 502: return "Bad Gateway";
  case 503: return "Service Unavailable";
  case 504: return "Gateway Timeout";
  default: return "Status";
  }
}

static bool send_all(int fd, const char *p, size_t n) {
  while (n) {
    ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    p += w;
    n -= (size_t)w;
  }
  return true;
}

static bool respond(int fd, int code, const char *type, const mp_buf *body, bool keep) {
  mp_buf r = {0};
  mp_buf_printf(&r, "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n%s\r\n", code,
                reason(code), type, body ? body->len : 0, keep ? "" : "Connection: close\r\n");
  if (body && body->len) mp_buf_append(&r, body->data, body->len);
  bool ok = send_all(fd, r.data, r.len);
  mp_buf_free(&r);
  return ok;
}

static void json_str(mp_buf *out, const char *s, size_t n) {
  mp_buf_puts(out, "\"");
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c == '"' || c == '\\')
      mp_buf_printf(out, "\\%c", c);
    else if (c < 0x20 || c >= 0x7f)
      mp_buf_printf(out, "\\u%04x", c);
    else
      mp_buf_append(out, &s[i], 1);
  }
  mp_buf_puts(out, "\"");
}

static bool is(const mp_sa_str *s, const char *lit) {
  return s->n == strlen(lit) && !memcmp(s->p, lit, s->n);
}

/* Answers one request; false when the connection must close. */
static bool serve(int fd, const mp_sa_req *req, size_t body_len) {
  mp_buf body = {0};
  bool keep = req->keep_alive, ok;
  if (is(&req->path, "/counters")) {
    mp_sa_counters_json(g.counters, g.name, &body);
    ok = respond(fd, 200, "application/json", &body, keep);
  } else if (is(&req->path, "/counters/reset")) {
    bool post = is(&req->method, "POST");
    if (post) mp_sa_counters_reset(g.counters);
    mp_buf_puts(&body, post ? "{\"reset\":true}\n" : "{\"error\":\"use POST\"}\n");
    ok = respond(fd, post ? 200 : 405, "application/json", &body, keep);
  } else if (is(&req->path, "/healthz")) {
    mp_buf_puts(&body, "ok\n");
    ok = respond(fd, 200, "text/plain", &body, keep);
  } else {
    mp_sa_count(g.counters, req->path.p, req->path.n, false);
    int64_t delay = g.delay_ns, code = g.status;
    char v[64];
    if (mp_sa_query(req, "delay", v, sizeof v) && mp_duration_parse(v, &delay) != MP_OK) delay = 0;
    if (mp_sa_query(req, "status", v, sizeof v)) code = atol(v);
    if (code < 100 || code > 599) code = 400;
    if (delay > DELAY_MAX_NS) delay = DELAY_MAX_NS;
    if (delay > 0) mp_sleep_ms(delay / MP_NS_PER_MS);
    const char *type = "application/json";
    if (is(&req->path, "/metrics")) {
      mp_sa_counters_prometheus(g.counters, g.name, &body);
      type = "text/plain; version=0.0.4";
    } else {
      mp_buf_puts(&body, "{\"app\":");
      json_str(&body, g.name, strlen(g.name));
      mp_buf_puts(&body, ",\"method\":");
      json_str(&body, req->method.p, req->method.n);
      mp_buf_puts(&body, ",\"path\":");
      json_str(&body, req->path.p, req->path.n);
      mp_buf_puts(&body, ",\"query\":");
      json_str(&body, req->query.p ? req->query.p : "", req->query.n);
      mp_buf_printf(&body, ",\"status\":%lld,\"body_bytes\":%zu,\"headers\":{", (long long)code,
                    body_len);
      for (size_t i = 0; i < req->n_headers; i++) {
        if (i) mp_buf_puts(&body, ",");
        json_str(&body, req->names[i].p, req->names[i].n);
        mp_buf_puts(&body, ":");
        json_str(&body, req->values[i].p, req->values[i].n);
      }
      mp_buf_puts(&body, "}}\n");
    }
    ok = respond(fd, (int)code, type, &body, keep);
    if (ok) mp_sa_count(g.counters, req->path.p, req->path.n, true);
  }
  mp_buf_free(&body);
  return ok && keep;
}

static void *conn_main(void *arg) {
  int fd = (int)(intptr_t)arg;
  mp_buf in = {0};
  char chunk[16384];
  for (bool open = true; open;) {
    mp_sa_req req;
    long head = in.len ? mp_sa_parse(in.data, in.len, &req) : 0;
    if (head == 0) {
      ssize_t r = recv(fd, chunk, sizeof chunk, 0);
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) break;
      mp_buf_append(&in, chunk, (size_t)r);
      continue;
    }
    if (head < 0) {
      mp_buf b = {0};
      mp_buf_puts(&b, "{\"error\":\"bad request\"}\n");
      respond(fd, 400, "application/json", &b, false);
      mp_buf_free(&b);
      break;
    }
    if (req.chunked || req.content_length > BODY_MAX) {
      mp_buf b = {0};
      mp_buf_puts(&b, req.chunked ? "{\"error\":\"chunked bodies are not supported\"}\n"
                                  : "{\"error\":\"body too large\"}\n");
      respond(fd, req.chunked ? 501 : 413, "application/json", &b, false);
      mp_buf_free(&b);
      break;
    }
    size_t need = (size_t)head + (size_t)(req.content_length > 0 ? req.content_length : 0);
    while (in.len < need) {
      ssize_t r = recv(fd, chunk, sizeof chunk, 0);
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) {
        open = false;
        break;
      }
      mp_buf_append(&in, chunk, (size_t)r);
    }
    if (!open) break;
    /* req points into in: parse again after the buffer may have moved. */
    mp_sa_parse(in.data, in.len, &req);
    open = serve(fd, &req, need - (size_t)head);
    memmove(in.data, in.data + need, in.len - need);
    in.len -= need;
    in.data[in.len] = '\0';
  }
  mp_buf_free(&in);
  close(fd);
  atomic_fetch_sub(&g.conns, 1);
  return NULL;
}

static int listen_on(const char *addr) {
  char host[64];
  int port = 0;
  const char *colon = strrchr(addr, ':');
  if (!colon || (size_t)(colon - addr) >= sizeof host || (port = atoi(colon + 1)) <= 0 ||
      port > 65535) {
    fprintf(stderr, "meshplane-sampleapp: --listen %s is not IPv4:PORT\n", addr);
    return -1;
  }
  memcpy(host, addr, (size_t)(colon - addr));
  host[colon - addr] = '\0';
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  if (inet_pton(AF_INET, *host ? host : "0.0.0.0", &sa.sin_addr) != 1) {
    fprintf(stderr, "meshplane-sampleapp: %s is not an IPv4 address\n", host);
    return -1;
  }
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(fd, 1024) != 0) {
    fprintf(stderr, "meshplane-sampleapp: cannot listen on %s: %s\n", addr, strerror(errno));
    if (fd >= 0) close(fd);
    return -1;
  }
  return fd;
}

static void *accept_main(void *arg) {
  int lfd = (int)(intptr_t)arg;
  pthread_attr_t at;
  pthread_attr_init(&at);
  pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
  pthread_attr_setstacksize(&at, 256 * 1024);
  for (;;) {
    int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (errno == EMFILE || errno == ENFILE) {
        mp_sleep_ms(10);
        continue;
      }
      break;
    }
    if (atomic_fetch_add(&g.conns, 1) >= g.max_conns) {
      atomic_fetch_sub(&g.conns, 1);
      close(fd);
      continue;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    pthread_t t;
    if (pthread_create(&t, &at, conn_main, (void *)(intptr_t)fd) != 0) {
      close(fd);
      atomic_fetch_sub(&g.conns, 1);
    }
  }
  pthread_attr_destroy(&at);
  return NULL;
}

int main(int argc, char **argv) {
  char hostname[128] = "sampleapp";
  gethostname(hostname, sizeof hostname - 1);
  char *listen = "0.0.0.0:8080", *name = hostname;
  int64_t delay = 0, status = 200, max_conns = 4096;
  const mp_flag flags[] = {
      {"listen", 'l', MP_FLAG_STRING, &listen, "SAMPLEAPP_LISTEN", "address to serve HTTP on",
       "ADDR"},
      {"name", 'n', MP_FLAG_STRING, &name, "SAMPLEAPP_NAME", "name in answers and counters",
       "NAME"},
      {"delay", 0, MP_FLAG_DURATION, &delay, "SAMPLEAPP_DELAY", "delay before every answer",
       "DURATION"},
      {"status", 0, MP_FLAG_INT, &status, "SAMPLEAPP_STATUS", "status code of answers", "CODE"},
      {"max-connections", 0, MP_FLAG_INT, &max_conns, NULL, "connections served at once", "N"},
  };
  const mp_program prog = {"meshplane-sampleapp", "a tiny HTTP service for host meshes and demos",
                           "[flags]",
                           "Endpoints: GET /counters, POST /counters/reset, GET /healthz, GET "
                           "/metrics; any other path echoes the request. Query parameters "
                           "delay=DURATION and status=CODE shape an answer."};
  int nargs, rc = mp_flags_parse(&prog, flags, MP_ARRAY_LEN(flags), argc, argv, &nargs);
  if (rc == 0 && (status < 100 || status > 599 || delay < 0 || max_conns < 1 || nargs > 0)) {
    fprintf(stderr, "meshplane-sampleapp: --status must be 100..599, --delay >= 0, "
                    "--max-connections >= 1, and no positional arguments\n");
    rc = -1;
  }
  if (rc != 0) {
    mp_flags_free(flags, MP_ARRAY_LEN(flags));
    return rc < 0 ? 2 : 0;
  }
  mp_log_init("meshplane-sampleapp");
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGTERM);
  sigaddset(&sigs, SIGINT);
  pthread_sigmask(SIG_BLOCK, &sigs, NULL);
  signal(SIGPIPE, SIG_IGN);
  int lfd = listen_on(listen);
  if (lfd < 0) {
    mp_flags_free(flags, MP_ARRAY_LEN(flags));
    return 1;
  }
  g.name = mp_strdup(name);
  g.delay_ns = delay;
  g.status = status;
  g.max_conns = max_conns;
  g.counters = mp_sa_counters_new();
  mp_info("serving", "listen=%s name=%s", listen, g.name);
  pthread_t acceptor;
  if (pthread_create(&acceptor, NULL, accept_main, (void *)(intptr_t)lfd) != 0) return 1;
  int sig = 0;
  sigwait(&sigs, &sig);
  mp_info("stopped", "signal=%d", sig);
  /* Connections may be mid-request: the process ends them by exiting. */
  mp_flags_free(flags, MP_ARRAY_LEN(flags));
  _exit(0);
}
