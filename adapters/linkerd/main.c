/* meshplane-adapter-linkerd: the whole process is the SDK's entry point. */
#include "meshplane/adapter.h"

extern const mp_adapter mp_linkerd_adapter;

int main(int argc, char **argv) { return mp_adapter_main(&mp_linkerd_adapter, argc, argv); }
