/* Helpers for the tests that run the engine in-process (mp_loadgen): run a spec and check
 * what every result must satisfy, URLs, and a range assertion. cmocka's fail_msg reports
 * failures, so include this after <cmocka.h>. */
#ifndef MESHPLANE_TESTS_LGRUN_H
#define MESHPLANE_TESTS_LGRUN_H

#include "meshplane/loadgen.h"

/* Fails the test unless lo <= v <= hi, printing all three. */
#define ASSERT_BETWEEN(v, lo, hi)                                                                  \
  do {                                                                                             \
    double v_ = (double)(v), lo_ = (double)(lo), hi_ = (double)(hi);                               \
    if (v_ < lo_ || v_ > hi_) fail_msg("%s = %g, want %g..%g", #v, v_, lo_, hi_);                  \
  } while (0)

/* Runs a spec to its end (at most 60 s) and checks the invariants of every result: the
 * total is the sum of the endpoints, the histograms hold exactly the counted responses.
 * The run is the caller's (mp_loadgen_free). */
mp_loadgen_run *lg_run_spec(const mp_loadgen_spec *s);

/* NULL when the latency histogram h (us) says every response took delay_us: its median
 * from delay_us to one histogram bucket + slack_us above it, its minimum at least
 * delay_us - 10. Otherwise what it says instead (a static buffer). */
const char *lg_latency_off(const mp_hdr *h, int64_t delay_us, int64_t slack_us);

/* "<scheme>://<host>:<port><path>" in a static buffer of 8 rotating slots. */
const char *lg_surl(const char *scheme, const char *host, int port, const char *path);

#endif
