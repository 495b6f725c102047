/* The arena and the YAML document tree: libyaml's event stream folded into mp_yaml_node
 * trees that remember the line of every node, plus read-only accessors that tolerate
 * absent nodes and wrong types, so rules can walk partial resources without checks. */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <yaml.h>

#include "meshplane/yaml.h"

/* ---- arena -------------------------------------------------------------------------- */

struct mp_arena_chunk {
  mp_arena_chunk *next;
  size_t used, cap;
  max_align_t data[];
};

#define MP__CHUNK 16384

void *mp_arena_alloc(mp_arena *a, size_t n) {
  n = (n + sizeof(max_align_t) - 1) / sizeof(max_align_t) * sizeof(max_align_t);
  if (n == 0) n = sizeof(max_align_t);
  mp_arena_chunk *c = a->head;
  if (!c || c->cap - c->used < n) {
    size_t cap = n > MP__CHUNK ? n : MP__CHUNK;
    c = mp_malloc(sizeof(*c) + cap);
    c->used = 0;
    c->cap = cap;
    c->next = a->head;
    a->head = c;
  }
  void *p = (char *)c->data + c->used;
  c->used += n;
  memset(p, 0, n);
  return p;
}

char *mp_arena_strndup(mp_arena *a, const char *s, size_t n) {
  char *d = mp_arena_alloc(a, n + 1);
  if (n) memcpy(d, s, n);
  d[n] = '\0';
  return d;
}

char *mp_arena_strdup(mp_arena *a, const char *s) {
  return mp_arena_strndup(a, s ? s : "", s ? strlen(s) : 0);
}

char *mp_arena_printf(mp_arena *a, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  char *tmp = mp_vasprintf(fmt, ap);
  va_end(ap);
  char *s = mp_arena_strdup(a, tmp);
  mp_free(tmp);
  return s;
}

void mp_arena_free(mp_arena *a) {
  if (!a) return;
  for (mp_arena_chunk *c = a->head, *next; c; c = next) {
    next = c->next;
    mp_free(c);
  }
  a->head = NULL;
}

/* ---- parsing -------------------------------------------------------------------------- */

typedef struct frame {
  mp_yaml_node *node;
  mp_yaml_node **kids; /* heap while the collection is open */
  size_t n, cap;
  char *anchor; /* heap */
} frame;

typedef struct anchor {
  char *name; /* heap */
  mp_yaml_node *node;
} anchor;

typedef struct builder {
  mp_arena *arena;
  frame *stack;
  size_t depth, cap;
  anchor *anchors;
  size_t nanchors, capanchors;
  mp_yaml_node *root;
} builder;

static mp_yaml_node *new_node(builder *b, mp_yaml_type t, const yaml_mark_t *mark) {
  mp_yaml_node *n = mp_arena_alloc(b->arena, sizeof(*n));
  n->type = t;
  n->line = (int)(mark->line > INT32_MAX - 1 ? INT32_MAX - 1 : mark->line) + 1;
  return n;
}

static void add_anchor(builder *b, const char *name, mp_yaml_node *n) {
  if (!name) return;
  if (b->nanchors == b->capanchors) {
    b->capanchors = b->capanchors ? b->capanchors * 2 : 8;
    b->anchors = mp_realloc(b->anchors, b->capanchors * sizeof(*b->anchors));
  }
  b->anchors[b->nanchors].name = mp_strdup(name);
  b->anchors[b->nanchors].node = n;
  b->nanchors++;
}

static mp_yaml_node *find_anchor(const builder *b, const char *name) {
  /* The latest definition wins, as YAML redefinition says. */
  for (size_t i = b->nanchors; i-- > 0;)
    if (strcmp(b->anchors[i].name, name) == 0) return b->anchors[i].node;
  return NULL;
}

static void clear_anchors(builder *b) {
  for (size_t i = 0; i < b->nanchors; i++) mp_free(b->anchors[i].name);
  b->nanchors = 0;
}

/* Hands a finished node to the open collection, or makes it the document root. */
static void attach(builder *b, mp_yaml_node *n) {
  if (b->depth == 0) {
    b->root = n;
    return;
  }
  frame *f = &b->stack[b->depth - 1];
  if (f->n == f->cap) {
    f->cap = f->cap ? f->cap * 2 : 8;
    f->kids = mp_realloc(f->kids, f->cap * sizeof(*f->kids));
  }
  f->kids[f->n++] = n;
}

static void push(builder *b, mp_yaml_node *n, const char *anchor_name) {
  if (b->depth == b->cap) {
    b->cap = b->cap ? b->cap * 2 : 16;
    b->stack = mp_realloc(b->stack, b->cap * sizeof(*b->stack));
  }
  frame *f = &b->stack[b->depth++];
  memset(f, 0, sizeof(*f));
  f->node = n;
  f->anchor = anchor_name ? mp_strdup(anchor_name) : NULL;
}

static void pop(builder *b) {
  frame *f = &b->stack[--b->depth];
  mp_yaml_node *n = f->node;
  /* A map with an odd number of kids cannot come out of libyaml; guard anyway. */
  if (n->type == MP_YAML_MAP && f->n % 2) f->n--;
  n->n = f->n;
  if (f->n) {
    n->kids = mp_arena_alloc(b->arena, f->n * sizeof(*n->kids));
    memcpy(n->kids, f->kids, f->n * sizeof(*n->kids));
  }
  mp_free(f->kids);
  add_anchor(b, f->anchor, n);
  mp_free(f->anchor);
  attach(b, n);
}

static void builder_reset(builder *b) {
  while (b->depth) {
    frame *f = &b->stack[--b->depth];
    mp_free(f->kids);
    mp_free(f->anchor);
  }
  clear_anchors(b);
  b->root = NULL;
}

static bool is_null_text(const char *s, size_t len) {
  if (len == 0) return true;
  static const char *const nulls[] = {"~", "null", "Null", "NULL"};
  for (size_t i = 0; i < MP_ARRAY_LEN(nulls); i++)
    if (strlen(nulls[i]) == len && memcmp(nulls[i], s, len) == 0) return true;
  return false;
}

static void on_scalar(builder *b, const yaml_event_t *ev) {
  const char *v = (const char *)ev->data.scalar.value;
  size_t len = ev->data.scalar.length;
  bool plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
  mp_yaml_node *n =
      new_node(b, plain && is_null_text(v, len) ? MP_YAML_NULL : MP_YAML_SCALAR, &ev->start_mark);
  n->quoted = !plain;
  n->str = mp_arena_strndup(b->arena, v ? v : "", v ? len : 0);
  add_anchor(b, (const char *)ev->data.scalar.anchor, n);
  attach(b, n);
}

bool mp_yaml_parse(mp_arena *a, const void *data, size_t len, mp_yaml_doc_fn fn, void *arg,
                   char *err, size_t err_size, int *err_line) {
  yaml_parser_t parser;
  if (!yaml_parser_initialize(&parser)) {
    snprintf(err, err_size, "cannot initialize the YAML parser");
    *err_line = 0;
    return false;
  }
  yaml_parser_set_input_string(&parser, (const unsigned char *)(data ? data : ""), data ? len : 0);
  builder b = {.arena = a};
  bool ok = true, done = false;
  while (!done) {
    yaml_event_t ev;
    if (!yaml_parser_parse(&parser, &ev)) {
      const yaml_mark_t *m = parser.problem ? &parser.problem_mark : &parser.mark;
      if (parser.context)
        snprintf(err, err_size, "%s %s that starts at line %d",
                 parser.problem ? parser.problem : "syntax error", parser.context,
                 (int)(parser.context_mark.line > INT32_MAX - 1 ? INT32_MAX - 1
                                                                : parser.context_mark.line) +
                     1);
      else
        snprintf(err, err_size, "%s", parser.problem ? parser.problem : "syntax error");
      *err_line = (int)(m->line > INT32_MAX - 1 ? INT32_MAX - 1 : m->line) + 1;
      ok = false;
      break;
    }
    switch (ev.type) {
    case YAML_STREAM_END_EVENT: done = true; break;
    case YAML_DOCUMENT_START_EVENT: builder_reset(&b); break;
    case YAML_DOCUMENT_END_EVENT:
      if (b.root && b.root->type != MP_YAML_NULL) fn(arg, b.root);
      builder_reset(&b);
      break;
    case YAML_SCALAR_EVENT: on_scalar(&b, &ev); break;
    case YAML_SEQUENCE_START_EVENT:
      push(&b, new_node(&b, MP_YAML_SEQ, &ev.start_mark),
           (const char *)ev.data.sequence_start.anchor);
      break;
    case YAML_MAPPING_START_EVENT:
      push(&b, new_node(&b, MP_YAML_MAP, &ev.start_mark),
           (const char *)ev.data.mapping_start.anchor);
      break;
    case YAML_SEQUENCE_END_EVENT:
    case YAML_MAPPING_END_EVENT:
      if (b.depth) pop(&b);
      break;
    case YAML_ALIAS_EVENT: {
      mp_yaml_node *target = find_anchor(&b, (const char *)ev.data.alias.anchor);
      attach(&b, target ? target : new_node(&b, MP_YAML_NULL, &ev.start_mark));
      break;
    }
    default: break;
    }
    yaml_event_delete(&ev);
  }
  builder_reset(&b);
  mp_free(b.stack);
  mp_free(b.anchors);
  yaml_parser_delete(&parser);
  return ok;
}

/* ---- accessors ------------------------------------------------------------------------ */

bool mp_yaml_is_map(const mp_yaml_node *n) { return n && n->type == MP_YAML_MAP; }
bool mp_yaml_is_seq(const mp_yaml_node *n) { return n && n->type == MP_YAML_SEQ; }

size_t mp_yaml_len(const mp_yaml_node *n) { return mp_yaml_is_seq(n) ? n->n : 0; }

size_t mp_yaml_npairs(const mp_yaml_node *n) { return mp_yaml_is_map(n) ? n->n / 2 : 0; }

const mp_yaml_node *mp_yaml_at(const mp_yaml_node *seq, size_t i) {
  return mp_yaml_is_seq(seq) && i < seq->n ? seq->kids[i] : NULL;
}

const mp_yaml_node *mp_yaml_key(const mp_yaml_node *map, size_t i) {
  return mp_yaml_is_map(map) && 2 * i + 1 < map->n ? map->kids[2 * i] : NULL;
}

const mp_yaml_node *mp_yaml_val(const mp_yaml_node *map, size_t i) {
  return mp_yaml_is_map(map) && 2 * i + 1 < map->n ? map->kids[2 * i + 1] : NULL;
}

const char *mp_yaml_str(const mp_yaml_node *n) {
  return n && n->type == MP_YAML_SCALAR ? n->str : NULL;
}

const mp_yaml_node *mp_yaml_get(const mp_yaml_node *map, const char *key) {
  if (!mp_yaml_is_map(map)) return NULL;
  for (size_t i = 0; i + 1 < map->n; i += 2) {
    const char *k = mp_yaml_str(map->kids[i]);
    if (k && strcmp(k, key) == 0) return map->kids[i + 1];
  }
  return NULL;
}

const mp_yaml_node *mp_yaml_path(const mp_yaml_node *n, ...) {
  va_list ap;
  va_start(ap, n);
  for (const char *k; n && (k = va_arg(ap, const char *));) n = mp_yaml_get(n, k);
  va_end(ap);
  return n;
}

const char *mp_yaml_gets(const mp_yaml_node *map, const char *key) {
  return mp_yaml_str(mp_yaml_get(map, key));
}

bool mp_yaml_int(const mp_yaml_node *n, long *out) {
  const char *s = mp_yaml_str(n);
  if (!s || !*s) return false;
  const char *p = s;
  bool neg = false;
  if (*p == '-' || *p == '+') neg = *p++ == '-';
  if (!*p) return false;
  long v = 0;
  for (; *p; p++) {
    if (*p < '0' || *p > '9') return false;
    if (v > (INT32_MAX - (*p - '0')) / 10) return false; /* ports and weights stay small */
    v = v * 10 + (*p - '0');
  }
  *out = neg ? -v : v;
  return true;
}

bool mp_yaml_true(const mp_yaml_node *n) {
  const char *s = mp_yaml_str(n);
  return s && (strcasecmp(s, "true") == 0 || strcasecmp(s, "yes") == 0 || strcasecmp(s, "on") == 0);
}

int mp_yaml_line(const mp_yaml_node *n, int fallback) {
  return n && n->line > 0 ? n->line : fallback;
}
