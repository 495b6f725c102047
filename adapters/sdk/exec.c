/* Running tools: posix_spawn with an argv (never a shell), stdin fed from memory, stdout
 * and stderr captured, a deadline and a cancel flag that kill the child's whole process
 * group. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "internal.h"

extern char **environ;

#define OUT_MAX_DEFAULT (16u << 20)
#define ERR_MAX (256u << 10)

static bool executable(const char *path) {
  struct stat st;
  return access(path, X_OK) == 0 && stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

char *mp__which(const char *name) {
  if (!name || !*name) return NULL;
  if (strchr(name, '/')) return executable(name) ? mp_strdup(name) : NULL;
  const char *path = getenv("PATH");
  if (!path || !*path) path = "/usr/local/bin:/usr/bin:/bin";
  for (const char *p = path;;) {
    const char *end = strchr(p, ':');
    size_t n = end ? (size_t)(end - p) : strlen(p);
    char *cand = n ? mp_asprintf("%.*s/%s", (int)n, p, name) : mp_asprintf("./%s", name);
    if (executable(cand)) return cand;
    mp_free(cand);
    if (!end) return NULL;
    p = end + 1;
  }
}

void mp__exec_result_free(mp__exec_result *r) {
  if (!r) return;
  mp_buf_free(&r->out);
  mp_buf_free(&r->err);
}

static void close_fd(int *fd) {
  if (*fd >= 0) close(*fd);
  *fd = -1;
}

/* Reads what is available from fd into b (up to max; the rest is read and dropped). */
static void drain(int *fd, mp_buf *b, size_t max) {
  char chunk[16384];
  ssize_t n = read(*fd, chunk, sizeof chunk);
  if (n > 0) {
    if (b->len < max) mp_buf_append(b, chunk, (size_t)n < max - b->len ? (size_t)n : max - b->len);
  } else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
    close_fd(fd);
  }
}

mp_status mp__exec_run(const mp__exec *x, mp__exec_result *r) {
  memset(r, 0, sizeof *r);
  char *path = mp__which(x->argv[0]);
  if (!path) return mp_error_set(MP_ERR_NOT_FOUND, "%s: not found on PATH", x->argv[0]);
  int in[2] = {-1, -1}, out[2] = {-1, -1}, err[2] = {-1, -1};
  if (pipe2(in, O_CLOEXEC) || pipe2(out, O_CLOEXEC) || pipe2(err, O_CLOEXEC)) {
    mp_status st = mp_error_set(MP_ERR_IO, "pipe: %s", strerror(errno));
    for (int i = 0; i < 2; i++) {
      close_fd(&in[i]);
      close_fd(&out[i]);
      close_fd(&err[i]);
    }
    mp_free(path);
    return st;
  }
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, in[0], 0);
  posix_spawn_file_actions_adddup2(&fa, out[1], 1);
  posix_spawn_file_actions_adddup2(&fa, err[1], 2);
  posix_spawnattr_t at;
  posix_spawnattr_init(&at);
  sigset_t none, deflt;
  sigemptyset(&none);
  sigemptyset(&deflt);
  int defaults[] = {SIGPIPE, SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGCHLD};
  for (size_t i = 0; i < MP_ARRAY_LEN(defaults); i++) sigaddset(&deflt, defaults[i]);
  posix_spawnattr_setsigmask(&at, &none);
  posix_spawnattr_setsigdefault(&at, &deflt);
  posix_spawnattr_setpgroup(&at, 0);
  posix_spawnattr_setflags(&at,
                           POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP);

  /* Writing to a child that exited raises SIGPIPE: block it on this thread and consume
   * any we cause, so the process keeps its own disposition. */
  sigset_t pipe_set, old_mask, pending;
  sigemptyset(&pipe_set);
  sigaddset(&pipe_set, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe_set, &old_mask);
  sigpending(&pending);
  bool pipe_was_pending = sigismember(&pending, SIGPIPE);

  /* The adapter's own settings (a bearer token among them) are not the tools' business. */
  size_t nenv = 0;
  while (environ[nenv]) nenv++;
  char **env = mp_calloc(nenv + 1, sizeof *env);
  for (size_t i = 0, j = 0; i < nenv; i++)
    if (!mp_str_has_prefix(environ[i], "MESHPLANE_")) env[j++] = environ[i];
  pid_t pid;
  int rc = posix_spawn(&pid, path, &fa, &at, (char *const *)x->argv, env);
  mp_free(env);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&at);
  close_fd(&in[0]);
  close_fd(&out[1]);
  close_fd(&err[1]);
  if (rc != 0) {
    close_fd(&in[1]);
    close_fd(&out[0]);
    close_fd(&err[0]);
    pthread_sigmask(SIG_SETMASK, &old_mask, NULL);
    mp_status st = mp_error_set(MP_ERR_IO, "cannot start %s: %s", path, strerror(rc));
    mp_free(path);
    return st;
  }
  mp_free(path);
  fcntl(in[1], F_SETFL, O_NONBLOCK);
  size_t off = 0, len = x->input ? x->input_len : 0;
  if (len == 0) close_fd(&in[1]);
  size_t out_max = x->max_output ? x->max_output : OUT_MAX_DEFAULT;
  size_t err_max = x->max_output ? x->max_output : ERR_MAX;
  bool killed = false;

  while (out[0] >= 0 || err[0] >= 0) {
    struct pollfd pf[3];
    int n = 0;
    int iin = -1, iout = -1, ierr = -1;
    if (in[1] >= 0) pf[iin = n++] = (struct pollfd){in[1], POLLOUT, 0};
    if (out[0] >= 0) pf[iout = n++] = (struct pollfd){out[0], POLLIN, 0};
    if (err[0] >= 0) pf[ierr = n++] = (struct pollfd){err[0], POLLIN, 0};
    int pr = poll(pf, (nfds_t)n, 100);
    if (pr < 0 && errno != EINTR) break;
    if (pr > 0) {
      if (iin >= 0 && pf[iin].revents) {
        ssize_t w = write(in[1], x->input + off, len - off);
        if (w > 0)
          off += (size_t)w;
        else if (w < 0 && errno != EAGAIN && errno != EINTR)
          off = len; /* EPIPE: child gone */
        if (off >= len) close_fd(&in[1]);
      }
      if (iout >= 0 && pf[iout].revents) drain(&out[0], &r->out, out_max);
      if (ierr >= 0 && pf[ierr].revents) drain(&err[0], &r->err, err_max);
    }
    if (!killed) {
      bool late = x->deadline_ns && mp_mono_ns() >= x->deadline_ns;
      bool cancel = x->cancel && atomic_load(x->cancel);
      if (late || cancel) {
        r->timed_out = late && !cancel;
        r->cancelled = cancel;
        kill(-pid, SIGKILL);
        killed = true;
        close_fd(&in[1]);
      }
    }
  }
  close_fd(&in[1]);
  close_fd(&out[0]);
  close_fd(&err[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (killed) kill(-pid, SIGKILL); /* grandchildren that outlived the child */
  r->exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);

  sigpending(&pending);
  if (!pipe_was_pending && sigismember(&pending, SIGPIPE)) {
    struct timespec zero = {0, 0};
    sigtimedwait(&pipe_set, NULL, &zero);
  }
  pthread_sigmask(SIG_SETMASK, &old_mask, NULL);
  return MP_OK;
}
