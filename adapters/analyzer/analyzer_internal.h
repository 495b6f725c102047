/* Private to adapters/analyzer: the YAML document tree, the resource model shared by the
 * rules, and the rule table's types. Nothing here crosses the library boundary.
 *
 * Memory: every tree node, every resource and every string a rule builds while it runs
 * lives in an arena (mp_arena) that is freed as a whole; nothing in these structures is
 * freed on its own. Findings are the exception: mp__report copies what it is given. */
#ifndef MESHPLANE_ANALYZER_INTERNAL_H
#define MESHPLANE_ANALYZER_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "meshplane/analyzer.h"
#include "meshplane/base.h"
#include "meshplane/yaml.h"

/* ---- resources --------------------------------------------------------------------- */

typedef enum mp__kind {
  MP__K_OTHER = 0,
  MP__K_NAMESPACE,
  MP__K_SERVICE,
  MP__K_SERVICEACCOUNT,
  MP__K_POD,
  MP__K_DEPLOYMENT,
  MP__K_STATEFULSET,
  MP__K_DAEMONSET,
  MP__K_REPLICASET,
  MP__K_RC,
  MP__K_JOB,
  MP__K_CRONJOB,
  MP__K_VIRTUALSERVICE,
  MP__K_GATEWAY,
  MP__K_DESTINATIONRULE,
  MP__K_SERVICEENTRY,
  MP__K_SIDECAR,
  MP__K_PEERAUTHENTICATION,
  MP__K_AUTHORIZATIONPOLICY,
  MP__K_TRAFFICSPLIT,
  MP__K_TRAFFICTARGET,
  MP__K_HTTPROUTEGROUP,
  MP__K_TCPROUTE,
  MP__K_UDPROUTE,
  MP__K_COUNT,
} mp__kind;

typedef struct mp__res {
  mp__kind kind;
  const char *kind_name; /* as written, "" when absent */
  const char *group;     /* API group from apiVersion, "" for core */
  const char *name;      /* "" when absent */
  const char *ns;        /* resolved namespace; "" for cluster-scoped kinds */
  const char *ident;     /* "Kind ns/name" or "Kind name" */
  const char *file;
  int line; /* metadata.name, else the document start */
  const mp_yaml_node *root, *meta, *spec, *labels, *annotations;
  /* Pods and workload controllers: the pod (template) they run. */
  bool workload;
  const mp_yaml_node *pod_meta, *pod_labels, *pod_annotations, *pod_spec;
  bool synthetic; /* the assumed istio-system ingress gateway: never reported on */
} mp__res;

/* ---- findings and the rule table ---------------------------------------------------- */

typedef struct mp__finding {
  const char *code;
  const char *rule; /* rule name, for suppression */
  mp_analyzer_level level;
  char *resource, *message, *file; /* heap */
  int line;
} mp__finding;

typedef struct mp__findings {
  mp__finding *v;
  size_t n, cap;
} mp__findings;

struct mp__rule;

/* What a rule sees: the whole set, indexed by kind, and scratch memory. */
typedef struct mp__ctx {
  const mp__res **all;
  size_t nall;
  const mp__res **by_kind[MP__K_COUNT];
  size_t nkind[MP__K_COUNT];
  const mp__res **workloads; /* Pods and controllers, the assumed gateway included */
  size_t nworkloads;
  mp_arena *scratch; /* freed after the run */
  const struct mp__rule *rule;
  mp__findings *out;
} mp__ctx;

typedef void (*mp__check_fn)(mp__ctx *cx);

typedef struct mp__rule {
  mp_analyzer_rule info;
  mp__check_fn check; /* NULL: findings come from elsewhere (MP0001 from the parser) */
} mp__rule;

/* The rule table (rules_table.c). */
extern const mp__rule mp__rules[];
extern const size_t mp__nrules;

/* Records a finding of the running rule on r (never on synthetic resources). line 0
 * means r's own line. The message is formatted and copied. */
void mp__report(mp__ctx *cx, const mp__res *r, int line, const char *fmt, ...) MP_PRINTF(4, 5);
void mp__findings_add(mp__findings *f, const char *code, const char *rule, mp_analyzer_level lvl,
                      const char *resource, const char *file, int line, const char *message);
void mp__findings_clear(mp__findings *f);

/* ---- model helpers (model.c) ----------------------------------------------------------- */

/* Builds resources from one document root into `out` (List items expanded). */
typedef void (*mp__res_fn)(void *arg, mp__res *r);
void mp__resources_from_doc(mp_arena *a, const mp_yaml_node *root, const char *file,
                            const char *default_ns, mp__res_fn fn, void *arg);
bool mp__kind_is_workload(mp__kind k);

const mp__res **mp__list(const mp__ctx *cx, mp__kind k, size_t *n);
const mp__res *mp__find(const mp__ctx *cx, mp__kind k, const char *ns, const char *name);
/* Whether namespace `ns` exists: a Namespace resource or any resource living in it. */
bool mp__ns_known(const mp__ctx *cx, const char *ns);

/* Every key=value of `selector` (a map) is in `labels`. An empty or absent selector
 * matches everything; callers that treat it otherwise check mp_yaml_len first. */
bool mp__labels_match(const mp_yaml_node *selector, const mp_yaml_node *labels);
/* "k1=v1,k2=v2", keys sorted (like Kubernetes selector strings). Scratch memory. */
const char *mp__selector_str(mp__ctx *cx, const mp_yaml_node *selector);
/* Workloads in `ns` (NULL: any) whose pod labels the selector matches. */
size_t mp__count_selected(const mp__ctx *cx, const char *ns, const mp_yaml_node *selector);

/* The containers (not init containers) of a workload, or NULL. */
const mp_yaml_node *mp__containers(const mp__res *w);
bool mp__is_proxy_container(const mp_yaml_node *c);
/* The port a Service port reaches in a workload: targetPort as a number, a named
 * targetPort resolved through the containers' ports, or `port` when neither is set. */
bool mp__target_port(const mp_yaml_node *svc_port, const mp__res *w, long *out);

/* Istio host helpers. "reviews" in ns "prod" becomes reviews.prod.svc.cluster.local;
 * names with a dot and wildcards are kept. Scratch memory. */
const char *mp__fqdn(mp__ctx *cx, const char *ns, const char *host);
/* Istio host matching with leading-"*" wildcards on either side (case-insensitive). */
bool mp__hosts_match(const char *a, const char *b);
/* The Service a fully qualified host names, or NULL. */
const mp__res *mp__service_for_fqdn(const mp__ctx *cx, const char *fqdn);
/* A ServiceEntry visible from namespace `from_ns` that declares a host matching fqdn. */
const mp__res *mp__serviceentry_for(const mp__ctx *cx, const char *from_ns, const char *fqdn);

/* Istio sidecar injection of a namespace: 1 enabled (istio-injection=enabled or an
 * istio.io/rev label), 0 disabled or not labelled, -1 no such Namespace in the set. */
int mp__istio_ns_injection(const mp__ctx *cx, const char *ns);
/* Whether a workload runs an Istio sidecar (istioctl's "in mesh" test). */
bool mp__istio_in_mesh(const mp__ctx *cx, const mp__res *w);
/* kube-system, kube-public, kube-node-lease, local-path-storage. */
bool mp__is_system_ns(const char *ns);

/* ---- the rules (one function each, in rules_*.c) ---------------------------------------- */

void mp__rule_ist0101_vs_gateway(mp__ctx *cx);
void mp__rule_ist0101_vs_host(mp__ctx *cx);
void mp__rule_ist0101_vs_subset(mp__ctx *cx);
void mp__rule_ist0101_gateway_selector(mp__ctx *cx);
void mp__rule_ist0101_sidecar_selector(mp__ctx *cx);
void mp__rule_ist0101_authz_namespace(mp__ctx *cx);
void mp__rule_ist0102(mp__ctx *cx);
void mp__rule_ist0103(mp__ctx *cx);
void mp__rule_ist0109(mp__ctx *cx);
void mp__rule_ist0110(mp__ctx *cx);
void mp__rule_ist0111(mp__ctx *cx);
void mp__rule_ist0112(mp__ctx *cx);
void mp__rule_ist0116(mp__ctx *cx);
void mp__rule_ist0118(mp__ctx *cx);
void mp__rule_ist0123(mp__ctx *cx);
void mp__rule_ist0127(mp__ctx *cx);
void mp__rule_ist0128(mp__ctx *cx);
void mp__rule_ist0129(mp__ctx *cx);
void mp__rule_ist0132(mp__ctx *cx);
void mp__rule_ist0137(mp__ctx *cx);
void mp__rule_ist0144(mp__ctx *cx);
void mp__rule_ist0145(mp__ctx *cx);
void mp__rule_ist0162(mp__ctx *cx);
void mp__rule_ist0173(mp__ctx *cx);

void mp__rule_mtls_strict_vs_disable(mp__ctx *cx);
void mp__rule_mtls_mutual_without_pa(mp__ctx *cx);
void mp__rule_pa_selector(mp__ctx *cx);
void mp__rule_pa_port_level_selector(mp__ctx *cx);

void mp__rule_linkerd_label(mp__ctx *cx);
void mp__rule_linkerd_opaque_ports(mp__ctx *cx);
void mp__rule_linkerd_inject_value(mp__ctx *cx);
void mp__rule_linkerd_mirror_annotation(mp__ctx *cx);

void mp__rule_ts_no_service(mp__ctx *cx);
void mp__rule_ts_service_missing(mp__ctx *cx);
void mp__rule_ts_no_backends(mp__ctx *cx);
void mp__rule_ts_backend_missing(mp__ctx *cx);
void mp__rule_ts_bad_weight(mp__ctx *cx);
void mp__rule_ts_zero_total(mp__ctx *cx);
void mp__rule_ts_zero_backend(mp__ctx *cx);
void mp__rule_tt_destination(mp__ctx *cx);
void mp__rule_tt_rules(mp__ctx *cx);
void mp__rule_tt_sources(mp__ctx *cx);
void mp__rule_tt_subject_kind(mp__ctx *cx);
void mp__rule_tt_route_missing(mp__ctx *cx);

void mp__rule_k8s_limits(mp__ctx *cx);
void mp__rule_k8s_latest(mp__ctx *cx);
void mp__rule_k8s_untagged(mp__ctx *cx);
void mp__rule_k8s_readiness(mp__ctx *cx);
void mp__rule_k8s_liveness(mp__ctx *cx);
void mp__rule_k8s_privileged(mp__ctx *cx);
void mp__rule_k8s_host_namespaces(mp__ctx *cx);
void mp__rule_k8s_service_selects_nothing(mp__ctx *cx);
void mp__rule_k8s_selector_mismatch(mp__ctx *cx);
void mp__rule_k8s_duplicate(mp__ctx *cx);

#endif
