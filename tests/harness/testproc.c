/* Child processes for integration tests. */
#include "testproc.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "testenv.h"

static void sleep_ms(int ms) {
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};
  nanosleep(&ts, NULL);
}

void mp_proc_dump_log(const mp_proc *p) {
  FILE *f = fopen(p->log_file, "r");
  if (!f) return;
  fprintf(stderr, "---- log of %s (pid %d) ----\n", p->name, (int)p->pid);
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, f)) > 0) fwrite(buf, 1, n, stderr);
  fprintf(stderr, "---- end of log ----\n");
  fclose(f);
}

static pid_t spawn(mp_proc *p, char **args);
static bool wait_ready(mp_proc *p, int timeout_ms);

bool mp_proc_start(mp_proc *p, const char *const *argv, int timeout_ms) {
  return mp_proc_start_opts(p, argv, true, timeout_ms);
}

bool mp_proc_start_opts(mp_proc *p, const char *const *argv, bool ready_file, int timeout_ms) {
  memset(p, 0, sizeof *p);
  const char *base = strrchr(argv[0], '/');
  snprintf(p->name, sizeof p->name, "%s", base ? base + 1 : argv[0]);
  static int seq;
  snprintf(p->ready_file, sizeof p->ready_file, "/tmp/mp-%d-%d-%s.ready", (int)getpid(), ++seq,
           p->name);
  snprintf(p->log_file, sizeof p->log_file, "/tmp/mp-%d-%d-%s.log", (int)getpid(), seq, p->name);
  unlink(p->ready_file);
  int argc = 0;
  while (argv[argc]) argc++;
  char **args = calloc((size_t)argc + 3, sizeof *args);
  for (int i = 0; i < argc; i++) args[i] = (char *)argv[i];
  if (ready_file) {
    args[argc] = "--ready-file";
    args[argc + 1] = p->ready_file;
  }
  p->pid = spawn(p, args);
  free(args);
  if (!ready_file) return true;
  return wait_ready(p, timeout_ms);
}

static pid_t spawn(mp_proc *p, char **args) {
  pid_t pid = fork();
  if (pid == 0) {
    int fd = open(p->log_file, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
      close(fd);
    }
    execv(args[0], args);
    fprintf(stderr, "cannot run %s: %s\n", args[0], strerror(errno));
    _exit(127);
  }
  return pid;
}

static bool wait_ready(mp_proc *p, int timeout_ms) {
  for (int waited = 0; waited < timeout_ms; waited += 20) {
    FILE *f = fopen(p->ready_file, "r");
    if (f) {
      bool ok = fgets(p->addr, sizeof p->addr, f) != NULL;
      fclose(f);
      p->addr[strcspn(p->addr, "\n")] = '\0';
      if (ok && *p->addr) return true;
    }
    int status;
    if (waitpid(p->pid, &status, WNOHANG) == p->pid) {
      fprintf(stderr, "%s exited during start (status %d)\n", p->name, status);
      mp_proc_dump_log(p);
      p->pid = 0;
      return false;
    }
    sleep_ms(20);
  }
  fprintf(stderr, "%s was not ready after %d ms\n", p->name, timeout_ms);
  mp_proc_dump_log(p);
  return false;
}

int mp_proc_stop(mp_proc *p, int sig, int timeout_ms) {
  if (p->pid <= 0) return -1;
  kill(p->pid, sig);
  int status = -1;
  bool exited = false;
  for (int waited = 0; waited <= timeout_ms; waited += 10) {
    if (waitpid(p->pid, &status, WNOHANG) == p->pid) {
      exited = true;
      break;
    }
    sleep_ms(10);
  }
  if (!exited) {
    fprintf(stderr, "%s did not exit %d ms after signal %d; killing it\n", p->name, timeout_ms,
            sig);
    mp_proc_dump_log(p);
    kill(p->pid, SIGKILL);
    waitpid(p->pid, &status, 0);
    status = -1;
  }
  p->pid = 0;
  unlink(p->ready_file);
  unlink(p->log_file);
  return status;
}

void mp_services_cmd(const char *cmd) {
  const char *dir = mp_testenv("MP_SERVICES_DIR");
  char line[1024];
  snprintf(line, sizeof line, "bash %s %s %s >&2", MP_SERVICES_SH, cmd, dir);
  if (system(line) != 0) {
    fprintf(stderr, "services.sh %s failed\n", cmd);
    abort();
  }
}

bool mp_proc_log_value(mp_proc *p, const char *key, char *out, size_t n, int timeout_ms) {
  size_t klen = strlen(key);
  for (int waited = 0; waited <= timeout_ms; waited += 20) {
    FILE *f = fopen(p->log_file, "r");
    char line[1024];
    while (f && fgets(line, sizeof line, f)) {
      char *at = strstr(line, key);
      if (at && at[klen] == '=') {
        at += klen + 1;
        size_t len = strcspn(at, " \n");
        if (len >= n) len = n - 1;
        memcpy(out, at, len);
        out[len] = '\0';
        fclose(f);
        return true;
      }
    }
    if (f) fclose(f);
    sleep_ms(20);
  }
  return false;
}

int mp_free_port(void) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t len = sizeof a;
  int port = -1;
  if (bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
      getsockname(fd, (struct sockaddr *)&a, &len) == 0)
    port = ntohs(a.sin_port);
  close(fd);
  return port;
}

bool mp_wait_tcp(const char *host_port, int timeout_ms) {
  char host[128];
  snprintf(host, sizeof host, "%s", host_port);
  char *colon = strrchr(host, ':');
  if (!colon) return false;
  *colon = '\0';
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(colon + 1))};
  inet_pton(AF_INET, host, &a.sin_addr);
  for (int waited = 0; waited <= timeout_ms; waited += 20) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    bool ok = connect(fd, (struct sockaddr *)&a, sizeof a) == 0;
    close(fd);
    if (ok) return true;
    sleep_ms(20);
  }
  return false;
}
