/* The nginx host mesh adapter: its proxy table, for main.c and the tests. */
#ifndef MP_ADAPTER_NGINX_H
#define MP_ADAPTER_NGINX_H

#include "meshplane/adapter.h"

extern const mp_adapter_host_proxy mp_nginx_proxy;
extern const mp_adapter mp_nginx_adapter;

#endif
