/* meshctl system status and meshctl version. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "grpc/health/v1/health.pb-c.h"
#include "meshplane/report.h"
#include "table.h"

static const char *health_name(Meshplane__V1__Health h) {
  return mctl_enum_name(&meshplane__v1__health__descriptor, (int)h, "HEALTH_");
}

static void workers_table(Meshplane__V1__Worker *const *ws, size_t n) {
  static const char *const head[] = {"WORKER",       "ADDRESS",   "HEALTH", "VERSION",
                                     ">ACTIVE-RUNS", "LAST-SEEN", "FROM"};
  mctl_table *t = mctl_table_new(head, MP_ARRAY_LEN(head));
  for (size_t i = 0; i < n; i++) {
    char id[16], act[16], ago[32];
    snprintf(act, sizeof act, "%u", ws[i]->active_runs);
    mctl_table_add(t, mctl_short_id(ws[i]->id, id, sizeof id), ws[i]->address,
                   health_name(ws[i]->health), ws[i]->version, act,
                   mctl_fmt_ago(ws[i]->last_seen_ms, ago, sizeof ago),
                   ws[i]->configured ? "flags" : "registered");
  }
  mctl_table_print(t);
  mctl_table_free(t);
}

/* The three answers as one JSON or YAML document. */
static void print_doc(const mctl_ctx *c, const Meshplane__V1__StatusResponse *s,
                      const Meshplane__V1__ListWorkersResponse *w,
                      const Meshplane__V1__ListAdaptersResponse *a) {
  mp_buf b = {0};
  const ProtobufCMessage *parts[3] = {&s->base, &w->base, &a->base};
  const char *keys[3] = {"status", "workers", "adapters"};
  if (c->format == MCTL_YAML) {
    mp_buf_puts(&b, "server: ");
    mp_json_str(&b, c->server);
    mp_buf_puts(&b, "\nstatus:\n");
    mp_report_msg_opts o = {.depth = 1};
    mp_report_message_yaml(parts[0], &o, &b);
    mp_buf_puts(&b, "workers:\n");
    mp_report_messages_yaml((const ProtobufCMessage *const *)w->workers, w->n_workers, &o, &b);
    mp_buf_puts(&b, "adapters:\n");
    mp_report_messages_yaml((const ProtobufCMessage *const *)a->adapters, a->n_adapters, &o, &b);
  } else {
    mp_buf_puts(&b, "{\n  \"server\": ");
    mp_json_str(&b, c->server);
    for (int i = 0; i < 3; i++) {
      mp_buf_printf(&b, ",\n  \"%s\": ", keys[i]);
      mp_report_msg_opts o = {.indent = 2, .depth = 1};
      if (i == 0) {
        mp_report_message_json(parts[i], &o, &b);
        continue;
      }
      size_t n = i == 1 ? w->n_workers : a->n_adapters;
      mp_buf_puts(&b, "[");
      for (size_t k = 0; k < n; k++) {
        mp_buf_puts(&b, k ? ",\n    " : "\n    ");
        o.depth = 2;
        mp_report_message_json(i == 1 ? &w->workers[k]->base : &a->adapters[k]->base, &o, &b);
      }
      mp_buf_puts(&b, n ? "\n  ]" : "]");
    }
    mp_buf_puts(&b, "\n}\n");
  }
  fwrite(b.data, 1, b.len, stdout);
  mp_buf_free(&b);
}

int mctl_system_status(mctl_ctx *c, int argc, char **argv) {
  int nargs, rc;
  if (!mctl_parse(c, "",
                  "Shows the server's version and uptime, whether its database and NATS are up,\n"
                  "and its loadgen workers and adapters. Exit status 1 when the database is down.",
                  NULL, 0, false, argc, argv, &nargs, &rc))
    return rc;
  if (nargs) return mctl_fail(c, MCTL_EXIT_USAGE, "unexpected argument \"%s\"", argv[0]);
  Meshplane__V1__StatusRequest sreq = MESHPLANE__V1__STATUS_REQUEST__INIT;
  Meshplane__V1__ListWorkersRequest wreq = MESHPLANE__V1__LIST_WORKERS_REQUEST__INIT;
  Meshplane__V1__ListAdaptersRequest areq = MESHPLANE__V1__LIST_ADAPTERS_REQUEST__INIT;
  ProtobufCMessage *sr = NULL, *wr = NULL, *ar = NULL;
  if ((rc = mctl_call(c, "GetStatus", &sreq.base, &sr, "get the server's status")) == 0 &&
      (rc = mctl_call(c, "ListWorkers", &wreq.base, &wr, "list workers")) == 0 &&
      (rc = mctl_call(c, "ListAdapters", &areq.base, &ar, "list adapters")) == 0) {
    Meshplane__V1__StatusResponse *s = (Meshplane__V1__StatusResponse *)sr;
    Meshplane__V1__ListWorkersResponse *w = (Meshplane__V1__ListWorkersResponse *)wr;
    Meshplane__V1__ListAdaptersResponse *a = (Meshplane__V1__ListAdaptersResponse *)ar;
    if (c->format != MCTL_TABLE) {
      print_doc(c, s, w, a);
    } else {
      char up[32];
      printf("%-10s %s   meshplane-server %s (git %s), up %s\n", "SERVER", c->server, s->version,
             s->git_sha, mctl_fmt_ms_dur(s->uptime_ms, up, sizeof up));
      printf("%-10s %s\n", "DATABASE", s->database_ok ? "ok" : "DOWN");
      printf("%-10s %s\n", "NATS",
             s->nats_ok ? "ok" : "not in use (one replica) or down: events stay on this replica");
      printf("%-10s %u healthy of %zu\n", "WORKERS", s->workers_healthy, w->n_workers);
      printf("%-10s %u healthy of %zu\n", "ADAPTERS", s->adapters_healthy, a->n_adapters);
      if (w->n_workers) {
        fputc('\n', stdout);
        workers_table(w->workers, w->n_workers);
      } else {
        printf("\nNo loadgen workers: runs fail until one is there. Start meshplane-loadgen and "
               "pass its\naddress to meshplane-server --workers (or let it register).\n");
      }
      if (a->n_adapters) {
        fputc('\n', stdout);
        mctl_adapters_table(a->adapters, a->n_adapters);
      }
    }
    if (!s->database_ok) rc = mctl_fail(c, MCTL_EXIT_FAILURE, "the server's database is down");
  }
  if (sr) protobuf_c_message_free_unpacked(sr, NULL);
  if (wr) protobuf_c_message_free_unpacked(wr, NULL);
  if (ar) protobuf_c_message_free_unpacked(ar, NULL);
  return rc;
}

int mctl_version(mctl_ctx *c, int argc, char **argv) {
  int nargs, rc;
  if (!mctl_parse(c, "",
                  "Prints meshctl's version, then the server's (exit status 4 when the "
                  "server cannot be reached).",
                  NULL, 0, false, argc, argv, &nargs, &rc))
    return rc;
  Meshplane__V1__StatusRequest req = MESHPLANE__V1__STATUS_REQUEST__INIT;
  ProtobufCMessage *resp = NULL;
  mp_rpc_status st;
  rc = mctl_call_st(c, "GetStatus", &req.base, &resp, &st);
  Meshplane__V1__StatusResponse *s = (Meshplane__V1__StatusResponse *)resp;
  if (c->format == MCTL_TABLE) {
    printf("meshctl  %s (git %s)\n", MESHPLANE_VERSION, MESHPLANE_GIT_SHA);
    if (s) printf("server   %s (git %s) at %s\n", s->version, s->git_sha, c->server);
  } else {
    mp_buf b = {0};
    bool json = c->format == MCTL_JSON;
    mp_buf_puts(&b, json ? "{\"meshctl\": " : "meshctl: ");
    mp_json_str(&b, MESHPLANE_VERSION);
    mp_buf_puts(&b, json ? ", \"git_sha\": " : "\ngit_sha: ");
    mp_json_str(&b, MESHPLANE_GIT_SHA);
    mp_buf_puts(&b, json ? ", \"server\": " : "\nserver: ");
    mp_json_str(&b, s ? s->version : "");
    mp_buf_puts(&b, json ? "}\n" : "\n");
    fwrite(b.data, 1, b.len, stdout);
    mp_buf_free(&b);
  }
  if (resp) protobuf_c_message_free_unpacked(resp, NULL);
  return rc ? mctl_fail_rpc(c, "ask the server its version", &st) : 0;
}

/* meshctl health: the standard gRPC health check of any meshplane process (server,
 * worker, adapter), for container health checks and scripts. Exit 0 when SERVING. */
int mctl_health(mctl_ctx *c, int argc, char **argv) {
  static char *service = "";
  static const mp_flag flags[] = {
      {"service", 0, MP_FLAG_STRING, &service, NULL,
       "the service to check (default: the process as a whole)", "NAME"},
  };
  int nargs, rc;
  if (!mctl_parse(c, "[--service NAME]",
                  "Asks grpc.health.v1.Health/Check of --server: prints the status and exits 0 "
                  "when SERVING, 1 when not, 4 when the process cannot be reached.",
                  flags, MP_ARRAY_LEN(flags), false, argc, argv, &nargs, &rc))
    return rc;
  mp_rpc_channel *ch = mctl_channel(c);
  if (!ch) return mctl_fail(c, MCTL_EXIT_USAGE, "--server %s: %s", c->server, mp_error_last());
  Grpc__Health__V1__HealthCheckRequest req = GRPC__HEALTH__V1__HEALTH_CHECK_REQUEST__INIT;
  req.service = service;
  ProtobufCMessage *resp = NULL;
  mp_rpc_status st;
  mp_rpc_call_opts o = {.timeout_ms = c->timeout_ns / MP_NS_PER_MS};
  if (mp_rpc_unary(ch, &grpc__health__v1__health__descriptor, "Check", &req.base, &resp, &o, &st) !=
      MP_RPC_OK)
    return mctl_fail_rpc(c, "check health", &st);
  int status = ((Grpc__Health__V1__HealthCheckResponse *)resp)->status;
  const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value(
      &grpc__health__v1__health_check_response__serving_status__descriptor, status);
  printf("%s\n", v ? v->name : "UNKNOWN");
  protobuf_c_message_free_unpacked(resp, NULL);
  return status == GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING ? 0 : 1;
}
