/* See lgrun.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "lgrun.h"

mp_loadgen_run *lg_run_spec(const mp_loadgen_spec *s) {
  mp_loadgen_run *run = NULL;
  if (mp_loadgen_start(s, &run) != MP_OK) fail_msg("mp_loadgen_start: %s", mp_error_last());
  assert_int_equal(mp_loadgen_wait(run, 60 * MP_NS_PER_S), MP_OK);
  const mp_loadgen_result *r = mp_loadgen_result_get(run);
  assert_non_null(r);
  uint64_t sum = 0;
  for (size_t i = 0; i < r->n_endpoints; i++) sum += r->endpoints[i].stats.requests;
  assert_int_equal(sum, r->total.requests);
  assert_int_equal(mp_hdr_count(r->total.latency), r->total.requests);
  assert_int_equal(mp_hdr_count(r->total.uncorrected), r->total.requests);
  return run;
}

const char *lg_surl(const char *scheme, const char *host, int port, const char *path) {
  static char slots[8][160];
  static int next;
  char *s = slots[next++ % 8];
  snprintf(s, sizeof slots[0], "%s://%s:%d%s", scheme, host, port, path);
  return s;
}
