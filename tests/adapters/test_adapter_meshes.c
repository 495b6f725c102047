/* Each adapter's operations on the mock host's recorder: the YAML they author (policies,
 * namespace labels, addons, gateways), parsed back and checked as data, and the helm /
 * mesh CLI calls they make, including what happens when those tools are missing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "consul.h"
#include "istio.h"
#include "kuma.h"
#include "meshtest.h"

extern const mp_adapter mp_linkerd_adapter;
extern const mp_adapter mp_example_adapter;

static const char *const no_helm[] = {"helm", NULL};
static const char *const no_helm_no_cli[] = {"helm", "istioctl", "linkerd", "kumactl", NULL};

/* Runs op and loads the YAML of its first call. */
static void run_yaml(optrace *t, ydocs *d, const mp_adapter *a, const char *op, const char *ns,
                     bool del) {
  optrace_run(t, a, op, ns, del, NULL);
  if (t->end.type == MP_EVENT_ERROR) fail_msg("%s: %s (%s)", op, t->end.summary, t->end.details);
  assert_true(t->ncalls >= 1);
  check_manifest(d, t->yaml[0]);
}

static void test_istio_label_namespace(void **state) {
  optrace t;
  ydocs d;
  run_yaml(&t, &d, &mp_istio_adapter, "label-namespace", "shop", false);
  assert_str(t.calls[0], "apply ns=- del=0");
  assert_str(ydocs_get(&d, 0, "kind"), "Namespace");
  assert_str(ydocs_get(&d, 0, "metadata.name"), "shop");
  assert_str(ydocs_get(&d, 0, "metadata.labels.istio-injection"), "enabled");
  assert_str(t.last.summary, "Automatic sidecar injection enabled for namespace shop");
  assert_int_equal(t.nevents, 2);
  assert_str(t.end.summary, "Automatic Sidecar Injection: done");
  ydocs_free(&d);
  optrace_free(&t);
  run_yaml(&t, &d, &mp_istio_adapter, "label-namespace", "shop", true);
  assert_str(ydocs_get(&d, 0, "metadata.labels.istio-injection"), "disabled");
  ydocs_free(&d);
  optrace_free(&t);
}

static void test_istio_mtls(void **state) {
  const struct {
    const char *op, *mode;
  } cases[] = {{"strict-mtls-policy-operation", "STRICT"},
               {"mutual-mtls-policy-operation", "PERMISSIVE"},
               {"disable-mtls-policy-operation", "DISABLE"}};
  for (size_t i = 0; i < MP_ARRAY_LEN(cases); i++) {
    optrace t;
    ydocs d;
    run_yaml(&t, &d, &mp_istio_adapter, cases[i].op, "shop", false);
    int k = ydocs_find(&d, "PeerAuthentication", "default");
    assert_true(k >= 0);
    assert_str(ydocs_get(&d, k, "apiVersion"), "security.istio.io/v1beta1");
    assert_str(ydocs_get(&d, k, "metadata.namespace"), "shop");
    assert_str(ydocs_get(&d, k, "spec.mtls.mode"), cases[i].mode);
    int dr = ydocs_find(&d, "DestinationRule", "mtls-disable");
    if (!strcmp(cases[i].mode, "DISABLE")) {
      assert_true(dr >= 0);
      assert_str(ydocs_get(&d, dr, "metadata.namespace"), "shop");
      assert_str(ydocs_get(&d, dr, "spec.host"), "*.shop.svc.cluster.local");
      assert_str(ydocs_get(&d, dr, "spec.trafficPolicy.tls.mode"), "DISABLE");
      assert_int_equal(t.ncalls, 1);
    } else {
      /* Strict and permissive remove disable's client-side rule. */
      assert_int_equal(dr, -1);
      assert_int_equal(t.ncalls, 2);
      assert_str(t.calls[1], "apply ns=- del=1");
      ydocs d2;
      check_manifest(&d2, t.yaml[1]);
      assert_str(ydocs_get(&d2, 0, "kind"), "DestinationRule");
      assert_str(ydocs_get(&d2, 0, "metadata.name"), "mtls-disable");
      ydocs_free(&d2);
    }
    ydocs_free(&d);
    optrace_free(&t);
  }
  optrace t;
  optrace_run(&t, &mp_istio_adapter, "strict-mtls-policy-operation", "shop", true, NULL);
  assert_int_equal(t.ncalls, 1);
  assert_str(t.calls[0], "apply ns=- del=1");
  optrace_free(&t);
}

static void test_istio_deny_all(void **state) {
  optrace t;
  ydocs d;
  run_yaml(&t, &d, &mp_istio_adapter, "deny-all-policy-operation", "shop", false);
  assert_int_equal(d.n, 1);
  assert_str(ydocs_get(&d, 0, "kind"), "AuthorizationPolicy");
  assert_str(ydocs_get(&d, 0, "metadata.name"), "deny-all");
  assert_str(ydocs_get(&d, 0, "metadata.namespace"), "shop");
  assert_int_equal(ydocs_len(&d, 0, "spec"), 0); /* no rules: nothing is allowed */
  ydocs_free(&d);
  optrace_free(&t);
}

/* The Service named svc exists in istio-system with port and selects a Deployment. */
static void check_addon(const char *addon, const char *deployment, const char *svc,
                        const char *port) {
  char op[64];
  snprintf(op, sizeof op, "%s-addon", addon);
  optrace t;
  ydocs d;
  run_yaml(&t, &d, &mp_istio_adapter, op, NULL, false);
  assert_str(t.calls[0], "apply ns=- del=0");
  for (size_t i = 0; i < d.n; i++) {
    const char *kind = ydocs_get(&d, (int)i, "kind");
    if (strncmp(kind, "ClusterRole", 11)) /* cluster-scoped kinds have no namespace */
      assert_str(ydocs_get(&d, (int)i, "metadata.namespace"), ISTIO_NS);
  }
  int k = ydocs_find(&d, "Deployment", deployment);
  assert_true(k >= 0);
  assert_str(ydocs_get(&d, k, "spec.template.metadata.labels.'sidecar.istio.io/inject'"), "false");
  k = ydocs_find(&d, "Service", svc);
  assert_true(k >= 0);
  assert_str(ydocs_get(&d, k, "spec.ports[0].port"), port);
  ydocs_free(&d);
  optrace_free(&t);
}

static void test_istio_addons(void **state) {
  check_addon("prometheus", "prometheus", "prometheus", "9090");
  check_addon("grafana", "grafana", "grafana", "3000");
  check_addon("kiali", "kiali", "kiali", "20001");
  check_addon("jaeger", "jaeger", "tracing", "80");
  check_addon("zipkin", "zipkin", "zipkin", "9411");

  /* The configuration files inside ConfigMaps are YAML too. */
  mp_buf b = {0};
  ydocs d, inner;
  assert_int_equal(istio_render_addon("prometheus", &b), MP_OK);
  check_manifest(&d, b.data);
  int k = ydocs_find(&d, "ConfigMap", "prometheus");
  assert_true(ydocs_load(&inner, ydocs_get(&d, k, "data.'prometheus.yml'")));
  assert_str(ydocs_get(&inner, 0, "scrape_configs[0].job_name"), "kubernetes-pods");
  assert_str(ydocs_get(&inner, 0, "scrape_configs[0].kubernetes_sd_configs[0].role"), "pod");
  ydocs_free(&inner);
  k = ydocs_find(&d, "ClusterRoleBinding", "prometheus");
  assert_str(ydocs_get(&d, k, "subjects[0].namespace"), ISTIO_NS);
  ydocs_free(&d);
  mp_buf_reset(&b);
  assert_int_equal(istio_render_addon("grafana", &b), MP_OK);
  check_manifest(&d, b.data);
  k = ydocs_find(&d, "ConfigMap", "grafana");
  assert_true(ydocs_load(&inner, ydocs_get(&d, k, "data.'datasources.yaml'")));
  assert_str(ydocs_get(&inner, 0, "datasources[0].url"), "http://prometheus:9090");
  ydocs_free(&inner);
  ydocs_free(&d);
  mp_buf_reset(&b);
  assert_int_equal(istio_render_addon("kiali", &b), MP_OK);
  check_manifest(&d, b.data);
  k = ydocs_find(&d, "ConfigMap", "kiali");
  assert_true(ydocs_load(&inner, ydocs_get(&d, k, "data.'config.yaml'")));
  assert_str(ydocs_get(&inner, 0, "auth.strategy"), "anonymous");
  assert_str(ydocs_get(&inner, 0, "external_services.prometheus.url"),
             "http://prometheus.istio-system:9090");
  ydocs_free(&inner);
  ydocs_free(&d);
  mp_buf_reset(&b);
  assert_int_equal(istio_render_addon("jaeger", &b), MP_OK);
  check_manifest(&d, b.data);
  k = ydocs_find(&d, "Service", "jaeger-collector");
  assert_str(ydocs_get(&d, k, "spec.ports[0].port"), "14268");
  assert_true(ydocs_find(&d, "Service", "zipkin") >= 0);
  ydocs_free(&d);
  assert_int_equal(istio_render_addon("nope", &b), MP_ERR_NOT_FOUND);
  mp_buf_free(&b);
}

static void test_istio_samples_with_gateways(void **state) {
  optrace t;
  ydocs d;
  run_yaml(&t, &d, &mp_istio_adapter, "bookinfo", "shop", false);
  assert_str(t.calls[0], "apply ns=shop del=0");
  int g = ydocs_find(&d, "Gateway", "bookinfo-gateway");
  assert_true(g >= 0);
  assert_str(ydocs_get(&d, g, "spec.selector.istio"), "ingressgateway");
  assert_str(ydocs_get(&d, g, "spec.servers[0].port.number"), "80");
  assert_str(ydocs_get(&d, g, "spec.servers[0].port.protocol"), "HTTP");
  int v = ydocs_find(&d, "VirtualService", "bookinfo");
  assert_str(ydocs_get(&d, v, "spec.gateways[0]"), "bookinfo-gateway");
  assert_int_equal(ydocs_len(&d, v, "spec.http[0].match"), 5);
  assert_str(ydocs_get(&d, v, "spec.http[0].match[0].uri.exact"), "/productpage");
  assert_str(ydocs_get(&d, v, "spec.http[0].match[1].uri.prefix"), "/static");
  assert_str(ydocs_get(&d, v, "spec.http[0].route[0].destination.host"), "productpage");
  assert_str(ydocs_get(&d, v, "spec.http[0].route[0].destination.port.number"), "9080");
  assert_true(ydocs_find(&d, "Deployment", "productpage-v1") >= 0);
  assert_str(t.last.summary, "bookinfo application deployed in namespace shop");
  assert_str(t.end.summary, "Istio Book Info Application: done");
  ydocs_free(&d);
  optrace_free(&t);

  const struct {
    const char *app, *host, *svc, *port;
  } others[] = {{"httpbin", "httpbin.example.com", "httpbin", "8000"},
                {"imagehub", "imagehub.example.com", "web", "8080"},
                {"emojivoto", "emojivoto.example.com", "web-svc", "80"}};
  for (size_t i = 0; i < MP_ARRAY_LEN(others); i++) {
    run_yaml(&t, &d, &mp_istio_adapter, others[i].app, "shop", false);
    char name[64];
    snprintf(name, sizeof name, "%s-gateway", others[i].app);
    g = ydocs_find(&d, "Gateway", name);
    assert_str(ydocs_get(&d, g, "spec.servers[0].hosts[0]"), others[i].host);
    v = ydocs_find(&d, "VirtualService", others[i].app);
    assert_str(ydocs_get(&d, v, "spec.hosts[0]"), others[i].host);
    assert_str(ydocs_get(&d, v, "spec.http[0].route[0].destination.host"), others[i].svc);
    assert_str(ydocs_get(&d, v, "spec.http[0].route[0].destination.port.number"), others[i].port);
    int s = ydocs_find(&d, "Service", others[i].svc); /* the route leads to a real port */
    assert_true(s >= 0);
    assert_str(ydocs_get(&d, s, "spec.ports[0].port"), others[i].port);
    ydocs_free(&d);
    optrace_free(&t);
  }
  optrace_run(&t, &mp_istio_adapter, "httpbin", "shop", true, NULL);
  assert_str(t.calls[0], "apply ns=shop del=1");
  assert_str(t.last.summary, "httpbin application removed from namespace shop");
  assert_int_equal(t.end.type, MP_EVENT_INFO);
  assert_str(t.end.summary, "HTTPBin Application: removed");
  optrace_free(&t);
}

static void test_istio_install(void **state) {
  optrace t;
  optrace_run(&t, &mp_istio_adapter, "istio", NULL, false, NULL);
  assert_int_equal(t.ncalls, 3);
  const char *repo = "repo=https://istio-release.storage.googleapis.com/charts";
  char want[512];
  snprintf(want, sizeof want,
           "helm release=istio-base chart=base %s version=1.24.2 ns=istio-system del=0 "
           "set=defaultRevision=default",
           repo);
  assert_str(t.calls[0], want);
  snprintf(want, sizeof want,
           "helm release=istiod chart=istiod %s version=1.24.2 "
           "ns=istio-system del=0",
           repo);
  assert_str(t.calls[1], want);
  snprintf(want, sizeof want,
           "helm release=istio-ingressgateway chart=gateway %s "
           "version=1.24.2 ns=istio-system del=0 set=labels.istio=ingressgateway",
           repo);
  assert_str(t.calls[2], want);
  assert_str(t.last.summary, "Istio 1.24.2 installed");
  assert_int_equal(t.end.type, MP_EVENT_INFO);
  assert_str(t.end.summary, "Istio Service Mesh: done");
  assert_non_null(strstr(t.end.details, "finished in "));
  optrace_free(&t);

  optrace_run(&t, &mp_istio_adapter, "istio", NULL, true, NULL); /* reverse order */
  assert_int_equal(t.ncalls, 3);
  assert_non_null(strstr(t.calls[0], "release=istio-ingressgateway"));
  assert_non_null(strstr(t.calls[2], "release=istio-base"));
  assert_non_null(strstr(t.calls[2], "del=1"));
  optrace_free(&t);

  optrace_run(&t, &mp_istio_adapter, "istio", NULL, false, no_helm);
  assert_int_equal(t.ncalls, 1);
  assert_str(t.calls[0], "tool istioctl install --set profile=default "
                         "--skip-confirmation mode=run ns=-");
  optrace_free(&t);

  optrace_run(&t, &mp_istio_adapter, "istio", NULL, false, no_helm_no_cli);
  assert_int_equal(t.ncalls, 0);
  assert_int_equal(t.end.type, MP_EVENT_ERROR);
  assert_str(t.end.error_code, MP_ADAPTER_ERR_TOOL_MISSING);
  assert_str(t.end.summary, "neither helm nor istioctl is installed where the adapter runs");
  assert_non_null(strstr(t.end.suggested_remediation, "https://helm.sh/docs/intro/install/"));
  assert_non_null(strstr(t.end.suggested_remediation, "ISTIO_VERSION=1.24.2"));
  optrace_free(&t);
}

static void test_istio_validate_ops(void **state) {
  optrace t;
  optrace_run(&t, &mp_istio_adapter, "smi_conformance", NULL, false, NULL);
  assert_int_equal(t.nevents, 1);
  assert_int_equal(t.end.type, MP_EVENT_ERROR);
  assert_str(t.end.error_code, MP_ADAPTER_ERR_UNSUPPORTED);
  assert_non_null(strstr(t.end.probable_cause, "conformance runner"));
  assert_str(t.end.details, "No conformance test was run; no result is reported.");
  optrace_free(&t);
  optrace_run(&t, &mp_istio_adapter, "istio-vet", "shop", false, NULL);
  assert_int_equal(t.end.type, MP_EVENT_ERROR);
  assert_str(t.end.error_code, MP_ADAPTER_ERR_ANALYZER);
  optrace_free(&t);
}

static void test_linkerd(void **state) {
  optrace t;
  ydocs d;
  run_yaml(&t, &d, &mp_linkerd_adapter, "annotate-namespace", "shop", false);
  assert_str(ydocs_get(&d, 0, "kind"), "Namespace");
  assert_str(ydocs_get(&d, 0, "metadata.annotations.'linkerd.io/inject'"), "enabled");
  assert_int_equal(ydocs_len(&d, 0, "metadata.labels"), -1);
  ydocs_free(&d);
  optrace_free(&t);

  optrace_run(&t, &mp_linkerd_adapter, "linkerd", NULL, false, NULL);
  assert_int_equal(t.ncalls, 2);
  assert_str(t.calls[0], "tool linkerd install --crds mode=apply ns=-");
  assert_str(t.calls[1], "tool linkerd install mode=apply ns=-");
  assert_str(t.last.summary, "Linkerd edge-24.11.8 installed");
  assert_int_equal(t.end.type, MP_EVENT_INFO);
  optrace_free(&t);
  optrace_run(&t, &mp_linkerd_adapter, "linkerd", NULL, true, NULL);
  assert_str(t.calls[0], "tool linkerd uninstall mode=delete ns=-");
  optrace_free(&t);
  optrace_run(&t, &mp_linkerd_adapter, "viz-addon", NULL, false, NULL);
  assert_str(t.calls[0], "tool linkerd viz install mode=apply ns=-");
  optrace_free(&t);
  optrace_run(&t, &mp_linkerd_adapter, "viz-addon", NULL, true, NULL);
  assert_str(t.calls[0], "tool linkerd viz uninstall mode=delete ns=-");
  optrace_free(&t);

  optrace_run(&t, &mp_linkerd_adapter, "linkerd", NULL, false, no_helm_no_cli);
  assert_int_equal(t.end.type, MP_EVENT_ERROR);
  assert_str(t.end.error_code, MP_ADAPTER_ERR_TOOL_MISSING);
  assert_non_null(strstr(t.end.suggested_remediation,
                         "https://run.linkerd.io/install-edge | LINKERD2_VERSION=edge-24.11.8"));
  optrace_free(&t);
  run_yaml(&t, &d, &mp_linkerd_adapter, "emojivoto", "shop", false);
  assert_true(ydocs_find(&d, "Deployment", "vote-bot") >= 0);
  assert_int_equal(ydocs_find(&d, "Gateway", NULL), -1); /* no Istio resources here */
  ydocs_free(&d);
  optrace_free(&t);
}

static void test_consul(void **state) {
  optrace t;
  optrace_run(&t, &mp_consul_adapter, "consul", NULL, false, NULL);
  assert_str(t.calls[0],
             "helm release=consul chart=consul repo=https://helm.releases.hashicorp.com "
             "version=1.6.0 ns=consul del=0 set=global.name=consul set=server.replicas=1 "
             "set=connectInject.enabled=true set=connectInject.default=false "
             "set=ui.enabled=true");
  optrace_free(&t);
  optrace_run(&t, &mp_consul_adapter, "consul", NULL, false, no_helm);
  assert_int_equal(t.end.type, MP_EVENT_ERROR);
  assert_str(t.end.summary, "helm is not installed where the adapter runs");
  assert_non_null(strstr(t.end.suggested_remediation, "chart consul 1.6.0"));
  optrace_free(&t);

  const char *actions[] = {"deny", "allow"};
  for (size_t i = 0; i < 2; i++) {
    char op[64];
    snprintf(op, sizeof op, "%s-all-intentions", actions[i]);
    ydocs d;
    run_yaml(&t, &d, &mp_consul_adapter, op, NULL, false);
    assert_str(ydocs_get(&d, 0, "kind"), "ServiceIntentions");
    assert_str(ydocs_get(&d, 0, "apiVersion"), "consul.hashicorp.com/v1alpha1");
    assert_str(ydocs_get(&d, 0, "metadata.name"), "all-services");
    assert_str(ydocs_get(&d, 0, "metadata.namespace"), CONSUL_NS);
    assert_str(ydocs_get(&d, 0, "spec.destination.name"), "*");
    assert_str(ydocs_get(&d, 0, "spec.sources[0].name"), "*");
    assert_str(ydocs_get(&d, 0, "spec.sources[0].action"), actions[i]);
    ydocs_free(&d);
    optrace_free(&t);
  }
  ydocs d;
  run_yaml(&t, &d, &mp_consul_adapter, "httpbin", "shop", false);
  int k = ydocs_find(&d, "Deployment", "httpbin");
  assert_str(
      ydocs_get(&d, k, "spec.template.metadata.annotations.'consul.hashicorp.com/connect-inject'"),
      "true");
  ydocs_free(&d);
  optrace_free(&t);
}

static void test_kuma(void **state) {
  optrace t;
  optrace_run(&t, &mp_kuma_adapter, "kuma", NULL, false, NULL);
  assert_str(t.calls[0], "helm release=kuma chart=kuma repo=https://kumahq.github.io/charts "
                         "version=2.9.0 ns=kuma-system del=0");
  optrace_free(&t);
  optrace_run(&t, &mp_kuma_adapter, "kuma", NULL, false, no_helm);
  assert_str(t.calls[0], "tool kumactl install control-plane mode=apply ns=-");
  optrace_free(&t);
  optrace_run(&t, &mp_kuma_adapter, "kuma", NULL, true, no_helm_no_cli);
  assert_int_equal(t.end.type, MP_EVENT_ERROR);
  assert_str(t.end.summary, "neither helm nor kumactl is installed where the adapter runs");
  optrace_free(&t);

  ydocs d;
  run_yaml(&t, &d, &mp_kuma_adapter, "sidecar-injection", "shop", false);
  assert_str(ydocs_get(&d, 0, "metadata.labels.'kuma.io/sidecar-injection'"), "enabled");
  ydocs_free(&d);
  optrace_free(&t);

  run_yaml(&t, &d, &mp_kuma_adapter, "mtls-builtin", NULL, false);
  int k = ydocs_find(&d, "Mesh", "default");
  assert_null(ydocs_get(&d, k, "metadata.namespace")); /* Mesh is cluster-scoped */
  assert_str(ydocs_get(&d, k, "spec.mtls.enabledBackend"), "ca-1");
  assert_str(ydocs_get(&d, k, "spec.mtls.backends[0].name"), "ca-1");
  assert_str(ydocs_get(&d, k, "spec.mtls.backends[0].type"), "builtin");
  k = ydocs_find(&d, "MeshTrafficPermission", "allow-all");
  assert_str(ydocs_get(&d, k, "metadata.namespace"), KUMA_NS);
  assert_str(ydocs_get(&d, k, "metadata.labels.'kuma.io/mesh'"), "default");
  assert_str(ydocs_get(&d, k, "spec.targetRef.kind"), "Mesh");
  assert_str(ydocs_get(&d, k, "spec.from[0].default.action"), "Allow");
  ydocs_free(&d);
  optrace_free(&t);
  run_yaml(&t, &d, &mp_kuma_adapter, "mtls-builtin", NULL, true);
  assert_int_equal(d.n, 1);
  assert_int_equal(ydocs_len(&d, 0, "spec"), 0); /* mTLS off; the Mesh stays */
  assert_str(t.calls[0], "apply ns=- del=0");
  assert_str(t.calls[1], "apply ns=- del=1");
  ydocs_free(&d);
  optrace_free(&t);
}

static void test_example(void **state) {
  optrace t;
  ydocs d;
  run_yaml(&t, &d, &mp_example_adapter, "example", NULL, false);
  assert_str(ydocs_get(&d, 0, "kind"), "Namespace");
  assert_str(ydocs_get(&d, 0, "metadata.name"), "example-system");
  int k = ydocs_find(&d, "ConfigMap", "example-mesh");
  assert_str(ydocs_get(&d, k, "metadata.namespace"), "example-system");
  assert_str(ydocs_get(&d, k, "data.version"), "1.1.0");
  assert_true(ydocs_find(&d, "Deployment", "example-mesh-controller") >= 0);
  ydocs_free(&d);
  optrace_free(&t);
  run_yaml(&t, &d, &mp_example_adapter, "label-namespace", "shop", false);
  assert_str(ydocs_get(&d, 0, "metadata.labels.'example.meshplane.io/inject'"), "enabled");
  ydocs_free(&d);
  optrace_free(&t);
}

int main(void) {
  mp_log_init("test_adapter_meshes");
  mp_log_set_level(MP_LOG_OFF);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_istio_label_namespace),
      cmocka_unit_test(test_istio_mtls),
      cmocka_unit_test(test_istio_deny_all),
      cmocka_unit_test(test_istio_addons),
      cmocka_unit_test(test_istio_samples_with_gateways),
      cmocka_unit_test(test_istio_install),
      cmocka_unit_test(test_istio_validate_ops),
      cmocka_unit_test(test_linkerd),
      cmocka_unit_test(test_consul),
      cmocka_unit_test(test_kuma),
      cmocka_unit_test(test_example),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
