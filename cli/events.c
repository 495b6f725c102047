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

/* Whether e is the terminal event of the operation o follows to its end. */
static bool is_end(const mctl_events_opts *o, const Meshplane__V1__Event *e) {
  return o->until_done && o->operation_id && *o->operation_id &&
         !strcmp(e->operation_id, o->operation_id) &&
         !strcmp(e->component, MCTL_COMPONENT_OPERATION);
}

int mctl_events_follow(mctl_ctx *c, mp_rpc_stream *s, const mctl_events_opts *o,
                       mctl_events_end *end) {
  mctl_events_end ignored;
  if (!end) end = &ignored;
  memset(end, 0, sizeof *end);
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
  while (!limit_hit && !end->ended && mp_rpc_stream_next(s, &m, &st)) {
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
    if (is_end(o, e)) {
      end->ended = true;
      end->type = e->type;
      mp_strlcpy(end->summary, e->summary, sizeof end->summary);
    }
    protobuf_c_message_free_unpacked(m, NULL);
    limit_hit = o->count > 0 && ++seen >= o->count;
  }
  mctl_interrupt_watch(NULL);
  end->count_hit = limit_hit && !end->ended;
  if (names) protobuf_c_message_free_unpacked(&names->base, NULL);
  if (limit_hit || end->ended || mctl_interrupted() || st.code == MP_RPC_OK ||
      st.code == MP_RPC_DEADLINE_EXCEEDED)
    return 0;
  return mctl_fail_rpc(c, "watch events", &st);
}

int mctl_events_operation_rc(mctl_ctx *c, const char *id, const mctl_events_end *end,
                             int64_t waited_ms) {
  if (end->ended && end->type == 2)
    return mctl_fail(c, MCTL_EXIT_FAILURE, "operation %s failed: %s", id, end->summary);
  if (end->ended || end->count_hit || mctl_interrupted()) return 0;
  char dur[32] = "";
  if (waited_ms > 0) mctl_fmt_ms_dur(waited_ms, dur, sizeof dur);
  fprintf(stderr,
          "meshctl %s: no end of operation %s%s%s: its adapter marks no end of its operations "
          "(not built on the meshplane adapter SDK) or it is still running; follow it with "
          "'meshctl events watch --operation %s --since -1'\n",
          c->cmd, id, *dur ? " within " : "", dur, id);
  return 0;
}

int mctl_events_watch(mctl_ctx *c, int argc, char **argv) {
  static int64_t since, count, for_ns;
  static char *op;
  static bool until_done;
  since = count = for_ns = 0;
  op = "";
  until_done = false;
  const mp_flag flags[] = {
      {"since", 0, MP_FLAG_INT, &since, NULL,
       "first replay the stored events with an id above this one (0 = only new events, -1 = "
       "from the first)",
       "ID"},
      {"operation", 0, MP_FLAG_STRING, &op, NULL, "only the events of this operation", "ID"},
      {"until-done", 0, MP_FLAG_BOOL, &until_done, NULL,
       "with --operation: stop at the operation's terminal event", NULL},
      {"count", 'n', MP_FLAG_INT, &count, NULL, "stop after N events", "N"},
      {"for", 0, MP_FLAG_DURATION, &for_ns, NULL, "stop after this long (0 = until Ctrl-C)", "DUR"},
  };
  int nargs, rc;
  if (!mctl_parse(
          c, "[--since ID] [--operation ID [--until-done]]",
          "Streams events from every adapter and the server as they happen. With -o json,\n"
          "one JSON object per line; with -o yaml, one document per event.\n\n"
          "--until-done follows one operation to its end: adapters built on the meshplane\n"
          "SDK end every operation with one terminal event (component \"operation\"), INFO\n"
          "when it succeeded, ERROR when it failed. It replays the operation's events from\n"
          "the first unless --since is given, prints the terminal event, and exits 0 after\n"
          "an INFO one, 1 after an ERROR one. Adapters that mark no end (not built on the\n"
          "SDK) are followed until --for, as without the flag.",
          flags, MP_ARRAY_LEN(flags), false, argc, argv, &nargs, &rc))
    return rc;
  if (nargs) return mctl_fail(c, MCTL_EXIT_USAGE, "unexpected argument \"%s\"", argv[0]);
  if (since < -1 || count < 0)
    return mctl_fail(c, MCTL_EXIT_USAGE,
                     "--since must be -1 (from the first event) or more, --count not negative");
  if (until_done && !*op)
    return mctl_fail(c, MCTL_EXIT_USAGE,
                     "--until-done needs --operation ID: the operation to "
                     "follow to its end");
  Meshplane__V1__WatchEventsRequest req = MESHPLANE__V1__WATCH_EVENTS_REQUEST__INIT;
  /* Following an operation to its end from now on would wait forever for one that ended. */
  req.since_id = until_done && since == 0 ? -1 : since;
  req.operation_id = op;
  mp_rpc_stream *s;
  if ((rc = mctl_stream(c, "WatchEvents", &req.base, for_ns / MP_NS_PER_MS, &s, "watch events")) !=
      0)
    return rc;
  mctl_events_opts o = {.operation_id = op, .count = count, .until_done = until_done};
  mctl_events_end end;
  rc = mctl_events_follow(c, s, &o, &end);
  mp_rpc_stream_free(s);
  if (rc == 0 && until_done) rc = mctl_events_operation_rc(c, op, &end, for_ns / MP_NS_PER_MS);
  return rc;
}
