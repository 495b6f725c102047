/* meshplane-server internals shared by its modules. */
#ifndef MP_SERVER_H
#define MP_SERVER_H

#include "db.h"
#include "meshplane/bus.h"
#include "meshplane/rpc.h"
#include "meshplane/v1/server.pb-c.h"

typedef struct mp_server mp_server;
typedef struct mp_events mp_events;
typedef struct mp_adapters mp_adapters;
typedef struct mp_workers mp_workers;
typedef struct mp_runs mp_runs;

struct mp_server {
  Meshplane__V1__Meshplane_Service service; /* first: handlers get it as their service */
  mp_db *db;
  char *conninfo; /* for connections outside the pool (LISTEN) */
  mp_bus *bus;    /* NATS, or in-process when no NATS is configured */
  mp_events *events;
  mp_adapters *adapters;
  mp_workers *workers;
  mp_runs *runs;
  mp_rpc_server *rpc;
  char id[MP_UUID_STRLEN]; /* this replica */
  int64_t started_ms;
};

/* The server a handler runs in. */
#define MP_SERVER(svc) ((mp_server *)(svc))

/* Fills in the service object with the API handlers (api.c). */
void mp_server_api_init(mp_server *s);

/* Ends a handler's call with the gRPC code for an mp_status and the recorded message. */
void mp_server_fail_status(void *cd, mp_status st);

/* Profiles (profiles.c). */
void mp_profiles_create(mp_server *s, const Meshplane__V1__CreateProfileRequest *in,
                        Meshplane__V1__PerformanceProfile_Closure done, void *cd);
void mp_profiles_get(mp_server *s, const Meshplane__V1__GetProfileRequest *in,
                     Meshplane__V1__PerformanceProfile_Closure done, void *cd);
void mp_profiles_update(mp_server *s, const Meshplane__V1__UpdateProfileRequest *in,
                        Meshplane__V1__PerformanceProfile_Closure done, void *cd);
void mp_profiles_delete(mp_server *s, const Meshplane__V1__DeleteProfileRequest *in,
                        Meshplane__V1__DeleteProfileResponse_Closure done, void *cd);
void mp_profiles_list(mp_server *s, const Meshplane__V1__ListProfilesRequest *in,
                      Meshplane__V1__ListProfilesResponse_Closure done, void *cd);
/* ImportProfile from an SMP PerformanceTestConfig (smp.c). */
void mp_profiles_import(mp_server *s, const Meshplane__V1__ImportProfileRequest *in,
                        Meshplane__V1__PerformanceProfile_Closure done, void *cd);
/* Loads a profile by id (or, when id is not a uuid, by name). NULL with MP_ERR_NOT_FOUND.
 * The caller frees with protobuf_c_message_free_unpacked. */
Meshplane__V1__PerformanceProfile *mp_profile_load(mp_server *s, const char *id_or_name,
                                                   mp_status *st);

/* Validation (validate.c): MP_ERR_INVALID with a message that says what to fix. Fills in
 * defaults (load generator, method) in p. */
mp_status mp_profile_validate(Meshplane__V1__PerformanceProfile *p);

#endif
