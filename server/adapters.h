/* Adapters: registry, health, event subscriptions (adapters.c) and operations
 * (operations.c). */
#ifndef MP_SERVER_ADAPTERS_H
#define MP_SERVER_ADAPTERS_H

#include "server.h"

/* Starts watching the configured adapter addresses and those registered before. */
mp_adapters *mp_adapters_start(mp_server *s, const mp_strlist *configured);
void mp_adapters_stop(mp_adapters *r);

void mp_adapters_list(mp_adapters *r, Meshplane__V1__ListAdaptersResponse_Closure done, void *cd);
void mp_adapters_register(mp_adapters *r, const Meshplane__V1__RegisterAdapterRequest *in,
                          Meshplane__V1__Adapter_Closure done, void *cd);

/* What operations.c needs of one adapter. The channel lives as long as the registry. */
typedef struct mp_adapter_ref {
  char id[MP_UUID_STRLEN];
  char address[256];
  char mesh[64];
  bool serving;
  mp_rpc_channel *ch;
} mp_adapter_ref;

/* Finds an adapter by id, address or mesh name. */
bool mp_adapters_find(mp_adapters *r, const char *key, mp_adapter_ref *out);
/* The number of adapters answering now. */
unsigned mp_adapters_healthy(mp_adapters *r);

void mp_operations_apply(mp_server *s, const Meshplane__V1__ApplyOperationRequest *in,
                         Meshplane__V1__Operation_Closure done, void *cd);
void mp_operations_list(mp_server *s, const Meshplane__V1__ListOperationsRequest *in,
                        Meshplane__V1__ListOperationsResponse_Closure done, void *cd);
/* An operation's terminal event arrived (component "operation": the one event that ends an
 * operation of an adapter built on the SDK, see adapters/README.md): its row becomes "done",
 * or "failed" with the event's summary as error. One statement; ids the server did not
 * make, and operations already settled, are left alone. Strings borrowed. */
void mp_operations_ended(mp_server *s, const char *id, bool failed, const char *summary);

#endif
