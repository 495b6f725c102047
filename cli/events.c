/* meshctl events watch, and the event follower adapter apply --watch shares. */
#include <stdio.h>
#include <string.h>

#include "events.h"
#include "meshplane/report.h"

static const char *level(int type) {
  switch (type) {
  case 0: return "INFO";
  case 1: return "WARN";
  case 2: return "ERROR";
  default: return "?";
  }
}

void mctl_event_format(const Meshplane__V1__Event *e, const char *source_name, mp_buf *out) {
  char when[64], op[16];
  mctl_fmt_time(e->created_at_ms, when, sizeof when);
  mctl_short_id(e->operation_id, op, sizeof op);
  const char *src = source_name ? source_name : mctl_or_dash(e->source);
  mp_buf_printf(out, "%-19s  %-6lld %-5s  %-10s %-8s  %s\n", when, (long long)e->id, level(e->type),
                src, op, e->summary);
  const struct {
    const char *label, *text;
  } more[] = {{"details", e->details},
              {"probable cause", e->probable_cause},
              {"remediation", e->suggested_remediation},
              {"error code", e->error_code}};
  for (size_t i = 0; i < MP_ARRAY_LEN(more); i++)
    if (more[i].text && *more[i].text)
      mp_buf_printf(out, "    %s: %s\n", more[i].label, more[i].text);
}

/* Mesh names of adapter ids, for the SOURCE column (best effort). */
static Meshplane__V1__ListAdaptersResponse *adapter_names(mctl_ctx *c) {
  Meshplane__V1__ListAdaptersRequest req = MESHPLANE__V1__LIST_ADAPTERS_REQUEST__INIT;
  ProtobufCMessage *resp = NULL;
  mp_rpc_status st;
  mctl_call_st(c, "ListAdapters", &req.base, &resp, &st);
  return (Meshplane__V1__ListAdaptersResponse *)resp;
}

int mctl_events_follow(mctl_ctx *c, mp_rpc_stream *s, const mctl_events_opts *o) {
  Meshplane__V1__ListAdaptersResponse *names = c->format == MCTL_TABLE ? adapter_names(c) : NULL;
  if (c->format == MCTL_TABLE && !o->quiet_header) {
    printf("%-19s  %-6s %-5s  %-10s %-8s  %s\n", "TIME", "ID", "LEVEL", "SOURCE", "OPERATION",
           "SUMMARY");
    fflush(stdout);
  }
  mctl_interrupt_watch(s);
  int64_t seen = 0;
  ProtobufCMessage *m;
  mp_rpc_status st = {0};
  bool limit_hit = false;
  while (!limit_hit && mp_rpc_stream_next(s, &m, &st)) {
    Meshplane__V1__Event *e = (Meshplane__V1__Event *)m;
    if (o->operation_id && *o->operation_id && strcmp(e->operation_id, o->operation_id)) {
      protobuf_c_message_free_unpacked(m, NULL);
      continue;
    }
    mp_buf b = {0};
    if (c->format == MCTL_JSON) {
      mp_report_message_json(m, NULL, &b); /* one object per line: NDJSON */
      mp_buf_puts(&b, "\n");
    } else if (c->format == MCTL_YAML) {
      mp_buf_puts(&b, "---\n");
      mp_report_message_yaml(m, NULL, &b);
    } else {
      const char *src = NULL;
      for (size_t i = 0; names && i < names->n_adapters; i++)
        if (!strcmp(names->adapters[i]->id, e->source)) src = names->adapters[i]->mesh_name;
      mctl_event_format(e, src, &b);
    }
    fwrite(b.data, 1, b.len, stdout);
    fflush(stdout);
    mp_buf_free(&b);
    protobuf_c_message_free_unpacked(m, NULL);
    limit_hit = o->count > 0 && ++seen >= o->count;
  }
  mctl_interrupt_watch(NULL);
  if (names) protobuf_c_message_free_unpacked(&names->base, NULL);
  if (limit_hit || mctl_interrupted() || st.code == MP_RPC_OK ||
      st.code == MP_RPC_DEADLINE_EXCEEDED)
    return 0;
  return mctl_fail_rpc(c, "watch events", &st);
}

int mctl_events_watch(mctl_ctx *c, int argc, char **argv) {
  static int64_t since, count, for_ns;
  static char *op;
  since = count = for_ns = 0;
  op = "";
  const mp_flag flags[] = {
      {"since", 0, MP_FLAG_INT, &since, NULL,
       "first replay the stored events with an id above this one (0 = only new events)", "ID"},
      {"operation", 0, MP_FLAG_STRING, &op, NULL, "only the events of this operation", "ID"},
      {"count", 'n', MP_FLAG_INT, &count, NULL, "stop after N events", "N"},
      {"for", 0, MP_FLAG_DURATION, &for_ns, NULL, "stop after this long (0 = until Ctrl-C)", "DUR"},
  };
  int nargs, rc;
  if (!mctl_parse(c, "[--since ID] [--operation ID]",
                  "Streams events from every adapter and the server as they happen. With -o json,\n"
                  "one JSON object per line; with -o yaml, one document per event.",
                  flags, MP_ARRAY_LEN(flags), false, argc, argv, &nargs, &rc))
    return rc;
  if (nargs) return mctl_fail(c, MCTL_EXIT_USAGE, "unexpected argument \"%s\"", argv[0]);
  if (since < 0 || count < 0)
    return mctl_fail(c, MCTL_EXIT_USAGE, "--since and --count must not be negative");
  Meshplane__V1__WatchEventsRequest req = MESHPLANE__V1__WATCH_EVENTS_REQUEST__INIT;
  req.since_id = since;
  req.operation_id = op;
  mp_rpc_stream *s;
  if ((rc = mctl_stream(c, "WatchEvents", &req.base, for_ns / MP_NS_PER_MS, &s, "watch events")) !=
      0)
    return rc;
  mctl_events_opts o = {.operation_id = op, .count = count};
  rc = mctl_events_follow(c, s, &o);
  mp_rpc_stream_free(s);
  return rc;
}
