/* Test helper: see meshtest.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "meshtest.h"

void optrace_run(optrace *t, const mp_adapter *a, const char *op, const char *ns, bool del,
                 const char *const *missing) {
  memset(t, 0, sizeof *t);
  mp_adapter_mock_opts o = {.missing_tools = missing};
  mp_adapter_mock *m = mp_adapter_mock_new(a, &o);
  assert_non_null(m);
  mp_adapter_sub *s = mp_adapter_mock_subscribe(m);
  mp_adapter_request req = {sizeof req, .op = op, .ns = ns, .delete_op = del};
  char *id = NULL;
  char *err = mp_adapter_mock_apply(m, &req, &id);
  if (err) fprintf(stderr, "%s: %s\n", op, err);
  assert_null(err);
  assert_true(mp_adapter_mock_wait(m, id, 10000));
  mp_adapter_event ev = {0};
  while (mp_adapter_sub_next(s, 20, &ev)) {
    assert_string_equal(ev.operation_id, id);
    if (t->end.summary) fail_msg("%s: event \"%s\" after the terminal event", op, ev.summary);
    mp_adapter_event *into = &t->last;
    if (!strcmp(ev.component, MP_ADAPTER_COMPONENT_OPERATION))
      into = &t->end;
    else
      assert_string_equal(ev.component, "adapter");
    mp_adapter_event_clear(into);
    *into = ev;
    memset(&ev, 0, sizeof ev);
    t->nevents++;
  }
  if (!t->end.summary) fail_msg("%s: no terminal event among %zu events", op, t->nevents);
  for (size_t i = 0; i < mp_adapter_mock_ncalls(m) && i < 32; i++) {
    const char *y = NULL;
    t->calls[i] = mp_strdup(mp_adapter_mock_call(m, i, &y));
    t->yaml[i] = mp_strdup(y);
    t->ncalls++;
  }
  mp_free(id);
  mp_adapter_sub_free(s);
  mp_adapter_mock_free(m);
}

void optrace_free(optrace *t) {
  for (size_t i = 0; i < t->ncalls; i++) {
    mp_free(t->calls[i]);
    mp_free(t->yaml[i]);
  }
  mp_adapter_event_clear(&t->last);
  mp_adapter_event_clear(&t->end);
  memset(t, 0, sizeof *t);
}

void check_manifest(ydocs *d, const char *yaml) {
  assert_non_null(yaml);
  if (!ydocs_load(d, yaml)) fail_msg("YAML does not parse: %s\n%s", d->error, yaml);
  assert_true(d->n > 0);
  for (size_t i = 0; i < d->n; i++) {
    int k = (int)i;
    const char *kind = ydocs_get(d, k, "kind");
    if (!ydocs_get(d, k, "apiVersion") || !kind || !ydocs_get(d, k, "metadata.name"))
      fail_msg("document %zu lacks apiVersion, kind or metadata.name", i);
    if (!strcmp(kind, "Deployment")) {
      if (!ydocs_map_subset(d, k, "spec.selector.matchLabels", "spec.template.metadata.labels"))
        fail_msg("Deployment %s: selector labels are not on its pod template",
                 ydocs_get(d, k, "metadata.name"));
      const char *app = ydocs_get(d, k, "spec.selector.matchLabels.app");
      assert_non_null(app);
      assert_string_equal(ydocs_get(d, k, "spec.template.metadata.labels.app"), app);
      const char *ver = ydocs_get(d, k, "spec.selector.matchLabels.version");
      if (ver) assert_string_equal(ydocs_get(d, k, "spec.template.metadata.labels.version"), ver);
      int nc = ydocs_len(d, k, "spec.template.spec.containers");
      assert_true(nc >= 1);
      for (int c = 0; c < nc; c++) {
        char p[128];
        snprintf(p, sizeof p, "spec.template.spec.containers[%d].name", c);
        assert_non_null(ydocs_get(d, k, p));
        snprintf(p, sizeof p, "spec.template.spec.containers[%d].image", c);
        assert_non_null(ydocs_get(d, k, p));
      }
    } else if (!strcmp(kind, "Service")) {
      assert_true(ydocs_len(d, k, "spec.ports") >= 1);
      assert_non_null(ydocs_get(d, k, "spec.ports[0].port"));
      assert_true(ydocs_len(d, k, "spec.selector") >= 1);
      /* When the manifest has workloads, the Service selects one of them. */
      bool any_dep = false, selected = false;
      for (size_t j = 0; j < d->n; j++) {
        const char *kj = ydocs_get(d, (int)j, "kind");
        if (!kj || strcmp(kj, "Deployment")) continue;
        any_dep = true;
        if (ydocs_map_subset2(d, k, "spec.selector", (int)j, "spec.template.metadata.labels"))
          selected = true;
      }
      if (any_dep && !selected)
        fail_msg("Service %s selects no Deployment of the manifest",
                 ydocs_get(d, k, "metadata.name"));
    }
  }
}
