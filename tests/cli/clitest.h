/* Helpers for meshctl's tests: run the meshctl binary and capture what it prints, and check
 * HTML in headless Chromium (Debian's chromium package): dump the DOM, take a screenshot and
 * read the PNG back. They abort with a message on set-up failures (not on test failures). */
#ifndef MESHCTL_CLITEST_H
#define MESHCTL_CLITEST_H

#include <stdbool.h>

#include "meshplane/base.h"

typedef struct cli_result {
  int rc;     /* exit status, or 128 + signal */
  mp_buf out; /* stdout */
  mp_buf err; /* stderr */
} cli_result;

/* Runs `bin args...` (NULL-terminated) with stdin from /dev/null, waiting up to
 * timeout_s; fills r (free with cli_result_free). Prints the command and its output when
 * MESHCTL_TEST_VERBOSE is set. */
void cli_run(cli_result *r, int timeout_s, const char *bin, ...);
void cli_result_free(cli_result *r);
/* Number of non-overlapping occurrences of needle in hay. */
int cli_count(const char *hay, const char *needle);

/* The chromium binary ("chromium" on Debian), or NULL when none is installed. */
const char *browser_path(void);
/* Loads html_path in headless Chromium and returns the serialized DOM after layout (the
 * caller frees), or NULL on failure. */
char *browser_dump_dom(const char *html_path);
/* Screenshots html_path at width x height into png_path. */
bool browser_screenshot(const char *html_path, const char *png_path, int width, int height);

typedef struct png_stats {
  int width, height;
  long pixels, non_background; /* pixels unlike the top-left one */
  int colors;                  /* distinct colours, counted up to 4096 */
} png_stats;
/* Reads an 8-bit RGB or RGBA, non-interlaced PNG (what Chromium writes). */
bool png_read_stats(const char *path, png_stats *out);

#endif
