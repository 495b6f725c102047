/* Linkerd rules, after `linkerd check`'s data-plane checks: configuration written as
 * labels that Linkerd reads only as annotations (MP3001) and the reverse for
 * mirror.linkerd.io/exported (MP3004), opaque ports marked on one side of a Service only
 * (MP3002), and linkerd.io/inject values the injector does not know (MP3003). */
#include <stdlib.h>
#include <string.h>

#include "analyzer_internal.h"

#define OPAQUE "config.linkerd.io/opaque-ports"

static bool linkerd_annotation_key(const char *k) {
  return strcmp(k, "linkerd.io/inject") == 0 || mp_str_has_prefix(k, "config.linkerd.io/") ||
         mp_str_has_prefix(k, "config.alpha.linkerd.io/");
}

static void check_labels(mp__ctx *cx, const mp__res *r, const mp_yaml_node *labels,
                         const char *where) {
  for (size_t i = 0; i < mp_yaml_npairs(labels); i++) {
    const mp_yaml_node *k = mp_yaml_key(labels, i);
    if (!mp_yaml_str(k) || !linkerd_annotation_key(k->str)) continue;
    mp__report(cx, r, k->line,
               "%s is set as a label%s, where Linkerd never reads it; move it to the annotations",
               k->str, where);
  }
}

void mp__rule_linkerd_label(mp__ctx *cx) {
  for (size_t i = 0; i < cx->nall; i++) {
    const mp__res *r = cx->all[i];
    if (r->kind != MP__K_NAMESPACE && r->kind != MP__K_SERVICE && !r->workload) continue;
    check_labels(cx, r, r->labels, "");
    if (r->workload && r->pod_labels != r->labels)
      check_labels(cx, r, r->pod_labels, " of the pod template");
  }
}

void mp__rule_linkerd_inject_value(mp__ctx *cx) {
  for (size_t i = 0; i < cx->nall; i++) {
    const mp__res *r = cx->all[i];
    if (r->kind != MP__K_NAMESPACE && !r->workload) continue;
    const mp_yaml_node *sets[] = {r->annotations, r->workload ? r->pod_annotations : NULL};
    for (size_t s = 0; s < MP_ARRAY_LEN(sets); s++) {
      if (s == 1 && sets[1] == sets[0]) continue;
      const mp_yaml_node *v = mp_yaml_get(sets[s], "linkerd.io/inject");
      if (!v) continue;
      const char *val = mp_yaml_str(v) ? mp_yaml_str(v) : "";
      if (strcmp(val, "enabled") == 0 || strcmp(val, "disabled") == 0 ||
          strcmp(val, "ingress") == 0)
        continue;
      mp__report(cx, r, v->line,
                 "linkerd.io/inject is \"%s\"; the proxy injector only knows enabled, disabled "
                 "and ingress",
                 val);
    }
  }
}

void mp__rule_linkerd_mirror_annotation(mp__ctx *cx) {
  size_t n;
  const mp__res **svcs = mp__list(cx, MP__K_SERVICE, &n);
  for (size_t i = 0; i < n; i++) {
    for (size_t j = 0; j < mp_yaml_npairs(svcs[i]->annotations); j++) {
      const mp_yaml_node *k = mp_yaml_key(svcs[i]->annotations, j);
      if (!mp_yaml_str(k) || strcmp(k->str, "mirror.linkerd.io/exported") != 0) continue;
      mp__report(cx, svcs[i], k->line,
                 "mirror.linkerd.io/exported is set as an annotation, but the multicluster "
                 "service mirror only reads the label; move it to the labels");
    }
  }
}

/* ---- opaque ports ---------------------------------------------------------------------------- */

/* Whether port is in an opaque-ports list: "25,3306,4000-4100". */
static bool in_port_list(const char *list, long port) {
  for (const char *p = list; p && *p;) {
    while (*p == ' ' || *p == ',') p++;
    if (!*p) break;
    char *end;
    long lo = strtol(p, &end, 10), hi = lo;
    if (end == p) { /* not a number: skip the item */
      while (*p && *p != ',') p++;
      continue;
    }
    p = end;
    if (*p == '-') {
      hi = strtol(p + 1, &end, 10);
      if (end == p + 1) hi = lo;
      p = end;
    }
    if (port >= lo && port <= hi) return true;
    while (*p && *p != ',') p++;
  }
  return false;
}

/* The opaque-ports annotation that applies: the resource's own, else its namespace's.
 * NULL when neither says anything (both sides then get Linkerd's defaults). */
static const char *opaque_list(const mp__ctx *cx, const mp_yaml_node *annotations, const char *ns) {
  const char *own = mp_yaml_gets(annotations, OPAQUE);
  if (own) return own;
  const mp__res *nsr = mp__find(cx, MP__K_NAMESPACE, NULL, ns);
  return nsr ? mp_yaml_gets(nsr->annotations, OPAQUE) : NULL;
}

static void check_pair(mp__ctx *cx, const mp__res *svc, const mp__res *w) {
  const char *sl = opaque_list(cx, svc->annotations, svc->ns);
  const char *pl = opaque_list(cx, w->pod_annotations, w->ns);
  if (!sl && !pl) return;
  const mp_yaml_node *ports = mp_yaml_get(svc->spec, "ports");
  for (size_t i = 0; i < mp_yaml_len(ports); i++) {
    const mp_yaml_node *p = mp_yaml_at(ports, i);
    long port, target;
    if (!mp_yaml_int(mp_yaml_get(p, "port"), &port) || !mp__target_port(p, w, &target)) continue;
    bool svc_opaque = sl && in_port_list(sl, port);
    bool pod_opaque = pl && in_port_list(pl, target);
    if (svc_opaque && !pod_opaque)
      mp__report(cx, svc, p->line,
                 "Port %ld is opaque on this Service but its target port %ld is not opaque on "
                 "%s; add %ld to the pods' " OPAQUE " annotation",
                 port, target, w->ident, target);
    else if (!svc_opaque && pod_opaque)
      mp__report(cx, svc, p->line,
                 "%s marks port %ld opaque, but this Service reaches it through port %ld "
                 "without doing so; add %ld to the Service's " OPAQUE " annotation",
                 w->ident, target, port, port);
  }
}

void mp__rule_linkerd_opaque_ports(mp__ctx *cx) {
  size_t n;
  const mp__res **svcs = mp__list(cx, MP__K_SERVICE, &n);
  for (size_t i = 0; i < n; i++) {
    const mp__res *svc = svcs[i];
    const mp_yaml_node *sel = mp_yaml_get(svc->spec, "selector");
    const char *cip = mp_yaml_gets(svc->spec, "clusterIP");
    if (mp_yaml_npairs(sel) == 0 || (cip && strcmp(cip, "None") == 0))
      continue; /* headless: skip */
    for (size_t w = 0; w < cx->nworkloads; w++) {
      const mp__res *wl = cx->workloads[w];
      if (strcmp(wl->ns, svc->ns) == 0 && mp__labels_match(sel, wl->pod_labels))
        check_pair(cx, svc, wl);
    }
  }
}
