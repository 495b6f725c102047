/* Aligned text tables (see table.h). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "table.h"

struct mctl_table {
  size_t ncols, nrows;
  char **head;
  bool *right;
  char **cells; /* nrows * ncols */
};

mctl_table *mctl_table_new(const char *const *headers, size_t ncols) {
  mctl_table *t = mp_calloc(1, sizeof *t);
  t->ncols = ncols;
  t->head = mp_calloc(ncols, sizeof *t->head);
  t->right = mp_calloc(ncols, sizeof *t->right);
  for (size_t i = 0; i < ncols; i++) {
    const char *h = headers[i] ? headers[i] : "";
    t->right[i] = h[0] == '>';
    t->head[i] = mp_strdup(h + t->right[i]);
  }
  return t;
}

void mctl_table_free(mctl_table *t) {
  if (!t) return;
  for (size_t i = 0; i < t->ncols; i++) mp_free(t->head[i]);
  for (size_t i = 0; i < t->nrows * t->ncols; i++) mp_free(t->cells[i]);
  mp_free(t->head);
  mp_free(t->right);
  mp_free(t->cells);
  mp_free(t);
}

void mctl_table_add_row(mctl_table *t, const char *const *cells) {
  t->cells = mp_realloc(t->cells, (t->nrows + 1) * t->ncols * sizeof *t->cells);
  for (size_t i = 0; i < t->ncols; i++) {
    const char *s = cells[i] && *cells[i] ? cells[i] : "-";
    /* A cell is one line: line breaks and tabs would break the columns. */
    char *copy = mp_strdup(s);
    for (char *p = copy; *p; p++)
      if (*p == '\n' || *p == '\r' || *p == '\t') *p = ' ';
    t->cells[t->nrows * t->ncols + i] = copy;
  }
  t->nrows++;
}

void mctl_table_add(mctl_table *t, ...) {
  const char **row = mp_calloc(t->ncols, sizeof *row);
  va_list ap;
  va_start(ap, t);
  for (size_t i = 0; i < t->ncols; i++) row[i] = va_arg(ap, const char *);
  va_end(ap);
  mctl_table_add_row(t, row);
  mp_free(row);
}

size_t mctl_table_rows(const mctl_table *t) { return t->nrows; }

size_t mctl_text_width(const char *s) {
  size_t w = 0;
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) w += (*p & 0xc0) != 0x80;
  return w;
}

static void put_cell(mp_buf *b, const char *s, size_t width, bool right, bool last) {
  size_t w = mctl_text_width(s);
  size_t fill = width > w ? width - w : 0;
  if (right)
    for (size_t k = 0; k < fill; k++) mp_buf_append(b, " ", 1);
  mp_buf_puts(b, s);
  if (!right && !last)
    for (size_t k = 0; k < fill; k++) mp_buf_append(b, " ", 1);
}

void mctl_table_render(const mctl_table *t, mp_buf *out) {
  size_t *width = mp_calloc(t->ncols, sizeof *width);
  for (size_t c = 0; c < t->ncols; c++) {
    width[c] = mctl_text_width(t->head[c]);
    for (size_t r = 0; r < t->nrows; r++) {
      size_t w = mctl_text_width(t->cells[r * t->ncols + c]);
      if (w > width[c]) width[c] = w;
    }
  }
  for (size_t r = 0; r <= t->nrows; r++) {
    for (size_t c = 0; c < t->ncols; c++) {
      const char *s = r == 0 ? t->head[c] : t->cells[(r - 1) * t->ncols + c];
      if (c) mp_buf_puts(out, "   ");
      put_cell(out, s, width[c], t->right[c], c + 1 == t->ncols);
    }
    mp_buf_puts(out, "\n");
  }
  mp_free(width);
}

void mctl_table_print(const mctl_table *t) {
  mp_buf b = {0};
  mctl_table_render(t, &b);
  fwrite(b.data, 1, b.len, stdout);
  mp_buf_free(&b);
}
