/* YAML with libyaml: listing the objects of a multi-document manifest (to validate custom
 * YAML and describe what an operation applied), and flattening `kind: List` documents
 * (kubectl get -o yaml) into one document per object for the analyzer. Bounded on every
 * axis so that hostile input costs little: input size, documents, nodes copied, depth. */
#include <string.h>
#include <yaml.h>

#include "internal.h"

#define INPUT_MAX (32u << 20)
#define DOCS_MAX 100000
#define COPY_NODES_MAX 2000000
#define DEPTH_MAX 200

void mp__ysum_free(mp__ysum *s) {
  if (!s) return;
  for (size_t i = 0; i < s->n; i++) {
    mp_free(s->objs[i].api_version);
    mp_free(s->objs[i].kind);
    mp_free(s->objs[i].name);
    mp_free(s->objs[i].ns);
  }
  mp_free(s->objs);
  memset(s, 0, sizeof *s);
}

static mp_status parse_error(yaml_parser_t *p) {
  return mp_error_set(MP_ERR_INVALID, "line %zu column %zu: %s%s%s",
                      (size_t)p->problem_mark.line + 1, (size_t)p->problem_mark.column + 1,
                      p->problem ? p->problem : "invalid YAML", p->context ? " " : "",
                      p->context ? p->context : "");
}

/* The value node of key in a mapping node, or NULL. */
static yaml_node_t *map_get(yaml_document_t *d, yaml_node_t *m, const char *key) {
  if (!m || m->type != YAML_MAPPING_NODE) return NULL;
  for (yaml_node_pair_t *p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top; p++) {
    yaml_node_t *k = yaml_document_get_node(d, p->key);
    if (k && k->type == YAML_SCALAR_NODE && k->data.scalar.length == strlen(key) &&
        !memcmp(k->data.scalar.value, key, k->data.scalar.length))
      return yaml_document_get_node(d, p->value);
  }
  return NULL;
}

static char *scalar_dup(yaml_node_t *n) {
  if (!n || n->type != YAML_SCALAR_NODE) return mp_strdup("");
  return mp_strndup((const char *)n->data.scalar.value, n->data.scalar.length);
}

static bool empty_root(yaml_node_t *root) {
  return !root || (root->type == YAML_SCALAR_NODE && root->data.scalar.length == 0);
}

mp_status mp__yaml_summary(const char *data, size_t len, bool strict, mp__ysum *out) {
  memset(out, 0, sizeof *out);
  if (len > INPUT_MAX)
    return mp_error_set(MP_ERR_INVALID, "YAML of %zu bytes is over the %u byte limit", len,
                        INPUT_MAX);
  yaml_parser_t p;
  yaml_parser_initialize(&p);
  yaml_parser_set_input_string(&p, (const unsigned char *)data, len);
  size_t cap = 0;
  mp_status st = MP_OK;
  for (int ndoc = 0; st == MP_OK; ndoc++) {
    yaml_document_t d;
    if (!yaml_parser_load(&p, &d)) {
      st = parse_error(&p);
      break;
    }
    yaml_node_t *root = yaml_document_get_root_node(&d);
    if (!root) { /* end of the stream */
      yaml_document_delete(&d);
      break;
    }
    if (ndoc >= DOCS_MAX) {
      st = mp_error_set(MP_ERR_INVALID, "more than %d YAML documents", DOCS_MAX);
    } else if (!empty_root(root)) {
      size_t line = (size_t)root->start_mark.line + 1;
      yaml_node_t *meta = map_get(&d, root, "metadata");
      yaml_node_t *av = map_get(&d, root, "apiVersion"), *kind = map_get(&d, root, "kind");
      yaml_node_t *name = map_get(&d, meta, "name");
      if (strict && root->type != YAML_MAPPING_NODE) {
        st = mp_error_set(MP_ERR_INVALID,
                          "line %zu: a document is not a mapping (a Kubernetes "
                          "object starts with apiVersion: and kind:)",
                          line);
      } else if (strict &&
                 (!av || av->type != YAML_SCALAR_NODE || !kind || kind->type != YAML_SCALAR_NODE)) {
        st = mp_error_set(MP_ERR_INVALID, "line %zu: the document lacks apiVersion or kind", line);
      } else if (strict && (!name || name->type != YAML_SCALAR_NODE || !name->data.scalar.length)) {
        st = mp_error_set(MP_ERR_INVALID, "line %zu: the document lacks metadata.name", line);
      } else {
        if (out->n == cap) {
          cap = cap ? cap * 2 : 16;
          out->objs = mp_realloc(out->objs, cap * sizeof *out->objs);
        }
        mp__yobj *o = &out->objs[out->n++];
        o->api_version = scalar_dup(av);
        o->kind = scalar_dup(kind);
        o->name = scalar_dup(name);
        o->ns = scalar_dup(map_get(&d, meta, "namespace"));
        o->line = (int)line;
      }
    }
    yaml_document_delete(&d);
  }
  yaml_parser_delete(&p);
  if (st != MP_OK) mp__ysum_free(out);
  return st;
}

void mp__ysum_describe(const mp__ysum *s, size_t max, mp_buf *out) {
  for (size_t i = 0; i < s->n && i < max; i++) {
    const mp__yobj *o = &s->objs[i];
    mp_buf_printf(out, "%s%s %s%s%s", i ? ", " : "", *o->kind ? o->kind : "?", o->ns,
                  *o->ns ? "/" : "", *o->name ? o->name : "?");
  }
  if (s->n > max) mp_buf_printf(out, " and %zu more", s->n - max);
}

/* ---- flattening lists ------------------------------------------------------------------- */

typedef struct copier {
  yaml_document_t *src, *dst;
  size_t nodes;
} copier;

/* Copies node idx of src into dst; returns the new index or 0 on failure/limits. */
static int copy_node(copier *c, int idx, int depth) {
  yaml_node_t *n = yaml_document_get_node(c->src, idx);
  if (!n || depth > DEPTH_MAX || ++c->nodes > COPY_NODES_MAX) return 0;
  switch (n->type) {
  case YAML_SCALAR_NODE:
    return yaml_document_add_scalar(c->dst, n->tag, n->data.scalar.value,
                                    (int)n->data.scalar.length, n->data.scalar.style);
  case YAML_SEQUENCE_NODE: {
    int s = yaml_document_add_sequence(c->dst, n->tag, n->data.sequence.style);
    for (yaml_node_item_t *it = n->data.sequence.items.start; s && it < n->data.sequence.items.top;
         it++) {
      /* Re-fetch: adding nodes to dst never moves src, but keep n current anyway. */
      int child = copy_node(c, *it, depth + 1);
      if (!child || !yaml_document_append_sequence_item(c->dst, s, child)) return 0;
    }
    return s;
  }
  case YAML_MAPPING_NODE: {
    int m = yaml_document_add_mapping(c->dst, n->tag, n->data.mapping.style);
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start; m && p < n->data.mapping.pairs.top;
         p++) {
      int k = copy_node(c, p->key, depth + 1);
      int v = k ? copy_node(c, p->value, depth + 1) : 0;
      if (!v || !yaml_document_append_mapping_pair(c->dst, m, k, v)) return 0;
    }
    return m;
  }
  default: return 0;
  }
}

static int write_buf(void *data, unsigned char *buffer, size_t size) {
  mp_buf_append(data, buffer, size);
  return 1;
}

/* Emits node idx of src as one document. */
static mp_status emit_doc(yaml_emitter_t *e, copier *c, int idx) {
  yaml_document_t dst;
  if (!yaml_document_initialize(&dst, NULL, NULL, NULL, 0, 1))
    return mp_error_set(MP_ERR_INTERNAL, "libyaml: cannot start a document");
  c->dst = &dst;
  if (!copy_node(c, idx, 0)) {
    yaml_document_delete(&dst);
    return mp_error_set(MP_ERR_INVALID,
                        "YAML too large or too deeply nested to rewrite (over "
                        "%d nodes or %d levels)",
                        COPY_NODES_MAX, DEPTH_MAX);
  }
  if (!yaml_emitter_dump(e, &dst)) /* dump deletes dst */
    return mp_error_set(MP_ERR_INTERNAL, "libyaml: %s", e->problem ? e->problem : "emit failed");
  return MP_OK;
}

/* One output stream of rewritten documents. */
typedef struct sink {
  yaml_emitter_t e;
  mp_buf buf;
  bool opened, any;
} sink;

static mp_status sink_open(sink *k) {
  memset(k, 0, sizeof *k);
  yaml_emitter_initialize(&k->e);
  yaml_emitter_set_unicode(&k->e, 1);
  yaml_emitter_set_width(&k->e, -1);
  yaml_emitter_set_output(&k->e, write_buf, &k->buf);
  k->opened = yaml_emitter_open(&k->e);
  return k->opened ? MP_OK : mp_error_set(MP_ERR_INTERNAL, "libyaml: cannot open an emitter");
}

/* Closes k and, when all went well, appends what it wrote to dst. */
static mp_status sink_close(sink *k, mp_status st, mp_buf *dst) {
  if (k->opened && st == MP_OK && !yaml_emitter_close(&k->e))
    st = mp_error_set(MP_ERR_INTERNAL, "libyaml: cannot close an emitter");
  yaml_emitter_flush(&k->e);
  yaml_emitter_delete(&k->e);
  if (st == MP_OK && k->any && dst) mp_buf_append(dst, k->buf.data, k->buf.len);
  mp_buf_free(&k->buf);
  return st;
}

/* Emits object idx of c->src to sinks[0], or to sinks[1] when by_ns and the object names
 * its metadata.namespace. */
static mp_status route(copier *c, int idx, bool by_ns, sink *sinks) {
  yaml_node_t *obj = yaml_document_get_node(c->src, idx);
  yaml_node_t *ns = map_get(c->src, map_get(c->src, obj, "metadata"), "namespace");
  sink *k = &sinks[by_ns && ns && ns->type == YAML_SCALAR_NODE && ns->data.scalar.length ? 1 : 0];
  k->any = true;
  return emit_doc(&k->e, c, idx);
}

/* Parses data and writes each object (items of `kind: List` documents one by one) as its
 * own document to plain, or, with by_ns, objects naming a namespace to namespaced. */
static mp_status rewrite(const char *data, size_t len, bool by_ns, mp_buf *plain,
                         mp_buf *namespaced) {
  if (len > INPUT_MAX)
    return mp_error_set(MP_ERR_INVALID, "YAML of %zu bytes is over the %u byte limit", len,
                        INPUT_MAX);
  yaml_parser_t p;
  yaml_parser_initialize(&p);
  yaml_parser_set_input_string(&p, (const unsigned char *)data, len);
  sink sinks[2];
  mp_status st = sink_open(&sinks[0]);
  mp_status st1 = sink_open(&sinks[1]);
  if (st == MP_OK) st = st1;
  copier c = {0};
  for (int ndoc = 0; st == MP_OK; ndoc++) {
    yaml_document_t d;
    if (!yaml_parser_load(&p, &d)) {
      st = parse_error(&p);
      break;
    }
    yaml_node_t *root = yaml_document_get_root_node(&d);
    if (!root) {
      yaml_document_delete(&d);
      break;
    }
    c.src = &d;
    if (ndoc >= DOCS_MAX) {
      st = mp_error_set(MP_ERR_INVALID, "more than %d YAML documents", DOCS_MAX);
    } else if (!empty_root(root)) {
      yaml_node_t *kind = map_get(&d, root, "kind"), *items = map_get(&d, root, "items");
      bool list = kind && kind->type == YAML_SCALAR_NODE && kind->data.scalar.length == 4 &&
                  !memcmp(kind->data.scalar.value, "List", 4) && items &&
                  items->type == YAML_SEQUENCE_NODE;
      if (list) {
        for (yaml_node_item_t *it = items->data.sequence.items.start;
             st == MP_OK && it < items->data.sequence.items.top; it++)
          if (!empty_root(yaml_document_get_node(&d, *it))) st = route(&c, *it, by_ns, sinks);
      } else {
        st = route(&c, (int)(root - d.nodes.start) + 1, by_ns, sinks);
      }
    }
    yaml_document_delete(&d);
  }
  yaml_parser_delete(&p);
  /* Append nothing anywhere unless both sinks succeeded. */
  mp_buf a = {0}, b = {0};
  st = sink_close(&sinks[0], st, &a);
  st = sink_close(&sinks[1], st, &b);
  if (st == MP_OK) {
    if (a.len) mp_buf_append(plain, a.data, a.len);
    if (b.len && namespaced) mp_buf_append(namespaced, b.data, b.len);
  }
  mp_buf_free(&a);
  mp_buf_free(&b);
  return st;
}

mp_status mp__yaml_split_lists(const char *data, size_t len, mp_buf *out) {
  return rewrite(data, len, false, out, NULL);
}

mp_status mp__yaml_split_ns(const char *data, size_t len, mp_buf *no_ns, mp_buf *with_ns) {
  return rewrite(data, len, true, no_ns, with_ns);
}
