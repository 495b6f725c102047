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
  char dir[256]; /* nginx: its private prefix directory */
  int64_t late;  /* lg_target: responses it sent over 1 ms late (after lg_target_stop) */
} lg_proc;

/* Starts lg_target (path from the LG_TARGET_BIN definition) with extra flags (NULL-ended
 * list) and waits for its port. Aborts the test on failure. */
void lg_target_start(lg_proc *p, const char *const *args);
/* SIGTERM; returns the number of requests the target parsed. */
int64_t lg_target_stop(lg_proc *p);

/* Starts a private nginx (one worker, `location / { return 200 "hello\n"; }`, access log
 * off, stub_status on /nginx_status). Returns false (and the test skips) when nginx is not
 * installed. */
bool lg_nginx_start(lg_proc *p);
void lg_nginx_stop(lg_proc *p);
/* nginx's total request counter (stub_status), including the status request itself. */
int64_t lg_nginx_requests(const lg_proc *p);

/* "http://127.0.0.1:<port><path>" in a static buffer of 8 rotating slots. */
const char *lg_url(int port, const char *path);

/* Runs a command, returns its exit status; stdout+stderr into *out (malloc'ed, NUL-ended). */
int lg_run_capture(const char *const *argv, char **out, double *seconds);

#endif
