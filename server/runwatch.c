/* The runs API: StartRun, WatchRun, RunProfile, CancelRun, GetRun, ListRuns. A watch of
 * a run active on this replica reads its in-memory updates; a watch of a run on another
 * replica follows meshplane.runs.<id>.* on the bus and the database. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runs.h"

#define RUN_COLUMNS                                                                                \
  "r.id, r.profile_id, r.status, r.requested_qps, r.actual_qps, "                                  \
  "COALESCE((extract(epoch FROM r.started_at) * 1000)::bigint, 0), "                               \
  "COALESCE((extract(epoch FROM r.finished_at) * 1000)::bigint, 0), r.error, r.workers, "          \
  "COALESCE((SELECT x.id::text FROM results x WHERE x.run_id = r.id), '')"

static Meshplane__V1__RunStatus parse_status(const char *s) {
  char name[64];
  snprintf(name, sizeof name, "RUN_STATUS_%s", s);
  const ProtobufCEnumValue *v =
      protobuf_c_enum_descriptor_get_value_by_name(&meshplane__v1__run_status__descriptor, name);
  return v ? (Meshplane__V1__RunStatus)v->value : MESHPLANE__V1__RUN_STATUS__RUN_STATUS_UNSPECIFIED;
}

static bool finished(Meshplane__V1__RunStatus s) {
  return s != MESHPLANE__V1__RUN_STATUS__RUN_STATUS_PENDING &&
         s != MESHPLANE__V1__RUN_STATUS__RUN_STATUS_RUNNING &&
         s != MESHPLANE__V1__RUN_STATUS__RUN_STATUS_UNSPECIFIED;
}

/* Reads a run row into a heap Run (free with protobuf_c_message_free_unpacked), or NULL
 * with *st set. */
static Meshplane__V1__Run *load_run(mp_server *s, const char *id, mp_status *st) {
  if (!mp_uuid_valid(id)) {
    *st = mp_error_set(MP_ERR_INVALID, "run_id \"%s\" is not a run id (a uuid)", id);
    return NULL;
  }
  mp_dbargs a = {0};
  mp_dbargs_text(&a, id);
  PGresult *r =
      mp_db_exec(s->db, "SELECT " RUN_COLUMNS " FROM runs r WHERE r.id = $1::uuid", &a, st);
  mp_dbargs_free(&a);
  if (!r) return NULL;
  Meshplane__V1__Run *run = NULL;
  if (PQntuples(r) == 0) {
    *st = mp_error_set(MP_ERR_NOT_FOUND, "no run %s", id);
  } else {
    run = mp_malloc(sizeof *run);
    meshplane__v1__run__init(run);
    run->id = mp_strdup(mp_db_text(r, 0, 0));
    run->profile_id = mp_strdup(mp_db_text(r, 0, 1));
    run->status = parse_status(mp_db_text(r, 0, 2));
    run->requested_qps = mp_db_double(r, 0, 3);
    run->actual_qps = mp_db_double(r, 0, 4);
    run->started_at_ms = mp_db_int(r, 0, 5);
    run->finished_at_ms = mp_db_int(r, 0, 6);
    run->error = mp_strdup(mp_db_text(r, 0, 7));
    run->workers = mp_db_textarray(r, 0, 8, &run->n_workers);
    run->result_id = mp_strdup(mp_db_text(r, 0, 9));
  }
  PQclear(r);
  return run;
}

/* The stored result of a run (heap; free with protobuf_c_message_free_unpacked) or NULL. */
static Meshplane__V1__Result *load_result_of_run(mp_server *s, const char *run_id) {
  mp_dbargs a = {0};
  mp_dbargs_text(&a, run_id);
  mp_status st;
  PGresult *r = mp_db_exec(s->db, "SELECT result FROM results WHERE run_id = $1::uuid", &a, &st);
  mp_dbargs_free(&a);
  Meshplane__V1__Result *res = NULL;
  if (r && PQntuples(r) == 1) {
    size_t len;
    unsigned char *b = mp_db_bytes(r, 0, 0, &len);
    res = meshplane__v1__result__unpack(NULL, len, b);
    PQfreemem(b);
  }
  PQclear(r);
  return res;
}

static bool send_update(void *cd, Meshplane__V1__RunUpdate__UpdateCase kind, void *msg) {
  Meshplane__V1__RunUpdate u = MESHPLANE__V1__RUN_UPDATE__INIT;
  u.update_case = kind;
  if (kind == MESHPLANE__V1__RUN_UPDATE__UPDATE_RUN)
    u.run = msg;
  else if (kind == MESHPLANE__V1__RUN_UPDATE__UPDATE_PROGRESS)
    u.progress = msg;
  else
    u.result = msg;
  return mp_rpc_send(cd, &u.base);
}

/* Streams a local run's updates from the first until its end. */
static void watch_local(mp_run *r, void *cd) {
  size_t next = 0;
  for (;;) {
    pthread_mutex_lock(&r->reg->mu);
    if (next == r->n_updates && !r->done) {
      mp_cond_wait_until(&r->cv, &r->reg->mu, mp_mono_ns() + 200 * MP_NS_PER_MS);
    }
    size_t end = r->n_updates;
    bool done = r->done;
    mp_packed *batch = mp_calloc(end - next + 1, sizeof *batch);
    for (size_t i = next; i < end; i++) {
      batch[i - next].len = r->updates[i].len;
      batch[i - next].data = mp_malloc(r->updates[i].len + 1);
      memcpy(batch[i - next].data, r->updates[i].data, r->updates[i].len);
    }
    pthread_mutex_unlock(&r->reg->mu);
    bool alive = true;
    for (size_t i = 0; i < end - next; i++) {
      Meshplane__V1__RunUpdate *u =
          meshplane__v1__run_update__unpack(NULL, batch[i].len, batch[i].data);
      if (u && alive) alive = mp_rpc_send(cd, &u->base);
      if (u) meshplane__v1__run_update__free_unpacked(u, NULL);
      mp_free(batch[i].data);
    }
    mp_free(batch);
    next = end;
    if (!alive || (done && next == end)) return;
    if (mp_rpc_cancelled(cd)) return;
    if (mp_rpc_draining(cd)) {
      mp_rpc_fail(cd, MP_RPC_UNAVAILABLE,
                  "the server is shutting down; watch the run again with WatchRun");
      return;
    }
  }
}

/* Follows a run active on another replica: progress from the bus, the end from the bus or
 * the database (polled, in case the notice was missed). */
static void watch_remote(mp_server *s, const char *run_id, void *cd) {
  char subject[96];
  snprintf(subject, sizeof subject, "meshplane.runs.%s.>", run_id);
  mp_bus_sub *sub = NULL;
  if (mp_bus_subscribe(s->bus, subject, 0, &sub) != MP_OK) sub = NULL;
  int64_t last_poll = 0;
  while (!mp_rpc_cancelled(cd) && !mp_rpc_draining(cd)) {
    char *subj = NULL;
    uint8_t *data = NULL;
    size_t len = 0;
    mp_bus_next_result nr = sub ? mp_bus_next(sub, 500, &subj, &data, &len) : MP_BUS_TIMEOUT;
    if (!sub) mp_sleep_ms(500);
    if (nr == MP_BUS_MSG && strstr(subj, ".progress")) {
      Meshplane__V1__Progress *p = meshplane__v1__progress__unpack(NULL, len, data);
      bool alive = !p || send_update(cd, MESHPLANE__V1__RUN_UPDATE__UPDATE_PROGRESS, p);
      if (p) meshplane__v1__progress__free_unpacked(p, NULL);
      mp_free(subj);
      mp_free(data);
      if (!alive) break;
      continue;
    }
    mp_free(subj);
    mp_free(data);
    if (nr != MP_BUS_MSG && mp_mono_ns() - last_poll < MP_NS_PER_S) continue;
    last_poll = mp_mono_ns();
    mp_status st;
    Meshplane__V1__Run *run = load_run(s, run_id, &st);
    bool over = !run || finished(run->status);
    if (over && run) {
      Meshplane__V1__Result *res = load_result_of_run(s, run_id);
      if (res)
        send_update(cd, MESHPLANE__V1__RUN_UPDATE__UPDATE_RESULT, res);
      else
        send_update(cd, MESHPLANE__V1__RUN_UPDATE__UPDATE_RUN, run);
      if (res) protobuf_c_message_free_unpacked(&res->base, NULL);
    }
    if (run) protobuf_c_message_free_unpacked(&run->base, NULL);
    if (over) break;
  }
  mp_bus_unsubscribe(sub);
}

static void watch(mp_server *s, const char *run_id, void *cd) {
  mp_run *r = mp_runs_find(s->runs, run_id);
  if (r) {
    watch_local(r, cd);
    mp_run_release(r);
    return;
  }
  mp_status st;
  Meshplane__V1__Run *run = load_run(s, run_id, &st);
  if (!run) {
    mp_server_fail_status(cd, st);
    return;
  }
  bool alive = send_update(cd, MESHPLANE__V1__RUN_UPDATE__UPDATE_RUN, run);
  bool over = finished(run->status);
  protobuf_c_message_free_unpacked(&run->base, NULL);
  if (!alive) return;
  if (over) {
    Meshplane__V1__Result *res = load_result_of_run(s, run_id);
    if (res) {
      send_update(cd, MESHPLANE__V1__RUN_UPDATE__UPDATE_RESULT, res);
      protobuf_c_message_free_unpacked(&res->base, NULL);
    }
    return;
  }
  watch_remote(s, run_id, cd);
}

/* Creates the run row and launches it. On success *run_id is set. */
static mp_status start(mp_server *s, const char *profile_key, char **kv, size_t n_md,
                       char run_id[MP_UUID_STRLEN]) {
  if (!profile_key || !*profile_key)
    return mp_error_set(MP_ERR_INVALID, "profile_id is required (a profile's id or name)");
  mp_status st;
  Meshplane__V1__PerformanceProfile *p = mp_profile_load(s, profile_key, &st);
  if (!p) return st;
  if ((st = mp_profile_validate(p)) != MP_OK) {
    protobuf_c_message_free_unpacked(&p->base, NULL);
    return st;
  }
  mp_uuid_new(run_id);
  mp_dbargs a = {0};
  mp_dbargs_text(&a, run_id);
  mp_dbargs_text(&a, p->id);
  mp_dbargs_text(&a, s->id);
  mp_dbargs_double(&a, p->qps);
  mp_dbargs_textarray(&a, kv, 2 * n_md);
  PQclear(
      mp_db_exec(s->db,
                 "INSERT INTO runs (id, profile_id, status, server_id, requested_qps, metadata) "
                 "VALUES ($1, $2, 'PENDING', $3, $4, json_object($5::text[]))",
                 &a, &st));
  mp_dbargs_free(&a);
  if (st != MP_OK) {
    protobuf_c_message_free_unpacked(&p->base, NULL);
    return st;
  }
  return mp_runs_launch(s->runs, run_id, p);
}

void mp_runs_start(mp_server *s, const Meshplane__V1__StartRunRequest *in,
                   Meshplane__V1__Run_Closure done, void *cd) {
  char id[MP_UUID_STRLEN];
  char **kv = mp_calloc(2 * in->n_metadata + 1, sizeof *kv);
  for (size_t i = 0; i < in->n_metadata; i++) {
    kv[2 * i] = in->metadata[i]->key;
    kv[2 * i + 1] = in->metadata[i]->value;
  }
  mp_status st = start(s, in->profile_id, kv, in->n_metadata, id);
  mp_free(kv);
  if (st != MP_OK) {
    mp_server_fail_status(cd, st);
    return;
  }
  Meshplane__V1__Run *run = load_run(s, id, &st);
  if (!run) {
    mp_server_fail_status(cd, st);
    return;
  }
  done(run, cd);
  protobuf_c_message_free_unpacked(&run->base, NULL);
}

void mp_runs_watch(mp_server *s, const Meshplane__V1__WatchRunRequest *in,
                   Meshplane__V1__RunUpdate_Closure done, void *cd) {
  watch(s, in->run_id ? in->run_id : "", cd);
}

void mp_runs_run_profile(mp_server *s, const Meshplane__V1__RunProfileRequest *in,
                         Meshplane__V1__RunUpdate_Closure done, void *cd) {
  char id[MP_UUID_STRLEN];
  char **kv = mp_calloc(2 * in->n_metadata + 1, sizeof *kv);
  for (size_t i = 0; i < in->n_metadata; i++) {
    kv[2 * i] = in->metadata[i]->key;
    kv[2 * i + 1] = in->metadata[i]->value;
  }
  mp_status st = start(s, in->profile_id, kv, in->n_metadata, id);
  mp_free(kv);
  if (st != MP_OK) {
    mp_server_fail_status(cd, st);
    return;
  }
  watch(s, id, cd);
}

void mp_runs_cancel(mp_server *s, const Meshplane__V1__CancelRunRequest *in,
                    Meshplane__V1__Run_Closure done, void *cd) {
  mp_status st;
  Meshplane__V1__Run *run = load_run(s, in->run_id ? in->run_id : "", &st);
  if (!run) {
    mp_server_fail_status(cd, st);
    return;
  }
  if (finished(run->status)) {
    mp_rpc_fail(
        cd, MP_RPC_FAILED_PRECONDITION, "run %s already ended (%s)", run->id,
        protobuf_c_enum_descriptor_get_value(&meshplane__v1__run_status__descriptor, run->status)
            ->name);
    protobuf_c_message_free_unpacked(&run->base, NULL);
    return;
  }
  protobuf_c_message_free_unpacked(&run->base, NULL);
  mp_run *r = mp_runs_find(s->runs, in->run_id);
  if (r) {
    mp_run_cancel(r);
    mp_run_release(r);
  } else {
    /* The replica running it listens for this. */
    char subject[96];
    snprintf(subject, sizeof subject, "meshplane.runs.%s.cancel", in->run_id);
    mp_bus_publish(s->bus, subject, "", 0, NULL);
  }
  /* Wait (briefly) for the end, so the answer shows the final status. */
  for (int i = 0; i < 100; i++) {
    run = load_run(s, in->run_id, &st);
    if (!run || finished(run->status)) break;
    protobuf_c_message_free_unpacked(&run->base, NULL);
    run = NULL;
    mp_sleep_ms(100);
  }
  if (!run) run = load_run(s, in->run_id, &st);
  if (!run) {
    mp_server_fail_status(cd, st);
    return;
  }
  done(run, cd);
  protobuf_c_message_free_unpacked(&run->base, NULL);
}

void mp_runs_get(mp_server *s, const Meshplane__V1__GetRunRequest *in,
                 Meshplane__V1__Run_Closure done, void *cd) {
  mp_status st;
  Meshplane__V1__Run *run = load_run(s, in->run_id ? in->run_id : "", &st);
  if (!run) {
    mp_server_fail_status(cd, st);
    return;
  }
  done(run, cd);
  protobuf_c_message_free_unpacked(&run->base, NULL);
}

void mp_runs_list(mp_server *s, const Meshplane__V1__ListRunsRequest *in,
                  Meshplane__V1__ListRunsResponse_Closure done, void *cd) {
  unsigned size = in->page_size ? in->page_size : 50;
  if (size > 1000) size = 1000;
  long long offset = 0;
  if (in->page_token && *in->page_token) {
    char *end;
    offset = strtoll(in->page_token, &end, 10);
    if (*end || offset < 0) {
      mp_rpc_fail(cd, MP_RPC_INVALID_ARGUMENT, "page_token is not one this server gave out");
      return;
    }
  }
  if (in->profile_id && *in->profile_id && !mp_uuid_valid(in->profile_id)) {
    mp_rpc_fail(cd, MP_RPC_INVALID_ARGUMENT, "profile_id \"%s\" is not a uuid", in->profile_id);
    return;
  }
  mp_dbargs a = {0};
  mp_dbargs_text(&a, in->profile_id && *in->profile_id ? in->profile_id : NULL);
  mp_dbargs_int(&a, size + 1);
  mp_dbargs_int(&a, offset);
  mp_status st;
  PGresult *r = mp_db_exec(s->db,
                           "SELECT r.id FROM runs r WHERE $1::uuid IS NULL OR r.profile_id = "
                           "$1::uuid ORDER BY r.created_at DESC, r.id LIMIT $2 OFFSET $3",
                           &a, &st);
  mp_dbargs_free(&a);
  if (!r) {
    mp_server_fail_status(cd, st);
    return;
  }
  int rows = PQntuples(r);
  size_t n = rows > (int)size ? size : (size_t)rows;
  Meshplane__V1__ListRunsResponse resp = MESHPLANE__V1__LIST_RUNS_RESPONSE__INIT;
  resp.runs = mp_calloc(n + 1, sizeof *resp.runs);
  for (size_t i = 0; i < n; i++) {
    Meshplane__V1__Run *run = load_run(s, PQgetvalue(r, (int)i, 0), &st);
    if (run) resp.runs[resp.n_runs++] = run;
  }
  char token[32] = "";
  if (rows > (int)size) snprintf(token, sizeof token, "%lld", offset + (long long)size);
  resp.next_page_token = token;
  done(&resp, cd);
  for (size_t i = 0; i < resp.n_runs; i++)
    protobuf_c_message_free_unpacked(&resp.runs[i]->base, NULL);
  mp_free(resp.runs);
  PQclear(r);
}
