/* lg_target: the load generator's test target. A single-threaded epoll HTTP/1.1 server
 * whose misbehaviour is chosen by flags (for every request) or by the request path:
 *
 *   /                  200 "hello\n" (Content-Length)
 *   /status/NNN        status NNN
 *   /chunked           chunked body with a trailer
 *   /close             Connection: close, then the server closes
 *   /nolength          no Content-Length: the body ends when the server closes
 *   /delay/MS          answer after MS milliseconds
 *   /garbage           an invalid status line
 *
 * Flags: --port N (0 = any; "port=N" is printed on stdout), --delay DURATION,
 * --stall-after N --stall DURATION (after the N-th request no response leaves for that
 * long: the server stalls once), --close-every N. On SIGTERM it prints "requests=N" (every
 * request it parsed) and exits 0. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "meshplane/base.h"

#define MAX_CONNS 4096

typedef struct conn {
  int fd;
  char buf[16384];
  size_t len;
  bool pending; /* a response waits for its due time */
  int64_t due;
  char path[256];
  bool head;
} conn;

static volatile sig_atomic_t stop;
static conn *conns[MAX_CONNS];
static int64_t delay_ns, stall_ns, stall_until;
static int64_t stall_after, close_every, requests, responses;
static int64_t late; /* responses that left more than 1 ms after their due time */

static void on_term(int sig) {
  (void)sig;
  stop = 1;
}

static void drop(int epfd, conn *c) {
  epoll_ctl(epfd, EPOLL_CTL_DEL, c->fd, NULL);
  close(c->fd);
  conns[c->fd] = NULL;
  free(c);
}

static void send_all(int fd, const char *p, size_t n) {
  while (n) {
    ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
    if (w > 0) {
      p += w;
      n -= (size_t)w;
    } else if (w < 0 && (errno == EAGAIN || errno == EINTR)) {
      usleep(100);
    } else {
      return;
    }
  }
}

/* Writes the response for c's pending request. Returns false when c was closed. */
static bool respond(int epfd, conn *c, int64_t due, int64_t now) {
  c->pending = false;
  if (now - due > MP_NS_PER_MS) late++;
  responses++;
  int status = 200;
  bool chunked = false, closing = false, nolength = false;
  if (!strncmp(c->path, "/status/", 8)) status = atoi(c->path + 8);
  if (!strcmp(c->path, "/chunked")) chunked = true;
  if (!strcmp(c->path, "/close")) closing = true;
  if (!strcmp(c->path, "/nolength")) nolength = true;
  if (close_every && responses % close_every == 0) closing = true;
  if (!strcmp(c->path, "/garbage")) {
    send_all(c->fd, "HTTP/9.9 OOPS\r\n\r\n", 17);
    return true;
  }
  char out[512];
  int n;
  bool nobody = c->head || status == 204 || status == 304;
  if (chunked)
    n = snprintf(out, sizeof out, "HTTP/1.1 %d X\r\nTransfer-Encoding: chunked\r\n%s\r\n%s", status,
                 closing ? "Connection: close\r\n" : "",
                 nobody ? "" : "3\r\nhel\r\n3;ext=1\r\nlo\n\r\n0\r\nX-Trailer: yes\r\n\r\n");
  else if (nolength)
    n = snprintf(out, sizeof out, "HTTP/1.1 %d X\r\n\r\n%s", status, nobody ? "" : "hello\n");
  else
    n = snprintf(out, sizeof out, "HTTP/1.1 %d X\r\n%sContent-Length: %d\r\n%s\r\n%s", status,
                 status == 204 ? "" : "Server: lg_target\r\n", status == 204 ? 0 : 6,
                 closing ? "Connection: close\r\n" : "", nobody ? "" : "hello\n");
  send_all(c->fd, out, (size_t)n);
  if (closing || nolength) {
    drop(epfd, c);
    return false;
  }
  return true;
}

/* Parses complete requests in c->buf; one at a time (clients do not pipeline). */
static void parse(conn *c, int64_t now) {
  if (c->pending) return;
  char *end = memmem(c->buf, c->len, "\r\n\r\n", 4);
  if (!end) return;
  size_t hlen = (size_t)(end - c->buf) + 4, body = 0;
  char *cl = memmem(c->buf, hlen, "Content-Length:", 15);
  if (cl) body = (size_t)strtoul(cl + 15, NULL, 10);
  if (c->len < hlen + body) return;
  char method[16] = "", path[256] = "";
  sscanf(c->buf, "%15s %255s", method, path);
  mp_strlcpy(c->path, path, sizeof c->path);
  c->head = !strcmp(method, "HEAD");
  memmove(c->buf, c->buf + hlen + body, c->len - hlen - body);
  c->len -= hlen + body;
  requests++;
  int64_t d = delay_ns;
  if (!strncmp(c->path, "/delay/", 7)) d = atoll(c->path + 7) * MP_NS_PER_MS;
  if (stall_after && requests == stall_after) stall_until = now + stall_ns;
  c->pending = true;
  c->due = now + d;
}

int main(int argc, char **argv) {
  int64_t port = 0;
  const mp_flag flags[] = {
      {"port", 0, MP_FLAG_INT, &port, NULL, "port on 127.0.0.1 (0 = any)", "N"},
      {"delay", 0, MP_FLAG_DURATION, &delay_ns, NULL, "delay of every response", "D"},
      {"stall-after", 0, MP_FLAG_INT, &stall_after, NULL, "stall once after N requests", "N"},
      {"stall", 0, MP_FLAG_DURATION, &stall_ns, NULL, "how long the stall lasts", "D"},
      {"close-every", 0, MP_FLAG_INT, &close_every, NULL, "close after every N-th response", "N"},
  };
  const mp_program prog = {.name = "lg_target", .summary = "load generator test target"};
  if (mp_flags_parse(&prog, flags, MP_ARRAY_LEN(flags), argc, argv, NULL) != 0) return 2;
  signal(SIGTERM, on_term);
  signal(SIGINT, on_term);
  signal(SIGPIPE, SIG_IGN);

  int ls = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(ls, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(ls, 1024) < 0) {
    perror("lg_target: bind/listen");
    return 1;
  }
  socklen_t sl = sizeof sa;
  getsockname(ls, (struct sockaddr *)&sa, &sl);
  printf("port=%d\n", ntohs(sa.sin_port));
  fflush(stdout);

  int epfd = epoll_create1(0);
  struct epoll_event ev = {.events = EPOLLIN, .data.fd = ls};
  epoll_ctl(epfd, EPOLL_CTL_ADD, ls, &ev);
  struct epoll_event evs[256];
  while (!stop) {
    int64_t now = mp_mono_ns(), wake = now + 50 * MP_NS_PER_MS;
    for (int fd = 0; fd < MAX_CONNS; fd++) {
      conn *c = conns[fd];
      if (!c || !c->pending) continue;
      int64_t due = c->due > stall_until ? c->due : stall_until;
      if (due <= now) {
        if (respond(epfd, c, due, now)) parse(c, now);
        continue;
      }
      if (due < wake) wake = due;
    }
    int64_t w = wake > now ? wake - now : 0;
    struct timespec ts = {.tv_sec = w / MP_NS_PER_S, .tv_nsec = w % MP_NS_PER_S};
    int n = epoll_pwait2(epfd, evs, 256, &ts, NULL);
    now = mp_mono_ns();
    for (int i = 0; i < n; i++) {
      int fd = evs[i].data.fd;
      if (fd == ls) {
        int cfd;
        while ((cfd = accept4(ls, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
          if (cfd >= MAX_CONNS) {
            close(cfd);
            continue;
          }
          setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
          conn *c = calloc(1, sizeof *c);
          c->fd = cfd;
          conns[cfd] = c;
          struct epoll_event cev = {.events = EPOLLIN, .data.fd = cfd};
          epoll_ctl(epfd, EPOLL_CTL_ADD, cfd, &cev);
        }
        continue;
      }
      conn *c = conns[fd];
      if (!c) continue;
      ssize_t r = recv(fd, c->buf + c->len, sizeof c->buf - c->len, 0);
      if (r <= 0) {
        if (r < 0 && (errno == EAGAIN || errno == EINTR)) continue;
        drop(epfd, c);
        continue;
      }
      c->len += (size_t)r;
      parse(c, now);
    }
  }
  printf("late=%lld\nrequests=%lld\n", (long long)late, (long long)requests);
  fflush(stdout);
  return 0;
}
