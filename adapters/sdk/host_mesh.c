/* The host mesh instance: its state directory, installing and uninstalling it, applying
 * and deleting objects, and persistence (so an adapter that restarts resumes its mesh).
 *
 * State directory layout:
 *   mesh.json           settings: trust domain, version, mtls, accessControl
 *   store.txt           every applied object: "kind<TAB>ns<TAB>name<TAB>json" per line
 *   sidecars.txt        "ns/name inbound outbound app generation" per workload
 *   ca/ca.key, ca.crt   the mesh CA (key 0600)
 *   sidecars/<ns>/<name>/  cert.pem, key.pem (0600), proxy.conf, proxy.log, app.log, tmp/
 *   run/                pid files of supervised processes */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "host.h"

char *mp__hpath(const mp__host *h, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char *rel = mp_vasprintf(fmt, ap);
  va_end(ap);
  char *p = mp_asprintf("%s/%s", h->dir, rel);
  mp_free(rel);
  return p;
}

mp__hside *mp__host_side(mp__host *h, const char *ns, const char *name) {
  char *key = mp_asprintf("%s/%s", ns, name);
  mp__hside *found = NULL;
  for (size_t i = 0; i < h->n_sides && !found; i++)
    if (!strcmp(h->sides[i].key, key)) found = &h->sides[i];
  mp_free(key);
  return found;
}

/* ---- persistence ------------------------------------------------------------------------------
 */

static mp_status save(mp__host *h) {
  mp_buf b = {0};
  mp_buf_puts(&b, "{\"trustDomain\":");
  mp__hjson_str(&b, h->trust_domain);
  mp_buf_puts(&b, ",\"version\":");
  mp__hjson_str(&b, h->version);
  mp_buf_printf(&b, ",\"mtls\":%s,\"accessControl\":%s}\n", h->mtls ? "true" : "false",
                h->access ? "true" : "false");
  char *p = mp__hpath(h, "mesh.json");
  mp_status st = mp__hfile_write(p, b.data, b.len, 0644);
  mp_free(p);
  mp_buf_reset(&b);
  for (size_t i = 0; i < h->store.n; i++) {
    const mp__hobj *o = &h->store.objs[i];
    mp_buf_printf(&b, "%s\t%s\t%s\t%s\n", o->kind, o->ns, o->name, o->json);
  }
  p = mp__hpath(h, "store.txt");
  if (st == MP_OK) st = mp__hfile_write(p, b.data ? b.data : "", b.len, 0600);
  mp_free(p);
  mp_buf_reset(&b);
  for (size_t i = 0; i < h->n_sides; i++) {
    const mp__hside *s = &h->sides[i];
    mp_buf_printf(&b, "%s %d %d %d %lu\n", s->key, s->inbound, s->outbound, s->app, s->generation);
  }
  p = mp__hpath(h, "sidecars.txt");
  if (st == MP_OK) st = mp__hfile_write(p, b.data ? b.data : "", b.len, 0644);
  mp_free(p);
  mp_buf_free(&b);
  return st;
}

typedef struct settings_doc {
  mp__host *h;
  bool seen;
} settings_doc;

static void on_settings(void *arg, mp_yaml_node *root) {
  settings_doc *d = arg;
  const char *td = mp_yaml_gets(root, "trustDomain"), *v = mp_yaml_gets(root, "version");
  if (!td || !v) return;
  d->seen = true;
  mp_free(d->h->trust_domain);
  mp_free(d->h->version);
  d->h->trust_domain = mp_strdup(td);
  d->h->version = mp_strdup(v);
  d->h->mtls = mp_yaml_true(mp_yaml_get(root, "mtls"));
  d->h->access = mp_yaml_true(mp_yaml_get(root, "accessControl"));
}

/* Loads what save() wrote. MP_ERR_NOT_FOUND when no mesh is installed in h->dir. */
static mp_status load(mp__host *h) {
  mp_buf b = {0};
  char *p = mp__hpath(h, "mesh.json");
  mp_status st = mp__hfile_read(p, &b);
  mp_free(p);
  if (st != MP_OK) {
    mp_buf_free(&b);
    return st;
  }
  mp_arena a = {0};
  settings_doc d = {h, false};
  char err[128];
  int line;
  if (!mp_yaml_parse(&a, b.data, b.len, on_settings, &d, err, sizeof err, &line) || !d.seen)
    st = mp_error_set(MP_ERR_INVALID, "%s/mesh.json is damaged", h->dir);
  mp_arena_free(&a);
  mp_buf_reset(&b);
  p = mp__hpath(h, "store.txt");
  if (st == MP_OK && mp__hfile_read(p, &b) == MP_OK) {
    for (char *line_p = b.data; line_p && *line_p;) {
      char *end = strchr(line_p, '\n');
      if (end) *end = '\0';
      char *f[4] = {line_p, NULL, NULL, NULL};
      for (int i = 1; i < 4 && f[i - 1]; i++) {
        char *tab = strchr(f[i - 1], '\t');
        if (tab) *tab = '\0';
        f[i] = tab ? tab + 1 : NULL;
      }
      if (f[3]) mp__hstore_put(&h->store, f[0], f[1], f[2], f[3]);
      line_p = end ? end + 1 : NULL;
    }
  }
  mp_free(p);
  mp_buf_reset(&b);
  p = mp__hpath(h, "sidecars.txt");
  if (st == MP_OK && mp__hfile_read(p, &b) == MP_OK) {
    for (char *line_p = b.data; line_p && *line_p;) {
      char *end = strchr(line_p, '\n');
      if (end) *end = '\0';
      char key[160];
      mp__hside s = {0};
      if (sscanf(line_p, "%159s %d %d %d %lu", key, &s.inbound, &s.outbound, &s.app,
                 &s.generation) == 5) {
        h->sides = mp_realloc(h->sides, (h->n_sides + 1) * sizeof *h->sides);
        s.key = mp_strdup(key);
        h->sides[h->n_sides++] = s;
      }
      line_p = end ? end + 1 : NULL;
    }
  }
  mp_free(p);
  mp_buf_free(&b);
  return st;
}

/* ---- events --------------------------------------------------------------------------------- */

static void on_exit_event(void *arg, const char *key, const char *label, const char *why,
                          bool restarted, pid_t pid) {
  mp__host *h = arg;
  char *summary = restarted ? mp_asprintf("%s %s; restarted (pid %ld)", label, why, (long)pid)
                            : mp_asprintf("%s %s; restarting it failed, retrying", label, why);
  char *details = mp_asprintf("supervised process %s; its log is in %s", key, h->dir);
  mp_adapter_stream_emit(h->stream, restarted ? MP_EVENT_WARN : MP_EVENT_ERROR, summary, details,
                         "The process exited without being stopped by the mesh (it crashed, "
                         "or was killed from outside).",
                         restarted ? "None needed: the supervisor restarted it. Look at its log "
                                     "if this repeats."
                                   : "Look at the process's log in the state directory.",
                         restarted ? NULL : MP_ADAPTER_ERR_COMMAND);
  mp_free(summary);
  mp_free(details);
}

/* ---- install, uninstall --------------------------------------------------------------------- */

char *mp__host_proxy_version(mp__host *h) {
  const char *argv[] = {h->program, h->proxy->version_flag ? h->proxy->version_flag : "-v", NULL};
  mp_buf out = {0};
  int code;
  char *v = NULL;
  if (h->program && mp__hrun(argv, 5000, &code, &out) == MP_OK && out.data) {
    const char *p = strstr(out.data, "version");
    while (p && *p && (*p < '0' || *p > '9')) p++;
    size_t n = p ? strcspn(p, " \n\r") : 0;
    if (n) v = mp_strndup(p, n);
  }
  mp_buf_free(&out);
  return v ? v : mp_strdup(h->version ? h->version : "unknown");
}

static void clear_state(mp__host *h) {
  mp__hsup_free(h->sup, 3000);
  h->sup = NULL;
  mp__hca_free(h->ca);
  h->ca = NULL;
  mp__hstore_free(&h->store);
  for (size_t i = 0; i < h->n_sides; i++) {
    mp_free(h->sides[i].key);
    mp_free(h->sides[i].conf);
  }
  mp_free(h->sides);
  h->sides = NULL;
  h->n_sides = 0;
  h->installed = false;
}

static mp_status start_supervisor(mp__host *h) {
  char *run = mp__hpath(h, "run");
  mp_status st = mp__hmkdirs(run, 0711);
  if (st == MP_OK) {
    int killed = mp__hsup_reap_stale(run);
    if (killed)
      mp_adapter_stream_emit(h->stream, MP_EVENT_WARN, "killed processes an earlier adapter left",
                             NULL, NULL, NULL, NULL);
    h->sup = mp__hsup_new(run, on_exit_event, h);
  }
  mp_free(run);
  return st;
}

static mp_status install(mp__host *h, mp_adapter_ctx *ctx, const mp_yaml_node *spec) {
  if (!h->program) {
    char *summary = mp_asprintf("%s is not installed where the adapter runs", h->proxy->program);
    char *remedy = mp_asprintf("Install the Debian package %s (apt-get install %s), or put %s on "
                               "the adapter's PATH.",
                               h->proxy->package, h->proxy->package, h->proxy->program);
    mp_status st = mp_adapter_problem(ctx, MP_ERR_NOT_FOUND, MP_ADAPTER_ERR_TOOL_MISSING, summary,
                                      NULL, "The host mesh runs one proxy per workload.", remedy);
    mp_free(summary);
    mp_free(remedy);
    return st;
  }
  const char *td = mp_yaml_gets(spec, "trustDomain");
  mp_free(h->trust_domain);
  mp_free(h->version);
  h->trust_domain = mp_strdup(td && *td ? td : "cluster.local");
  h->version = mp_strdup(mp_adapter_version(ctx));
  h->mtls = !mp_yaml_get(spec, "mtls") || mp_yaml_true(mp_yaml_get(spec, "mtls"));
  h->access = mp_yaml_true(mp_yaml_get(spec, "accessControl"));
  char *cadir = mp__hpath(h, "ca");
  mp_status st = mp__hmkdirs(h->dir, 0711);
  if (st == MP_OK) chmod(h->dir, 0711); /* proxy workers (nobody) reach their temp dirs */
  if (st == MP_OK) st = mp__hmkdirs(cadir, 0700);
  if (st == MP_OK) st = mp__hca_create(cadir, h->trust_domain, &h->ca);
  mp_free(cadir);
  if (st == MP_OK) st = start_supervisor(h);
  if (st == MP_OK) st = save(h);
  if (st != MP_OK) {
    char *details = mp_strdup(mp_error_last());
    clear_state(h);
    mp__hrmtree(h->dir);
    st = mp_adapter_problem(ctx, st, MP_ADAPTER_ERR_INTERNAL, "cannot create the mesh's state",
                            details, "The state directory is not writable.",
                            "Point MESHPLANE_HOST_STATE_DIR at a writable directory.");
    mp_free(details);
    return st;
  }
  h->installed = true;
  char *have = mp__host_proxy_version(h);
  if (!mp_str_has_prefix(have, h->version))
    mp_adapter_warnf(ctx, "%s %s requested, this host has %s %s: the mesh uses it", h->proxy->name,
                     h->version, h->proxy->name, have);
  mp_free(have);
  char *fp = mp__hca_fingerprint(h->ca);
  char *details = mp_asprintf("state directory %s\nmesh CA %s\ntrust domain %s\nmTLS %s, access "
                              "control %s\nproxy %s",
                              h->dir, fp, h->trust_domain, h->mtls ? "on" : "off",
                              h->access ? "on (default deny)" : "off (permissive)", h->program);
  char *summary = mp_asprintf("%s host mesh %s installed (trust domain %s)", h->proxy->name,
                              h->version, h->trust_domain);
  mp_adapter_emit_event(ctx, MP_EVENT_INFO, summary, details, NULL, NULL, NULL);
  mp_free(summary);
  mp_free(details);
  mp_free(fp);
  return MP_OK;
}

mp_status mp__host_uninstall(mp__host *h, mp_adapter_ctx *ctx) {
  if (!h->installed) {
    mp_adapter_infof(ctx, "no %s host mesh is installed in %s: nothing to remove", h->proxy->name,
                     h->dir);
    return MP_OK;
  }
  size_t n = h->n_sides;
  clear_state(h); /* stops every process */
  mp_status st = mp__hrmtree(h->dir);
  if (st != MP_OK)
    return mp_adapter_problem(ctx, st, MP_ADAPTER_ERR_INTERNAL, "cannot remove the mesh's state",
                              mp_error_last(), NULL, "Remove the state directory by hand.");
  mp_adapter_infof(ctx, "%s host mesh uninstalled: %zu sidecar%s stopped, %s removed",
                   h->proxy->name, n, n == 1 ? "" : "s", h->dir);
  return MP_OK;
}

/* Applies a Mesh object: install, settings, or (del) uninstall. */
static mp_status apply_mesh(mp__host *h, mp_adapter_ctx *ctx, const mp_yaml_node *doc, bool del) {
  if (del) return mp__host_uninstall(h, ctx);
  const mp_yaml_node *spec = mp_yaml_get(doc, "spec");
  if (!h->installed) return install(h, ctx, spec);
  const char *td = mp_yaml_gets(spec, "trustDomain");
  if (td && *td && strcmp(td, h->trust_domain))
    return mp_adapter_failf(ctx, MP_ERR_INVALID, MP_ADAPTER_ERR_INVALID,
                            "Every certificate of the mesh names its trust domain.",
                            "Uninstall the mesh and install it with the new trust domain.",
                            "the trust domain of an installed mesh cannot change (%s)",
                            h->trust_domain);
  bool mtls = h->mtls, access = h->access;
  if (mp_yaml_get(spec, "mtls")) mtls = mp_yaml_true(mp_yaml_get(spec, "mtls"));
  if (mp_yaml_get(spec, "accessControl")) access = mp_yaml_true(mp_yaml_get(spec, "accessControl"));
  if (access && !mtls)
    return mp_adapter_failf(ctx, MP_ERR_INVALID, MP_ADAPTER_ERR_INVALID,
                            "SMI access control identifies callers by their mesh certificate, "
                            "which only mutual TLS presents.",
                            h->mtls ? "Turn access control off first (access-control with "
                                      "delete_op), then mTLS."
                                    : "Turn mTLS on first (the mtls operation).",
                            "access control needs mTLS");
  if (mtls == h->mtls && access == h->access) {
    mp_adapter_infof(ctx, "mesh settings unchanged: mTLS %s, access control %s",
                     mtls ? "on" : "off", access ? "on" : "off");
    return MP_OK;
  }
  return mp__host_settings(h, ctx, mtls, access);
}

mp_status mp__host_settings(mp__host *h, mp_adapter_ctx *ctx, bool mtls, bool access) {
  if (mtls == h->mtls && access == h->access) return MP_OK;
  bool old_mtls = h->mtls, old_access = h->access;
  h->mtls = mtls;
  h->access = access;
  mp_status st = mp__host_converge(h, ctx);
  if (st != MP_OK) {
    h->mtls = old_mtls;
    h->access = old_access;
    return st;
  }
  mp_adapter_infof(ctx, "mesh settings: mTLS %s, access control %s", mtls ? "on" : "off",
                   access ? "on (default deny)" : "off (permissive)");
  return save(h);
}

/* ---- apply ------------------------------------------------------------------------------------
 */

/* Appends doc as JSON with metadata.namespace set to ns. */
static void json_with_ns(mp_buf *out, const mp_yaml_node *doc, const char *ns) {
  mp_buf_puts(out, "{");
  bool first = true, has_meta = false;
  for (size_t i = 0; i < mp_yaml_npairs(doc); i++) {
    const char *k = mp_yaml_str(mp_yaml_key(doc, i));
    const mp_yaml_node *v = mp_yaml_val(doc, i);
    if (!k) continue;
    mp_buf_puts(out, first ? "" : ",");
    first = false;
    mp__hjson_str(out, k);
    mp_buf_puts(out, ":");
    if (strcmp(k, "metadata") || !mp_yaml_is_map(v)) {
      mp__hjson_node(out, v);
      continue;
    }
    has_meta = true;
    mp_buf_puts(out, "{\"namespace\":");
    mp__hjson_str(out, ns);
    for (size_t j = 0; j < mp_yaml_npairs(v); j++) {
      const char *mk = mp_yaml_str(mp_yaml_key(v, j));
      if (!mk || !strcmp(mk, "namespace")) continue;
      mp_buf_puts(out, ",");
      mp__hjson_str(out, mk);
      mp_buf_puts(out, ":");
      mp__hjson_node(out, mp_yaml_val(v, j));
    }
    mp_buf_puts(out, "}");
  }
  (void)has_meta; /* checked objects always have metadata */
  mp_buf_puts(out, "}");
}

typedef struct docs {
  mp_yaml_node **v;
  size_t n, cap;
} docs;

static void on_doc(void *arg, mp_yaml_node *root) {
  docs *d = arg;
  if (d->n == d->cap) {
    d->cap = d->cap ? d->cap * 2 : 8;
    d->v = mp_realloc(d->v, d->cap * sizeof *d->v);
  }
  d->v[d->n++] = root;
}

static bool is_mesh(const mp_yaml_node *doc) {
  const char *k = mp_yaml_gets(doc, "kind"), *av = mp_yaml_gets(doc, "apiVersion");
  return k && av && !strcmp(k, "Mesh") && !strcmp(av, MP__HOST_API);
}

mp_status mp__host_apply(mp__host *h, mp_adapter_ctx *ctx, const char *yaml, const char *ns,
                         bool del) {
  mp_arena a = {0};
  docs d = {0};
  char err[256];
  int line = 0;
  mp_status st = MP_OK;
  if (!mp_yaml_parse(&a, yaml, strlen(yaml), on_doc, &d, err, sizeof err, &line)) {
    char *summary = mp_asprintf("line %d: %s", line, err);
    st = mp_adapter_problem(ctx, MP_ERR_INVALID, MP_ADAPTER_ERR_INVALID, "YAML rejected", summary,
                            "The YAML does not parse.", "Fix the YAML at the line named.");
    mp_free(summary);
  }
  /* Mesh objects first (install before what it carries; uninstall ends everything). */
  for (size_t i = 0; st == MP_OK && i < d.n; i++)
    if (is_mesh(d.v[i])) st = apply_mesh(h, ctx, d.v[i], del);
  size_t others = 0;
  for (size_t i = 0; i < d.n; i++) others += !is_mesh(d.v[i]);
  if (st != MP_OK || others == 0 || (del && !h->installed)) {
    mp_free(d.v);
    mp_arena_free(&a);
    return st;
  }
  if (!h->installed) {
    mp_free(d.v);
    mp_arena_free(&a);
    return mp_adapter_failf(ctx, MP_ERR_INVALID, MP_ADAPTER_ERR_INVALID,
                            "Objects are applied to an installed host mesh.",
                            "Run the install operation first.", "no %s host mesh is installed",
                            h->proxy->name);
  }
  mp__hstore next;
  mp__hstore_copy(&h->store, &next);
  mp__hmodel scratch = {0};
  mp_buf json = {0};
  for (size_t i = 0; st == MP_OK && i < d.n; i++) {
    if (is_mesh(d.v[i])) continue;
    const char *kind, *ons, *name;
    st = mp__hobj_check(&a, d.v[i], ns ? ns : "default", &kind, &ons, &name);
    if (st == MP_OK && !del) st = mp__hmodel_add(&scratch, h->trust_domain, d.v[i], ons);
    if (st != MP_OK) break;
    if (!mp__hkind_known(kind))
      mp_adapter_warnf(ctx, "%s %s/%s has no effect on the host platform (kept as given)", kind,
                       ons, name);
    if (del) {
      mp__hstore_del(&next, kind, ons, name);
    } else {
      mp_buf_reset(&json);
      json_with_ns(&json, d.v[i], ons);
      mp__hstore_put(&next, kind, ons, name, json.data);
    }
  }
  mp_buf_free(&json);
  mp__hmodel_free(&scratch);
  mp_free(d.v);
  mp_arena_free(&a);
  if (st != MP_OK) {
    mp__hstore_free(&next);
    char *details = mp_strdup(mp_error_last());
    st = mp_adapter_problem(ctx, st, MP_ADAPTER_ERR_INVALID, "object rejected", details,
                            "An object is not one the host platform can use as written.",
                            "Fix the object at the line named in the details.");
    mp_free(details);
    return st;
  }
  mp__hstore prev = h->store;
  h->store = next;
  st = mp__host_converge(h, ctx);
  if (st == MP_ERR_INVALID) { /* nothing was touched: keep the previous state */
    mp__hstore_free(&h->store);
    h->store = prev;
    return st;
  }
  mp__hstore_free(&prev);
  mp_status st2 = save(h);
  return st != MP_OK ? st : st2;
}

/* ---- snapshot, resume ---------------------------------------------------------------------------
 */

void mp__host_snapshot(mp__host *h, const char *ns, mp_buf *out) {
  for (size_t i = 0; i < h->store.n; i++) {
    const mp__hobj *o = &h->store.objs[i];
    if (ns && strcmp(ns, o->ns)) continue;
    mp_buf_printf(out, "---\n%s\n", o->json);
  }
}

mp_status mp__host_resume(mp__host *h) {
  mp_status st = load(h);
  if (st == MP_ERR_NOT_FOUND) return MP_OK; /* nothing installed */
  if (st == MP_OK) {
    char *cadir = mp__hpath(h, "ca");
    st = mp__hca_load(cadir, &h->ca);
    mp_free(cadir);
  }
  if (st == MP_OK) st = start_supervisor(h);
  if (st != MP_OK) {
    clear_state(h);
    return st;
  }
  h->installed = true;
  if (!h->program) {
    mp_adapter_stream_emit(h->stream, MP_EVENT_ERROR, "cannot resume the host mesh",
                           "the proxy program is not installed", NULL, NULL,
                           MP_ADAPTER_ERR_TOOL_MISSING);
    return MP_OK;
  }
  st = mp__host_converge(h, NULL);
  if (st == MP_OK) st = save(h);
  mp_adapter_stream_emit(h->stream, st == MP_OK ? MP_EVENT_INFO : MP_EVENT_ERROR,
                         st == MP_OK ? "host mesh resumed from its state directory"
                                     : "host mesh resumed with errors",
                         st == MP_OK ? h->dir : mp_error_last(), NULL, NULL,
                         st == MP_OK ? NULL : MP_ADAPTER_ERR_COMMAND);
  return MP_OK;
}
