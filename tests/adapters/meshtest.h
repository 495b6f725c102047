/* Test helper: run one operation of an adapter on the mock host and collect what it did
 * (the recorder's calls, the YAML it applied, its events). */
#ifndef MP_TEST_MESHTEST_H
#define MP_TEST_MESHTEST_H

#include "meshplane/adapter.h"
#include "yamlcheck.h"

typedef struct optrace {
  char *calls[32]; /* recorder lines: "apply ns=shop del=0", "helm ...", "tool ..." */
  char *yaml[32];  /* the manifest of each apply call, or NULL */
  size_t ncalls;
  mp_adapter_event last; /* the handler's last event (component "adapter"), or zeroed */
  mp_adapter_event end;  /* the terminal event (component "operation"), the operation's last */
  size_t nevents;        /* all of them, the terminal one included */
} optrace;

/* Runs op in namespace ns (delete_op when del) with the tools in missing (NULL-terminated,
 * may be NULL) absent. Fails the test unless the operation ended with exactly one terminal
 * event, its last. */
void optrace_run(optrace *t, const mp_adapter *a, const char *op, const char *ns, bool del,
                 const char *const *missing);
void optrace_free(optrace *t);
/* Loads the YAML of call i into d and checks that it parses, that every document names an
 * apiVersion, a kind and a metadata.name, and the invariants of Deployments (selector
 * labels on the pod template, containers with a name and an image) and Services (ports,
 * a selector). Fails the test otherwise. */
void check_manifest(ydocs *d, const char *yaml);

/* assert_string_equal that names a missing value instead of crashing on NULL (include
 * cmocka.h first). */
#define assert_str(a, b)                                                                           \
  do {                                                                                             \
    const char *a_ = (a), *b_ = (b);                                                               \
    if (!a_ || !b_) fail_msg("%s is %s, want %s", #a, a_ ? a_ : "NULL", b_ ? b_ : "NULL");         \
    assert_string_equal(a_, b_);                                                                   \
  } while (0)

#endif
