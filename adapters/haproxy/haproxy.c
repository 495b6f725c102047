/* The HAProxy host mesh: each workload's sidecar is an HAProxy in master-worker mode
 * (Debian's haproxy package) in the foreground under the host platform's supervisor. This
 * file is the proxy-specific part: the configuration rendered from a sidecar view, how
 * HAProxy is run, and how it reloads (SIGUSR2 to the master: it re-executes with the new
 * configuration, starts a new worker, and the old worker finishes its in-flight requests).
 *
 * Identity: HAProxy has no sample fetch for a certificate's SAN, but ssl_c_der gives the
 * verified client certificate's DER bytes. An identity ACL matches their hex form against
 * the encoding of the SAN entry (tag 0x86, length, SPIFFE URI) at a byte boundary, so it
 * holds exactly when the certificate carries that URI SAN. */
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "haproxy.h"

/* A word of the configuration in single quotes (no expansion, no escapes inside); a quote
 * in s closes, adds an escaped quote, and reopens (the platform refuses quotes in user
 * strings, so this is defence in depth). */
static void word(mp_buf *out, const char *s) {
  mp_buf_puts(out, "'");
  for (; *s; s++) mp_buf_puts(out, *s == '\'' ? "'\\''" : (char[2]){*s, 0});
  mp_buf_puts(out, "'");
}

/* The regex that holds when the hex of a certificate's DER contains the SAN entry of uri. */
static void identity_regex(mp_buf *out, const char *uri) {
  mp_buf der = {0};
  mp_adapter_host_uri_der(uri, &der);
  mp_buf_puts(out, "^(..)*");
  for (size_t i = 0; i < der.len; i++) mp_buf_printf(out, "%02X", (unsigned char)der.data[i]);
  mp_buf_free(&der);
}

/* ACLs for one HTTPRouteGroup match, named <prefix>_path, _method, _h<k>; appends their
 * names (space-separated, all must hold) to cond. */
static void match_acls(mp_buf *out, const char *prefix, const mp_adapter_host_match *m,
                       mp_buf *cond) {
  if (m->path_regex) {
    mp_buf_printf(out, "  acl %s_path path -m reg ", prefix);
    mp_buf re = {0};
    mp_buf_printf(&re, "^(?:%s)", m->path_regex);
    word(out, re.data);
    mp_buf_free(&re);
    mp_buf_printf(out, "\n");
    mp_buf_printf(cond, " %s_path", prefix);
  }
  if (m->methods) {
    mp_buf_printf(out, "  acl %s_method method", prefix);
    for (const char *const *me = m->methods; *me; me++) mp_buf_printf(out, " %s", *me);
    mp_buf_puts(out, "\n");
    mp_buf_printf(cond, " %s_method", prefix);
  }
  for (size_t k = 0; m->headers && m->headers[k]; k += 2) {
    mp_buf_printf(out, "  acl %s_h%zu req.hdr(%s) -m reg ", prefix, k / 2, m->headers[k]);
    word(out, m->headers[k + 1]);
    mp_buf_puts(out, "\n");
    mp_buf_printf(cond, " %s_h%zu", prefix, k / 2);
  }
}

static void access_rules(const mp_adapter_host_sidecar *sc, mp_buf *out) {
  mp_buf any = {0};
  /* X-Meshplane-Peer: the caller's SPIFFE ID, for the app. */
  for (size_t i = 0; i < sc->n_allow; i++)
    for (const char *const *s = sc->allow[i].sources; *s; s++) {
      mp_buf_printf(out, "  http-request set-header X-Meshplane-Peer %s if { ssl_c_der,hex -m reg ",
                    *s);
      mp_buf re = {0};
      identity_regex(&re, *s);
      word(out, re.data);
      mp_buf_free(&re);
      mp_buf_puts(out, " }\n");
    }
  for (size_t i = 0; i < sc->n_allow; i++) {
    const mp_adapter_host_allow *a = &sc->allow[i];
    mp_buf_printf(out, "  # TrafficTarget %s\n", a->name);
    for (const char *const *s = a->sources; *s; s++) {
      mp_buf_printf(out, "  acl mesh_a%zu_src ssl_c_der,hex -m reg ", i);
      mp_buf re = {0};
      identity_regex(&re, *s);
      word(out, re.data);
      mp_buf_free(&re);
      mp_buf_printf(out, " # %s\n", *s);
    }
    size_t nm = a->n_matches ? a->n_matches : 1;
    for (size_t j = 0; j < nm; j++) {
      char prefix[64];
      snprintf(prefix, sizeof prefix, "mesh_a%zu_m%zu", i, j);
      mp_buf cond = {0};
      mp_buf_printf(&cond, "mesh_a%zu_src", i);
      if (a->n_matches) match_acls(out, prefix, &a->matches[j], &cond);
      mp_buf_printf(&any, "%s%s", any.len ? " || " : "", cond.data);
      mp_buf_free(&cond);
    }
  }
  if (any.len) mp_buf_printf(out, "  http-request allow if %s\n", any.data);
  mp_buf_puts(out, "  http-request deny status 403 content-type text/plain "
                   "string 'RBAC: access denied'\n");
  mp_buf_free(&any);
}

static void servers(const mp_adapter_host_sidecar *sc, const char *tls_name,
                    const mp_adapter_host_endpoint *e, size_t n, mp_buf *out) {
  mp_buf_puts(out, "  balance roundrobin\n");
  for (size_t i = 0; i < n; i++) {
    mp_buf_printf(out, "  server e%zu %s weight %u", i, e[i].address, e[i].weight);
    if (sc->mtls)
      mp_buf_printf(out, " ssl crt %s ca-file %s verify required verifyhost %s", sc->cert_key,
                    sc->ca, tls_name);
    mp_buf_printf(out, " # %s\n", e[i].workload);
  }
}

static void hosts_acl(mp_buf *out, const mp_adapter_host_route *r) {
  mp_buf_printf(out, "  acl host_%s hdr(host),field(1,:) -i", r->key);
  for (const char *const *h = r->hosts; *h; h++) mp_buf_printf(out, " %s", *h);
  mp_buf_puts(out, "\n");
}

static mp_status render(const mp_adapter_host_sidecar *sc, mp_buf *out) {
  mp_buf_printf(out,
                "# meshplane HAProxy sidecar of %s/%s (%s), generation %lu.\n"
                "# Generated by meshplane-adapter-haproxy: changes are overwritten.\n"
                "global\n  pidfile %s/haproxy.pid\n  nbthread 1\n  maxconn 4096\n"
                "  log stderr format raw local0 notice\n  hard-stop-after 60s\n"
                "  ssl-default-bind-options ssl-min-ver TLSv1.2\n"
                "  ssl-default-server-options ssl-min-ver TLSv1.2\n",
                sc->ns, sc->name, sc->identity, sc->generation, sc->dir);
  if (sc->as_root)
    mp_buf_printf(out, "  user nobody\n%s", getgrnam("nogroup") ? "  group nogroup\n" : "");
  mp_buf_puts(out, "defaults\n  mode http\n  timeout connect 5s\n  timeout client 120s\n"
                   "  timeout server 120s\n  timeout http-keep-alive 75s\n  retries 3\n"
                   "  retry-on conn-failure empty-response\n  option http-keep-alive\n"
                   "  http-reuse always\n");
  /* Inbound: in front of the app. */
  mp_buf_printf(out, "frontend inbound\n  bind %s:%d", sc->listen_ip, sc->inbound_port);
  if (sc->mtls) mp_buf_printf(out, " ssl crt %s ca-file %s verify required", sc->cert_key, sc->ca);
  mp_buf_puts(out, "\n  http-request del-header X-Meshplane-Peer\n");
  if (sc->access_control && sc->mtls)
    access_rules(sc, out);
  else if (sc->access_control)
    mp_buf_puts(out, "  http-request deny status 403 content-type text/plain "
                     "string 'RBAC: access denied (no mTLS)'\n");
  mp_buf_printf(out, "  default_backend app\nbackend app\n  server app %s\n", sc->app_address);
  /* Outbound: the admin answer, routes by Host, 404 for the rest. */
  mp_buf_printf(out,
                "frontend outbound\n  bind %s:%d\n"
                "  http-request return status 200 content-type text/plain string '%lu' if "
                "{ hdr(host),field(1,:) -i %s } { path /generation }\n",
                sc->listen_ip, sc->outbound_port, sc->generation, sc->admin_host);
  for (size_t i = 0; i < sc->n_routes; i++) {
    const mp_adapter_host_route *r = &sc->routes[i];
    hosts_acl(out, r);
    if (r->n_split) {
      mp_buf cond = {0};
      for (size_t j = 0; j < r->n_split_matches; j++) {
        char prefix[160];
        snprintf(prefix, sizeof prefix, "mesh_sm_%s_%zu", r->key, j);
        mp_buf one = {0};
        match_acls(out, prefix, &r->split_matches[j], &one);
        mp_buf_printf(&cond, "%shost_%s%s", cond.len ? " || " : "", r->key,
                      one.data ? one.data : "");
        mp_buf_free(&one);
      }
      if (!cond.len) mp_buf_printf(&cond, "host_%s", r->key);
      mp_buf_printf(out, "  use_backend split_%s if %s\n", r->key, cond.data);
      mp_buf_free(&cond);
    }
    mp_buf_printf(out, "  use_backend svc_%s if host_%s\n", r->key, r->key);
  }
  mp_buf_puts(out, "  default_backend unknown\nbackend unknown\n"
                   "  http-request return status 404 content-type text/plain "
                   "string 'no such service in the mesh'\n");
  for (size_t i = 0; i < sc->n_routes; i++) {
    const mp_adapter_host_route *r = &sc->routes[i];
    mp_buf_printf(out, "backend svc_%s # Service %s/%s\n", r->key, r->ns, r->service);
    if (r->n_endpoints)
      servers(sc, r->tls_name, r->endpoints, r->n_endpoints, out);
    else
      mp_buf_printf(out,
                    "  http-request return status 503 content-type text/plain string "
                    "'no endpoints for service %s/%s'\n",
                    r->ns, r->service);
    if (r->n_split) {
      mp_buf_printf(out, "backend split_%s # TrafficSplit of %s/%s\n", r->key, r->ns, r->service);
      servers(sc, r->tls_name, r->split_endpoints, r->n_split, out);
    }
  }
  return MP_OK;
}

static size_t run_argv(const mp_adapter_host_sidecar *sc, const char *program, const char *conf,
                       bool check, const char **argv, size_t max) {
  size_t n = 0;
  argv[n++] = program;
  if (check) {
    argv[n++] = "-c";
    argv[n++] = "-q";
  } else {
    argv[n++] = "-W";
    argv[n++] = "-db";
  }
  argv[n++] = "-f";
  argv[n++] = conf;
  argv[n] = NULL;
  return n;
}

const mp_adapter_host_proxy mp_haproxy_proxy = {
    .abi_version = MP_ADAPTER_ABI_VERSION,
    .struct_size = sizeof(mp_adapter_host_proxy),
    .name = "haproxy",
    .program = "haproxy",
    .package = "haproxy",
    .render = render,
    .argv = run_argv,
    .reload_signal = SIGUSR2,
    .stop_signal = SIGTERM,
    .version_flag = "-v",
};
