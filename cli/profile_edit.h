/* Editing a heap PerformanceProfile in place (one that protobuf-c unpacked, or one built
 * with mp_malloc + __init): each setter frees what the field held and stores a copy, so the
 * message stays freeable with protobuf_c_message_free_unpacked. Also the SMP
 * PerformanceTestConfig reader that `perf apply -f` uses. */
#ifndef MESHCTL_PROFILE_EDIT_H
#define MESHCTL_PROFILE_EDIT_H

#include <stddef.h>

#include "meshplane/base.h"
#include "meshplane/v1/perf.pb-c.h"

/* A new empty heap profile. */
Meshplane__V1__PerformanceProfile *mctl_profile_new(void);
/* Replaces a string field (v copied; NULL stores ""). */
void mctl_set_str(char **field, const char *v);
/* Replaces a repeated string field with v[0..n) (copied). */
void mctl_set_strs(char ***field, size_t *nfield, char *const *v, size_t n);
/* Replaces the bytes field with a copy of data[0..len). */
void mctl_set_bytes(ProtobufCBinaryData *field, const void *data, size_t len);
/* Sets metadata key to value, replacing an existing entry. */
void mctl_set_metadata(Meshplane__V1__PerformanceProfile *p, const char *key, const char *value);
/* The profile's options, created when absent. */
Meshplane__V1__LoadOptions *mctl_profile_options(Meshplane__V1__PerformanceProfile *p);
/* "auto", "http1"/"http", "http2"/"h2", "grpc" (any case) -> Protocol. False if unknown. */
bool mctl_parse_protocol(const char *s, Meshplane__V1__Protocol *out);

/* Reads an SMP PerformanceTestConfig (YAML or JSON, snake_case or camelCase keys) from
 * doc[0..len) into p: name, duration, labels.mesh (the service mesh) and the first client's
 * load_generator, protocol, connections, rps, headers, cookies, body, content_type and
 * endpoint_urls. Only keys the document has are set. MP_ERR_INVALID with "line N: ..." in
 * mp_error_last() when it is not such a document. */
mp_status mctl_smp_read(const char *doc, size_t len, Meshplane__V1__PerformanceProfile *p);

#endif
