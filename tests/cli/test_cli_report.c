/* The HTML report as a browser sees it: three synthetic results rendered by meshctl's
 * report writer, loaded in headless Chromium (offline, no network), and checked in the DOM
 * Chromium builds (the charts and one series per result) and in a screenshot (not blank,
 * several colours: the lines and bars were drawn). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "clitest.h"
#include "meshplane/report.h"
#include "report_html.h"

/* A result of latencies around centre µs with a tail, and rates over 10 intervals. */
static Meshplane__V1__Result *make(int k, int centre, mctl_report_series *s) {
  mp_hdr *h = mp_hdr_new_latency(0);
  for (int i = 0; i < 20000; i++) mp_hdr_record(h, centre + (i % 200) * centre / 200);
  for (int i = 0; i < 40; i++) mp_hdr_record(h, centre * (10 + i));
  Meshplane__V1__Result *r = mp_malloc(sizeof *r);
  meshplane__v1__result__init(r);
  r->id = mp_asprintf("%08d-0000-4000-8000-00000000000%d", k, k);
  r->profile_name = mp_asprintf("profile-%d", k);
  r->service_mesh = mp_strdup(k == 0 ? "none" : k == 1 ? "nginx" : "haproxy");
  r->status = MESHPLANE__V1__RUN_STATUS__RUN_STATUS_COMPLETED;
  r->start_time_ms = 1700000000000;
  r->actual_duration_ms = 10000;
  r->requests = 20040;
  r->actual_qps = 2004;
  r->latency = mp_malloc(sizeof *r->latency);
  mp_report_latency_fill(r->latency, h);
  int codes[3] = {200, 503, -1};
  uint64_t counts[3] = {20000, (uint64_t)(30 * k), (uint64_t)(10 * k)};
  r->ret_codes = mp_calloc(3, sizeof *r->ret_codes);
  for (int i = 0; i < 3; i++) {
    if (!counts[i]) continue;
    Meshplane__V1__RetCode *rc = mp_malloc(sizeof *rc);
    meshplane__v1__ret_code__init(rc);
    rc->code = codes[i];
    rc->count = counts[i];
    r->ret_codes[r->n_ret_codes++] = rc;
  }
  s->result = r;
  s->n = 10;
  s->t = mp_calloc(10, sizeof *s->t);
  s->rps = mp_calloc(10, sizeof *s->rps);
  for (int i = 0; i < 10; i++) {
    s->t[i] = i;
    s->rps[i] = 2000 + 100 * ((i + k) % 3) - 50 * k;
  }
  mp_hdr_free(h);
  return r;
}

static void test_report_renders(void **state) {
  if (!browser_path())
    fail_msg("chromium is not installed: run scripts/deps.sh (Debian package chromium)");
  mctl_report_series s[3] = {0};
  for (int k = 0; k < 3; k++) make(k, 800 + 400 * k, &s[k]);
  mp_buf html = {0};
  assert_int_equal(mctl_report_html(s, 3, NULL, "meshplane report test", &html), MP_OK);
  char dir[] = "/tmp/mctl-report-XXXXXX";
  assert_non_null(mkdtemp(dir));
  char *path = mp_asprintf("%s/report.html", dir), *png = mp_asprintf("%s/shot.png", dir);
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fwrite(html.data, 1, html.len, f);
  fclose(f);

  char *dom = browser_dump_dom(path);
  assert_non_null(dom);
  /* Chromium parsed the inline SVG into elements: the charts and their series exist. */
  assert_non_null(strstr(dom, "<svg id=\"chart-latency\""));
  assert_non_null(strstr(dom, "<svg id=\"chart-rps\""));
  assert_non_null(strstr(dom, "<svg id=\"chart-codes\""));
  assert_int_equal(cli_count(dom, "class=\"series\""), 6);
  for (int k = 0; k < 3; k++) {
    char want[96];
    snprintf(want, sizeof want, "data-result=\"%s\"", s[k].result->id);
    assert_true(cli_count(dom, want) >= 3); /* two lines and at least one bar */
  }
  assert_int_equal(cli_count(dom, "data-code=\"-1\""), 2);
  assert_non_null(strstr(dom, "99.9%"));
  mp_free(dom);

  assert_true(browser_screenshot(path, png, 1000, 1600));
  png_stats ps;
  assert_true(png_read_stats(png, &ps));
  assert_int_equal(ps.width, 1000);
  assert_int_equal(ps.height, 1600);
  /* Text, axes, three coloured lines and the bars: far from blank. */
  assert_true(ps.non_background > ps.pixels / 50);
  assert_true(ps.colors > 16);
  if (!getenv("MESHCTL_KEEP_REPORT")) {
    unlink(path);
    unlink(png);
    rmdir(dir);
  } else {
    fprintf(stderr, "kept %s and %s\n", path, png);
  }
  mp_free(path);
  mp_free(png);
  mp_buf_free(&html);
  for (int k = 0; k < 3; k++) {
    protobuf_c_message_free_unpacked((ProtobufCMessage *)&s[k].result->base, NULL);
    mp_free(s[k].t);
    mp_free(s[k].rps);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_report_renders)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
