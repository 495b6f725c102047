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

const char *lg_latency_off(const mp_hdr *h, int64_t delay_us, int64_t slack_us) {
  int64_t p50 = mp_hdr_value_at_percentile(h, 50), min = mp_hdr_min(h), bucket = delay_us;
  while (mp_hdr_values_equivalent(h, delay_us, bucket + 1)) bucket++;
  int64_t hi = bucket + 1 + slack_us;
  if (p50 >= delay_us && p50 <= hi && min >= delay_us - 10) return NULL;
  static char why[200];
  snprintf(why, sizeof why, "p50 %lld us, min %lld us; want p50 %lld..%lld, min >= %lld",
           (long long)p50, (long long)min, (long long)delay_us, (long long)hi,
           (long long)(delay_us - 10));
  return why;
}

const char *lg_surl(const char *scheme, const char *host, int port, const char *path) {
  static char slots[8][160];
  static int next;
  char *s = slots[next++ % 8];
  snprintf(s, sizeof slots[0], "%s://%s:%d%s", scheme, host, port, path);
  return s;
}
