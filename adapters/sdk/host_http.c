/* A small blocking HTTP/1.1 client for the host platform: readiness probes and the SMI
 * conformance suite's traffic. One connection, kept alive; responses with Content-Length
 * or chunked bodies (bodies over 1 MiB are cut). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "host.h"

#define HEAD_MAX (64 * 1024)
#define BODY_MAX (1024 * 1024)

void mp__hhttp_init(mp__hhttp *c, const char *ip, int port, int64_t timeout_ms) {
  memset(c, 0, sizeof *c);
  c->fd = -1;
  mp_strlcpy(c->ip, ip, sizeof c->ip);
  c->port = port;
  c->timeout_ms = timeout_ms > 0 ? timeout_ms : 5000;
}

void mp__hhttp_close(mp__hhttp *c) {
  if (c->fd >= 0) close(c->fd);
  c->fd = -1;
}

static bool wait_fd(int fd, short ev, int64_t deadline_ns) {
  for (;;) {
    int64_t left = (deadline_ns - mp_mono_ns()) / MP_NS_PER_MS;
    if (left <= 0) return false;
    struct pollfd p = {fd, ev, 0};
    int r = poll(&p, 1, (int)left);
    if (r > 0) return true;
    if (r < 0 && errno != EINTR) return false;
  }
}

static bool dial(mp__hhttp *c, int64_t deadline_ns) {
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)c->port)};
  if (inet_pton(AF_INET, c->ip, &sa.sin_addr) != 1) return false;
  c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (c->fd < 0) return false;
  int one = 1;
  setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (connect(c->fd, (struct sockaddr *)&sa, sizeof sa) == 0) return true;
  if (errno != EINPROGRESS || !wait_fd(c->fd, POLLOUT, deadline_ns)) {
    mp__hhttp_close(c);
    return false;
  }
  int err = 0;
  socklen_t len = sizeof err;
  getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
  if (err) {
    mp__hhttp_close(c);
    return false;
  }
  return true;
}

static bool send_all(int fd, const char *p, size_t n, int64_t deadline_ns) {
  while (n) {
    ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
    if (w > 0) {
      p += w;
      n -= (size_t)w;
    } else if (w < 0 && (errno == EAGAIN || errno == EINTR)) {
      if (!wait_fd(fd, POLLOUT, deadline_ns)) return false;
    } else {
      return false;
    }
  }
  return true;
}

/* Reads more into b; false on EOF, error or timeout. */
static bool fill(int fd, mp_buf *b, int64_t deadline_ns) {
  char chunk[16384];
  for (;;) {
    ssize_t r = recv(fd, chunk, sizeof chunk, 0);
    if (r > 0) {
      mp_buf_append(b, chunk, (size_t)r);
      return true;
    }
    if (r == 0) return false;
    if (errno != EAGAIN && errno != EINTR) return false;
    if (!wait_fd(fd, POLLIN, deadline_ns)) return false;
  }
}

static const char *header(const char *head, const char *name) {
  size_t n = strlen(name);
  for (const char *p = strstr(head, "\r\n"); p && p[2]; p = strstr(p + 2, "\r\n"))
    if (!strncasecmp(p + 2, name, n) && p[2 + n] == ':') {
      const char *v = p + 3 + n;
      while (*v == ' ' || *v == '\t') v++;
      return v;
    }
  return NULL;
}

/* Parses a response from c (buffered bytes in in). 1 done, 0 failed. */
static int read_response(mp__hhttp *c, mp_buf *in, mp__hresp *r, bool *keep, int64_t deadline_ns) {
  char *end;
  while (!(end = in->data ? strstr(in->data, "\r\n\r\n") : NULL)) {
    if (in->len > HEAD_MAX || !fill(c->fd, in, deadline_ns)) return 0;
  }
  size_t head_len = (size_t)(end - in->data) + 4;
  char *head = mp_strndup(in->data, head_len);
  int status = 0;
  if (strncmp(head, "HTTP/1.", 7) || (status = atoi(head + 9)) < 100) {
    mp_free(head);
    return 0;
  }
  const char *cl = header(head, "Content-Length"), *te = header(head, "Transfer-Encoding");
  const char *conn = header(head, "Connection");
  *keep = !(conn && !strncasecmp(conn, "close", 5)) && !strncmp(head, "HTTP/1.1", 8);
  bool chunked = te && !strncasecmp(te, "chunked", 7);
  long length = cl ? atol(cl) : -1;
  mp_free(head);
  size_t pos = head_len;
  mp_buf_reset(&r->body);
  if (chunked) {
    for (;;) {
      char *nl;
      while (!(nl = strstr(in->data + pos, "\r\n")))
        if (!fill(c->fd, in, deadline_ns)) return 0;
      long size = strtol(in->data + pos, NULL, 16);
      pos = (size_t)(nl - in->data) + 2;
      while (in->len < pos + (size_t)size + 2)
        if (size < 0 || !fill(c->fd, in, deadline_ns)) return 0;
      if (r->body.len < BODY_MAX) mp_buf_append(&r->body, in->data + pos, (size_t)size);
      pos += (size_t)size + 2;
      if (size == 0) break;
    }
  } else if (length >= 0) {
    while (in->len < pos + (size_t)length)
      if (!fill(c->fd, in, deadline_ns)) return 0;
    mp_buf_append(&r->body, in->data + pos, (size_t)length < BODY_MAX ? (size_t)length : BODY_MAX);
  } else {
    while (fill(c->fd, in, deadline_ns)) {
    }
    mp_buf_append(&r->body, in->data + pos, in->len - pos);
    *keep = false;
  }
  if (!r->body.data) mp_buf_puts(&r->body, "");
  r->status = status;
  return 1;
}

mp_status mp__hhttp_do(mp__hhttp *c, const char *method, const char *host, const char *path,
                       const char *const *headers, mp__hresp *r) {
  r->status = 0;
  mp_buf_reset(&r->body);
  mp_buf req = {0};
  mp_buf_printf(&req, "%s %s HTTP/1.1\r\nHost: %s\r\n", method, path, host);
  bool body = !strcmp(method, "POST") || !strcmp(method, "PUT");
  for (const char *const *h = headers; h && h[0] && h[1]; h += 2)
    mp_buf_printf(&req, "%s: %s\r\n", h[0], h[1]);
  mp_buf_puts(&req, body ? "Content-Length: 0\r\n\r\n" : "\r\n");
  /* A kept-alive connection the peer closed fails at once: retry on a new one. */
  for (int attempt = 0; attempt < 2 && r->status == 0; attempt++) {
    bool reused = c->fd >= 0;
    int64_t deadline = mp_mono_ns() + c->timeout_ms * MP_NS_PER_MS;
    if (c->fd < 0 && !dial(c, deadline)) break;
    mp_buf in = {0};
    bool keep = false;
    int ok =
        send_all(c->fd, req.data, req.len, deadline) && read_response(c, &in, r, &keep, deadline);
    mp_buf_free(&in);
    if (!ok || !keep) mp__hhttp_close(c);
    if (!ok && !reused) break;
  }
  mp_buf_free(&req);
  if (!r->body.data) mp_buf_puts(&r->body, "");
  return MP_OK;
}
