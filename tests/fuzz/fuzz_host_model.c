/* Fuzzes the host platform's reading of applied objects (Deployments, Services and SMI
 * resources): any YAML in, no crash, no leak; an object it accepts is stored as JSON that
 * must parse back into the same model. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "host.h"

typedef struct fz {
  mp__hmodel m;
  mp__hstore store;
} fz;

static void on_doc(void *arg, mp_yaml_node *root) {
  fz *f = arg;
  mp_arena a = {0};
  const char *kind, *ns, *name;
  if (mp__hobj_check(&a, root, "default", &kind, &ns, &name) == MP_OK &&
      mp__hmodel_add(&f->m, "cluster.local", root, ns) == MP_OK) {
    mp_buf json = {0};
    mp__hjson_node(&json, root);
    mp__hstore_put(&f->store, kind, ns, name, json.data);
    mp_buf_free(&json);
  }
  mp_arena_free(&a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fz f;
  memset(&f, 0, sizeof f);
  mp_arena a = {0};
  char err[128];
  int line;
  mp_yaml_parse(&a, data, size, on_doc, &f, err, sizeof err, &line);
  mp_arena_free(&a);
  mp__hmodel back;
  if (mp__hmodel_build(&f.store, "cluster.local", &back) != MP_OK) abort();
  if (back.n_workloads > f.m.n_workloads || back.n_targets > f.m.n_targets) abort();
  for (size_t i = 0; i < back.n_workloads; i++) mp__hsidecar_dns(&back, &back.workloads[i]);
  mp__hmodel_free(&back);
  mp__hmodel_free(&f.m);
  mp__hstore_free(&f.store);
  return 0;
}
