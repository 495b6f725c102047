/* Test helpers for host meshes: an adapter table on the mock host with the real host
 * platform (real proxies, real certificates) in a temporary state directory, operations
 * run to their end, and the sidecars' ports and pids read back from the state directory. */
#ifndef MP_TEST_HOSTTEST_H
#define MP_TEST_HOSTTEST_H

#include <sys/types.h>

#include "host.h"
#include "meshplane/adapter.h"

typedef struct hmesh {
  const mp_adapter *ad;
  mp_adapter_mock *m;
  mp_adapter_sub *sub;
  char dir[256];
  mp_adapter_event last; /* the last operation's terminal event (component "operation") */
  unsigned ends;         /* terminal events of the last operation seen so far */
  mp_buf log;            /* every event's summary, one per line, for failure messages */
} hmesh;

/* A mock host running ad (a host-platform adapter) with its state in a new temp dir. */
hmesh *hmesh_new(const mp_adapter *ad);
/* Frees the mock (stopping every process) and removes the temp dir. */
void hmesh_free(hmesh *h);
/* Runs op (ns, delete_op, custom_body may be NULL) to its end: true when its terminal
 * event is INFO. Fails the test unless it ended with exactly one terminal event, its last. */
bool hmesh_op(hmesh *h, const char *op, const char *ns, bool del, const char *body);
/* Waits up to ms for an event whose summary contains text (from now on or already seen in
 * the log); true when it came. */
bool hmesh_wait_event(hmesh *h, const char *text, int64_t ms);

typedef struct hside {
  int inbound, outbound, app;
} hside;

/* The ports of workload "ns/name" (from sidecars.txt); false when it has no sidecar. */
bool hmesh_side(hmesh *h, const char *key, hside *out);
/* The pid of a supervised process ("proxy/ns/name", "app/ns/name"), 0 when none. */
pid_t hmesh_pid(hmesh *h, const char *key);

/* GET/POST through a port with a Host header: the status (0: no answer). */
int http_status(int port, const char *method, const char *host, const char *path,
                const char *const *headers);
/* Requests an app received on path, from its counters (-1 on error). */
long app_received(int app_port, const char *path);
void app_reset(int app_port);

/* An HTTPS request over mutual TLS to 127.0.0.1:port, presenting cert/key (NULL: no
 * certificate) and trusting ca. Returns the status, or -1 when the TLS handshake or the
 * request failed (the peer refused the client). */
int tls_status(int port, const char *cert, const char *key, const char *ca, const char *path);

/* Files and directories under path (0 when it does not exist). */
int count_files(const char *path);

#endif
