/* server_bench: meshplane-server's latency targets, measured against a running stack
 * (tests/bench/server_bench.sh starts one: private PostgreSQL and NATS, the server, two
 * loadgen workers, the test adapter, an HTTP target).
 *
 *   server_bench profiles --server ADDR [--rate 1000] [-d 10s]
 *       GetProfile and CreateProfile at a fixed rate (open loop: latency from the intended
 *       send time), p50/p99/max of each. Target: p99 < 5 ms at 1k req/s.
 *   server_bench events --server ADDR --adapter MESH [--rate 5000] [-n 25000]
 *       the adapter emits stamped events at the rate; a WatchEvents client measures
 *       emit-to-delivery latency and counts what is lost. Target: p99 < 20 ms, 0 lost.
 *   server_bench runs --server ADDR --url URL [-n 5]
 *       RunProfile -> first request (the result's start time) and end of load -> the
 *       stored result arriving. Target: both < 200 ms.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "meshplane/hdr.h"
#include "meshplane/rpc.h"
#include "meshplane/v1/server.pb-c.h"

#define API (&meshplane__v1__meshplane__descriptor)

static char *server = "127.0.0.1:9600", *adapter = "testmesh", *url = "";
static double rate = 0;
static int64_t dur_ns = 10 * MP_NS_PER_S, count = 0;

static int64_t wall_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void print_hist(const char *what, const mp_hdr *h, const char *target) {
  printf("%-14s n=%-7lld p50=%.2fms p90=%.2fms p99=%.2fms max=%.2fms   (target: %s)\n", what,
         (long long)mp_hdr_count(h), mp_hdr_value_at_percentile(h, 50) / 1000.0,
         mp_hdr_value_at_percentile(h, 90) / 1000.0, mp_hdr_value_at_percentile(h, 99) / 1000.0,
         mp_hdr_max(h) / 1000.0, target);
}

/* ---- profiles: open-loop calls at a fixed rate ------------------------------------------ */

typedef struct caller {
  mp_rpc_channel *ch;
  int index, of;
  int64_t start, end, gap;
  bool create;
  char *profile_id;
  mp_hdr *h;
  int errors;
} caller;

static void *call_loop(void *arg) {
  caller *c = arg;
  char *eps[] = {"http://127.0.0.1:8080/"};
  for (int64_t k = c->index;; k += c->of) {
    int64_t due = c->start + k * c->gap;
    if (due >= c->end) break;
    int64_t now = mp_mono_ns();
    if (due > now) {
      struct timespec ts = {(due - now) / MP_NS_PER_S, (due - now) % MP_NS_PER_S};
      nanosleep(&ts, NULL);
    }
    ProtobufCMessage *resp = NULL;
    mp_rpc_status st;
    mp_rpc_call_opts o = {.timeout_ms = 10000};
    mp_rpc_code code;
    if (c->create) {
      char name[64];
      snprintf(name, sizeof name, "bench-%d-%lld-%lld", c->index, (long long)k, (long long)due);
      Meshplane__V1__PerformanceProfile p = MESHPLANE__V1__PERFORMANCE_PROFILE__INIT;
      p.name = name;
      p.endpoints = eps;
      p.n_endpoints = 1;
      p.concurrent_request = 1;
      p.duration = "1s";
      Meshplane__V1__CreateProfileRequest req = MESHPLANE__V1__CREATE_PROFILE_REQUEST__INIT;
      req.profile = &p;
      code = mp_rpc_unary(c->ch, API, "CreateProfile", &req.base, &resp, &o, &st);
    } else {
      Meshplane__V1__GetProfileRequest req = MESHPLANE__V1__GET_PROFILE_REQUEST__INIT;
      req.id = c->profile_id;
      code = mp_rpc_unary(c->ch, API, "GetProfile", &req.base, &resp, &o, &st);
    }
    if (code == MP_RPC_OK) mp_hdr_record(c->h, (mp_mono_ns() - due) / 1000);
    else c->errors++;
    if (resp) protobuf_c_message_free_unpacked(resp, NULL);
  }
  return NULL;
}

static int bench_profiles(mp_rpc_channel *ch) {
  if (rate <= 0) rate = 1000;
  /* One profile to read. */
  char *eps[] = {"http://127.0.0.1:8080/"};
  char name[64];
  snprintf(name, sizeof name, "bench-read-%lld", (long long)mp_now_ms());
  Meshplane__V1__PerformanceProfile p = MESHPLANE__V1__PERFORMANCE_PROFILE__INIT;
  p.name = name;
  p.endpoints = eps;
  p.n_endpoints = 1;
  p.concurrent_request = 1;
  p.duration = "1s";
  Meshplane__V1__CreateProfileRequest req = MESHPLANE__V1__CREATE_PROFILE_REQUEST__INIT;
  req.profile = &p;
  ProtobufCMessage *resp;
  mp_rpc_status st;
  if (mp_rpc_unary(ch, API, "CreateProfile", &req.base, &resp, NULL, &st) != MP_RPC_OK) {
    fprintf(stderr, "server_bench: %s\n", st.message);
    return 1;
  }
  char *id = mp_strdup(((Meshplane__V1__PerformanceProfile *)resp)->id);
  protobuf_c_message_free_unpacked(resp, NULL);
  for (int create = 0; create < 2; create++) {
    enum { N = 32 }; /* enough callers that one slow call does not delay the next */
    caller c[N];
    pthread_t t[N];
    int64_t start = mp_mono_ns() + 100 * MP_NS_PER_MS;
    for (int i = 0; i < N; i++) {
      c[i] = (caller){ch, i, N, start, start + dur_ns, (int64_t)(MP_NS_PER_S / rate), create != 0,
                      id, mp_hdr_new_latency(3), 0};
      pthread_create(&t[i], NULL, call_loop, &c[i]);
    }
    mp_hdr *all = mp_hdr_new_latency(3);
    int errors = 0;
    for (int i = 0; i < N; i++) {
      pthread_join(t[i], NULL);
      mp_hdr_add(all, c[i].h);
      errors += c[i].errors;
      mp_hdr_free(c[i].h);
    }
    char what[64];
    snprintf(what, sizeof what, "%s", create ? "CreateProfile" : "GetProfile");
    print_hist(what, all, "p99 < 5 ms at 1k/s");
    printf("               rate=%.0f/s errors=%d\n", rate, errors);
    mp_hdr_free(all);
  }
  mp_free(id);
  return 0;
}

/* ---- events ---------------------------------------------------------------------------------- */

static int bench_events(mp_rpc_channel *ch) {
  if (rate <= 0) rate = 5000;
  if (count <= 0) count = (int64_t)(rate * 5);
  Meshplane__V1__WatchEventsRequest wr = MESHPLANE__V1__WATCH_EVENTS_REQUEST__INIT;
  mp_rpc_stream *s;
  mp_rpc_status st;
  if (mp_rpc_stream_open(ch, API, "WatchEvents", &wr.base, NULL, &s, &st) != MP_RPC_OK) return 1;
  mp_sleep_ms(500); /* the watch subscribes */
  Meshplane__V1__ApplyOperationRequest ar = MESHPLANE__V1__APPLY_OPERATION_REQUEST__INIT;
  char body[64];
  snprintf(body, sizeof body, "%lld %.0f", (long long)count, rate);
  ar.adapter = adapter;
  ar.op_name = "burst";
  ar.custom_body = body;
  ProtobufCMessage *resp;
  if (mp_rpc_unary(ch, API, "ApplyOperation", &ar.base, &resp, NULL, &st) != MP_RPC_OK) {
    fprintf(stderr, "server_bench: ApplyOperation: %s\n", st.message);
    return 1;
  }
  char *op = mp_strdup(((Meshplane__V1__Operation *)resp)->id);
  protobuf_c_message_free_unpacked(resp, NULL);
  mp_hdr *h = mp_hdr_new_latency(3);
  int64_t got = 0, last_id = 0, out_of_order = 0;
  int64_t deadline = mp_mono_ns() + (int64_t)((double)count / rate * 1e9) + 30 * MP_NS_PER_S;
  ProtobufCMessage *m;
  while (got < count && mp_mono_ns() < deadline && mp_rpc_stream_next(s, &m, &st)) {
    Meshplane__V1__Event *e = (Meshplane__V1__Event *)m;
    if (!strcmp(e->operation_id, op)) {
      mp_hdr_record(h, wall_us() - atoll(e->details));
      if (e->id <= last_id) out_of_order++;
      last_id = e->id;
      got++;
    }
    protobuf_c_message_free_unpacked(m, NULL);
  }
  mp_rpc_stream_free(s);
  print_hist("event latency", h, "p99 < 20 ms at 5k/s, 0 lost");
  printf("               rate=%.0f/s sent=%lld received=%lld lost=%lld out-of-order=%lld\n", rate,
         (long long)count, (long long)got, (long long)(count - got), (long long)out_of_order);
  mp_hdr_free(h);
  mp_free(op);
  return got == count ? 0 : 1;
}

/* ---- run overhead ---------------------------------------------------------------------------- */

static int bench_runs(mp_rpc_channel *ch) {
  if (count <= 0) count = 5;
  char *eps[] = {url};
  char name[64];
  snprintf(name, sizeof name, "bench-run-%lld", (long long)mp_now_ms());
  Meshplane__V1__PerformanceProfile p = MESHPLANE__V1__PERFORMANCE_PROFILE__INIT;
  p.name = name;
  p.endpoints = eps;
  p.n_endpoints = 1;
  p.concurrent_request = 2;
  p.qps = 200;
  p.duration = "1s";
  Meshplane__V1__CreateProfileRequest req = MESHPLANE__V1__CREATE_PROFILE_REQUEST__INIT;
  req.profile = &p;
  ProtobufCMessage *resp;
  mp_rpc_status st;
  if (mp_rpc_unary(ch, API, "CreateProfile", &req.base, &resp, NULL, &st) != MP_RPC_OK) {
    fprintf(stderr, "server_bench: %s\n", st.message);
    return 1;
  }
  char *id = mp_strdup(((Meshplane__V1__PerformanceProfile *)resp)->id);
  protobuf_c_message_free_unpacked(resp, NULL);
  mp_hdr *start = mp_hdr_new_latency(3), *end = mp_hdr_new_latency(3);
  for (int64_t i = 0; i < count; i++) {
    Meshplane__V1__RunProfileRequest rr = MESHPLANE__V1__RUN_PROFILE_REQUEST__INIT;
    rr.profile_id = id;
    int64_t t0 = wall_us();
    mp_rpc_stream *s;
    if (mp_rpc_stream_open(ch, API, "RunProfile", &rr.base, NULL, &s, &st) != MP_RPC_OK) return 1;
    ProtobufCMessage *m;
    while (mp_rpc_stream_next(s, &m, &st)) {
      Meshplane__V1__RunUpdate *u = (Meshplane__V1__RunUpdate *)m;
      if (u->update_case == MESHPLANE__V1__RUN_UPDATE__UPDATE_RESULT) {
        int64_t now = wall_us();
        int64_t first = u->result->start_time_ms * 1000;
        mp_hdr_record(start, first - t0 > 0 ? first - t0 : 0);
        int64_t load_end = first + u->result->actual_duration_ms * 1000;
        mp_hdr_record(end, now - load_end > 0 ? now - load_end : 0);
      }
      protobuf_c_message_free_unpacked(m, NULL);
    }
    mp_rpc_stream_free(s);
  }
  print_hist("run -> load", start, "< 200 ms");
  print_hist("load -> result", end, "< 200 ms");
  mp_hdr_free(start);
  mp_hdr_free(end);
  mp_free(id);
  return 0;
}

int main(int argc, char **argv) {
  const mp_flag flags[] = {
      {"server", 's', MP_FLAG_STRING, &server, NULL, "meshplane-server address", "ADDR"},
      {"adapter", 0, MP_FLAG_STRING, &adapter, NULL, "events: the test adapter's mesh", "MESH"},
      {"url", 0, MP_FLAG_STRING, &url, NULL, "runs: the HTTP target", "URL"},
      {"rate", 'r', MP_FLAG_DOUBLE, &rate, NULL, "calls or events per second", "N"},
      {"duration", 'd', MP_FLAG_DURATION, &dur_ns, NULL, "profiles: how long", "DUR"},
      {"count", 'n', MP_FLAG_INT, &count, NULL, "events or runs", "N"},
  };
  static const mp_program prog = {"server_bench", "meshplane-server latency benchmarks",
                                  "profiles|events|runs [flags]", NULL};
  int nargs;
  int rc = mp_flags_parse(&prog, flags, MP_ARRAY_LEN(flags), argc, argv, &nargs);
  if (rc != 0 || nargs != 1) {
    if (rc == 0) fprintf(stderr, "server_bench: say profiles, events or runs\n");
    mp_flags_free(flags, MP_ARRAY_LEN(flags));
    return rc > 0 ? 0 : 2;
  }
  mp_rpc_channel *ch;
  mp_rpc_channel_new(server, NULL, &ch);
  mp_rpc_channel_wait_ready(ch, 5000);
  if (!strcmp(argv[0], "profiles")) rc = bench_profiles(ch);
  else if (!strcmp(argv[0], "events")) rc = bench_events(ch);
  else if (!strcmp(argv[0], "runs")) rc = bench_runs(ch);
  else rc = 2;
  mp_rpc_channel_free(ch);
  mp_flags_free(flags, MP_ARRAY_LEN(flags));
  return rc;
}
