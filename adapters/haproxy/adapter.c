/* The HAProxy host mesh adapter's table: the host platform with HAProxy sidecars, on Meshery's
 * port for it (10021). Every operation is the SDK's; only the proxy (haproxy.c) is HAProxy's. */
#include "haproxy.h"

static const mp_adapter_op ops[] = {
    {"haproxy", "HAProxy host mesh (install; delete: uninstall)", MP_OP_INSTALL,
     mp_adapter_host_op_install, NULL},
    MP_ADAPTER_HOST_OPS,
};

/* Debian 12's HAProxy; another installed version works too (install says which runs). */
static const char *const versions[] = {"2.6.12", NULL};

const mp_adapter mp_haproxy_adapter = {
    MP_ADAPTER_V1,
    .name = "haproxy",
    .mesh_name = "HAPROXY_HOST",
    .summary = "a host mesh of HAProxy sidecars: mTLS, SMI access, specs and split",
    .versions = versions,
    .default_port = 10021,
    .ops = ops,
    .n_ops = MP_ARRAY_LEN(ops),
    .platform = &mp_adapter_platform_host,
    .platform_arg = &mp_haproxy_proxy,
};
