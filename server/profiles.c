/* Performance profiles: create, get, update, delete, list (keyset paging, name search).
 * last_run and total_results are derived from runs and results on every read. */
#include <stdio.h>
#include <string.h>

#include "server.h"

#define PROFILE_COLUMNS                                                                            \
  "p.id, p.name, p.load_generators, p.endpoints, p.service_mesh, p.concurrent_request, "           \
  "p.qps, p.duration, p.request_headers, p.request_cookies, p.request_body, p.content_type, "      \
  "p.method, p.options, "                                                                          \
  "ARRAY(SELECT x FROM jsonb_each_text(p.metadata) t, LATERAL (VALUES (t.key), (t.value)) "        \
  "v(x)), "                                                                                        \
  "(extract(epoch FROM p.created_at) * 1000)::bigint, "                                            \
  "(extract(epoch FROM p.updated_at) * 1000)::bigint, "                                            \
  "COALESCE((SELECT (extract(epoch FROM max(r.created_at)) * 1000)::bigint FROM runs r "           \
  "WHERE r.profile_id = p.id), 0), "                                                               \
  "(SELECT count(*) FROM results x WHERE x.profile_id = p.id)"

/* Builds a heap profile (freed with protobuf_c_message_free_unpacked) from row i. */
static Meshplane__V1__PerformanceProfile *from_row(const PGresult *r, int i) {
  Meshplane__V1__PerformanceProfile *p = mp_malloc(sizeof *p);
  meshplane__v1__performance_profile__init(p);
  int c = 0;
  p->id = mp_strdup(mp_db_text(r, i, c++));
  p->name = mp_strdup(mp_db_text(r, i, c++));
  p->load_generators = mp_db_textarray(r, i, c++, &p->n_load_generators);
  p->endpoints = mp_db_textarray(r, i, c++, &p->n_endpoints);
  p->service_mesh = mp_strdup(mp_db_text(r, i, c++));
  p->concurrent_request = (int32_t)mp_db_int(r, i, c++);
  p->qps = mp_db_double(r, i, c++);
  p->duration = mp_strdup(mp_db_text(r, i, c++));
  p->request_headers = mp_db_textarray(r, i, c++, &p->n_request_headers);
  p->request_cookies = mp_strdup(mp_db_text(r, i, c++));
  size_t len;
  unsigned char *body = mp_db_bytes(r, i, c++, &len);
  if (len) {
    p->request_body.data = mp_malloc(len);
    memcpy(p->request_body.data, body, len);
    p->request_body.len = len;
  }
  PQfreemem(body);
  p->content_type = mp_strdup(mp_db_text(r, i, c++));
  p->method = mp_strdup(mp_db_text(r, i, c++));
  if (!PQgetisnull(r, i, c)) {
    unsigned char *opt = mp_db_bytes(r, i, c, &len);
    p->options = meshplane__v1__load_options__unpack(NULL, len, opt);
    PQfreemem(opt);
  }
  c++;
  size_t nkv;
  char **kv = mp_db_textarray(r, i, c++, &nkv);
  p->n_metadata = nkv / 2;
  p->metadata = mp_calloc(p->n_metadata ? p->n_metadata : 1, sizeof *p->metadata);
  for (size_t k = 0; k < p->n_metadata; k++) {
    Meshplane__V1__PerformanceProfile__MetadataEntry *e = mp_malloc(sizeof *e);
    meshplane__v1__performance_profile__metadata_entry__init(e);
    e->key = kv[2 * k];
    e->value = kv[2 * k + 1];
    p->metadata[k] = e;
  }
  mp_free(kv);
  p->created_at_ms = mp_db_int(r, i, c++);
  p->updated_at_ms = mp_db_int(r, i, c++);
  p->last_run_ms = mp_db_int(r, i, c++);
  p->total_results = mp_db_int(r, i, c++);
  return p;
}

static void free_profile(Meshplane__V1__PerformanceProfile *p) {
  if (p) protobuf_c_message_free_unpacked(&p->base, NULL);
}

Meshplane__V1__PerformanceProfile *mp_profile_load(mp_server *s, const char *id_or_name,
                                                   mp_status *st) {
  mp_dbargs a = {0};
  mp_dbargs_text(&a, id_or_name);
  const char *sql = mp_uuid_valid(id_or_name) ? "SELECT " PROFILE_COLUMNS
                                                " FROM profiles p WHERE p.id = $1::uuid"
                                              : "SELECT " PROFILE_COLUMNS
                                                " FROM profiles p WHERE lower(p.name) = lower($1)";
  PGresult *r = mp_db_exec(s->db, sql, &a, st);
  mp_dbargs_free(&a);
  if (!r) return NULL;
  Meshplane__V1__PerformanceProfile *p = NULL;
  if (PQntuples(r) == 1) {
    p = from_row(r, 0);
  } else {
    *st = mp_error_set(MP_ERR_NOT_FOUND,
                       "no profile \"%s\": list them with ListProfiles (meshctl perf profile)",
                       id_or_name);
  }
  PQclear(r);
  return p;
}

/* Parameters $1..$14 shared by insert and update, in column order. */
static void profile_args(mp_dbargs *a, const Meshplane__V1__PerformanceProfile *p) {
  char *const default_gen[] = {"meshplane"};
  mp_dbargs_text(a, p->name);
  if (p->n_load_generators)
    mp_dbargs_textarray(a, p->load_generators, p->n_load_generators);
  else
    mp_dbargs_textarray(a, default_gen, 1);
  mp_dbargs_textarray(a, p->endpoints, p->n_endpoints);
  mp_dbargs_text(a, p->service_mesh ? p->service_mesh : "");
  mp_dbargs_int(a, p->concurrent_request);
  mp_dbargs_double(a, p->qps);
  mp_dbargs_text(a, p->duration);
  mp_dbargs_textarray(a, p->request_headers, p->n_request_headers);
  mp_dbargs_text(a, p->request_cookies ? p->request_cookies : "");
  mp_dbargs_bytes(a, p->request_body.data, p->request_body.len);
  mp_dbargs_text(a, p->content_type ? p->content_type : "");
  mp_dbargs_text(a, p->method ? p->method : "");
  if (p->options) {
    size_t n = meshplane__v1__load_options__get_packed_size(p->options);
    uint8_t *buf = mp_malloc(n ? n : 1);
    meshplane__v1__load_options__pack(p->options, buf);
    mp_dbargs_bytes(a, buf, n);
    mp_free(buf);
  } else {
    mp_dbargs_text(a, NULL);
  }
  char **kv = mp_calloc(2 * p->n_metadata + 1, sizeof *kv);
  for (size_t i = 0; i < p->n_metadata; i++) {
    kv[2 * i] = p->metadata[i]->key;
    kv[2 * i + 1] = p->metadata[i]->value;
  }
  mp_dbargs_textarray(a, kv, 2 * p->n_metadata);
  mp_free(kv);
}

static void reply_profile(mp_server *s, const char *id,
                          Meshplane__V1__PerformanceProfile_Closure done, void *cd) {
  mp_status st;
  Meshplane__V1__PerformanceProfile *p = mp_profile_load(s, id, &st);
  if (!p) {
    mp_server_fail_status(cd, st);
    return;
  }
  done(p, cd);
  free_profile(p);
}

static void fail_write(void *cd, mp_status st, const char *name) {
  if (st == MP_ERR_EXISTS)
    mp_rpc_fail(cd, MP_RPC_ALREADY_EXISTS,
                "a profile named \"%s\" already exists: pick another name or update that one",
                name);
  else
    mp_server_fail_status(cd, st);
}

void mp_profiles_create(mp_server *s, const Meshplane__V1__CreateProfileRequest *in,
                        Meshplane__V1__PerformanceProfile_Closure done, void *cd) {
  if (!in->profile) {
    mp_rpc_fail(cd, MP_RPC_INVALID_ARGUMENT, "profile is required");
    return;
  }
  Meshplane__V1__PerformanceProfile *p = in->profile;
  mp_status st = mp_profile_validate(p);
  if (st != MP_OK) {
    mp_server_fail_status(cd, st);
    return;
  }
  char id[MP_UUID_STRLEN];
  mp_uuid_new(id);
  mp_dbargs a = {0};
  profile_args(&a, p);
  mp_dbargs_text(&a, id);
  PGresult *r = mp_db_exec(s->db,
                           "INSERT INTO profiles (name, load_generators, endpoints, service_mesh, "
                           "concurrent_request, qps, duration, request_headers, request_cookies, "
                           "request_body, content_type, method, options, metadata, id) VALUES "
                           "($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, "
                           "json_object($14::text[]), $15)",
                           &a, &st);
  mp_dbargs_free(&a);
  PQclear(r);
  if (st != MP_OK) {
    fail_write(cd, st, p->name);
    return;
  }
  reply_profile(s, id, done, cd);
}

void mp_profiles_get(mp_server *s, const Meshplane__V1__GetProfileRequest *in,
                     Meshplane__V1__PerformanceProfile_Closure done, void *cd) {
  const char *key = in->id && *in->id ? in->id : in->name;
  if (!key || !*key) {
    mp_rpc_fail(cd, MP_RPC_INVALID_ARGUMENT, "give the profile's id or name");
    return;
  }
  if (in->id && *in->id && !mp_uuid_valid(in->id)) {
    mp_rpc_fail(cd, MP_RPC_INVALID_ARGUMENT,
                "id \"%s\" is not a uuid (to look up by name, use name)", in->id);
    return;
  }
  reply_profile(s, key, done, cd);
}

void mp_profiles_update(mp_server *s, const Meshplane__V1__UpdateProfileRequest *in,
                        Meshplane__V1__PerformanceProfile_Closure done, void *cd) {
  Meshplane__V1__PerformanceProfile *p = in->profile;
  if (!p || !mp_uuid_valid(p->id)) {
    mp_rpc_fail(cd, MP_RPC_INVALID_ARGUMENT,
                "profile.id must be the uuid of the profile to update");
    return;
  }
  mp_status st = mp_profile_validate(p);
  if (st != MP_OK) {
    mp_server_fail_status(cd, st);
    return;
  }
  mp_dbargs a = {0};
  profile_args(&a, p);
  mp_dbargs_text(&a, p->id);
  PGresult *r = mp_db_exec(s->db,
                           "UPDATE profiles SET name = $1, load_generators = $2, endpoints = $3, "
                           "service_mesh = $4, concurrent_request = $5, qps = $6, duration = $7, "
                           "request_headers = $8, request_cookies = $9, request_body = $10, "
                           "content_type = $11, method = $12, options = $13, "
                           "metadata = json_object($14::text[]), updated_at = now() "
                           "WHERE id = $15::uuid",
                           &a, &st);
  mp_dbargs_free(&a);
  bool found = r && strcmp(PQcmdTuples(r), "0") != 0;
  PQclear(r);
  if (st != MP_OK) {
    fail_write(cd, st, p->name);
    return;
  }
  if (!found) {
    mp_rpc_fail(cd, MP_RPC_NOT_FOUND, "no profile with id %s", p->id);
    return;
  }
  reply_profile(s, p->id, done, cd);
}

void mp_profiles_delete(mp_server *s, const Meshplane__V1__DeleteProfileRequest *in,
                        Meshplane__V1__DeleteProfileResponse_Closure done, void *cd) {
  if (!mp_uuid_valid(in->id)) {
    mp_rpc_fail(cd, MP_RPC_INVALID_ARGUMENT, "id \"%s\" is not a uuid", in->id);
    return;
  }
  mp_dbargs a = {0};
  mp_dbargs_text(&a, in->id);
  mp_status st;
  PGresult *r = mp_db_exec(s->db, "DELETE FROM profiles WHERE id = $1::uuid", &a, &st);
  mp_dbargs_free(&a);
  bool found = r && strcmp(PQcmdTuples(r), "0") != 0;
  PQclear(r);
  if (st != MP_OK) {
    mp_server_fail_status(cd, st);
    return;
  }
  if (!found) {
    mp_rpc_fail(cd, MP_RPC_NOT_FOUND, "no profile with id %s", in->id);
    return;
  }
  Meshplane__V1__DeleteProfileResponse resp = MESHPLANE__V1__DELETE_PROFILE_RESPONSE__INIT;
  done(&resp, cd);
}

/* A page token is the id of the last row: the next page starts after it in
 * (lower(name), id) order, so inserts and deletes between pages skip or repeat nothing. */
void mp_profiles_list(mp_server *s, const Meshplane__V1__ListProfilesRequest *in,
                      Meshplane__V1__ListProfilesResponse_Closure done, void *cd) {
  unsigned size = in->page_size ? in->page_size : 50;
  if (size > 1000) size = 1000;
  if (in->page_token && *in->page_token && !mp_uuid_valid(in->page_token)) {
    mp_rpc_fail(cd, MP_RPC_INVALID_ARGUMENT,
                "page_token is not one this server gave out: pass next_page_token back as is");
    return;
  }
  const char *search = in->search ? in->search : "";
  mp_dbargs a = {0};
  mp_dbargs_text(&a, search);
  mp_dbargs_text(&a, in->page_token && *in->page_token ? in->page_token : NULL);
  mp_dbargs_int(&a, (int64_t)size + 1);
  mp_status st;
  PGresult *r = mp_db_exec(
      s->db,
      "SELECT " PROFILE_COLUMNS " FROM profiles p WHERE strpos(lower(p.name), lower($1)) > 0 "
      "AND ($2::uuid IS NULL OR (lower(p.name), p.id) > (SELECT lower(name), id FROM profiles "
      "WHERE id = $2::uuid)) ORDER BY lower(p.name), p.id LIMIT $3",
      &a, &st);
  mp_dbargs_free(&a);
  if (!r) {
    mp_server_fail_status(cd, st);
    return;
  }
  mp_dbargs c = {0};
  mp_dbargs_text(&c, search);
  PGresult *cnt = mp_db_exec(
      s->db, "SELECT count(*) FROM profiles WHERE strpos(lower(name), lower($1)) > 0", &c, &st);
  mp_dbargs_free(&c);
  Meshplane__V1__ListProfilesResponse resp = MESHPLANE__V1__LIST_PROFILES_RESPONSE__INIT;
  int rows = PQntuples(r);
  resp.n_profiles = rows > (int)size ? size : (size_t)rows;
  resp.profiles = mp_calloc(resp.n_profiles + 1, sizeof *resp.profiles);
  for (size_t i = 0; i < resp.n_profiles; i++) resp.profiles[i] = from_row(r, (int)i);
  char token[MP_UUID_STRLEN] = "";
  if (rows > (int)size) mp_strlcpy(token, resp.profiles[size - 1]->id, sizeof token);
  resp.next_page_token = token;
  resp.total = cnt ? (uint64_t)mp_db_int(cnt, 0, 0) : 0;
  done(&resp, cd);
  for (size_t i = 0; i < resp.n_profiles; i++) free_profile(resp.profiles[i]);
  mp_free(resp.profiles);
  PQclear(cnt);
  PQclear(r);
}
