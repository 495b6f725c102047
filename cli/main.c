/* meshctl: the command-line client of meshplane-server (see commands.c for the tree). */
#include "cli.h"

int main(int argc, char **argv) {
  mp_log_init("meshctl");
  mp_log_set_level(MP_LOG_WARN);
  mctl_interrupt_init();
  mp_rpc_init();
  int rc = mctl_main(argc, argv);
  mp_rpc_shutdown();
  return rc;
}
