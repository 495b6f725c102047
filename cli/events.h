/* Following a WatchEvents stream (meshctl events watch, adapter apply --watch). */
#ifndef MESHCTL_EVENTS_H
#define MESHCTL_EVENTS_H

#include "cli.h"

typedef struct mctl_events_opts {
  const char *operation_id; /* only this operation's events (client-side filter), or NULL */
  int64_t count;            /* stop after this many events (0 = no limit) */
  bool quiet_header;        /* no column header in table mode */
} mctl_events_opts;

/* Prints events from s (borrowed; the caller frees it) until the stream ends, count is
 * reached, its deadline passes or Ctrl-C; those are normal ends (0). A broken stream
 * returns its exit code after printing why. */
int mctl_events_follow(mctl_ctx *c, mp_rpc_stream *s, const mctl_events_opts *o);

/* One event as the table-mode line(s) (details, cause and remediation indented below),
 * appended to out. source_name may be NULL (the event's source is printed). */
void mctl_event_format(const Meshplane__V1__Event *e, const char *source_name, mp_buf *out);

#endif
