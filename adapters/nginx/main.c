/* meshplane-adapter-nginx: the whole process is the SDK's entry point. */
#include "nginx.h"

int main(int argc, char **argv) { return mp_adapter_main(&mp_nginx_adapter, argc, argv); }
