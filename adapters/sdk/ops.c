/* Platform dispatch and the ready-made handlers every adapter can list: custom YAML,
 * sample applications, analyze, SMI conformance; plus template rendering. */
#include <stdatomic.h>
#include <string.h>

#include "internal.h"

/* ---- platform dispatch ------------------------------------------------------------------- */

mp_status mp__platform_state(mp_adapter_ctx *ctx, void **state) {
  const mp_adapter_platform *p = ctx->rt->platform;
  if (ctx->pbegun == 0) {
    ctx->pbegun = 1;
    ctx->pbegin_status = MP_OK;
    if (p->begin) {
      ctx->pbegin_status = p->begin(ctx, &ctx->pstate);
      if (ctx->pbegin_status != MP_OK) ctx->pbegun = -1;
    }
  }
  *state = ctx->pstate;
  return ctx->pbegin_status;
}

static mp_status unsupported(mp_adapter_ctx *ctx, const char *what) {
  const char *pname = ctx->rt->platform->name ? ctx->rt->platform->name : "?";
  char *summary = mp_asprintf("%s is not possible on the %s platform", what, pname);
  char *cause =
      mp_asprintf("The %s platform this adapter runs on has no implementation of %s.", pname, what);
  mp_status st =
      mp_adapter_problem(ctx, MP_ERR_INVALID, MP_ADAPTER_ERR_UNSUPPORTED, summary, NULL, cause,
                         "Use an adapter on a platform that supports it, or an "
                         "operation this adapter lists in SupportedOperations.");
  mp_free(summary);
  mp_free(cause);
  return st;
}

/* Resolves the platform state; returns non-OK when the call cannot proceed. */
static mp_status prepare(mp_adapter_ctx *ctx, bool hook_present, const char *what, void **state) {
  if (mp_adapter_cancelled(ctx)) {
    bool timeout = !atomic_load(&ctx->cancelled);
    return timeout ? mp_adapter_failf(ctx, MP_ERR_TIMEOUT, MP_ADAPTER_ERR_TIMEOUT,
                                      "The operation took longer than the adapter's --op-timeout.",
                                      "Raise --op-timeout or look at why the cluster is slow.",
                                      "operation timed out before %s", what)
                   : mp_adapter_failf(ctx, MP_ERR_CANCELLED, MP_ADAPTER_ERR_CANCELLED,
                                      "The adapter received SIGTERM or SIGINT.",
                                      "Send the operation again once the adapter is back.",
                                      "operation cancelled before %s", what);
  }
  if (!hook_present) return unsupported(ctx, what);
  return mp__platform_state(ctx, state);
}

mp_status mp_adapter_apply(mp_adapter_ctx *ctx, const char *yaml, const char *ns, bool del) {
  void *st;
  const mp_adapter_platform *p = ctx->rt->platform;
  mp_status s = prepare(ctx, p->apply != NULL, "applying manifests", &st);
  return s != MP_OK ? s : p->apply(ctx, st, yaml ? yaml : "", ns, del);
}

mp_status mp_adapter_helm(mp_adapter_ctx *ctx, const mp_adapter_chart *chart, bool del) {
  void *st;
  const mp_adapter_platform *p = ctx->rt->platform;
  mp_status s = prepare(ctx, p->helm != NULL, "installing Helm charts", &st);
  return s != MP_OK ? s : p->helm(ctx, st, chart, del);
}

mp_status mp_adapter_run_tool(mp_adapter_ctx *ctx, const char *const *argv,
                              mp_adapter_tool_mode mode, const char *ns) {
  void *st;
  const mp_adapter_platform *p = ctx->rt->platform;
  mp_status s = prepare(ctx, p->run_tool != NULL, "running mesh tools", &st);
  return s != MP_OK ? s : p->run_tool(ctx, st, argv, mode, ns);
}

bool mp_adapter_have_tool(mp_adapter_ctx *ctx, const char *tool) {
  void *st;
  const mp_adapter_platform *p = ctx->rt->platform;
  if (!p->have_tool || mp__platform_state(ctx, &st) != MP_OK) return false;
  return p->have_tool(ctx, st, tool);
}

mp_status mp_adapter_snapshot(mp_adapter_ctx *ctx, const char *ns, mp_buf *out) {
  void *st;
  const mp_adapter_platform *p = ctx->rt->platform;
  mp_status s = prepare(ctx, p->snapshot != NULL, "reading the live configuration", &st);
  return s != MP_OK ? s : p->snapshot(ctx, st, ns, out);
}

mp_status mp_adapter_smi_conformance(mp_adapter_ctx *ctx) {
  void *st;
  const mp_adapter_platform *p = ctx->rt->platform;
  mp_status s = prepare(ctx, p->smi_conformance != NULL, "SMI conformance", &st);
  return s != MP_OK ? s : p->smi_conformance(ctx, st);
}

/* ---- ready-made handlers ------------------------------------------------------------------ */

mp_status mp_adapter_op_sample(mp_adapter_ctx *ctx) {
  const mp_adapter_sample *s = mp_adapter_op_arg(ctx);
  const mp_adapter_request *r = mp_adapter_req(ctx);
  mp_buf y = {0};
  if (!s || mp_adapter_render_sample(s, r->ns, &y) != MP_OK) {
    mp_buf_free(&y);
    return mp_adapter_failf(ctx, MP_ERR_INTERNAL, MP_ADAPTER_ERR_INTERNAL,
                            "The operation table names a sample application the SDK lacks.",
                            "Fix the adapter's table: use one of mp_adapter_sample_*.",
                            "unknown sample application %s", s && s->app ? s->app : "(none)");
  }
  mp_adapter_infof(ctx, "%s the %s sample application %s namespace %s",
                   r->delete_op ? "Removing" : "Deploying", s->app, r->delete_op ? "from" : "into",
                   r->ns);
  mp_status st = mp_adapter_apply(ctx, y.data, r->ns, r->delete_op);
  if (st == MP_OK) {
    mp__ysum sum = {0};
    mp_buf d = {0};
    if (mp__yaml_summary(y.data, y.len, false, &sum) == MP_OK) mp__ysum_describe(&sum, 40, &d);
    char *summary = mp_asprintf("%s application %s namespace %s", s->app,
                                r->delete_op ? "removed from" : "deployed in", r->ns);
    mp_adapter_emit_event(ctx, MP_EVENT_INFO, summary, d.data, NULL, NULL, NULL);
    mp_free(summary);
    mp_buf_free(&d);
    mp__ysum_free(&sum);
  }
  mp_buf_free(&y);
  return st;
}

mp_status mp_adapter_op_custom(mp_adapter_ctx *ctx) {
  const mp_adapter_request *r = mp_adapter_req(ctx);
  mp__ysum sum = {0};
  if (!*r->custom_body)
    return mp_adapter_failf(ctx, MP_ERR_INVALID, MP_ADAPTER_ERR_INVALID,
                            "The request's custom_body is empty.",
                            "Put the Kubernetes YAML to apply in ApplyRuleRequest.custom_body.",
                            "no YAML to %s", r->delete_op ? "delete" : "apply");
  if (mp__yaml_summary(r->custom_body, strlen(r->custom_body), true, &sum) != MP_OK) {
    char *details = mp_strdup(mp_error_last());
    mp_status st = mp_adapter_problem(
        ctx, MP_ERR_INVALID, MP_ADAPTER_ERR_INVALID, "custom YAML rejected", details,
        "custom_body is not valid YAML, or a document lacks apiVersion, kind or metadata.name.",
        "Fix the YAML at the line named in the details and send it again.");
    mp_free(details);
    return st;
  }
  if (sum.n == 0) {
    mp__ysum_free(&sum);
    return mp_adapter_failf(ctx, MP_ERR_INVALID, MP_ADAPTER_ERR_INVALID,
                            "custom_body holds only empty YAML documents.",
                            "Put at least one Kubernetes object in custom_body.",
                            "no Kubernetes object in the custom YAML");
  }
  mp_buf d = {0};
  mp__ysum_describe(&sum, 40, &d);
  size_t named = 0;
  for (size_t i = 0; i < sum.n; i++) named += *sum.objs[i].ns != '\0';
  mp_status st;
  if (named == 0 || named == sum.n) {
    /* Objects without a namespace go to the request's; the others keep their own. */
    st = mp_adapter_apply(ctx, r->custom_body, named ? NULL : r->ns, r->delete_op);
  } else {
    /* Both kinds: kubectl takes one -n for all, so apply them as two manifests, the
     * request-namespace part (which holds any Namespace objects) first. */
    mp_buf plain = {0}, own = {0};
    st = mp__yaml_split_ns(r->custom_body, strlen(r->custom_body), &plain, &own);
    if (st != MP_OK) {
      mp_adapter_problem(ctx, st, MP_ADAPTER_ERR_INVALID, "custom YAML rejected", mp_error_last(),
                         NULL, "Simplify the YAML (fewer aliases, less nesting).");
    } else if (!r->delete_op) {
      st = mp_adapter_apply(ctx, plain.data, r->ns, false);
      if (st == MP_OK) st = mp_adapter_apply(ctx, own.data, NULL, false);
    } else {
      st = mp_adapter_apply(ctx, own.data, NULL, true);
      if (st == MP_OK) st = mp_adapter_apply(ctx, plain.data, r->ns, true);
    }
    mp_buf_free(&plain);
    mp_buf_free(&own);
  }
  if (st == MP_OK) {
    char *summary =
        mp_asprintf("custom YAML %s: %zu object%s in namespace %s",
                    r->delete_op ? "deleted" : "applied", sum.n, sum.n == 1 ? "" : "s", r->ns);
    mp_adapter_emit_event(ctx, MP_EVENT_INFO, summary, d.data, NULL, NULL, NULL);
    mp_free(summary);
  }
  mp_buf_free(&d);
  mp__ysum_free(&sum);
  return st;
}

static _Atomic(mp_adapter_analyzer) analyzer_fn;

void mp_adapter_set_analyzer(mp_adapter_analyzer fn) { atomic_store(&analyzer_fn, fn); }

mp_status mp_adapter_op_analyze(mp_adapter_ctx *ctx) {
  const mp_adapter_request *r = mp_adapter_req(ctx);
  mp_adapter_analyzer fn = atomic_load(&analyzer_fn);
  if (!fn)
    return mp_adapter_failf(
        ctx, MP_ERR_UNAVAILABLE, MP_ADAPTER_ERR_ANALYZER,
        "This adapter was built without the configuration analyzer (adapters/analyzer), or "
        "the analyzer was not connected with mp_adapter_set_analyzer().",
        "Rebuild meshplane with adapters/analyzer present; every adapter then analyzes "
        "configuration with it.",
        "configuration analysis is not available in this adapter build");
  mp_buf y = {0};
  char *source;
  if (*r->custom_body) {
    mp_buf_puts(&y, r->custom_body);
    source = mp_strdup("the request's YAML");
  } else {
    mp_buf raw = {0};
    mp_status st = mp_adapter_snapshot(ctx, r->ns, &raw);
    if (st == MP_OK) st = mp__yaml_split_lists(raw.data ? raw.data : "", raw.len, &y);
    mp_buf_free(&raw);
    if (st != MP_OK) {
      mp_buf_free(&y);
      if (!ctx->problem.set)
        mp_adapter_problem(ctx, st, MP_ADAPTER_ERR_INTERNAL, "cannot read the live configuration",
                           mp_error_last(), NULL, NULL);
      return st;
    }
    source = mp_asprintf("the live configuration of namespace %s", r->ns);
  }
  mp_adapter_infof(ctx, "Analyzing %s (%zu bytes)", source, y.len);
  mp_status st = fn(ctx, y.data ? y.data : "", y.len);
  if (st == MP_OK && !ctx->error_emitted) mp_adapter_infof(ctx, "Analysis of %s finished", source);
  mp_free(source);
  mp_buf_free(&y);
  return st;
}

mp_status mp_adapter_op_smi_conformance(mp_adapter_ctx *ctx) {
  const mp_adapter_platform *p = ctx->rt->platform;
  if (!p->smi_conformance) {
    const char *pname = p->name ? p->name : "?";
    char *summary = mp_asprintf("SMI conformance cannot run on the %s platform", pname);
    char *cause = mp_asprintf(
        "The SMI conformance suite needs meshplane's conformance runner, which drives sample "
        "apps and proxies on the host platform; the %s platform this adapter uses has no "
        "runner, and the adapter does not report results it did not measure.",
        pname);
    mp_status st = mp_adapter_problem(
        ctx, MP_ERR_INVALID, MP_ADAPTER_ERR_UNSUPPORTED, summary,
        "No conformance test was run; no result is reported.", cause,
        "Run smi_conformance through a host-platform adapter (meshplane-adapter-nginx or "
        "meshplane-adapter-haproxy), or run the upstream SMI conformance tool against this "
        "cluster.");
    mp_free(summary);
    mp_free(cause);
    return st;
  }
  return mp_adapter_smi_conformance(ctx);
}

/* ---- rendering ------------------------------------------------------------------------- */

mp_status mp_adapter_render(mp_buf *out, const char *tmpl, const char *const *vars) {
  mp_buf b = {0};
  const char *p = tmpl;
  for (const char *open; (open = strstr(p, "{{"));) {
    mp_buf_append(&b, p, (size_t)(open - p));
    const char *close = strstr(open + 2, "}}");
    if (!close) {
      mp_buf_free(&b);
      return mp_error_set(MP_ERR_INVALID, "template has an unclosed {{");
    }
    size_t n = (size_t)(close - open - 2);
    const char *val = NULL;
    for (const char *const *v = vars; v && v[0] && v[1] && !val; v += 2)
      if (strlen(v[0]) == n && !strncmp(v[0], open + 2, n)) val = v[1];
    if (!val) {
      mp_buf_free(&b);
      return mp_error_set(MP_ERR_INVALID, "template variable {{%.*s}} has no value", (int)n,
                          open + 2);
    }
    mp_buf_puts(&b, val);
    p = close + 2;
  }
  mp_buf_puts(&b, p);
  mp_buf_append(out, b.data ? b.data : "", b.len);
  mp_buf_free(&b);
  return MP_OK;
}

/* Appends a YAML double-quoted scalar. */
static void quoted(mp_buf *out, const char *s) {
  mp_buf_puts(out, "\"");
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\')
      mp_buf_printf(out, "\\%c", c);
    else if (c < 0x20)
      mp_buf_printf(out, "\\x%02x", c);
    else
      mp_buf_append(out, s, 1);
  }
  mp_buf_puts(out, "\"");
}

static void kv_block(mp_buf *out, const char *title, const char *const *kv) {
  if (!kv || !kv[0]) return;
  mp_buf_printf(out, "  %s:\n", title);
  for (; kv[0] && kv[1]; kv += 2) {
    mp_buf_puts(out, "    ");
    quoted(out, kv[0]);
    mp_buf_puts(out, ": ");
    quoted(out, kv[1]);
    mp_buf_puts(out, "\n");
  }
}

void mp_adapter_render_namespace(mp_buf *out, const char *ns, const char *const *labels,
                                 const char *const *annotations) {
  mp_buf_puts(out, "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ");
  quoted(out, ns);
  mp_buf_puts(out, "\n");
  kv_block(out, "labels", labels);
  kv_block(out, "annotations", annotations);
}

mp_status mp_adapter_apply_namespace_switch(mp_adapter_ctx *ctx, const char *key, bool annotation) {
  const mp_adapter_request *r = mp_adapter_req(ctx);
  const char *kv[] = {key, r->delete_op ? "disabled" : "enabled", NULL};
  mp_buf y = {0};
  mp_adapter_render_namespace(&y, r->ns, annotation ? NULL : kv, annotation ? kv : NULL);
  mp_status st = mp_adapter_apply(ctx, y.data, NULL, false);
  mp_buf_free(&y);
  return st;
}
