/* The meshplane.v1.Meshplane service: one thin handler per method, each delegating to
 * the module that owns the resource. */
#include "adapters.h"
#include "events.h"
#include "results.h"
#include "runs.h"
#include "schedules.h"
#include "workers.h"

/* Handlers receive the protoc-c service object, which is the first member of mp_server. */
#define API(method, Req, Resp, impl)                                                               \
  static void api_##method(Meshplane__V1__Meshplane_Service *svc, const Meshplane__V1__##Req *in,  \
                           Meshplane__V1__##Resp##_Closure done, void *cd) {                       \
    impl(MP_SERVER(svc), in, done, cd);                                                            \
  }

API(create_profile, CreateProfileRequest, PerformanceProfile, mp_profiles_create)
API(get_profile, GetProfileRequest, PerformanceProfile, mp_profiles_get)
API(update_profile, UpdateProfileRequest, PerformanceProfile, mp_profiles_update)
API(delete_profile, DeleteProfileRequest, DeleteProfileResponse, mp_profiles_delete)
API(list_profiles, ListProfilesRequest, ListProfilesResponse, mp_profiles_list)
API(import_profile, ImportProfileRequest, PerformanceProfile, mp_profiles_import)
API(start_run, StartRunRequest, Run, mp_runs_start)
API(watch_run, WatchRunRequest, RunUpdate, mp_runs_watch)
API(run_profile, RunProfileRequest, RunUpdate, mp_runs_run_profile)
API(cancel_run, CancelRunRequest, Run, mp_runs_cancel)
API(get_run, GetRunRequest, Run, mp_runs_get)
API(list_runs, ListRunsRequest, ListRunsResponse, mp_runs_list)
API(list_results, ListResultsRequest, ListResultsResponse, mp_results_list)
API(get_result, GetResultRequest, Result, mp_results_get)
API(export_result, ExportResultRequest, ExportResultResponse, mp_results_export)
API(compare_results, CompareResultsRequest, CompareResultsResponse, mp_results_compare)
static void api_register_worker(Meshplane__V1__Meshplane_Service *svc,
                                const Meshplane__V1__RegisterWorkerRequest *in,
                                Meshplane__V1__RegisterWorkerResponse_Closure done, void *cd) {
  mp_workers_register(MP_SERVER(svc)->workers, in, done, cd);
}

static void api_list_workers(Meshplane__V1__Meshplane_Service *svc,
                             const Meshplane__V1__ListWorkersRequest *in,
                             Meshplane__V1__ListWorkersResponse_Closure done, void *cd) {
  mp_workers_list(MP_SERVER(svc)->workers, done, cd);
}
API(apply_operation, ApplyOperationRequest, Operation, mp_operations_apply)
API(list_operations, ListOperationsRequest, ListOperationsResponse, mp_operations_list)
API(watch_events, WatchEventsRequest, Event, mp_events_watch)

static void api_register_adapter(Meshplane__V1__Meshplane_Service *svc,
                                 const Meshplane__V1__RegisterAdapterRequest *in,
                                 Meshplane__V1__Adapter_Closure done, void *cd) {
  mp_adapters_register(MP_SERVER(svc)->adapters, in, done, cd);
}

static void api_list_adapters(Meshplane__V1__Meshplane_Service *svc,
                              const Meshplane__V1__ListAdaptersRequest *in,
                              Meshplane__V1__ListAdaptersResponse_Closure done, void *cd) {
  mp_adapters_list(MP_SERVER(svc)->adapters, done, cd);
}
API(create_schedule, CreateScheduleRequest, Schedule, mp_schedules_create)
API(delete_schedule, DeleteScheduleRequest, DeleteScheduleResponse, mp_schedules_delete)
API(list_schedules, ListSchedulesRequest, ListSchedulesResponse, mp_schedules_list)

static void api_get_status(Meshplane__V1__Meshplane_Service *svc,
                           const Meshplane__V1__StatusRequest *in,
                           Meshplane__V1__StatusResponse_Closure done, void *cd) {
  mp_server *s = MP_SERVER(svc);
  Meshplane__V1__StatusResponse r = MESHPLANE__V1__STATUS_RESPONSE__INIT;
  r.version = MESHPLANE_VERSION;
  r.git_sha = MESHPLANE_GIT_SHA;
  mp_status st;
  PGresult *res = mp_db_exec(s->db, "SELECT 1", NULL, &st);
  r.database_ok = res != NULL;
  PQclear(res);
  r.nats_ok = mp_bus_is_nats(s->bus) && mp_bus_connected(s->bus);
  r.adapters_healthy = mp_adapters_healthy(s->adapters);
  r.workers_healthy = mp_workers_healthy(s->workers);
  r.uptime_ms = mp_now_ms() - s->started_ms;
  done(&r, cd);
}

void mp_server_fail_status(void *cd, mp_status st) {
  static const mp_rpc_code codes[] = {
      [MP_OK] = MP_RPC_OK,
      [MP_ERR_INVALID] = MP_RPC_INVALID_ARGUMENT,
      [MP_ERR_NOT_FOUND] = MP_RPC_NOT_FOUND,
      [MP_ERR_EXISTS] = MP_RPC_ALREADY_EXISTS,
      [MP_ERR_IO] = MP_RPC_INTERNAL,
      [MP_ERR_UNAVAILABLE] = MP_RPC_UNAVAILABLE,
      [MP_ERR_TIMEOUT] = MP_RPC_DEADLINE_EXCEEDED,
      [MP_ERR_CANCELLED] = MP_RPC_CANCELLED,
      [MP_ERR_INTERNAL] = MP_RPC_INTERNAL,
  };
  mp_rpc_code code = (unsigned)st < MP_ARRAY_LEN(codes) ? codes[st] : MP_RPC_INTERNAL;
  if (st == MP_ERR_INTERNAL) mp_error("request failed", "error=\"%s\"", mp_error_last());
  mp_rpc_fail(cd, code, "%s", mp_error_last());
}

void mp_server_api_init(mp_server *s) {
  static const Meshplane__V1__Meshplane_Service init = MESHPLANE__V1__MESHPLANE__INIT(api_);
  s->service = init;
}
