/* Test-program helpers for running meshplane's own processes (server, workers,
 * adapters) as real child processes. They abort with a clear message on failure. */
#ifndef MESHPLANE_TESTPROC_H
#define MESHPLANE_TESTPROC_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

typedef struct mp_proc {
  pid_t pid;
  char name[64];
  char addr[128]; /* "host:port" from the ready file, once ready */
  char ready_file[256];
  char log_file[256]; /* the child's stderr */
} mp_proc;

/* Starts argv[0] (a path) with the extra arguments, plus "--ready-file <tmp>" appended,
 * and waits up to timeout_ms for the ready file; fills p. stderr goes to a temp log
 * file that is printed if the process fails to start. Returns false on timeout or
 * early exit (after printing the log). */
bool mp_proc_start(mp_proc *p, const char *const *argv, int timeout_ms);
/* The same; with ready_file false nothing is appended and the call returns once the
 * process is started (wait with mp_wait_tcp or mp_proc_log_value). stdout and stderr
 * both go to the log file. */
bool mp_proc_start_opts(mp_proc *p, const char *const *argv, bool ready_file, int timeout_ms);
/* Waits up to timeout_ms for "key=value" in the process's output; copies the value. */
bool mp_proc_log_value(mp_proc *p, const char *key, char *out, size_t n, int timeout_ms);
/* A loopback TCP port that is free right now. */
int mp_free_port(void);
/* Waits until host:port (IPv4) accepts a TCP connection. */
bool mp_wait_tcp(const char *host_port, int timeout_ms);
/* Sends sig and waits up to timeout_ms; returns the exit status (as waitpid encodes
 * it), or -1 if it did not exit (then it is SIGKILLed). Removes the temp files. */
int mp_proc_stop(mp_proc *p, int sig, int timeout_ms);
/* Prints the process's log to stderr (for failing tests). */
void mp_proc_dump_log(const mp_proc *p);
/* Runs tests/harness/services.sh with the given command (e.g. "pg-restart") against the
 * fixture's directory; aborts if it fails. */
void mp_services_cmd(const char *cmd);

#endif
