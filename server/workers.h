/* Load-generator workers: registry and health (workers.c). */
#ifndef MP_SERVER_WORKERS_H
#define MP_SERVER_WORKERS_H

#include "server.h"

mp_workers *mp_workers_start(mp_server *s, const mp_strlist *configured);
void mp_workers_stop(mp_workers *w);

void mp_workers_register(mp_workers *w, const Meshplane__V1__RegisterWorkerRequest *in,
                         Meshplane__V1__RegisterWorkerResponse_Closure done, void *cd);
void mp_workers_list(mp_workers *w, Meshplane__V1__ListWorkersResponse_Closure done, void *cd);

/* A worker leased for a run. The channel lives as long as the registry. */
typedef struct mp_worker_ref {
  char id[MP_UUID_STRLEN];
  char address[256];
  mp_rpc_channel *ch;
} mp_worker_ref;

/* Leases up to `want` distinct healthy workers, least loaded first; returns how many.
 * Give each back with mp_workers_release when its share of the run ends. */
size_t mp_workers_pick(mp_workers *w, size_t want, mp_worker_ref *out);
void mp_workers_release(mp_workers *w, const mp_worker_ref *ref);
unsigned mp_workers_healthy(mp_workers *w);

#endif
