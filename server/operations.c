/* Operations: ApplyOperation forwarded to an adapter with a server-made operation id,
 * recorded in the operations table; its events arrive through the adapter's stream, and
 * its terminal event (adapters on the SDK send one) settles its status.
 *
 * Status: "pending" while the adapter is asked (the row exists before the adapter can
 * emit anything, so a terminal event that outruns the ApplyOperation reply finds it), then
 * "submitted" or "rejected" from the reply, then "done" or "failed" from the terminal
 * event, whichever order the reply and the event arrive in. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "adapters.h"
#include "meshes/meshops.pb-c.h"

static void store(mp_server *s, const char *id, const mp_adapter_ref *a,
                  const Meshplane__V1__ApplyOperationRequest *in, const char *status,
                  const char *error) {
  mp_dbargs args = {0};
  mp_dbargs_text(&args, id);
  mp_dbargs_text(&args, a->id);
  mp_dbargs_text(&args, in->op_name);
  mp_dbargs_text(&args, in->namespace_ ? in->namespace_ : "");
  mp_dbargs_bool(&args, in->delete_op);
  mp_dbargs_text(&args, status);
  mp_dbargs_text(&args, error ? error : "");
  mp_status st;
  PQclear(mp_db_exec(s->db,
                     "INSERT INTO operations (id, adapter_id, op_name, namespace, delete_op, "
                     "status, error) VALUES ($1, (SELECT id FROM adapters WHERE id = $2::uuid), "
                     "$3, $4, $5, $6, $7) ON CONFLICT (id) DO UPDATE SET status = $6, error = $7, "
                     "updated_at = now()",
                     &args, &st));
  mp_dbargs_free(&args);
}

/* The adapter did not take the operation: no row. */
static void forget(mp_server *s, const char *id) {
  mp_dbargs args = {0};
  mp_dbargs_text(&args, id);
  mp_status st;
  PQclear(mp_db_exec(s->db, "DELETE FROM operations WHERE id = $1::uuid", &args, &st));
  mp_dbargs_free(&args);
}

/* The adapter's reply to a pending operation: its status unless a terminal event already
 * settled it, and the adapter's own id when it chose one (its events carry that id; a
 * terminal event that came before this reply under that id is not matched). Returns the
 * status the operation has now, into status_now. */
static void replied(mp_server *s, const char *id, const char *adapter_id, const char *status,
                    const char *error, char *status_now, size_t n) {
  mp_dbargs args = {0};
  mp_dbargs_text(&args, id);
  mp_dbargs_text(&args, status);
  mp_dbargs_text(&args, error ? error : "");
  mp_dbargs_text(
      &args, adapter_id && strcmp(adapter_id, id) && mp_uuid_valid(adapter_id) ? adapter_id : NULL);
  mp_status st;
  PGresult *r = mp_db_exec(s->db,
                           "UPDATE operations SET id = COALESCE($4::uuid, id), "
                           "status = CASE WHEN status = 'pending' THEN $2 ELSE status END, "
                           "error = CASE WHEN status = 'pending' THEN $3 ELSE error END, "
                           "updated_at = now() WHERE id = $1::uuid RETURNING status",
                           &args, &st);
  mp_strlcpy(status_now, r && PQntuples(r) == 1 ? mp_db_text(r, 0, 0) : status, n);
  PQclear(r);
  mp_dbargs_free(&args);
}

void mp_operations_ended(mp_server *s, const char *id, bool failed, const char *summary) {
  if (!mp_uuid_valid(id)) return;
  mp_dbargs args = {0};
  mp_dbargs_text(&args, id);
  mp_dbargs_text(&args, failed ? "failed" : "done");
  mp_dbargs_text(&args, failed && summary ? summary : "");
  mp_status st;
  PQclear(mp_db_exec(s->db,
                     "UPDATE operations SET status = $2, error = $3, updated_at = now() "
                     "WHERE id = $1::uuid AND status IN ('pending', 'submitted')",
                     &args, &st));
  mp_dbargs_free(&args);
  if (st != MP_OK)
    mp_warn("cannot record the end of an operation", "operation_id=%s error=\"%s\"", id,
            mp_error_last());
}

void mp_operations_apply(mp_server *s, const Meshplane__V1__ApplyOperationRequest *in,
                         Meshplane__V1__Operation_Closure done, void *cd) {
  if (!in->adapter || !*in->adapter) {
    mp_rpc_fail(cd, MP_RPC_INVALID_ARGUMENT,
                "adapter is required: give its id, address or mesh name (ListAdapters)");
    return;
  }
  if (!in->op_name || !*in->op_name) {
    mp_rpc_fail(cd, MP_RPC_INVALID_ARGUMENT,
                "op_name is required: ListAdapters shows each adapter's operations");
    return;
  }
  mp_adapter_ref a;
  if (!mp_adapters_find(s->adapters, in->adapter, &a)) {
    mp_rpc_fail(cd, MP_RPC_NOT_FOUND,
                "no adapter \"%s\": register it (RegisterAdapter / --adapters) or pick one "
                "from ListAdapters",
                in->adapter);
    return;
  }
  char id[MP_UUID_STRLEN];
  mp_uuid_new(id);
  store(s, id, &a, in, "pending", "");
  Meshes__ApplyRuleRequest req = MESHES__APPLY_RULE_REQUEST__INIT;
  req.opname = in->op_name;
  req.namespace_ = in->namespace_ && *in->namespace_ ? in->namespace_ : "default";
  req.custom_body = in->custom_body ? in->custom_body : "";
  req.delete_op = in->delete_op;
  req.operation_id = id;
  req.version = in->version ? in->version : "";
  req.kube_configs = in->kube_configs;
  req.n_kube_configs = in->n_kube_configs;
  mp_rpc_call_opts o = {.timeout_ms = 10000};
  ProtobufCMessage *resp = NULL;
  mp_rpc_status st;
  mp_rpc_code code = mp_rpc_unary(a.ch, &meshes__mesh_service__descriptor, "ApplyOperation",
                                  &req.base, &resp, &o, &st);
  if (code != MP_RPC_OK) {
    forget(s, id);
    mp_rpc_fail(cd, MP_RPC_UNAVAILABLE,
                "the %s adapter at %s did not take the operation (%s): check that it is running "
                "and reachable from the server; it is retried in the background",
                *a.mesh ? a.mesh : "", a.address, st.message);
    return;
  }
  Meshes__ApplyRuleResponse *r = (Meshes__ApplyRuleResponse *)resp;
  bool rejected = r->error && *r->error;
  char status[32];
  replied(s, id, r->operation_id, rejected ? "rejected" : "submitted", r->error, status,
          sizeof status);
  if (rejected) {
    mp_rpc_fail(cd, MP_RPC_INVALID_ARGUMENT, "the %s adapter refused %s: %s", a.mesh, in->op_name,
                r->error);
    protobuf_c_message_free_unpacked(resp, NULL);
    return;
  }
  Meshplane__V1__Operation op = MESHPLANE__V1__OPERATION__INIT;
  /* Adapters may keep an id of their own choosing; theirs is what events will carry. */
  op.id = r->operation_id && *r->operation_id ? r->operation_id : id;
  op.adapter = a.id;
  op.op_name = in->op_name;
  op.status = status; /* "done" or "failed" when its terminal event came first */
  op.created_at_ms = mp_now_ms();
  done(&op, cd);
  protobuf_c_message_free_unpacked(resp, NULL);
}

void mp_operations_list(mp_server *s, const Meshplane__V1__ListOperationsRequest *in,
                        Meshplane__V1__ListOperationsResponse_Closure done, void *cd) {
  unsigned size = in->page_size ? in->page_size : 50;
  if (size > 1000) size = 1000;
  int64_t offset = 0;
  if (in->page_token && *in->page_token) {
    char *end;
    offset = strtoll(in->page_token, &end, 10);
    if (*end || offset < 0) {
      mp_rpc_fail(cd, MP_RPC_INVALID_ARGUMENT, "page_token is not one this server gave out");
      return;
    }
  }
  mp_adapter_ref a = {0};
  if (in->adapter && *in->adapter && !mp_adapters_find(s->adapters, in->adapter, &a)) {
    mp_rpc_fail(cd, MP_RPC_NOT_FOUND, "no adapter \"%s\"", in->adapter);
    return;
  }
  mp_dbargs args = {0};
  mp_dbargs_text(&args, a.id);
  mp_dbargs_int(&args, size + 1);
  mp_dbargs_int(&args, offset);
  mp_status st;
  PGresult *r = mp_db_exec(s->db,
                           "SELECT id, COALESCE(adapter_id::text, ''), op_name, status, "
                           "(extract(epoch FROM created_at) * 1000)::bigint, error FROM operations "
                           "WHERE ($1 = '' OR adapter_id = $1::uuid) ORDER BY created_at DESC, id "
                           "LIMIT $2 OFFSET $3",
                           &args, &st);
  mp_dbargs_free(&args);
  if (!r) {
    mp_server_fail_status(cd, st);
    return;
  }
  int rows = PQntuples(r);
  size_t n = rows > (int)size ? size : (size_t)rows;
  Meshplane__V1__Operation *ops = mp_calloc(n + 1, sizeof *ops);
  Meshplane__V1__Operation **ptrs = mp_calloc(n + 1, sizeof *ptrs);
  for (size_t i = 0; i < n; i++) {
    meshplane__v1__operation__init(&ops[i]);
    ops[i].id = (char *)mp_db_text(r, (int)i, 0);
    ops[i].adapter = (char *)mp_db_text(r, (int)i, 1);
    ops[i].op_name = (char *)mp_db_text(r, (int)i, 2);
    ops[i].status = (char *)mp_db_text(r, (int)i, 3);
    ops[i].created_at_ms = mp_db_int(r, (int)i, 4);
    ops[i].error = (char *)mp_db_text(r, (int)i, 5);
    ptrs[i] = &ops[i];
  }
  char token[32] = "";
  if (rows > (int)size) snprintf(token, sizeof token, "%lld", (long long)(offset + size));
  Meshplane__V1__ListOperationsResponse resp = MESHPLANE__V1__LIST_OPERATIONS_RESPONSE__INIT;
  resp.operations = ptrs;
  resp.n_operations = n;
  resp.next_page_token = token;
  done(&resp, cd);
  mp_free(ops);
  mp_free(ptrs);
  PQclear(r);
}
