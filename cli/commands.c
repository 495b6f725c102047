/* meshctl's command tree, help and dispatcher, and Ctrl-C handling; each command lives in
 * its own file. */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

typedef struct command {
  const char *group; /* "perf", or NULL for a top-level command */
  const char *name;
  const char *summary;
  int (*run)(mctl_ctx *c, int argc, char **argv);
} command;

static const command commands[] = {
    {"perf", "apply", "create or update a performance profile and run it", mctl_perf_apply},
    {"perf", "profile", "list profiles, or show one", mctl_perf_profile},
    {"perf", "result", "list the results of a profile (or all), or view them", mctl_perf_result},
    {"perf", "delete", "delete a profile and its results", mctl_perf_delete},
    {"perf", "compare", "compare results: latency deltas with confidence intervals",
     mctl_perf_compare},
    {"perf", "export", "export a result as fortio JSON, SMP YAML or an HdrHistogram log",
     mctl_perf_export},
    {"perf", "report", "write a self-contained HTML report with charts of results",
     mctl_perf_report},
    {"perf", "schedule", "run a profile on a cron schedule; list or delete schedules",
     mctl_perf_schedule},
    {"adapter", "list", "list the mesh adapters the server knows", mctl_adapter_list},
    {"adapter", "ops", "list the operations an adapter supports", mctl_adapter_ops},
    {"adapter", "apply", "apply an adapter operation (install, sample app, config, ...)",
     mctl_adapter_apply},
    {"events", "watch", "stream events from adapters and the server", mctl_events_watch},
    {"system", "status", "server, database, NATS, workers and adapters at a glance",
     mctl_system_status},
    {NULL, "analyze", "check Kubernetes and mesh YAML against best-practice rules (offline)",
     mctl_analyze},
    {NULL, "version", "print meshctl's version and the server's", mctl_version},
    {NULL, "health", "gRPC health check of a meshplane process (server, worker, adapter)",
     mctl_health},
};

static const char exit_codes[] =
    "Exit codes:\n"
    "  0  success\n"
    "  1  failure (the message says what happened)\n"
    "  2  usage: bad command line or input (nothing was changed)\n"
    "  3  not found: the named profile, result, adapter or schedule does not exist\n"
    "  4  meshplane-server cannot be reached or is unavailable\n"
    "  5  a run did not complete (failed, partial, cancelled)\n"
    "  6  the server refused the token or certificate\n"
    "  7  a check failed: analyze found errors, compare --fail-on-slower saw a regression\n";

static void usage(FILE *f, const char *group) {
  fprintf(f, "meshctl - the command-line client of meshplane, a service-mesh management plane\n\n");
  fprintf(f, "Usage: meshctl %s%sCOMMAND [ARGS] [flags]\n\nCommands:\n", group ? group : "",
          group ? " " : "");
  for (size_t i = 0; i < MP_ARRAY_LEN(commands); i++) {
    const command *k = &commands[i];
    if (group && (!k->group || strcmp(k->group, group))) continue;
    char left[40];
    snprintf(left, sizeof left, "%s%s%s", k->group ? k->group : "", k->group ? " " : "", k->name);
    fprintf(f, "  %-18s %s\n", left, k->summary);
  }
  fprintf(f, "\nGlobal flags (every command that talks to the server):\n"
             "  --server HOST:PORT   meshplane-server (env MESHPLANE_SERVER, default "
             "127.0.0.1:9600)\n"
             "  --token TOKEN        bearer token (env MESHPLANE_TOKEN)\n"
             "  --tls-ca FILE        verify the server's TLS certificate with this CA (env "
             "MESHPLANE_TLS_CA)\n"
             "  --tls                TLS with the system's roots (env MESHPLANE_TLS)\n"
             "  --timeout DUR        deadline of each request (env MESHPLANE_TIMEOUT, default "
             "30s)\n"
             "  -o, --output FORMAT  table (default), json or yaml\n"
             "  --log-level LEVEL    debug, info, warn, error, off\n\n");
  fputs(exit_codes, f);
  fprintf(f, "\nRun 'meshctl COMMAND --help' for a command's flags.\n");
}

/* Global flags that take a value, so their value is not mistaken for a command word. */
static bool takes_value(const char *a) {
  static const char *const v[] = {"--server", "--token", "--tls-ca",   "--timeout",
                                  "--output", "-o",      "--log-level"};
  for (size_t i = 0; i < MP_ARRAY_LEN(v); i++)
    if (!strcmp(a, v[i])) return true;
  return false;
}

/* Index in argv of the n-th word that is not a flag (or a global flag's value), or -1. */
static int word_at(int argc, char **argv, int n) {
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--")) return -1;
    if (argv[i][0] == '-' && argv[i][1]) {
      if (takes_value(argv[i])) i++;
      continue;
    }
    if (n-- == 0) return i;
  }
  return -1;
}

static bool has_help(int argc, char **argv) {
  for (int i = 1; i < argc; i++)
    if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) return true;
  return false;
}

/* ---- interrupts: Ctrl-C cancels the stream in progress ----------------------------------- */

static pthread_mutex_t intr_mu = PTHREAD_MUTEX_INITIALIZER;
static mp_rpc_stream *intr_stream;
static atomic_bool intr_seen;

static void *intr_thread(void *arg) {
  sigset_t *set = arg;
  for (;;) {
    int sig;
    if (sigwait(set, &sig) != 0) continue;
    atomic_store(&intr_seen, true);
    pthread_mutex_lock(&intr_mu);
    if (intr_stream) mp_rpc_stream_cancel(intr_stream);
    bool none = !intr_stream;
    pthread_mutex_unlock(&intr_mu);
    /* Nothing to cancel: behave as the default action would. */
    if (none) _exit(128 + sig);
  }
  return NULL;
}

void mctl_interrupt_init(void) {
  static sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, NULL);
  pthread_t t;
  if (pthread_create(&t, NULL, intr_thread, &set) == 0) pthread_detach(t);
}

void mctl_interrupt_watch(mp_rpc_stream *s) {
  pthread_mutex_lock(&intr_mu);
  intr_stream = s;
  pthread_mutex_unlock(&intr_mu);
}

bool mctl_interrupted(void) { return atomic_load(&intr_seen); }

/* ---- dispatch -------------------------------------------------------------------------- */

int mctl_main(int argc, char **argv) {
  int w0 = word_at(argc, argv, 0);
  if (w0 < 0) {
    bool help = has_help(argc, argv);
    for (int i = 1; i < argc && !help; i++)
      if (!strcmp(argv[i], "--version")) {
        printf("meshctl %s (git %s)\n", MESHPLANE_VERSION, MESHPLANE_GIT_SHA);
        return MCTL_EXIT_OK;
      }
    usage(help ? stdout : stderr, NULL);
    return help ? MCTL_EXIT_OK : MCTL_EXIT_USAGE;
  }
  const char *first = argv[w0];
  if (!strcmp(first, "help")) {
    usage(stdout, NULL);
    return MCTL_EXIT_OK;
  }
  const command *cmd = NULL;
  bool group_known = false;
  int w1 = -1;
  for (size_t i = 0; i < MP_ARRAY_LEN(commands) && !cmd; i++) {
    const command *k = &commands[i];
    if (!k->group) {
      if (!strcmp(k->name, first)) cmd = k;
      continue;
    }
    if (strcmp(k->group, first)) continue;
    group_known = true;
    w1 = word_at(argc, argv, 1);
    if (w1 >= 0 && !strcmp(argv[w1], k->name)) cmd = k;
  }
  if (!cmd && group_known) {
    bool help = has_help(argc, argv) || (w1 >= 0 && !strcmp(argv[w1], "help"));
    if (!help && w1 >= 0)
      fprintf(stderr, "meshctl %s: unknown command \"%s\"\n\n", first, argv[w1]);
    usage(help ? stdout : stderr, first);
    return help ? MCTL_EXIT_OK : MCTL_EXIT_USAGE;
  }
  if (!cmd) {
    fprintf(stderr, "meshctl: unknown command \"%s\": run 'meshctl --help' for the commands\n",
            first);
    return MCTL_EXIT_USAGE;
  }
  /* Drop the command words; the command parses the rest (flags may come anywhere). */
  char **rest = mp_calloc((size_t)argc + 1, sizeof *rest);
  int n = 0;
  char path[64];
  snprintf(path, sizeof path, "%s%s%s", cmd->group ? cmd->group : "", cmd->group ? " " : "",
           cmd->name);
  rest[n++] = path;
  for (int i = 1; i < argc; i++)
    if (i != w0 && !(cmd->group && i == w1)) rest[n++] = argv[i];
  mctl_ctx c = {.cmd = path, .summary = cmd->summary};
  int rc = cmd->run(&c, n, rest);
  mctl_ctx_free(&c);
  mp_free(rest);
  fflush(stdout);
  return rc;
}
