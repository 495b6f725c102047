/* The live progress of a run: a redrawn bar on a terminal, one plain line per update
 * elsewhere (logs, pipes, CI). Latency percentiles are "so far": every interval histogram
 * the server streams is merged exactly, so p50/p99 are of the whole run up to now. */
#ifndef MESHCTL_PROGRESS_H
#define MESHCTL_PROGRESS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "meshplane/hdr.h"
#include "meshplane/v1/perf.pb-c.h"

typedef struct mctl_progress {
  FILE *f;   /* where it goes (borrowed); NULL = quiet */
  bool tty;  /* redraw one line in place */
  int width; /* terminal columns */
  int64_t duration_ms;
  mp_hdr *total; /* merged interval histograms (owned) */
  bool drawn;    /* a bar line is on screen and needs ending */
  /* The last update. */
  int64_t elapsed_ms;
  uint64_t requests, errors;
  double rps;
  bool warmup;
} mctl_progress;

/* Starts showing progress on f (NULL for none) for a run of duration_ms. */
void mctl_progress_init(mctl_progress *p, FILE *f, int64_t duration_ms);
/* Folds in one aggregate progress message and redraws. */
void mctl_progress_update(mctl_progress *p, const Meshplane__V1__Progress *pr);
/* Ends the bar line (if one is drawn) and frees what p holds. */
void mctl_progress_end(mctl_progress *p);
/* Formats the current state: with bar, the terminal form fitted to width columns;
 * without, the plain line. Writes into buf (NUL-terminated), returns buf. */
const char *mctl_progress_format(const mctl_progress *p, bool bar, int width, char *buf, size_t n);

#endif
