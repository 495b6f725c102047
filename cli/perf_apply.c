/* meshctl perf apply: create or update a profile (flags over an SMP file over what the
 * server has), run it with live progress, print the result. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "profile_edit.h"
#include "progress.h"

typedef struct apply_flags {
  mp_strlist urls, headers, generators;
  char *mesh, *duration, *file, *body, *content_type, *method, *protocol, *name, *qps, *conns;
  int64_t workers;
  bool no_run, quiet;
} apply_flags;

static const char apply_usage[] = "NAME [--url URL] [flags]";
static const char apply_epilog[] =
    "Creates the profile NAME, or updates it when it exists (only what you pass changes),\n"
    "then runs it on the server's loadgen workers and prints the result. With -f, the SMP\n"
    "PerformanceTestConfig (YAML or JSON) gives the profile; flags override it. A new\n"
    "profile needs --url; it defaults to 1 connection, max rate and 30s.\n"
    "Progress goes to stdout (to stderr with -o json|yaml), redrawn on a terminal, one\n"
    "line per second elsewhere. Ctrl-C cancels the run. Exit status 5 when the run does\n"
    "not complete.\n\n"
    "Example:\n"
    "  meshctl perf apply istio-canary --url http://productpage:9080/ --mesh istio \\\n"
    "      --qps 500 --concurrent-requests 8 --duration 1m";

/* Applies the SMP file and the flags to p. 0 or an exit code (printed). */
static int edit_profile(mctl_ctx *c, const apply_flags *f, Meshplane__V1__PerformanceProfile *p,
                        bool created) {
  if (*f->file) {
    char *doc;
    size_t len;
    int rc = mctl_read_file(c, f->file, &doc, &len);
    if (rc) return rc;
    mp_status st = mctl_smp_read(doc, len, p);
    mp_free(doc);
    if (st != MP_OK) return mctl_fail(c, MCTL_EXIT_USAGE, "%s: %s", f->file, mp_error_last());
  }
  if (f->urls.len) mctl_set_strs(&p->endpoints, &p->n_endpoints, f->urls.items, f->urls.len);
  if (f->headers.len)
    mctl_set_strs(&p->request_headers, &p->n_request_headers, f->headers.items, f->headers.len);
  if (f->generators.len)
    mctl_set_strs(&p->load_generators, &p->n_load_generators, f->generators.items,
                  f->generators.len);
  if (*f->mesh) mctl_set_str(&p->service_mesh, f->mesh);
  if (*f->duration) {
    int64_t ns;
    if (mp_duration_parse(f->duration, &ns) != MP_OK || ns <= 0)
      return mctl_fail(c, MCTL_EXIT_USAGE, "--duration %s: give a duration like 30s, 2m or 1h30m",
                       f->duration);
    mctl_set_str(&p->duration, f->duration);
  }
  if (*f->qps) {
    char *end;
    double q = strtod(f->qps, &end);
    if (*end || end == f->qps || !(q >= 0 && q < 1e9))
      return mctl_fail(c, MCTL_EXIT_USAGE, "--qps %s: give requests per second, 0 for max", f->qps);
    p->qps = q;
  }
  if (*f->conns) {
    char *end;
    long n = strtol(f->conns, &end, 10);
    if (*end || end == f->conns || n < 1 || n > 100000)
      return mctl_fail(c, MCTL_EXIT_USAGE, "--concurrent-requests %s: give 1..100000", f->conns);
    p->concurrent_request = (int32_t)n;
  }
  if (*f->body) {
    if (f->body[0] == '@') {
      char *data;
      size_t len;
      int rc = mctl_read_file(c, f->body + 1, &data, &len);
      if (rc) return rc;
      mctl_set_bytes(&p->request_body, data, len);
      mp_free(data);
    } else {
      mctl_set_bytes(&p->request_body, f->body, strlen(f->body));
    }
  }
  if (*f->content_type) mctl_set_str(&p->content_type, f->content_type);
  if (*f->method) mctl_set_str(&p->method, f->method);
  if (*f->protocol) {
    Meshplane__V1__Protocol pr;
    if (!mctl_parse_protocol(f->protocol, &pr))
      return mctl_fail(c, MCTL_EXIT_USAGE, "--protocol %s: use auto, http1, http2 or grpc",
                       f->protocol);
    mctl_profile_options(p)->protocol = pr;
  }
  if (f->workers > 0) mctl_profile_options(p)->workers = (uint32_t)f->workers;
  if (created) {
    if (!p->concurrent_request) p->concurrent_request = 1;
    if (!p->duration || !*p->duration) mctl_set_str(&p->duration, "30s");
  }
  if (!p->n_endpoints)
    return mctl_fail(c, MCTL_EXIT_USAGE,
                     "profile %s has no URL to load: pass --url http://HOST:PORT/PATH (or "
                     "endpoint_urls in the -f file)",
                     p->name);
  return 0;
}

/* Saves p: UpdateProfile when it has an id, CreateProfile otherwise. *saved is the
 * server's copy (caller frees). */
static int save_profile(mctl_ctx *c, Meshplane__V1__PerformanceProfile *p,
                        Meshplane__V1__PerformanceProfile **saved) {
  if (p->id && *p->id) {
    Meshplane__V1__UpdateProfileRequest req = MESHPLANE__V1__UPDATE_PROFILE_REQUEST__INIT;
    req.profile = p;
    return mctl_call(c, "UpdateProfile", &req.base, (ProtobufCMessage **)saved,
                     "update the profile");
  }
  Meshplane__V1__CreateProfileRequest req = MESHPLANE__V1__CREATE_PROFILE_REQUEST__INIT;
  req.profile = p;
  return mctl_call(c, "CreateProfile", &req.base, (ProtobufCMessage **)saved, "create the profile");
}

static bool completed(Meshplane__V1__RunStatus s) {
  return s == MESHPLANE__V1__RUN_STATUS__RUN_STATUS_COMPLETED;
}

static const char *status_name(Meshplane__V1__RunStatus s) {
  return mctl_enum_name(&meshplane__v1__run_status__descriptor, (int)s, "RUN_STATUS_");
}

/* Runs the profile and reports. Returns the exit code. */
static int run(mctl_ctx *c, const Meshplane__V1__PerformanceProfile *p, bool quiet) {
  Meshplane__V1__RunProfileRequest req = MESHPLANE__V1__RUN_PROFILE_REQUEST__INIT;
  req.profile_id = p->id;
  mp_rpc_stream *s;
  int rc = mctl_stream(c, "RunProfile", &req.base, 0, &s, "run the profile");
  if (rc) return rc;
  mctl_interrupt_watch(s);
  int64_t dur_ns = 0;
  mp_duration_parse(p->duration, &dur_ns);
  FILE *pf = quiet ? NULL : c->format == MCTL_TABLE ? stdout : stderr;
  mctl_progress prog;
  mctl_progress_init(&prog, pf, dur_ns / MP_NS_PER_MS);
  char run_id[MP_UUID_STRLEN] = "";
  Meshplane__V1__Result *result = NULL;
  ProtobufCMessage *m;
  mp_rpc_status st;
  while (mp_rpc_stream_next(s, &m, &st)) {
    Meshplane__V1__RunUpdate *u = (Meshplane__V1__RunUpdate *)m;
    if (u->update_case == MESHPLANE__V1__RUN_UPDATE__UPDATE_RUN && u->run) {
      if (!*run_id && pf)
        fprintf(pf, "run %s of profile %s started (Ctrl-C cancels it)\n", u->run->id, p->name);
      mp_strlcpy(run_id, u->run->id, sizeof run_id);
    } else if (u->update_case == MESHPLANE__V1__RUN_UPDATE__UPDATE_PROGRESS && u->progress) {
      if (!*run_id) mp_strlcpy(run_id, u->progress->run_id, sizeof run_id);
      mctl_progress_update(&prog, u->progress);
    } else if (u->update_case == MESHPLANE__V1__RUN_UPDATE__UPDATE_RESULT && u->result) {
      result = u->result;
      u->result = NULL; /* keep it */
      if (!*run_id) mp_strlcpy(run_id, result->run_id, sizeof run_id);
    }
    protobuf_c_message_free_unpacked(m, NULL);
  }
  mctl_interrupt_watch(NULL);
  mp_rpc_stream_free(s);
  mctl_progress_end(&prog);

  if (mctl_interrupted() && *run_id && !result) {
    Meshplane__V1__CancelRunRequest creq = MESHPLANE__V1__CANCEL_RUN_REQUEST__INIT;
    creq.run_id = run_id;
    ProtobufCMessage *resp = NULL;
    mp_rpc_status cst;
    mctl_call_st(c, "CancelRun", &creq.base, &resp, &cst);
    if (resp) protobuf_c_message_free_unpacked(resp, NULL);
    return mctl_fail(c, MCTL_EXIT_RUN_FAILED, "run %s cancelled", run_id);
  }
  if (!result && st.code != MP_RPC_OK) {
    rc = mctl_fail_rpc(c, "follow the run", &st);
    if (*run_id) fprintf(stderr, "The run %s may still be going on the server.\n", run_id);
    return rc;
  }
  if (result) {
    if (c->format == MCTL_TABLE) {
      if (pf) fputc('\n', stdout);
      mctl_print_result_view(result);
    } else {
      mctl_print_message(c, &result->base);
    }
    rc = 0;
    if (!completed(result->status))
      rc = mctl_fail(c, MCTL_EXIT_RUN_FAILED, "run %s ended %s%s%s", result->run_id,
                     status_name(result->status), *result->error ? ": " : "", result->error);
    protobuf_c_message_free_unpacked(&result->base, NULL);
    return rc;
  }
  /* The stream ended without a result: the run failed before any worker measured. */
  if (!*run_id) return mctl_fail(c, MCTL_EXIT_FAILURE, "the server ended the run without news");
  Meshplane__V1__GetRunRequest greq = MESHPLANE__V1__GET_RUN_REQUEST__INIT;
  greq.run_id = run_id;
  ProtobufCMessage *resp;
  if ((rc = mctl_call(c, "GetRun", &greq.base, &resp, "get the run")) != 0) return rc;
  Meshplane__V1__Run *r = (Meshplane__V1__Run *)resp;
  if (c->format != MCTL_TABLE) mctl_print_message(c, resp);
  rc = completed(r->status) ? 0
                            : mctl_fail(c, MCTL_EXIT_RUN_FAILED, "run %s %s%s%s", r->id,
                                        status_name(r->status), *r->error ? ": " : "", r->error);
  protobuf_c_message_free_unpacked(resp, NULL);
  return rc;
}

/* Moves every value of a repeatable flag (--name V, --name=V, -s V) out of argv into l,
 * before the flag parser sees them: list flags split values on commas, and a header
 * ("Accept: text/html, text/plain") or a URL may contain commas. Returns the new argc. */
static int take_values(int argc, char **argv, const char *name, char short_name, mp_strlist *l) {
  int n = 1;
  size_t nl = strlen(name);
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "--")) {
      while (i < argc) argv[n++] = argv[i++];
      break;
    }
    bool is_long = a[0] == '-' && a[1] == '-' && !strncmp(a + 2, name, nl);
    if (is_long && a[2 + nl] == '=') {
      mp_strlist_push(l, a + 3 + nl);
    } else if (((is_long && !a[2 + nl]) || (a[0] == '-' && a[1] == short_name && !a[2])) &&
               i + 1 < argc) {
      mp_strlist_push(l, argv[++i]);
    } else {
      argv[n++] = argv[i];
    }
  }
  argv[n] = NULL;
  return n;
}

int mctl_perf_apply(mctl_ctx *c, int argc, char **argv) {
  static apply_flags f; /* static: the flag parser frees its strings after we return */
  f = (apply_flags){.mesh = "",
                    .duration = "",
                    .file = "",
                    .body = "",
                    .content_type = "",
                    .method = "",
                    .protocol = "",
                    .name = "",
                    .qps = "",
                    .conns = ""};
  const mp_flag flags[] = {
      {"url", 'u', MP_FLAG_LIST, &f.urls, NULL, "URL to load (repeatable)", "URL"},
      {"mesh", 0, MP_FLAG_STRING, &f.mesh, NULL, "service mesh under test (istio, nginx, none...)",
       "NAME"},
      {"qps", 0, MP_FLAG_STRING, &f.qps, NULL, "requests per second for the whole run (0 = max)",
       "N"},
      {"concurrent-requests", 'c', MP_FLAG_STRING, &f.conns, NULL, "connections", "N"},
      {"duration", 'd', MP_FLAG_STRING, &f.duration, NULL, "how long to load (30s, 5m)", "DUR"},
      {"load-generator", 'g', MP_FLAG_LIST, &f.generators, NULL,
       "meshplane (fortio, wrk2, nighthawk accepted as aliases)", "NAME"},
      {"file", 'f', MP_FLAG_STRING, &f.file, NULL, "SMP PerformanceTestConfig, YAML or JSON",
       "FILE"},
      {"header", 'H', MP_FLAG_LIST, &f.headers, NULL, "request header \"Name: value\" (repeatable)",
       "HEADER"},
      {"body", 0, MP_FLAG_STRING, &f.body, NULL, "request body, or @FILE", "BODY"},
      {"content-type", 0, MP_FLAG_STRING, &f.content_type, NULL, "request Content-Type", "TYPE"},
      {"method", 0, MP_FLAG_STRING, &f.method, NULL, "HTTP method (GET; POST with a body)",
       "METHOD"},
      {"protocol", 0, MP_FLAG_STRING, &f.protocol, NULL, "auto, http1, http2 or grpc", "PROTO"},
      {"workers", 0, MP_FLAG_INT, &f.workers, NULL, "loadgen workers to share the run (0 = all)",
       "N"},
      {"name", 0, MP_FLAG_STRING, &f.name, NULL, "profile name (instead of NAME)", "NAME"},
      {"no-run", 0, MP_FLAG_BOOL, &f.no_run, NULL, "save the profile without running it", NULL},
      {"quiet", 'q', MP_FLAG_BOOL, &f.quiet, NULL, "no progress output", NULL},
  };
  /* The parser would find none of these any more: they are listed for --help. */
  argc = take_values(argc, argv, "url", 'u', &f.urls);
  argc = take_values(argc, argv, "header", 'H', &f.headers);
  int nargs, rc;
  if (!mctl_parse(c, apply_usage, apply_epilog, flags, MP_ARRAY_LEN(flags), false, argc, argv,
                  &nargs, &rc))
    return rc;
  const char *name = *f.name ? f.name : nargs > 0 ? argv[0] : NULL;
  if (nargs > (*f.name ? 0 : 1))
    return mctl_fail(c, MCTL_EXIT_USAGE, "unexpected argument \"%s\": give one profile NAME",
                     argv[nargs - 1]);
  Meshplane__V1__PerformanceProfile *p = NULL;
  /* Without a NAME, the -f document names the profile. */
  char *smp_name = NULL;
  if (!name && *f.file) {
    Meshplane__V1__PerformanceProfile *tmp = mctl_profile_new();
    char *doc;
    size_t len;
    if ((rc = mctl_read_file(c, f.file, &doc, &len)) != 0) {
      protobuf_c_message_free_unpacked(&tmp->base, NULL);
      return rc;
    }
    if (mctl_smp_read(doc, len, tmp) == MP_OK && *tmp->name) smp_name = mp_strdup(tmp->name);
    mp_free(doc);
    protobuf_c_message_free_unpacked(&tmp->base, NULL);
    name = smp_name;
  }
  if (!name || !*name) {
    mp_free(smp_name);
    return mctl_fail(c, MCTL_EXIT_USAGE,
                     "give the profile a NAME: meshctl perf apply NAME --url URL ...");
  }
  rc = mctl_get_profile(c, name, true, &p);
  bool created = rc == MCTL_EXIT_NOT_FOUND;
  if (created) {
    p = mctl_profile_new();
    mctl_set_str(&p->name, name);
    rc = 0;
  }
  Meshplane__V1__PerformanceProfile *saved = NULL;
  if (rc == 0) rc = edit_profile(c, &f, p, created);
  if (rc == 0 && strcmp(p->name, name)) mctl_set_str(&p->name, name); /* NAME wins over -f */
  if (rc == 0) rc = save_profile(c, p, &saved);
  if (rc == 0) {
    FILE *info = c->format == MCTL_TABLE ? stdout : stderr;
    fprintf(info, "profile %s %s (id %s)\n", saved->name, created ? "created" : "updated",
            saved->id);
    if (f.no_run && c->format != MCTL_TABLE) mctl_print_message(c, &saved->base);
    if (!f.no_run) rc = run(c, saved, f.quiet);
  }
  if (p) protobuf_c_message_free_unpacked(&p->base, NULL);
  if (saved) protobuf_c_message_free_unpacked(&saved->base, NULL);
  mp_free(smp_name);
  return rc;
}
