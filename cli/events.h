/* Following a WatchEvents stream (meshctl events watch, adapter apply --watch). */
#ifndef MESHCTL_EVENTS_H
#define MESHCTL_EVENTS_H

#include "cli.h"

/* The component of the event that ends an operation: adapters built on the meshplane SDK
 * end each operation with exactly one such event, INFO when it succeeded, ERROR when it
 * failed (adapters/README.md). Meshery's event protocol has no "done" field. */
#define MCTL_COMPONENT_OPERATION "operation"

typedef struct mctl_events_opts {
  const char *operation_id; /* only this operation's events (client-side filter), or NULL */
  int64_t count;            /* stop after this many events (0 = no limit) */
  bool quiet_header;        /* no column header in table mode */
  bool until_done;          /* stop after operation_id's terminal event */
} mctl_events_opts;

/* How following an operation ended (until_done). */
typedef struct mctl_events_end {
  bool ended;        /* its terminal event came (and was printed) */
  int type;          /* the terminal event's type: 0 INFO, 2 ERROR */
  char summary[256]; /* its summary, cut to fit */
  bool count_hit;    /* stopped at o->count events first */
} mctl_events_end;

/* Prints events from s (borrowed; the caller frees it) until the stream ends, count is
 * reached, the terminal event of o->operation_id arrives (until_done), its deadline passes
 * or Ctrl-C; those are normal ends (0). A broken stream returns its exit code after
 * printing why. end (may be NULL) says whether the terminal event came. */
int mctl_events_follow(mctl_ctx *c, mp_rpc_stream *s, const mctl_events_opts *o,
                       mctl_events_end *end);
/* The exit code of following operation id to its end: 0 after an INFO terminal event, 1
 * (MCTL_EXIT_FAILURE, with a message) after an ERROR one; without one (the adapter marks no
 * end of its operations, or waited_ms ran out first) a note on stderr and 0 (no note after
 * Ctrl-C or --count). */
int mctl_events_operation_rc(mctl_ctx *c, const char *id, const mctl_events_end *end,
                             int64_t waited_ms);

/* One event as the table-mode line(s) (details, cause and remediation indented below),
 * appended to out. source_name may be NULL (the event's source is printed). */
void mctl_event_format(const Meshplane__V1__Event *e, const char *source_name, mp_buf *out);

#endif
