/* The nginx host mesh adapter's table: the host platform with nginx sidecars, on Meshery's
 * port for it (10020). Every operation is the SDK's; only the proxy (nginx.c) is nginx's. */
#include "nginx.h"

static const mp_adapter_op ops[] = {
    {"nginx", "NGINX host mesh (install; delete: uninstall)", MP_OP_INSTALL,
     mp_adapter_host_op_install, NULL},
    MP_ADAPTER_HOST_OPS,
};

/* Debian 12's nginx; another installed version works too (install says which runs). */
static const char *const versions[] = {"1.22.1", NULL};

const mp_adapter mp_nginx_adapter = {
    MP_ADAPTER_V1,
    .name = "nginx",
    .mesh_name = "NGINX_HOST",
    .summary = "a host mesh of nginx sidecars: mTLS, SMI access, specs and split",
    .versions = versions,
    .default_port = 10020,
    .ops = ops,
    .n_ops = MP_ARRAY_LEN(ops),
    .platform = &mp_adapter_platform_host,
    .platform_arg = &mp_nginx_proxy,
};
