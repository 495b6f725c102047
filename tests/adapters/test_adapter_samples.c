/* YAML the SDK renders, parsed back with libyaml and checked as data: the sample
 * applications (kinds, names, labels, ports, images, env), Namespace documents, and the
 * SDK's own YAML reading (object summaries, List flattening). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "internal.h"
#include "meshtest.h"

static void render(const mp_adapter_sample *s, const char *ns, ydocs *d, mp_buf *b) {
  assert_int_equal(mp_adapter_render_sample(s, ns, b), MP_OK);
  check_manifest(d, b->data);
  for (size_t i = 0; i < d->n; i++) /* applied into the request namespace: none set here */
    assert_null(ydocs_get(d, (int)i, "metadata.namespace"));
}

static int count(ydocs *d, const char *kind) {
  int n = 0;
  for (size_t i = 0; i < d->n; i++)
    if (!strcmp(ydocs_get(d, (int)i, "kind"), kind)) n++;
  return n;
}

static void test_bookinfo(void **state) {
  ydocs d;
  mp_buf b = {0};
  render(&mp_adapter_sample_bookinfo, "shop", &d, &b);
  assert_int_equal(count(&d, "ServiceAccount"), 4);
  assert_int_equal(count(&d, "Service"), 4);
  assert_int_equal(count(&d, "Deployment"), 6);
  const char *svcs[] = {"details", "ratings", "reviews", "productpage"};
  for (size_t i = 0; i < 4; i++) {
    int k = ydocs_find(&d, "Service", svcs[i]);
    assert_true(k >= 0);
    assert_str(ydocs_get(&d, k, "metadata.labels.app"), svcs[i]);
    assert_str(ydocs_get(&d, k, "metadata.labels.service"), svcs[i]);
    assert_str(ydocs_get(&d, k, "spec.ports[0].port"), "9080");
    assert_str(ydocs_get(&d, k, "spec.ports[0].name"), "http");
    assert_str(ydocs_get(&d, k, "spec.selector.app"), svcs[i]);
    char sa[64];
    snprintf(sa, sizeof sa, "bookinfo-%s", svcs[i]);
    k = ydocs_find(&d, "ServiceAccount", sa);
    assert_true(k >= 0);
    assert_str(ydocs_get(&d, k, "metadata.labels.account"), svcs[i]);
  }
  const char *versions[] = {"v1", "v2", "v3"};
  for (size_t i = 0; i < 3; i++) {
    char name[32], image[96];
    snprintf(name, sizeof name, "reviews-%s", versions[i]);
    snprintf(image, sizeof image, "docker.io/istio/examples-bookinfo-reviews-%s:1.20.2",
             versions[i]);
    int k = ydocs_find(&d, "Deployment", name);
    assert_true(k >= 0);
    assert_str(ydocs_get(&d, k, "metadata.labels.app"), "reviews");
    assert_str(ydocs_get(&d, k, "metadata.labels.version"), versions[i]);
    assert_str(ydocs_get(&d, k, "spec.template.metadata.labels.version"), versions[i]);
    assert_str(ydocs_get(&d, k, "spec.template.spec.serviceAccountName"), "bookinfo-reviews");
    assert_str(ydocs_get(&d, k, "spec.template.spec.containers[0].image"), image);
    assert_str(ydocs_get(&d, k, "spec.template.spec.containers[0].env[0].name"), "LOG_DIR");
    assert_str(ydocs_get(&d, k, "spec.template.spec.volumes[1].name"), "wlp-output");
    assert_str(ydocs_get(&d, k, "spec.template.spec.containers[0].volumeMounts[1].mountPath"),
               "/opt/ibm/wlp/output");
  }
  int k = ydocs_find(&d, "Deployment", "productpage-v1");
  assert_str(ydocs_get(&d, k, "spec.template.metadata.annotations.'prometheus.io/scrape'"), "true");
  assert_str(ydocs_get(&d, k, "spec.template.spec.containers[0].ports[0].containerPort"), "9080");
  ydocs_free(&d);
  mp_buf_free(&b);
}

static void test_httpbin_imagehub(void **state) {
  ydocs d;
  mp_buf b = {0};
  render(&mp_adapter_sample_httpbin, "shop", &d, &b);
  int k = ydocs_find(&d, "Service", "httpbin");
  assert_str(ydocs_get(&d, k, "spec.ports[0].port"), "8000");
  assert_str(ydocs_get(&d, k, "spec.ports[0].targetPort"), "8080");
  k = ydocs_find(&d, "Deployment", "httpbin");
  assert_str(ydocs_get(&d, k, "spec.template.spec.containers[0].ports[0].containerPort"), "8080");
  assert_true(ydocs_find(&d, "ServiceAccount", "httpbin") >= 0);
  ydocs_free(&d);
  mp_buf_reset(&b);

  render(&mp_adapter_sample_imagehub, "shop", &d, &b);
  assert_str(ydocs_get(&d, ydocs_find(&d, "Service", "api"), "spec.ports[0].port"), "9091");
  assert_str(ydocs_get(&d, ydocs_find(&d, "Service", "web"), "spec.ports[0].port"), "8080");
  k = ydocs_find(&d, "Deployment", "api-v1");
  assert_str(ydocs_get(&d, k, "spec.template.spec.serviceAccountName"), "imagehub-api");
  ydocs_free(&d);
  mp_buf_free(&b);
}

static void test_emojivoto(void **state) {
  ydocs d;
  mp_buf b = {0};
  render(&mp_adapter_sample_emojivoto, "votes", &d, &b);
  assert_int_equal(count(&d, "Deployment"), 4);
  int k = ydocs_find(&d, "Deployment", "web");
  assert_str(ydocs_get(&d, k, "metadata.labels.'app.kubernetes.io/part-of'"), "emojivoto");
  assert_str(ydocs_get(&d, k, "spec.template.metadata.labels.app"), "web-svc");
  assert_str(ydocs_get(&d, k, "spec.template.spec.containers[0].env[1].name"), "EMOJISVC_HOST");
  /* The namespace is in the service addresses, not hard-coded to "emojivoto". */
  assert_str(ydocs_get(&d, k, "spec.template.spec.containers[0].env[1].value"),
             "emoji-svc.votes:8080");
  k = ydocs_find(&d, "Deployment", "vote-bot");
  assert_str(ydocs_get(&d, k, "spec.template.spec.containers[0].command[0]"), "emojivoto-vote-bot");
  assert_str(ydocs_get(&d, k, "spec.template.spec.containers[0].env[0].value"), "web-svc.votes:80");
  k = ydocs_find(&d, "Service", "web-svc");
  assert_str(ydocs_get(&d, k, "spec.ports[0].port"), "80");
  assert_str(ydocs_get(&d, k, "spec.ports[0].targetPort"), "8080");
  k = ydocs_find(&d, "Service", "emoji-svc");
  assert_int_equal(ydocs_len(&d, k, "spec.ports"), 2);
  assert_str(ydocs_get(&d, k, "spec.ports[1].name"), "prom");
  ydocs_free(&d);
  mp_buf_free(&b);
}

static void test_sample_annotations_and_unknown(void **state) {
  static const char *const annos[] = {"consul.hashicorp.com/connect-inject", "true", NULL};
  mp_adapter_sample s = {"bookinfo", annos, NULL};
  ydocs d;
  mp_buf b = {0};
  render(&s, "shop", &d, &b);
  for (size_t i = 0; i < d.n; i++) {
    if (strcmp(ydocs_get(&d, (int)i, "kind"), "Deployment")) continue;
    assert_str(
        ydocs_get(&d, (int)i,
                  "spec.template.metadata.annotations.'consul.hashicorp.com/connect-inject'"),
        "true");
  }
  ydocs_free(&d);
  mp_buf_reset(&b);
  mp_adapter_sample nope = {"nope", NULL, NULL};
  assert_int_equal(mp_adapter_render_sample(&nope, "shop", &b), MP_ERR_NOT_FOUND);
  assert_int_equal(mp_adapter_render_sample(&mp_adapter_sample_httpbin, "Bad NS", &b),
                   MP_ERR_INVALID);
  mp_buf_free(&b);
}

static void test_namespace_document(void **state) {
  const char *labels[] = {"istio-injection", "enabled", "odd\"key", "va:lue", NULL};
  const char *annos[] = {"linkerd.io/inject", "enabled", NULL};
  mp_buf b = {0};
  mp_adapter_render_namespace(&b, "shop", labels, annos);
  ydocs d;
  check_manifest(&d, b.data);
  assert_int_equal(d.n, 1);
  assert_str(ydocs_get(&d, 0, "kind"), "Namespace");
  assert_str(ydocs_get(&d, 0, "apiVersion"), "v1");
  assert_str(ydocs_get(&d, 0, "metadata.name"), "shop");
  assert_str(ydocs_get(&d, 0, "metadata.labels.istio-injection"), "enabled");
  assert_str(ydocs_get(&d, 0, "metadata.labels.'odd\"key'"), "va:lue");
  assert_str(ydocs_get(&d, 0, "metadata.annotations.'linkerd.io/inject'"), "enabled");
  ydocs_free(&d);
  mp_buf_free(&b);
}

static void test_yaml_summary(void **state) {
  const char *y = "---\napiVersion: v1\nkind: Service\nmetadata:\n  name: a\n  namespace: x\n"
                  "---\n---\n# only a comment\n---\napiVersion: apps/v1\nkind: Deployment\n"
                  "metadata:\n  name: b\n";
  mp__ysum s;
  assert_int_equal(mp__yaml_summary(y, strlen(y), true, &s), MP_OK);
  assert_int_equal(s.n, 2);
  assert_str(s.objs[0].kind, "Service");
  assert_str(s.objs[0].ns, "x");
  assert_str(s.objs[1].api_version, "apps/v1");
  assert_int_equal(s.objs[1].line, 11);
  mp_buf b = {0};
  mp__ysum_describe(&s, 1, &b);
  assert_str(b.data, "Service x/a and 1 more");
  mp_buf_free(&b);
  mp__ysum_free(&s);

  const char *bad[] = {"- a\n- b\n", "kind: X\nmetadata: {name: y}\n", "a: [\n", "a: b: c\n",
                       "apiVersion: v1\nkind: X\nmetadata: {}\n"};
  for (size_t i = 0; i < MP_ARRAY_LEN(bad); i++) {
    assert_int_equal(mp__yaml_summary(bad[i], strlen(bad[i]), true, &s), MP_ERR_INVALID);
    assert_non_null(strstr(mp_error_last(), "line "));
  }
  /* Not strict: partial documents are listed as they are. */
  assert_int_equal(mp__yaml_summary(bad[1], strlen(bad[1]), false, &s), MP_OK);
  assert_int_equal(s.n, 1);
  assert_str(s.objs[0].api_version, "");
  mp__ysum_free(&s);
}

static void test_yaml_split_lists(void **state) {
  const char *y = "apiVersion: v1\nkind: List\nitems:\n"
                  "- apiVersion: v1\n  kind: Service\n  metadata: {name: a, labels: {x: \"1\"}}\n"
                  "- apiVersion: v1\n  kind: Service\n  metadata: {name: b}\n"
                  "---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: ns1\n"
                  "---\nanchor: &x {k: v}\nref: *x\n";
  mp_buf b = {0};
  assert_int_equal(mp__yaml_split_lists(y, strlen(y), &b), MP_OK);
  ydocs d;
  assert_true(ydocs_load(&d, b.data));
  assert_int_equal(d.n, 4);
  assert_str(ydocs_get(&d, 0, "metadata.name"), "a");
  assert_str(ydocs_get(&d, 0, "metadata.labels.x"), "1");
  assert_str(ydocs_get(&d, 1, "metadata.name"), "b");
  assert_str(ydocs_get(&d, 2, "kind"), "Namespace");
  assert_str(ydocs_get(&d, 3, "ref.k"), "v"); /* aliases are resolved */
  ydocs_free(&d);
  mp_buf_reset(&b);
  assert_int_equal(mp__yaml_split_lists("a: [", 4, &b), MP_ERR_INVALID);
  assert_int_equal(b.len, 0);
  assert_int_equal(mp__yaml_split_lists("", 0, &b), MP_OK);
  assert_int_equal(b.len, 0);
  mp_buf_free(&b);
}

int main(void) {
  mp_log_init("test_adapter_samples");
  mp_log_set_level(MP_LOG_OFF);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_bookinfo),
      cmocka_unit_test(test_httpbin_imagehub),
      cmocka_unit_test(test_emojivoto),
      cmocka_unit_test(test_sample_annotations_and_unknown),
      cmocka_unit_test(test_namespace_document),
      cmocka_unit_test(test_yaml_summary),
      cmocka_unit_test(test_yaml_split_lists),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
