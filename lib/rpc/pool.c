/* The server's threads: one poller at a time on the notification queue, fast unary calls
 * run inline by it, everything else handed off.
 *
 * Every thread that waits inside gRPC takes part in gRPC's own poller hand-offs: the one
 * that wakes with a call passes epoll on to another waiter, which costs a futex wake-up per
 * call (half of all context switches in rpc_bench). So at most one thread waits in
 * grpc_completion_queue_next; the others park on park_cv. What the poller does with a call
 * depends on what the method's handler did before:
 *
 * - a unary handler that has always been quick (a moving average under FAST_NS, after
 *   LEARN_RUNS runs) runs inline: no other thread is woken, the reply and status leave in
 *   one write, and the thread polls again. Calls that arrive meanwhile wait in gRPC for
 *   the few microseconds it takes.
 * - anything else (streams, handlers that query a database, new methods) first hands the
 *   queue to a parked thread (or a new one, up to max_threads), then runs.
 *
 * A quick handler can still block (a lock, a slow disk). The watchdog notices when nobody
 * has polled for STALL_MS while calls run and hands the queue on, so the server never
 * stops accepting calls for longer than that. It ticks every TICK_MS while calls arrive and
 * parks after PARK_TICKS ticks without a new call, until the next call nudges it.
 *
 * Measured (rpc_bench against the previous pool, alternating, client and server on 2
 * cores): 16 asynchronous calls in flight 15.9-17.5k -> 24.0-24.9k calls/s (server CPU per
 * echo call ~61 -> ~42 us); 16 blocking client threads 14.4-16.2k -> 13.3-14.8k (the one
 * server thread now competes with 16 client threads for the cores).
 */
#include <errno.h>

#include "server.h"

#define IDLE_EXIT_MS 5000 /* a parked thread beyond min_threads exits after this */
#define FAST_NS (100 * MP_NS_PER_US)
#define LEARN_RUNS 8
#define STALL_MS 1
#define TICK_MS 1
#define PARK_TICKS 200

static void *pool_main(void *arg);

/* Starts one more thread. Under s->mu. */
static void spawn(mp_rpc_server *s) {
  pthread_t t;
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  s->threads++;
  if (pthread_create(&t, &attr, pool_main, s) != 0) {
    s->threads--;
    mp_warn("cannot start an rpc thread", "threads=%u", s->threads);
  }
  pthread_attr_destroy(&attr);
}

/* Gets another thread to poll the queue: a parked one, or a new one. Under s->mu. */
static void hand_off(mp_rpc_server *s) {
  if (s->parked > 0)
    pthread_cond_signal(&s->park_cv);
  else if (s->threads < s->opts.max_threads)
    spawn(s);
}

static bool runs_fast(const mp__method *m) {
  return m && m->unary && atomic_load_explicit(&m->runs, memory_order_relaxed) >= LEARN_RUNS &&
         atomic_load_explicit(&m->avg_ns, memory_order_relaxed) < FAST_NS;
}

static void learn(mp__method *m, int64_t ns) {
  if (!m) return;
  int64_t runs = atomic_fetch_add_explicit(&m->runs, 1, memory_order_relaxed);
  int64_t avg = atomic_load_explicit(&m->avg_ns, memory_order_relaxed);
  atomic_store_explicit(&m->avg_ns, runs == 0 ? ns : avg + (ns - avg) / 8, memory_order_relaxed);
}

/* A new call: hand the queue on unless it runs inline, then run it. */
static void run_call(mp_rpc_server *s, mp__slot *sl) {
  pthread_mutex_lock(&s->mu);
  s->active_calls++;
  if (!runs_fast(sl->method)) hand_off(s);
  bool rearm = !s->draining;
  if (s->watchdog_parked) {
    s->watchdog_parked = false;
    pthread_cond_signal(&s->watchdog_cv);
  }
  pthread_mutex_unlock(&s->mu);
  atomic_fetch_add_explicit(&s->calls_started, 1, memory_order_relaxed);
  /* Re-arm while this call is still alive: the server cannot finish shutting down (and
   * the queue cannot be shut down) before it ends. */
  if (rearm) mp__slot_arm(s, sl->method);
  int64_t t0 = mp_mono_ns();
  mp__call_run(s, sl);
  learn(sl->method, mp_mono_ns() - t0);
  grpc_call_unref(sl->call);
  sl->call = NULL;
  mp__slot_free(sl);
  pthread_mutex_lock(&s->mu);
  s->active_calls--;
  pthread_cond_broadcast(&s->cv);
  pthread_mutex_unlock(&s->mu);
}

/* Handles one event of the notification queue. Called without the lock. */
static void handle_event(mp_rpc_server *s, grpc_event ev) {
  if (ev.type != GRPC_OP_COMPLETE) return;
  if (ev.tag == &s->shutdown_tag) {
    pthread_mutex_lock(&s->mu);
    s->shutdown_done = true;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    return;
  }
  mp__slot *sl = ev.tag;
  if (!ev.success) { /* the server is shutting down: the slot is no longer armed */
    mp__slot_free(sl);
    return;
  }
  run_call(s, sl);
}

static void *pool_main(void *arg) {
  mp_rpc_server *s = arg;
  pthread_mutex_lock(&s->mu);
  for (;;) {
    if (s->cq_down) break;
    if (s->pollers > 0) {
      s->parked++;
      int rc = mp_cond_wait_until(&s->park_cv, &s->mu, mp_mono_ns() + IDLE_EXIT_MS * MP_NS_PER_MS);
      s->parked--;
      if (rc == ETIMEDOUT && s->pollers > 0 && s->threads > s->opts.min_threads) break;
      continue;
    }
    s->pollers++;
    s->poll_gap_since = 0;
    pthread_mutex_unlock(&s->mu);
    grpc_event ev = grpc_completion_queue_next(s->cq, gpr_inf_future(GPR_CLOCK_MONOTONIC), NULL);
    pthread_mutex_lock(&s->mu);
    if (--s->pollers == 0) s->poll_gap_since = mp_mono_ns();
    if (ev.type == GRPC_QUEUE_SHUTDOWN) {
      s->cq_down = true;
      pthread_cond_broadcast(&s->park_cv);
      break;
    }
    pthread_mutex_unlock(&s->mu);
    handle_event(s, ev);
    pthread_mutex_lock(&s->mu);
  }
  s->threads--;
  pthread_cond_broadcast(&s->cv);
  pthread_mutex_unlock(&s->mu);
  return NULL;
}

/* Hands the queue on when nobody has polled it for STALL_MS while calls run. */
static void *watchdog_main(void *arg) {
  mp_rpc_server *s = arg;
  uint64_t seen = 0;
  unsigned quiet = 0;
  pthread_mutex_lock(&s->mu);
  while (!s->cq_down) {
    int64_t now = mp_mono_ns();
    if (s->active_calls > 0 && s->pollers == 0 && s->poll_gap_since &&
        now - s->poll_gap_since >= STALL_MS * MP_NS_PER_MS) {
      mp_debug("a call blocks the rpc poller: another thread takes over", "calls=%u",
               s->active_calls);
      hand_off(s);
      s->poll_gap_since = now; /* give it time to arrive */
    }
    uint64_t started = atomic_load_explicit(&s->calls_started, memory_order_relaxed);
    /* Nothing to watch while nothing starts and someone polls (long streams run on
     * threads of their own). */
    quiet = started == seen && s->pollers > 0 ? quiet + 1 : 0;
    seen = started;
    if (quiet >= PARK_TICKS) {
      s->watchdog_parked = true;
      while (s->watchdog_parked && !s->cq_down) pthread_cond_wait(&s->watchdog_cv, &s->mu);
      quiet = 0;
      continue;
    }
    mp_cond_wait_until(&s->watchdog_cv, &s->mu, now + TICK_MS * MP_NS_PER_MS);
  }
  pthread_mutex_unlock(&s->mu);
  return NULL;
}

void mp__pool_start(mp_rpc_server *s) {
  mp_cond_init_mono(&s->park_cv);
  mp_cond_init_mono(&s->watchdog_cv);
  pthread_mutex_lock(&s->mu);
  for (unsigned i = 0; i < s->opts.min_threads; i++) spawn(s);
  pthread_mutex_unlock(&s->mu);
  s->watchdog_running = pthread_create(&s->watchdog, NULL, watchdog_main, s) == 0;
  if (!s->watchdog_running) mp_warn("cannot start the rpc watchdog thread", "");
}

void mp__pool_stop(mp_rpc_server *s) {
  pthread_mutex_lock(&s->mu);
  while (s->threads > 0) pthread_cond_wait(&s->cv, &s->mu);
  s->cq_down = true; /* also when no thread saw the queue end */
  pthread_cond_signal(&s->watchdog_cv);
  pthread_mutex_unlock(&s->mu);
  if (s->watchdog_running) pthread_join(s->watchdog, NULL);
  s->watchdog_running = false;
  pthread_cond_destroy(&s->park_cv);
  pthread_cond_destroy(&s->watchdog_cv);
}
