/* meshctl adapter list | ops | apply. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "cli.h"
#include "events.h"
#include "table.h"

static const char *health_name(Meshplane__V1__Health h) {
  return mctl_enum_name(&meshplane__v1__health__descriptor, (int)h, "HEALTH_");
}

/* meshes.OpCategory names. */
static const char *category_name(int c) {
  static const char *const names[] = {"install", "sample-app", "configure", "validate", "custom"};
  return c >= 0 && (size_t)c < MP_ARRAY_LEN(names) ? names[c] : "other";
}

static int list_adapters(mctl_ctx *c, Meshplane__V1__ListAdaptersResponse **out) {
  Meshplane__V1__ListAdaptersRequest req = MESHPLANE__V1__LIST_ADAPTERS_REQUEST__INIT;
  return mctl_call(c, "ListAdapters", &req.base, (ProtobufCMessage **)out, "list adapters");
}

void mctl_adapters_table(Meshplane__V1__Adapter *const *as, size_t n) {
  static const char *const head[] = {"ID",      "MESH",     "ADDRESS", "HEALTH",
                                     "VERSION", "VERSIONS", ">OPS",    "LAST-SEEN"};
  mctl_table *t = mctl_table_new(head, MP_ARRAY_LEN(head));
  for (size_t i = 0; i < n; i++) {
    const Meshplane__V1__Adapter *a = as[i];
    char id[16], ops[16], ago[32];
    mp_buf v = {0};
    for (size_t k = 0; k < a->n_versions; k++)
      mp_buf_printf(&v, "%s%s", k ? "," : "", a->versions[k]);
    snprintf(ops, sizeof ops, "%zu", a->n_operations);
    mctl_table_add(t, mctl_short_id(a->id, id, sizeof id), a->mesh_name, a->address,
                   health_name(a->health), a->version, v.data, ops,
                   mctl_fmt_ago(a->last_seen_ms, ago, sizeof ago));
    mp_buf_free(&v);
  }
  mctl_table_print(t);
  mctl_table_free(t);
}

int mctl_adapter_list(mctl_ctx *c, int argc, char **argv) {
  int nargs, rc;
  if (!mctl_parse(c, "", "Lists the adapters the server knows (from --adapters or registration).",
                  NULL, 0, false, argc, argv, &nargs, &rc))
    return rc;
  if (nargs) return mctl_fail(c, MCTL_EXIT_USAGE, "unexpected argument \"%s\"", argv[0]);
  Meshplane__V1__ListAdaptersResponse *r;
  if ((rc = list_adapters(c, &r)) != 0) return rc;
  if (c->format != MCTL_TABLE)
    mctl_print_message(c, &r->base);
  else if (!r->n_adapters)
    fprintf(stderr, "No adapters: start one (e.g. meshplane-adapter-istio) and pass its address "
                    "to meshplane-server --adapters\n");
  else
    mctl_adapters_table(r->adapters, r->n_adapters);
  protobuf_c_message_free_unpacked(&r->base, NULL);
  return 0;
}

/* The adapter that key names (id, id prefix, address or mesh name), or NULL after printing
 * why (rc set). The returned pointer lives in *list, which the caller frees. */
static Meshplane__V1__Adapter *find_adapter(mctl_ctx *c, const char *key,
                                            Meshplane__V1__ListAdaptersResponse **list, int *rc) {
  if ((*rc = list_adapters(c, list)) != 0) return NULL;
  Meshplane__V1__Adapter *found = NULL;
  size_t matches = 0;
  for (size_t i = 0; i < (*list)->n_adapters; i++) {
    Meshplane__V1__Adapter *a = (*list)->adapters[i];
    if (!strcmp(a->id, key) || !strcmp(a->address, key) || !strcasecmp(a->mesh_name, key) ||
        (strlen(key) >= 4 && !strncmp(a->id, key, strlen(key)))) {
      found = a;
      matches++;
    }
  }
  if (matches == 1) return found;
  *rc = matches ? mctl_fail(c, MCTL_EXIT_USAGE,
                            "\"%s\" names more than one adapter: give its id or address", key)
                : mctl_fail(c, MCTL_EXIT_NOT_FOUND,
                            "no adapter \"%s\": 'meshctl adapter list' shows the mesh names, ids "
                            "and addresses",
                            key);
  return NULL;
}

int mctl_adapter_ops(mctl_ctx *c, int argc, char **argv) {
  int nargs, rc;
  if (!mctl_parse(c, "ADAPTER", "Lists the operations ADAPTER (mesh name, id or address) supports.",
                  NULL, 0, false, argc, argv, &nargs, &rc))
    return rc;
  if (nargs != 1) return mctl_fail(c, MCTL_EXIT_USAGE, "give one ADAPTER (e.g. istio)");
  Meshplane__V1__ListAdaptersResponse *list = NULL;
  Meshplane__V1__Adapter *a = find_adapter(c, argv[0], &list, &rc);
  if (a && c->format != MCTL_TABLE) {
    mctl_print_messages(c, "operations", (const ProtobufCMessage *const *)a->operations,
                        a->n_operations);
  } else if (a) {
    static const char *const head[] = {"OPERATION", "CATEGORY", "DESCRIPTION"};
    mctl_table *t = mctl_table_new(head, 3);
    for (size_t i = 0; i < a->n_operations; i++)
      mctl_table_add(t, a->operations[i]->key, category_name(a->operations[i]->category),
                     a->operations[i]->description);
    mctl_table_print(t);
    mctl_table_free(t);
  }
  if (list) protobuf_c_message_free_unpacked(&list->base, NULL);
  return rc;
}

int mctl_adapter_apply(mctl_ctx *c, int argc, char **argv) {
  static char *file, *ns, *version;
  static bool del, watch;
  static int64_t watch_for;
  file = ns = version = "";
  del = watch = false;
  watch_for = 60 * MP_NS_PER_S;
  const mp_flag flags[] = {
      {"file", 'f', MP_FLAG_STRING, &file, NULL, "YAML the operation applies (custom_body)",
       "FILE"},
      {"delete", 0, MP_FLAG_BOOL, &del, NULL, "undo the operation (uninstall, remove)", NULL},
      {"namespace", 'n', MP_FLAG_STRING, &ns, NULL, "Kubernetes namespace", "NS"},
      {"version", 0, MP_FLAG_STRING, &version, NULL, "mesh version to install", "VERSION"},
      {"watch", 'w', MP_FLAG_BOOL, &watch, NULL, "follow the operation's events to its end", NULL},
      {"watch-for", 0, MP_FLAG_DURATION, &watch_for, NULL,
       "how long --watch waits for the end at most", "DUR"},
  };
  int nargs, rc;
  if (!mctl_parse(
          c, "ADAPTER OPERATION [-f FILE] [--delete] [--namespace NS] [--watch]",
          "Asks ADAPTER (mesh name, id or address) to run OPERATION ('meshctl adapter ops\n"
          "ADAPTER' lists them). The adapter works in the background and reports through\n"
          "events: --watch follows them here, or run 'meshctl events watch --operation ID'.\n\n"
          "With --watch, meshctl stops at the operation's terminal event (adapters built on\n"
          "the meshplane SDK end every operation with one, component \"operation\"): it\n"
          "prints it and exits 0 when the operation succeeded (INFO), 1 when it failed\n"
          "(ERROR). An adapter that marks no end of its operations is followed until\n"
          "--watch-for runs out; meshctl then says so and exits 0.",
          flags, MP_ARRAY_LEN(flags), false, argc, argv, &nargs, &rc))
    return rc;
  if (nargs != 2) return mctl_fail(c, MCTL_EXIT_USAGE, "give ADAPTER and OPERATION");
  Meshplane__V1__ApplyOperationRequest req = MESHPLANE__V1__APPLY_OPERATION_REQUEST__INIT;
  req.adapter = argv[0];
  req.op_name = argv[1];
  req.namespace_ = ns;
  req.version = version;
  req.delete_op = del;
  char *body = NULL;
  size_t len = 0;
  if (*file && (rc = mctl_read_file(c, file, &body, &len)) != 0) return rc;
  req.custom_body = body ? body : "";
  ProtobufCMessage *resp;
  rc = mctl_call(c, "ApplyOperation", &req.base, &resp, "apply the operation");
  mp_free(body);
  if (rc) return rc;
  Meshplane__V1__Operation *op = (Meshplane__V1__Operation *)resp;
  if (c->format != MCTL_TABLE)
    mctl_print_message(c, resp);
  else
    printf("operation %s (%s%s) accepted by %s: %s\n", op->id, op->op_name, del ? ", delete" : "",
           argv[0], op->status);
  if (*op->error) rc = mctl_fail(c, MCTL_EXIT_FAILURE, "the adapter says: %s", op->error);
  if (watch && rc == 0) {
    /* The operation's events from the start: a replay filtered by operation on the server
     * (since_id -1: from the first stored event), then live ones, up to its terminal event.
     * Watching before applying would race with the server subscribing the watch. */
    Meshplane__V1__WatchEventsRequest wreq = MESHPLANE__V1__WATCH_EVENTS_REQUEST__INIT;
    wreq.since_id = -1;
    wreq.operation_id = op->id;
    mp_rpc_stream *ws = NULL;
    rc = mctl_stream(c, "WatchEvents", &wreq.base, watch_for / MP_NS_PER_MS, &ws, "watch events");
    if (rc == 0) {
      mctl_events_opts eo = {
          .operation_id = op->id, .quiet_header = c->format != MCTL_TABLE, .until_done = true};
      mctl_events_end end;
      rc = mctl_events_follow(c, ws, &eo, &end);
      if (rc == 0) rc = mctl_events_operation_rc(c, op->id, &end, watch_for / MP_NS_PER_MS);
    }
    mp_rpc_stream_free(ws);
  } else if (rc == 0 && c->format == MCTL_TABLE) {
    printf("follow it with: meshctl events watch --operation %s --until-done\n", op->id);
  }
  protobuf_c_message_free_unpacked(resp, NULL);
  return rc;
}
