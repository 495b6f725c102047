/* Test helper: parse multi-document YAML with libyaml and look values up by path, so tests
 * check the manifests adapters render as data (kinds, names, namespaces, labels), not as
 * text. */
#ifndef MP_TEST_YAMLCHECK_H
#define MP_TEST_YAMLCHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <yaml.h>

typedef struct ydocs {
  yaml_document_t *docs;
  size_t n;
  char error[256]; /* set when ydocs_load fails */
} ydocs;

/* Parses every document of yaml (NULL-terminated). False (with error) on invalid YAML.
 * Empty documents are skipped. */
bool ydocs_load(ydocs *d, const char *yaml);
void ydocs_free(ydocs *d);
/* The index of the first document with this kind and metadata.name (name NULL: any),
 * or -1. */
int ydocs_find(ydocs *d, const char *kind, const char *name);
/* The scalar at path in document i ("metadata.labels.app", "spec.ports[0].port"), or NULL.
 * Borrowed until ydocs_free. A key containing '.' is written between single quotes:
 * "metadata.labels.'app.kubernetes.io/name'". */
const char *ydocs_get(ydocs *d, int i, const char *path);
/* The number of items of the sequence or pairs of the mapping at path, or -1. */
int ydocs_len(ydocs *d, int i, const char *path);

/* True when the mapping at sub in document i is non-empty and each of its scalar entries
 * appears with the same value in the mapping at super (document i, or j for _2). */
bool ydocs_map_subset(ydocs *d, int i, const char *sub, const char *super);
bool ydocs_map_subset2(ydocs *d, int i, const char *sub, int j, const char *super);

#endif
