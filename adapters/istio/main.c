/* meshplane-adapter-istio: the whole process is the SDK's entry point. */
#include "meshplane/adapter.h"

extern const mp_adapter mp_istio_adapter;

int main(int argc, char **argv) { return mp_adapter_main(&mp_istio_adapter, argc, argv); }
