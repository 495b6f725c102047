/* Fuzzes meshplane-sampleapp's request-head parser: any bytes in, no crash, and what it
 * returns stays inside the input. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sampleapp.h"

static void inside(const mp_sa_str *s, const char *buf, size_t len) {
  if (s->n && (s->p < buf || s->p + s->n > buf + len)) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *buf = (const char *)data;
  mp_sa_req req;
  long n = mp_sa_parse(buf, size, &req);
  if (n > (long)size) abort();
  if (n > 0) {
    inside(&req.method, buf, size);
    inside(&req.path, buf, size);
    inside(&req.query, buf, size);
    for (size_t i = 0; i < req.n_headers; i++) {
      inside(&req.names[i], buf, size);
      inside(&req.values[i], buf, size);
    }
    char v[32];
    mp_sa_query(&req, "delay", v, sizeof v);
    mp_sa_query(&req, "status", v, sizeof v);
    mp_sa_header(&req, "host");
  }
  return 0;
}
