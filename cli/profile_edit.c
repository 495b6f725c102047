/* Profile editing and the SMP PerformanceTestConfig reader (see profile_edit.h). */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "meshplane/yaml.h"
#include "profile_edit.h"

Meshplane__V1__PerformanceProfile *mctl_profile_new(void) {
  Meshplane__V1__PerformanceProfile *p = mp_malloc(sizeof *p);
  meshplane__v1__performance_profile__init(p);
  return p;
}

void mctl_set_str(char **field, const char *v) {
  if (*field && *field != protobuf_c_empty_string) mp_free(*field);
  *field = mp_strdup(v ? v : "");
}

void mctl_set_strs(char ***field, size_t *nfield, char *const *v, size_t n) {
  for (size_t i = 0; i < *nfield; i++) mp_free((*field)[i]);
  mp_free(*field);
  *field = n ? mp_calloc(n, sizeof **field) : NULL;
  for (size_t i = 0; i < n; i++) (*field)[i] = mp_strdup(v[i]);
  *nfield = n;
}

void mctl_set_bytes(ProtobufCBinaryData *field, const void *data, size_t len) {
  mp_free(field->data);
  field->data = NULL;
  field->len = len;
  if (len) {
    field->data = mp_malloc(len);
    memcpy(field->data, data, len);
  }
}

void mctl_set_metadata(Meshplane__V1__PerformanceProfile *p, const char *key, const char *value) {
  for (size_t i = 0; i < p->n_metadata; i++)
    if (!strcmp(p->metadata[i]->key, key)) {
      mctl_set_str(&p->metadata[i]->value, value);
      return;
    }
  Meshplane__V1__PerformanceProfile__MetadataEntry *e = mp_malloc(sizeof *e);
  meshplane__v1__performance_profile__metadata_entry__init(e);
  e->key = mp_strdup(key);
  e->value = mp_strdup(value);
  p->metadata = mp_realloc(p->metadata, (p->n_metadata + 1) * sizeof *p->metadata);
  p->metadata[p->n_metadata++] = e;
}

Meshplane__V1__LoadOptions *mctl_profile_options(Meshplane__V1__PerformanceProfile *p) {
  if (!p->options) {
    p->options = mp_malloc(sizeof *p->options);
    meshplane__v1__load_options__init(p->options);
  }
  return p->options;
}

bool mctl_parse_protocol(const char *s, Meshplane__V1__Protocol *out) {
  static const struct {
    const char *name;
    Meshplane__V1__Protocol v;
  } names[] = {
      {"auto", MESHPLANE__V1__PROTOCOL__PROTOCOL_AUTO},
      {"", MESHPLANE__V1__PROTOCOL__PROTOCOL_AUTO},
      {"http", MESHPLANE__V1__PROTOCOL__PROTOCOL_HTTP1},
      {"http1", MESHPLANE__V1__PROTOCOL__PROTOCOL_HTTP1},
      {"http/1.1", MESHPLANE__V1__PROTOCOL__PROTOCOL_HTTP1},
      {"http2", MESHPLANE__V1__PROTOCOL__PROTOCOL_HTTP2},
      {"h2", MESHPLANE__V1__PROTOCOL__PROTOCOL_HTTP2},
      {"grpc", MESHPLANE__V1__PROTOCOL__PROTOCOL_GRPC},
  };
  for (size_t i = 0; i < MP_ARRAY_LEN(names); i++)
    if (!strcasecmp(s, names[i].name)) {
      *out = names[i].v;
      return true;
    }
  return false;
}

/* ---- SMP -------------------------------------------------------------------------------- */

static const mp_yaml_node *get2(const mp_yaml_node *m, const char *snake, const char *camel) {
  const mp_yaml_node *n = mp_yaml_get(m, snake);
  return n ? n : mp_yaml_get(m, camel);
}

static void first_doc(void *arg, mp_yaml_node *root) {
  mp_yaml_node **out = arg;
  if (!*out) *out = root;
}

/* "Name: value" pairs or "a=1; b=2" from a mapping. */
static char *joined_pairs(const mp_yaml_node *m, const char *kv_sep, const char *sep) {
  mp_buf b = {0};
  for (size_t i = 0; i < mp_yaml_npairs(m); i++) {
    const char *k = mp_yaml_str(mp_yaml_key(m, i)), *v = mp_yaml_str(mp_yaml_val(m, i));
    mp_buf_printf(&b, "%s%s%s%s", i ? sep : "", k ? k : "", kv_sep, v ? v : "");
  }
  mp_buf_append(&b, "", 0); /* NUL-terminated even when empty */
  return mp_buf_steal(&b);
}

static mp_status smp_client(const mp_yaml_node *c, Meshplane__V1__PerformanceProfile *p) {
  const char *gen = mp_yaml_str(get2(c, "load_generator", "loadGenerator"));
  if (gen && *gen) mctl_set_strs(&p->load_generators, &p->n_load_generators, (char **)&gen, 1);
  const char *proto = mp_yaml_str(mp_yaml_get(c, "protocol"));
  if (proto) {
    Meshplane__V1__Protocol pr;
    if (!mctl_parse_protocol(proto, &pr))
      return mp_error_set(MP_ERR_INVALID,
                          "line %d: protocol \"%s\" is not one meshplane loads: use http, http2 "
                          "or grpc",
                          mp_yaml_line(mp_yaml_get(c, "protocol"), 0), proto);
    mctl_profile_options(p)->protocol = pr;
  }
  const mp_yaml_node *n;
  long v;
  if ((n = mp_yaml_get(c, "connections"))) {
    if (!mp_yaml_int(n, &v) || v < 1)
      return mp_error_set(MP_ERR_INVALID, "line %d: connections must be a whole number >= 1",
                          mp_yaml_line(n, 0));
    p->concurrent_request = (int32_t)v;
  }
  if ((n = mp_yaml_get(c, "rps"))) {
    const char *s = mp_yaml_str(n);
    char *end = NULL;
    double d = s ? strtod(s, &end) : -1;
    if (!s || end == s || *end || d < 0)
      return mp_error_set(MP_ERR_INVALID, "line %d: rps must be a number >= 0 (0 = max)",
                          mp_yaml_line(n, 0));
    p->qps = d;
  }
  if ((n = mp_yaml_get(c, "headers"))) {
    char *h = joined_pairs(n, ": ", "\n");
    size_t count = 0;
    char **list = mp_calloc(mp_yaml_npairs(n) + 1, sizeof *list);
    for (char *save = NULL, *tok = strtok_r(h, "\n", &save); tok; tok = strtok_r(NULL, "\n", &save))
      list[count++] = tok;
    mctl_set_strs(&p->request_headers, &p->n_request_headers, list, count);
    mp_free(list);
    mp_free(h);
  }
  if ((n = mp_yaml_get(c, "cookies"))) {
    char *ck = joined_pairs(n, "=", "; ");
    mctl_set_str(&p->request_cookies, ck);
    mp_free(ck);
  }
  const char *body = mp_yaml_str(mp_yaml_get(c, "body"));
  if (body) mctl_set_bytes(&p->request_body, body, strlen(body));
  const char *ct = mp_yaml_str(get2(c, "content_type", "contentType"));
  if (ct) mctl_set_str(&p->content_type, ct);
  const mp_yaml_node *urls = get2(c, "endpoint_urls", "endpointUrls");
  if (urls) {
    size_t nu = mp_yaml_len(urls);
    char **list = mp_calloc(nu + 1, sizeof *list);
    for (size_t i = 0; i < nu; i++) {
      const char *u = mp_yaml_str(mp_yaml_at(urls, i));
      list[i] = (char *)(u ? u : "");
    }
    mctl_set_strs(&p->endpoints, &p->n_endpoints, list, nu);
    mp_free(list);
  }
  return MP_OK;
}

mp_status mctl_smp_read(const char *doc, size_t len, Meshplane__V1__PerformanceProfile *p) {
  mp_arena arena = {0};
  mp_yaml_node *root = NULL;
  char err[256];
  int line = 0;
  mp_status st = MP_OK;
  if (!mp_yaml_parse(&arena, doc, len, first_doc, &root, err, sizeof err, &line)) {
    st = mp_error_set(MP_ERR_INVALID, "line %d: not valid YAML or JSON: %s", line, err);
  } else if (!mp_yaml_is_map(root)) {
    st = mp_error_set(MP_ERR_INVALID,
                      "line %d: expected an SMP PerformanceTestConfig: a mapping "
                      "with name, duration and clients",
                      mp_yaml_line(root, 1));
  } else {
    const char *name = mp_yaml_gets(root, "name");
    if (name && *name) mctl_set_str(&p->name, name);
    const char *dur = mp_yaml_gets(root, "duration");
    if (dur && *dur) mctl_set_str(&p->duration, dur);
    const char *mesh = mp_yaml_str(mp_yaml_path(root, "labels", "mesh", NULL));
    if (mesh && *mesh) mctl_set_str(&p->service_mesh, mesh);
    const mp_yaml_node *labels = mp_yaml_get(root, "labels");
    for (size_t i = 0; i < mp_yaml_npairs(labels); i++) {
      const char *k = mp_yaml_str(mp_yaml_key(labels, i)), *v = mp_yaml_str(mp_yaml_val(labels, i));
      if (k && v) mctl_set_metadata(p, k, v);
    }
    const char *smp_id = mp_yaml_gets(root, "id");
    if (smp_id && *smp_id) mctl_set_metadata(p, "smp_id", smp_id);
    const mp_yaml_node *clients = mp_yaml_get(root, "clients");
    if (clients && !mp_yaml_is_map(mp_yaml_at(clients, 0)))
      st = mp_error_set(MP_ERR_INVALID,
                        "line %d: clients must be a list of mappings: clients: [{endpoint_urls: "
                        "[...], connections: N, rps: N}]",
                        mp_yaml_line(clients, 1));
    else if (clients)
      st = smp_client(mp_yaml_at(clients, 0), p);
  }
  mp_arena_free(&arena);
  return st;
}
