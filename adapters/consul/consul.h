/* The Consul adapter's table and renderers, shared with its tests. */
#ifndef MP_CONSUL_H
#define MP_CONSUL_H

#include "meshplane/adapter.h"

#define CONSUL_NS "consul"

extern const mp_adapter mp_consul_adapter;
extern const mp_adapter_sample consul_bookinfo, consul_httpbin, consul_imagehub;

/* A wildcard ServiceIntentions (all sources to all destinations) with action "allow" or
 * "deny", in namespace consul. */
void consul_render_intentions(const char *action, mp_buf *out);

#endif
