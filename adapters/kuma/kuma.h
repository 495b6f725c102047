/* The Kuma adapter's table and renderers, shared with its tests. */
#ifndef MP_KUMA_H
#define MP_KUMA_H

#include "meshplane/adapter.h"

#define KUMA_NS "kuma-system"

extern const mp_adapter mp_kuma_adapter;

/* The default Mesh with mTLS from a builtin CA and a MeshTrafficPermission allowing all
 * traffic within it (on) or the default Mesh without mTLS (off). */
void kuma_render_mtls(bool on, mp_buf *out);
/* The MeshTrafficPermission that kuma_render_mtls(true) includes, alone. */
void kuma_render_allow_all(mp_buf *out);

#endif
