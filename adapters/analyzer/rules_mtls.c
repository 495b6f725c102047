/* mTLS consistency between PeerAuthentication (what servers accept) and DestinationRule
 * (what clients send), in the spirit of Kiali's validations: a DestinationRule that turns
 * TLS off where STRICT mTLS is required (MP2001), a mesh- or namespace-wide
 * ISTIO_MUTUAL DestinationRule without a PeerAuthentication enabling mTLS (MP2002), and
 * two PeerAuthentication checks of their own (MP2003, MP2004). The mesh root namespace is
 * istio-system. */
#include <string.h>
#include <strings.h>

#include "analyzer_internal.h"

#define ROOT_NS "istio-system"

static const mp_yaml_node *pa_selector(const mp__res *pa) {
  return mp_yaml_path(pa->spec, "selector", "matchLabels", NULL);
}

static const char *pa_mode(const mp__res *pa) {
  const char *m = mp_yaml_str(mp_yaml_path(pa->spec, "mtls", "mode", NULL));
  return m && strcmp(m, "UNSET") != 0 ? m : NULL;
}

/* The selector-less PeerAuthentication of a namespace that sets a mode, or NULL. */
static const mp__res *scope_policy(const mp__ctx *cx, const char *ns) {
  size_t n;
  const mp__res **pas = mp__list(cx, MP__K_PEERAUTHENTICATION, &n);
  for (size_t i = 0; i < n; i++)
    if (strcmp(pas[i]->ns, ns) == 0 && mp_yaml_npairs(pa_selector(pas[i])) == 0 && pa_mode(pas[i]))
      return pas[i];
  return NULL;
}

/* The policy deciding mTLS for a namespace: its own, else the mesh's. NULL: nobody set
 * anything, which Istio runs as PERMISSIVE. */
static const mp__res *effective_policy(const mp__ctx *cx, const char *ns) {
  const mp__res *p = ns ? scope_policy(cx, ns) : NULL;
  return p ? p : scope_policy(cx, ROOT_NS);
}

typedef enum scope { SCOPE_MESH, SCOPE_NAMESPACE, SCOPE_HOST, SCOPE_EXTERNAL } scope;

/* What a DestinationRule host covers. *ns receives the namespace for the two narrower
 * scopes (scratch memory). */
static scope dr_scope(mp__ctx *cx, const mp__res *dr, const char *host, const char **ns) {
  static const char *const mesh[] = {"*", "*.local", "*.cluster.local", "*.svc.cluster.local"};
  for (size_t i = 0; i < MP_ARRAY_LEN(mesh); i++)
    if (strcmp(host, mesh[i]) == 0) return SCOPE_MESH;
  const char *fqdn = mp__fqdn(cx, dr->ns, host);
  const char *suffix = ".svc.cluster.local";
  size_t lf = strlen(fqdn), ls = strlen(suffix);
  if (lf <= ls || strcmp(fqdn + lf - ls, suffix) != 0) return SCOPE_EXTERNAL;
  /* name.ns.svc.cluster.local or *.ns.svc.cluster.local */
  const char *dot = strchr(fqdn, '.');
  if (!dot || (size_t)(dot - fqdn) >= lf - ls) return SCOPE_EXTERNAL;
  *ns = mp_arena_strndup(cx->scratch, dot + 1, (size_t)(fqdn + lf - ls - dot - 1));
  if (strchr(*ns, '.') || !**ns) return SCOPE_EXTERNAL;
  return fqdn[0] == '*' ? SCOPE_NAMESPACE : SCOPE_HOST;
}

/* A workload-level STRICT policy in ns that selects a pod behind the Service. */
static const mp__res *strict_workload_policy(mp__ctx *cx, const char *ns, const char *fqdn) {
  const mp__res *svc = mp__service_for_fqdn(cx, fqdn);
  const mp_yaml_node *ssel = svc ? mp_yaml_get(svc->spec, "selector") : NULL;
  if (mp_yaml_npairs(ssel) == 0) return NULL;
  size_t n;
  const mp__res **pas = mp__list(cx, MP__K_PEERAUTHENTICATION, &n);
  for (size_t i = 0; i < n; i++) {
    const mp_yaml_node *sel = pa_selector(pas[i]);
    const char *m = pa_mode(pas[i]);
    if (strcmp(pas[i]->ns, ns) != 0 || mp_yaml_npairs(sel) == 0 || !m || strcmp(m, "STRICT") != 0)
      continue;
    for (size_t w = 0; w < cx->nworkloads; w++) {
      const mp__res *wl = cx->workloads[w];
      if (strcmp(wl->ns, ns) == 0 && mp__labels_match(ssel, wl->pod_labels) &&
          mp__labels_match(sel, wl->pod_labels))
        return pas[i];
    }
  }
  return NULL;
}

void mp__rule_mtls_strict_vs_disable(mp__ctx *cx) {
  size_t n;
  const mp__res **drs = mp__list(cx, MP__K_DESTINATIONRULE, &n);
  for (size_t i = 0; i < n; i++) {
    const mp_yaml_node *mode = mp_yaml_path(drs[i]->spec, "trafficPolicy", "tls", "mode", NULL);
    const char *host = mp_yaml_gets(drs[i]->spec, "host");
    if (!host || !mp_yaml_str(mode) || strcmp(mode->str, "DISABLE") != 0) continue;
    const char *ns = NULL;
    scope sc = dr_scope(cx, drs[i], host, &ns);
    if (sc == SCOPE_EXTERNAL) continue;
    const mp__res *pa = sc == SCOPE_MESH ? scope_policy(cx, ROOT_NS) : effective_policy(cx, ns);
    if (pa && strcmp(pa_mode(pa), "STRICT") != 0) pa = NULL;
    if (!pa && sc == SCOPE_HOST)
      pa = strict_workload_policy(cx, ns, mp__fqdn(cx, drs[i]->ns, host));
    if (!pa) continue;
    mp__report(cx, drs[i], mode->line,
               "This DestinationRule turns TLS off for %s, but PeerAuthentication %s/%s requires "
               "mTLS (STRICT) there, so the servers refuse these requests; use ISTIO_MUTUAL or "
               "make the policy PERMISSIVE",
               host, pa->ns, pa->name);
  }
}

void mp__rule_mtls_mutual_without_pa(mp__ctx *cx) {
  size_t n;
  const mp__res **drs = mp__list(cx, MP__K_DESTINATIONRULE, &n);
  for (size_t i = 0; i < n; i++) {
    const mp_yaml_node *mode = mp_yaml_path(drs[i]->spec, "trafficPolicy", "tls", "mode", NULL);
    const char *host = mp_yaml_gets(drs[i]->spec, "host");
    if (!host || !mp_yaml_str(mode) || strcmp(mode->str, "ISTIO_MUTUAL") != 0) continue;
    const char *ns = NULL;
    scope sc = dr_scope(cx, drs[i], host, &ns);
    if (sc == SCOPE_EXTERNAL) continue;
    const mp__res *pa = sc == SCOPE_MESH ? scope_policy(cx, ROOT_NS) : effective_policy(cx, ns);
    const char *m = pa ? pa_mode(pa) : NULL;
    if (m && (strcmp(m, "STRICT") == 0 || strcmp(m, "PERMISSIVE") == 0)) continue;
    /* A rule for one host is fine under the implicit PERMISSIVE default; the wide ones,
     * as Kiali asks, want the policy spelled out. */
    if (sc == SCOPE_HOST && !pa) continue;
    if (pa)
      mp__report(cx, drs[i], mode->line,
                 "This DestinationRule sends ISTIO_MUTUAL traffic to %s, but PeerAuthentication "
                 "%s/%s sets mTLS to %s there; enable mTLS (STRICT or PERMISSIVE) or drop the "
                 "TLS setting",
                 host, pa->ns, pa->name, m);
    else
      mp__report(cx, drs[i], mode->line,
                 "This %s DestinationRule sends ISTIO_MUTUAL traffic to %s, but no %s "
                 "PeerAuthentication enables mTLS; add one with mode STRICT or PERMISSIVE",
                 sc == SCOPE_MESH ? "mesh-wide" : "namespace-wide", host,
                 sc == SCOPE_MESH ? "mesh-wide (istio-system)" : "namespace or mesh-wide");
  }
}

void mp__rule_pa_selector(mp__ctx *cx) {
  size_t n;
  const mp__res **pas = mp__list(cx, MP__K_PEERAUTHENTICATION, &n);
  for (size_t i = 0; i < n; i++) {
    const mp_yaml_node *sel = pa_selector(pas[i]);
    if (mp_yaml_npairs(sel) == 0 || mp__count_selected(cx, pas[i]->ns, sel) > 0) continue;
    mp__report(cx, pas[i], sel->line,
               "No workload in namespace %s carries the labels %s this PeerAuthentication "
               "selects, so it changes nothing",
               pas[i]->ns, mp__selector_str(cx, sel));
  }
}

void mp__rule_pa_port_level_selector(mp__ctx *cx) {
  size_t n;
  const mp__res **pas = mp__list(cx, MP__K_PEERAUTHENTICATION, &n);
  for (size_t i = 0; i < n; i++) {
    const mp_yaml_node *plm = mp_yaml_get(pas[i]->spec, "portLevelMtls");
    if (mp_yaml_npairs(plm) == 0 || mp_yaml_npairs(pa_selector(pas[i])) > 0) continue;
    mp__report(cx, pas[i], plm->line,
               "portLevelMtls needs a workload selector: Istio rejects port-level mTLS on a "
               "namespace- or mesh-wide PeerAuthentication");
  }
}
