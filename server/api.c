/* The meshplane.v1.Meshplane service: one thin handler per method, each delegating to
 * the module that owns the resource. */
#include "adapters.h"
#include "events.h"
#include "schedules.h"

/* Handlers receive the protoc-c service object, which is the first member of mp_server. */
#define API(method, Req, Resp, impl)                                                               \
  static void api_##method(Meshplane__V1__Meshplane_Service *svc, const Meshplane__V1__##Req *in,  \
                           Meshplane__V1__##Resp##_Closure done, void *cd) {                       \
    impl(MP_SERVER(svc), in, done, cd);                                                            \
  }

/* Methods whose module has not landed yet answer UNIMPLEMENTED, with a message saying so. */
#define NOT_YET(method, Req, Resp)                                                                 \
  static void api_##method(Meshplane__V1__Meshplane_Service *svc, const Meshplane__V1__##Req *in,  \
                           Meshplane__V1__##Resp##_Closure done, void *cd) {                       \
    mp_rpc_fail(cd, MP_RPC_UNIMPLEMENTED,                                                          \
                #method " is not available in this version of meshplane-server yet");              \
  }

API(create_profile, CreateProfileRequest, PerformanceProfile, mp_profiles_create)
API(get_profile, GetProfileRequest, PerformanceProfile, mp_profiles_get)
API(update_profile, UpdateProfileRequest, PerformanceProfile, mp_profiles_update)
API(delete_profile, DeleteProfileRequest, DeleteProfileResponse, mp_profiles_delete)
API(list_profiles, ListProfilesRequest, ListProfilesResponse, mp_profiles_list)
NOT_YET(import_profile, ImportProfileRequest, PerformanceProfile)
NOT_YET(start_run, StartRunRequest, Run)
NOT_YET(watch_run, WatchRunRequest, RunUpdate)
NOT_YET(run_profile, RunProfileRequest, RunUpdate)
NOT_YET(cancel_run, CancelRunRequest, Run)
NOT_YET(get_run, GetRunRequest, Run)
NOT_YET(list_runs, ListRunsRequest, ListRunsResponse)
NOT_YET(list_results, ListResultsRequest, ListResultsResponse)
NOT_YET(get_result, GetResultRequest, Result)
NOT_YET(export_result, ExportResultRequest, ExportResultResponse)
NOT_YET(compare_results, CompareResultsRequest, CompareResultsResponse)
NOT_YET(register_worker, RegisterWorkerRequest, RegisterWorkerResponse)
NOT_YET(list_workers, ListWorkersRequest, ListWorkersResponse)
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
  r.nats_ok = mp_bus_connected(s->bus);
  r.adapters_healthy = mp_adapters_healthy(s->adapters);
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
