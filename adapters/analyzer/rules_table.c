/* The rule table. Adding a rule: write one check function in the rules_*.c file of its
 * family, declare it in analyzer_internal.h, add one line here, document it in RULES.md,
 * and give it a positive and a negative case in tests/analyzer/cases/. Order is the
 * order rules run in; it does not affect the sorted report. */
#include "analyzer_internal.h"

#define E MP_ANALYZER_ERROR
#define W MP_ANALYZER_WARNING
#define I MP_ANALYZER_INFO

const mp__rule mp__rules[] = {
    /* Input */
    {{"MP0001", E, "MP0001-yaml-syntax", "YAML that does not parse"}, NULL},

    /* Istio, with istioctl analyze's codes and levels */
    {{"IST0101", E, "IST0101-vs-gateway",
      "VirtualService references a Gateway that does not exist"},
     mp__rule_ist0101_vs_gateway},
    {{"IST0101", E, "IST0101-vs-host", "VirtualService destination host or port does not exist"},
     mp__rule_ist0101_vs_host},
    {{"IST0101", E, "IST0101-vs-subset", "VirtualService subset not defined by a DestinationRule"},
     mp__rule_ist0101_vs_subset},
    {{"IST0101", E, "IST0101-gateway-selector", "Gateway selector matches no workload"},
     mp__rule_ist0101_gateway_selector},
    {{"IST0101", E, "IST0101-sidecar-selector", "Sidecar workloadSelector matches no workload"},
     mp__rule_ist0101_sidecar_selector},
    {{"IST0101", E, "IST0101-authz-namespace", "AuthorizationPolicy source namespace not found"},
     mp__rule_ist0101_authz_namespace},
    {{"IST0102", I, "IST0102", "Namespace not labelled for Istio injection"}, mp__rule_ist0102},
    {{"IST0103", W, "IST0103", "Pod in an injected namespace without istio-proxy"},
     mp__rule_ist0103},
    {{"IST0109", E, "IST0109", "Several mesh-gateway VirtualServices for one host"},
     mp__rule_ist0109},
    {{"IST0110", E, "IST0110", "Several Sidecars select the same workload"}, mp__rule_ist0110},
    {{"IST0111", E, "IST0111", "Several Sidecars without workloadSelector in a namespace"},
     mp__rule_ist0111},
    {{"IST0112", E, "IST0112", "Destination to a multi-port service without a port"},
     mp__rule_ist0112},
    {{"IST0116", W, "IST0116", "Deployment's Services use one port with different protocols"},
     mp__rule_ist0116},
    {{"IST0118", I, "IST0118", "Service port name does not follow Istio's convention"},
     mp__rule_ist0118},
    {{"IST0123", W, "IST0123", "Namespace has both istio-injection and istio.io/rev"},
     mp__rule_ist0123},
    {{"IST0127", W, "IST0127", "AuthorizationPolicy matches no workload"}, mp__rule_ist0127},
    {{"IST0128", W, "IST0128", "DestinationRule TLS without caCertificates"}, mp__rule_ist0128},
    {{"IST0129", W, "IST0129", "DestinationRule port-level TLS without caCertificates"},
     mp__rule_ist0129},
    {{"IST0132", W, "IST0132", "VirtualService host not served by its Gateway"}, mp__rule_ist0132},
    {{"IST0137", W, "IST0137", "Deployment's Services map one targetPort to different ports"},
     mp__rule_ist0137},
    {{"IST0144", W, "IST0144", "Application runs as UID 1337, the sidecar's"}, mp__rule_ist0144},
    {{"IST0145", E, "IST0145", "Gateways with the same selector, port and hosts"},
     mp__rule_ist0145},
    {{"IST0162", W, "IST0162", "Gateway port not exposed by the gateway's Service"},
     mp__rule_ist0162},
    {{"IST0173", E, "IST0173", "DestinationRule subset selects no pods"}, mp__rule_ist0173},

    /* mTLS consistency (PeerAuthentication vs DestinationRule) */
    {{"MP2001", E, "MP2001", "DestinationRule disables TLS where STRICT mTLS is required"},
     mp__rule_mtls_strict_vs_disable},
    {{"MP2002", E, "MP2002", "ISTIO_MUTUAL DestinationRule without mTLS-enabling policy"},
     mp__rule_mtls_mutual_without_pa},
    {{"MP2003", W, "MP2003", "PeerAuthentication selector matches no workload"},
     mp__rule_pa_selector},
    {{"MP2004", E, "MP2004", "portLevelMtls on a PeerAuthentication without selector"},
     mp__rule_pa_port_level_selector},

    /* Linkerd */
    {{"MP3001", W, "MP3001", "Linkerd configuration set as a label instead of an annotation"},
     mp__rule_linkerd_label},
    {{"MP3002", W, "MP3002", "Opaque ports differ between a Service and its pods"},
     mp__rule_linkerd_opaque_ports},
    {{"MP3003", E, "MP3003", "Unknown linkerd.io/inject value"}, mp__rule_linkerd_inject_value},
    {{"MP3004", W, "MP3004", "mirror.linkerd.io/exported set as an annotation"},
     mp__rule_linkerd_mirror_annotation},

    /* SMI */
    {{"MP4001", E, "MP4001", "TrafficSplit without a root service"}, mp__rule_ts_no_service},
    {{"MP4002", E, "MP4002", "TrafficSplit root service is not a Service"},
     mp__rule_ts_service_missing},
    {{"MP4003", E, "MP4003", "TrafficSplit without backends"}, mp__rule_ts_no_backends},
    {{"MP4004", E, "MP4004", "TrafficSplit backend is not a Service"}, mp__rule_ts_backend_missing},
    {{"MP4005", E, "MP4005", "TrafficSplit backend weight missing, invalid or negative"},
     mp__rule_ts_bad_weight},
    {{"MP4006", E, "MP4006", "TrafficSplit weights are all zero"}, mp__rule_ts_zero_total},
    {{"MP4007", I, "MP4007", "TrafficSplit backend with weight zero"}, mp__rule_ts_zero_backend},
    {{"MP4010", E, "MP4010", "TrafficTarget without destination"}, mp__rule_tt_destination},
    {{"MP4011", E, "MP4011", "TrafficTarget without rules"}, mp__rule_tt_rules},
    {{"MP4012", E, "MP4012", "TrafficTarget without sources"}, mp__rule_tt_sources},
    {{"MP4013", E, "MP4013", "TrafficTarget subject is not a ServiceAccount"},
     mp__rule_tt_subject_kind},
    {{"MP4014", E, "MP4014", "TrafficTarget rule references a missing route or match"},
     mp__rule_tt_route_missing},

    /* Kubernetes hygiene */
    {{"MP1001", W, "MP1001", "Container without CPU or memory limits"}, mp__rule_k8s_limits},
    {{"MP1002", W, "MP1002", "Container image uses the :latest tag"}, mp__rule_k8s_latest},
    {{"MP1003", W, "MP1003", "Container image without tag or digest"}, mp__rule_k8s_untagged},
    {{"MP1004", W, "MP1004", "Container without readinessProbe"}, mp__rule_k8s_readiness},
    {{"MP1005", W, "MP1005", "Container without livenessProbe"}, mp__rule_k8s_liveness},
    {{"MP1006", E, "MP1006", "Privileged container"}, mp__rule_k8s_privileged},
    {{"MP1007", W, "MP1007", "Pod shares the host's network, PID or IPC namespace"},
     mp__rule_k8s_host_namespaces},
    {{"MP1008", W, "MP1008", "Service selector matches no workload"},
     mp__rule_k8s_service_selects_nothing},
    {{"MP1009", E, "MP1009", "Controller selector does not match its pod template"},
     mp__rule_k8s_selector_mismatch},
    {{"MP1010", W, "MP1010", "Resource defined more than once"}, mp__rule_k8s_duplicate},
};

const size_t mp__nrules = MP_ARRAY_LEN(mp__rules);
