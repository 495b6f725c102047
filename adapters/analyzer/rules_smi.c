/* SMI (Service Mesh Interface) rules: TrafficSplit root service, backends and weights
 * (MP4001..MP4007) and TrafficTarget destination, rules and sources (MP4010..MP4014). */
#include <stdlib.h>
#include <string.h>

#include "analyzer_internal.h"

/* ---- TrafficSplit ------------------------------------------------------------------------ */

/* "web", "web.ns" or "web.ns.svc.cluster.local": the Service's name and namespace. */
static void split_service_ref(mp__ctx *cx, const mp__res *ts, const char *ref, const char **name,
                              const char **ns) {
  const char *dot = strchr(ref, '.');
  *ns = ts->ns;
  if (!dot) {
    *name = ref;
    return;
  }
  *name = mp_arena_strndup(cx->scratch, ref, (size_t)(dot - ref));
  const char *rest = dot + 1, *dot2 = strchr(rest, '.');
  *ns = dot2 ? mp_arena_strndup(cx->scratch, rest, (size_t)(dot2 - rest)) : rest;
}

/* Something else with that name in that namespace, for a better message. */
static const mp__res *same_name(const mp__ctx *cx, const char *ns, const char *name) {
  for (size_t i = 0; i < cx->nall; i++)
    if (cx->all[i]->kind != MP__K_SERVICE && strcmp(cx->all[i]->ns, ns) == 0 &&
        strcmp(cx->all[i]->name, name) == 0)
      return cx->all[i];
  return NULL;
}

static void report_missing_service(mp__ctx *cx, const mp__res *ts, const mp_yaml_node *at,
                                   const char *what, const char *ref) {
  const char *name, *ns;
  split_service_ref(cx, ts, ref, &name, &ns);
  if (mp__find(cx, MP__K_SERVICE, ns, name)) return;
  const mp__res *other = same_name(cx, ns, name);
  if (other)
    mp__report(cx, ts, at->line,
               "%s \"%s\" is a %s, not a Service; SMI splits traffic between Services", what, ref,
               other->kind_name);
  else
    mp__report(cx, ts, at->line, "%s \"%s\" names no Service in namespace %s", what, ref, ns);
}

void mp__rule_ts_no_service(mp__ctx *cx) {
  size_t n;
  const mp__res **tss = mp__list(cx, MP__K_TRAFFICSPLIT, &n);
  for (size_t i = 0; i < n; i++) {
    const char *svc = mp_yaml_gets(tss[i]->spec, "service");
    if (!svc || !*svc)
      mp__report(cx, tss[i], mp_yaml_line(tss[i]->spec, 0),
                 "The TrafficSplit has no spec.service: name the root Service clients call");
  }
}

void mp__rule_ts_service_missing(mp__ctx *cx) {
  size_t n;
  const mp__res **tss = mp__list(cx, MP__K_TRAFFICSPLIT, &n);
  for (size_t i = 0; i < n; i++) {
    const mp_yaml_node *svc = mp_yaml_get(tss[i]->spec, "service");
    if (mp_yaml_str(svc) && *svc->str)
      report_missing_service(cx, tss[i], svc, "Root service", svc->str);
  }
}

void mp__rule_ts_no_backends(mp__ctx *cx) {
  size_t n;
  const mp__res **tss = mp__list(cx, MP__K_TRAFFICSPLIT, &n);
  for (size_t i = 0; i < n; i++)
    if (mp_yaml_len(mp_yaml_get(tss[i]->spec, "backends")) == 0)
      mp__report(cx, tss[i], mp_yaml_line(mp_yaml_get(tss[i]->spec, "backends"), 0),
                 "The TrafficSplit has no backends, so its traffic has nowhere to go");
}

void mp__rule_ts_backend_missing(mp__ctx *cx) {
  size_t n;
  const mp__res **tss = mp__list(cx, MP__K_TRAFFICSPLIT, &n);
  for (size_t i = 0; i < n; i++) {
    const mp_yaml_node *bs = mp_yaml_get(tss[i]->spec, "backends");
    for (size_t j = 0; j < mp_yaml_len(bs); j++) {
      const mp_yaml_node *b = mp_yaml_at(bs, j), *svc = mp_yaml_get(b, "service");
      if (mp_yaml_str(svc) && *svc->str)
        report_missing_service(cx, tss[i], svc, "Backend", svc->str);
      else
        mp__report(cx, tss[i], b->line, "Backend %zu has no service", j + 1);
    }
  }
}

/* SMI weights: integers since v1alpha2; v1alpha1 wrote quantities such as "500m". */
static bool weight_of(const mp_yaml_node *w, double *out) {
  long v;
  if (mp_yaml_int(w, &v)) {
    *out = (double)v;
    return true;
  }
  const char *s = mp_yaml_str(w);
  if (!s || !*s) return false;
  char *end;
  double d = strtod(s, &end);
  if (end == s) return false;
  if (*end == 'm' && end[1] == '\0')
    d /= 1000;
  else if (*end != '\0')
    return false;
  *out = d;
  return true;
}

void mp__rule_ts_bad_weight(mp__ctx *cx) {
  size_t n;
  const mp__res **tss = mp__list(cx, MP__K_TRAFFICSPLIT, &n);
  for (size_t i = 0; i < n; i++) {
    const mp_yaml_node *bs = mp_yaml_get(tss[i]->spec, "backends");
    for (size_t j = 0; j < mp_yaml_len(bs); j++) {
      const mp_yaml_node *b = mp_yaml_at(bs, j), *w = mp_yaml_get(b, "weight");
      const char *svc = mp_yaml_gets(b, "service");
      double d;
      if (!w || w->type == MP_YAML_NULL)
        mp__report(cx, tss[i], b->line, "Backend %s has no weight", svc ? svc : "?");
      else if (!weight_of(w, &d))
        mp__report(cx, tss[i], w->line, "Backend %s has weight \"%s\", which is not a number",
                   svc ? svc : "?", mp_yaml_str(w) ? w->str : "");
      else if (d < 0)
        mp__report(cx, tss[i], w->line, "Backend %s has a negative weight (%s)", svc ? svc : "?",
                   w->str);
    }
  }
}

/* Sums the valid weights; false when there are none to judge. */
static bool total_weight(const mp_yaml_node *bs, double *sum) {
  size_t valid = 0;
  *sum = 0;
  for (size_t j = 0; j < mp_yaml_len(bs); j++) {
    double d;
    if (weight_of(mp_yaml_get(mp_yaml_at(bs, j), "weight"), &d) && d >= 0) {
      *sum += d;
      valid++;
    }
  }
  return valid > 0;
}

void mp__rule_ts_zero_total(mp__ctx *cx) {
  size_t n;
  const mp__res **tss = mp__list(cx, MP__K_TRAFFICSPLIT, &n);
  for (size_t i = 0; i < n; i++) {
    const mp_yaml_node *bs = mp_yaml_get(tss[i]->spec, "backends");
    double sum;
    if (total_weight(bs, &sum) && sum == 0)
      mp__report(cx, tss[i], bs->line,
                 "Every backend has weight 0, so no backend can receive the traffic");
  }
}

void mp__rule_ts_zero_backend(mp__ctx *cx) {
  size_t n;
  const mp__res **tss = mp__list(cx, MP__K_TRAFFICSPLIT, &n);
  for (size_t i = 0; i < n; i++) {
    const mp_yaml_node *bs = mp_yaml_get(tss[i]->spec, "backends");
    double sum;
    if (!total_weight(bs, &sum) || sum == 0) continue; /* MP4006 covers all-zero */
    for (size_t j = 0; j < mp_yaml_len(bs); j++) {
      const mp_yaml_node *w = mp_yaml_get(mp_yaml_at(bs, j), "weight");
      double d;
      if (weight_of(w, &d) && d == 0)
        mp__report(cx, tss[i], w->line, "Backend %s has weight 0 and receives no traffic",
                   mp_yaml_gets(mp_yaml_at(bs, j), "service")
                       ? mp_yaml_gets(mp_yaml_at(bs, j), "service")
                       : "?");
    }
  }
}

/* ---- TrafficTarget ------------------------------------------------------------------------ */

void mp__rule_tt_destination(mp__ctx *cx) {
  size_t n;
  const mp__res **tts = mp__list(cx, MP__K_TRAFFICTARGET, &n);
  for (size_t i = 0; i < n; i++) {
    const mp_yaml_node *d = mp_yaml_get(tts[i]->spec, "destination");
    const char *name = mp_yaml_gets(d, "name");
    if (!mp_yaml_is_map(d))
      mp__report(cx, tts[i], mp_yaml_line(tts[i]->spec, 0),
                 "The TrafficTarget has no destination: name the ServiceAccount it grants "
                 "access to");
    else if (!name || !*name)
      mp__report(cx, tts[i], d->line, "The TrafficTarget destination names no ServiceAccount");
  }
}

void mp__rule_tt_rules(mp__ctx *cx) {
  size_t n;
  const mp__res **tts = mp__list(cx, MP__K_TRAFFICTARGET, &n);
  for (size_t i = 0; i < n; i++)
    if (mp_yaml_len(mp_yaml_get(tts[i]->spec, "rules")) == 0)
      mp__report(cx, tts[i], mp_yaml_line(mp_yaml_get(tts[i]->spec, "rules"), 0),
                 "The TrafficTarget has no rules, so it allows no traffic; reference an "
                 "HTTPRouteGroup, TCPRoute or UDPRoute");
}

void mp__rule_tt_sources(mp__ctx *cx) {
  size_t n;
  const mp__res **tts = mp__list(cx, MP__K_TRAFFICTARGET, &n);
  for (size_t i = 0; i < n; i++)
    if (mp_yaml_len(mp_yaml_get(tts[i]->spec, "sources")) == 0)
      mp__report(cx, tts[i], mp_yaml_line(mp_yaml_get(tts[i]->spec, "sources"), 0),
                 "The TrafficTarget has no sources, so no client is allowed; list the "
                 "ServiceAccounts that may call the destination");
}

static void check_subject(mp__ctx *cx, const mp__res *tt, const mp_yaml_node *subject,
                          const char *role) {
  const mp_yaml_node *kind = mp_yaml_get(subject, "kind");
  if (!mp_yaml_is_map(subject) || (mp_yaml_str(kind) && strcmp(kind->str, "ServiceAccount") == 0))
    return;
  mp__report(cx, tt, mp_yaml_line(kind, subject->line),
             "The %s has kind \"%s\"; SMI access control only knows ServiceAccount", role,
             mp_yaml_str(kind) ? kind->str : "");
}

void mp__rule_tt_subject_kind(mp__ctx *cx) {
  size_t n;
  const mp__res **tts = mp__list(cx, MP__K_TRAFFICTARGET, &n);
  for (size_t i = 0; i < n; i++) {
    check_subject(cx, tts[i], mp_yaml_get(tts[i]->spec, "destination"), "destination");
    const mp_yaml_node *srcs = mp_yaml_get(tts[i]->spec, "sources");
    for (size_t j = 0; j < mp_yaml_len(srcs); j++)
      check_subject(cx, tts[i], mp_yaml_at(srcs, j), "source");
  }
}

void mp__rule_tt_route_missing(mp__ctx *cx) {
  static const struct {
    const char *kind;
    mp__kind k;
  } routes[] = {{"HTTPRouteGroup", MP__K_HTTPROUTEGROUP},
                {"TCPRoute", MP__K_TCPROUTE},
                {"UDPRoute", MP__K_UDPROUTE}};
  size_t n;
  const mp__res **tts = mp__list(cx, MP__K_TRAFFICTARGET, &n);
  for (size_t i = 0; i < n; i++) {
    const mp_yaml_node *rules = mp_yaml_get(tts[i]->spec, "rules");
    for (size_t j = 0; j < mp_yaml_len(rules); j++) {
      const mp_yaml_node *rule = mp_yaml_at(rules, j);
      const char *kind = mp_yaml_gets(rule, "kind"), *name = mp_yaml_gets(rule, "name");
      if (!kind || !name) continue;
      for (size_t k = 0; k < MP_ARRAY_LEN(routes); k++) {
        if (strcmp(kind, routes[k].kind) != 0) continue;
        const mp__res *route = mp__find(cx, routes[k].k, tts[i]->ns, name);
        if (!route) {
          mp__report(cx, tts[i], rule->line, "Rule references %s %s/%s, which does not exist", kind,
                     tts[i]->ns, name);
          break;
        }
        /* Named matches must exist in an HTTPRouteGroup. */
        const mp_yaml_node *matches = mp_yaml_get(rule, "matches");
        const mp_yaml_node *defined = mp_yaml_get(route->spec, "matches");
        for (size_t m = 0; routes[k].k == MP__K_HTTPROUTEGROUP && m < mp_yaml_len(matches); m++) {
          const char *want = mp_yaml_str(mp_yaml_at(matches, m));
          bool found = false;
          for (size_t d = 0; want && d < mp_yaml_len(defined) && !found; d++) {
            const char *have = mp_yaml_gets(mp_yaml_at(defined, d), "name");
            found = have && strcmp(have, want) == 0;
          }
          if (want && !found)
            mp__report(cx, tts[i], mp_yaml_at(matches, m)->line,
                       "Match \"%s\" is not defined in HTTPRouteGroup %s/%s", want, route->ns,
                       route->name);
        }
        break;
      }
    }
  }
}
