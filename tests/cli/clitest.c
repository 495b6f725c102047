/* meshctl test helpers (see clitest.h). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include "clitest.h"

static void slurp(const char *path, mp_buf *b) {
  FILE *f = fopen(path, "rb");
  if (!f) return;
  char chunk[8192];
  size_t n;
  while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) mp_buf_append(b, chunk, n);
  fclose(f);
  mp_buf_append(b, "", 0);
}

/* Runs argv with stdout/stderr into files; returns the exit status (128+sig, -1 on timeout). */
static int run_argv(char *const *argv, const char *out_path, const char *err_path, int timeout_s) {
  pid_t pid = fork();
  if (pid < 0) {
    perror("fork");
    abort();
  }
  if (pid == 0) {
    int in = open("/dev/null", O_RDONLY);
    int o = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    int e = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (in < 0 || o < 0 || e < 0) _exit(127);
    dup2(in, 0);
    dup2(o, 1);
    dup2(e, 2);
    setpgid(0, 0);
    execvp(argv[0], argv);
    _exit(127);
  }
  int64_t end = mp_mono_ns() + (int64_t)timeout_s * MP_NS_PER_S;
  int status = 0;
  for (;;) {
    pid_t w = waitpid(pid, &status, WNOHANG);
    if (w == pid) break;
    if (mp_mono_ns() > end) {
      kill(-pid, SIGKILL);
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      return -1;
    }
    mp_sleep_ms(20);
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

void cli_run(cli_result *r, int timeout_s, const char *bin, ...) {
  memset(r, 0, sizeof *r);
  char *argv[64];
  int n = 0;
  argv[n++] = (char *)bin;
  va_list ap;
  va_start(ap, bin);
  for (const char *a; (a = va_arg(ap, const char *)) && n < 63;) argv[n++] = (char *)a;
  va_end(ap);
  argv[n] = NULL;
  char out[] = "/tmp/mctl-out-XXXXXX", err[] = "/tmp/mctl-err-XXXXXX";
  int fo = mkstemp(out), fe = mkstemp(err);
  if (fo < 0 || fe < 0) abort();
  close(fo);
  close(fe);
  r->rc = run_argv(argv, out, err, timeout_s);
  slurp(out, &r->out);
  slurp(err, &r->err);
  mp_buf_append(&r->out, "", 0);
  mp_buf_append(&r->err, "", 0);
  unlink(out);
  unlink(err);
  if (getenv("MESHCTL_TEST_VERBOSE") || r->rc < 0) {
    fprintf(stderr, "$");
    for (int i = 0; i < n; i++) fprintf(stderr, " %s", argv[i]);
    fprintf(stderr, "   -> %d%s\n%s%s", r->rc, r->rc < 0 ? " (timed out)" : "",
            r->out.data ? r->out.data : "", r->err.data ? r->err.data : "");
  }
}

void cli_result_free(cli_result *r) {
  mp_buf_free(&r->out);
  mp_buf_free(&r->err);
}

int cli_count(const char *hay, const char *needle) {
  int n = 0;
  size_t nl = strlen(needle);
  for (const char *p = hay; p && nl && (p = strstr(p, needle)); p += nl) n++;
  return n;
}

/* ---- headless Chromium ------------------------------------------------------------------ */

const char *browser_path(void) {
  static const char *const candidates[] = {"/usr/bin/chromium", "/usr/bin/chromium-browser",
                                           "/usr/bin/google-chrome"};
  for (size_t i = 0; i < MP_ARRAY_LEN(candidates); i++)
    if (access(candidates[i], X_OK) == 0) return candidates[i];
  return NULL;
}

/* Runs chromium with the flags that keep it offline and quiet, plus extra. */
static int chromium(const char *html_path, const char *extra1, const char *extra2,
                    const char *out_path) {
  const char *bin = browser_path();
  if (!bin) return -1;
  char ud[] = "/tmp/mctl-chromium-XXXXXX";
  if (!mkdtemp(ud)) return -1;
  char *ud_flag = mp_asprintf("--user-data-dir=%s", ud);
  char *url = mp_asprintf("file://%s", html_path);
  const char *fixed[] = {bin,
                         "--headless",
                         "--no-sandbox",
                         "--disable-gpu",
                         "--disable-quic",
                         "--no-first-run",
                         "--disable-background-networking",
                         "--disable-component-update",
                         "--disable-sync",
                         "--hide-scrollbars",
                         ud_flag};
  char *argv[MP_ARRAY_LEN(fixed) + 4];
  int n = 0;
  for (size_t i = 0; i < MP_ARRAY_LEN(fixed); i++) argv[n++] = (char *)fixed[i];
  if (extra1) argv[n++] = (char *)extra1;
  if (extra2) argv[n++] = (char *)extra2;
  argv[n++] = url;
  argv[n] = NULL;
  char err[] = "/tmp/mctl-chromium-err-XXXXXX";
  int fe = mkstemp(err);
  if (fe >= 0) close(fe);
  int rc = run_argv(argv, out_path, err, 90);
  if (rc != 0) {
    mp_buf b = {0};
    slurp(err, &b);
    fprintf(stderr, "chromium exited %d:\n%s\n", rc, b.data ? b.data : "");
    mp_buf_free(&b);
  }
  unlink(err);
  char *rm = mp_asprintf("rm -rf '%s'", ud);
  if (system(rm) != 0) fprintf(stderr, "could not remove %s\n", ud);
  mp_free(rm);
  mp_free(url);
  mp_free(ud_flag);
  return rc;
}

char *browser_dump_dom(const char *html_path) {
  char out[] = "/tmp/mctl-dom-XXXXXX";
  int fd = mkstemp(out);
  if (fd < 0) return NULL;
  close(fd);
  int rc = chromium(html_path, "--dump-dom", NULL, out);
  mp_buf b = {0};
  if (rc == 0) slurp(out, &b);
  unlink(out);
  return rc == 0 ? mp_buf_steal(&b) : NULL;
}

bool browser_screenshot(const char *html_path, const char *png_path, int width, int height) {
  char *shot = mp_asprintf("--screenshot=%s", png_path);
  char *size = mp_asprintf("--window-size=%d,%d", width, height);
  unlink(png_path);
  int rc = chromium(html_path, shot, size, "/dev/null");
  mp_free(shot);
  mp_free(size);
  struct stat st;
  return rc == 0 && stat(png_path, &st) == 0 && st.st_size > 0;
}

/* ---- PNG ------------------------------------------------------------------------------------ */

static uint32_t be32(const uint8_t *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int paeth(int a, int b, int c) {
  int p = a + b - c, pa = abs(p - a), pb = abs(p - b), pc = abs(p - c);
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

bool png_read_stats(const char *path, png_stats *st) {
  memset(st, 0, sizeof *st);
  mp_buf f = {0};
  slurp(path, &f);
  const uint8_t *d = (const uint8_t *)f.data;
  bool ok = false;
  mp_buf idat = {0};
  int ctype = -1, depth = 0, interlace = 1;
  if (f.len < 8 || memcmp(d, "\x89PNG\r\n\x1a\n", 8)) goto out;
  for (size_t pos = 8; pos + 12 <= f.len;) {
    uint32_t len = be32(d + pos);
    const uint8_t *type = d + pos + 4, *data = d + pos + 8;
    if (pos + 12 + len > f.len) goto out;
    if (!memcmp(type, "IHDR", 4)) {
      st->width = (int)be32(data);
      st->height = (int)be32(data + 4);
      depth = data[8];
      ctype = data[9];
      interlace = data[12];
    } else if (!memcmp(type, "IDAT", 4)) {
      mp_buf_append(&idat, data, len);
    }
    pos += 12 + len;
  }
  int bpp = ctype == 2 ? 3 : ctype == 6 ? 4 : 0;
  if (!bpp || depth != 8 || interlace || st->width <= 0 || st->height <= 0) goto out;
  size_t stride = (size_t)st->width * (size_t)bpp;
  uLongf raw_len = (uLongf)((stride + 1) * (size_t)st->height);
  uint8_t *raw = mp_malloc(raw_len);
  if (uncompress(raw, &raw_len, (const Bytef *)idat.data, (uLong)idat.len) != Z_OK ||
      raw_len != (stride + 1) * (size_t)st->height) {
    mp_free(raw);
    goto out;
  }
  uint8_t *img = mp_calloc((size_t)st->height, stride);
  for (int y = 0; y < st->height; y++) {
    const uint8_t *src = raw + (size_t)y * (stride + 1) + 1;
    uint8_t *row = img + (size_t)y * stride, *up = y ? row - stride : NULL;
    int filter = raw[(size_t)y * (stride + 1)];
    for (size_t x = 0; x < stride; x++) {
      int a = x >= (size_t)bpp ? row[x - bpp] : 0, b = up ? up[x] : 0;
      int c = up && x >= (size_t)bpp ? up[x - bpp] : 0;
      int pred = filter == 1   ? a
                 : filter == 2 ? b
                 : filter == 3 ? (a + b) / 2
                 : filter == 4 ? paeth(a, b, c)
                               : 0;
      row[x] = (uint8_t)(src[x] + pred);
    }
  }
  uint32_t seen[4096];
  st->pixels = (long)st->width * st->height;
  for (long i = 0; i < st->pixels; i++) {
    const uint8_t *p = img + i * bpp;
    if (memcmp(p, img, 3)) st->non_background++;
    uint32_t rgb = (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
    bool known = false;
    for (int k = 0; k < st->colors && !known; k++) known = seen[k] == rgb;
    if (!known && st->colors < 4096) seen[st->colors++] = rgb;
  }
  mp_free(img);
  mp_free(raw);
  ok = true;
out:
  mp_buf_free(&idat);
  mp_buf_free(&f);
  return ok;
}
