/* Converging: brings the processes of the host mesh to the desired state of its store.
 *
 * Phase 1 touches nothing that runs: it assigns ports to new workloads, (re)issues
 * certificates whose names changed, renders every sidecar's configuration and has the
 * proxy check each changed one (nginx -t, haproxy -c). If a check fails, the operation
 * fails with MP_ERR_INVALID and the running mesh is as it was. Phase 2 stops what was
 * removed, starts sample apps, installs the new configurations and starts or gracefully
 * reloads the proxies, then waits until each changed sidecar serves its new generation
 * (its admin answer on the outbound listener), so an operation returns once the mesh
 * behaves as applied. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "host.h"

#define READY_MS 15000
#define CHECK_MS 20000
#define ARGV_MAX 40
#define DRAIN_MS 3000

/* An event for the operation (ctx), or for the stream when converging outside one. */
static void note(mp__host *h, mp_adapter_ctx *ctx, mp_adapter_event_type t, const char *summary,
                 const char *details) {
  if (ctx)
    mp_adapter_emit_event(ctx, t, summary, details, NULL, NULL, NULL);
  else
    mp_adapter_stream_emit(h->stream, t, summary, details, NULL, NULL, NULL);
}

static mp_status fail(mp_adapter_ctx *ctx, mp_status st, const char *code, const char *summary,
                      const char *details, const char *cause, const char *remedy) {
  if (ctx) return mp_adapter_problem(ctx, st, code, summary, details, cause, remedy);
  return mp_error_set(st, "%s: %s", summary, details ? details : "");
}

/* A port in [port_lo, port_hi] no sidecar holds and nothing listens on. */
static int alloc_port(mp__host *h) {
  int span = h->port_hi - h->port_lo + 1;
  int start = (int)((unsigned)(mp_mono_ns() / 1000 + (uint64_t)getpid() * 7919) % (unsigned)span);
  for (int i = 0; i < span; i++) {
    int p = h->port_lo + (start + i) % span;
    bool used = false;
    for (size_t j = 0; j < h->n_sides && !used; j++)
      used = h->sides[j].inbound == p || h->sides[j].outbound == p || h->sides[j].app == p;
    if (!used && mp__hport_free("127.0.0.1", p)) return p;
  }
  return 0;
}

static char *proc_key(const char *what, const char *key) { return mp_asprintf("%s/%s", what, key); }

/* Stops the processes of side and removes its directory and entry. */
static void remove_side(mp__host *h, mp_adapter_ctx *ctx, size_t idx) {
  mp__hside *s = &h->sides[idx];
  char *pk = proc_key("proxy", s->key), *ak = proc_key("app", s->key);
  mp__hsup_stop(h->sup, pk, 3000);
  mp__hsup_stop(h->sup, ak, 3000);
  char *dir = mp__hpath(h, "sidecars/%s", s->key);
  mp__hrmtree(dir);
  char *summary = mp_asprintf("sidecar %s removed", s->key);
  note(h, ctx, MP_EVENT_INFO, summary, NULL);
  mp_free(summary);
  mp_free(dir);
  mp_free(pk);
  mp_free(ak);
  mp_free(s->key);
  mp_free(s->conf);
  memmove(s, s + 1, (h->n_sides - idx - 1) * sizeof *s);
  h->n_sides--;
}

#define OLD_MAX 16

typedef struct plan {
  const mp__hworkload *w;
  mp__hside *side;
  char *conf; /* new configuration, NULL when unchanged */
  char *app_cmd;
  bool start_app;
  pid_t old[OLD_MAX]; /* workers of the proxy before its reload */
  size_t n_old;
  char *check_path; /* proxy.conf.new, to check */
  const char *argv[ARGV_MAX + 1];
  int code;
  mp_buf out;
  mp_status st;
} plan;

static void *check_one(void *arg) {
  plan *p = arg;
  p->st = mp__hrun(p->argv, CHECK_MS, &p->code, &p->out);
  if (p->st != MP_OK) mp_buf_puts(&p->out, mp_error_last());
  return NULL;
}

/* Has the proxy check every new configuration, all at once (each check is a process that
 * parses certificates and configuration: tens of milliseconds). */
static mp_status check_all(mp__host *h, mp_adapter_ctx *ctx, const mp__hmodel *m, plan *plans,
                           size_t n) {
  pthread_t *t = mp_calloc(n + 1, sizeof *t);
  bool *started = mp_calloc(n + 1, sizeof *started);
  for (size_t i = 0; i < n; i++) {
    plan *p = &plans[i];
    if (!p->check_path) continue;
    mp_adapter_host_sidecar view;
    mp__hsidecar_view(h, m, p->w, p->side, &view);
    size_t k = h->proxy->argv(&view, h->program, p->check_path, true, p->argv, ARGV_MAX);
    p->argv[0] = h->program;
    p->argv[k] = NULL;
    started[i] = pthread_create(&t[i], NULL, check_one, p) == 0;
    if (!started[i]) check_one(p);
  }
  mp_status st = MP_OK;
  for (size_t i = 0; i < n; i++) {
    plan *p = &plans[i];
    if (!p->check_path) continue;
    if (started[i]) pthread_join(t[i], NULL);
    if (st == MP_OK && (p->st != MP_OK || p->code != 0)) {
      char *summary =
          mp_asprintf("%s rejected the configuration of sidecar %s", h->proxy->name, p->side->key);
      char *details = mp_asprintf("%s\n(the configuration is in %s)",
                                  p->out.data ? p->out.data : "", p->check_path);
      st = fail(ctx, MP_ERR_INVALID, MP_ADAPTER_ERR_INVALID, summary, details,
                "An object applied (a regex, most likely) is not one the proxy accepts.",
                "Fix the object the proxy's message points at and apply it again.");
      mp_free(summary);
      mp_free(details);
    }
    mp_buf_free(&p->out);
  }
  mp_free(t);
  mp_free(started);
  return st;
}

static void plan_free(plan *p) {
  mp_free(p->conf);
  mp_free(p->app_cmd);
  mp_free(p->check_path);
  mp_buf_free(&p->out);
  memset(p, 0, sizeof *p);
}

static mp_status render(mp__host *h, const mp__hmodel *m, const mp__hworkload *w, mp__hside *s,
                        unsigned long gen, mp_buf *out) {
  mp_adapter_host_sidecar view;
  mp__hside tmp = *s;
  tmp.generation = gen;
  mp_status st = mp__hsidecar_view(h, m, w, &tmp, &view);
  mp_buf_reset(out);
  if (st == MP_OK) st = h->proxy->render(&view, out);
  return st;
}

static size_t proxy_argv(mp__host *h, const mp__hmodel *m, const mp__hworkload *w, mp__hside *s,
                         const char *conf, bool check, const char **argv) {
  mp_adapter_host_sidecar view;
  mp__hsidecar_view(h, m, w, s, &view);
  size_t n = h->proxy->argv(&view, h->program, conf, check, argv, ARGV_MAX);
  argv[0] = h->program;
  argv[n] = NULL;
  return n;
}

/* Phase 1 for one workload: ports, certificate, configuration (checked). */
static mp_status prepare(mp__host *h, mp_adapter_ctx *ctx, const mp__hmodel *m,
                         const mp__hworkload *w, plan *p) {
  mp__hside *s = mp__host_side(h, w->ns, w->name); /* made by the first pass */
  if (!s->inbound || !s->outbound || !s->app)
    return fail(ctx, MP_ERR_UNAVAILABLE, MP_ADAPTER_ERR_INTERNAL, "no free port for a sidecar",
                NULL, "Every port of MESHPLANE_HOST_PORTS is taken.",
                "Widen the range in MESHPLANE_HOST_PORTS (e.g. 20000-29999).");
  p->w = w;
  p->side = s;
  char *dir = mp__hpath(h, "sidecars/%s/%s", w->ns, w->name);
  char *tmp = mp_asprintf("%s/tmp", dir);
  mp_status st = mp__hmkdirs(tmp, 0711);
  mp_free(tmp);
  char *cert = mp_asprintf("%s/cert.pem", dir), *key = mp_asprintf("%s/key.pem", dir);
  const char **dns = mp__hsidecar_dns(m, w);
  bool reissued = false; /* a proxy reads certificates when it (re)loads */
  if (st == MP_OK && !mp__hca_cert_ok(h->ca, cert, key, w->identity, dns)) {
    st = mp__hca_issue(h->ca, w->identity, dns, key, cert);
    reissued = true;
    if (st == MP_OK) {
      mp_buf names = {0};
      for (size_t i = 0; dns[i]; i++) mp_buf_printf(&names, ", DNS:%s", dns[i]);
      char *summary = mp_asprintf("certificate issued for %s: URI:%s%s", s->key, w->identity,
                                  names.data ? names.data : "");
      note(h, ctx, MP_EVENT_INFO, summary, NULL);
      mp_free(summary);
      mp_buf_free(&names);
    }
  }
  if (st == MP_OK) { /* cert-key.pem: both in one file (HAProxy's crt) */
    char *both = mp_asprintf("%s/cert-key.pem", dir);
    mp_buf pem = {0}, old = {0};
    if (mp__hfile_read(cert, &pem) == MP_OK && mp__hfile_read(key, &pem) == MP_OK &&
        (mp__hfile_read(both, &old) != MP_OK || strcmp(old.data, pem.data)))
      st = mp__hfile_write(both, pem.data, pem.len, 0600);
    mp_buf_free(&pem);
    mp_buf_free(&old);
    mp_free(both);
  }
  mp_free(cert);
  mp_free(key);
  mp_buf conf = {0};
  if (st == MP_OK) st = render(h, m, w, s, s->generation, &conf);
  if (st == MP_OK && (reissued || !s->conf || strcmp(s->conf, conf.data))) {
    st = render(h, m, w, s, s->generation + 1, &conf);
    char *path = mp_asprintf("%s/proxy.conf.new", dir);
    if (st == MP_OK) st = mp__hfile_write(path, conf.data, conf.len, 0644);
    if (st == MP_OK) {
      p->conf = mp_buf_steal(&conf);
      p->check_path = path; /* checked with the others, in parallel */
    } else {
      mp_free(path);
    }
  }
  mp_buf_free(&conf);
  mp_free(dir);
  if (st == MP_OK && w->run) {
    mp_buf cmd = {0};
    mp_buf_printf(&cmd, "--listen 127.0.0.1:%d --name %s", s->app, s->key);
    for (size_t i = 0; w->args && w->args[i]; i++) mp_buf_printf(&cmd, " %s", w->args[i]);
    p->app_cmd = mp_buf_steal(&cmd);
  }
  return st;
}

static mp_status start_app(mp__host *h, mp_adapter_ctx *ctx, plan *p) {
  char *key = proc_key("app", p->side->key);
  char *cmdfile = mp__hpath(h, "sidecars/%s/app.cmd", p->side->key);
  mp_buf old = {0};
  bool same = mp__hfile_read(cmdfile, &old) == MP_OK && !strcmp(old.data, p->app_cmd);
  mp_buf_free(&old);
  mp_status st = MP_OK;
  if (!same || !mp__hsup_has(h->sup, key)) {
    mp__hsup_stop(h->sup, key, 3000);
    if (!h->sampleapp) {
      st = fail(ctx, MP_ERR_NOT_FOUND, MP_ADAPTER_ERR_TOOL_MISSING,
                "meshplane-sampleapp is not installed where the adapter runs", NULL,
                "The host platform runs containers of image meshplane/sampleapp as local "
                "meshplane-sampleapp processes.",
                "Install meshplane-sampleapp next to the adapter or on its PATH, or set "
                "MESHPLANE_HOST_SAMPLEAPP to its path.");
    } else {
      const char *argv[ARGV_MAX + 8];
      size_t n = 0;
      char *listen = mp_asprintf("127.0.0.1:%d", p->side->app);
      argv[n++] = h->sampleapp;
      argv[n++] = "--listen";
      argv[n++] = listen;
      argv[n++] = "--name";
      argv[n++] = p->side->key;
      for (size_t i = 0; p->w->args && p->w->args[i] && n < ARGV_MAX; i++)
        argv[n++] = p->w->args[i];
      argv[n] = NULL;
      char *log = mp__hpath(h, "sidecars/%s/app.log", p->side->key);
      char *label = mp_asprintf("sample app %s", p->side->key);
      st = mp__hsup_start(h->sup, key, label, argv, log, SIGTERM);
      if (st == MP_OK) st = mp__hfile_write(cmdfile, p->app_cmd, strlen(p->app_cmd), 0644);
      p->start_app = true;
      mp_free(label);
      mp_free(log);
      mp_free(listen);
    }
  }
  mp_free(cmdfile);
  mp_free(key);
  return st;
}

/* Installs p's new configuration and starts or reloads its proxy. */
static mp_status commit_proxy(mp__host *h, mp_adapter_ctx *ctx, const mp__hmodel *m, plan *p) {
  mp__hside *s = p->side;
  char *dir = mp__hpath(h, "sidecars/%s", s->key);
  char *next = mp_asprintf("%s/proxy.conf.new", dir), *conf = mp_asprintf("%s/proxy.conf", dir);
  mp_status st =
      rename(next, conf) == 0 ? MP_OK : mp_error_set(MP_ERR_IO, "cannot install %s", conf);
  s->generation++;
  mp_free(s->conf);
  s->conf = p->conf;
  p->conf = NULL;
  char *key = proc_key("proxy", s->key);
  const char *how = "reloaded";
  if (st == MP_OK && mp__hsup_has(h->sup, key)) {
    pid_t master = mp__hsup_pid(h->sup, key);
    p->n_old = master > 0 ? mp__hchildren(master, p->old, OLD_MAX) : 0;
    st = mp__hsup_signal(h->sup, key, h->proxy->reload_signal);
  } else if (st == MP_OK) {
    const char *argv[ARGV_MAX + 1];
    proxy_argv(h, m, p->w, s, conf, false, argv);
    char *log = mp_asprintf("%s/proxy.log", dir);
    char *label = mp_asprintf("%s sidecar of %s", h->proxy->name, s->key);
    st = mp__hsup_start(h->sup, key, label, argv, log, h->proxy->stop_signal);
    how = "started";
    mp_free(label);
    mp_free(log);
  }
  if (st != MP_OK) {
    st = fail(ctx, st, MP_ADAPTER_ERR_COMMAND, "cannot run a sidecar proxy", mp_error_last(), NULL,
              "Look at proxy.log in the sidecar's directory.");
  } else {
    char *summary = mp_asprintf("sidecar %s %s (%s pid %ld, generation %lu): inbound 127.0.0.1:%d"
                                "%s, outbound 127.0.0.1:%d, app %s",
                                s->key, how, h->proxy->name, (long)mp__hsup_pid(h->sup, key),
                                s->generation, s->inbound, h->mtls ? " (mTLS)" : "", s->outbound,
                                p->w->address ? p->w->address : "?");
    note(h, ctx, MP_EVENT_INFO, summary, NULL);
    mp_free(summary);
  }
  mp_free(key);
  mp_free(next);
  mp_free(conf);
  mp_free(dir);
  return st;
}

/* Waits until the sidecar answers its admin request with its generation three times in a
 * row on new connections (an old worker still accepting would answer the old one). */
static bool sidecar_ready(const mp__hside *s, int64_t deadline_ns) {
  char want[32];
  snprintf(want, sizeof want, "%lu", s->generation);
  int ok = 0;
  while (mp_mono_ns() < deadline_ns) {
    mp__hhttp c;
    mp__hhttp_init(&c, "127.0.0.1", s->outbound, 1000);
    mp__hresp r = {0};
    mp__hhttp_do(&c, "GET", MP__HOST_ADMIN, "/generation", NULL, &r);
    mp__hhttp_close(&c);
    bool match = r.status == 200 && r.body.data && !strcmp(r.body.data, want);
    mp_buf_free(&r.body);
    if (match && ++ok >= 3) return true;
    if (!match) {
      ok = 0;
      mp_sleep_ms(10);
    }
  }
  return false;
}

static bool app_ready(int port, int64_t deadline_ns) {
  while (mp_mono_ns() < deadline_ns) {
    if (mp__hport_open("127.0.0.1", port)) return true;
    mp_sleep_ms(10);
  }
  return false;
}

mp_status mp__host_converge(mp__host *h, mp_adapter_ctx *ctx) {
  int64_t t0 = mp_mono_ns();
  mp__hmodel m;
  mp_status st = mp__hmodel_build(&h->store, h->trust_domain, &m);
  if (st != MP_OK)
    return fail(ctx, MP_ERR_INTERNAL, MP_ADAPTER_ERR_INTERNAL, "the mesh's store is damaged",
                mp_error_last(), NULL, "Uninstall and install the mesh again.");
  plan *plans = mp_calloc(m.n_workloads + 1, sizeof *plans);
  /* Two passes: the first assigns every port (so routes see all endpoints), the second
   * renders with complete routes. */
  for (size_t pass = 0; pass < 2 && st == MP_OK; pass++) {
    for (size_t i = 0; i < m.n_workloads && st == MP_OK; i++) {
      mp__hworkload *w = &m.workloads[i];
      if (pass == 0) {
        mp__hside *s = mp__host_side(h, w->ns, w->name);
        if (!s) {
          mp__hside n = {.key = mp_asprintf("%s/%s", w->ns, w->name)};
          h->sides = mp_realloc(h->sides, (h->n_sides + 1) * sizeof *h->sides);
          h->sides[h->n_sides++] = n;
          s = &h->sides[h->n_sides - 1];
        }
        if (!s->inbound) s->inbound = alloc_port(h);
        if (!s->outbound) s->outbound = alloc_port(h);
        if (w->fixed_address)
          s->app = w->port;
        else if (!s->app)
          s->app = alloc_port(h);
        if (!w->fixed_address) {
          w->address = mp_arena_printf(&m.arena, "127.0.0.1:%d", s->app);
          w->port = s->app;
        }
        continue;
      }
      plan_free(&plans[i]);
      st = prepare(h, ctx, &m, w, &plans[i]);
    }
  }
  if (st == MP_OK) st = check_all(h, ctx, &m, plans, m.n_workloads);
  if (st != MP_OK) {
    for (size_t i = 0; i < m.n_workloads; i++) {
      if (plans[i].check_path) unlink(plans[i].check_path);
      plan_free(&plans[i]);
    }
    mp_free(plans);
    mp__hmodel_free(&m);
    return st;
  }
  int64_t t1 = mp_mono_ns();
  /* Phase 2. Sidecars whose workload is gone go first (their ports may be reused). */
  for (size_t i = h->n_sides; i-- > 0;) {
    bool wanted = false;
    for (size_t j = 0; j < m.n_workloads && !wanted; j++) {
      char *key = mp_asprintf("%s/%s", m.workloads[j].ns, m.workloads[j].name);
      wanted = !strcmp(key, h->sides[i].key);
      mp_free(key);
    }
    if (!wanted) remove_side(h, ctx, i);
  }
  /* remove_side moved entries: find each plan's side again. */
  for (size_t i = 0; i < m.n_workloads; i++)
    plans[i].side = mp__host_side(h, m.workloads[i].ns, m.workloads[i].name);
  mp_status first = MP_OK;
  for (size_t i = 0; i < m.n_workloads; i++) {
    plan *p = &plans[i];
    char *ak = proc_key("app", p->side->key);
    if (p->app_cmd)
      st = start_app(h, ctx, p);
    else
      mp__hsup_stop(h->sup, ak, 3000);
    mp_free(ak);
    if (st == MP_OK && p->conf) st = commit_proxy(h, ctx, &m, p);
    if (first == MP_OK) first = st;
    st = MP_OK;
  }
  int64_t t2 = mp_mono_ns();
  int64_t deadline = mp_mono_ns() + READY_MS * MP_NS_PER_MS;
  for (size_t i = 0; i < m.n_workloads && first == MP_OK; i++) {
    plan *p = &plans[i];
    if (p->start_app && !app_ready(p->side->app, deadline))
      first = fail(ctx, MP_ERR_TIMEOUT, MP_ADAPTER_ERR_TIMEOUT, "a sample app did not start",
                   p->side->key, NULL, "Look at app.log in the sidecar's directory.");
    if (first == MP_OK && !sidecar_ready(p->side, deadline)) {
      char *summary = mp_asprintf("sidecar %s did not serve generation %lu in time", p->side->key,
                                  p->side->generation);
      first = fail(ctx, MP_ERR_TIMEOUT, MP_ADAPTER_ERR_TIMEOUT, summary, NULL,
                   "The proxy did not start or reload.",
                   "Look at proxy.log in the sidecar's directory.");
      mp_free(summary);
    }
  }
  /* The old workers close their idle connections (those other sidecars pool) when they
   * take the reload, and exit once their in-flight requests are done: wait for that (a
   * while, not for long requests), so the next request meets the new configuration. */
  int64_t t3 = mp_mono_ns(), drained = t3 + DRAIN_MS * MP_NS_PER_MS;
  for (size_t i = 0; i < m.n_workloads && first == MP_OK; i++)
    for (size_t k = 0; k < plans[i].n_old; k++)
      while (mp__hpid_alive(plans[i].old[k]) && mp_mono_ns() < drained) mp_sleep_ms(5);
  mp_debug("converged", "prepare_ms=%lld commit_ms=%lld ready_ms=%lld drain_ms=%lld",
           (long long)((t1 - t0) / MP_NS_PER_MS), (long long)((t2 - t1) / MP_NS_PER_MS),
           (long long)((t3 - t2) / MP_NS_PER_MS), (long long)((mp_mono_ns() - t3) / MP_NS_PER_MS));
  for (size_t i = 0; i < m.n_workloads; i++) plan_free(&plans[i]);
  mp_free(plans);
  mp__hmodel_free(&m);
  return first;
}
