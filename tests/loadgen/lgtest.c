/* Test processes for the load generator: see lgtest.h. */
#include "lgtest.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "meshplane/base.h"

static void die(const char *what) {
  fprintf(stderr, "lgtest: %s: %s\n", what, strerror(errno));
  abort();
}

/* Reads a line from fd (byte by byte: the child writes little). */
static bool read_line(int fd, char *buf, size_t n) {
  size_t len = 0;
  while (len + 1 < n) {
    char ch;
    ssize_t r = read(fd, &ch, 1);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    if (ch == '\n') break;
    buf[len++] = ch;
  }
  buf[len] = '\0';
  return len > 0;
}

void lg_target_start(lg_proc *p, const char *const *args) {
  memset(p, 0, sizeof *p);
  int pipefd[2];
  if (pipe(pipefd) < 0) die("pipe");
  const char *argv[32] = {LG_TARGET_BIN, "--port", "0"};
  int n = 3;
  for (; args && *args && n < 31; args++) argv[n++] = *args;
  argv[n] = NULL;
  pid_t pid = fork();
  if (pid < 0) die("fork");
  if (pid == 0) {
    /* A failed assertion leaves the test without stopping its target: die with it. */
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    dup2(pipefd[1], 1);
    close(pipefd[0]);
    close(pipefd[1]);
    execv(argv[0], (char *const *)argv);
    _exit(127);
  }
  close(pipefd[1]);
  p->pid = pid;
  p->out_fd = pipefd[0];
  char line[64];
  if (!read_line(p->out_fd, line, sizeof line) || sscanf(line, "port=%d", &p->port) != 1) {
    fprintf(stderr, "lgtest: lg_target did not report its port (got \"%s\")\n", line);
    abort();
  }
}

int64_t lg_target_stop(lg_proc *p) {
  kill(p->pid, SIGTERM);
  char line[64];
  long long n = -1;
  long long late = 0;
  while (read_line(p->out_fd, line, sizeof line)) {
    if (sscanf(line, "late=%lld", &late) == 1) p->late = late;
    if (sscanf(line, "requests=%lld", &n) == 1) break;
  }
  int st;
  waitpid(p->pid, &st, 0);
  close(p->out_fd);
  return n;
}

static int free_port(void) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in sa = {.sin_family = AF_INET};
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t sl = sizeof sa;
  if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 ||
      getsockname(fd, (struct sockaddr *)&sa, &sl) < 0)
    die("bind");
  close(fd);
  return ntohs(sa.sin_port);
}

static bool can_connect(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool ok = connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0;
  close(fd);
  return ok;
}

bool lg_nginx_start(lg_proc *p) {
  memset(p, 0, sizeof *p);
  p->out_fd = -1;
  const char *nginx = "/usr/sbin/nginx";
  if (access(nginx, X_OK) != 0) return false;
  snprintf(p->dir, sizeof p->dir, "/tmp/mp-lg-nginx-XXXXXX");
  if (!mkdtemp(p->dir)) die("mkdtemp");
  p->port = free_port();
  char conf[512];
  snprintf(conf, sizeof conf, "%s/nginx.conf", p->dir);
  FILE *f = fopen(conf, "w");
  if (!f) die("nginx.conf");
  fprintf(f,
          "worker_processes 1;\ndaemon off;\n%s"
          "error_log %s/error.log warn;\npid %s/nginx.pid;\n"
          "events { worker_connections 4096; }\n"
          "http {\n  access_log off;\n  client_body_temp_path %s/body;\n"
          "  proxy_temp_path %s/proxy;\n  fastcgi_temp_path %s/fastcgi;\n"
          "  uwsgi_temp_path %s/uwsgi;\n  scgi_temp_path %s/scgi;\n"
          "  server {\n    listen 127.0.0.1:%d;\n"
          "    location / { return 200 \"hello\\n\"; }\n"
          "    location = /nginx_status { stub_status; }\n  }\n}\n",
          geteuid() == 0 ? "user root;\n" : "", p->dir, p->dir, p->dir, p->dir, p->dir, p->dir,
          p->dir, p->port);
  fclose(f);
  pid_t pid = fork();
  if (pid < 0) die("fork");
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    char log[512];
    snprintf(log, sizeof log, "%s/stderr.log", p->dir);
    FILE *e = freopen(log, "w", stderr);
    (void)e;
    execl(nginx, nginx, "-p", p->dir, "-c", conf, (char *)NULL);
    _exit(127);
  }
  p->pid = pid;
  for (int i = 0; i < 200; i++) {
    if (can_connect(p->port)) return true;
    int st;
    if (waitpid(pid, &st, WNOHANG) == pid) break;
    mp_sleep_ms(10);
  }
  fprintf(stderr, "lgtest: nginx did not start (see %s/stderr.log)\n", p->dir);
  abort();
}

void lg_nginx_stop(lg_proc *p) {
  if (p->pid <= 0) return;
  kill(p->pid, SIGTERM);
  int st;
  waitpid(p->pid, &st, 0);
  char cmd[600];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", p->dir);
  if (system(cmd) != 0) fprintf(stderr, "lgtest: could not remove %s\n", p->dir);
}

int64_t lg_nginx_requests(const lg_proc *p) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)p->port)};
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) die("connect nginx");
  const char req[] = "GET /nginx_status HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  if (write(fd, req, sizeof req - 1) < 0) die("write");
  char buf[4096];
  size_t len = 0;
  ssize_t r;
  while ((r = read(fd, buf + len, sizeof buf - 1 - len)) > 0) len += (size_t)r;
  buf[len] = '\0';
  close(fd);
  long long accepts, handled, requests;
  const char *at = strstr(buf, "requests\n");
  if (!at || sscanf(at + 9, " %lld %lld %lld", &accepts, &handled, &requests) != 3) return -1;
  return requests;
}

const char *lg_url(int port, const char *path) {
  static char slots[8][128];
  static int next;
  char *s = slots[next++ % 8];
  snprintf(s, sizeof slots[0], "http://127.0.0.1:%d%s", port, path);
  return s;
}

int lg_run_capture(const char *const *argv, char **out, double *seconds) {
  int pipefd[2];
  if (pipe(pipefd) < 0) die("pipe");
  int64_t t0 = mp_mono_ns();
  pid_t pid = fork();
  if (pid < 0) die("fork");
  if (pid == 0) {
    dup2(pipefd[1], 1);
    dup2(pipefd[1], 2);
    close(pipefd[0]);
    close(pipefd[1]);
    execv(argv[0], (char *const *)argv);
    _exit(127);
  }
  close(pipefd[1]);
  mp_buf b = {0};
  char chunk[4096];
  ssize_t r;
  while ((r = read(pipefd[0], chunk, sizeof chunk)) > 0 || (r < 0 && errno == EINTR))
    if (r > 0) mp_buf_append(&b, chunk, (size_t)r);
  close(pipefd[0]);
  int st = 0;
  waitpid(pid, &st, 0);
  if (seconds) *seconds = (double)(mp_mono_ns() - t0) / 1e9;
  mp_buf_append(&b, "", 0);
  *out = mp_buf_steal(&b);
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}
