/* Supervised processes of the host platform. Each process (a proxy master, a sample app)
 * starts with posix_spawn and an argv (never a shell) in its own process group, with stdin
 * from /dev/null, stdout and stderr appended to its log, an empty signal mask and no
 * inherited descriptors. One thread reaps them all: a process that exits without being
 * stopped has what is left of its group killed (a proxy's orphaned workers would hold its
 * ports) and is started again, at once the first time and then with a growing backoff, and
 * the owner is told (an event says so). Pid files let a later adapter kill what an earlier
 * one left running. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "host.h"

extern char **environ;

#define TICK_MS 200
#define BACKOFF_MAX_MS 5000
#define STABLE_MS 10000

typedef struct proc {
  char *key, *label, *log_path, *pid_file;
  char **argv;
  int stop_signal;
  pid_t pid; /* 0: not running */
  int pidfd;
  int64_t started_ns, retry_at_ns;
  unsigned fails; /* quick exits in a row */
  bool stopping;
  struct proc *next;
} proc;

struct mp__hsup {
  pthread_mutex_t mu;
  pthread_cond_t cv; /* a process was reaped */
  proc *procs;
  char *pid_dir;
  int wake[2];
  pthread_t thread;
  bool quit;
  mp__hsup_notify notify;
  void *arg;
};

static void wake(mp__hsup *s) {
  char c = 1;
  ssize_t r = write(s->wake[1], &c, 1);
  (void)r;
}

/* The fields of /proc/<pid>/stat after the command name (field 3 on), read into buf; NULL
 * when pid is gone. */
static char *stat_fields(long pid, char *buf, size_t size) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%ld/stat", pid);
  FILE *f = fopen(path, "re");
  if (!f) return NULL;
  size_t n = fread(buf, 1, size - 1, f);
  fclose(f);
  buf[n] = '\0';
  char *p = strrchr(buf, ')'); /* the command name may hold spaces */
  return p ? p + 1 : NULL;
}

/* The start time of pid (clock ticks since boot, /proc/<pid>/stat field 22), or 0. */
static unsigned long long start_time(pid_t pid) {
  char buf[1024];
  char *p = stat_fields(pid, buf, sizeof buf);
  if (!p) return 0;
  unsigned long long v = 0;
  int field = 2;
  char *save = NULL;
  for (char *tok = strtok_r(p, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
    if (++field == 22) {
      v = strtoull(tok, NULL, 10);
      break;
    }
  }
  return v;
}

/* Reads state (field 3) and ppid (field 4) of pid; false when it is gone. */
static bool stat_of(pid_t pid, char *state, long *ppid) {
  char buf[512];
  char *p = stat_fields(pid, buf, sizeof buf);
  return p && sscanf(p, " %c %ld", state, ppid) == 2;
}

bool mp__hpid_alive(pid_t pid) {
  char state;
  long ppid;
  return stat_of(pid, &state, &ppid) && state != 'Z' && state != 'X';
}

size_t mp__hchildren(pid_t pid, pid_t *out, size_t max) {
  DIR *d = opendir("/proc");
  size_t n = 0;
  for (struct dirent *e; d && n < max && (e = readdir(d));) {
    if (e->d_name[0] < '1' || e->d_name[0] > '9') continue;
    pid_t p = (pid_t)atol(e->d_name);
    char state;
    long ppid;
    if (stat_of(p, &state, &ppid) && ppid == pid && state != 'Z') out[n++] = p;
  }
  if (d) closedir(d);
  return n;
}

static char *pid_file_of(const mp__hsup *s, const char *key) {
  mp_buf b = {0};
  mp_buf_printf(&b, "%s/", s->pid_dir);
  for (const char *k = key; *k; k++) mp_buf_printf(&b, "%c", *k == '/' ? '_' : *k);
  mp_buf_puts(&b, ".pid");
  return mp_buf_steal(&b);
}

static void write_pid_file(proc *p) {
  char line[64];
  int n = snprintf(line, sizeof line, "%ld %llu\n", (long)p->pid, start_time(p->pid));
  if (mp__hfile_write(p->pid_file, line, (size_t)n, 0644) != MP_OK)
    mp_warn("cannot write a pid file", "err=\"%s\"", mp_error_last());
}

static mp_status spawn(proc *p) {
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, p->log_path, O_WRONLY | O_APPEND | O_CREAT, 0600);
  posix_spawn_file_actions_adddup2(&fa, 1, 2);
  posix_spawn_file_actions_addclosefrom_np(&fa, 3);
  posix_spawnattr_t at;
  posix_spawnattr_init(&at);
  sigset_t none, deflt;
  sigemptyset(&none);
  sigfillset(&deflt);
  sigdelset(&deflt, SIGKILL);
  sigdelset(&deflt, SIGSTOP);
  posix_spawnattr_setsigmask(&at, &none);
  posix_spawnattr_setsigdefault(&at, &deflt);
  posix_spawnattr_setpgroup(&at, 0);
  posix_spawnattr_setflags(&at,
                           POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP);
  size_t nenv = 0;
  while (environ[nenv]) nenv++;
  char **env = mp_calloc(nenv + 1, sizeof *env);
  for (size_t i = 0, j = 0; i < nenv; i++)
    if (!mp_str_has_prefix(environ[i], "MESHPLANE_")) env[j++] = environ[i];
  pid_t pid;
  int rc = posix_spawn(&pid, p->argv[0], &fa, &at, p->argv, env);
  mp_free(env);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&at);
  if (rc != 0) return mp_error_set(MP_ERR_IO, "cannot start %s: %s", p->argv[0], strerror(rc));
  p->pid = pid;
  p->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
  p->started_ns = mp_mono_ns();
  write_pid_file(p);
  mp_debug("process started", "key=%s pid=%ld", p->key, (long)pid);
  return MP_OK;
}

static void describe(int status, char *out, size_t n) {
  if (WIFEXITED(status))
    snprintf(out, n, "exited with code %d", WEXITSTATUS(status));
  else if (WIFSIGNALED(status))
    snprintf(out, n, "was killed by signal %d (%s)", WTERMSIG(status),
             sigdescr_np(WTERMSIG(status)) ? sigdescr_np(WTERMSIG(status)) : "?");
  else
    snprintf(out, n, "ended (status %d)", status);
}

bool mp__hgroup_alive(pid_t pgid) {
  DIR *d = opendir("/proc");
  bool alive = false;
  for (struct dirent *e; d && !alive && (e = readdir(d));) {
    if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
    char buf[512], state = 0;
    char *p = stat_fields(strtol(e->d_name, NULL, 10), buf, sizeof buf);
    long ppid = 0, pgrp = 0;
    if (p && sscanf(p, " %c %ld %ld", &state, &ppid, &pgrp) == 3)
      alive = pgrp == pgid && state != 'Z' && state != 'X';
  }
  if (d) closedir(d);
  return alive;
}

/* Called with s->mu held when p's process was reaped. */
static void exited(mp__hsup *s, proc *p, int status) {
  pid_t pid = p->pid;
  /* Workers the master left behind hold its ports: they are killed, and gone (dead, if
   * not yet reaped by whoever inherited them) before the proxy counts as stopped or a new
   * one starts. A SIGKILLed process dies within milliseconds; the bound is for a process
   * stuck in the kernel. */
  if (kill(-pid, SIGKILL) == 0) {
    int64_t until = mp_mono_ns() + 2 * MP_NS_PER_S;
    bool alive;
    while ((alive = mp__hgroup_alive(pid)) && mp_mono_ns() < until) mp_sleep_ms(2);
    if (alive)
      mp_warn("a killed process of the group still runs; its ports may stay taken",
              "key=%s pgid=%ld", p->key, (long)pid);
  }
  if (p->pidfd >= 0) close(p->pidfd);
  p->pidfd = -1;
  p->pid = 0;
  unlink(p->pid_file);
  pthread_cond_broadcast(&s->cv);
  if (p->stopping) return;
  char why[128];
  describe(status, why, sizeof why);
  int64_t now = mp_mono_ns();
  p->fails = now - p->started_ns > STABLE_MS * MP_NS_PER_MS ? 0 : p->fails + 1;
  int64_t delay_ms = 0;
  if (p->fails > 1) {
    delay_ms = 200;
    for (unsigned i = 2; i < p->fails && delay_ms < BACKOFF_MAX_MS; i++) delay_ms *= 2;
    if (delay_ms > BACKOFF_MAX_MS) delay_ms = BACKOFF_MAX_MS;
  }
  p->retry_at_ns = now + delay_ms * MP_NS_PER_MS;
  mp_warn("supervised process exited", "key=%s pid=%ld why=\"%s\" restart_in_ms=%lld", p->key,
          (long)pid, why, (long long)delay_ms);
  char *label = mp_strdup(p->label), *key = mp_strdup(p->key);
  pid_t newpid = 0;
  bool restarted = false;
  if (delay_ms == 0 && spawn(p) == MP_OK) {
    restarted = true;
    newpid = p->pid;
  }
  if (s->notify) {
    pthread_mutex_unlock(&s->mu);
    s->notify(s->arg, key, label, why, restarted, newpid);
    pthread_mutex_lock(&s->mu);
  }
  mp_free(label);
  mp_free(key);
}

static void *run(void *arg) {
  mp__hsup *s = arg;
  pthread_mutex_lock(&s->mu);
  while (!s->quit) {
    struct pollfd pf[65];
    nfds_t n = 0;
    pf[n++] = (struct pollfd){s->wake[0], POLLIN, 0};
    for (proc *p = s->procs; p && n < MP_ARRAY_LEN(pf); p = p->next)
      if (p->pidfd >= 0) pf[n++] = (struct pollfd){p->pidfd, POLLIN, 0};
    pthread_mutex_unlock(&s->mu);
    poll(pf, n, TICK_MS);
    if (pf[0].revents) {
      char buf[64];
      ssize_t r = read(s->wake[0], buf, sizeof buf);
      (void)r;
    }
    pthread_mutex_lock(&s->mu);
    int64_t now = mp_mono_ns();
    for (proc *p = s->procs; p; p = p->next) {
      if (p->pid > 0) {
        int status;
        pid_t r = waitpid(p->pid, &status, WNOHANG);
        if (r == p->pid) {
          exited(s, p, status);
          break; /* the list may have changed while the lock was dropped */
        }
      } else if (!p->stopping && p->retry_at_ns && now >= p->retry_at_ns) {
        p->retry_at_ns = 0;
        bool ok = spawn(p) == MP_OK;
        if (!ok) p->retry_at_ns = now + BACKOFF_MAX_MS * MP_NS_PER_MS;
        if (s->notify) {
          char *label = mp_strdup(p->label), *key = mp_strdup(p->key);
          pid_t pid = p->pid;
          pthread_mutex_unlock(&s->mu);
          s->notify(s->arg, key, label, "was down (restart backoff)", ok, pid);
          pthread_mutex_lock(&s->mu);
          mp_free(label);
          mp_free(key);
        }
        break;
      }
    }
  }
  pthread_mutex_unlock(&s->mu);
  return NULL;
}

mp__hsup *mp__hsup_new(const char *pid_dir, mp__hsup_notify notify, void *arg) {
  mp__hsup *s = mp_calloc(1, sizeof *s);
  pthread_mutex_init(&s->mu, NULL);
  mp_cond_init_mono(&s->cv);
  s->pid_dir = mp_strdup(pid_dir);
  s->notify = notify;
  s->arg = arg;
  if (pipe2(s->wake, O_CLOEXEC | O_NONBLOCK) != 0) abort();
  if (pthread_create(&s->thread, NULL, run, s) != 0) abort();
  return s;
}

static proc *find(mp__hsup *s, const char *key) {
  for (proc *p = s->procs; p; p = p->next)
    if (!strcmp(p->key, key)) return p;
  return NULL;
}

static void proc_free(proc *p) {
  for (char **a = p->argv; *a; a++) mp_free(*a);
  mp_free(p->argv);
  mp_free(p->key);
  mp_free(p->label);
  mp_free(p->log_path);
  mp_free(p->pid_file);
  mp_free(p);
}

mp_status mp__hsup_start(mp__hsup *s, const char *key, const char *label, const char *const *argv,
                         const char *log_path, int stop_signal) {
  pthread_mutex_lock(&s->mu);
  if (find(s, key)) {
    pthread_mutex_unlock(&s->mu);
    return mp_error_set(MP_ERR_EXISTS, "%s is already supervised", key);
  }
  proc *p = mp_calloc(1, sizeof *p);
  p->key = mp_strdup(key);
  p->label = mp_strdup(label);
  p->log_path = mp_strdup(log_path);
  p->pid_file = pid_file_of(s, key);
  p->stop_signal = stop_signal ? stop_signal : SIGTERM;
  p->pidfd = -1;
  size_t n = 0;
  while (argv[n]) n++;
  p->argv = mp_calloc(n + 1, sizeof *p->argv);
  for (size_t i = 0; i < n; i++) p->argv[i] = mp_strdup(argv[i]);
  mp_status st = spawn(p);
  if (st == MP_OK) {
    p->next = s->procs;
    s->procs = p;
  }
  pthread_mutex_unlock(&s->mu);
  if (st != MP_OK) {
    proc_free(p);
    return st;
  }
  wake(s);
  return MP_OK;
}

mp_status mp__hsup_signal(mp__hsup *s, const char *key, int sig) {
  pthread_mutex_lock(&s->mu);
  proc *p = find(s, key);
  mp_status st = p && p->pid > 0 && kill(p->pid, sig) == 0
                     ? MP_OK
                     : mp_error_set(MP_ERR_NOT_FOUND, "%s is not running", key);
  pthread_mutex_unlock(&s->mu);
  return st;
}

bool mp__hsup_has(mp__hsup *s, const char *key) {
  pthread_mutex_lock(&s->mu);
  bool b = find(s, key) != NULL;
  pthread_mutex_unlock(&s->mu);
  return b;
}

pid_t mp__hsup_pid(mp__hsup *s, const char *key) {
  pthread_mutex_lock(&s->mu);
  proc *p = find(s, key);
  pid_t pid = p ? p->pid : 0;
  pthread_mutex_unlock(&s->mu);
  return pid;
}

/* Waits (s->mu held) until p is reaped or the monotonic deadline passes. */
static bool wait_reaped(mp__hsup *s, proc *p, int64_t deadline_ns) {
  while (p->pid > 0) {
    wake(s);
    if (mp_cond_wait_until(&s->cv, &s->mu, deadline_ns) != 0 && mp_mono_ns() >= deadline_ns)
      return p->pid == 0;
  }
  return true;
}

/* Stops p (s->mu held): its stop signal, then SIGKILL to the group after grace_ms. */
static void stop_locked(mp__hsup *s, proc *p, int64_t grace_ms) {
  p->stopping = true;
  if (p->pid <= 0) return;
  kill(p->pid, p->stop_signal);
  if (!wait_reaped(s, p, mp_mono_ns() + grace_ms * MP_NS_PER_MS)) {
    mp_warn("process did not stop in time; killing its group", "key=%s pid=%ld", p->key,
            (long)p->pid);
    kill(-p->pid, SIGKILL);
    wait_reaped(s, p, mp_mono_ns() + 5 * MP_NS_PER_S);
  }
}

void mp__hsup_stop(mp__hsup *s, const char *key, int64_t grace_ms) {
  pthread_mutex_lock(&s->mu);
  proc *p = find(s, key);
  if (p) {
    stop_locked(s, p, grace_ms);
    for (proc **pp = &s->procs; *pp; pp = &(*pp)->next)
      if (*pp == p) {
        *pp = p->next;
        break;
      }
    proc_free(p);
  }
  pthread_mutex_unlock(&s->mu);
}

void mp__hsup_free(mp__hsup *s, int64_t grace_ms) {
  if (!s) return;
  pthread_mutex_lock(&s->mu);
  /* Signal all first so they stop in parallel, then wait for each. */
  for (proc *p = s->procs; p; p = p->next) {
    p->stopping = true;
    if (p->pid > 0) kill(p->pid, p->stop_signal);
  }
  for (proc *p = s->procs; p; p = p->next) stop_locked(s, p, grace_ms);
  s->quit = true;
  pthread_mutex_unlock(&s->mu);
  wake(s);
  pthread_join(s->thread, NULL);
  while (s->procs) {
    proc *p = s->procs;
    s->procs = p->next;
    proc_free(p);
  }
  close(s->wake[0]);
  close(s->wake[1]);
  pthread_cond_destroy(&s->cv);
  pthread_mutex_destroy(&s->mu);
  mp_free(s->pid_dir);
  mp_free(s);
}

int mp__hsup_reap_stale(const char *pid_dir) {
  DIR *d = opendir(pid_dir);
  if (!d) return 0;
  int killed = 0;
  for (struct dirent *e; (e = readdir(d));) {
    size_t n = strlen(e->d_name);
    if (n < 5 || strcmp(e->d_name + n - 4, ".pid")) continue;
    char *path = mp_asprintf("%s/%s", pid_dir, e->d_name);
    mp_buf b = {0};
    long pid = 0;
    unsigned long long st = 0;
    if (mp__hfile_read(path, &b) == MP_OK && sscanf(b.data, "%ld %llu", &pid, &st) == 2 &&
        pid > 1 && st && start_time((pid_t)pid) == st) {
      mp_warn("killing a process an earlier adapter left running", "pid=%ld file=%s", pid, path);
      kill(-(pid_t)pid, SIGKILL);
      kill((pid_t)pid, SIGKILL);
      killed++;
    }
    unlink(path);
    mp_buf_free(&b);
    mp_free(path);
  }
  closedir(d);
  return killed;
}

mp_status mp__hrun(const char *const *argv, int64_t timeout_ms, int *exit_code, mp_buf *output) {
  mp__exec x = {.argv = argv, .deadline_ns = mp_mono_ns() + timeout_ms * MP_NS_PER_MS};
  mp__exec_result r;
  mp_status st = mp__exec_run(&x, &r);
  if (st != MP_OK) return st;
  *exit_code = r.timed_out ? -1 : r.exit_code;
  if (output) {
    if (r.err.len) mp_buf_append(output, r.err.data, r.err.len);
    if (r.out.len) mp_buf_append(output, r.out.data, r.out.len);
  }
  mp__exec_result_free(&r);
  return MP_OK;
}
