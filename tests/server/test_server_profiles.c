/* meshplane-server profiles against a real PostgreSQL: CRUD, validation messages,
 * paging and search, migrations under concurrency, recovery after a database restart.
 * The server runs as a real process; the test talks gRPC to it. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <libpq-fe.h>

#include "meshplane/rpc.h"
#include "meshplane/v1/server.pb-c.h"
#include "testenv.h"
#include "testproc.h"

#define API (&meshplane__v1__meshplane__descriptor)
#define SERVER_BIN MP_BIN_DIR "/meshplane-server"

static char *conninfo;
static mp_proc server;
static mp_rpc_channel *ch;

static bool start_server(mp_proc *p, const char *db) {
  const char *argv[] = {SERVER_BIN, "--listen",    "127.0.0.1:0", "--database",
                        db,         "--log-level", "warn",        NULL};
  return mp_proc_start(p, argv, 20000);
}

static int setup(void **state) {
  conninfo = mp_testenv_fresh_db("profiles");
  if (!start_server(&server, conninfo)) return -1;
  return mp_rpc_channel_new(server.addr, NULL, &ch) == MP_OK ? 0 : -1;
}

static int teardown(void **state) {
  mp_rpc_channel_free(ch);
  int status = mp_proc_stop(&server, SIGTERM, 15000);
  mp_free(conninfo);
  /* SIGTERM drains and exits 0. */
  return status == 0 ? 0 : -1;
}

static mp_rpc_code rpc(const char *method, const ProtobufCMessage *req, ProtobufCMessage **resp,
                       mp_rpc_status *st) {
  mp_rpc_call_opts o = {.timeout_ms = 10000};
  ProtobufCMessage *dummy = NULL;
  mp_rpc_code c = mp_rpc_unary(ch, API, method, req, resp ? resp : &dummy, &o, st);
  if (dummy) protobuf_c_message_free_unpacked(dummy, NULL);
  return c;
}

static char *endpoints1[] = {"http://127.0.0.1:8080/"};

static Meshplane__V1__PerformanceProfile base_profile(const char *name) {
  Meshplane__V1__PerformanceProfile p = MESHPLANE__V1__PERFORMANCE_PROFILE__INIT;
  p.name = (char *)name;
  p.n_endpoints = 1;
  p.endpoints = endpoints1;
  p.concurrent_request = 4;
  p.qps = 100;
  p.duration = "10s";
  return p;
}

/* Creates a profile and returns it (the caller frees), failing the test on error. */
static Meshplane__V1__PerformanceProfile *create(Meshplane__V1__PerformanceProfile *p) {
  Meshplane__V1__CreateProfileRequest req = MESHPLANE__V1__CREATE_PROFILE_REQUEST__INIT;
  req.profile = p;
  ProtobufCMessage *resp = NULL;
  mp_rpc_status st;
  if (rpc("CreateProfile", &req.base, &resp, &st) != MP_RPC_OK)
    fail_msg("CreateProfile %s: %s", p->name, st.message);
  return (Meshplane__V1__PerformanceProfile *)resp;
}

static void test_create_get_roundtrip(void **state) {
  Meshplane__V1__PerformanceProfile p = base_profile("Istio baseline");
  char *headers[] = {"X-Test: 1", "Authorization: Bearer abc"};
  p.request_headers = headers;
  p.n_request_headers = 2;
  p.request_body.data = (uint8_t *)"{\"a\":1}";
  p.request_body.len = 7;
  p.content_type = "application/json";
  p.service_mesh = "istio";
  p.method = "POST";
  Meshplane__V1__PerformanceProfile__MetadataEntry e1 =
      MESHPLANE__V1__PERFORMANCE_PROFILE__METADATA_ENTRY__INIT;
  e1.key = "team";
  e1.value = "sre \"blue\"";
  Meshplane__V1__PerformanceProfile__MetadataEntry *md[] = {&e1};
  p.metadata = md;
  p.n_metadata = 1;
  Meshplane__V1__LoadOptions opts = MESHPLANE__V1__LOAD_OPTIONS__INIT;
  opts.threads = 2;
  opts.warmup = "2s";
  p.options = &opts;
  Meshplane__V1__PerformanceProfile *c = create(&p);
  assert_true(mp_uuid_valid(c->id));
  assert_string_equal(c->name, "Istio baseline");
  assert_int_equal(c->n_load_generators, 1); /* defaulted */
  assert_string_equal(c->load_generators[0], "meshplane");
  assert_int_equal(c->n_request_headers, 2);
  assert_string_equal(c->request_headers[1], "Authorization: Bearer abc");
  assert_int_equal(c->request_body.len, 7);
  assert_memory_equal(c->request_body.data, "{\"a\":1}", 7);
  assert_string_equal(c->method, "POST");
  assert_int_equal(c->n_metadata, 1);
  assert_string_equal(c->metadata[0]->value, "sre \"blue\"");
  assert_non_null(c->options);
  assert_int_equal(c->options->threads, 2);
  assert_string_equal(c->options->warmup, "2s");
  assert_true(c->created_at_ms > 0 && c->updated_at_ms >= c->created_at_ms);
  assert_int_equal(c->total_results, 0);
  assert_int_equal(c->last_run_ms, 0);

  /* By id and by name (any case). */
  Meshplane__V1__GetProfileRequest g = MESHPLANE__V1__GET_PROFILE_REQUEST__INIT;
  g.id = c->id;
  ProtobufCMessage *resp;
  mp_rpc_status st;
  assert_int_equal(rpc("GetProfile", &g.base, &resp, &st), MP_RPC_OK);
  assert_string_equal(((Meshplane__V1__PerformanceProfile *)resp)->name, "Istio baseline");
  protobuf_c_message_free_unpacked(resp, NULL);
  g.id = "";
  g.name = "ISTIO BASELINE";
  assert_int_equal(rpc("GetProfile", &g.base, &resp, &st), MP_RPC_OK);
  assert_string_equal(((Meshplane__V1__PerformanceProfile *)resp)->id, c->id);
  protobuf_c_message_free_unpacked(resp, NULL);
  g.name = "nope";
  assert_int_equal(rpc("GetProfile", &g.base, NULL, &st), MP_RPC_NOT_FOUND);
  assert_non_null(strstr(st.message, "no profile \"nope\""));
  g.name = "";
  g.id = "12345";
  assert_int_equal(rpc("GetProfile", &g.base, NULL, &st), MP_RPC_INVALID_ARGUMENT);

  /* Names are unique, ignoring case. */
  Meshplane__V1__PerformanceProfile dup = base_profile("istio BASELINE");
  Meshplane__V1__CreateProfileRequest req = MESHPLANE__V1__CREATE_PROFILE_REQUEST__INIT;
  req.profile = &dup;
  assert_int_equal(rpc("CreateProfile", &req.base, NULL, &st), MP_RPC_ALREADY_EXISTS);
  assert_non_null(strstr(st.message, "already exists"));
  protobuf_c_message_free_unpacked(&c->base, NULL);
}

typedef struct bad_case {
  const char *what;
  void (*mutate)(Meshplane__V1__PerformanceProfile *p);
  const char *expect;
} bad_case;

static char *bad_url[] = {"ftp://host/x"};
static char *no_host[] = {"http:///path"};
static char *bad_port[] = {"http://h:99999/"};
static char *bad_header[] = {"NoColonHere"};
static char *bad_header_name[] = {"Bad Name: v"};
static char *bad_gen[] = {"jmeter"};
static void m_noname(Meshplane__V1__PerformanceProfile *p) { p->name = ""; }
static void m_noep(Meshplane__V1__PerformanceProfile *p) { p->n_endpoints = 0; }
static void m_url(Meshplane__V1__PerformanceProfile *p) { p->endpoints = bad_url; }
static void m_host(Meshplane__V1__PerformanceProfile *p) { p->endpoints = no_host; }
static void m_port(Meshplane__V1__PerformanceProfile *p) { p->endpoints = bad_port; }
static void m_qps(Meshplane__V1__PerformanceProfile *p) { p->qps = -1; }
static void m_conc(Meshplane__V1__PerformanceProfile *p) { p->concurrent_request = 0; }
static void m_dur(Meshplane__V1__PerformanceProfile *p) { p->duration = "10"; }
static void m_dur0(Meshplane__V1__PerformanceProfile *p) { p->duration = "0s"; }
static void m_nodur(Meshplane__V1__PerformanceProfile *p) { p->duration = ""; }
static void m_gen(Meshplane__V1__PerformanceProfile *p) {
  p->load_generators = bad_gen;
  p->n_load_generators = 1;
}
static void m_hdr(Meshplane__V1__PerformanceProfile *p) {
  p->request_headers = bad_header;
  p->n_request_headers = 1;
}
static void m_hdrname(Meshplane__V1__PerformanceProfile *p) {
  p->request_headers = bad_header_name;
  p->n_request_headers = 1;
}

static void test_validation(void **state) {
  static const bad_case cases[] = {
      {"no name", m_noname, "name is required"},
      {"no endpoints", m_noep, "endpoints is empty"},
      {"ftp url", m_url, "use http://, https://, grpc://"},
      {"no host", m_host, "has no host"},
      {"bad port", m_port, "port must be 1..65535"},
      {"negative qps", m_qps, "qps must be >= 0"},
      {"zero connections", m_conc, "use at least 1 connection"},
      {"duration without unit", m_dur, "missing unit"},
      {"zero duration", m_dur0, "greater than zero"},
      {"no duration", m_nodur, "duration is required"},
      {"unknown generator", m_gen, "unknown load generator \"jmeter\""},
      {"header without colon", m_hdr, "write \"Name: value\""},
      {"header name with space", m_hdrname, "may not contain ' '"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    Meshplane__V1__PerformanceProfile p = base_profile("valid name");
    cases[i].mutate(&p);
    Meshplane__V1__CreateProfileRequest req = MESHPLANE__V1__CREATE_PROFILE_REQUEST__INIT;
    req.profile = &p;
    mp_rpc_status st;
    mp_rpc_code code = rpc("CreateProfile", &req.base, NULL, &st);
    if (code != MP_RPC_INVALID_ARGUMENT || !strstr(st.message, cases[i].expect))
      fail_msg("%s: got %s \"%s\", want INVALID_ARGUMENT with \"%s\"", cases[i].what,
               mp_rpc_code_name(code), st.message, cases[i].expect);
  }
}

static void test_update_delete(void **state) {
  Meshplane__V1__PerformanceProfile p = base_profile("to update");
  Meshplane__V1__PerformanceProfile *c = create(&p);
  Meshplane__V1__PerformanceProfile other = base_profile("taken name");
  Meshplane__V1__PerformanceProfile *o = create(&other);
  mp_sleep_ms(5);
  c->qps = 250;
  mp_free(c->duration);
  c->duration = mp_strdup("1m");
  Meshplane__V1__UpdateProfileRequest u = MESHPLANE__V1__UPDATE_PROFILE_REQUEST__INIT;
  u.profile = c;
  ProtobufCMessage *resp;
  mp_rpc_status st;
  assert_int_equal(rpc("UpdateProfile", &u.base, &resp, &st), MP_RPC_OK);
  Meshplane__V1__PerformanceProfile *up = (Meshplane__V1__PerformanceProfile *)resp;
  assert_true(up->qps == 250);
  assert_string_equal(up->duration, "1m");
  assert_true(up->updated_at_ms > up->created_at_ms);
  protobuf_c_message_free_unpacked(resp, NULL);
  /* Renaming onto another profile's name is refused; so is an unknown id. */
  char *name = c->name;
  c->name = "TAKEN NAME";
  assert_int_equal(rpc("UpdateProfile", &u.base, NULL, &st), MP_RPC_ALREADY_EXISTS);
  c->name = name;
  char *id = c->id;
  c->id = "00000000-0000-4000-8000-000000000000";
  assert_int_equal(rpc("UpdateProfile", &u.base, NULL, &st), MP_RPC_NOT_FOUND);
  c->id = id;

  Meshplane__V1__DeleteProfileRequest d = MESHPLANE__V1__DELETE_PROFILE_REQUEST__INIT;
  d.id = c->id;
  assert_int_equal(rpc("DeleteProfile", &d.base, NULL, &st), MP_RPC_OK);
  assert_int_equal(rpc("DeleteProfile", &d.base, NULL, &st), MP_RPC_NOT_FOUND);
  Meshplane__V1__GetProfileRequest g = MESHPLANE__V1__GET_PROFILE_REQUEST__INIT;
  g.id = c->id;
  assert_int_equal(rpc("GetProfile", &g.base, NULL, &st), MP_RPC_NOT_FOUND);
  protobuf_c_message_free_unpacked(&c->base, NULL);
  protobuf_c_message_free_unpacked(&o->base, NULL);
}

static void test_list_paging_search(void **state) {
  char names[7][32];
  for (int i = 0; i < 7; i++) {
    snprintf(names[i], sizeof names[i], "page-%d", i);
    Meshplane__V1__PerformanceProfile p = base_profile(names[i]);
    protobuf_c_message_free_unpacked(&create(&p)->base, NULL);
  }
  Meshplane__V1__ListProfilesRequest l = MESHPLANE__V1__LIST_PROFILES_REQUEST__INIT;
  l.page_size = 3;
  l.search = "PAGE-";
  int seen = 0, pages = 0;
  char token[64] = "";
  do {
    l.page_token = token;
    ProtobufCMessage *resp;
    mp_rpc_status st;
    assert_int_equal(rpc("ListProfiles", &l.base, &resp, &st), MP_RPC_OK);
    Meshplane__V1__ListProfilesResponse *r = (Meshplane__V1__ListProfilesResponse *)resp;
    assert_int_equal(r->total, 7);
    for (size_t i = 0; i < r->n_profiles; i++) {
      assert_string_equal(r->profiles[i]->name, names[seen]); /* ordered by name */
      seen++;
    }
    mp_strlcpy(token, r->next_page_token, sizeof token);
    pages++;
    protobuf_c_message_free_unpacked(resp, NULL);
  } while (*token);
  assert_int_equal(seen, 7);
  assert_int_equal(pages, 3);
  l.page_token = "garbage";
  mp_rpc_status st;
  assert_int_equal(rpc("ListProfiles", &l.base, NULL, &st), MP_RPC_INVALID_ARGUMENT);
}

static void test_database_restart(void **state) {
  Meshplane__V1__PerformanceProfile p = base_profile("survives restart");
  protobuf_c_message_free_unpacked(&create(&p)->base, NULL);
  mp_services_cmd("pg-restart");
  /* The pool's connections are broken now; the next call must still succeed. */
  for (int i = 0; i < 3; i++) {
    Meshplane__V1__GetProfileRequest g = MESHPLANE__V1__GET_PROFILE_REQUEST__INIT;
    g.name = "survives restart";
    ProtobufCMessage *resp;
    mp_rpc_status st;
    if (rpc("GetProfile", &g.base, &resp, &st) != MP_RPC_OK)
      fail_msg("after PostgreSQL restart, call %d: %s", i, st.message);
    protobuf_c_message_free_unpacked(resp, NULL);
  }
}

static void test_concurrent_migrations(void **state) {
  /* Two servers on one empty database start together: both come up, each migration is
   * recorded once. */
  char *db = mp_testenv_fresh_db("migrate");
  mp_proc a, b;
  const char *argv[] = {SERVER_BIN, "--listen",    "127.0.0.1:0", "--database",
                        db,         "--log-level", "warn",        NULL};
  assert_true(mp_proc_start(&a, argv, 20000));
  assert_true(mp_proc_start(&b, argv, 20000));
  PGconn *pg = PQconnectdb(db);
  PGresult *r = PQexec(pg, "SELECT version, count(*) FROM schema_migrations GROUP BY version");
  assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
  assert_true(PQntuples(r) >= 1);
  for (int i = 0; i < PQntuples(r); i++) assert_string_equal(PQgetvalue(r, i, 1), "1");
  PQclear(r);
  PQfinish(pg);
  assert_int_equal(mp_proc_stop(&a, SIGTERM, 15000), 0);
  assert_int_equal(mp_proc_stop(&b, SIGTERM, 15000), 0);
  mp_free(db);
}

static Meshplane__V1__PerformanceProfile *import(const char *doc, const char *name,
                                                 mp_rpc_code want, mp_rpc_status *st) {
  Meshplane__V1__ImportProfileRequest req = MESHPLANE__V1__IMPORT_PROFILE_REQUEST__INIT;
  req.document = (char *)doc;
  req.name = (char *)name;
  ProtobufCMessage *resp = NULL;
  mp_rpc_code code = rpc("ImportProfile", &req.base, &resp, st);
  if (code != want) fail_msg("ImportProfile: %s %s", mp_rpc_code_name(code), st->message);
  return (Meshplane__V1__PerformanceProfile *)resp;
}

static void test_import_smp(void **state) {
  static const char yaml[] = "smp_version: v0.0.1\n"
                             "id: 4f6d4b34-1111-4222-8333-444444444444\n"
                             "name: bookinfo-productpage\n"
                             "labels:\n  mesh: istio\n  team: sre\n"
                             "clients:\n"
                             "  - internal: false\n"
                             "    load_generator: fortio\n"
                             "    protocol: http\n"
                             "    connections: 8\n"
                             "    rps: 250\n"
                             "    headers:\n      X-Env: test\n"
                             "    cookies:\n      session: abc\n"
                             "    body: '{\"q\": 1}'\n"
                             "    content_type: application/json\n"
                             "    endpoint_urls:\n      - http://productpage:9080/productpage\n"
                             "duration: 30s\n";
  mp_rpc_status st;
  Meshplane__V1__PerformanceProfile *p = import(yaml, NULL, MP_RPC_OK, &st);
  assert_string_equal(p->name, "bookinfo-productpage");
  assert_string_equal(p->duration, "30s");
  assert_int_equal(p->concurrent_request, 8);
  assert_true(p->qps == 250);
  assert_string_equal(p->load_generators[0], "fortio");
  assert_string_equal(p->endpoints[0], "http://productpage:9080/productpage");
  assert_string_equal(p->request_headers[0], "X-Env: test");
  assert_string_equal(p->request_cookies, "session=abc");
  assert_int_equal(p->request_body.len, 8);
  assert_string_equal(p->content_type, "application/json");
  assert_string_equal(p->service_mesh, "istio");
  protobuf_c_message_free_unpacked(&p->base, NULL);

  /* The JSON form with the proto JSON mapping's camelCase, and a name override. */
  static const char json[] =
      "{\"smpVersion\": \"v0.0.1\", \"name\": \"x\", \"duration\": \"5s\", \"clients\": "
      "[{\"loadGenerator\": \"wrk2\", \"connections\": 2, \"rps\": 10, "
      "\"endpointUrls\": [\"https://a.example:8443/\"]}]}";
  p = import(json, "from json", MP_RPC_OK, &st);
  assert_string_equal(p->name, "from json");
  assert_string_equal(p->load_generators[0], "wrk2");
  assert_string_equal(p->endpoints[0], "https://a.example:8443/");
  protobuf_c_message_free_unpacked(&p->base, NULL);

  /* Bad documents: clear messages, nothing created. */
  import("name: [unclosed", NULL, MP_RPC_INVALID_ARGUMENT, &st);
  assert_non_null(strstr(st.message, "not valid YAML or JSON (line"));
  import("name: n\nduration: 1s\n", NULL, MP_RPC_INVALID_ARGUMENT, &st);
  assert_non_null(strstr(st.message, "no clients"));
  import("name: n\nduration: 1s\nclients: [{connections: 1, endpoint_urls: [ftp://x/]}]\n", NULL,
         MP_RPC_INVALID_ARGUMENT, &st);
  assert_non_null(strstr(st.message, "ftp://x/"));
}

static void test_bad_database(void **state) {
  /* A database that does not answer: a clear message and exit 1, not a hang. */
  mp_proc p;
  const char *argv[] = {SERVER_BIN,
                        "--listen",
                        "127.0.0.1:0",
                        "--database",
                        "host=127.0.0.1 port=1 dbname=x connect_timeout=1",
                        "--db-wait",
                        "1s",
                        NULL};
  assert_false(mp_proc_start(&p, argv, 10000));
}

int main(void) {
  mp_rpc_init();
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_create_get_roundtrip), cmocka_unit_test(test_validation),
      cmocka_unit_test(test_update_delete),        cmocka_unit_test(test_list_paging_search),
      cmocka_unit_test(test_database_restart),     cmocka_unit_test(test_concurrent_migrations),
      cmocka_unit_test(test_import_smp),           cmocka_unit_test(test_bad_database),
  };
  int rc = cmocka_run_group_tests(tests, setup, teardown);
  mp_rpc_shutdown();
  return rc;
}
