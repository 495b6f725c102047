/* Private structures of the host platform (adapters/sdk/host*.c): the mesh instance, its
 * certificate authority, supervised processes, the desired-state model built from applied
 * YAML, and a small HTTP client. Adapter authors use meshplane/adapter.h only. */
#ifndef MP_ADAPTER_HOST_H
#define MP_ADAPTER_HOST_H

#include <pthread.h>
#include <sys/types.h>

#include "internal.h"
#include "meshplane/yaml.h"

#define MP__HOST_API "host.meshplane.io/v1alpha1"
#define MP__HOST_ADMIN "sidecar.meshplane.internal"
#define MP__HOST_SAMPLE_IMAGE "meshplane/sampleapp"
#define MP__HOST_ANN_ADDRESS "host.meshplane.io/address"

/* ---- files (host_util.c) ------------------------------------------------------------------ */

/* Writes data to path atomically (temp file + rename) with mode. */
mp_status mp__hfile_write(const char *path, const void *data, size_t len, unsigned mode);
/* Reads a whole file into out (appended). MP_ERR_NOT_FOUND when it does not exist. */
mp_status mp__hfile_read(const char *path, mp_buf *out);
/* mkdir -p with mode for the directories it creates. */
mp_status mp__hmkdirs(const char *path, unsigned mode);
/* rm -rf: removes path and everything under it (no symlink is followed). */
mp_status mp__hrmtree(const char *path);
/* True when something listens on 127.0.0.1:port (a connect succeeds). */
bool mp__hport_open(const char *ip, int port);
/* True when ip:port can be bound now. */
bool mp__hport_free(const char *ip, int port);
/* Appends s as a JSON string. */
void mp__hjson_str(mp_buf *out, const char *s);
/* Appends a YAML tree as JSON (plain scalars that are numbers, booleans or null stay bare). */
void mp__hjson_node(mp_buf *out, const mp_yaml_node *n);

/* ---- certificate authority (host_ca.c) ---------------------------------------------------- */

typedef struct mp__hca mp__hca;

/* Creates a CA (EC P-256 key, self-signed certificate valid 10 years) in dir: ca.key
 * (0600) and ca.crt. */
mp_status mp__hca_create(const char *dir, const char *trust_domain, mp__hca **out);
mp_status mp__hca_load(const char *dir, mp__hca **out);
void mp__hca_free(mp__hca *ca);
/* "sha256:<hex>" of the CA certificate; the caller's. */
char *mp__hca_fingerprint(const mp__hca *ca);
/* Issues a workload certificate for uri (the only URI SAN, first) and dns (NULL-terminated
 * DNS SANs) to cert_path, signed by the CA, with the key at key_path (created, 0600, when
 * missing). Valid one year; serverAuth and clientAuth. */
mp_status mp__hca_issue(const mp__hca *ca, const char *uri, const char *const *dns,
                        const char *key_path, const char *cert_path);
/* Whether cert_path exists, matches the key at key_path, was issued by ca, names exactly
 * uri and dns (in any order) and stays valid for at least 30 days. */
bool mp__hca_cert_ok(const mp__hca *ca, const char *cert_path, const char *key_path,
                     const char *uri, const char *const *dns);
/* The URI SAN of a PEM certificate file (the caller's) or NULL. */
char *mp__hcert_uri(const char *cert_path);

/* ---- supervised processes (host_proc.c) --------------------------------------------------- */

typedef struct mp__hsup mp__hsup;

/* Called on the supervisor's thread when a process exited on its own: restarted tells
 * whether it runs again (pid), why holds the exit status in words. */
typedef void (*mp__hsup_notify)(void *arg, const char *key, const char *label, const char *why,
                                bool restarted, pid_t pid);

/* A supervisor: one thread watching every process it started (pidfds). Pid files in
 * pid_dir let a later adapter clean up processes an earlier one left behind. */
mp__hsup *mp__hsup_new(const char *pid_dir, mp__hsup_notify notify, void *arg);
/* Stops every process (stop signal, then SIGKILL to its group after grace_ms), joins. */
void mp__hsup_free(mp__hsup *s, int64_t grace_ms);
/* Starts argv (copied; argv[0] a full path) in its own process group, stdout and stderr
 * appended to log_path, and watches it under key (replacing nothing: the key must be
 * free). Restarted when it exits unless stopped. */
mp_status mp__hsup_start(mp__hsup *s, const char *key, const char *label, const char *const *argv,
                         const char *log_path, int stop_signal);
/* Sends sig to the process of key (its master). MP_ERR_NOT_FOUND when not running. */
mp_status mp__hsup_signal(mp__hsup *s, const char *key, int sig);
/* Stops the process of key and forgets it (stop signal, SIGKILL to its group after
 * grace_ms). No-op for unknown keys. */
void mp__hsup_stop(mp__hsup *s, const char *key, int64_t grace_ms);
bool mp__hsup_has(mp__hsup *s, const char *key);
pid_t mp__hsup_pid(mp__hsup *s, const char *key);
/* Whether a process of group pgid lives (zombies do not count). */
bool mp__hgroup_alive(pid_t pgid);
/* Kills (SIGKILL, whole group) processes recorded in pid files of pid_dir that still run
 * with the recorded start time, and removes the files. Returns how many were killed. */
int mp__hsup_reap_stale(const char *pid_dir);
/* The pids of pid's children (at most max), from /proc. */
size_t mp__hchildren(pid_t pid, pid_t *out, size_t max);
/* Whether pid runs (not a zombie). */
bool mp__hpid_alive(pid_t pid);
/* Runs argv to completion (no shell), output captured; for proxy config checks. */
mp_status mp__hrun(const char *const *argv, int64_t timeout_ms, int *exit_code, mp_buf *output);

/* ---- desired state (host_model.c) ----------------------------------------------------------- */

/* One stored object: what was applied, as JSON. */
typedef struct mp__hobj {
  char *kind, *ns, *name, *json;
} mp__hobj;

typedef struct mp__hstore {
  mp__hobj *objs;
  size_t n, cap;
} mp__hstore;

void mp__hstore_free(mp__hstore *s);
void mp__hstore_copy(const mp__hstore *from, mp__hstore *to);
/* Adds or replaces (kind, ns, name); json copied. */
void mp__hstore_put(mp__hstore *s, const char *kind, const char *ns, const char *name,
                    const char *json);
bool mp__hstore_del(mp__hstore *s, const char *kind, const char *ns, const char *name);

typedef struct mp__hkv {
  const char *k, *v;
} mp__hkv;

typedef struct mp__hworkload {
  const char *ns, *name, *sa, *identity;
  mp__hkv *labels;
  size_t n_labels;
  const char *address; /* app address; NULL until ports are assigned */
  int port;            /* the app's port on this host */
  int spec_port;       /* the port SMI rules name: containerPort, else the address's */
  bool run;            /* the platform runs the sample app */
  const char **args;   /* container args for the sample app, NULL-terminated */
  bool fixed_address;  /* the annotation named the address */
} mp__hworkload;

typedef struct mp__hservice {
  const char *ns, *name;
  mp__hkv *selector;
  size_t n_selector;
  int *ports;
  size_t n_ports;
} mp__hservice;

typedef struct mp__hroutegroup {
  const char *ns, *name;
  const char **names; /* match names, parallel to matches */
  mp_adapter_host_match *matches;
  size_t n;
} mp__hroutegroup;

typedef struct mp__htcproute {
  const char *ns, *name;
  long *ports;
  size_t n_ports; /* 0: every port */
} mp__htcproute;

typedef struct mp__hrule {
  const char *kind, *name;
  const char **matches; /* NULL-terminated; NULL: all matches of the group */
} mp__hrule;

typedef struct mp__htarget {
  const char *ns, *name;
  const char *dest_sa, *dest_ns;
  long dest_port; /* 0: any */
  mp__hrule *rules;
  size_t n_rules;
  const char **sources; /* SPIFFE URIs, NULL-terminated */
} mp__htarget;

typedef struct mp__hbackend {
  const char *service;
  long weight;
} mp__hbackend;

typedef struct mp__hsplit {
  const char *ns, *name, *root;
  mp__hbackend *backends;
  size_t n_backends;
  const char **matches; /* HTTPRouteGroup names, NULL-terminated; NULL: all requests */
} mp__hsplit;

/* The desired state: every object of the store, parsed, in one arena. */
typedef struct mp__hmodel {
  mp_arena arena;
  mp__hworkload *workloads;
  size_t n_workloads;
  mp__hservice *services;
  size_t n_services;
  mp__hroutegroup *groups;
  size_t n_groups;
  mp__htcproute *tcp;
  size_t n_tcp;
  mp__htarget *targets;
  size_t n_targets;
  mp__hsplit *splits;
  size_t n_splits;
} mp__hmodel;

/* Kinds the host platform acts on (others are kept and reported, without effect). */
bool mp__hkind_known(const char *kind);
/* Checks one object (a parsed YAML document) and returns its kind, namespace (default_ns
 * when it names none) and name in the arena. MP_ERR_INVALID with "line N: ..." otherwise. */
mp_status mp__hobj_check(mp_arena *a, const mp_yaml_node *doc, const char *default_ns,
                         const char **kind, const char **ns, const char **name);
/* Parses one object (a YAML document) into m; objects without a namespace go to default_ns.
 * MP_ERR_INVALID with "line N: Kind ns/name: what" for an object the platform cannot use. */
mp_status mp__hmodel_add(mp__hmodel *m, const char *trust_domain, const mp_yaml_node *doc,
                         const char *default_ns);
/* Builds the model of store (trust_domain names identities). MP_ERR_INVALID when an object
 * does not parse (a stored object never should). */
mp_status mp__hmodel_build(const mp__hstore *store, const char *trust_domain, mp__hmodel *m);
void mp__hmodel_free(mp__hmodel *m);
/* Whether service s selects workload w. */
bool mp__hselects(const mp__hservice *s, const mp__hworkload *w);
const mp__hservice *mp__hmodel_service(const mp__hmodel *m, const char *ns, const char *name);
/* "spiffe://<td>/ns/<ns>/sa/<sa>" in the arena. */
const char *mp__hidentity(mp_arena *a, const char *td, const char *ns, const char *sa);
/* Whether s is a valid name (RFC 1123 label, at most 63). */
bool mp__hname_ok(const char *s);

/* ---- the mesh (host_mesh.c, host_sidecar.c) ------------------------------------------------ */

typedef struct mp__hside {
  char *key;                  /* "<ns>/<name>" */
  int inbound, outbound, app; /* ports */
  char *conf;                 /* last configuration in effect (NULL: none yet) */
  unsigned long generation;
  bool running;
} mp__hside;

typedef struct mp__host {
  const mp_adapter *ad;
  const mp_adapter_host_proxy *proxy;
  mp_adapter_stream *stream;
  pthread_mutex_t mu;
  char *dir;     /* the state directory */
  char *program; /* the proxy's full path, NULL when not installed on this machine */
  char *sampleapp;
  bool installed;
  char *trust_domain, *version;
  bool mtls, access;
  int port_lo, port_hi;
  mp__hstore store;
  mp__hside *sides;
  size_t n_sides;
  mp__hca *ca;
  mp__hsup *sup;
} mp__host;

/* Paths inside the state directory (the caller's). */
char *mp__hpath(const mp__host *h, const char *fmt, ...) MP_PRINTF(2, 3);

/* Applies (del: deletes) YAML documents (Mesh, Kubernetes and SMI objects), then converges.
 * ns: the namespace of objects that name none. Called with h->mu held. */
mp_status mp__host_apply(mp__host *h, mp_adapter_ctx *ctx, const char *yaml, const char *ns,
                         bool del);
/* Brings processes and configurations to the store's desired state. Called with h->mu. */
mp_status mp__host_converge(mp__host *h, mp_adapter_ctx *ctx);
/* Starts what the state directory describes (after an adapter restart). */
mp_status mp__host_resume(mp__host *h);
/* The proxy's version as it reports it ("1.22.1"); the caller's. */
char *mp__host_proxy_version(mp__host *h);
/* Stops every process and removes the state directory. */
mp_status mp__host_uninstall(mp__host *h, mp_adapter_ctx *ctx);
mp__hside *mp__host_side(mp__host *h, const char *ns, const char *name);
/* The stored objects of ns (NULL: all) as YAML documents. */
void mp__host_snapshot(mp__host *h, const char *ns, mp_buf *out);

/* Builds the sidecar view of workload w in m's arena (host_sidecar.c). */
mp_status mp__hsidecar_view(mp__host *h, const mp__hmodel *m, const mp__hworkload *w,
                            const mp__hside *side, mp_adapter_host_sidecar *out);
/* The DNS SANs of w's certificate: the Services that select it and the TrafficSplit roots
 * whose backends do; NULL-terminated, in m's arena. */
const char **mp__hsidecar_dns(const mp__hmodel *m, const mp__hworkload *w);

/* Appends (after "---" when out is not empty) the sample app's ServiceAccount, Service and
 * Deployment for name; extra_label ("key: value" or NULL) is added to the pod labels. */
void mp__host_sample_yaml(mp_buf *out, const char *name, const char *extra_label);
/* Changes mTLS / access control of an installed mesh and converges. Called with h->mu. */
mp_status mp__host_settings(mp__host *h, mp_adapter_ctx *ctx, bool mtls, bool access);

/* ---- the SMI conformance suite (host_conformance.c) ------------------------------------------ */

mp_status mp__host_conformance(mp__host *h, mp_adapter_ctx *ctx);

/* ---- HTTP/1.1 client (host_http.c) ---------------------------------------------------------- */

typedef struct mp__hhttp {
  int fd;
  char ip[64];
  int port;
  int64_t timeout_ms;
} mp__hhttp;

typedef struct mp__hresp {
  int status; /* 0: no response (connection refused, reset, timeout) */
  mp_buf body;
} mp__hresp;

void mp__hhttp_init(mp__hhttp *c, const char *ip, int port, int64_t timeout_ms);
void mp__hhttp_close(mp__hhttp *c);
/* One request on a kept-alive connection (reconnecting when the peer closed it). headers:
 * NULL-terminated name, value, ... r->body is the caller's (mp_buf_free). MP_OK whenever a
 * response or a clean refusal came back; r->status 0 means no HTTP response. */
mp_status mp__hhttp_do(mp__hhttp *c, const char *method, const char *host, const char *path,
                       const char *const *headers, mp__hresp *r);

#endif
