/* The test Echo service. */
#include <stdio.h>
#include <string.h>

#include "echo_service.h"

echo_stats echo_stats_g;

static void echo_say(Meshplane__Test__Echo_Service *svc, const Meshplane__Test__EchoRequest *in,
                     Meshplane__Test__EchoReply_Closure done, void *cd) {
  atomic_fetch_add(&echo_stats_g.active, 1);
  Meshplane__Test__EchoReply r = MESHPLANE__TEST__ECHO_REPLY__INIT;
  r.text = in->text;
  const char *x = mp_rpc_metadata(cd, "x-test");
  const char *auth = mp_rpc_metadata(cd, "authorization");
  char meta[512];
  snprintf(meta, sizeof meta, "x-test=%s;auth=%s", x ? x : "", auth ? auth : "");
  r.metadata = meta;
  r.blob = in->blob;
  done(&r, cd);
  atomic_fetch_sub(&echo_stats_g.active, 1);
  atomic_fetch_add(&echo_stats_g.finished, 1);
}

static void echo_count(Meshplane__Test__Echo_Service *svc, const Meshplane__Test__EchoRequest *in,
                       Meshplane__Test__EchoReply_Closure done, void *cd) {
  atomic_fetch_add(&echo_stats_g.active, 1);
  for (uint32_t i = 0; in->count == 0 || i < in->count; i++) {
    Meshplane__Test__EchoReply r = MESHPLANE__TEST__ECHO_REPLY__INIT;
    r.text = in->text;
    r.seq = i;
    if (!mp_rpc_send(cd, &r.base)) break;
    if (in->interval_ms > 0 && !mp_rpc_wait(cd, in->interval_ms)) break;
    if (mp_rpc_draining(cd) && in->count == 0) {
      mp_rpc_fail(cd, MP_RPC_UNAVAILABLE, "the server is shutting down");
      break;
    }
  }
  if (mp_rpc_cancelled(cd)) atomic_fetch_add(&echo_stats_g.cancels_seen, 1);
  atomic_fetch_sub(&echo_stats_g.active, 1);
  atomic_fetch_add(&echo_stats_g.finished, 1);
}

static void echo_fail(Meshplane__Test__Echo_Service *svc, const Meshplane__Test__EchoRequest *in,
                      Meshplane__Test__EchoReply_Closure done, void *cd) {
  mp_rpc_fail(cd, (mp_rpc_code)in->fail_code, "%s", in->text);
}

static void echo_sleep(Meshplane__Test__Echo_Service *svc, const Meshplane__Test__EchoRequest *in,
                       Meshplane__Test__EchoReply_Closure done, void *cd) {
  atomic_fetch_add(&echo_stats_g.active, 1);
  /* mp_rpc_wait also returns early when the server drains; keep sleeping then. */
  int64_t end = mp_mono_ns() + in->sleep_ms * MP_NS_PER_MS;
  bool alive = true;
  while (alive && mp_mono_ns() < end) {
    alive = mp_rpc_wait(cd, (end - mp_mono_ns()) / MP_NS_PER_MS + 1);
    if (alive && mp_rpc_draining(cd)) mp_sleep_ms(10);
  }
  if (!alive) {
    atomic_fetch_add(&echo_stats_g.cancels_seen, 1);
  } else {
    Meshplane__Test__EchoReply r = MESHPLANE__TEST__ECHO_REPLY__INIT;
    r.text = in->text;
    done(&r, cd);
  }
  atomic_fetch_sub(&echo_stats_g.active, 1);
  atomic_fetch_add(&echo_stats_g.finished, 1);
}

static Meshplane__Test__Echo_Service service = MESHPLANE__TEST__ECHO__INIT(echo_);

ProtobufCService *echo_service(void) { return &service.base; }
