/* Any protobuf-c message as JSON or YAML, by walking its descriptor: one writer for every
 * message, so meshctl's -o json|yaml needs no per-message code. Keys are the .proto field
 * names; enums are written by name, bytes as base64, maps as objects. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "meshplane/report.h"

typedef struct writer {
  mp_buf *b;
  mp_report_msg_opts o;
} writer;

/* ---- field access ---------------------------------------------------------------- */

static const void *field_ptr(const ProtobufCMessage *m, const ProtobufCFieldDescriptor *f) {
  return (const char *)m + f->offset;
}

static size_t repeated_len(const ProtobufCMessage *m, const ProtobufCFieldDescriptor *f) {
  return *(const size_t *)((const char *)m + f->quantifier_offset);
}

static size_t elem_size(ProtobufCType t) {
  switch (t) {
  case PROTOBUF_C_TYPE_INT32:
  case PROTOBUF_C_TYPE_SINT32:
  case PROTOBUF_C_TYPE_SFIXED32:
  case PROTOBUF_C_TYPE_UINT32:
  case PROTOBUF_C_TYPE_FIXED32:
  case PROTOBUF_C_TYPE_ENUM: return 4;
  case PROTOBUF_C_TYPE_INT64:
  case PROTOBUF_C_TYPE_SINT64:
  case PROTOBUF_C_TYPE_SFIXED64:
  case PROTOBUF_C_TYPE_UINT64:
  case PROTOBUF_C_TYPE_FIXED64: return 8;
  case PROTOBUF_C_TYPE_FLOAT: return sizeof(float);
  case PROTOBUF_C_TYPE_DOUBLE: return sizeof(double);
  case PROTOBUF_C_TYPE_BOOL: return sizeof(protobuf_c_boolean);
  case PROTOBUF_C_TYPE_STRING: return sizeof(char *);
  case PROTOBUF_C_TYPE_BYTES: return sizeof(ProtobufCBinaryData);
  case PROTOBUF_C_TYPE_MESSAGE: return sizeof(ProtobufCMessage *);
  }
  return 0;
}

/* True when the value at p is the type's zero value (proto3 "not set"). */
static bool is_zero(const ProtobufCFieldDescriptor *f, const void *p) {
  switch (f->type) {
  case PROTOBUF_C_TYPE_STRING: {
    const char *s = *(char *const *)p;
    return !s || !*s;
  }
  case PROTOBUF_C_TYPE_BYTES: return ((const ProtobufCBinaryData *)p)->len == 0;
  case PROTOBUF_C_TYPE_MESSAGE: return *(ProtobufCMessage *const *)p == NULL;
  case PROTOBUF_C_TYPE_FLOAT: return *(const float *)p == 0;
  case PROTOBUF_C_TYPE_DOUBLE: return *(const double *)p == 0;
  default: {
    static const char zeros[8];
    return !memcmp(p, zeros, elem_size(f->type));
  }
  }
}

/* Whether field f of m is written: set oneof members, present optionals, and proto3
 * fields (all of them, or only non-zero ones with omit_defaults). Absent singular
 * messages are never written. */
static bool present(const writer *w, const ProtobufCMessage *m, const ProtobufCFieldDescriptor *f) {
  const void *p = field_ptr(m, f);
  if (f->label == PROTOBUF_C_LABEL_REPEATED) return !(w->o.omit_defaults && !repeated_len(m, f));
  if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)
    return *(const uint32_t *)((const char *)m + f->quantifier_offset) == f->id;
  if (f->type == PROTOBUF_C_TYPE_MESSAGE) return *(ProtobufCMessage *const *)p != NULL;
  if (f->label == PROTOBUF_C_LABEL_OPTIONAL) {
    if (f->type == PROTOBUF_C_TYPE_STRING) return *(char *const *)p != NULL;
    return *(const protobuf_c_boolean *)((const char *)m + f->quantifier_offset);
  }
  if (f->label == PROTOBUF_C_LABEL_REQUIRED) return true;
  return !(w->o.omit_defaults && is_zero(f, p));
}

/* A map<K, V> field is a repeated message "<Name>Entry" with fields key = 1, value = 2. */
static bool is_map(const ProtobufCFieldDescriptor *f) {
  if (f->label != PROTOBUF_C_LABEL_REPEATED || f->type != PROTOBUF_C_TYPE_MESSAGE) return false;
  const ProtobufCMessageDescriptor *d = f->descriptor;
  size_t nl = strlen(d->name);
  return d->n_fields == 2 && nl > 5 && !strcmp(d->name + nl - 5, "Entry") &&
         !strcmp(d->fields[0].name, "key") && d->fields[0].id == 1 &&
         !strcmp(d->fields[1].name, "value") && d->fields[1].id == 2;
}

/* ---- scalars ------------------------------------------------------------------------ */

/* Shortest of %.15g / %.17g that reads back as the same double. */
static void put_double(mp_buf *b, double v) {
  char s[40];
  snprintf(s, sizeof s, "%.15g", v);
  if (strtod(s, NULL) != v) snprintf(s, sizeof s, "%.17g", v);
  mp_buf_puts(b, s);
}

static void put_base64(mp_buf *b, const uint8_t *d, size_t n) {
  static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  mp_buf_puts(b, "\"");
  for (size_t i = 0; i < n; i += 3) {
    uint32_t v = (uint32_t)d[i] << 16;
    if (i + 1 < n) v |= (uint32_t)d[i + 1] << 8;
    if (i + 2 < n) v |= d[i + 2];
    char q[4] = {tab[(v >> 18) & 63], tab[(v >> 12) & 63], i + 1 < n ? tab[(v >> 6) & 63] : '=',
                 i + 2 < n ? tab[v & 63] : '='};
    mp_buf_append(b, q, 4);
  }
  mp_buf_puts(b, "\"");
}

/* Writes one scalar value (not a message). yaml selects YAML's spelling of non-finite
 * numbers; strings are double-quoted JSON strings, which YAML reads the same way. */
static void put_scalar(mp_buf *b, const ProtobufCFieldDescriptor *f, const void *p, bool yaml) {
  switch (f->type) {
  case PROTOBUF_C_TYPE_INT32:
  case PROTOBUF_C_TYPE_SINT32:
  case PROTOBUF_C_TYPE_SFIXED32: mp_buf_printf(b, "%d", (int)*(const int32_t *)p); break;
  case PROTOBUF_C_TYPE_UINT32:
  case PROTOBUF_C_TYPE_FIXED32: mp_buf_printf(b, "%u", (unsigned)*(const uint32_t *)p); break;
  case PROTOBUF_C_TYPE_INT64:
  case PROTOBUF_C_TYPE_SINT64:
  case PROTOBUF_C_TYPE_SFIXED64: mp_buf_printf(b, "%lld", (long long)*(const int64_t *)p); break;
  case PROTOBUF_C_TYPE_UINT64:
  case PROTOBUF_C_TYPE_FIXED64:
    mp_buf_printf(b, "%llu", (unsigned long long)*(const uint64_t *)p);
    break;
  case PROTOBUF_C_TYPE_FLOAT:
  case PROTOBUF_C_TYPE_DOUBLE: {
    double v = f->type == PROTOBUF_C_TYPE_FLOAT ? *(const float *)p : *(const double *)p;
    if (isnan(v))
      mp_buf_puts(b, yaml ? ".nan" : "\"NaN\"");
    else if (isinf(v))
      mp_buf_puts(b, v > 0 ? (yaml ? ".inf" : "\"Infinity\"") : (yaml ? "-.inf" : "\"-Infinity\""));
    else
      put_double(b, v);
    break;
  }
  case PROTOBUF_C_TYPE_BOOL:
    mp_buf_puts(b, *(const protobuf_c_boolean *)p ? "true" : "false");
    break;
  case PROTOBUF_C_TYPE_ENUM: {
    int v = *(const int *)p;
    const ProtobufCEnumValue *ev = protobuf_c_enum_descriptor_get_value(f->descriptor, v);
    if (ev)
      mp_json_str(b, ev->name);
    else
      mp_buf_printf(b, "%d", v); /* a value newer than this build knows */
    break;
  }
  case PROTOBUF_C_TYPE_STRING: mp_json_str(b, *(char *const *)p); break;
  case PROTOBUF_C_TYPE_BYTES: {
    const ProtobufCBinaryData *d = p;
    put_base64(b, d->data, d->len);
    break;
  }
  case PROTOBUF_C_TYPE_MESSAGE: break;
  }
}

/* A map key is always a string in JSON and YAML output. */
static void put_key(mp_buf *b, const ProtobufCFieldDescriptor *f, const void *p) {
  if (f->type == PROTOBUF_C_TYPE_STRING) {
    mp_json_str(b, *(char *const *)p);
    return;
  }
  mp_buf tmp = {0};
  put_scalar(&tmp, f, p, false);
  if (tmp.len && tmp.data[0] == '"')
    mp_buf_puts(b, tmp.data);
  else
    mp_json_str(b, tmp.data ? tmp.data : "");
  mp_buf_free(&tmp);
}

/* ---- JSON ------------------------------------------------------------------------------ */

static void json_nl(const writer *w, int depth) {
  if (!w->o.indent) return;
  mp_buf_puts(w->b, "\n");
  for (int i = 0; i < depth * w->o.indent; i++) mp_buf_append(w->b, " ", 1);
}

static void json_message(const writer *w, const ProtobufCMessage *m, int depth);

static void json_value(const writer *w, const ProtobufCFieldDescriptor *f, const void *p,
                       int depth) {
  if (f->type == PROTOBUF_C_TYPE_MESSAGE)
    json_message(w, *(ProtobufCMessage *const *)p, depth);
  else
    put_scalar(w->b, f, p, false);
}

static void json_field(const writer *w, const ProtobufCMessage *m,
                       const ProtobufCFieldDescriptor *f, int depth) {
  const void *p = field_ptr(m, f);
  if (f->label != PROTOBUF_C_LABEL_REPEATED) {
    json_value(w, f, p, depth);
    return;
  }
  size_t n = repeated_len(m, f);
  const char *arr = *(const char *const *)p;
  bool map = is_map(f);
  mp_buf_puts(w->b, map ? "{" : "[");
  for (size_t i = 0; i < n; i++) {
    if (i) mp_buf_puts(w->b, ",");
    json_nl(w, depth + 1);
    const void *elem = arr + i * elem_size(f->type);
    if (map) {
      const ProtobufCMessage *e = *(ProtobufCMessage *const *)elem;
      const ProtobufCMessageDescriptor *ed = f->descriptor;
      const ProtobufCFieldDescriptor *kf = &ed->fields[0], *vf = &ed->fields[1];
      put_key(w->b, kf, field_ptr(e, kf));
      mp_buf_puts(w->b, w->o.indent ? ": " : ":");
      json_value(w, vf, field_ptr(e, vf), depth + 1);
    } else {
      json_value(w, f, elem, depth + 1);
    }
  }
  if (n) json_nl(w, depth);
  mp_buf_puts(w->b, map ? "}" : "]");
}

static void json_message(const writer *w, const ProtobufCMessage *m, int depth) {
  if (!m) {
    mp_buf_puts(w->b, "null");
    return;
  }
  const ProtobufCMessageDescriptor *d = m->descriptor;
  mp_buf_puts(w->b, "{");
  bool any = false;
  for (unsigned i = 0; i < d->n_fields; i++) {
    const ProtobufCFieldDescriptor *f = &d->fields[i];
    if (!present(w, m, f)) continue;
    if (any) mp_buf_puts(w->b, ",");
    any = true;
    json_nl(w, depth + 1);
    mp_json_str(w->b, f->name);
    mp_buf_puts(w->b, w->o.indent ? ": " : ":");
    json_field(w, m, f, depth + 1);
  }
  if (any) json_nl(w, depth);
  mp_buf_puts(w->b, "}");
}

void mp_report_message_json(const ProtobufCMessage *m, const mp_report_msg_opts *o, mp_buf *out) {
  writer w = {out, o ? *o : (mp_report_msg_opts){0}};
  json_message(&w, m, w.o.depth);
}

/* ---- YAML ------------------------------------------------------------------------------ */

static void pad(mp_buf *b, int n) {
  for (int i = 0; i < n; i++) mp_buf_append(b, " ", 1);
}

static bool yaml_nonempty(const writer *w, const ProtobufCMessage *m) {
  for (unsigned i = 0; m && i < m->descriptor->n_fields; i++)
    if (present(w, m, &m->descriptor->fields[i])) return true;
  return false;
}

static void yaml_body(const writer *w, const ProtobufCMessage *m, int ind, bool dash);

/* After "key:" (or "- "): a scalar on the same line, or a nested block. */
static void yaml_value(const writer *w, const ProtobufCFieldDescriptor *f, const void *p, int ind) {
  if (f->type != PROTOBUF_C_TYPE_MESSAGE) {
    mp_buf_puts(w->b, " ");
    put_scalar(w->b, f, p, true);
    mp_buf_puts(w->b, "\n");
    return;
  }
  const ProtobufCMessage *m = *(ProtobufCMessage *const *)p;
  if (!yaml_nonempty(w, m)) {
    mp_buf_puts(w->b, m ? " {}\n" : " null\n");
    return;
  }
  mp_buf_puts(w->b, "\n");
  yaml_body(w, m, ind, false);
}

static void yaml_field(const writer *w, const ProtobufCMessage *m,
                       const ProtobufCFieldDescriptor *f, int ind) {
  const void *p = field_ptr(m, f);
  mp_buf_puts(w->b, f->name);
  mp_buf_puts(w->b, ":");
  if (f->label != PROTOBUF_C_LABEL_REPEATED) {
    yaml_value(w, f, p, ind + 2);
    return;
  }
  size_t n = repeated_len(m, f);
  const char *arr = *(const char *const *)p;
  bool map = is_map(f);
  if (!n) {
    mp_buf_puts(w->b, map ? " {}\n" : " []\n");
    return;
  }
  mp_buf_puts(w->b, "\n");
  for (size_t i = 0; i < n; i++) {
    const void *elem = arr + i * elem_size(f->type);
    if (map) {
      const ProtobufCMessage *e = *(ProtobufCMessage *const *)elem;
      const ProtobufCMessageDescriptor *ed = f->descriptor;
      pad(w->b, ind + 2);
      put_key(w->b, &ed->fields[0], field_ptr(e, &ed->fields[0]));
      mp_buf_puts(w->b, ":");
      yaml_value(w, &ed->fields[1], field_ptr(e, &ed->fields[1]), ind + 4);
    } else if (f->type == PROTOBUF_C_TYPE_MESSAGE) {
      const ProtobufCMessage *sub = *(ProtobufCMessage *const *)elem;
      if (yaml_nonempty(w, sub)) {
        yaml_body(w, sub, ind + 4, true);
      } else {
        pad(w->b, ind + 2);
        mp_buf_puts(w->b, "- {}\n");
      }
    } else {
      pad(w->b, ind + 2);
      mp_buf_puts(w->b, "-");
      yaml_value(w, f, elem, ind + 4);
    }
  }
}

/* Writes the fields of m as a block mapping indented by ind; with dash the first line
 * starts a sequence item ("- ") two columns to the left. */
static void yaml_body(const writer *w, const ProtobufCMessage *m, int ind, bool dash) {
  bool first = true;
  for (unsigned i = 0; i < m->descriptor->n_fields; i++) {
    const ProtobufCFieldDescriptor *f = &m->descriptor->fields[i];
    if (!present(w, m, f)) continue;
    if (first && dash) {
      pad(w->b, ind - 2);
      mp_buf_puts(w->b, "- ");
    } else {
      pad(w->b, ind);
    }
    first = false;
    yaml_field(w, m, f, ind);
  }
}

void mp_report_message_yaml(const ProtobufCMessage *m, const mp_report_msg_opts *o, mp_buf *out) {
  writer w = {out, o ? *o : (mp_report_msg_opts){0}};
  int ind = 2 * w.o.depth;
  if (!yaml_nonempty(&w, m)) {
    pad(out, ind);
    mp_buf_puts(out, m ? "{}\n" : "null\n");
    return;
  }
  yaml_body(&w, m, ind, false);
}

void mp_report_messages_yaml(const ProtobufCMessage *const *msgs, size_t n,
                             const mp_report_msg_opts *o, mp_buf *out) {
  writer w = {out, o ? *o : (mp_report_msg_opts){0}};
  int ind = 2 * w.o.depth;
  if (!n) {
    pad(out, ind);
    mp_buf_puts(out, "[]\n");
    return;
  }
  for (size_t i = 0; i < n; i++) {
    if (yaml_nonempty(&w, msgs[i])) {
      yaml_body(&w, msgs[i], ind + 2, true);
    } else {
      pad(out, ind);
      mp_buf_puts(out, msgs[i] ? "- {}\n" : "- null\n");
    }
  }
}
