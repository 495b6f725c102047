/* meshplane-adapter-haproxy: the whole process is the SDK's entry point. */
#include "haproxy.h"

int main(int argc, char **argv) { return mp_adapter_main(&mp_haproxy_adapter, argc, argv); }
