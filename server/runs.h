/* Runs: orchestration over workers (runs.c) and the API to start, watch and cancel them
 * (runwatch.c). */
#ifndef MP_SERVER_RUNS_H
#define MP_SERVER_RUNS_H

#include <pthread.h>

#include "meshplane/hdr.h"
#include "server.h"

typedef struct share share;

/* The aggregate of one progress interval over the workers that reported it. */
typedef struct mp_run_interval {
  uint64_t requests, errors, late_sends;
  double rps;
  int64_t max_lag_us, elapsed_ms, start_ms, length_ms;
  bool warmup;
} mp_run_interval;

typedef struct mp_packed {
  uint8_t *data;
  size_t len;
} mp_packed;

/* A run active on this replica. Fields below `reg` are guarded by reg->mu. */
typedef struct mp_run {
  mp_runs *reg;
  char id[MP_UUID_STRLEN];
  Meshplane__V1__PerformanceProfile *profile; /* owned */
  pthread_cond_t cv;                          /* signals new updates and the end */
  int refs;
  bool cancel, interrupted, done;
  Meshplane__V1__RunStatus status;
  char *error;
  share *shares;
  size_t n_shares;
  mp_hdr **intervals; /* merged interval histograms, by interval index */
  mp_run_interval *interval_reports;
  size_t n_intervals, published;
  mp_packed *updates; /* packed RunUpdates in order: the run, progress..., the result */
  size_t n_updates;
  uint8_t *final;
  struct mp_run *next;
} mp_run;

struct mp_runs {
  mp_server *srv;
  pthread_t cancel_listener; /* takes CancelRun from other replicas off the bus */
  pthread_mutex_t mu;
  pthread_cond_t cv; /* signals that a run ended (for stop) */
  bool stop;
  size_t active;
  mp_run *list;
};

mp_runs *mp_runs_new(mp_server *s);
/* Interrupts the runs in flight (their workers are cancelled, status INTERRUPTED) and
 * waits for them to end. */
void mp_runs_stop(mp_runs *reg);

/* Starts a run whose row exists (PENDING) for profile (taken). */
mp_status mp_runs_launch(mp_runs *reg, const char *run_id,
                         Meshplane__V1__PerformanceProfile *profile);
/* A run active here, with a reference (give it back with mp_run_release), or NULL. */
mp_run *mp_runs_find(mp_runs *reg, const char *id);
void mp_run_release(mp_run *r);
/* Asks a local run to stop; it ends CANCELLED. */
void mp_run_cancel(mp_run *r);
/* For the scheduler: launches a PENDING run created by a schedule. */
void mp_runs_launch_scheduled(mp_server *s, const char *run_id);

/* The API (runwatch.c). */
void mp_runs_start(mp_server *s, const Meshplane__V1__StartRunRequest *in,
                   Meshplane__V1__Run_Closure done, void *cd);
void mp_runs_watch(mp_server *s, const Meshplane__V1__WatchRunRequest *in,
                   Meshplane__V1__RunUpdate_Closure done, void *cd);
void mp_runs_run_profile(mp_server *s, const Meshplane__V1__RunProfileRequest *in,
                         Meshplane__V1__RunUpdate_Closure done, void *cd);
void mp_runs_cancel(mp_server *s, const Meshplane__V1__CancelRunRequest *in,
                    Meshplane__V1__Run_Closure done, void *cd);
void mp_runs_get(mp_server *s, const Meshplane__V1__GetRunRequest *in,
                 Meshplane__V1__Run_Closure done, void *cd);
void mp_runs_list(mp_server *s, const Meshplane__V1__ListRunsRequest *in,
                  Meshplane__V1__ListRunsResponse_Closure done, void *cd);

#endif
