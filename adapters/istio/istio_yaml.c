/* YAML the Istio adapter authors: compact, working versions of Istio's sample addons
 * (Prometheus scraping Istio's merged metrics, Grafana with Prometheus as data source,
 * Kiali, Jaeger, Zipkin; names, ports and services as in istio/samples/addons), mTLS and
 * deny-all policies, and ingress Gateways for the sample applications. */
#include <string.h>

#include "istio.h"

/* ---- addons (namespace istio-system) ------------------------------------------------------ */

static const char prometheus[] =
    "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: prometheus\n  namespace: "
    "istio-system\n"
    "  labels:\n    app: prometheus\n"
    "---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n"
    "  name: prometheus\n  labels:\n    app: prometheus\nrules:\n"
    "- apiGroups: [\"\"]\n"
    "  resources: [nodes, nodes/proxy, nodes/metrics, services, endpoints, pods, configmaps]\n"
    "  verbs: [get, list, watch]\n"
    "- apiGroups: [networking.k8s.io]\n  resources: [ingresses]\n  verbs: [get, list, watch]\n"
    "- nonResourceURLs: [/metrics]\n  verbs: [get]\n"
    "---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata:\n"
    "  name: prometheus\n  labels:\n    app: prometheus\nroleRef:\n"
    "  apiGroup: rbac.authorization.k8s.io\n  kind: ClusterRole\n  name: prometheus\nsubjects:\n"
    "- kind: ServiceAccount\n  name: prometheus\n  namespace: istio-system\n"
    "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: prometheus\n"
    "  namespace: istio-system\n  labels:\n    app: prometheus\ndata:\n"
    "  prometheus.yml: |\n"
    "    global:\n      scrape_interval: 15s\n"
    "    scrape_configs:\n"
    "    - job_name: kubernetes-pods\n"
    "      kubernetes_sd_configs:\n      - role: pod\n"
    "      relabel_configs:\n"
    "      - source_labels: [__meta_kubernetes_pod_annotation_prometheus_io_scrape]\n"
    "        action: keep\n        regex: \"true\"\n"
    "      - source_labels: [__meta_kubernetes_pod_annotation_prometheus_io_path]\n"
    "        action: replace\n        target_label: __metrics_path__\n        regex: (.+)\n"
    "      - source_labels: [__address__, __meta_kubernetes_pod_annotation_prometheus_io_port]\n"
    "        action: replace\n        regex: ([^:]+)(?::\\d+)?;(\\d+)\n"
    "        replacement: $1:$2\n        target_label: __address__\n"
    "      - action: labelmap\n        regex: __meta_kubernetes_pod_label_(.+)\n"
    "      - source_labels: [__meta_kubernetes_namespace]\n        target_label: namespace\n"
    "      - source_labels: [__meta_kubernetes_pod_name]\n        target_label: pod\n"
    "---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: prometheus\n"
    "  namespace: istio-system\n  labels:\n    app: prometheus\nspec:\n  replicas: 1\n"
    "  selector:\n    matchLabels:\n      app: prometheus\n  template:\n    metadata:\n"
    "      labels:\n        app: prometheus\n        sidecar.istio.io/inject: \"false\"\n"
    "    spec:\n      serviceAccountName: prometheus\n      containers:\n"
    "      - name: prometheus\n        image: docker.io/prom/prometheus:v2.54.1\n"
    "        args:\n        - --config.file=/etc/config/prometheus.yml\n"
    "        - --storage.tsdb.path=/data\n        - --storage.tsdb.retention.time=15d\n"
    "        - --web.enable-lifecycle\n"
    "        ports:\n        - containerPort: 9090\n          name: http\n"
    "        readinessProbe:\n          httpGet:\n            path: /-/ready\n            port: "
    "9090\n"
    "        resources:\n          requests:\n            cpu: 100m\n            memory: 256Mi\n"
    "          limits:\n            memory: 2Gi\n"
    "        volumeMounts:\n        - name: config\n          mountPath: /etc/config\n"
    "        - name: data\n          mountPath: /data\n"
    "      volumes:\n      - name: config\n        configMap:\n          name: prometheus\n"
    "      - name: data\n        emptyDir: {}\n"
    "---\napiVersion: v1\nkind: Service\nmetadata:\n  name: prometheus\n  namespace: istio-system\n"
    "  labels:\n    app: prometheus\nspec:\n  selector:\n    app: prometheus\n  ports:\n"
    "  - name: http\n    port: 9090\n    targetPort: 9090\n";

static const char grafana[] =
    "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: grafana\n  namespace: istio-system\n"
    "  labels:\n    app: grafana\n"
    "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: grafana\n  namespace: istio-system\n"
    "  labels:\n    app: grafana\ndata:\n"
    "  datasources.yaml: |\n    apiVersion: 1\n    datasources:\n    - name: Prometheus\n"
    "      type: prometheus\n      access: proxy\n      url: http://prometheus:9090\n"
    "      isDefault: true\n      editable: true\n"
    "---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: grafana\n"
    "  namespace: istio-system\n  labels:\n    app: grafana\nspec:\n  replicas: 1\n"
    "  selector:\n    matchLabels:\n      app: grafana\n  template:\n    metadata:\n"
    "      labels:\n        app: grafana\n        sidecar.istio.io/inject: \"false\"\n"
    "    spec:\n      serviceAccountName: grafana\n      containers:\n"
    "      - name: grafana\n        image: docker.io/grafana/grafana:11.2.2\n"
    "        env:\n        - name: GF_AUTH_ANONYMOUS_ENABLED\n          value: \"true\"\n"
    "        - name: GF_AUTH_ANONYMOUS_ORG_ROLE\n          value: Admin\n"
    "        - name: GF_AUTH_BASIC_ENABLED\n          value: \"false\"\n"
    "        - name: GF_PATHS_DATA\n          value: /var/lib/grafana\n"
    "        ports:\n        - containerPort: 3000\n          name: service\n"
    "        readinessProbe:\n          httpGet:\n            path: /api/health\n"
    "            port: 3000\n"
    "        resources:\n          requests:\n            cpu: 50m\n            memory: 128Mi\n"
    "          limits:\n            memory: 512Mi\n"
    "        volumeMounts:\n        - name: datasources\n"
    "          mountPath: /etc/grafana/provisioning/datasources\n"
    "        - name: storage\n          mountPath: /var/lib/grafana\n"
    "      volumes:\n      - name: datasources\n        configMap:\n          name: grafana\n"
    "      - name: storage\n        emptyDir: {}\n"
    "---\napiVersion: v1\nkind: Service\nmetadata:\n  name: grafana\n  namespace: istio-system\n"
    "  labels:\n    app: grafana\nspec:\n  selector:\n    app: grafana\n  ports:\n"
    "  - name: service\n    port: 3000\n    targetPort: 3000\n";

static const char kiali[] =
    "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: kiali\n  namespace: istio-system\n"
    "  labels:\n    app: kiali\n"
    "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: kiali\n  namespace: istio-system\n"
    "  labels:\n    app: kiali\ndata:\n"
    "  config.yaml: |\n    auth:\n      strategy: anonymous\n    deployment:\n"
    "      cluster_wide_access: true\n      namespace: istio-system\n"
    "    istio_namespace: istio-system\n    external_services:\n      prometheus:\n"
    "        url: http://prometheus.istio-system:9090\n      grafana:\n"
    "        enabled: true\n        internal_url: http://grafana.istio-system:3000\n"
    "      tracing:\n        enabled: true\n"
    "        internal_url: http://tracing.istio-system:16685/jaeger\n        use_grpc: true\n"
    "    server:\n      port: 20001\n      web_root: /kiali\n"
    "---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: kiali\n"
    "  labels:\n    app: kiali\nrules:\n"
    "- apiGroups: [\"\"]\n"
    "  resources: [configmaps, endpoints, namespaces, nodes, pods, pods/log, pods/proxy,\n"
    "              replicationcontrollers, services]\n  verbs: [get, list, watch]\n"
    "- apiGroups: [\"\"]\n  resources: [pods/portforward]\n  verbs: [create, post]\n"
    "- apiGroups: [apps, extensions]\n"
    "  resources: [daemonsets, deployments, replicasets, statefulsets]\n"
    "  verbs: [get, list, watch]\n"
    "- apiGroups: [batch]\n  resources: [cronjobs, jobs]\n  verbs: [get, list, watch]\n"
    "- apiGroups: [networking.istio.io, security.istio.io, extensions.istio.io,\n"
    "              telemetry.istio.io, gateway.networking.k8s.io]\n"
    "  resources: [\"*\"]\n  verbs: [get, list, watch]\n"
    "- apiGroups: [authentication.k8s.io]\n  resources: [tokenreviews]\n  verbs: [create]\n"
    "- apiGroups: [authorization.k8s.io]\n  resources: [subjectaccessreviews]\n"
    "  verbs: [create]\n"
    "---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata:\n"
    "  name: kiali\n  labels:\n    app: kiali\nroleRef:\n  apiGroup: rbac.authorization.k8s.io\n"
    "  kind: ClusterRole\n  name: kiali\nsubjects:\n- kind: ServiceAccount\n  name: kiali\n"
    "  namespace: istio-system\n"
    "---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: kiali\n"
    "  namespace: istio-system\n  labels:\n    app: kiali\nspec:\n  replicas: 1\n"
    "  selector:\n    matchLabels:\n      app: kiali\n  template:\n    metadata:\n"
    "      labels:\n        app: kiali\n        sidecar.istio.io/inject: \"false\"\n"
    "    spec:\n      serviceAccountName: kiali\n      containers:\n"
    "      - name: kiali\n        image: quay.io/kiali/kiali:v2.1.0\n"
    "        command: [/opt/kiali/kiali, -config, /kiali-configuration/config.yaml]\n"
    "        env:\n        - name: ACTIVE_NAMESPACE\n          valueFrom:\n"
    "            fieldRef:\n              fieldPath: metadata.namespace\n"
    "        ports:\n        - containerPort: 20001\n          name: api-port\n"
    "        - containerPort: 9090\n          name: http-metrics\n"
    "        readinessProbe:\n          httpGet:\n            path: /kiali/healthz\n"
    "            port: api-port\n"
    "        resources:\n          requests:\n            cpu: 10m\n            memory: 64Mi\n"
    "          limits:\n            memory: 1Gi\n"
    "        volumeMounts:\n        - name: kiali-configuration\n"
    "          mountPath: /kiali-configuration\n"
    "      volumes:\n      - name: kiali-configuration\n        configMap:\n          name: kiali\n"
    "---\napiVersion: v1\nkind: Service\nmetadata:\n  name: kiali\n  namespace: istio-system\n"
    "  labels:\n    app: kiali\nspec:\n  selector:\n    app: kiali\n  ports:\n"
    "  - name: http\n    port: 20001\n    targetPort: 20001\n"
    "  - name: http-metrics\n    port: 9090\n    targetPort: 9090\n";

static const char jaeger[] =
    "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: jaeger\n"
    "  namespace: istio-system\n  labels:\n    app: jaeger\nspec:\n  replicas: 1\n"
    "  selector:\n    matchLabels:\n      app: jaeger\n  template:\n    metadata:\n"
    "      labels:\n        app: jaeger\n        sidecar.istio.io/inject: \"false\"\n"
    "      annotations:\n        prometheus.io/scrape: \"true\"\n"
    "        prometheus.io/port: \"14269\"\n"
    "    spec:\n      containers:\n      - name: jaeger\n"
    "        image: docker.io/jaegertracing/all-in-one:1.62.0\n"
    "        env:\n        - name: COLLECTOR_ZIPKIN_HOST_PORT\n          value: \":9411\"\n"
    "        - name: MEMORY_MAX_TRACES\n          value: \"50000\"\n"
    "        - name: QUERY_BASE_PATH\n          value: /jaeger\n"
    "        ports:\n        - containerPort: 16686\n        - containerPort: 16685\n"
    "        - containerPort: 9411\n        - containerPort: 14268\n"
    "        - containerPort: 14250\n        - containerPort: 4317\n"
    "        - containerPort: 4318\n"
    "        readinessProbe:\n          httpGet:\n            path: /\n            port: 14269\n"
    "        resources:\n          requests:\n            cpu: 10m\n            memory: 128Mi\n"
    "          limits:\n            memory: 1Gi\n"
    "---\napiVersion: v1\nkind: Service\nmetadata:\n  name: tracing\n  namespace: istio-system\n"
    "  labels:\n    app: jaeger\nspec:\n  selector:\n    app: jaeger\n  ports:\n"
    "  - name: http-query\n    port: 80\n    targetPort: 16686\n"
    "  - name: grpc-query\n    port: 16685\n    targetPort: 16685\n"
    "---\napiVersion: v1\nkind: Service\nmetadata:\n  name: zipkin\n  namespace: istio-system\n"
    "  labels:\n    name: zipkin\nspec:\n  selector:\n    app: jaeger\n  ports:\n"
    "  - name: http-query\n    port: 9411\n    targetPort: 9411\n"
    "---\napiVersion: v1\nkind: Service\nmetadata:\n  name: jaeger-collector\n"
    "  namespace: istio-system\n  labels:\n    app: jaeger\nspec:\n  selector:\n    app: jaeger\n"
    "  ports:\n  - name: jaeger-collector-http\n    port: 14268\n    targetPort: 14268\n"
    "  - name: jaeger-collector-grpc\n    port: 14250\n    targetPort: 14250\n"
    "  - name: http-zipkin\n    port: 9411\n    targetPort: 9411\n"
    "  - name: grpc-otel\n    port: 4317\n    targetPort: 4317\n"
    "  - name: http-otel\n    port: 4318\n    targetPort: 4318\n";

static const char zipkin[] =
    "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: zipkin\n"
    "  namespace: istio-system\n  labels:\n    app: zipkin\nspec:\n  replicas: 1\n"
    "  selector:\n    matchLabels:\n      app: zipkin\n  template:\n    metadata:\n"
    "      labels:\n        app: zipkin\n        sidecar.istio.io/inject: \"false\"\n"
    "    spec:\n      containers:\n      - name: zipkin\n"
    "        image: docker.io/openzipkin/zipkin-slim:3.4.2\n"
    "        env:\n        - name: STORAGE_METHOD\n          value: mem\n"
    "        - name: QUERY_PORT\n          value: \"9411\"\n"
    "        ports:\n        - containerPort: 9411\n"
    "        readinessProbe:\n          httpGet:\n            path: /health\n            port: "
    "9411\n"
    "        resources:\n          requests:\n            cpu: 10m\n            memory: 128Mi\n"
    "          limits:\n            memory: 1Gi\n"
    "---\napiVersion: v1\nkind: Service\nmetadata:\n  name: tracing\n  namespace: istio-system\n"
    "  labels:\n    app: zipkin\nspec:\n  selector:\n    app: zipkin\n  ports:\n"
    "  - name: http-query\n    port: 80\n    targetPort: 9411\n"
    "---\napiVersion: v1\nkind: Service\nmetadata:\n  name: zipkin\n  namespace: istio-system\n"
    "  labels:\n    name: zipkin\nspec:\n  selector:\n    app: zipkin\n  ports:\n"
    "  - name: http-query\n    port: 9411\n    targetPort: 9411\n";

mp_status istio_render_addon(const char *addon, mp_buf *out) {
  static const struct {
    const char *name, *yaml;
  } addons[] = {{"prometheus", prometheus},
                {"grafana", grafana},
                {"kiali", kiali},
                {"jaeger", jaeger},
                {"zipkin", zipkin}};
  for (size_t i = 0; i < MP_ARRAY_LEN(addons); i++)
    if (!strcmp(addons[i].name, addon)) {
      mp_buf_printf(out, "# Istio %s addon, rendered by meshplane\n", addon);
      mp_buf_puts(out, addons[i].yaml);
      return MP_OK;
    }
  return mp_error_set(MP_ERR_NOT_FOUND, "no Istio addon named %s", addon);
}

/* ---- policies --------------------------------------------------------------------------- */

void istio_render_mtls(istio_mtls mode, const char *ns, mp_buf *out) {
  static const char *const modes[] = {"STRICT", "PERMISSIVE", "DISABLE"};
  static const char tmpl[] = "apiVersion: security.istio.io/v1beta1\n"
                             "kind: PeerAuthentication\n"
                             "metadata:\n"
                             "  name: default\n"
                             "  namespace: {{ns}}\n"
                             "  labels:\n"
                             "    app.kubernetes.io/managed-by: meshplane\n"
                             "spec:\n"
                             "  mtls:\n"
                             "    mode: {{mode}}\n";
  const char *vars[] = {"ns", ns, "mode", modes[mode], NULL};
  mp_adapter_render(out, tmpl, vars);
  if (mode == ISTIO_MTLS_DISABLE) {
    mp_buf_puts(out, "---\n");
    istio_render_mtls_disable_rule(ns, out);
  }
}

void istio_render_mtls_disable_rule(const char *ns, mp_buf *out) {
  static const char tmpl[] = "apiVersion: networking.istio.io/v1beta1\n"
                             "kind: DestinationRule\n"
                             "metadata:\n"
                             "  name: mtls-disable\n"
                             "  namespace: {{ns}}\n"
                             "  labels:\n"
                             "    app.kubernetes.io/managed-by: meshplane\n"
                             "spec:\n"
                             "  host: \"*.{{ns}}.svc.cluster.local\"\n"
                             "  trafficPolicy:\n"
                             "    tls:\n"
                             "      mode: DISABLE\n";
  const char *vars[] = {"ns", ns, NULL};
  mp_adapter_render(out, tmpl, vars);
}

void istio_render_deny_all(const char *ns, mp_buf *out) {
  /* An ALLOW policy with no rules matches nothing, so every request is denied. */
  static const char tmpl[] = "apiVersion: security.istio.io/v1beta1\n"
                             "kind: AuthorizationPolicy\n"
                             "metadata:\n"
                             "  name: deny-all\n"
                             "  namespace: {{ns}}\n"
                             "  labels:\n"
                             "    app.kubernetes.io/managed-by: meshplane\n"
                             "spec: {}\n";
  const char *vars[] = {"ns", ns, NULL};
  mp_adapter_render(out, tmpl, vars);
}

/* ---- gateways for the sample applications ------------------------------------------------- */

/* A Gateway on the default ingress gateway's port 80 for host, and a VirtualService routing
 * the listed URI matches (exact: "=/x", prefix: "/x") to service:port. */
static void gateway(mp_buf *out, const char *name, const char *host, const char *const *uris,
                    const char *service, int port) {
  mp_buf_printf(out,
                "---\napiVersion: networking.istio.io/v1beta1\nkind: Gateway\nmetadata:\n"
                "  name: %s-gateway\nspec:\n  selector:\n    istio: ingressgateway\n"
                "  servers:\n  - port:\n      number: 80\n      name: http\n"
                "      protocol: HTTP\n    hosts:\n    - \"%s\"\n",
                name, host);
  mp_buf_printf(out,
                "---\napiVersion: networking.istio.io/v1beta1\nkind: VirtualService\n"
                "metadata:\n  name: %s\nspec:\n  hosts:\n  - \"%s\"\n  gateways:\n"
                "  - %s-gateway\n  http:\n  - match:\n",
                name, host, name);
  for (; *uris; uris++) {
    bool exact = (*uris)[0] == '=';
    mp_buf_printf(out, "    - uri:\n        %s: %s\n", exact ? "exact" : "prefix",
                  *uris + (exact ? 1 : 0));
  }
  mp_buf_printf(out,
                "    route:\n    - destination:\n        host: %s\n        port:\n"
                "          number: %d\n",
                service, port);
}

void istio_bookinfo_gateway(const char *ns, mp_buf *out) {
  static const char *const uris[] = {"=/productpage", "/static",          "=/login",
                                     "=/logout",      "/api/v1/products", NULL};
  gateway(out, "bookinfo", "*", uris, "productpage", 9080);
}

void istio_httpbin_gateway(const char *ns, mp_buf *out) {
  static const char *const uris[] = {"/", NULL};
  gateway(out, "httpbin", "httpbin.example.com", uris, "httpbin", 8000);
}

void istio_imagehub_gateway(const char *ns, mp_buf *out) {
  static const char *const uris[] = {"/", NULL};
  gateway(out, "imagehub", "imagehub.example.com", uris, "web", 8080);
}

void istio_emojivoto_gateway(const char *ns, mp_buf *out) {
  static const char *const uris[] = {"/", NULL};
  gateway(out, "emojivoto", "emojivoto.example.com", uris, "web-svc", 80);
}
