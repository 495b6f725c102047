/* Helpers for the load generator's integration tests: real target processes (our
 * lg_target fixture and a private nginx instance) on free loopback ports. */
#ifndef MESHPLANE_TESTS_LGTEST_H
#define MESHPLANE_TESTS_LGTEST_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

typedef struct lg_proc {
  pid_t pid;
  int out_fd; /* the child's stdout (lg_target), or -1 */
  int port;
  int tls_port, h2c_port; /* nginx with lg_nginx_opts: TLS (h2 + HTTP/1.1 by ALPN), h2c */
  int tls1_port;          /* ... and TLS with HTTP/1.1 only */
  char dir[256];          /* nginx: its private prefix directory */
  int64_t late;           /* lg_target: responses it sent over 1 ms late (after lg_target_stop) */
} lg_proc;

/* Starts lg_target (path from the LG_TARGET_BIN definition) with extra flags (NULL-ended
 * list) and waits for its port. Aborts the test on failure. */
void lg_target_start(lg_proc *p, const char *const *args);
/* SIGTERM; returns the number of requests the target parsed. */
int64_t lg_target_stop(lg_proc *p);

/* Starts tests/interop's mp_echo_server (lib/rpc's test Echo service: Say, Fail, Sleep, and
 * grpc.health.v1) on a free port. false (the test skips) when it was not built. */
bool lg_echo_start(lg_proc *p);
void lg_echo_stop(lg_proc *p);

/* Starts a private nginx (one worker, `location / { return 200 "hello\n"; }`, access log
 * off, stub_status on /nginx_status). Returns false (and the test skips) when nginx is not
 * installed. */
bool lg_nginx_start(lg_proc *p);
void lg_nginx_stop(lg_proc *p);

/* nginx with three more servers, on tls_port (TLS with h2 and HTTP/1.1 by ALPN; certificates
 * from make_tls_certs.sh in <dir>/certs: ca.pem, other.pem), tls1_port (the same with
 * HTTP/1.1 only) and h2c_port (HTTP/2 with prior knowledge). All serve / ("hello"), /nginx_status,
 * /sni (200 when the client sent SNI "sni.test", else 421), /h2 (200 over HTTP/2, else 426),
 * /status/503, /short (the connection closes after 5 requests), /reset (HTTP/2: RST_STREAM) and
 * /big (1 MiB). */
typedef struct lg_nginx_opts {
  int keepalive_requests; /* per connection on the two servers (0 = nginx's 1000) */
  int grpc_port;          /* > 0: /meshplane.test.Echo/ is proxied there by grpc_pass */
  int proxy_port;         /* > 0: /delayed is proxied there (HTTP/1.1, kept-alive) */
} lg_nginx_opts;
bool lg_nginx_start_opts(lg_proc *p, const lg_nginx_opts *o);

/* A whole file as a NUL-terminated string (malloc'ed); aborts when it cannot be read. */
char *lg_read_text(const char *path);
/* nginx's total request counter (stub_status), including the status request itself. */
int64_t lg_nginx_requests(const lg_proc *p);

/* "http://127.0.0.1:<port><path>" in a static buffer of 8 rotating slots. */
const char *lg_url(int port, const char *path);

/* Runs a command, returns its exit status; stdout+stderr into *out (malloc'ed, NUL-ended). */
int lg_run_capture(const char *const *argv, char **out, double *seconds);

#endif
