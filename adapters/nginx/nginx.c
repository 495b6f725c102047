/* The nginx host mesh: each workload's sidecar is an nginx (Debian's nginx-light is
 * enough: http, ssl, map and upstream are core modules) running in the foreground under
 * the host platform's supervisor. This file is the proxy-specific part: the configuration
 * rendered from a sidecar view, how nginx is run, and how it reloads (SIGHUP: new workers
 * take the new configuration, old ones finish their in-flight requests).
 *
 * Identity: nginx exposes no variable for a client certificate's SAN, and njs is not
 * used. The inbound listener matches the client certificate's PEM ($ssl_client_raw_cert)
 * against the base64 of the DER bytes of the SAN entry (tag 0x86, length, SPIFFE URI), at
 * each of the three byte alignments base64 can have, with an optional line break between
 * any two characters. A match therefore means the certificate, which nginx verified
 * against the mesh CA, carries exactly that URI SAN. */
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "nginx.h"

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Appends a regex that matches the base64 of bytes (n of them) wherever they sit in a
 * base64 stream with line breaks: one alternative per alignment. A character whose six
 * bits all come from these bytes is matched as itself; one that shares bits with the
 * bytes around them (at either end) as the class of characters with those bits, so every
 * bit of every byte is checked. Escaped for an nginx quoted string. */
static void b64_regex(mp_buf *out, const unsigned char *bytes, size_t n) {
  mp_buf_puts(out, "(?:");
  for (size_t lead = 0; lead < 3; lead++) {
    size_t lo = 8 * lead, hi = 8 * (lead + n), nchars = (hi + 5) / 6;
    if (lead) mp_buf_puts(out, "|");
    for (size_t i = lo / 6; i < nchars; i++) {
      unsigned want = 0, mask = 0; /* the known bits of character i */
      for (size_t b = 6 * i; b < 6 * i + 6; b++) {
        want <<= 1;
        mask <<= 1;
        if (b >= lo && b < hi) {
          want |= (bytes[(b - lo) / 8] >> (7 - (b - lo) % 8)) & 1u;
          mask |= 1;
        }
      }
      if (mask == 0x3f) {
        char c = b64[want];
        if (c == '+')
          mp_buf_puts(out, "\\+");
        else
          mp_buf_printf(out, "%c", c);
      } else {
        mp_buf_puts(out, "[");
        for (unsigned v = 0; v < 64; v++)
          if ((v & mask) == want) mp_buf_printf(out, "%s%c", b64[v] == '+' ? "\\" : "", b64[v]);
        mp_buf_puts(out, "]");
      }
      if (i + 1 < nchars) mp_buf_puts(out, "\\n?");
    }
  }
  mp_buf_puts(out, ")");
}

/* A user regex in an nginx quoted string: backslashes doubled (the configuration parser
 * turns \\ back into \; quotes and control characters were refused by the platform). */
static void quoted_regex(mp_buf *out, const char *re) {
  for (; *re; re++) mp_buf_puts(out, *re == '\\' ? "\\\\" : (char[2]){*re, 0});
}

/* The variable name nginx gives a request header: $http_ + lower case, '-' as '_'. */
static void header_var(mp_buf *out, const char *name) {
  mp_buf_puts(out, "$http_");
  for (; *name; name++) {
    char c = *name;
    if (c >= 'A' && c <= 'Z') c = (char)(c - 'A' + 'a');
    if (c == '-') c = '_';
    mp_buf_printf(out, "%c", c);
  }
}

/* Maps for one HTTPRouteGroup match (prefix names its variables); appends to cond the
 * variables that must all be 1. */
static void match_maps(mp_buf *out, const char *prefix, const mp_adapter_host_match *m,
                       mp_buf *cond) {
  if (m->path_regex) {
    mp_buf_printf(out, "  map $uri $%s_path {\n    \"~^(?:", prefix);
    quoted_regex(out, m->path_regex);
    mp_buf_puts(out, ")\" 1;\n    default 0;\n  }\n");
    mp_buf_printf(cond, "$%s_path", prefix);
  }
  if (m->methods) {
    mp_buf_printf(out, "  map $request_method $%s_method {\n", prefix);
    for (const char *const *me = m->methods; *me; me++) mp_buf_printf(out, "    %s 1;\n", *me);
    mp_buf_puts(out, "    default 0;\n  }\n");
    mp_buf_printf(cond, "$%s_method", prefix);
  }
  for (size_t k = 0; m->headers && m->headers[k]; k += 2) {
    mp_buf_puts(out, "  map ");
    header_var(out, m->headers[k]);
    mp_buf_printf(out, " $%s_h%zu {\n    \"~", prefix, k / 2);
    quoted_regex(out, m->headers[k + 1]);
    mp_buf_puts(out, "\" 1;\n    default 0;\n  }\n");
    mp_buf_printf(cond, "$%s_h%zu", prefix, k / 2);
  }
}

/* A map setting $name to 1 when every variable of cond is 1 (or always, cond empty). */
static void all_of(mp_buf *out, const char *name, const mp_buf *cond) {
  size_t n = 0;
  for (const char *p = cond->data; p && *p; p++) n += *p == '$';
  if (!n) {
    mp_buf_printf(out, "  map $uri $%s {\n    default 1;\n  }\n", name);
    return;
  }
  mp_buf_printf(out, "  map \"%s\" $%s {\n    \"", cond->data, name);
  for (size_t i = 0; i < n; i++) mp_buf_puts(out, "1");
  mp_buf_puts(out, "\" 1;\n    default 0;\n  }\n");
}

/* $mesh_peer: the SPIFFE ID of the client certificate; $mesh_allow: 1 when a
 * TrafficTarget admits the request. */
static void access_maps(const mp_adapter_host_sidecar *sc, mp_buf *out) {
  mp_buf der = {0};
  mp_buf_puts(out, "  # Identities: the client certificate's URI SAN (see nginx.c).\n"
                   "  map $ssl_client_raw_cert $mesh_peer {\n    default \"\";\n");
  const char **seen = mp_calloc(1, sizeof *seen);
  size_t nseen = 0;
  for (size_t i = 0; i < sc->n_allow; i++)
    for (const char *const *s = sc->allow[i].sources; *s; s++) {
      bool dup = false;
      for (size_t j = 0; j < nseen && !dup; j++) dup = !strcmp(seen[j], *s);
      if (dup) continue;
      seen = mp_realloc(seen, (nseen + 1) * sizeof *seen);
      seen[nseen++] = *s;
      mp_adapter_host_uri_der(*s, &der);
      mp_buf_puts(out, "    \"~");
      b64_regex(out, (const unsigned char *)der.data, der.len);
      mp_buf_printf(out, "\" \"%s\";\n", *s);
    }
  mp_free(seen);
  mp_buf_free(&der);
  mp_buf_puts(out, "  }\n");
  mp_buf any = {0};
  for (size_t i = 0; i < sc->n_allow; i++) {
    const mp_adapter_host_allow *a = &sc->allow[i];
    mp_buf_printf(out, "  # TrafficTarget %s\n  map $mesh_peer $mesh_a%zu_src {\n", a->name, i);
    for (const char *const *s = a->sources; *s; s++) mp_buf_printf(out, "    \"%s\" 1;\n", *s);
    mp_buf_puts(out, "    default 0;\n  }\n");
    size_t nm = a->n_matches ? a->n_matches : 1;
    for (size_t j = 0; j < nm; j++) {
      char prefix[96], name[96];
      snprintf(prefix, sizeof prefix, "mesh_a%zu_m%zu", i, j);
      snprintf(name, sizeof name, "mesh_a%zu_ok%zu", i, j);
      mp_buf cond = {0};
      mp_buf_printf(&cond, "$mesh_a%zu_src", i);
      if (a->n_matches) match_maps(out, prefix, &a->matches[j], &cond);
      all_of(out, name, &cond);
      mp_buf_printf(&any, "$%s", name);
      mp_buf_free(&cond);
    }
  }
  if (any.len)
    mp_buf_printf(out, "  map \"%s\" $mesh_allow {\n    \"~1\" 1;\n    default 0;\n  }\n",
                  any.data);
  else
    mp_buf_puts(out, "  map $uri $mesh_allow {\n    default 0;\n  }\n");
  mp_buf_free(&any);
}

/* peer: tell the app who called (the caller's SPIFFE ID, when a TrafficTarget names it);
 * otherwise a header of that name from the caller is removed. */
static void proxy_headers(mp_buf *out, const char *indent, bool peer) {
  mp_buf_printf(out, "%sproxy_set_header Host $http_host;\n%sproxy_set_header Connection \"\";\n",
                indent, indent);
  mp_buf_printf(out, "%sproxy_set_header X-Meshplane-Peer %s;\n", indent,
                peer ? "$mesh_peer" : "\"\"");
}

static void upstream(mp_buf *out, const char *name, const mp_adapter_host_endpoint *e, size_t n) {
  mp_buf_printf(out, "  upstream %s {\n", name);
  for (size_t i = 0; i < n; i++)
    mp_buf_printf(out, "    server %s weight=%u max_fails=0; # %s\n", e[i].address, e[i].weight,
                  e[i].workload);
  mp_buf_puts(out, "    keepalive 32;\n  }\n");
}

static void route(const mp_adapter_host_sidecar *sc, const mp_adapter_host_route *r, mp_buf *out) {
  const char *scheme = sc->mtls ? "https" : "http";
  if (r->n_endpoints) {
    char *name = mp_asprintf("mesh_svc_%s", r->key);
    upstream(out, name, r->endpoints, r->n_endpoints);
    mp_free(name);
  }
  mp_buf target = {0};
  if (r->n_split) {
    char *name = mp_asprintf("mesh_split_%s", r->key);
    upstream(out, name, r->split_endpoints, r->n_split);
    mp_free(name);
    if (r->n_split_matches) {
      mp_buf any = {0};
      for (size_t j = 0; j < r->n_split_matches; j++) {
        char prefix[96], ok[96];
        snprintf(prefix, sizeof prefix, "mesh_sm_%s_%zu", r->key, j);
        snprintf(ok, sizeof ok, "mesh_sm_%s_ok%zu", r->key, j);
        mp_buf cond = {0};
        match_maps(out, prefix, &r->split_matches[j], &cond);
        all_of(out, ok, &cond);
        mp_buf_printf(&any, "$%s", ok);
        mp_buf_free(&cond);
      }
      /* Requests the split's matches select go to the split, others to the root's own
       * endpoints ("" when it has none: answered 503 below). */
      mp_buf_printf(out, "  map \"%s\" $mesh_to_%s {\n    \"~1\" mesh_split_%s;\n", any.data,
                    r->key, r->key);
      if (r->n_endpoints)
        mp_buf_printf(out, "    default mesh_svc_%s;\n  }\n", r->key);
      else
        mp_buf_puts(out, "    default \"\";\n  }\n");
      mp_buf_free(&any);
      mp_buf_printf(&target, "%s://$mesh_to_%s", scheme, r->key);
    } else {
      mp_buf_printf(&target, "%s://mesh_split_%s", scheme, r->key);
    }
  } else if (r->n_endpoints) {
    mp_buf_printf(&target, "%s://mesh_svc_%s", scheme, r->key);
  }
  mp_buf_printf(out, "  server { # Service %s/%s\n    listen %s:%d;\n    server_name", r->ns,
                r->service, sc->listen_ip, sc->outbound_port);
  for (const char *const *h = r->hosts; *h; h++) mp_buf_printf(out, " %s", *h);
  mp_buf_puts(out, ";\n");
  if (!target.len) {
    mp_buf_printf(out, "    return 503 \"no endpoints for service %s/%s\\n\";\n  }\n", r->ns,
                  r->service);
    return;
  }
  proxy_headers(out, "    ", false);
  if (sc->mtls)
    mp_buf_printf(out,
                  "    proxy_ssl_certificate %s;\n    proxy_ssl_certificate_key %s;\n"
                  "    proxy_ssl_trusted_certificate %s;\n    proxy_ssl_verify on;\n"
                  "    proxy_ssl_verify_depth 1;\n    proxy_ssl_name %s;\n"
                  "    proxy_ssl_protocols TLSv1.2 TLSv1.3;\n    proxy_ssl_session_reuse on;\n",
                  sc->cert, sc->key, sc->ca, r->tls_name);
  mp_buf_puts(out, "    location / {\n");
  if (r->n_split && r->n_split_matches && !r->n_endpoints)
    mp_buf_printf(out,
                  "      if ($mesh_to_%s = \"\") {\n        return 503 \"no endpoints for "
                  "service %s/%s\\n\";\n      }\n",
                  r->key, r->ns, r->service);
  mp_buf_printf(out, "      proxy_pass %s;\n    }\n  }\n", target.data);
  mp_buf_free(&target);
}

static mp_status render(const mp_adapter_host_sidecar *sc, mp_buf *out) {
  mp_buf_printf(out,
                "# meshplane nginx sidecar of %s/%s (%s), generation %lu.\n"
                "# Generated by meshplane-adapter-nginx: changes are overwritten.\n"
                "daemon off;\nmaster_process on;\nworker_processes 1;\npid %s/nginx.pid;\n"
                "error_log stderr notice;\n",
                sc->ns, sc->name, sc->identity, sc->generation, sc->dir);
  if (sc->as_root) mp_buf_printf(out, "user nobody%s;\n", getgrnam("nogroup") ? " nogroup" : "");
  mp_buf_printf(
      out,
      "events {\n  worker_connections 4096;\n}\nhttp {\n  access_log off;\n"
      "  server_tokens off;\n  default_type application/octet-stream;\n"
      "  keepalive_timeout 75s;\n  keepalive_requests 100000;\n"
      "  proxy_http_version 1.1;\n  proxy_buffering off;\n  proxy_request_buffering off;\n"
      "  map_hash_bucket_size 512;\n  server_names_hash_bucket_size 256;\n"
      "  client_body_temp_path %s/tmp/body;\n  proxy_temp_path %s/tmp/proxy;\n"
      "  fastcgi_temp_path %s/tmp/fastcgi;\n  uwsgi_temp_path %s/tmp/uwsgi;\n"
      "  scgi_temp_path %s/tmp/scgi;\n",
      sc->dir, sc->dir, sc->dir, sc->dir, sc->dir);
  bool check = sc->mtls && sc->access_control;
  if (check) access_maps(sc, out);
  /* Inbound: in front of the app. */
  mp_buf_printf(out, "  upstream mesh_app {\n    server %s max_fails=0;\n    keepalive 32;\n  }\n",
                sc->app_address);
  mp_buf_printf(out, "  server { # inbound\n    listen %s:%d%s;\n", sc->listen_ip, sc->inbound_port,
                sc->mtls ? " ssl" : "");
  if (sc->mtls)
    mp_buf_printf(out,
                  "    ssl_certificate %s;\n    ssl_certificate_key %s;\n"
                  "    ssl_client_certificate %s;\n    ssl_verify_client on;\n"
                  "    ssl_verify_depth 1;\n    ssl_protocols TLSv1.2 TLSv1.3;\n"
                  "    ssl_session_cache shared:mesh_in:1m;\n",
                  sc->cert, sc->key, sc->ca);
  proxy_headers(out, "    ", check);
  mp_buf_puts(out, "    location / {\n");
  if (sc->access_control)
    mp_buf_puts(out, check ? "      if ($mesh_allow = 0) {\n        return 403 \"RBAC: access "
                             "denied\\n\";\n      }\n"
                           : "      return 403 \"RBAC: access denied (no mTLS)\\n\";\n");
  mp_buf_puts(out, "      proxy_pass http://mesh_app;\n    }\n  }\n");
  /* Outbound: routes by Host, the admin answer, and 404 for the rest. */
  mp_buf_printf(out,
                "  server { # outbound: unknown hosts\n    listen %s:%d default_server;\n"
                "    return 404 \"no service $host in the mesh\\n\";\n  }\n"
                "  server { # admin\n    listen %s:%d;\n    server_name %s;\n"
                "    location = /generation {\n      return 200 \"%lu\";\n    }\n"
                "    location / {\n      return 404;\n    }\n  }\n",
                sc->listen_ip, sc->outbound_port, sc->listen_ip, sc->outbound_port, sc->admin_host,
                sc->generation);
  for (size_t i = 0; i < sc->n_routes; i++) route(sc, &sc->routes[i], out);
  mp_buf_puts(out, "}\n");
  return MP_OK;
}

static size_t run_argv(const mp_adapter_host_sidecar *sc, const char *program, const char *conf,
                       bool check, const char **argv, size_t max) {
  size_t n = 0;
  argv[n++] = program;
  if (check) {
    argv[n++] = "-t";
    argv[n++] = "-q";
  }
  argv[n++] = "-e";
  argv[n++] = "stderr";
  argv[n++] = "-p";
  argv[n++] = sc->dir;
  argv[n++] = "-c";
  argv[n++] = conf;
  argv[n] = NULL;
  return n;
}

const mp_adapter_host_proxy mp_nginx_proxy = {
    .abi_version = MP_ADAPTER_ABI_VERSION,
    .struct_size = sizeof(mp_adapter_host_proxy),
    .name = "nginx",
    .program = "nginx",
    .package = "nginx-light",
    .render = render,
    .argv = run_argv,
    .reload_signal = SIGHUP,
    .stop_signal = SIGTERM,
    .version_flag = "-v",
};
