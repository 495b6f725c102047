/* Fuzzes the adapter SDK's YAML reading: any bytes in, no crash, no leak, and what
 * mp__yaml_split_lists writes must parse again (the analyzer reads it). */
#include <stdint.h>
#include <stdlib.h>

#include "internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *s = (const char *)data;
  mp__ysum sum;
  if (mp__yaml_summary(s, size, true, &sum) == MP_OK) {
    mp_buf b = {0};
    mp__ysum_describe(&sum, 8, &b);
    mp_buf_free(&b);
    mp__ysum_free(&sum);
  }
  if (mp__yaml_summary(s, size, false, &sum) == MP_OK) mp__ysum_free(&sum);
  mp_buf out = {0};
  if (mp__yaml_split_lists(s, size, &out) == MP_OK && out.len) {
    if (mp__yaml_summary(out.data, out.len, false, &sum) != MP_OK) abort();
    mp__ysum_free(&sum);
  }
  mp_buf_free(&out);
  mp_buf plain = {0}, own = {0};
  if (mp__yaml_split_ns(s, size, &plain, &own) == MP_OK) {
    if (plain.len && mp__yaml_summary(plain.data, plain.len, false, &sum) == MP_OK)
      mp__ysum_free(&sum);
    if (own.len && mp__yaml_summary(own.data, own.len, false, &sum) == MP_OK) mp__ysum_free(&sum);
  }
  mp_buf_free(&plain);
  mp_buf_free(&own);
  return 0;
}
