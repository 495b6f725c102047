/* The HAProxy host mesh adapter: its proxy table, for main.c and the tests. */
#ifndef MP_ADAPTER_HAPROXY_H
#define MP_ADAPTER_HAPROXY_H

#include "meshplane/adapter.h"

extern const mp_adapter_host_proxy mp_haproxy_proxy;
extern const mp_adapter mp_haproxy_adapter;

#endif
