/* General Kubernetes hygiene (MP1001..MP1010): container limits, image tags, probes,
 * privileges, host namespaces, Services and controllers whose selectors select nothing,
 * and resources defined twice. Injected proxy containers (istio-proxy, linkerd-proxy)
 * are the mesh's business and are skipped. */
#include <stdlib.h>
#include <string.h>

#include "analyzer_internal.h"

typedef void (*container_fn)(mp__ctx *cx, const mp__res *w, const mp_yaml_node *c,
                             const char *name);

static void each_container(mp__ctx *cx, container_fn fn, bool with_init) {
  for (size_t i = 0; i < cx->nworkloads; i++) {
    const mp__res *w = cx->workloads[i];
    if (w->synthetic) continue;
    const mp_yaml_node *lists[] = {mp__containers(w),
                                   with_init ? mp_yaml_get(w->pod_spec, "initContainers") : NULL};
    for (size_t l = 0; l < MP_ARRAY_LEN(lists); l++)
      for (size_t j = 0; j < mp_yaml_len(lists[l]); j++) {
        const mp_yaml_node *c = mp_yaml_at(lists[l], j);
        if (!mp_yaml_is_map(c) || mp__is_proxy_container(c)) continue;
        const char *name = mp_yaml_gets(c, "name");
        fn(cx, w, c, name ? name : "(unnamed)");
      }
  }
}

static int cline(const mp_yaml_node *c) {
  return mp_yaml_line(mp_yaml_get(c, "name"), mp_yaml_line(c, 0));
}

/* ---- resources, images, probes, privileges ---------------------------------------------- */

static void limits(mp__ctx *cx, const mp__res *w, const mp_yaml_node *c, const char *name) {
  const mp_yaml_node *lim = mp_yaml_path(c, "resources", "limits", NULL);
  bool cpu = mp_yaml_get(lim, "cpu") != NULL, mem = mp_yaml_get(lim, "memory") != NULL;
  if (cpu && mem) return;
  mp__report(cx, w, cline(c),
             "Container %s has no %s limit; set resources.limits so one container cannot starve "
             "its node",
             name,
             !cpu && !mem ? "CPU or memory"
             : !cpu       ? "CPU"
                          : "memory");
}

void mp__rule_k8s_limits(mp__ctx *cx) { each_container(cx, limits, false); }

/* The tag of an image reference, "" when there is none; NULL for digests. */
static const char *image_tag(const char *image) {
  if (strchr(image, '@')) return NULL;
  const char *last = strrchr(image, '/');
  const char *colon = strchr(last ? last : image, ':');
  return colon ? colon + 1 : "";
}

static bool skip_image(const char *image) {
  /* "auto" is the Istio injection template's placeholder, not a registry image. */
  return !image || !*image || strcmp(image, "auto") == 0;
}

static void latest(mp__ctx *cx, const mp__res *w, const mp_yaml_node *c, const char *name) {
  const mp_yaml_node *img = mp_yaml_get(c, "image");
  if (skip_image(mp_yaml_str(img))) return;
  const char *tag = image_tag(img->str);
  if (tag && strcmp(tag, "latest") == 0)
    mp__report(cx, w, img->line,
               "Container %s runs %s; :latest changes under you, pin a version or a digest", name,
               img->str);
}

static void untagged(mp__ctx *cx, const mp__res *w, const mp_yaml_node *c, const char *name) {
  const mp_yaml_node *img = mp_yaml_get(c, "image");
  if (skip_image(mp_yaml_str(img))) return;
  const char *tag = image_tag(img->str);
  if (tag && !*tag)
    mp__report(cx, w, img->line,
               "Container %s runs %s without a tag, which means :latest; pin a version or a "
               "digest",
               name, img->str);
}

void mp__rule_k8s_latest(mp__ctx *cx) { each_container(cx, latest, true); }
void mp__rule_k8s_untagged(mp__ctx *cx) { each_container(cx, untagged, true); }

/* Batch pods run to completion; probes are for long-running containers. */
static bool batch(const mp__res *w) { return w->kind == MP__K_JOB || w->kind == MP__K_CRONJOB; }

static void readiness(mp__ctx *cx, const mp__res *w, const mp_yaml_node *c, const char *name) {
  if (batch(w) || mp_yaml_get(c, "readinessProbe")) return;
  mp__report(cx, w, cline(c),
             "Container %s has no readinessProbe, so it gets traffic before it is ready", name);
}

static void liveness(mp__ctx *cx, const mp__res *w, const mp_yaml_node *c, const char *name) {
  if (batch(w) || mp_yaml_get(c, "livenessProbe")) return;
  mp__report(cx, w, cline(c),
             "Container %s has no livenessProbe, so a hung process is never restarted", name);
}

void mp__rule_k8s_readiness(mp__ctx *cx) { each_container(cx, readiness, false); }
void mp__rule_k8s_liveness(mp__ctx *cx) { each_container(cx, liveness, false); }

static void privileged(mp__ctx *cx, const mp__res *w, const mp_yaml_node *c, const char *name) {
  const mp_yaml_node *p = mp_yaml_path(c, "securityContext", "privileged", NULL);
  if (mp_yaml_true(p))
    mp__report(cx, w, p->line,
               "Container %s is privileged: it has every capability of the host; drop "
               "privileged and grant only the capabilities it needs",
               name);
}

void mp__rule_k8s_privileged(mp__ctx *cx) { each_container(cx, privileged, true); }

void mp__rule_k8s_host_namespaces(mp__ctx *cx) {
  static const char *const keys[] = {"hostNetwork", "hostPID", "hostIPC"};
  for (size_t i = 0; i < cx->nworkloads; i++) {
    const mp__res *w = cx->workloads[i];
    for (size_t k = 0; k < MP_ARRAY_LEN(keys); k++) {
      const mp_yaml_node *v = mp_yaml_get(w->pod_spec, keys[k]);
      if (mp_yaml_true(v))
        mp__report(cx, w, v->line,
                   "%s is true: the pod shares the node's namespace and escapes pod isolation",
                   keys[k]);
    }
  }
}

/* ---- selectors ----------------------------------------------------------------------------- */

void mp__rule_k8s_service_selects_nothing(mp__ctx *cx) {
  size_t n;
  const mp__res **svcs = mp__list(cx, MP__K_SERVICE, &n);
  for (size_t i = 0; i < n; i++) {
    const mp__res *s = svcs[i];
    const mp_yaml_node *sel = mp_yaml_get(s->spec, "selector");
    if (mp_yaml_npairs(sel) == 0) continue; /* endpoints managed by hand */
    /* Only judge namespaces whose workloads are part of the input. */
    bool any = false;
    for (size_t w = 0; w < cx->nworkloads && !any; w++)
      any = strcmp(cx->workloads[w]->ns, s->ns) == 0;
    if (!any || mp__count_selected(cx, s->ns, sel) > 0) continue;
    mp__report(cx, s, sel->line,
               "The selector %s matches no workload in namespace %s, so the Service has no "
               "endpoints",
               mp__selector_str(cx, sel), s->ns);
  }
}

void mp__rule_k8s_selector_mismatch(mp__ctx *cx) {
  for (size_t i = 0; i < cx->nworkloads; i++) {
    const mp__res *w = cx->workloads[i];
    if (w->kind == MP__K_POD || w->kind == MP__K_CRONJOB || w->synthetic) continue;
    const mp_yaml_node *sel = mp_yaml_get(w->spec, "selector");
    /* ReplicationControllers use a plain map; the apps kinds use matchLabels. */
    if (w->kind != MP__K_RC) sel = mp_yaml_get(sel, "matchLabels");
    if (mp_yaml_npairs(sel) == 0 || !w->pod_meta) continue;
    if (mp__labels_match(sel, w->pod_labels)) continue;
    mp__report(cx, w, sel->line,
               "The selector %s does not match the pod template's labels; the API server "
               "rejects this and the controller could never find its pods",
               mp__selector_str(cx, sel));
  }
}

/* ---- duplicates ------------------------------------------------------------------------------ */

static int cmp_res(const void *a, const void *b) {
  const mp__res *x = *(const mp__res *const *)a, *y = *(const mp__res *const *)b;
  int c;
  if ((c = strcmp(x->kind_name, y->kind_name))) return c;
  if ((c = strcmp(x->group, y->group))) return c;
  if ((c = strcmp(x->ns, y->ns))) return c;
  return strcmp(x->name, y->name);
}

void mp__rule_k8s_duplicate(mp__ctx *cx) {
  const mp__res **v = mp_arena_alloc(cx->scratch, (cx->nall + 1) * sizeof(*v));
  size_t n = 0;
  for (size_t i = 0; i < cx->nall; i++)
    if (!cx->all[i]->synthetic && *cx->all[i]->name && *cx->all[i]->kind_name) v[n++] = cx->all[i];
  /* A stable order: the input order breaks ties, so "first" means first in the input. */
  for (size_t i = 1; i < n; i++)
    for (size_t j = i; j > 0 && cmp_res(&v[j - 1], &v[j]) > 0; j--) {
      const mp__res *t = v[j];
      v[j] = v[j - 1];
      v[j - 1] = t;
    }
  for (size_t i = 1; i < n; i++) {
    size_t first = i - 1;
    while (first > 0 && cmp_res(&v[first - 1], &v[i]) == 0) first--;
    if (cmp_res(&v[first], &v[i]) != 0) continue;
    mp__report(cx, v[i], 0,
               "%s is defined again; the earlier definition at %s:%d is overwritten when both "
               "are applied",
               v[i]->ident, v[first]->file, v[first]->line);
  }
}
