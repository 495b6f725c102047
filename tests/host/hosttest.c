/* Test helpers for host meshes (see hosttest.h). */
#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "hosttest.h"

hmesh *hmesh_new(const mp_adapter *ad) {
  hmesh *h = mp_calloc(1, sizeof *h);
  h->ad = ad;
  snprintf(h->dir, sizeof h->dir, "/tmp/mp-host-test-XXXXXX");
  if (!mkdtemp(h->dir)) abort();
  char *state = mp_asprintf("%s/state", h->dir);
  setenv("MESHPLANE_HOST_STATE_DIR", state, 1);
  mp_free(state);
  setenv("MESHPLANE_HOST_SAMPLEAPP", MP_SAMPLEAPP, 1);
  mp_adapter_mock_opts o = {
      .workers = 2, .platform = &mp_adapter_platform_host, .op_timeout_ms = 120000, .events = 8192};
  h->m = mp_adapter_mock_new(ad, &o);
  if (!h->m) {
    fprintf(stderr, "mock host: %s\n", mp_error_last());
    abort();
  }
  h->sub = mp_adapter_mock_subscribe(h->m);
  return h;
}

void hmesh_free(hmesh *h) {
  if (!h) return;
  mp_adapter_sub_free(h->sub);
  mp_adapter_mock_free(h->m);
  mp_adapter_event_clear(&h->last);
  mp__hrmtree(h->dir);
  mp_buf_free(&h->log);
  mp_free(h);
}

/* Moves the events that arrived into the log; the terminal event of op_id into h->last,
 * checking that it is the only one and the operation's last. */
static void drain(hmesh *h, const char *op_id, int64_t wait_ms) {
  mp_adapter_event ev = {0};
  while (mp_adapter_sub_next(h->sub, wait_ms, &ev)) {
    mp_buf_printf(&h->log, "[%s] %s%s%s\n",
                  ev.type == 2   ? "ERROR"
                  : ev.type == 1 ? "WARN"
                                 : "INFO",
                  ev.summary, ev.details && *ev.details ? " | " : "",
                  ev.details && strlen(ev.details) < 600 ? ev.details : "");
    if (op_id && !strcmp(ev.operation_id, op_id)) {
      if (h->ends)
        fail_msg("event \"%s\" after the terminal event \"%s\"", ev.summary, h->last.summary);
      if (!strcmp(ev.component, MP_ADAPTER_COMPONENT_OPERATION)) {
        h->ends++;
        mp_adapter_event_clear(&h->last);
        h->last = ev;
        memset(&ev, 0, sizeof ev);
      } else if (strcmp(ev.component, "adapter")) {
        fail_msg("event \"%s\" has component \"%s\"", ev.summary, ev.component);
      }
    }
    wait_ms = 0;
  }
  mp_adapter_event_clear(&ev);
}

bool hmesh_op(hmesh *h, const char *op, const char *ns, bool del, const char *body) {
  mp_adapter_request req = {sizeof req, .op = op, .ns = ns, .delete_op = del, .custom_body = body};
  char *id = NULL;
  char *err = mp_adapter_mock_apply(h->m, &req, &id);
  if (err) {
    mp_buf_printf(&h->log, "refused: %s\n", err);
    mp_free(err);
    return false;
  }
  mp_adapter_event_clear(&h->last);
  h->ends = 0;
  bool done = mp_adapter_mock_wait(h->m, id, 120000);
  drain(h, id, 100);
  mp_free(id);
  if (done && h->ends != 1) fail_msg("operation %s ended without a terminal event", op);
  return done && h->last.type != MP_EVENT_ERROR;
}

bool hmesh_wait_event(hmesh *h, const char *text, int64_t ms) {
  int64_t end = mp_mono_ns() + ms * MP_NS_PER_MS;
  do {
    if (h->log.data && strstr(h->log.data, text)) return true;
    drain(h, NULL, 50);
  } while (mp_mono_ns() < end);
  return h->log.data && strstr(h->log.data, text);
}

bool hmesh_side(hmesh *h, const char *key, hside *out) {
  char *path = mp_asprintf("%s/state/sidecars.txt", h->dir);
  mp_buf b = {0};
  bool found = false;
  if (mp__hfile_read(path, &b) == MP_OK) {
    size_t kl = strlen(key);
    for (char *l = b.data; l && *l && !found; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
      if (!strncmp(l, key, kl) && l[kl] == ' ')
        found = sscanf(l + kl, "%d %d %d", &out->inbound, &out->outbound, &out->app) == 3;
  }
  mp_buf_free(&b);
  mp_free(path);
  return found;
}

pid_t hmesh_pid(hmesh *h, const char *key) {
  mp_buf f = {0};
  mp_buf_printf(&f, "%s/state/run/", h->dir);
  for (const char *k = key; *k; k++) mp_buf_printf(&f, "%c", *k == '/' ? '_' : *k);
  mp_buf_puts(&f, ".pid");
  mp_buf b = {0};
  long pid = 0;
  if (mp__hfile_read(f.data, &b) == MP_OK) pid = atol(b.data);
  mp_buf_free(&b);
  mp_buf_free(&f);
  return (pid_t)pid;
}

int http_status(int port, const char *method, const char *host, const char *path,
                const char *const *headers) {
  mp__hhttp c;
  mp__hhttp_init(&c, "127.0.0.1", port, 10000);
  mp__hresp r = {0};
  mp__hhttp_do(&c, method, host, path, headers, &r);
  mp__hhttp_close(&c);
  mp_buf_free(&r.body);
  return r.status;
}

long app_received(int app_port, const char *path) {
  mp__hhttp c;
  mp__hhttp_init(&c, "127.0.0.1", app_port, 5000);
  mp__hresp r = {0};
  mp__hhttp_do(&c, "GET", "localhost", "/counters", NULL, &r);
  mp__hhttp_close(&c);
  long n = -1;
  char *key = mp_asprintf("\"%s\":", path);
  const char *rec = r.body.data ? strstr(r.body.data, "\"received\":{") : NULL;
  const char *end = rec ? strchr(rec, '}') : NULL;
  const char *hit = rec ? strstr(rec, key) : NULL;
  if (r.status == 200) n = hit && hit < end ? atol(hit + strlen(key)) : 0;
  mp_free(key);
  mp_buf_free(&r.body);
  return n;
}

void app_reset(int app_port) {
  http_status(app_port, "POST", "localhost", "/counters/reset", NULL);
}

int tls_status(int port, const char *cert, const char *key, const char *ca, const char *path) {
  SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
  int status = -1;
  if (cert && (SSL_CTX_use_certificate_file(ctx, cert, SSL_FILETYPE_PEM) != 1 ||
               SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1))
    goto out;
  SSL_CTX_load_verify_locations(ctx, ca, NULL);
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
  struct timeval tv = {5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
    close(fd);
    goto out;
  }
  SSL *ssl = SSL_new(ctx);
  SSL_set_fd(ssl, fd);
  char req[256], resp[512] = "";
  snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n", path);
  if (SSL_connect(ssl) == 1 && SSL_write(ssl, req, (int)strlen(req)) > 0) {
    int n = 0, r;
    while (n < (int)sizeof resp - 1 && (r = SSL_read(ssl, resp + n, (int)sizeof resp - 1 - n)) > 0)
      n += r;
    resp[n] = '\0';
    if (!strncmp(resp, "HTTP/1.", 7)) status = atoi(resp + 9);
  }
  SSL_free(ssl);
  close(fd);
out:
  ERR_clear_error();
  SSL_CTX_free(ctx);
  return status;
}

int count_files(const char *path) {
  DIR *d = opendir(path);
  if (!d) return 0;
  int n = 0;
  for (struct dirent *e; (e = readdir(d));) {
    if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
    n++;
    if (e->d_type == DT_DIR) {
      char *sub = mp_asprintf("%s/%s", path, e->d_name);
      n += count_files(sub);
      mp_free(sub);
    }
  }
  closedir(d);
  return n;
}
