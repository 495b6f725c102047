/* Cron expressions: parse five fields and find the next firing time (UTC). */
#ifndef MP_SERVER_CRON_H
#define MP_SERVER_CRON_H

#include "meshplane/base.h"

typedef struct mp_cron {
  uint64_t minutes; /* bit n: minute n */
  uint32_t hours;
  uint32_t mdays;  /* bits 1..31 */
  uint16_t months; /* bits 1..12 */
  uint8_t wdays;   /* bits 0..6, Sunday = 0 */
  bool mday_star, wday_star;
} mp_cron;

/* MP_ERR_INVALID with a message naming the field and what to write instead. */
mp_status mp_cron_parse(const char *expr, mp_cron *out);
/* The first firing time strictly after after_ms (Unix ms); MP_ERR_NOT_FOUND if never. */
mp_status mp_cron_next(const mp_cron *c, int64_t after_ms, int64_t *next_ms);

#endif
