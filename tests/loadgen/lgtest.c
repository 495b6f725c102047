/* Test processes for the load generator: see lgtest.h. */
#include "lgtest.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
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

/* Starts argv with its stdout on a pipe (its stderr on /dev/null when quiet) and reads
 * the port it reports in its first line, after `prefix` ("port=" for "port=8080"). Aborts
 * the test on failure. */
static void spawn_reporting(lg_proc *p, const char *const *argv, bool quiet, const char *prefix) {
  memset(p, 0, sizeof *p);
  int pipefd[2];
  if (pipe(pipefd) < 0) die("pipe");
  pid_t pid = fork();
  if (pid < 0) die("fork");
  if (pid == 0) {
    /* A failed assertion leaves the test without stopping its child: die with it. */
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    dup2(pipefd[1], 1);
    close(pipefd[0]);
    close(pipefd[1]);
    int devnull = quiet ? open("/dev/null", O_WRONLY) : -1;
    if (devnull >= 0) dup2(devnull, 2);
    execv(argv[0], (char *const *)argv);
    _exit(127);
  }
  close(pipefd[1]);
  p->pid = pid;
  p->out_fd = pipefd[0];
  char line[64];
  size_t plen = strlen(prefix);
  if (!read_line(p->out_fd, line, sizeof line) || strncmp(line, prefix, plen) != 0 ||
      (p->port = atoi(line + plen)) <= 0) {
    fprintf(stderr, "lgtest: %s did not report its port (got \"%s\")\n", argv[0], line);
    abort();
  }
}

void lg_target_start(lg_proc *p, const char *const *args) {
  const char *argv[32] = {LG_TARGET_BIN, "--port", "0"};
  int n = 3;
  for (; args && *args && n < 31; args++) argv[n++] = *args;
  argv[n] = NULL;
  spawn_reporting(p, argv, false, "port=");
}

bool lg_echo_start(lg_proc *p) {
#ifdef LG_ECHO_BIN
  const char *const argv[] = {LG_ECHO_BIN, "--listen", "127.0.0.1:0", NULL};
  spawn_reporting(p, argv, true, "PORT "); /* quiet: its log */
  return true;
#else
  memset(p, 0, sizeof *p);
  return false;
#endif
}

void lg_echo_stop(lg_proc *p) {
  if (p->pid <= 0) return;
  kill(p->pid, SIGTERM);
  int st;
  waitpid(p->pid, &st, 0);
  close(p->out_fd);
  p->pid = 0;
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

/* Runs the certificate script (LG_CERTS_SCRIPT) into dir. */
static void make_certs(const char *dir) {
#ifdef LG_CERTS_SCRIPT
  const char *argv[] = {"/bin/bash", LG_CERTS_SCRIPT, dir, NULL};
  char *out = NULL;
  int rc = lg_run_capture(argv, &out, NULL);
  if (rc != 0) {
    fprintf(stderr, "lgtest: %s %s failed (%d):\n%s\n", LG_CERTS_SCRIPT, dir, rc, out);
    abort();
  }
  free(out);
#else
  (void)dir;
  fprintf(stderr, "lgtest: built without LG_CERTS_SCRIPT\n");
  abort();
#endif
}

/* The server blocks beyond the plain one: h2c with prior knowledge, TLS with h2 and
 * HTTP/1.1 by ALPN, TLS with HTTP/1.1 only, each with the test locations (see lgtest.h). */
static void tls_servers(FILE *f, const lg_proc *p, const lg_nginx_opts *o) {
  if (o->proxy_port)
    fprintf(f, "  upstream lg_target { server 127.0.0.1:%d; keepalive 64; }\n", o->proxy_port);
  static const char locations[] =
      "    location / { return 200 \"hello\\n\"; }\n"
      "    location = /nginx_status { stub_status; }\n"
      "    location /sni { rewrite ^ /code/$lg_sni last; }\n"
      "    location /h2 { rewrite ^ /code/$lg_h2 last; }\n"
      "    location = /code/200 { return 200; }\n"
      "    location = /code/421 { return 421; }\n"
      "    location = /code/426 { return 426; }\n"
      "    location /status/503 { return 503; }\n"
      "    location /short { keepalive_requests 5; return 200 \"short\\n\"; }\n"
      "    location /reset { return 444; }\n"
      "    location /big { alias %s/big; }\n";
  fprintf(f, "  map $ssl_server_name $lg_sni { \"sni.test\" 200; default 421; }\n"
             "  map $server_protocol $lg_h2 { \"HTTP/2.0\" 200; default 426; }\n");
  for (int kind = 0; kind < 3; kind++) {
    static const char *const listen[] = {"http2", "ssl http2", "ssl"};
    int port = kind == 0 ? p->h2c_port : kind == 1 ? p->tls_port : p->tls1_port;
    bool tls = kind > 0;
    fprintf(f, "  server {\n    listen 127.0.0.1:%d %s;\n", port, listen[kind]);
    if (tls)
      fprintf(f,
              "    ssl_certificate %s/certs/server.pem;\n"
              "    ssl_certificate_key %s/certs/server.key;\n",
              p->dir, p->dir);
    if (o->keepalive_requests) fprintf(f, "    keepalive_requests %d;\n", o->keepalive_requests);
    fprintf(f, locations, p->dir);
    if (o->grpc_port)
      fprintf(f, "    location /meshplane.test.Echo/ { grpc_pass grpc://127.0.0.1:%d; }\n",
              o->grpc_port);
    if (o->proxy_port)
      fprintf(f, "    location /delayed { proxy_pass http://lg_target/; proxy_http_version 1.1; "
                 "proxy_set_header Connection \"\"; }\n");
    fprintf(f, "  }\n");
  }
}

bool lg_nginx_start(lg_proc *p) { return lg_nginx_start_opts(p, NULL); }

bool lg_nginx_start_opts(lg_proc *p, const lg_nginx_opts *o) {
  memset(p, 0, sizeof *p);
  p->out_fd = -1;
  const char *nginx = "/usr/sbin/nginx";
  if (access(nginx, X_OK) != 0) return false;
  snprintf(p->dir, sizeof p->dir, "/tmp/mp-lg-nginx-XXXXXX");
  if (!mkdtemp(p->dir)) die("mkdtemp");
  p->port = free_port();
  if (o) {
    char certs[300];
    snprintf(certs, sizeof certs, "%s/certs", p->dir);
    make_certs(certs);
    p->tls_port = free_port();
    p->h2c_port = free_port();
    p->tls1_port = free_port();
    /* A 1 MiB body, for flow control. */
    char big[300];
    snprintf(big, sizeof big, "%s/big", p->dir);
    FILE *b = fopen(big, "w");
    if (!b) die("big");
    for (int i = 0; i < 16384; i++)
      fputs("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde\n", b);
    fclose(b);
  }
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
          "    location = /nginx_status { stub_status; }\n  }\n",
          geteuid() == 0 ? "user root;\n" : "", p->dir, p->dir, p->dir, p->dir, p->dir, p->dir,
          p->dir, p->port);
  if (o) tls_servers(f, p, o);
  fprintf(f, "}\n");
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
    if (can_connect(p->port) &&
        (!o || (can_connect(p->tls_port) && can_connect(p->h2c_port) && can_connect(p->tls1_port))))
      return true;
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

char *lg_read_text(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    fprintf(stderr, "lgtest: %s: %s\n", path, strerror(errno));
    abort();
  }
  mp_buf b = {0};
  char chunk[4096];
  size_t n;
  while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) mp_buf_append(&b, chunk, n);
  fclose(f);
  mp_buf_append(&b, "", 0);
  return mp_buf_steal(&b);
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
