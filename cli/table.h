/* Aligned text tables for meshctl, kubectl style: upper-case headers, columns separated by
 * three spaces, no trailing blanks. Widths count UTF-8 characters, not bytes. A header
 * that starts with '>' names a right-aligned column (the '>' is not printed). */
#ifndef MESHCTL_TABLE_H
#define MESHCTL_TABLE_H

#include <stddef.h>

#include "meshplane/base.h"

typedef struct mctl_table mctl_table;

/* A table with ncols columns named by headers (copied). Free with mctl_table_free. */
mctl_table *mctl_table_new(const char *const *headers, size_t ncols);
void mctl_table_free(mctl_table *t);
/* Adds a row of exactly ncols strings (copied; NULL prints as "-"). */
void mctl_table_add(mctl_table *t, ...);
/* Adds a row from an array of ncols strings (copied). */
void mctl_table_add_row(mctl_table *t, const char *const *cells);
size_t mctl_table_rows(const mctl_table *t);
/* Appends the rendered table (header line, then rows, each ending in '\n'). */
void mctl_table_render(const mctl_table *t, mp_buf *out);
/* Renders to stdout. */
void mctl_table_print(const mctl_table *t);
/* Display width of a UTF-8 string (one column per code point). */
size_t mctl_text_width(const char *s);

#endif
