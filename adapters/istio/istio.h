/* The Istio adapter's YAML renderers (istio_yaml.c), shared with its tests. */
#ifndef MP_ISTIO_H
#define MP_ISTIO_H

#include "meshplane/adapter.h"

#define ISTIO_NS "istio-system"

typedef enum istio_mtls { ISTIO_MTLS_STRICT, ISTIO_MTLS_PERMISSIVE, ISTIO_MTLS_DISABLE } istio_mtls;

extern const mp_adapter mp_istio_adapter;

/* Appends the manifest of an addon ("prometheus", "grafana", "kiali", "jaeger", "zipkin")
 * for namespace istio-system. MP_ERR_NOT_FOUND for another name. */
mp_status istio_render_addon(const char *addon, mp_buf *out);
/* PeerAuthentication "default" in ns with the mode; for DISABLE also the DestinationRule
 * that makes clients in ns send plain text. */
void istio_render_mtls(istio_mtls mode, const char *ns, mp_buf *out);
/* The DestinationRule of istio_render_mtls(DISABLE) alone. */
void istio_render_mtls_disable_rule(const char *ns, mp_buf *out);
/* AuthorizationPolicy "deny-all" in ns. */
void istio_render_deny_all(const char *ns, mp_buf *out);
/* Gateway and VirtualService exposing a sample app through the default ingress gateway
 * (mp_adapter_sample.extra hooks). */
void istio_bookinfo_gateway(const char *ns, mp_buf *out);
void istio_httpbin_gateway(const char *ns, mp_buf *out);
void istio_imagehub_gateway(const char *ns, mp_buf *out);
void istio_emojivoto_gateway(const char *ns, mp_buf *out);

#endif
