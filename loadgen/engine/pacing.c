/* The constant-rate schedule. One global sequence of intended send times serves the whole
 * run: slot s is due at mp__slot_time(rate, ramp, s) after the start, and every thread of
 * every worker takes a fixed, interleaved subset of the slots, so the sum of their sends
 * is the requested rate however the load is split (wrk2 paces each connection instead). */
#include <math.h>

#include "internal.h"

int64_t mp__slot_time(double rate, int64_t ramp_ns, uint64_t s) {
  double ramp = (double)ramp_ns / 1e9, x = (double)s, t;
  /* During a linear ramp from 0 to rate over `ramp` seconds, the number of slots due by
   * time t is rate * t^2 / (2 * ramp); afterwards one every 1/rate seconds. */
  if (ramp > 0 && x < rate * ramp / 2)
    t = sqrt(2.0 * ramp * x / rate);
  else
    t = x / rate + (ramp > 0 ? ramp / 2 : 0);
  return (int64_t)llround(t * 1e9);
}

void mp__pacer_init(mp__pacer *p, double rate, int64_t ramp_ns, uint64_t stride, uint64_t offset) {
  p->rate = rate;
  p->ramp_ns = ramp_ns;
  p->stride = stride ? stride : 1;
  p->offset = offset;
  p->q = 0;
  p->next = rate > 0 ? mp__slot_time(rate, ramp_ns, offset) : 0;
}

void mp__pacer_advance(mp__pacer *p) {
  p->q++;
  p->next = mp__slot_time(p->rate, p->ramp_ns, p->offset + p->q * p->stride);
}
