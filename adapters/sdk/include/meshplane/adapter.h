/* meshplane adapter SDK: everything an adapter author needs, in one header.
 *
 * An adapter is a static const table (mp_adapter) naming the mesh, its versions and its
 * operations, plus a main that hands the table to the SDK:
 *
 *   static const mp_adapter_op ops[] = {
 *       {"hello", "Say hello", MP_OP_CUSTOM, hello, NULL},
 *   };
 *   static const mp_adapter my_mesh = {
 *       MP_ADAPTER_V1, .name = "mymesh", .default_port = 10099,
 *       .ops = ops, .n_ops = MP_ARRAY_LEN(ops),
 *   };
 *   int main(int argc, char **argv) { return mp_adapter_main(&my_mesh, argc, argv); }
 *
 * The SDK serves meshes.MeshService (Meshery's adapter API) and the same methods as
 * meshes.AdapterService, validates ApplyOperation requests, runs each operation's
 * handler on a bounded worker pool and fans the events handlers emit out to every
 * StreamEvents subscriber. Handlers act on a cluster (or, with mp_adapter_platform_host, on
 * this host) through the platform calls below (mp_adapter_apply, mp_adapter_helm,
 * mp_adapter_run_tool), never through a shell.
 *
 * Conventions: functions returning mp_status record a message with mp_error_set();
 * strings passed in are borrowed for the duration of the call unless said otherwise.
 * See adapters/README.md for a walk-through and adapters/example for a complete adapter.
 */
#ifndef MESHPLANE_ADAPTER_H
#define MESHPLANE_ADAPTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "meshplane/base.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Bumped whenever a struct below changes incompatibly. The tables (mp_adapter,
 * mp_adapter_platform) and the request carry it or their size first; the small argument
 * structs (mp_adapter_op, mp_adapter_chart, mp_adapter_sample) are covered by the table's. */
#define MP_ADAPTER_ABI_VERSION 1

/* meshes.OpCategory, same numbers. */
typedef enum mp_adapter_category {
  MP_OP_INSTALL = 0,
  MP_OP_SAMPLE_APPLICATION = 1,
  MP_OP_CONFIGURE = 2,
  MP_OP_VALIDATE = 3,
  MP_OP_CUSTOM = 4,
} mp_adapter_category;

/* meshes.EventType, same numbers. */
typedef enum mp_adapter_event_type {
  MP_EVENT_INFO = 0,
  MP_EVENT_WARN = 1,
  MP_EVENT_ERROR = 2,
} mp_adapter_event_type;

/* Error codes the SDK puts in events' error_code. Adapters may use their own as well. */
#define MP_ADAPTER_ERR_TOOL_MISSING "MPA1001"  /* kubectl, helm or a mesh CLI not on PATH */
#define MP_ADAPTER_ERR_CLUSTER "MPA1002"       /* the cluster could not be reached */
#define MP_ADAPTER_ERR_KUBECONFIG "MPA1003"    /* no usable kubeconfig */
#define MP_ADAPTER_ERR_COMMAND "MPA1004"       /* a tool ran and failed */
#define MP_ADAPTER_ERR_INVALID "MPA1005"       /* the request or its YAML is invalid */
#define MP_ADAPTER_ERR_UNSUPPORTED "MPA1006"   /* not possible on this platform */
#define MP_ADAPTER_ERR_ANALYZER "MPA1007"      /* no configuration analyzer linked */
#define MP_ADAPTER_ERR_TIMEOUT "MPA1008"       /* the operation ran out of time */
#define MP_ADAPTER_ERR_EVENTS_MISSED "MPA1009" /* a subscriber fell behind the ring */
#define MP_ADAPTER_ERR_CANCELLED "MPA1010"     /* the adapter is shutting down */
#define MP_ADAPTER_ERR_INTERNAL "MPA1011"

/* ---- the adapter table ---------------------------------------------------------------- */

/* The running operation, handed to handlers. Valid until the handler returns. */
typedef struct mp_adapter_ctx mp_adapter_ctx;

/* The component of the one event that ends each operation (below); every other event an
 * adapter publishes has component "adapter". */
#define MP_ADAPTER_COMPONENT_OPERATION "operation"

/* A handler does the work of one operation. It reports progress with
 * mp_adapter_emit_event() and its outcome with the status it returns. Once it returned, the
 * SDK ends the operation with exactly one terminal event, the operation's last, the only
 * one with component MP_ADAPTER_COMPONENT_OPERATION (meshes.EventsResponse has no "done"
 * field; clients stop following an operation at this event):
 *   - MP_OK: INFO "<description>: done" ("<description>: removed" for delete_op), details
 *     "finished in 1.23s";
 *   - another status, the handler having emitted no ERROR event: the ERROR built from
 *     mp_adapter_problem() when the handler or a platform call recorded one (its summary,
 *     details, cause, remediation and code), else "<description>: operation failed" (or
 *     "removal failed") with mp_error_last() as details;
 *   - another status after ERROR events of the handler's own: ERROR "<description>: failed"
 *     whose details point at them (how many, the first one's summary), with the recorded
 *     problem's code, else (unless the status is MP_ERR_CANCELLED or MP_ERR_TIMEOUT, whose
 *     codes it then carries) the first ERROR's code.
 * An operation cancelled by the drain (SIGTERM) ends the same way, with an ERROR whose code
 * is MP_ADAPTER_ERR_CANCELLED, whether it was running or still queued. */
typedef mp_status (*mp_adapter_handler)(mp_adapter_ctx *ctx);

typedef struct mp_adapter_op {
  const char *key;         /* ApplyRuleRequest.opName, e.g. "istio", "bookinfo" */
  const char *description; /* SupportedOperation.value, shown by Meshery */
  mp_adapter_category category;
  mp_adapter_handler handler;
  const void *arg; /* static data for the handler (mp_adapter_op_arg), may be NULL */
} mp_adapter_op;

typedef struct mp_adapter_platform mp_adapter_platform;

typedef struct mp_adapter {
  uint32_t abi_version;  /* MP_ADAPTER_ABI_VERSION; MP_ADAPTER_V1 fills both */
  uint32_t struct_size;  /* sizeof(mp_adapter) */
  const char *name;      /* "istio": process meshplane-adapter-<name>, events' component_name */
  const char *mesh_name; /* MeshName reply, e.g. "ISTIO"; NULL means name */
  const char *summary;   /* one line for --help */
  const char *const *versions; /* NULL-terminated, newest first; versions[0] is the default */
  int default_port;            /* Meshery's port for this mesh */
  const mp_adapter_op *ops;    /* the operations, in the order SupportedOperations lists */
  size_t n_ops;
  const mp_adapter_platform *platform; /* NULL: mp_adapter_platform_kubernetes */
  const char *const *properties;       /* NULL-terminated key, value, ...: ComponentInfo */
  /* Static data for the platform, read by its attach hook: the host platform takes the
   * adapter's proxy (an mp_adapter_host_proxy). NULL for kubernetes. */
  const void *platform_arg;
} mp_adapter;

#define MP_ADAPTER_V1 .abi_version = MP_ADAPTER_ABI_VERSION, .struct_size = sizeof(mp_adapter)

/* Parses flags (--listen with the adapter's default port, --workers, --queue, --events,
 * --op-timeout, --grace, --token, --log-level, --help, --version; each with a
 * MESHPLANE_ADAPTER_* environment override), serves MeshService, AdapterService and
 * health until SIGTERM or SIGINT, then drains: queued operations are cancelled, running
 * ones are cancelled and awaited, event streams flush and end. Prints "PORT <n>" on
 * stdout once listening. Returns the process exit code. */
int mp_adapter_main(const mp_adapter *adapter, int argc, char **argv);

/* ---- inside a handler --------------------------------------------------------------- */

/* The request as the client sent it. Handed to a handler it is normalized: strings are
 * never NULL. Given to mp_adapter_mock_apply, NULL strings mean empty. */
typedef struct mp_adapter_request {
  uint32_t struct_size;
  const char *op;           /* the operation key */
  const char *operation_id; /* the client's, or a uuid the SDK assigned */
  const char *ns;           /* target namespace; "default" when the client sent none */
  const char *username;
  const char *custom_body;         /* YAML for custom operations, "" when none */
  const char *version;             /* requested mesh version, "" when none */
  bool delete_op;                  /* undo the operation (uninstall, remove, disable) */
  const char *const *kube_configs; /* kubeconfig documents, n_kube_configs of them */
  size_t n_kube_configs;
} mp_adapter_request;

/* Borrowed; valid while the handler runs. */
const mp_adapter_request *mp_adapter_req(const mp_adapter_ctx *ctx);
/* The op table entry's arg. */
const void *mp_adapter_op_arg(const mp_adapter_ctx *ctx);
/* The op table entry being run. */
const mp_adapter_op *mp_adapter_op_of(const mp_adapter_ctx *ctx);
/* The adapter table the operation runs in. */
const mp_adapter *mp_adapter_of(const mp_adapter_ctx *ctx);
/* The requested version, else the adapter's default (versions[0]), else "". */
const char *mp_adapter_version(const mp_adapter_ctx *ctx);
/* True once the adapter is shutting down or the operation ran out of time. Platform
 * calls return MP_ERR_CANCELLED / MP_ERR_TIMEOUT by themselves; long handler loops should
 * poll this. */
bool mp_adapter_cancelled(const mp_adapter_ctx *ctx);

/* The emit_event: publishes one event for this operation to every StreamEvents
 * subscriber, tagged with the operation id, component "adapter" and the adapter's name.
 * Any string may be NULL (sent as ""). All strings are copied. The operation's terminal
 * event (component "operation") is the SDK's, after the handler returned: see
 * mp_adapter_handler. */
void mp_adapter_emit_event(mp_adapter_ctx *ctx, mp_adapter_event_type type, const char *summary,
                           const char *details, const char *probable_cause,
                           const char *suggested_remediation, const char *error_code);
/* An INFO event with a formatted summary. */
void mp_adapter_infof(mp_adapter_ctx *ctx, const char *fmt, ...) MP_PRINTF(2, 3);
/* A WARN event with a formatted summary. */
void mp_adapter_warnf(mp_adapter_ctx *ctx, const char *fmt, ...) MP_PRINTF(2, 3);

/* Records why the operation is failing; the SDK turns it into the terminal ERROR event
 * when the handler returns st (see mp_adapter_handler). The first problem recorded wins (it
 * is the root cause). Strings are copied; any may be NULL. Returns st, so:
 * return mp_adapter_problem(ctx, ...). */
mp_status mp_adapter_problem(mp_adapter_ctx *ctx, mp_status st, const char *error_code,
                             const char *summary, const char *details, const char *probable_cause,
                             const char *suggested_remediation);
/* The same with a formatted summary and no details. */
mp_status mp_adapter_failf(mp_adapter_ctx *ctx, mp_status st, const char *error_code,
                           const char *probable_cause, const char *suggested_remediation,
                           const char *fmt, ...) MP_PRINTF(6, 7);

/* ---- platform calls (dispatched to the adapter's platform) ------------------------------ */

/* A Helm chart release. Strings borrowed. */
typedef struct mp_adapter_chart {
  const char *repo;       /* chart repository URL */
  const char *chart;      /* chart name in the repository */
  const char *release;    /* release name */
  const char *version;    /* chart version; NULL or "" for the latest */
  const char *ns;         /* release namespace (created when missing) */
  const char *const *set; /* NULL-terminated "key=value" overrides, or NULL */
} mp_adapter_chart;

typedef enum mp_adapter_tool_mode {
  MP_TOOL_RUN = 0,       /* run the tool against the cluster */
  MP_TOOL_APPLY_OUTPUT,  /* run it and apply the manifest it prints ("linkerd install") */
  MP_TOOL_DELETE_OUTPUT, /* run it and delete the manifest it prints */
} mp_adapter_tool_mode;

/* Applies (or, with del, deletes) a multi-document manifest. ns: the namespace for
 * resources that name none (created if missing when applying), or NULL to use each
 * document's own. On every cluster of the request. */
mp_status mp_adapter_apply(mp_adapter_ctx *ctx, const char *yaml, const char *ns, bool del);
/* The operation's namespace with key set to "enabled" ("disabled" for delete_op), as a
 * label or (annotation) an annotation, applied: how meshes switch sidecar injection. */
mp_status mp_adapter_apply_namespace_switch(mp_adapter_ctx *ctx, const char *key, bool annotation);
/* Installs or upgrades (or, with del, uninstalls) a Helm release. */
mp_status mp_adapter_helm(mp_adapter_ctx *ctx, const mp_adapter_chart *chart, bool del);
/* Runs a mesh CLI (argv[0] is the tool name, looked up on PATH) with access to the
 * cluster; see mp_adapter_tool_mode. ns is used by the *_OUTPUT modes as in apply. */
mp_status mp_adapter_run_tool(mp_adapter_ctx *ctx, const char *const *argv,
                              mp_adapter_tool_mode mode, const char *ns);
/* Whether a tool is available to this operation (on PATH for kubernetes). */
bool mp_adapter_have_tool(mp_adapter_ctx *ctx, const char *tool);
/* The live configuration of namespace ns (NULL: all namespaces) as multi-document YAML,
 * appended to out. */
mp_status mp_adapter_snapshot(mp_adapter_ctx *ctx, const char *ns, mp_buf *out);
/* Runs the SMI conformance suite where the platform has a runner. */
mp_status mp_adapter_smi_conformance(mp_adapter_ctx *ctx);

/* ---- ready-made handlers -------------------------------------------------------------- */

/* A sample application (arg of mp_adapter_op_sample). */
typedef struct mp_adapter_sample {
  const char *app;                    /* "bookinfo", "httpbin", "imagehub", "emojivoto" */
  const char *const *pod_annotations; /* NULL-terminated key, value, ... added to pods */
  /* Appends mesh-specific resources (e.g. an Istio Gateway) for namespace ns; may be NULL. */
  void (*extra)(const char *ns, mp_buf *out);
} mp_adapter_sample;

/* Deploys (delete_op: removes) the mp_adapter_sample in arg into the request namespace. */
mp_status mp_adapter_op_sample(mp_adapter_ctx *ctx);
/* Applies (delete_op: deletes) the request's custom_body after checking it is YAML
 * whose documents name an apiVersion, a kind and a metadata.name. */
mp_status mp_adapter_op_custom(mp_adapter_ctx *ctx);
/* Analyzes custom_body if given, else a snapshot of the request namespace, with the
 * analyzer set by mp_adapter_set_analyzer(). */
mp_status mp_adapter_op_analyze(mp_adapter_ctx *ctx);
/* Runs the platform's SMI conformance runner; where there is none, ends with an ERROR
 * that says so (never invents results). */
mp_status mp_adapter_op_smi_conformance(mp_adapter_ctx *ctx);

extern const mp_adapter_sample mp_adapter_sample_bookinfo;
extern const mp_adapter_sample mp_adapter_sample_httpbin;
extern const mp_adapter_sample mp_adapter_sample_imagehub;
extern const mp_adapter_sample mp_adapter_sample_emojivoto;

/* The configuration analyzer hook: adapters/analyzer plugs in here, with a function that
 * analyzes yaml (len bytes, multi-document; `kind: List` already flattened) and reports each
 * finding with mp_adapter_emit_event() (WARN or ERROR, the rule's code as error_code);
 * it returns MP_OK when the analysis ran, findings or not. Process-wide; NULL unsets. Until
 * one is set, analyze operations end with an MP_ADAPTER_ERR_ANALYZER event. */
typedef mp_status (*mp_adapter_analyzer)(mp_adapter_ctx *ctx, const char *yaml, size_t len);
void mp_adapter_set_analyzer(mp_adapter_analyzer fn);

/* ---- rendering YAML ----------------------------------------------------------------- */

/* Appends tmpl to out with every "{{name}}" replaced by its value from vars
 * (NULL-terminated name, value, ...). An unknown name is an error (MP_ERR_INVALID,
 * nothing appended). */
mp_status mp_adapter_render(mp_buf *out, const char *tmpl, const char *const *vars);
/* Appends a sample application's manifest (resources without a namespace; apply it with
 * ns). MP_ERR_NOT_FOUND for an unknown app. */
mp_status mp_adapter_render_sample(const mp_adapter_sample *sample, const char *ns, mp_buf *out);
/* Appends a Namespace document with the given labels and annotations (NULL-terminated
 * key, value, ...; either may be NULL). */
void mp_adapter_render_namespace(mp_buf *out, const char *ns, const char *const *labels,
                                 const char *const *annotations);
/* True for a valid Kubernetes namespace name (RFC 1123 label). */
bool mp_adapter_valid_namespace(const char *ns);

/* ---- platforms -------------------------------------------------------------------------- */

/* The adapter's event stream, for a platform's background work (outside any operation):
 * valid from the platform's attach hook until its detach hook returns. */
typedef struct mp_adapter_stream mp_adapter_stream;

/* Publishes an event that belongs to no operation (operation_id ""), tagged like
 * mp_adapter_emit_event's. Strings are copied; any may be NULL. Thread-safe. */
void mp_adapter_stream_emit(mp_adapter_stream *s, mp_adapter_event_type type, const char *summary,
                            const char *details, const char *probable_cause,
                            const char *suggested_remediation, const char *error_code);

/* A platform is where operations act: a static const ops table. Every hook receives the
 * per-operation state its begin() made. begin runs before the first platform call of an
 * operation and end after the handler returns (only if begin succeeded). NULL hooks are
 * allowed: the call then fails with MP_ADAPTER_ERR_UNSUPPORTED naming the platform.
 * Hooks record failures with mp_adapter_problem().
 *
 * A platform with state that outlives operations (the host platform's processes) also has
 * attach, run once when the adapter's runtime starts (mp_adapter_main, mp_adapter_mock_new)
 * before any operation, and detach, run once after the last operation ended. What attach
 * puts in *global every hook reaches with mp_adapter_platform_global(). If attach fails,
 * the adapter does not start (the message of mp_error_last() says why). */
struct mp_adapter_platform {
  uint32_t abi_version; /* MP_ADAPTER_ABI_VERSION */
  uint32_t struct_size; /* sizeof(mp_adapter_platform) */
  const char *name;     /* "kubernetes", "host", "mock" */
  mp_status (*begin)(mp_adapter_ctx *ctx, void **state);
  void (*end)(mp_adapter_ctx *ctx, void *state);
  bool (*have_tool)(mp_adapter_ctx *ctx, void *state, const char *tool);
  mp_status (*apply)(mp_adapter_ctx *ctx, void *state, const char *yaml, const char *ns, bool del);
  mp_status (*helm)(mp_adapter_ctx *ctx, void *state, const mp_adapter_chart *chart, bool del);
  mp_status (*run_tool)(mp_adapter_ctx *ctx, void *state, const char *const *argv,
                        mp_adapter_tool_mode mode, const char *ns);
  mp_status (*snapshot)(mp_adapter_ctx *ctx, void *state, const char *ns, mp_buf *out);
  mp_status (*smi_conformance)(mp_adapter_ctx *ctx, void *state);
  mp_status (*attach)(const mp_adapter *ad, mp_adapter_stream *stream, void **global);
  void (*detach)(void *global);
};

/* Kubernetes: kubeconfigs from the request in 0600 temp files (removed when the operation
 * ends), kubectl / helm / mesh CLIs run with an argv via posix_spawn (never a shell).
 * The host platform (local proxy processes) is another table of this shape. */
extern const mp_adapter_platform mp_adapter_platform_kubernetes;

/* The data a platform was created with (mp_adapter_mock's recorder); NULL otherwise. */
void *mp_adapter_platform_data(const mp_adapter_ctx *ctx);
/* What the platform's attach hook made; NULL for platforms without one. */
void *mp_adapter_platform_global(const mp_adapter_ctx *ctx);

/* ---- the host platform: a mesh of local sidecar proxies --------------------------------- */

/* The host platform runs a mesh on this machine: a state directory (a mesh CA, workload
 * certificates, proxy configurations, logs), one supervised sidecar proxy per workload and
 * the sample apps it starts. Kubernetes-style YAML drives it: Deployments are workloads
 * (identity spiffe://<trust-domain>/ns/<ns>/sa/<serviceAccountName>), Services route to
 * the workloads they select, and SMI TrafficTarget, HTTPRouteGroup, TCPRoute and
 * TrafficSplit become proxy configuration. The adapter names its proxy in
 * mp_adapter.platform_arg (an mp_adapter_host_proxy); the proxy renders configuration from
 * the views below, which the platform computes. See adapters/README.md, "Host meshes". */
extern const mp_adapter_platform mp_adapter_platform_host;

/* One HTTPRouteGroup match, resolved. Strings are the user's, validated: regexes and
 * header names hold no control characters; methods are upper-case tokens. */
typedef struct mp_adapter_host_match {
  const char *path_regex;     /* NULL: any path; else a PCRE anchored at the path's start */
  const char *const *methods; /* NULL-terminated; NULL: any method */
  const char *const *headers; /* NULL-terminated name, value-regex, ...: all must match */
} mp_adapter_host_match;

/* One TrafficTarget whose destination is this workload: requests from one of the sources
 * (checked on the client certificate's URI SAN) that match one of the matches pass. */
typedef struct mp_adapter_host_allow {
  const char *name;                     /* "<ns>/<name>" of the TrafficTarget */
  const char *const *sources;           /* SPIFFE URIs, NULL-terminated, at least one */
  const mp_adapter_host_match *matches; /* n_matches of them; 0: every request */
  size_t n_matches;
} mp_adapter_host_allow;

/* An upstream sidecar: its inbound listener and a weight (1 without a split). */
typedef struct mp_adapter_host_endpoint {
  const char *address;  /* "127.0.0.1:port" */
  const char *workload; /* "<ns>/<name>", for comments */
  unsigned weight;      /* 1..256; integer ratios are exact (smooth weighted round robin) */
} mp_adapter_host_endpoint;

/* A Service reachable through this sidecar's outbound listener, chosen by the Host header. */
typedef struct mp_adapter_host_route {
  const char *service, *ns;
  const char *key;          /* unique, [a-z0-9_], for names in the proxy's config */
  const char *const *hosts; /* Host header values that select it (no port), NULL-terminated */
  const char *tls_name;     /* the DNS SAN every endpoint's certificate carries */
  const mp_adapter_host_endpoint *endpoints; /* the Service's own; may be 0 (503) */
  size_t n_endpoints;
  /* A TrafficSplit with this Service as its root: requests that match split_matches (all
   * when n_split_matches is 0) go to split_endpoints by weight; others to endpoints. */
  const mp_adapter_host_endpoint *split_endpoints; /* n_split 0: no split */
  size_t n_split;
  const mp_adapter_host_match *split_matches;
  size_t n_split_matches;
} mp_adapter_host_route;

/* Everything a proxy needs to render one workload's sidecar. Borrowed for the call. */
typedef struct mp_adapter_host_sidecar {
  const char *name, *ns;       /* the workload (Deployment) */
  const char *identity;        /* its SPIFFE URI */
  const char *dir;             /* the sidecar's directory: put pid, temp and runtime files here */
  const char *cert, *key, *ca; /* PEM files: workload certificate and key, mesh CA */
  const char *cert_key;        /* the certificate and its key in one PEM file (0600) */
  const char *listen_ip;       /* "127.0.0.1" */
  int inbound_port;            /* in front of the app: mTLS when mtls */
  int outbound_port;           /* plain HTTP from the app; mTLS to upstream sidecars */
  const char *app_address;     /* "127.0.0.1:port" */
  bool mtls;
  bool access_control; /* default deny: only requests that an allow entry admits pass */
  bool as_root;        /* the proxy runs as root: drop workers to an unprivileged user */
  const mp_adapter_host_allow *allow;
  size_t n_allow;
  const mp_adapter_host_route *routes;
  size_t n_routes;
  /* GET with "Host: <admin_host>" on the outbound listener answers 200 with body
   * "<generation>", which tells the platform a reload is in effect. */
  const char *admin_host;
  unsigned long generation;
} mp_adapter_host_sidecar;

/* The proxy of a host mesh: how it renders a sidecar and how it runs and reloads. */
typedef struct mp_adapter_host_proxy {
  uint32_t abi_version; /* MP_ADAPTER_ABI_VERSION */
  uint32_t struct_size; /* sizeof(mp_adapter_host_proxy) */
  const char *name;     /* "nginx" */
  const char *program;  /* looked up on PATH, then /usr/sbin and /sbin */
  const char *package;  /* the Debian package, for remediations */
  /* Appends the sidecar's configuration to out. MP_ERR_INVALID with a message when the
   * view asks for something this proxy cannot express. */
  mp_status (*render)(const mp_adapter_host_sidecar *sc, mp_buf *out);
  /* Fills argv (at most max - 1 entries, then NULL) to run the proxy in the foreground
   * with configuration file conf (check: only test the file and exit 0 when valid).
   * argv[0] is replaced by the program's full path. Strings point into program, sc, conf
   * or static storage. Returns the count. */
  size_t (*argv)(const mp_adapter_host_sidecar *sc, const char *program, const char *conf,
                 bool check, const char **argv, size_t max);
  int reload_signal;        /* graceful reload of the foreground master (nginx SIGHUP) */
  int stop_signal;          /* fast stop of the master and its workers */
  const char *version_flag; /* prints the version ("-v") */
} mp_adapter_host_proxy;

/* The DER encoding of uri as a GeneralName uniformResourceIdentifier (tag 0x86, length,
 * bytes), the bytes a certificate's SAN holds for a SPIFFE ID; into out (cleared first).
 * For proxies that check identities on the certificate's raw bytes. */
void mp_adapter_host_uri_der(const char *uri, mp_buf *out);

/* Ready-made handlers for host meshes. install: creates the mesh (CA, state) or, with
 * delete_op, stops everything and removes the state. mtls / access_control: turn mutual
 * TLS / SMI default deny on (delete_op: off). sampleapp: deploys (removes) the meshplane
 * sample app's three services app-a, app-b, app-c into the request namespace. */
mp_status mp_adapter_host_op_install(mp_adapter_ctx *ctx);
mp_status mp_adapter_host_op_mtls(mp_adapter_ctx *ctx);
mp_status mp_adapter_host_op_access_control(mp_adapter_ctx *ctx);
mp_status mp_adapter_host_op_sampleapp(mp_adapter_ctx *ctx);

/* The operations every host mesh adapter offers after its own install row (whose key and
 * description name the proxy): put MP_ADAPTER_HOST_OPS in the adapter's ops table. */
// clang-format off
#define MP_ADAPTER_HOST_OPS                                                                        \
  {"mtls", "Mutual TLS between sidecars (delete: plain HTTP)", MP_OP_CONFIGURE,                    \
   mp_adapter_host_op_mtls, NULL},                                                                 \
  {"access-control", "SMI access control: default deny (delete: permissive)", MP_OP_CONFIGURE,     \
   mp_adapter_host_op_access_control, NULL},                                                       \
  {"sampleapp", "meshplane sample app (app-a, app-b, app-c)", MP_OP_SAMPLE_APPLICATION,            \
   mp_adapter_host_op_sampleapp, NULL},                                                            \
  {"custom", "Custom YAML (SMI, Services, Deployments)", MP_OP_CUSTOM, mp_adapter_op_custom, NULL},\
  {"analyze", "Analyze running configuration", MP_OP_VALIDATE, mp_adapter_op_analyze, NULL},       \
  {"smi_conformance", "SMI conformance", MP_OP_VALIDATE, mp_adapter_op_smi_conformance, NULL}
// clang-format on

/* ---- mock host: unit-test an adapter without a network ------------------------------- */

/* An event as a subscriber receives it. Strings are owned by the event. */
typedef struct mp_adapter_event {
  uint64_t seq; /* position in the adapter's event stream (0 for a "missed" notice) */
  mp_adapter_event_type type;
  char *summary, *details, *operation_id, *probable_cause, *suggested_remediation, *error_code,
      *component, *component_name;
} mp_adapter_event;
/* Frees the strings and zeroes the event. */
void mp_adapter_event_clear(mp_adapter_event *ev);

typedef struct mp_adapter_mock mp_adapter_mock;
typedef struct mp_adapter_sub mp_adapter_sub;

typedef struct mp_adapter_mock_opts {
  unsigned workers; /* operations run at once (default 4) */
  unsigned queue;   /* operations waiting at most (default 64) */
  size_t events;    /* ring capacity in events (default 1024) */
  int64_t op_timeout_ms;
  /* The platform operations act on. NULL: a recorder that accepts every call and keeps
   * it (mp_adapter_mock_calls); &mp_adapter_platform_kubernetes runs the real tools. */
  const mp_adapter_platform *platform;
  const char *const *missing_tools; /* recorder: NULL-terminated tools it lacks */
} mp_adapter_mock_opts;

/* Links an adapter table into a test: no server, no network. opts may be NULL. NULL when
 * the table is invalid or the platform's attach hook failed (mp_error_last() says why). */
mp_adapter_mock *mp_adapter_mock_new(const mp_adapter *adapter, const mp_adapter_mock_opts *opts);
/* Stops workers (running operations are cancelled and awaited) and frees. NULL is fine. */
void mp_adapter_mock_free(mp_adapter_mock *m);
/* Drains as SIGTERM does: queued and running operations are cancelled and awaited (each
 * ends with its terminal ERROR event), later ones are refused. Subscribers read on until
 * mp_adapter_mock_free. */
void mp_adapter_mock_stop(mp_adapter_mock *m);
/* ApplyOperation. Returns NULL and the operation id in *operation_id (the caller's to
 * free), or the error text ApplyRuleResponse.error would carry (the caller's to free). */
char *mp_adapter_mock_apply(mp_adapter_mock *m, const mp_adapter_request *req, char **operation_id);
/* Waits until the operation finished (its terminal event published). */
bool mp_adapter_mock_wait(mp_adapter_mock *m, const char *operation_id, int64_t timeout_ms);
/* A StreamEvents subscriber: receives every event published after this call. */
mp_adapter_sub *mp_adapter_mock_subscribe(mp_adapter_mock *m);
/* Waits up to timeout_ms for the subscriber's next event into out, which must be zeroed or
 * hold an earlier event (it is cleared first); clear the last one with
 * mp_adapter_event_clear. False on timeout. */
bool mp_adapter_sub_next(mp_adapter_sub *s, int64_t timeout_ms, mp_adapter_event *out);
void mp_adapter_sub_free(mp_adapter_sub *s);
/* The recorder's calls, one line each ("apply ns=default del=0", "helm ...",
 * "tool istioctl install ..."); *yaml (may be NULL) receives the manifest of an apply.
 * Borrowed until the next operation or mp_adapter_mock_free. NULL past the end. */
const char *mp_adapter_mock_call(mp_adapter_mock *m, size_t i, const char **yaml);
size_t mp_adapter_mock_ncalls(mp_adapter_mock *m);
void mp_adapter_mock_reset_calls(mp_adapter_mock *m);

#ifdef __cplusplus
}
#endif
#endif
