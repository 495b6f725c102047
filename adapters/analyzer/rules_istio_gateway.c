/* Istio Gateway and DestinationRule rules: gateway selectors that match no workload
 * (IST0101), conflicting gateways (IST0145), gateway ports missing from the gateway's
 * Service (IST0162), TLS without server verification (IST0128, IST0129) and subsets that
 * select no pods (IST0173). */
#include <string.h>
#include <strings.h>

#include "analyzer_internal.h"

/* ---- Gateways -------------------------------------------------------------------------- */

void mp__rule_ist0101_gateway_selector(mp__ctx *cx) {
  size_t n;
  const mp__res **gws = mp__list(cx, MP__K_GATEWAY, &n);
  for (size_t i = 0; i < n; i++) {
    const mp_yaml_node *sel = mp_yaml_get(gws[i]->spec, "selector");
    /* Gateways select workloads in every namespace, as Istio does by default. */
    if (mp__count_selected(cx, NULL, sel) > 0) continue;
    mp__report(cx, gws[i], mp_yaml_line(sel, 0),
               "No workload carries the labels %s that this Gateway selects, so no proxy "
               "serves it",
               mp_yaml_npairs(sel) ? mp__selector_str(cx, sel) : "(any)");
  }
}

static bool server_hosts_overlap(const mp_yaml_node *a, const mp_yaml_node *b) {
  for (size_t i = 0; i < mp_yaml_len(a); i++)
    for (size_t j = 0; j < mp_yaml_len(b); j++)
      if (mp__hosts_match(mp_yaml_str(mp_yaml_at(a, i)), mp_yaml_str(mp_yaml_at(b, j))))
        return true;
  return false;
}

void mp__rule_ist0145(mp__ctx *cx) {
  size_t n;
  const mp__res **gws = mp__list(cx, MP__K_GATEWAY, &n);
  for (size_t i = 0; i < n; i++) {
    const char *sel = mp__selector_str(cx, mp_yaml_get(gws[i]->spec, "selector"));
    const mp_yaml_node *servers = mp_yaml_get(gws[i]->spec, "servers");
    for (size_t s = 0; s < mp_yaml_len(servers); s++) {
      const mp_yaml_node *srv = mp_yaml_at(servers, s);
      const mp_yaml_node *pn = mp_yaml_path(srv, "port", "number", NULL);
      long port;
      if (!mp_yaml_int(pn, &port)) continue;
      mp_buf others = {0};
      for (size_t j = 0; j < n; j++) {
        if (j == i || strcmp(sel, mp__selector_str(cx, mp_yaml_get(gws[j]->spec, "selector"))) != 0)
          continue;
        const mp_yaml_node *theirs = mp_yaml_get(gws[j]->spec, "servers");
        for (size_t t = 0; t < mp_yaml_len(theirs); t++) {
          long p2;
          if (!mp_yaml_int(mp_yaml_path(mp_yaml_at(theirs, t), "port", "number", NULL), &p2) ||
              p2 != port)
            continue;
          if (!server_hosts_overlap(mp_yaml_get(srv, "hosts"),
                                    mp_yaml_get(mp_yaml_at(theirs, t), "hosts")))
            continue;
          mp_buf_printf(&others, "%s%s/%s", others.len ? ", " : "", gws[j]->ns, gws[j]->name);
          break;
        }
      }
      if (others.len) {
        mp_buf hosts = {0};
        const mp_yaml_node *hs = mp_yaml_get(srv, "hosts");
        for (size_t h = 0; h < mp_yaml_len(hs); h++)
          mp_buf_printf(&hosts, "%s%s", hosts.len ? ", " : "",
                        mp_yaml_str(mp_yaml_at(hs, h)) ? mp_yaml_str(mp_yaml_at(hs, h)) : "?");
        mp__report(cx, gws[i], pn->line,
                   "Port %ld for hosts [%s] on workloads %s is also claimed by Gateway %s; the "
                   "same selector, port and host must be defined once",
                   port, hosts.data ? hosts.data : "", *sel ? sel : "(any)", others.data);
        mp_buf_free(&hosts);
      }
      mp_buf_free(&others);
    }
  }
}

static bool service_has_port(const mp__res *svc, long port) {
  const mp_yaml_node *ports = mp_yaml_get(svc->spec, "ports");
  for (size_t i = 0; i < mp_yaml_len(ports); i++) {
    const mp_yaml_node *p = mp_yaml_at(ports, i);
    const char *proto = mp_yaml_gets(p, "protocol");
    long have;
    if (proto && strcasecmp(proto, "TCP") != 0) continue; /* unset means TCP */
    if (mp_yaml_int(mp_yaml_get(p, "port"), &have) && have == port) return true;
  }
  return false;
}

/* Whether any Service in front of a workload the gateway selects exposes `port`. */
static bool gateway_port_exposed(const mp__ctx *cx, const mp_yaml_node *sel, long port) {
  size_t n;
  const mp__res **svcs = mp__list(cx, MP__K_SERVICE, &n);
  for (size_t w = 0; w < cx->nworkloads; w++) {
    const mp__res *pod = cx->workloads[w];
    if (!mp__labels_match(sel, pod->pod_labels)) continue;
    for (size_t i = 0; i < n; i++) {
      const mp_yaml_node *ssel = mp_yaml_get(svcs[i]->spec, "selector");
      if (strcmp(svcs[i]->ns, pod->ns) != 0 || mp_yaml_npairs(ssel) == 0) continue;
      if (mp__labels_match(ssel, pod->pod_labels) && service_has_port(svcs[i], port)) return true;
    }
  }
  return false;
}

void mp__rule_ist0162(mp__ctx *cx) {
  size_t n;
  const mp__res **gws = mp__list(cx, MP__K_GATEWAY, &n);
  for (size_t i = 0; i < n; i++) {
    const mp_yaml_node *sel = mp_yaml_get(gws[i]->spec, "selector");
    if (mp__count_selected(cx, NULL, sel) == 0) continue; /* IST0101 reports that */
    const mp_yaml_node *servers = mp_yaml_get(gws[i]->spec, "servers");
    for (size_t s = 0; s < mp_yaml_len(servers); s++) {
      const mp_yaml_node *pn = mp_yaml_path(mp_yaml_at(servers, s), "port", "number", NULL);
      long port;
      if (!mp_yaml_int(pn, &port) || gateway_port_exposed(cx, sel, port)) continue;
      mp__report(cx, gws[i], pn->line,
                 "Port %ld is not exposed by any Service in front of the gateway workloads "
                 "(%s); traffic to it through the Service cannot arrive",
                 port, mp_yaml_npairs(sel) ? mp__selector_str(cx, sel) : "(any)");
    }
  }
}

/* ---- DestinationRule TLS ------------------------------------------------------------------ */

/* SIMPLE or MUTUAL origination that checks nothing: no caCertificates, no credentialName
 * (which carries a ca.crt), and no explicit insecureSkipVerify. */
static const mp_yaml_node *unverified_tls(const mp_yaml_node *tls) {
  const mp_yaml_node *mode = mp_yaml_get(tls, "mode");
  const char *m = mp_yaml_str(mode);
  if (!m || (strcmp(m, "SIMPLE") != 0 && strcmp(m, "MUTUAL") != 0)) return NULL;
  const char *ca = mp_yaml_gets(tls, "caCertificates"), *cred = mp_yaml_gets(tls, "credentialName");
  if ((ca && *ca) || (cred && *cred) || mp_yaml_true(mp_yaml_get(tls, "insecureSkipVerify")))
    return NULL;
  return mode;
}

void mp__rule_ist0128(mp__ctx *cx) {
  size_t n;
  const mp__res **drs = mp__list(cx, MP__K_DESTINATIONRULE, &n);
  for (size_t i = 0; i < n; i++) {
    const mp_yaml_node *mode =
        unverified_tls(mp_yaml_path(drs[i]->spec, "trafficPolicy", "tls", NULL));
    if (!mode) continue;
    const char *host = mp_yaml_gets(drs[i]->spec, "host");
    mp__report(cx, drs[i], mode->line,
               "TLS mode %s to host %s has no caCertificates, so the server's certificate is "
               "never verified; add caCertificates (or credentialName)",
               mode->str, host ? host : "?");
  }
}

void mp__rule_ist0129(mp__ctx *cx) {
  size_t n;
  const mp__res **drs = mp__list(cx, MP__K_DESTINATIONRULE, &n);
  for (size_t i = 0; i < n; i++) {
    const mp_yaml_node *pls =
        mp_yaml_path(drs[i]->spec, "trafficPolicy", "portLevelSettings", NULL);
    for (size_t j = 0; j < mp_yaml_len(pls); j++) {
      const mp_yaml_node *mode = unverified_tls(mp_yaml_get(mp_yaml_at(pls, j), "tls"));
      if (!mode) continue;
      const char *host = mp_yaml_gets(drs[i]->spec, "host");
      const char *port = mp_yaml_str(mp_yaml_path(mp_yaml_at(pls, j), "port", "number", NULL));
      mp__report(cx, drs[i], mode->line,
                 "TLS mode %s to host %s port %s has no caCertificates, so the server's "
                 "certificate is never verified on that port",
                 mode->str, host ? host : "?", port ? port : "?");
    }
  }
}

/* ---- IST0173 ------------------------------------------------------------------------------ */

static bool subset_selects(const mp__ctx *cx, const char *ns, const mp_yaml_node *base,
                           const mp_yaml_node *labels) {
  for (size_t w = 0; w < cx->nworkloads; w++) {
    const mp__res *pod = cx->workloads[w];
    if (strcmp(pod->ns, ns) != 0) continue;
    if (mp__labels_match(base, pod->pod_labels) && mp__labels_match(labels, pod->pod_labels))
      return true;
  }
  return false;
}

void mp__rule_ist0173(mp__ctx *cx) {
  size_t n;
  const mp__res **drs = mp__list(cx, MP__K_DESTINATIONRULE, &n);
  for (size_t i = 0; i < n; i++) {
    const mp_yaml_node *subsets = mp_yaml_get(drs[i]->spec, "subsets");
    const char *host = mp_yaml_gets(drs[i]->spec, "host");
    if (!host || mp_yaml_len(subsets) == 0) continue;
    /* Pods behind the host: a Service's selector, or a ServiceEntry's workloadSelector.
     * Unknown hosts and external ServiceEntries have no pods to look at. */
    const char *fqdn = mp__fqdn(cx, drs[i]->ns, host);
    const mp__res *target = mp__service_for_fqdn(cx, fqdn);
    const mp_yaml_node *base = NULL;
    if (target) {
      base = mp_yaml_get(target->spec, "selector");
    } else {
      target = mp__serviceentry_for(cx, drs[i]->ns, fqdn);
      base = mp_yaml_path(target ? target->spec : NULL, "workloadSelector", "labels", NULL);
      if (!base) continue;
    }
    for (size_t j = 0; j < mp_yaml_len(subsets); j++) {
      const mp_yaml_node *sub = mp_yaml_at(subsets, j);
      const mp_yaml_node *labels = mp_yaml_get(sub, "labels");
      if (subset_selects(cx, target->ns, base, labels)) continue;
      const mp_yaml_node *name = mp_yaml_get(sub, "name");
      mp__report(cx, drs[i], mp_yaml_line(name, sub->line),
                 "Subset %s (labels %s) selects no pod behind %s %s/%s; requests routed to it "
                 "fail with 503 UH (no healthy upstream)",
                 mp_yaml_str(name) ? mp_yaml_str(name) : "?",
                 mp_yaml_npairs(labels) ? mp__selector_str(cx, labels) : "(none)",
                 target->kind_name, target->ns, target->name);
    }
  }
}
