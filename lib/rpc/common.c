/* Library init, status names and message (un)packing shared by server and client. */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <grpc/support/log.h>

#include "internal.h"

void mp__rpc_client_shutdown(void);

static pthread_mutex_t init_mu = PTHREAD_MUTEX_INITIALIZER;
static int init_count;

/* gRPC core's own log lines go through our logger. Its errors are mostly conditions we
 * report ourselves with more context (a port in use, a peer gone), so they are logged at
 * debug level; set --log-level debug to see them. */
static void grpc_log(gpr_log_func_args *a) {
  mp_debug("grpc", "file=%s:%d detail=\"%s\"", a->file, a->line, a->message);
}

/* A C++ setter by its mangled name (looked up at run time, so another build of the library
 * just lacks it), or NULL when it is missing or the environment variable keep_env is set to
 * anything but "0" (leave the library's default alone). */
static void *cpp_setter(const char *keep_env, const char *symbol) {
  const char *keep = getenv(keep_env);
  if (keep && *keep && strcmp(keep, "0") != 0) return NULL;
  return dlsym(RTLD_DEFAULT, symbol);
}

/* Debian builds abseil without NDEBUG, so every absl::Mutex lock taken inside gRPC also
 * updates a process-wide lock-order graph under one global spinlock (deadlock detection,
 * a debugging aid that release builds of abseil leave out). Switch it off before gRPC
 * takes its first lock. The setter is C++, reached by its mangled name for this abseil
 * (Debian 12, "debian3" inline namespace); with another abseil it is simply not found
 * and nothing changes. MESHPLANE_ABSL_DEADLOCK_DETECTION=1 leaves it on. */
static void absl_deadlock_detection_off(void) {
  void *sym = cpp_setter("MESHPLANE_ABSL_DEADLOCK_DETECTION",
                         "_ZN4absl7debian329SetMutexDeadlockDetectionModeENS0_15OnDeadlockCycleE");
  if (!sym) return;
  void (*set_mode)(int); /* absl::OnDeadlockCycle: an int enum, kIgnore = 0 */
  memcpy(&set_mode, &sym, sizeof set_mode);
  set_mode(0);
}

/* gRPC core hands part of its transport work to a pool of "default executor" threads: a
 * thread whose own completion is ready gives the rest of its combiner's queue to the
 * executor, which costs a thread wake-up and a hand-off per batch of work (a quarter of
 * all CPU samples in rpc_bench, mostly futex and scheduling). With the executor off the
 * thread finishes that work itself (gRPC's documented non-threaded mode, used by its own
 * fuzzers; DNS resolution has a separate executor that stays threaded). Measured: stream
 * messages/s +25 % at 16 callers, unary calls unchanged. The setter is C++ (mangled name,
 * gRPC 1.51); with another gRPC it is not found and nothing changes.
 * MESHPLANE_GRPC_EXECUTOR=1 keeps the executor. Called after every grpc_init, which starts
 * it again. */
static void grpc_executor_off(void) {
  void *sym =
      cpp_setter("MESHPLANE_GRPC_EXECUTOR", "_ZN9grpc_core8Executor19SetThreadingDefaultEb");
  if (!sym) return;
  void (*set_threading)(bool);
  memcpy(&set_threading, &sym, sizeof set_threading);
  set_threading(false);
}

void mp_rpc_init(void) {
  static pthread_once_t absl_once = PTHREAD_ONCE_INIT;
  pthread_mutex_lock(&init_mu);
  if (init_count == 0) gpr_set_log_function(grpc_log);
  if (init_count++ == 0) {
    pthread_once(&absl_once, absl_deadlock_detection_off);
    grpc_init();
    grpc_executor_off();
  }
  pthread_mutex_unlock(&init_mu);
}

void mp_rpc_shutdown(void) {
  pthread_mutex_lock(&init_mu);
  if (init_count > 0 && --init_count == 0) {
    mp__rpc_client_shutdown();
    grpc_shutdown();
  }
  pthread_mutex_unlock(&init_mu);
}

const char *mp_rpc_code_name(mp_rpc_code code) {
  const char *name = mp_grpc_code_name((int)code);
  return name ? name : "UNKNOWN";
}

gpr_timespec mp__rpc_deadline_in(int64_t ms) {
  if (ms < 0) return gpr_inf_future(GPR_CLOCK_MONOTONIC);
  return gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC), gpr_time_from_millis(ms, GPR_TIMESPAN));
}

grpc_byte_buffer *mp__rpc_pack(const ProtobufCMessage *msg) {
  size_t len = protobuf_c_message_get_packed_size(msg);
  grpc_slice slice = grpc_slice_malloc(len);
  protobuf_c_message_pack(msg, GRPC_SLICE_START_PTR(slice));
  grpc_byte_buffer *bb = grpc_raw_byte_buffer_create(&slice, 1);
  grpc_slice_unref(slice);
  return bb;
}

ProtobufCMessage *mp__rpc_unpack(const ProtobufCMessageDescriptor *desc, grpc_byte_buffer *bb) {
  grpc_byte_buffer_reader reader;
  if (!grpc_byte_buffer_reader_init(&reader, bb)) return NULL;
  grpc_slice all = grpc_byte_buffer_reader_readall(&reader);
  grpc_byte_buffer_reader_destroy(&reader);
  ProtobufCMessage *m =
      protobuf_c_message_unpack(desc, NULL, GRPC_SLICE_LENGTH(all), GRPC_SLICE_START_PTR(all));
  grpc_slice_unref(all);
  return m;
}

char *mp__rpc_read_file(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    mp_error_set(MP_ERR_IO, "cannot read %s: %s", path, strerror(errno));
    return NULL;
  }
  mp_buf b = {0};
  char chunk[4096];
  size_t n;
  while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) mp_buf_append(&b, chunk, n);
  fclose(f);
  return mp_buf_steal(&b);
}

char *mp__rpc_path(const char *service, const char *method) {
  return mp_asprintf("/%s/%s", service, method);
}

void mp__rpc_slice_copy(grpc_slice s, char *dst, size_t n) {
  size_t len = GRPC_SLICE_LENGTH(s);
  if (len >= n) len = n - 1;
  memcpy(dst, GRPC_SLICE_START_PTR(s), len);
  dst[len] = '\0';
}

bool mp__rpc_secure_equal(const char *a, const char *b) {
  size_t la = strlen(a), lb = strlen(b);
  unsigned char diff = (unsigned char)(la != lb);
  for (size_t i = 0; i < la; i++) diff |= (unsigned char)(a[i] ^ b[i % (lb ? lb : 1)]);
  return diff == 0;
}
