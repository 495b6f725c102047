/* meshplane yaml: YAML (and JSON, a subset of YAML) documents as small trees with line
 * numbers, built with libyaml, in an arena that is freed as a whole.
 *
 * Used by the configuration analyzer, the adapters (manifests in operations), the server
 * (SMP profile import) and meshctl. Every node and string lives in the arena passed to
 * mp_yaml_parse; nothing is freed on its own. Accessors accept NULL and nodes of the wrong
 * type and then return NULL / 0 / false, so lookups chain without checks. */
#ifndef MESHPLANE_YAML_H
#define MESHPLANE_YAML_H

#include <stdbool.h>
#include <stddef.h>

#include "meshplane/base.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- arena ------------------------------------------------------------------------ */

typedef struct mp_arena_chunk mp_arena_chunk;
typedef struct mp_arena {
  mp_arena_chunk *head;
} mp_arena;

/* Zeroed memory that lives until mp_arena_free. */
void *mp_arena_alloc(mp_arena *a, size_t n);
/* Copies of strings into the arena (NUL-terminated). */
char *mp_arena_strndup(mp_arena *a, const char *s, size_t n);
char *mp_arena_strdup(mp_arena *a, const char *s);
char *mp_arena_printf(mp_arena *a, const char *fmt, ...) MP_PRINTF(2, 3);
void mp_arena_free(mp_arena *a);

/* ---- YAML tree -------------------------------------------------------------------- */

typedef enum mp_yaml_type {
  MP_YAML_NULL = 0, /* empty, ~, null, or an alias to an unknown anchor */
  MP_YAML_SCALAR,
  MP_YAML_MAP, /* kids alternate key, value */
  MP_YAML_SEQ,
} mp_yaml_type;

typedef struct mp_yaml_node {
  mp_yaml_type type;
  int line; /* 1-based line where the node starts */
  bool quoted;
  const char *str; /* scalars: the value, NUL-terminated */
  size_t n;        /* kids (a map holds 2 per pair) */
  struct mp_yaml_node **kids;
} mp_yaml_node;

/* Called once per non-empty document with its root. */
typedef void (*mp_yaml_doc_fn)(void *arg, mp_yaml_node *root);

/* Parses a YAML stream into trees allocated from `a`, one callback per document. On a
 * syntax error returns false with a message in err and the 1-based line in *err_line; the
 * documents completed before it have been delivered. Aliases share the anchored node (no
 * copies, so "billion laughs" input stays small); an alias to an anchor that is not
 * complete yet resolves to a null node, so trees never have cycles. */
bool mp_yaml_parse(mp_arena *a, const void *data, size_t len, mp_yaml_doc_fn fn, void *arg,
                   char *err, size_t err_size, int *err_line);

/* Accessors. All accept NULL and nodes of the wrong type, and then return NULL/0/false. */
const mp_yaml_node *mp_yaml_get(const mp_yaml_node *map, const char *key);
/* mp_yaml_path(n, "spec", "template", "metadata", NULL) */
const mp_yaml_node *mp_yaml_path(const mp_yaml_node *n, ...);
const char *mp_yaml_str(const mp_yaml_node *n); /* the text of a scalar */
const char *mp_yaml_gets(const mp_yaml_node *map, const char *key);
bool mp_yaml_int(const mp_yaml_node *n, long *out); /* a whole decimal integer */
bool mp_yaml_true(const mp_yaml_node *n);           /* true / yes / on, any case */
bool mp_yaml_is_map(const mp_yaml_node *n);
bool mp_yaml_is_seq(const mp_yaml_node *n);
/* Items of a sequence (0 for anything else, so `i < mp_yaml_len(n)` loops are safe on maps
 * written where lists belong), and pairs of a map. */
size_t mp_yaml_len(const mp_yaml_node *n);
size_t mp_yaml_npairs(const mp_yaml_node *n);
const mp_yaml_node *mp_yaml_at(const mp_yaml_node *seq, size_t i);
const mp_yaml_node *mp_yaml_key(const mp_yaml_node *map, size_t i);
const mp_yaml_node *mp_yaml_val(const mp_yaml_node *map, size_t i);
int mp_yaml_line(const mp_yaml_node *n, int fallback);

#ifdef __cplusplus
}
#endif
#endif
