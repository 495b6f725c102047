/* rpc_bench: unary calls/s and stream messages/s through lib/rpc with 1, 16 and 64
 * concurrent callers over one channel, with p50/p99 latency. The server is a separate
 * process (mp_echo_server) on loopback; both share this machine's cores. Unary calls are
 * measured twice: blocking callers (a thread each, mp_rpc_unary) and asynchronous calls in
 * flight (mp_rpc_unary_async, completed on lib/rpc's client thread).
 *
 *   build/tests/bench/rpc_bench [--duration 5s] [--callers 1,16,64] [--mode blocking]
 */
#include <pthread.h>
#include <stdatomic.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "echo_service.h"

#define ECHO (&meshplane__test__echo__descriptor)

/* Unary latencies in microseconds, as recorded. */
typedef struct lat_list {
  int64_t *us;
  size_t n, cap;
} lat_list;

static void lat_add(lat_list *l, int64_t us) {
  if (l->n == l->cap) {
    l->cap = l->cap ? l->cap * 2 : 4096;
    l->us = mp_realloc(l->us, l->cap * sizeof *l->us);
  }
  l->us[l->n++] = us;
}

typedef struct worker {
  mp_rpc_channel *ch;
  int64_t end_ns;
  bool stream;
  int64_t ops, errors;
  lat_list lat;
} worker;

static void *unary_worker(void *p) {
  worker *w = p;
  Meshplane__Test__EchoRequest req = MESHPLANE__TEST__ECHO_REQUEST__INIT;
  req.text = "benchmark payload of a typical small request";
  mp_rpc_call_opts o = {.timeout_ms = 10000};
  while (mp_mono_ns() < w->end_ns) {
    int64_t t0 = mp_mono_ns();
    ProtobufCMessage *resp;
    mp_rpc_status st;
    if (mp_rpc_unary(w->ch, ECHO, "Say", &req.base, &resp, &o, &st) == MP_RPC_OK) {
      protobuf_c_message_free_unpacked(resp, NULL);
      w->ops++;
    } else {
      w->errors++;
    }
    lat_add(&w->lat, (mp_mono_ns() - t0) / 1000);
  }
  return NULL;
}

static void *stream_worker(void *p) {
  worker *w = p;
  Meshplane__Test__EchoRequest req = MESHPLANE__TEST__ECHO_REQUEST__INIT;
  req.text = "progress sample";
  mp_rpc_stream *s;
  mp_rpc_status st;
  if (mp_rpc_stream_open(w->ch, ECHO, "Count", &req.base, NULL, &s, &st) != MP_RPC_OK) {
    w->errors++;
    return NULL;
  }
  ProtobufCMessage *m;
  while (mp_mono_ns() < w->end_ns && mp_rpc_stream_next(s, &m, &st)) {
    protobuf_c_message_free_unpacked(m, NULL);
    w->ops++;
  }
  mp_rpc_stream_free(s);
  return NULL;
}

static int cmp64(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return (x > y) - (x < y);
}

/* Prints a unary line; sorts lat. */
static void report_unary(const char *what, int callers, double rate, int64_t *lat, size_t n,
                         int64_t errors) {
  qsort(lat, n, sizeof *lat, cmp64);
  printf("%s callers=%-3d  %9.0f calls/s  p50=%lldus p99=%lldus  errors=%lld\n", what, callers,
         rate, n ? (long long)lat[n / 2] : 0, n ? (long long)lat[n * 99 / 100] : 0,
         (long long)errors);
}

/* Asynchronous unary calls (mp_rpc_unary_async): `callers` calls kept in flight, each
 * started again from its completion on lib/rpc's client thread - no thread per caller. */
typedef struct async_bench {
  mp_rpc_channel *ch;
  int64_t end_ns;
  Meshplane__Test__EchoRequest req;
  mp_rpc_call_opts opts;
  atomic_llong ops, errors;
  lat_list lat; /* only the client thread records, until live is 0 */
  int live;     /* chains still running, under mu */
  pthread_mutex_t mu;
  pthread_cond_t cv;
} async_bench;

typedef struct async_slot {
  async_bench *b;
  int64_t t0;
} async_slot;

static void chain_end(async_bench *b) {
  pthread_mutex_lock(&b->mu);
  b->live--;
  pthread_cond_signal(&b->cv);
  pthread_mutex_unlock(&b->mu);
}

static void async_start(async_slot *s);

static void async_done(void *arg, mp_rpc_code code, ProtobufCMessage *resp,
                       const mp_rpc_status *st) {
  (void)st;
  async_slot *s = arg;
  async_bench *b = s->b;
  if (code == MP_RPC_OK) {
    protobuf_c_message_free_unpacked(resp, NULL);
    b->ops++;
  } else {
    b->errors++;
  }
  int64_t now = mp_mono_ns();
  lat_add(&b->lat, (now - s->t0) / 1000);
  if (now < b->end_ns)
    async_start(s);
  else
    chain_end(b);
}

static void async_start(async_slot *s) {
  s->t0 = mp_mono_ns();
  mp_rpc_status st;
  if (mp_rpc_unary_async(s->b->ch, ECHO, "Say", &s->b->req.base, &s->b->opts, async_done, s, &st) !=
      MP_RPC_OK) {
    s->b->errors++;
    chain_end(s->b);
  }
}

static void run_async(mp_rpc_channel *ch, int callers, int64_t dur_ns) {
  async_bench b = {.ch = ch, .opts = {.timeout_ms = 10000}, .live = callers};
  Meshplane__Test__EchoRequest req = MESHPLANE__TEST__ECHO_REQUEST__INIT;
  b.req = req;
  b.req.text = "benchmark payload of a typical small request";
  pthread_mutex_init(&b.mu, NULL);
  pthread_cond_init(&b.cv, NULL);
  async_slot *slots = mp_calloc((size_t)callers, sizeof *slots);
  int64_t t0 = mp_mono_ns();
  b.end_ns = t0 + dur_ns;
  for (int i = 0; i < callers; i++) {
    slots[i].b = &b;
    async_start(&slots[i]);
  }
  pthread_mutex_lock(&b.mu);
  while (b.live > 0) pthread_cond_wait(&b.cv, &b.mu);
  pthread_mutex_unlock(&b.mu);
  double secs = (double)(mp_mono_ns() - t0) / 1e9;
  report_unary("unary async", callers, (double)b.ops / secs, b.lat.us, b.lat.n, b.errors);
  mp_free(b.lat.us);
  mp_free(slots);
  pthread_mutex_destroy(&b.mu);
  pthread_cond_destroy(&b.cv);
}

static void run(mp_rpc_channel *ch, int callers, bool stream, int64_t dur_ns) {
  worker *w = mp_calloc((size_t)callers, sizeof *w);
  pthread_t *t = mp_calloc((size_t)callers, sizeof *t);
  int64_t t0 = mp_mono_ns();
  for (int i = 0; i < callers; i++) {
    w[i] = (worker){.ch = ch, .end_ns = t0 + dur_ns, .stream = stream};
    pthread_create(&t[i], NULL, stream ? stream_worker : unary_worker, &w[i]);
  }
  int64_t ops = 0, errors = 0;
  size_t nlat = 0;
  for (int i = 0; i < callers; i++) {
    pthread_join(t[i], NULL);
    ops += w[i].ops;
    errors += w[i].errors;
    nlat += w[i].lat.n;
  }
  double secs = (double)(mp_mono_ns() - t0) / 1e9;
  if (stream) {
    printf("stream  callers=%-3d  %9.0f msgs/s  errors=%lld\n", callers, (double)ops / secs,
           (long long)errors);
  } else {
    int64_t *all = mp_malloc((nlat ? nlat : 1) * sizeof *all);
    size_t k = 0;
    for (int i = 0; i < callers; i++) {
      memcpy(all + k, w[i].lat.us, w[i].lat.n * sizeof *all);
      k += w[i].lat.n;
    }
    report_unary("unary  ", callers, (double)ops / secs, all, nlat, errors);
    mp_free(all);
  }
  for (int i = 0; i < callers; i++) mp_free(w[i].lat.us);
  mp_free(w);
  mp_free(t);
}

/* Starts mp_echo_server on a free port; fills target. Returns its pid, or -1. */
static pid_t start_server(char *target, size_t n) {
  int out[2];
  if (pipe(out)) return -1;
  pid_t pid = fork();
  if (pid == 0) {
    dup2(out[1], 1);
    execl(ECHO_SERVER, "mp_echo_server", "--listen", "127.0.0.1:0", (char *)NULL);
    _exit(127);
  }
  close(out[1]);
  FILE *f = fdopen(out[0], "r");
  char line[64];
  int port = 0;
  while (!port && fgets(line, sizeof line, f)) sscanf(line, "PORT %d", &port);
  fclose(f);
  if (!port) {
    fprintf(stderr, "rpc_bench: the echo server did not start\n");
    return -1;
  }
  snprintf(target, n, "127.0.0.1:%d", port);
  return pid;
}

int main(int argc, char **argv) {
  int64_t dur = 5 * MP_NS_PER_S;
  mp_strlist callers = {0};
  mp_strlist modes = {0};
  char *external = "";
  const mp_flag flags[] = {
      {"target", 't', MP_FLAG_STRING, &external, NULL,
       "use a running mp_echo_server at HOST:PORT instead of starting one", "ADDR"},
      {"duration", 'd', MP_FLAG_DURATION, &dur, NULL, "length of each measurement", "DUR"},
      {"callers", 'c', MP_FLAG_LIST, &callers, NULL, "concurrent callers (repeatable)", "N"},
      {"mode", 'm', MP_FLAG_LIST, &modes, NULL,
       "what to measure: blocking, async, stream (repeatable; default all, for profiling one)",
       "MODE"},
  };
  static const mp_program prog = {"rpc_bench", "lib/rpc throughput and latency", NULL, NULL};
  int nargs;
  int rc = mp_flags_parse(&prog, flags, MP_ARRAY_LEN(flags), argc, argv, &nargs);
  if (rc) return rc < 0 ? 2 : 0;
  if (!callers.len) {
    mp_strlist_push(&callers, "1");
    mp_strlist_push(&callers, "16");
    mp_strlist_push(&callers, "64");
  }
  bool want[3] = {!modes.len, !modes.len, !modes.len};
  static const char *const mode_names[] = {"blocking", "async", "stream"};
  for (size_t i = 0; i < modes.len; i++) {
    size_t m = 0;
    while (m < 3 && strcmp(modes.items[i], mode_names[m])) m++;
    if (m == 3) {
      fprintf(stderr, "rpc_bench: unknown --mode %s (blocking, async or stream)\n", modes.items[i]);
      return 2;
    }
    want[m] = true;
  }
  char target[64];
  pid_t pid = -1;
  if (*external) {
    mp_strlcpy(target, external, sizeof target);
  } else {
    pid = start_server(target, sizeof target);
    if (pid < 0) return 1;
  }
  mp_rpc_channel *ch;
  mp_rpc_channel_new(target, NULL, &ch);
  mp_rpc_channel_wait_ready(ch, 5000);
  printf("rpc_bench: server %s, %.1f s per measurement, one channel\n", target, (double)dur / 1e9);
  for (size_t i = 0; want[0] && i < callers.len; i++) run(ch, atoi(callers.items[i]), false, dur);
  for (size_t i = 0; want[1] && i < callers.len; i++) run_async(ch, atoi(callers.items[i]), dur);
  for (size_t i = 0; want[2] && i < callers.len; i++) run(ch, atoi(callers.items[i]), true, dur);
  mp_rpc_channel_free(ch);
  if (pid > 0) {
    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);
  }
  mp_strlist_free(&callers);
  mp_strlist_free(&modes);
  mp_flags_free(flags, MP_ARRAY_LEN(flags));
  return 0;
}
