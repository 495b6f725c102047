/* Test helper: YAML lookups by path (see yamlcheck.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "yamlcheck.h"

bool ydocs_load(ydocs *d, const char *yaml) {
  memset(d, 0, sizeof *d);
  yaml_parser_t p;
  yaml_parser_initialize(&p);
  yaml_parser_set_input_string(&p, (const unsigned char *)yaml, strlen(yaml));
  bool ok = true;
  for (;;) {
    yaml_document_t doc;
    if (!yaml_parser_load(&p, &doc)) {
      snprintf(d->error, sizeof d->error, "line %zu: %s", (size_t)p.problem_mark.line + 1,
               p.problem ? p.problem : "?");
      ok = false;
      break;
    }
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    if (!root) {
      yaml_document_delete(&doc);
      break;
    }
    if (root->type == YAML_SCALAR_NODE && root->data.scalar.length == 0) {
      yaml_document_delete(&doc);
      continue;
    }
    d->docs = realloc(d->docs, (d->n + 1) * sizeof *d->docs);
    if (!d->docs) abort();
    d->docs[d->n++] = doc;
  }
  yaml_parser_delete(&p);
  return ok;
}

void ydocs_free(ydocs *d) {
  for (size_t i = 0; i < d->n; i++) yaml_document_delete(&d->docs[i]);
  free(d->docs);
  memset(d, 0, sizeof *d);
}

static yaml_node_t *node_at(ydocs *d, int i, const char *path) {
  if (i < 0 || (size_t)i >= d->n) return NULL;
  yaml_document_t *doc = &d->docs[i];
  yaml_node_t *n = yaml_document_get_root_node(doc);
  const char *p = path;
  while (n && *p) {
    char key[256];
    size_t k = 0;
    if (*p == '\'') {
      for (p++; *p && *p != '\'' && k < sizeof key - 1;) key[k++] = *p++;
      if (*p == '\'') p++;
    } else {
      while (*p && *p != '.' && *p != '[' && k < sizeof key - 1) key[k++] = *p++;
    }
    key[k] = '\0';
    if (k) {
      if (n->type != YAML_MAPPING_NODE) return NULL;
      yaml_node_t *found = NULL;
      for (yaml_node_pair_t *pr = n->data.mapping.pairs.start; pr < n->data.mapping.pairs.top;
           pr++) {
        yaml_node_t *kn = yaml_document_get_node(doc, pr->key);
        if (kn->type == YAML_SCALAR_NODE && strlen(key) == kn->data.scalar.length &&
            !memcmp(kn->data.scalar.value, key, k))
          found = yaml_document_get_node(doc, pr->value);
      }
      n = found;
    }
    while (n && *p == '[') {
      long idx = strtol(p + 1, (char **)&p, 10);
      if (*p != ']' || n->type != YAML_SEQUENCE_NODE) return NULL;
      p++;
      yaml_node_item_t *it = n->data.sequence.items.start + idx;
      n = idx >= 0 && it < n->data.sequence.items.top ? yaml_document_get_node(doc, *it) : NULL;
    }
    if (*p == '.') p++;
  }
  return n;
}

const char *ydocs_get(ydocs *d, int i, const char *path) {
  yaml_node_t *n = node_at(d, i, path);
  return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

int ydocs_len(ydocs *d, int i, const char *path) {
  yaml_node_t *n = node_at(d, i, path);
  if (!n) return -1;
  if (n->type == YAML_SEQUENCE_NODE)
    return (int)(n->data.sequence.items.top - n->data.sequence.items.start);
  if (n->type == YAML_MAPPING_NODE)
    return (int)(n->data.mapping.pairs.top - n->data.mapping.pairs.start);
  return -1;
}

int ydocs_find(ydocs *d, const char *kind, const char *name) {
  for (size_t i = 0; i < d->n; i++) {
    const char *k = ydocs_get(d, (int)i, "kind"), *nm = ydocs_get(d, (int)i, "metadata.name");
    if (k && !strcmp(k, kind) && (!name || (nm && !strcmp(nm, name)))) return (int)i;
  }
  return -1;
}

static const char *map_lookup(yaml_document_t *doc, yaml_node_t *m, const char *key, size_t len) {
  if (!m || m->type != YAML_MAPPING_NODE) return NULL;
  for (yaml_node_pair_t *pr = m->data.mapping.pairs.start; pr < m->data.mapping.pairs.top; pr++) {
    yaml_node_t *k = yaml_document_get_node(doc, pr->key);
    yaml_node_t *v = yaml_document_get_node(doc, pr->value);
    if (k->type == YAML_SCALAR_NODE && k->data.scalar.length == len &&
        !memcmp(k->data.scalar.value, key, len) && v->type == YAML_SCALAR_NODE)
      return (const char *)v->data.scalar.value;
  }
  return NULL;
}

bool ydocs_map_subset2(ydocs *d, int i, const char *sub, int j, const char *super) {
  yaml_node_t *a = node_at(d, i, sub), *b = node_at(d, j, super);
  if (!a || !b || a->type != YAML_MAPPING_NODE ||
      a->data.mapping.pairs.top == a->data.mapping.pairs.start)
    return false;
  for (yaml_node_pair_t *pr = a->data.mapping.pairs.start; pr < a->data.mapping.pairs.top; pr++) {
    yaml_node_t *k = yaml_document_get_node(&d->docs[i], pr->key);
    yaml_node_t *v = yaml_document_get_node(&d->docs[i], pr->value);
    if (k->type != YAML_SCALAR_NODE || v->type != YAML_SCALAR_NODE) return false;
    const char *other =
        map_lookup(&d->docs[j], b, (const char *)k->data.scalar.value, k->data.scalar.length);
    if (!other || strcmp(other, (const char *)v->data.scalar.value)) return false;
  }
  return true;
}

bool ydocs_map_subset(ydocs *d, int i, const char *sub, const char *super) {
  return ydocs_map_subset2(d, i, sub, i, super);
}
