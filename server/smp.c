/* ImportProfile: a profile from an SMP PerformanceTestConfig (https://smp-spec.io), in
 * YAML or JSON (snake_case or the camelCase of the proto JSON mapping). The first client
 * gives the load; labels become metadata, and the "mesh" label the service mesh. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "meshplane/yaml.h"
#include "server.h"

/* A key in snake_case or camelCase. */
static const mp_yaml_node *get2(const mp_yaml_node *m, const char *snake, const char *camel) {
  const mp_yaml_node *n = mp_yaml_get(m, snake);
  return n ? n : mp_yaml_get(m, camel);
}

static char *dup_or_empty(const char *s) { return mp_strdup(s ? s : ""); }

typedef struct first_doc {
  const mp_yaml_node *root;
} first_doc;

static void on_doc(void *arg, mp_yaml_node *root) {
  first_doc *f = arg;
  if (!f->root) f->root = root;
}

/* Builds a heap profile from the document (free with protobuf_c_message_free_unpacked). */
static mp_status from_smp(const char *doc, size_t len, Meshplane__V1__PerformanceProfile **out) {
  mp_arena arena = {0};
  first_doc f = {0};
  char err[256];
  int line = 0;
  if (!mp_yaml_parse(&arena, doc, len, on_doc, &f, err, sizeof err, &line)) {
    mp_arena_free(&arena);
    return mp_error_set(MP_ERR_INVALID, "the document is not valid YAML or JSON (line %d: %s)",
                        line, err);
  }
  const mp_yaml_node *root = f.root;
  mp_status st = MP_OK;
  const mp_yaml_node *clients = mp_yaml_get(root, "clients");
  const mp_yaml_node *c = mp_yaml_at(clients, 0);
  if (!mp_yaml_is_map(root)) {
    st = mp_error_set(MP_ERR_INVALID, "expected an SMP PerformanceTestConfig (a mapping with name, "
                                      "duration and clients)");
  } else if (!mp_yaml_is_map(c)) {
    st = mp_error_set(MP_ERR_INVALID,
                      "the SMP document has no clients: add clients: [{endpoint_urls: [...], "
                      "connections: N, rps: N}] (line %d)",
                      mp_yaml_line(root, 1));
  }
  if (st != MP_OK) {
    mp_arena_free(&arena);
    return st;
  }
  Meshplane__V1__PerformanceProfile *p = mp_malloc(sizeof *p);
  meshplane__v1__performance_profile__init(p);
  p->name = dup_or_empty(mp_yaml_gets(root, "name"));
  p->duration = dup_or_empty(mp_yaml_gets(root, "duration"));
  long v = 0;
  if (mp_yaml_int(mp_yaml_get(c, "connections"), &v)) p->concurrent_request = (int32_t)v;
  const char *rps = mp_yaml_str(mp_yaml_get(c, "rps"));
  if (rps) p->qps = strtod(rps, NULL);
  const char *gen = mp_yaml_str(get2(c, "load_generator", "loadGenerator"));
  if (gen && *gen) {
    p->load_generators = mp_calloc(1, sizeof *p->load_generators);
    p->load_generators[p->n_load_generators++] = mp_strdup(gen);
  }
  const mp_yaml_node *urls = get2(c, "endpoint_urls", "endpointUrls");
  p->endpoints = mp_calloc(mp_yaml_len(urls) + 1, sizeof *p->endpoints);
  for (size_t i = 0; i < mp_yaml_len(urls); i++)
    p->endpoints[p->n_endpoints++] = dup_or_empty(mp_yaml_str(mp_yaml_at(urls, i)));
  const mp_yaml_node *h = mp_yaml_get(c, "headers");
  p->request_headers = mp_calloc(mp_yaml_npairs(h) + 1, sizeof *p->request_headers);
  for (size_t i = 0; i < mp_yaml_npairs(h); i++)
    p->request_headers[p->n_request_headers++] =
        mp_asprintf("%s: %s", mp_yaml_str(mp_yaml_key(h, i)) ? mp_yaml_str(mp_yaml_key(h, i)) : "",
                    mp_yaml_str(mp_yaml_val(h, i)) ? mp_yaml_str(mp_yaml_val(h, i)) : "");
  const mp_yaml_node *ck = mp_yaml_get(c, "cookies");
  mp_buf cookies = {0};
  for (size_t i = 0; i < mp_yaml_npairs(ck); i++)
    mp_buf_printf(&cookies, "%s%s=%s", i ? "; " : "", mp_yaml_str(mp_yaml_key(ck, i)),
                  mp_yaml_str(mp_yaml_val(ck, i)) ? mp_yaml_str(mp_yaml_val(ck, i)) : "");
  p->request_cookies = mp_buf_steal(&cookies);
  const char *body = mp_yaml_str(mp_yaml_get(c, "body"));
  if (body && *body) {
    p->request_body.len = strlen(body);
    p->request_body.data = (uint8_t *)mp_strdup(body);
  }
  p->content_type = dup_or_empty(mp_yaml_str(get2(c, "content_type", "contentType")));
  const mp_yaml_node *labels = mp_yaml_get(root, "labels");
  const char *mesh = NULL;
  p->metadata = mp_calloc(mp_yaml_npairs(labels) + 2, sizeof *p->metadata);
  for (size_t i = 0; i < mp_yaml_npairs(labels); i++) {
    Meshplane__V1__PerformanceProfile__MetadataEntry *e = mp_malloc(sizeof *e);
    meshplane__v1__performance_profile__metadata_entry__init(e);
    e->key = dup_or_empty(mp_yaml_str(mp_yaml_key(labels, i)));
    e->value = dup_or_empty(mp_yaml_str(mp_yaml_val(labels, i)));
    if (!strcmp(e->key, "mesh") && !mesh) mesh = e->value;
    p->metadata[p->n_metadata++] = e;
  }
  const char *smp_id = mp_yaml_gets(root, "id");
  if (smp_id && *smp_id) {
    Meshplane__V1__PerformanceProfile__MetadataEntry *e = mp_malloc(sizeof *e);
    meshplane__v1__performance_profile__metadata_entry__init(e);
    e->key = mp_strdup("smp_id");
    e->value = mp_strdup(smp_id);
    p->metadata[p->n_metadata++] = e;
  }
  p->service_mesh = mp_strdup(mesh ? mesh : "");
  mp_arena_free(&arena);
  *out = p;
  return MP_OK;
}

void mp_profiles_import(mp_server *s, const Meshplane__V1__ImportProfileRequest *in,
                        Meshplane__V1__PerformanceProfile_Closure done, void *cd) {
  if (!in->document || !*in->document) {
    mp_rpc_fail(cd, MP_RPC_INVALID_ARGUMENT, "document is required: an SMP PerformanceTestConfig");
    return;
  }
  Meshplane__V1__PerformanceProfile *p = NULL;
  mp_status st = from_smp(in->document, strlen(in->document), &p);
  if (st != MP_OK) {
    mp_server_fail_status(cd, st);
    return;
  }
  if (in->name && *in->name) {
    mp_free(p->name);
    p->name = mp_strdup(in->name);
  }
  Meshplane__V1__CreateProfileRequest req = MESHPLANE__V1__CREATE_PROFILE_REQUEST__INIT;
  req.profile = p;
  mp_profiles_create(s, &req, done, cd);
  protobuf_c_message_free_unpacked(&p->base, NULL);
}
