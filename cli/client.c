/* meshctl's side of the wire: global flags, the channel, calls with exit-code mapping and
 * messages that say what to do, and the lookups commands share. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli.h"

bool mctl_parse(mctl_ctx *c, const char *usage, const char *epilog, const mp_flag *flags,
                size_t nflags, bool file_output, int argc, char **argv, int *nargs,
                int *exit_code) {
  *exit_code = MCTL_EXIT_OK;
  c->server = "127.0.0.1:9600";
  c->token = "";
  c->tls_ca = "";
  c->output = "table";
  c->timeout_ns = 30 * MP_NS_PER_S;
  const mp_flag global[] = {
      {"server", 0, MP_FLAG_STRING, &c->server, "MESHPLANE_SERVER", "meshplane-server address",
       "HOST:PORT"},
      {"token", 0, MP_FLAG_STRING, &c->token, "MESHPLANE_TOKEN", "bearer token the server requires",
       "TOKEN"},
      {"tls-ca", 0, MP_FLAG_STRING, &c->tls_ca, "MESHPLANE_TLS_CA",
       "verify the server's TLS certificate with this CA bundle (PEM); implies --tls", "FILE"},
      {"tls", 0, MP_FLAG_BOOL, &c->tls, "MESHPLANE_TLS",
       "connect with TLS, verifying with the system's roots", NULL},
      {"timeout", 0, MP_FLAG_DURATION, &c->timeout_ns, "MESHPLANE_TIMEOUT",
       "deadline of each request to the server", "DUR"},
      {"output", 'o', MP_FLAG_STRING, &c->output, NULL, "output format: table, json or yaml",
       "FORMAT"},
  };
  size_t nglobal = MP_ARRAY_LEN(global) - (file_output ? 1 : 0);
  c->nflags = nflags + nglobal;
  c->flags = mp_calloc(c->nflags, sizeof *c->flags);
  if (nflags) memcpy(c->flags, flags, nflags * sizeof *flags);
  memcpy(c->flags + nflags, global, nglobal * sizeof *global);
  char name[96];
  snprintf(name, sizeof name, "meshctl %s", c->cmd);
  mp_program prog = {name, c->summary ? c->summary : "", usage, epilog};
  int rc = mp_flags_parse(&prog, c->flags, c->nflags, argc, argv, nargs);
  if (rc != 0) {
    *exit_code = rc > 0 ? MCTL_EXIT_OK : MCTL_EXIT_USAGE;
    return false;
  }
  if (!strcasecmp(c->output, "table") || !strcasecmp(c->output, "wide")) {
    c->format = MCTL_TABLE;
  } else if (!strcasecmp(c->output, "json")) {
    c->format = MCTL_JSON;
  } else if (!strcasecmp(c->output, "yaml") || !strcasecmp(c->output, "yml")) {
    c->format = MCTL_YAML;
  } else {
    *exit_code = mctl_fail(c, MCTL_EXIT_USAGE, "-o %s: use table, json or yaml", c->output);
    return false;
  }
  return true;
}

void mctl_ctx_free(mctl_ctx *c) {
  mp_rpc_channel_free(c->ch);
  c->ch = NULL;
  /* The parser owns every string it stored (c->output stays a literal when the command
   * has no -o FORMAT). */
  if (c->flags) mp_flags_free(c->flags, c->nflags);
  mp_free(c->flags);
  c->flags = NULL;
}

int mctl_fail(mctl_ctx *c, int code, const char *fmt, ...) {
  char msg[2048];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  fflush(stdout);
  fprintf(stderr, "meshctl%s%s: %s\n", c && c->cmd ? " " : "", c && c->cmd ? c->cmd : "", msg);
  return code;
}

int mctl_exit_for_code(mp_rpc_code code) {
  switch (code) {
  case MP_RPC_OK: return MCTL_EXIT_OK;
  case MP_RPC_INVALID_ARGUMENT:
  case MP_RPC_OUT_OF_RANGE:
  case MP_RPC_ALREADY_EXISTS: return MCTL_EXIT_USAGE;
  case MP_RPC_NOT_FOUND: return MCTL_EXIT_NOT_FOUND;
  case MP_RPC_UNAVAILABLE:
  case MP_RPC_DEADLINE_EXCEEDED: return MCTL_EXIT_UNREACHABLE;
  case MP_RPC_UNAUTHENTICATED:
  case MP_RPC_PERMISSION_DENIED: return MCTL_EXIT_AUTH;
  default: return MCTL_EXIT_FAILURE;
  }
}

int mctl_fail_rpc(mctl_ctx *c, const char *what, const mp_rpc_status *st) {
  const char *msg = st->message;
  char prefix[300];
  snprintf(prefix, sizeof prefix, "cannot reach %s: ", c->server);
  if (!strncmp(msg, prefix, strlen(prefix))) msg += strlen(prefix);
  /* gRPC's "failed to connect to all addresses; last error: UNKNOWN: ipv4:...: Failed to
   * connect to remote host: Connection refused" says it best in its last part. */
  const char *last = strstr(msg, "last error:") ? strrchr(msg, ':') : NULL;
  if (last && last[1] == ' ' && last[2]) msg = last + 2;
  int code = mctl_exit_for_code(st->code);
  bool connected = c->ch && mp_rpc_channel_wait_ready(c->ch, 0);
  if (st->code == MP_RPC_UNAVAILABLE && !connected) {
    const char *tls_hint = *c->tls_ca || c->tls
                               ? "; if it serves plain gRPC drop --tls/--tls-ca, otherwise check "
                                 "that the CA signed its certificate"
                               : "; if it serves TLS pass --tls-ca FILE (env MESHPLANE_TLS_CA)";
    return mctl_fail(c, code,
                     "cannot reach meshplane-server at %s (%s): start it, or pass --server "
                     "HOST:PORT (env MESHPLANE_SERVER)%s",
                     c->server, msg, tls_hint);
  }
  if (st->code == MP_RPC_DEADLINE_EXCEEDED)
    return mctl_fail(c, code,
                     "%s: meshplane-server at %s did not answer within --timeout (%s): it may be "
                     "overloaded; try again or raise --timeout",
                     what, c->server, msg);
  if (code == MCTL_EXIT_AUTH)
    return mctl_fail(c, code,
                     "%s: the server refused the request (%s): pass the server's token with "
                     "--token or MESHPLANE_TOKEN",
                     what, msg);
  if (st->code == MP_RPC_UNIMPLEMENTED)
    return mctl_fail(c, code,
                     "%s: meshplane-server at %s does not implement this (%s): upgrade the "
                     "server to match meshctl %s",
                     what, c->server, msg, MESHPLANE_VERSION);
  return mctl_fail(c, code, "%s: %s", what, msg);
}

mp_rpc_channel *mctl_channel(mctl_ctx *c) {
  if (c->ch) return c->ch;
  mp_rpc_channel_opts o = {.tls = c->tls || *c->tls_ca,
                           .tls_ca_file = *c->tls_ca ? c->tls_ca : NULL,
                           .auth_token = *c->token ? c->token : NULL};
  if (mp_rpc_channel_new(c->server, &o, &c->ch) != MP_OK) c->ch = NULL;
  return c->ch;
}

int mctl_call_st(mctl_ctx *c, const char *method, const ProtobufCMessage *req,
                 ProtobufCMessage **resp, mp_rpc_status *st) {
  *resp = NULL;
  mp_rpc_channel *ch = mctl_channel(c);
  if (!ch) {
    st->code = MP_RPC_INVALID_ARGUMENT;
    snprintf(st->message, sizeof st->message, "--server %s: %s", c->server, mp_error_last());
    return MCTL_EXIT_USAGE;
  }
  mp_rpc_call_opts o = {.timeout_ms = c->timeout_ns / MP_NS_PER_MS};
  return mctl_exit_for_code(mp_rpc_unary(ch, MCTL_API, method, req, resp, &o, st));
}

int mctl_call(mctl_ctx *c, const char *method, const ProtobufCMessage *req, ProtobufCMessage **resp,
              const char *what) {
  mp_rpc_status st;
  int rc = mctl_call_st(c, method, req, resp, &st);
  return rc ? mctl_fail_rpc(c, what, &st) : 0;
}

int mctl_stream(mctl_ctx *c, const char *method, const ProtobufCMessage *req, int64_t timeout_ms,
                mp_rpc_stream **out, const char *what) {
  mp_rpc_status st = {0};
  mp_rpc_channel *ch = mctl_channel(c);
  if (!ch) return mctl_fail(c, MCTL_EXIT_USAGE, "--server %s: %s", c->server, mp_error_last());
  mp_rpc_call_opts o = {.timeout_ms = timeout_ms};
  mp_rpc_code code = mp_rpc_stream_open(ch, MCTL_API, method, req, &o, out, &st);
  return code == MP_RPC_OK ? 0 : mctl_fail_rpc(c, what, &st);
}

int mctl_get_profile(mctl_ctx *c, const char *key, bool quiet,
                     Meshplane__V1__PerformanceProfile **out) {
  Meshplane__V1__GetProfileRequest req = MESHPLANE__V1__GET_PROFILE_REQUEST__INIT;
  if (mp_uuid_valid(key))
    req.id = (char *)key;
  else
    req.name = (char *)key;
  mp_rpc_status st;
  int rc = mctl_call_st(c, "GetProfile", &req.base, (ProtobufCMessage **)out, &st);
  /* A uuid-looking name is still a name. */
  if (rc == MCTL_EXIT_NOT_FOUND && req.id) {
    req.id = "";
    req.name = (char *)key;
    rc = mctl_call_st(c, "GetProfile", &req.base, (ProtobufCMessage **)out, &st);
  }
  if (rc == MCTL_EXIT_NOT_FOUND && quiet) return rc;
  if (rc == MCTL_EXIT_NOT_FOUND)
    return mctl_fail(c, rc, "no profile named \"%s\": list them with 'meshctl perf profile'", key);
  return rc ? mctl_fail_rpc(c, "get the profile", &st) : 0;
}

int mctl_resolve_result(mctl_ctx *c, const char *key, char out[MP_UUID_STRLEN]) {
  if (mp_uuid_valid(key)) {
    mp_strlcpy(out, key, MP_UUID_STRLEN);
    return 0;
  }
  size_t klen = strlen(key);
  if (klen < 4 || klen >= MP_UUID_STRLEN)
    return mctl_fail(c, MCTL_EXIT_USAGE,
                     "\"%s\" is not a result id: give the id or at least its first 4 characters "
                     "as 'meshctl perf result' shows them",
                     key);
  /* Prefixes are matched against the listed results, newest first, page by page. */
  int matches = 0, rc = 0;
  char token[64] = "";
  do {
    Meshplane__V1__ListResultsRequest req = MESHPLANE__V1__LIST_RESULTS_REQUEST__INIT;
    req.page_size = 1000;
    req.page_token = token;
    ProtobufCMessage *resp;
    if ((rc = mctl_call(c, "ListResults", &req.base, &resp, "list results")) != 0) return rc;
    Meshplane__V1__ListResultsResponse *r = (Meshplane__V1__ListResultsResponse *)resp;
    for (size_t i = 0; i < r->n_results; i++)
      if (!strncasecmp(r->results[i]->id, key, klen) && matches++ == 0)
        mp_strlcpy(out, r->results[i]->id, MP_UUID_STRLEN);
    mp_strlcpy(token, r->next_page_token ? r->next_page_token : "", sizeof token);
    protobuf_c_message_free_unpacked(resp, NULL);
  } while (*token && matches < 2);
  if (matches == 0)
    return mctl_fail(c, MCTL_EXIT_NOT_FOUND,
                     "no result id starts with \"%s\": list them with 'meshctl perf result'", key);
  if (matches > 1)
    return mctl_fail(c, MCTL_EXIT_USAGE,
                     "\"%s\" matches more than one result: give more characters of the id", key);
  return 0;
}

int mctl_get_result(mctl_ctx *c, const char *key, Meshplane__V1__Result **out) {
  *out = NULL;
  char id[MP_UUID_STRLEN];
  int rc = mctl_resolve_result(c, key, id);
  if (rc) return rc;
  Meshplane__V1__GetResultRequest req = MESHPLANE__V1__GET_RESULT_REQUEST__INIT;
  req.id = id;
  mp_rpc_status st;
  rc = mctl_call_st(c, "GetResult", &req.base, (ProtobufCMessage **)out, &st);
  if (rc == MCTL_EXIT_NOT_FOUND)
    return mctl_fail(c, rc, "no result %s: list them with 'meshctl perf result'", id);
  return rc ? mctl_fail_rpc(c, "get the result", &st) : 0;
}
