/* Interoperability of lib/hdr with an independent implementation, hdr-histogram-js (the
 * TypeScript port of the Java reference), run under Node.js:
 *  (a) lib/hdr encodes, node decodes and reports; every figure must match ours;
 *  (b) node records (raw and corrected) and encodes, lib/hdr decodes; the figures must
 *      match node's and the counts must equal lib/hdr recording the same values.
 * The npm package is installed by the hdr_interop_npm ctest fixture (npm_install.sh).
 * Node missing is a failure, not a skip: scripts/deps.sh installs it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hdr_test_util.h"

#ifndef HDR_JS_DIR
#error "HDR_JS_DIR (npm prefix of hdr-histogram-js) must be defined"
#endif
#ifndef HDR_INTEROP_JS
#error "HDR_INTEROP_JS (path of interop.js) must be defined"
#endif

/* Runs node with the arguments (already shell-quoted) and returns its stdout. A file
 * named by `cleanup` (or NULL) is removed before any failure is reported. */
static char *run_node(const char *args, const char *cleanup) {
  const char *node = getenv("MESHPLANE_NODE");
  char *cmd = mp_asprintf("'%s' '%s' %s", node && *node ? node : "node", HDR_INTEROP_JS, args);
  FILE *p = popen(cmd, "r");
  if (!p) fail_msg("popen %s failed", cmd);
  mp_buf out = {0};
  char chunk[4096];
  size_t n;
  while ((n = fread(chunk, 1, sizeof chunk, p)) > 0) mp_buf_append(&out, chunk, n);
  int rc = pclose(p);
  if (cleanup) unlink(cleanup);
  if (rc != 0) {
    int code = WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
    fail_msg("`%s` exited with %d%s", cmd, code,
             code == 127 ? ": Node.js not found; scripts/deps.sh installs it" : "");
  }
  mp_free(cmd);
  if (!out.data) fail_msg("node printed nothing");
  return mp_buf_steal(&out);
}

/* What node reported about one histogram. */
struct report {
  char *b64;
  int64_t lowest, highest, sigfigs, count, min;
  double mean, stddev;
  int npct, nbuckets, nrows;
  struct {
    double p;
    int64_t v;
  } pct[32];
  int64_t (*buckets)[2]; /* lowest value, count */
  struct {
    int64_t value, total;
    double pct;
  } * rows;
};

static void parse_report(char *text, struct report *r) {
  memset(r, 0, sizeof *r);
  r->buckets = mp_calloc(30000, sizeof *r->buckets);
  r->rows = mp_calloc(4096, sizeof *r->rows);
  for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
    long long a, b, c;
    double d;
    if (strncmp(line, "b64 ", 4) == 0) {
      r->b64 = mp_strdup(line + 4);
    } else if (sscanf(line, "config %lld %lld %lld", &a, &b, &c) == 3) {
      r->lowest = a, r->highest = b, r->sigfigs = c;
    } else if (sscanf(line, "count %lld", &a) == 1) {
      r->count = a;
    } else if (sscanf(line, "min %lld", &a) == 1) {
      r->min = a;
    } else if (sscanf(line, "mean %lf", &d) == 1) {
      r->mean = d;
    } else if (sscanf(line, "stddev %lf", &d) == 1) {
      r->stddev = d;
    } else if (sscanf(line, "pct %lf %lld", &d, &a) == 2 && r->npct < 32) {
      r->pct[r->npct].p = d;
      r->pct[r->npct++].v = a;
    } else if (sscanf(line, "bucket %lld %lld", &a, &b) == 2 && r->nbuckets < 30000) {
      r->buckets[r->nbuckets][0] = a;
      r->buckets[r->nbuckets++][1] = b;
    } else if (sscanf(line, "row %lld %lf %lld", &a, &d, &b) == 3 && r->nrows < 4096) {
      r->rows[r->nrows].value = a;
      r->rows[r->nrows].pct = d;
      r->rows[r->nrows++].total = b;
    } else {
      fail_msg("unexpected line from node: %s", line);
    }
  }
}

static void free_report(struct report *r) {
  mp_free(r->b64);
  mp_free(r->buckets);
  mp_free(r->rows);
}

struct walk {
  const struct report *r;
  int i;
};

static bool check_bucket(const mp_hdr_bucket *b, void *arg) {
  struct walk *w = arg;
  if (w->i >= w->r->nbuckets) fail_msg("we have more buckets than node (%d)", w->r->nbuckets);
  ASSERT_I64(b->lowest, w->r->buckets[w->i][0]);
  ASSERT_I64(b->count, w->r->buckets[w->i][1]);
  w->i++;
  return true;
}

static void check_row(int64_t value, double pct, int64_t total, double inverted, void *arg) {
  (void)inverted;
  struct walk *w = arg;
  if (w->i >= w->r->nrows) fail_msg("we print more percentile rows than node (%d)", w->r->nrows);
  if (value != w->r->rows[w->i].value || total != w->r->rows[w->i].total ||
      fabs(pct - w->r->rows[w->i].pct) > 1e-11)
    fail_msg("percentile row %d: ours %lld %.12f %lld, node %lld %.12f %lld", w->i,
             (long long)value, pct, (long long)total, (long long)w->r->rows[w->i].value,
             w->r->rows[w->i].pct, (long long)w->r->rows[w->i].total);
  w->i++;
}

/* Every figure node reported must be ours too. */
static void compare(const mp_hdr *h, const struct report *r) {
  ASSERT_I64(r->lowest, mp_hdr_lowest(h));
  ASSERT_I64(r->highest, mp_hdr_highest(h));
  ASSERT_I64(r->sigfigs, mp_hdr_sigfigs(h));
  ASSERT_I64(r->count, mp_hdr_count(h));
  ASSERT_I64(r->min, mp_hdr_min(h));
  ASSERT_NEAR(mp_hdr_mean(h), r->mean, 1e-12);
  ASSERT_NEAR(mp_hdr_stddev(h), r->stddev, 1e-12);
  ASSERT_I64(r->npct, 14);
  for (int i = 0; i < r->npct; i++) {
    int64_t ours = mp_hdr_value_at_percentile(h, r->pct[i].p);
    if (ours != r->pct[i].v)
      fail_msg("p%g: ours %lld, node %lld", r->pct[i].p, (long long)ours, (long long)r->pct[i].v);
  }
  if (mp_hdr_count(h) > 0) ASSERT_I64(mp_hdr_max(h), r->pct[r->npct - 1].v);
  struct walk w = {r, 0};
  mp_hdr_foreach(h, check_bucket, &w);
  ASSERT_I64(w.i, r->nbuckets);
  struct walk rows = {r, 0};
  mp_hdr_percentiles(h, 5, check_row, &rows);
  ASSERT_I64(rows.i, r->nrows);
}

/* (a) lib/hdr encodes, hdr-histogram-js decodes. */
static void node_decodes(const mp_hdr *h) {
  char *b64;
  ASSERT_OK(mp_hdr_encode_base64(h, &b64));
  char path[] = "/tmp/mp_hdr_interop_XXXXXX";
  int fd = mkstemp(path);
  if (fd < 0) fail_msg("mkstemp failed");
  size_t len = strlen(b64);
  if (write(fd, b64, len) != (ssize_t)len) fail_msg("write %s failed", path);
  close(fd);
  char *args = mp_asprintf("decode '%s' '%s'", HDR_JS_DIR, path);
  char *out = run_node(args, path);
  struct report r;
  parse_report(out, &r);
  compare(h, &r);
  free_report(&r);
  mp_free(out);
  mp_free(args);
  mp_free(b64);
}

static void test_node_decodes_ours(void **state) {
  (void)state;
  mp_hdr *h = classic_corrected();
  node_decodes(h);
  mp_hdr_free(h);

  uint64_t seed = 2024;
  h = mp_hdr_new_latency(3);
  for (int i = 0; i < 200000; i++) mp_hdr_record_corrected(h, test_latency(&seed), 1000);
  node_decodes(h);
  mp_hdr_free(h);

  /* Other shapes: 5 digits; a unit above 1 (lowest 1000, 2 digits); empty. */
  ASSERT_OK(mp_hdr_new(1, MP_HDR_HIGHEST_US, 5, &h));
  for (int i = 0; i < 50000; i++) mp_hdr_record(h, test_latency(&seed));
  node_decodes(h);
  mp_hdr_free(h);
  ASSERT_OK(mp_hdr_new(1000, INT64_C(1000000000000), 2, &h));
  for (int i = 0; i < 50000; i++) mp_hdr_record(h, test_latency(&seed) * 1000);
  node_decodes(h);
  mp_hdr_reset(h);
  node_decodes(h);
  mp_hdr_free(h);
}

/* The generator of interop.js, in C. */
static int64_t next_value(uint32_t *x) {
  *x = *x * 1664525u + 1013904223u;
  return *x % 997 == 0 ? 1000000 + (int64_t)(*x % 3000000) : 1 + (int64_t)(*x % 20000);
}

/* (b) hdr-histogram-js records and encodes, lib/hdr decodes. */
static void test_we_decode_node(void **state) {
  (void)state;
  static const struct {
    uint32_t seed;
    int n;
    int64_t interval;
  } runs[] = {{1, 100000, 0}, {7, 100000, 10000}, {99, 20000, 250}};
  for (size_t i = 0; i < MP_ARRAY_LEN(runs); i++) {
    char *args = mp_asprintf("record '%s' %u %d %lld", HDR_JS_DIR, runs[i].seed, runs[i].n,
                             (long long)runs[i].interval);
    char *out = run_node(args, NULL);
    struct report r;
    parse_report(out, &r);
    if (!r.b64) fail_msg("node printed no encoding");
    mp_hdr *theirs;
    ASSERT_OK(mp_hdr_decode_base64(r.b64, strlen(r.b64), &theirs));
    compare(theirs, &r);

    mp_hdr *ours = mp_hdr_new_latency(3);
    uint32_t x = runs[i].seed;
    for (int k = 0; k < runs[i].n; k++)
      assert_true(mp_hdr_record_corrected(ours, next_value(&x), runs[i].interval));
    if (!mp_hdr_equal(ours, theirs))
      fail_msg("run %zu: node's counts differ from ours for the same values", i);
    compare(ours, &r);
    mp_hdr_free(ours);
    mp_hdr_free(theirs);
    free_report(&r);
    mp_free(out);
    mp_free(args);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_node_decodes_ours),
      cmocka_unit_test(test_we_decode_node),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
