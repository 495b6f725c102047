/* meshctl perf profile | delete | schedule. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "table.h"

/* Every profile (all pages) matching search ("" for all), as a ListProfilesResponse
 * holding them (caller frees). */
static int list_profiles(mctl_ctx *c, const char *search,
                         Meshplane__V1__ListProfilesResponse **out) {
  Meshplane__V1__ListProfilesResponse *all = mp_malloc(sizeof *all);
  meshplane__v1__list_profiles_response__init(all);
  char token[64] = "";
  int rc = 0;
  do {
    Meshplane__V1__ListProfilesRequest req = MESHPLANE__V1__LIST_PROFILES_REQUEST__INIT;
    req.page_size = 500;
    req.page_token = token;
    req.search = (char *)search;
    ProtobufCMessage *resp;
    if ((rc = mctl_call(c, "ListProfiles", &req.base, &resp, "list profiles")) != 0) break;
    Meshplane__V1__ListProfilesResponse *r = (Meshplane__V1__ListProfilesResponse *)resp;
    all->profiles =
        mp_realloc(all->profiles, (all->n_profiles + r->n_profiles + 1) * sizeof *all->profiles);
    for (size_t i = 0; i < r->n_profiles; i++) all->profiles[all->n_profiles++] = r->profiles[i];
    r->n_profiles = 0; /* moved */
    all->total = r->total;
    mp_strlcpy(token, r->next_page_token ? r->next_page_token : "", sizeof token);
    protobuf_c_message_free_unpacked(resp, NULL);
  } while (*token);
  if (rc) {
    protobuf_c_message_free_unpacked(&all->base, NULL);
    return rc;
  }
  *out = all;
  return 0;
}

static void profiles_table(Meshplane__V1__PerformanceProfile *const *ps, size_t n) {
  static const char *const head[] = {"NAME",   "ID",       "MESH",     "URL",      ">QPS",
                                     ">CONNS", "DURATION", ">RESULTS", "LAST-RUN", "SCHEDULED"};
  mctl_table *t = mctl_table_new(head, MP_ARRAY_LEN(head));
  for (size_t i = 0; i < n; i++) {
    const Meshplane__V1__PerformanceProfile *p = ps[i];
    char id[16], qps[32], conns[16], results[24], ago[32], url[512];
    snprintf(conns, sizeof conns, "%d", p->concurrent_request);
    snprintf(results, sizeof results, "%lld", (long long)p->total_results);
    if (p->n_endpoints > 1)
      snprintf(url, sizeof url, "%s (+%zu)", p->endpoints[0], p->n_endpoints - 1);
    else
      snprintf(url, sizeof url, "%s", p->n_endpoints ? p->endpoints[0] : "-");
    mctl_table_add(t, p->name, mctl_short_id(p->id, id, sizeof id), p->service_mesh, url,
                   mctl_fmt_qps(p->qps, qps, sizeof qps), conns, p->duration, results,
                   mctl_fmt_ago(p->last_run_ms, ago, sizeof ago), *p->schedule ? "yes" : "no");
  }
  mctl_table_print(t);
  mctl_table_free(t);
}

static void profile_view(const Meshplane__V1__PerformanceProfile *p) {
  char qps[32], t1[64], t2[64], ago[32];
  printf("%-16s %s\n%-16s %s\n%-16s %s\n", "NAME", p->name, "ID", p->id, "MESH",
         mctl_or_dash(p->service_mesh));
  for (size_t i = 0; i < p->n_endpoints; i++) printf("%-16s %s\n", i ? "" : "URL", p->endpoints[i]);
  printf("%-16s %s\n%-16s %d\n%-16s %s\n", "QPS", mctl_fmt_qps(p->qps, qps, sizeof qps),
         "CONNECTIONS", p->concurrent_request, "DURATION", p->duration);
  for (size_t i = 0; i < p->n_load_generators; i++)
    printf("%-16s %s\n", i ? "" : "LOAD-GENERATOR", p->load_generators[i]);
  if (*p->method) printf("%-16s %s\n", "METHOD", p->method);
  for (size_t i = 0; i < p->n_request_headers; i++)
    printf("%-16s %s\n", i ? "" : "HEADERS", p->request_headers[i]);
  if (*p->request_cookies) printf("%-16s %s\n", "COOKIES", p->request_cookies);
  if (p->request_body.len) printf("%-16s %zu bytes\n", "BODY", p->request_body.len);
  if (*p->content_type) printf("%-16s %s\n", "CONTENT-TYPE", p->content_type);
  for (size_t i = 0; i < p->n_metadata; i++)
    printf("%-16s %s=%s\n", i ? "" : "METADATA", p->metadata[i]->key, p->metadata[i]->value);
  printf("%-16s %lld\n%-16s %s\n%-16s %s\n%-16s %s\n", "RESULTS", (long long)p->total_results,
         "LAST-RUN", mctl_fmt_ago(p->last_run_ms, ago, sizeof ago), "CREATED",
         mctl_fmt_time(p->created_at_ms, t1, sizeof t1), "UPDATED",
         mctl_fmt_time(p->updated_at_ms, t2, sizeof t2));
  if (*p->schedule) printf("%-16s %s\n", "SCHEDULE", p->schedule);
}

int mctl_perf_profile(mctl_ctx *c, int argc, char **argv) {
  int nargs, rc;
  if (!mctl_parse(c, "[NAME]",
                  "Without NAME, lists every profile. With NAME, shows that profile, "
                  "or lists\nthe profiles whose name contains NAME.",
                  NULL, 0, false, argc, argv, &nargs, &rc))
    return rc;
  if (nargs > 1) return mctl_fail(c, MCTL_EXIT_USAGE, "give at most one profile NAME");
  if (nargs == 1) {
    Meshplane__V1__PerformanceProfile *p;
    rc = mctl_get_profile(c, argv[0], true, &p);
    if (rc == 0) {
      if (c->format == MCTL_TABLE)
        profile_view(p);
      else
        mctl_print_message(c, &p->base);
      protobuf_c_message_free_unpacked(&p->base, NULL);
      return 0;
    }
    if (rc != MCTL_EXIT_NOT_FOUND) return rc;
  }
  Meshplane__V1__ListProfilesResponse *all;
  if ((rc = list_profiles(c, nargs ? argv[0] : "", &all)) != 0) return rc;
  if (nargs == 1 && all->n_profiles == 0)
    rc = mctl_fail(c, MCTL_EXIT_NOT_FOUND,
                   "no profile named or containing \"%s\": list them with 'meshctl perf profile'",
                   argv[0]);
  else if (c->format != MCTL_TABLE)
    mctl_print_messages(c, "profiles", (const ProtobufCMessage *const *)all->profiles,
                        all->n_profiles);
  else if (all->n_profiles == 0)
    fprintf(stderr, "No profiles yet: create one with 'meshctl perf apply NAME --url URL'\n");
  else
    profiles_table(all->profiles, all->n_profiles);
  protobuf_c_message_free_unpacked(&all->base, NULL);
  return rc;
}

int mctl_perf_delete(mctl_ctx *c, int argc, char **argv) {
  int nargs, rc;
  if (!mctl_parse(c, "NAME...", "Deletes the profiles and their results, schedules and runs.", NULL,
                  0, false, argc, argv, &nargs, &rc))
    return rc;
  if (nargs == 0) return mctl_fail(c, MCTL_EXIT_USAGE, "give the NAME of the profile to delete");
  ProtobufCMessage **gone = mp_calloc((size_t)nargs, sizeof *gone);
  size_t n_gone = 0;
  for (int i = 0; i < nargs && rc == 0; i++) {
    Meshplane__V1__PerformanceProfile *p;
    if ((rc = mctl_get_profile(c, argv[i], false, &p)) != 0) break;
    Meshplane__V1__DeleteProfileRequest req = MESHPLANE__V1__DELETE_PROFILE_REQUEST__INIT;
    req.id = p->id;
    ProtobufCMessage *resp;
    rc = mctl_call(c, "DeleteProfile", &req.base, &resp, "delete the profile");
    if (rc == 0) {
      protobuf_c_message_free_unpacked(resp, NULL);
      if (c->format == MCTL_TABLE) printf("profile %s deleted\n", p->name);
      gone[n_gone++] = &p->base;
    } else {
      protobuf_c_message_free_unpacked(&p->base, NULL);
    }
  }
  if (c->format != MCTL_TABLE)
    mctl_print_messages(c, "deleted", (const ProtobufCMessage *const *)gone, n_gone);
  for (size_t i = 0; i < n_gone; i++) protobuf_c_message_free_unpacked(gone[i], NULL);
  mp_free(gone);
  return rc;
}

/* ---- schedules ---------------------------------------------------------------------------- */

static void schedules_table(mctl_ctx *c, Meshplane__V1__Schedule *const *ss, size_t n) {
  Meshplane__V1__ListProfilesResponse *all = NULL;
  list_profiles(c, "", &all); /* names for the PROFILE column; ids if this fails */
  static const char *const head[] = {"ID", "PROFILE", "CRON", "ENABLED", "NEXT-RUN", "LAST-RUN"};
  mctl_table *t = mctl_table_new(head, MP_ARRAY_LEN(head));
  for (size_t i = 0; i < n; i++) {
    const char *profile = ss[i]->profile_id;
    for (size_t k = 0; all && k < all->n_profiles; k++)
      if (!strcmp(all->profiles[k]->id, profile)) profile = all->profiles[k]->name;
    char t1[64], t2[64];
    mctl_table_add(t, ss[i]->id, profile, ss[i]->cron, ss[i]->enabled ? "yes" : "no",
                   mctl_fmt_time(ss[i]->next_run_ms, t1, sizeof t1),
                   mctl_fmt_time(ss[i]->last_run_ms, t2, sizeof t2));
  }
  mctl_table_print(t);
  mctl_table_free(t);
  if (all) protobuf_c_message_free_unpacked(&all->base, NULL);
}

static int schedule_list(mctl_ctx *c, int nargs, char **args) {
  Meshplane__V1__ListSchedulesRequest req = MESHPLANE__V1__LIST_SCHEDULES_REQUEST__INIT;
  Meshplane__V1__PerformanceProfile *p = NULL;
  int rc;
  if (nargs > 1) return mctl_fail(c, MCTL_EXIT_USAGE, "give at most one PROFILE");
  if (nargs == 1) {
    if ((rc = mctl_get_profile(c, args[0], false, &p)) != 0) return rc;
    req.profile_id = p->id;
  }
  ProtobufCMessage *resp;
  rc = mctl_call(c, "ListSchedules", &req.base, &resp, "list schedules");
  if (p) protobuf_c_message_free_unpacked(&p->base, NULL);
  if (rc) return rc;
  Meshplane__V1__ListSchedulesResponse *r = (Meshplane__V1__ListSchedulesResponse *)resp;
  if (c->format != MCTL_TABLE)
    mctl_print_message(c, resp);
  else if (r->n_schedules == 0)
    fprintf(stderr, "No schedules: add one with 'meshctl perf schedule PROFILE --cron \"0 * * * "
                    "*\"'\n");
  else
    schedules_table(c, r->schedules, r->n_schedules);
  protobuf_c_message_free_unpacked(resp, NULL);
  return 0;
}

static int schedule_delete(mctl_ctx *c, int nargs, char **args) {
  if (nargs == 0) return mctl_fail(c, MCTL_EXIT_USAGE, "give the ID of the schedule to delete");
  for (int i = 0; i < nargs; i++) {
    Meshplane__V1__DeleteScheduleRequest req = MESHPLANE__V1__DELETE_SCHEDULE_REQUEST__INIT;
    req.id = args[i];
    ProtobufCMessage *resp;
    int rc = mctl_call(c, "DeleteSchedule", &req.base, &resp, "delete the schedule");
    if (rc) return rc;
    protobuf_c_message_free_unpacked(resp, NULL);
    if (c->format == MCTL_TABLE) printf("schedule %s deleted\n", args[i]);
  }
  return 0;
}

static int schedule_create(mctl_ctx *c, const char *profile, const char *cron, bool disabled) {
  if (!*cron)
    return mctl_fail(c, MCTL_EXIT_USAGE,
                     "give --cron \"MIN HOUR DOM MON DOW\" (UTC), e.g. --cron \"*/30 * * * *\"");
  Meshplane__V1__PerformanceProfile *p;
  int rc = mctl_get_profile(c, profile, false, &p);
  if (rc) return rc;
  Meshplane__V1__Schedule s = MESHPLANE__V1__SCHEDULE__INIT;
  s.profile_id = p->id;
  s.cron = (char *)cron;
  s.enabled = !disabled;
  Meshplane__V1__CreateScheduleRequest req = MESHPLANE__V1__CREATE_SCHEDULE_REQUEST__INIT;
  req.schedule = &s;
  ProtobufCMessage *resp;
  rc = mctl_call(c, "CreateSchedule", &req.base, &resp, "create the schedule");
  if (rc == 0) {
    Meshplane__V1__Schedule *got = (Meshplane__V1__Schedule *)resp;
    char t[64];
    if (c->format == MCTL_TABLE)
      printf("schedule %s created: profile %s runs at \"%s\" (UTC), next %s\n", got->id, p->name,
             got->cron, mctl_fmt_time(got->next_run_ms, t, sizeof t));
    else
      mctl_print_message(c, resp);
    protobuf_c_message_free_unpacked(resp, NULL);
  }
  protobuf_c_message_free_unpacked(&p->base, NULL);
  return rc;
}

int mctl_perf_schedule(mctl_ctx *c, int argc, char **argv) {
  static char *cron;
  static bool disabled;
  cron = "";
  disabled = false;
  const mp_flag flags[] = {
      {"cron", 0, MP_FLAG_STRING, &cron, NULL,
       "5 fields: minute hour day-of-month month day-of-week, in UTC", "SPEC"},
      {"disabled", 0, MP_FLAG_BOOL, &disabled, NULL, "create the schedule disabled", NULL},
  };
  int nargs, rc;
  if (!mctl_parse(c, "PROFILE --cron SPEC | list [PROFILE] | delete ID...",
                  "PROFILE --cron SPEC (or: create PROFILE --cron SPEC) runs the profile on that\n"
                  "schedule; list shows schedules (of one profile); delete removes them.\n\n"
                  "Example: meshctl perf schedule nightly --cron \"0 2 * * *\"",
                  flags, MP_ARRAY_LEN(flags), false, argc, argv, &nargs, &rc))
    return rc;
  if (nargs == 0)
    return mctl_fail(c, MCTL_EXIT_USAGE, "give a PROFILE with --cron, or list, or delete ID");
  if (!strcmp(argv[0], "list")) return schedule_list(c, nargs - 1, argv + 1);
  if (!strcmp(argv[0], "delete")) return schedule_delete(c, nargs - 1, argv + 1);
  if (!strcmp(argv[0], "create")) {
    argv++;
    nargs--;
  }
  if (nargs != 1) return mctl_fail(c, MCTL_EXIT_USAGE, "give exactly one PROFILE to schedule");
  return schedule_create(c, argv[0], cron, disabled);
}
