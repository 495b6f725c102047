/* meshctl internals shared by its command files: the context every command gets (global
 * flags, the channel to meshplane-server, the output format), calls with exit-code
 * mapping, and output helpers. Not a public header: only cli/ and its tests use it. */
#ifndef MESHCTL_CLI_H
#define MESHCTL_CLI_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "meshplane/base.h"
#include "meshplane/rpc.h"
#include "meshplane/v1/server.pb-c.h"

/* Exit codes scripts can rely on (also listed in `meshctl --help`). */
typedef enum mctl_exit {
  MCTL_EXIT_OK = 0,
  MCTL_EXIT_FAILURE = 1,     /* anything else: the message says what happened */
  MCTL_EXIT_USAGE = 2,       /* bad command line or input (the server's INVALID_ARGUMENT too) */
  MCTL_EXIT_NOT_FOUND = 3,   /* the named profile, result, adapter, schedule does not exist */
  MCTL_EXIT_UNREACHABLE = 4, /* meshplane-server cannot be reached (or is unavailable) */
  MCTL_EXIT_RUN_FAILED = 5,  /* a run ended other than COMPLETED (failed, partial, cancelled) */
  MCTL_EXIT_AUTH = 6,        /* the server refused the token or certificate */
  MCTL_EXIT_CHECK = 7,       /* a check you asked for failed: analyze found errors,
                                compare --fail-on-slower saw a slower percentile */
} mctl_exit;

typedef enum mctl_format { MCTL_TABLE = 0, MCTL_JSON, MCTL_YAML } mctl_format;

typedef struct mctl_ctx {
  /* Global flags (strings owned by the flag parser until mctl_ctx_free). */
  char *server, *token, *tls_ca, *output;
  bool tls;
  int64_t timeout_ns;
  mctl_format format;
  const char *cmd;     /* "perf apply": names the command in messages */
  const char *summary; /* one line, for --help */
  /* The parsed flag table (global + the command's), freed with the context. */
  mp_flag *flags;
  size_t nflags;
  mp_rpc_channel *ch; /* created on first use */
} mctl_ctx;

#define MCTL_API (&meshplane__v1__meshplane__descriptor)

/* Parses the command's flags plus the global ones from argv (argv[0] is skipped);
 * the parser's copies of strings and lists are freed by mctl_ctx_free, after the command
 * returned, so a command's flag targets must be static (reset at each call);
 * positional arguments end up in argv[0..*nargs). `file_output` means the command's own
 * flags define -o/--output (a file), so the global -o FORMAT is left out. Returns true to
 * go on (*exit_code is then 0); false with *exit_code set (0 after --help, 2 after a usage
 * error). */
bool mctl_parse(mctl_ctx *c, const char *usage, const char *epilog, const mp_flag *flags,
                size_t nflags, bool file_output, int argc, char **argv, int *nargs, int *exit_code);
/* Frees what mctl_parse and the channel hold. */
void mctl_ctx_free(mctl_ctx *c);

/* Prints "meshctl <cmd>: <message>" to stderr and returns code (for `return mctl_fail(...)`). */
int mctl_fail(mctl_ctx *c, int code, const char *fmt, ...) MP_PRINTF(3, 4);
/* The exit code for a gRPC status code. */
int mctl_exit_for_code(mp_rpc_code code);
/* Prints what went wrong with a call, with a hint at what to do, and returns the exit
 * code for it. what names the call ("create the profile"). */
int mctl_fail_rpc(mctl_ctx *c, const char *what, const mp_rpc_status *st);

/* Calls a unary Meshplane method with the --timeout deadline. On success returns 0 with
 * *resp set (the caller frees it with protobuf_c_message_free_unpacked); otherwise prints
 * the error (unless quiet) and returns its exit code with *resp NULL. st may be NULL. */
/* The channel to --server, made on first use (NULL with mp_error_last() on a bad address). */
mp_rpc_channel *mctl_channel(mctl_ctx *c);
int mctl_call(mctl_ctx *c, const char *method, const ProtobufCMessage *req, ProtobufCMessage **resp,
              const char *what);
int mctl_call_st(mctl_ctx *c, const char *method, const ProtobufCMessage *req,
                 ProtobufCMessage **resp, mp_rpc_status *st);
/* Opens a server stream with no deadline (timeout_ms 0) or the given one. Returns 0 or
 * the exit code after printing the error. */
int mctl_stream(mctl_ctx *c, const char *method, const ProtobufCMessage *req, int64_t timeout_ms,
                mp_rpc_stream **out, const char *what);

/* ---- lookups shared by commands ---------------------------------------------------- */

/* The profile named or with id `key` (heap; caller frees). 0 or an exit code (3 when it
 * does not exist, printed unless quiet). */
int mctl_get_profile(mctl_ctx *c, const char *key, bool quiet,
                     Meshplane__V1__PerformanceProfile **out);
/* Resolves a result id or a unique prefix of one (as the tables show) to the full id in
 * out[MP_UUID_STRLEN]. 0, 2 (ambiguous) or 3 (none), printed. */
int mctl_resolve_result(mctl_ctx *c, const char *key, char out[MP_UUID_STRLEN]);
/* The result with that id or prefix (heap; caller frees). */
int mctl_get_result(mctl_ctx *c, const char *key, Meshplane__V1__Result **out);

/* ---- output ------------------------------------------------------------------------- */

/* Prints a message as JSON (indented) or YAML to stdout, per c->format. */
void mctl_print_message(const mctl_ctx *c, const ProtobufCMessage *m);
/* Prints messages as a JSON array / YAML sequence under `key` of an object when key is
 * not NULL, as a bare array/sequence otherwise. */
void mctl_print_messages(const mctl_ctx *c, const char *key, const ProtobufCMessage *const *msgs,
                         size_t n);

/* Formatting into caller buffers (at least 64 bytes); each returns buf. */
const char *mctl_fmt_time(int64_t ms, char *buf, size_t n);     /* local "2006-01-02 15:04:05" */
const char *mctl_fmt_ago(int64_t ms, char *buf, size_t n);      /* "5m ago", "never" */
const char *mctl_fmt_us(double us, char *buf, size_t n);        /* "1.23ms" */
const char *mctl_fmt_qps(double qps, char *buf, size_t n);      /* "100", "max" */
const char *mctl_fmt_ms_dur(int64_t ms, char *buf, size_t n);   /* "30s", "1m30s" */
const char *mctl_short_id(const char *id, char *buf, size_t n); /* first 8 characters */
const char *mctl_enum_name(const ProtobufCEnumDescriptor *d, int v, const char *prefix);
const char *mctl_or_dash(const char *s); /* "-" for NULL or "" */

/* Reads a whole file ("-" = stdin) into *out (caller frees); 0 or an exit code, printed. */
int mctl_read_file(mctl_ctx *c, const char *path, char **out, size_t *len);

/* ---- commands (argv[0] is the command path; flags and arguments follow) --------------- */

int mctl_perf_apply(mctl_ctx *c, int argc, char **argv);
int mctl_perf_profile(mctl_ctx *c, int argc, char **argv);
int mctl_perf_delete(mctl_ctx *c, int argc, char **argv);
int mctl_perf_result(mctl_ctx *c, int argc, char **argv);
int mctl_perf_compare(mctl_ctx *c, int argc, char **argv);
int mctl_perf_export(mctl_ctx *c, int argc, char **argv);
int mctl_perf_report(mctl_ctx *c, int argc, char **argv);
int mctl_perf_schedule(mctl_ctx *c, int argc, char **argv);
int mctl_adapter_list(mctl_ctx *c, int argc, char **argv);
int mctl_adapter_ops(mctl_ctx *c, int argc, char **argv);
int mctl_adapter_apply(mctl_ctx *c, int argc, char **argv);
int mctl_events_watch(mctl_ctx *c, int argc, char **argv);
int mctl_analyze(mctl_ctx *c, int argc, char **argv);
int mctl_system_status(mctl_ctx *c, int argc, char **argv);
int mctl_version(mctl_ctx *c, int argc, char **argv);
int mctl_health(mctl_ctx *c, int argc, char **argv);

/* The command tree and dispatcher (main.c calls it; tests may too). */
int mctl_main(int argc, char **argv);

/* Shared by perf commands: prints results as the NAME | MESH | QPS ... table. */
void mctl_print_results_table(const Meshplane__V1__Result *const *rs, size_t n);
/* The detailed view of one result (summary, percentiles, return codes, workers). */
void mctl_print_result_view(const Meshplane__V1__Result *r);
/* The adapters table of adapter list and system status. */
void mctl_adapters_table(Meshplane__V1__Adapter *const *as, size_t n);

/* Interrupts (Ctrl-C) while a stream runs: the handler thread cancels the registered
 * stream. mctl_interrupt_watch(s) registers s (NULL to clear); mctl_interrupted() tells
 * whether Ctrl-C (or SIGTERM) came. */
void mctl_interrupt_init(void);
void mctl_interrupt_watch(mp_rpc_stream *s);
bool mctl_interrupted(void);

#endif
