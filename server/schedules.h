/* Schedules and replica housekeeping (schedules.c). */
#ifndef MP_SERVER_SCHEDULES_H
#define MP_SERVER_SCHEDULES_H

#include "server.h"

typedef struct mp_sched mp_sched;
/* Called (on the scheduler thread) for each run a schedule created on this replica. */
typedef void (*mp_sched_launch_fn)(mp_server *s, const char *run_id);

mp_sched *mp_sched_start(mp_server *s, mp_sched_launch_fn launch);
void mp_sched_stop(mp_sched *sc);

void mp_schedules_create(mp_server *s, const Meshplane__V1__CreateScheduleRequest *in,
                         Meshplane__V1__Schedule_Closure done, void *cd);
void mp_schedules_delete(mp_server *s, const Meshplane__V1__DeleteScheduleRequest *in,
                         Meshplane__V1__DeleteScheduleResponse_Closure done, void *cd);
void mp_schedules_list(mp_server *s, const Meshplane__V1__ListSchedulesRequest *in,
                       Meshplane__V1__ListSchedulesResponse_Closure done, void *cd);

#endif
