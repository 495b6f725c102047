/* The HTTP/2 and gRPC protocols (loadgen/engine/proto_h2.c, proto_grpc.c) frame by frame:
 * each seed of the fuzz corpus (tests/fuzz/corpus/h2_response/, made by make_h2_seeds.py)
 * is what a server sends, and the outcomes the protocol reports for it are checked here -
 * RST_STREAM, REFUSED_STREAM, GOAWAY below requests in flight, malformed frames and
 * responses, an HTTP/1 answer to h2c, gRPC status from trailers, trailers-only responses,
 * the HTTP status mapping, broken message framing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "h2_drive.h"

enum { D = MP__RESP_DONE, E = MP__RESP_ERROR, R = MP__RESP_RETRY };

/* One expected outcome: kind, slot (-1: the connection; -2: any), status, a text the
 * error holds. */
typedef struct want {
  int kind, slot, status;
  const char *error;
} want;

typedef struct seed {
  const char *name;
  want w[6];
  int n;
} seed;

static const seed seeds[] = {
    {"h2_ok", {{D, 0, 200, NULL}}, 1},
    {"h2_ok_split", {{D, 0, 404, NULL}}, 1},
    {"h2_streams", {{D, 1, 200, NULL}, {D, 0, 503, NULL}, {D, 3, 200, NULL}, {D, 2, 204, NULL}}, 4},
    {"h2_rst", {{E, 0, 0, "the server reset the stream (INTERNAL_ERROR)"}, {D, 1, 200, NULL}}, 2},
    {"h2_refused", {{R, 0, 0, NULL}, {D, 1, 200, NULL}}, 2},
    {"h2_goaway", {{R, -2, 0, NULL}, {R, -2, 0, NULL}, {D, 0, 200, NULL}, {D, 1, 200, NULL}}, 4},
    {"h2_goaway_error", {{R, -2, 0, NULL}, {R, -2, 0, NULL}}, 2},
    {"h2_http1", {{E, -1, 0, "does not speak HTTP/2 with prior knowledge"}}, 1},
    {"h2_bad_settings", {{E, -1, 0, ""}}, 1},
    {"h2_length_mismatch", {{E, 0, 0, "invalid HTTP/2 response (stream error"}}, 1},
    {"h2_no_status", {{E, 0, 0, "invalid HTTP/2 response"}}, 1},
    {"h2_status_006", {{E, 0, 0, "invalid HTTP/2 response (:status 006)"}}, 1},
    {"h2_ping_window", {{D, 0, 200, NULL}}, 1},
    {"h2_max_streams_1", {{D, 0, 200, NULL}, {D, 1, 200, NULL}}, 2},
    {"grpc_ok", {{D, 0, 0, NULL}}, 1},
    {"grpc_status_5", {{D, 0, 5, NULL}, {D, 1, 0, NULL}}, 2},
    {"grpc_trailers_only", {{D, 0, 12, NULL}}, 1},
    {"grpc_http_503", {{D, 0, 14, NULL}}, 1},
    {"grpc_truncated", {{E, 0, 0, "the stream ended inside a gRPC message"}}, 1},
    {"grpc_not_grpc", {{E, 0, 0, "the response is not gRPC"}}, 1},
    {"grpc_compressed", {{E, 0, 0, "compressed gRPC message without a grpc-encoding"}}, 1},
    {"grpc_no_status", {{D, 0, 2, NULL}}, 1},
};

static uint8_t *read_seed(const char *name, size_t *len) {
  char path[512];
  snprintf(path, sizeof path, "%s/%s", LG_H2_CORPUS, name);
  FILE *f = fopen(path, "rb");
  if (!f) fail_msg("%s: cannot open (run tests/fuzz/make_h2_seeds.py)", path);
  static uint8_t buf[8192];
  *len = fread(buf, 1, sizeof buf, f);
  fclose(f);
  return buf;
}

static void test_seeds(void **state) {
  (void)state;
  for (size_t i = 0; i < MP_ARRAY_LEN(seeds); i++) {
    const seed *s = &seeds[i];
    size_t len;
    const uint8_t *data = read_seed(s->name, &len);
    h2_drive d;
    h2_drive_init(&d, data[0] & 1, 1 + ((data[0] >> 1) & 7));
    h2_drive_output(&d);
    size_t piece = (size_t)data[1] + 1;
    h2_outcome out[16];
    size_t n = 0;
    for (size_t pos = 2; pos < len && !d.failed; pos += piece) {
      size_t k = len - pos < piece ? len - pos : piece;
      n += h2_drive_feed(&d, data + pos, k, out + n, MP_ARRAY_LEN(out) - n);
    }
    if (n != (size_t)s->n) {
      for (size_t k = 0; k < n; k++)
        fprintf(stderr, "  %s: kind %d slot %d status %d \"%s\"\n", s->name, (int)out[k].kind,
                (int)out[k].slot, out[k].status, out[k].error);
      fail_msg("%s: %zu outcomes, want %d", s->name, n, s->n);
    }
    for (int k = 0; k < s->n; k++) {
      const want *w = &s->w[k];
      const h2_outcome *o = &out[k];
      int slot = o->slot == UINT32_MAX ? -1 : (int)o->slot;
      if ((int)o->kind != w->kind || (w->slot != -2 && slot != w->slot) ||
          (w->kind == D && o->status != w->status) || (w->error && !strstr(o->error, w->error)))
        fail_msg("%s outcome %d: kind %d slot %d status %d \"%s\"; want kind %d slot %d status "
                 "%d \"%s\"",
                 s->name, k, (int)o->kind, slot, o->status, o->error, w->kind, w->slot, w->status,
                 w->error ? w->error : "");
      if ((int)o->kind == D) {
        bool bad = d.ep.grpc ? o->status != 0 : o->status < 200 || o->status >= 400;
        assert_int_equal(o->bad, bad);
      }
    }
    h2_drive_eof(&d, out, 1);
    h2_drive_free(&d);
  }
}

/* GOAWAY stops new requests on the connection; SETTINGS lowers the stream limit. */
static void test_limits(void **state) {
  (void)state;
  size_t len;
  const uint8_t *data = read_seed("h2_goaway", &len);
  h2_drive d;
  h2_drive_init(&d, false, 4);
  h2_drive_output(&d);
  assert_int_equal(d.c.limit, 4);
  h2_outcome out[8];
  h2_drive_feed(&d, data + 2, len - 2, out, 8);
  assert_int_equal(d.c.limit, 0);
  assert_int_equal(d.c.active, 0);
  assert_int_equal(d.submitted, 4); /* nothing was started after the GOAWAY */
  h2_drive_free(&d);

  data = read_seed("h2_max_streams_1", &len);
  h2_drive_init(&d, false, 4);
  h2_drive_output(&d);
  h2_drive_feed(&d, data + 2, len - 2, out, 8);
  assert_int_equal(d.c.limit, 1);
  h2_drive_free(&d);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_seeds),
      cmocka_unit_test(test_limits),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
