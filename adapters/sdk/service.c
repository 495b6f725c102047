/* meshes.MeshService (and its meshes.AdapterService alias) on lib/rpc, and the adapter
 * process: flags, signals, serving, draining. */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"
#include "meshes/meshops.pb-c.h"
#include "meshplane/rpc.h"

#define STREAM_POLL_MS 200

typedef struct service {
  Meshes__MeshService_Service base; /* first: handlers get a pointer to it */
  mp__runtime *rt;
  char *component;
} service;

static mp__runtime *rt_of(Meshes__MeshService_Service *svc) { return ((service *)svc)->rt; }

static void svc_mesh_name(Meshes__MeshService_Service *svc, const Meshes__MeshNameRequest *in,
                          Meshes__MeshNameResponse_Closure done, void *cd) {
  const mp_adapter *ad = rt_of(svc)->ad;
  Meshes__MeshNameResponse r = MESHES__MESH_NAME_RESPONSE__INIT;
  r.name = (char *)(ad->mesh_name ? ad->mesh_name : ad->name);
  done(&r, cd);
}

static void svc_mesh_versions(Meshes__MeshService_Service *svc,
                              const Meshes__MeshVersionsRequest *in,
                              Meshes__MeshVersionsResponse_Closure done, void *cd) {
  const mp_adapter *ad = rt_of(svc)->ad;
  Meshes__MeshVersionsResponse r = MESHES__MESH_VERSIONS_RESPONSE__INIT;
  size_t n = 0;
  while (ad->versions && ad->versions[n]) n++;
  r.n_version = n;
  r.version = (char **)ad->versions;
  done(&r, cd);
}

static void svc_apply_operation(Meshes__MeshService_Service *svc,
                                const Meshes__ApplyRuleRequest *in,
                                Meshes__ApplyRuleResponse_Closure done, void *cd) {
  mp_adapter_request req = {
      .struct_size = sizeof req,
      .op = in->opname,
      .operation_id = in->operation_id,
      .ns = in->namespace_,
      .username = in->username,
      .custom_body = in->custom_body,
      .version = in->version,
      .delete_op = in->delete_op,
      .kube_configs = (const char *const *)in->kube_configs,
      .n_kube_configs = in->n_kube_configs,
  };
  char *id = NULL;
  char *err = mp__runtime_submit(rt_of(svc), &req, NULL, &id);
  Meshes__ApplyRuleResponse r = MESHES__APPLY_RULE_RESPONSE__INIT;
  r.error = err ? err : "";
  r.operation_id = id ? id : (char *)(in->operation_id ? in->operation_id : "");
  if (err) mp_warn("operation refused", "op=%s error=\"%s\"", in->opname, err);
  done(&r, cd);
  mp_free(err);
  mp_free(id);
}

static void svc_supported_operations(Meshes__MeshService_Service *svc,
                                     const Meshes__SupportedOperationsRequest *in,
                                     Meshes__SupportedOperationsResponse_Closure done, void *cd) {
  const mp_adapter *ad = rt_of(svc)->ad;
  Meshes__SupportedOperation *ops = mp_calloc(ad->n_ops, sizeof *ops);
  Meshes__SupportedOperation **ptrs = mp_calloc(ad->n_ops, sizeof *ptrs);
  for (size_t i = 0; i < ad->n_ops; i++) {
    meshes__supported_operation__init(&ops[i]);
    ops[i].key = (char *)ad->ops[i].key;
    ops[i].value = (char *)ad->ops[i].description;
    ops[i].category = (Meshes__OpCategory)ad->ops[i].category;
    ptrs[i] = &ops[i];
  }
  Meshes__SupportedOperationsResponse r = MESHES__SUPPORTED_OPERATIONS_RESPONSE__INIT;
  r.n_ops = ad->n_ops;
  r.ops = ptrs;
  r.error = "none"; /* what Meshery's adapters send when all is well */
  done(&r, cd);
  mp_free(ptrs);
  mp_free(ops);
}

static void svc_stream_events(Meshes__MeshService_Service *svc, const Meshes__EventsRequest *in,
                              Meshes__EventsResponse_Closure done, void *cd) {
  mp__runtime *rt = rt_of(svc);
  uint64_t cursor = mp__ring_cursor_now(&rt->ring);
  mp_info("events subscriber joined", "peer=%s cursor=%llu", mp_rpc_peer(cd),
          (unsigned long long)cursor);
  for (;;) {
    mp_adapter_event ev = {0};
    int got = mp__ring_next(&rt->ring, &cursor, &ev, STREAM_POLL_MS);
    if (got < 0) break;
    if (got == 0) {
      if (mp_rpc_cancelled(cd)) break;
      if (mp_rpc_draining(cd)) { /* everything published so far has been sent */
        mp_rpc_fail(cd, MP_RPC_UNAVAILABLE, "the adapter is shutting down; reconnect later");
        break;
      }
      continue;
    }
    Meshes__EventsResponse r = MESHES__EVENTS_RESPONSE__INIT;
    r.event_type = (Meshes__EventType)ev.type;
    r.summary = ev.summary;
    r.details = ev.details;
    r.operation_id = ev.operation_id;
    r.probable_cause = ev.probable_cause;
    r.suggested_remediation = ev.suggested_remediation;
    r.error_code = ev.error_code;
    r.component = ev.component;
    r.component_name = ev.component_name;
    bool sent = mp_rpc_send(cd, &r.base);
    mp_adapter_event_clear(&ev);
    if (!sent) break;
  }
  mp_info("events subscriber left", "peer=%s", mp_rpc_peer(cd));
}

static const mp_adapter_op provision_op = {"provision", "Provision declarations", MP_OP_CUSTOM,
                                           mp_adapter_op_custom, NULL};

static void svc_provision(Meshes__MeshService_Service *svc, const Meshes__ProvisionRequest *in,
                          Meshes__ProvisionResponse_Closure done, void *cd) {
  mp_buf body = {0};
  for (size_t i = 0; i < in->n_declarations; i++)
    mp_buf_printf(&body, "%s%s\n", i ? "---\n" : "", in->declarations[i]);
  mp_adapter_request req = {
      .struct_size = sizeof req,
      .op = "provision",
      .username = in->username,
      .custom_body = body.data ? body.data : "",
      .delete_op = in->delete_op,
      .kube_configs = (const char *const *)in->kube_configs,
      .n_kube_configs = in->n_kube_configs,
  };
  char *id = NULL;
  char *err = in->n_declarations
                  ? mp__runtime_submit(rt_of(svc), &req, &provision_op, &id)
                  : mp_strdup("no declarations to provision: put Kubernetes YAML documents in "
                              "ProvisionRequest.declarations");
  Meshes__ProvisionResponse r = MESHES__PROVISION_RESPONSE__INIT;
  char *msg = err ? mp_asprintf("error: %s", err)
                  : mp_asprintf("%s %zu declaration%s as operation %s; its events follow on "
                                "StreamEvents",
                                in->delete_op ? "deprovisioning" : "provisioning",
                                in->n_declarations, in->n_declarations == 1 ? "" : "s", id);
  r.message = msg;
  done(&r, cd);
  mp_free(msg);
  mp_free(err);
  mp_free(id);
  mp_buf_free(&body);
}

static void svc_component_info(Meshes__MeshService_Service *svc,
                               const Meshes__ComponentInfoRequest *in,
                               Meshes__ComponentInfoResponse_Closure done, void *cd) {
  service *s = (service *)svc;
  const mp_adapter *ad = s->rt->ad;
  char ops[32], port[32], abi[16];
  snprintf(ops, sizeof ops, "%zu", ad->n_ops);
  snprintf(port, sizeof port, "%d", ad->default_port);
  snprintf(abi, sizeof abi, "%d", MP_ADAPTER_ABI_VERSION);
  const char *fixed[] = {"mesh",
                         ad->name,
                         "platform",
                         s->rt->platform->name,
                         "operations",
                         ops,
                         "default_port",
                         port,
                         "sdk_abi",
                         abi,
                         NULL};
  size_t n = 0, extra = 0;
  while (fixed[2 * n]) n++;
  while (ad->properties && ad->properties[2 * extra] && ad->properties[2 * extra + 1]) extra++;
  Meshes__ComponentInfoResponse__PropertiesEntry *e = mp_calloc(n + extra, sizeof *e);
  Meshes__ComponentInfoResponse__PropertiesEntry **p = mp_calloc(n + extra, sizeof *p);
  for (size_t i = 0; i < n + extra; i++) {
    meshes__component_info_response__properties_entry__init(&e[i]);
    const char *const *kv = i < n ? &fixed[2 * i] : &ad->properties[2 * (i - n)];
    e[i].key = (char *)kv[0];
    e[i].value = (char *)kv[1];
    p[i] = &e[i];
  }
  Meshes__ComponentInfoResponse r = MESHES__COMPONENT_INFO_RESPONSE__INIT;
  r.type = "adapter";
  r.name = s->component;
  r.version = MESHPLANE_VERSION;
  r.git_sha = MESHPLANE_GIT_SHA;
  r.n_properties = n + extra;
  r.properties = p;
  done(&r, cd);
  mp_free(p);
  mp_free(e);
}

/* ---- the process ---------------------------------------------------------------------------- */

int mp_adapter_main(const mp_adapter *ad, int argc, char **argv) {
  if (mp__adapter_check(ad) != MP_OK) {
    fprintf(stderr, "meshplane adapter: %s\n", mp_error_last());
    return 2;
  }
  mp_adapter_set_analyzer(mp__adapter_analyze);
  /* The log names the process for its whole life: keep the name in static storage. */
  static char program[96];
  snprintf(program, sizeof program, "meshplane-adapter-%s", ad->name);
  char listen_default[64], summary[256];
  snprintf(listen_default, sizeof listen_default, "0.0.0.0:%d", ad->default_port);
  snprintf(summary, sizeof summary, "%s", ad->summary ? ad->summary : "a meshplane mesh adapter");
  char *listen = listen_default, *token = ""; /* the parser copies defaults */
  int64_t workers = 4, queue = 64, events = 1024;
  int64_t op_timeout_ns = 20 * 60 * MP_NS_PER_S, grace_ns = 10 * MP_NS_PER_S;
  const mp_flag flags[] = {
      {"listen", 'l', MP_FLAG_STRING, &listen, "MESHPLANE_ADAPTER_LISTEN",
       "gRPC address to serve MeshService on", "ADDR"},
      {"workers", 0, MP_FLAG_INT, &workers, "MESHPLANE_ADAPTER_WORKERS", "operations run at once",
       "N"},
      {"queue", 0, MP_FLAG_INT, &queue, "MESHPLANE_ADAPTER_QUEUE",
       "operations that may wait for a worker", "N"},
      {"events", 0, MP_FLAG_INT, &events, "MESHPLANE_ADAPTER_EVENTS",
       "events kept for slow StreamEvents subscribers", "N"},
      {"op-timeout", 0, MP_FLAG_DURATION, &op_timeout_ns, "MESHPLANE_ADAPTER_OP_TIMEOUT",
       "longest an operation may run", "DURATION"},
      {"grace", 0, MP_FLAG_DURATION, &grace_ns, "MESHPLANE_ADAPTER_GRACE",
       "on SIGTERM, how long calls may finish", "DURATION"},
      {"token", 0, MP_FLAG_STRING, &token, "MESHPLANE_ADAPTER_TOKEN",
       "require this bearer token on every call but health", "TOKEN"},
  };
  const mp_program prog = {program, summary, "[flags]",
                           "Serves meshes.MeshService and meshes.AdapterService (Meshery's adapter "
                           "API) and grpc.health.v1.Health."};
  int nargs, rc = mp_flags_parse(&prog, flags, MP_ARRAY_LEN(flags), argc, argv, &nargs);
  if (rc == 0 && (workers < 1 || workers > 256 || queue < 1 || events < 16 || nargs > 0)) {
    fprintf(stderr,
            "%s: --workers must be 1..256, --queue >= 1, --events >= 16, and no "
            "positional arguments\n",
            program);
    rc = -1;
  }
  if (rc != 0) {
    mp_flags_free(flags, MP_ARRAY_LEN(flags));
    return rc < 0 ? 2 : 0;
  }
  mp_log_init(program);
  /* Block the signals before gRPC starts threads; main waits for them with sigwait. */
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGTERM);
  sigaddset(&sigs, SIGINT);
  pthread_sigmask(SIG_BLOCK, &sigs, NULL);

  mp_rpc_server_opts so = {
      .listen = listen, .grace_ms = grace_ns / MP_NS_PER_MS, .auth_token = *token ? token : NULL};
  mp_rpc_server *srv = NULL;
  if (mp_rpc_server_new(&so, &srv) != MP_OK) {
    fprintf(stderr, "%s: %s\n", program, mp_error_last());
    mp_flags_free(flags, MP_ARRAY_LEN(flags));
    return 1;
  }
  mp__runtime_opts ro = {.workers = (unsigned)workers,
                         .queue = (unsigned)queue,
                         .events = (size_t)events,
                         .op_timeout_ms = op_timeout_ns / MP_NS_PER_MS};
  service svc = {.base = MESHES__MESH_SERVICE__INIT(svc_), .component = program};
  svc.rt = mp__runtime_new(ad, &ro);
  if (!svc.rt) {
    fprintf(stderr, "%s: the %s platform cannot start: %s\n", program,
            ad->platform && ad->platform->name ? ad->platform->name : "kubernetes",
            mp_error_last());
    mp_rpc_server_free(srv);
    mp_flags_free(flags, MP_ARRAY_LEN(flags));
    return 1;
  }
  static const char *const renames[] = {"AdapterName", "MeshName", "AdapterVersions",
                                        "MeshVersions", NULL};
  mp_rpc_server_add_service(srv, &svc.base.base);
  mp_rpc_server_add_service_alias(srv, &svc.base.base, "meshes.AdapterService", renames);
  mp_rpc_server_start(srv);
  printf("PORT %d\n", mp_rpc_server_port(srv));
  fflush(stdout);
  mp_info("serving", "mesh=%s port=%d platform=%s operations=%zu workers=%lld", ad->name,
          mp_rpc_server_port(srv), svc.rt->platform->name, ad->n_ops, (long long)workers);
  int sig = 0;
  sigwait(&sigs, &sig);
  mp_info("draining", "signal=%d", sig);
  /* Operations first (their terminal events reach the streams), then the server: streams
   * flush what is left and end. */
  mp__runtime_stop(svc.rt);
  mp_rpc_server_free(srv);
  mp__runtime_free(svc.rt);
  mp_info("stopped", "mesh=%s", ad->name);
  mp_flags_free(flags, MP_ARRAY_LEN(flags));
  return 0;
}
