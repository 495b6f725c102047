/* mp_echo_server: the test Echo service on lib/rpc as a process, for the interop tests
 * (python3-grpcio as the client). Prints "PORT <n>" once listening; SIGTERM or SIGINT
 * drains and exits 0. */
#include <signal.h>
#include <stdio.h>

#include "echo_service.h"

int main(int argc, char **argv) {
  char *listen = "127.0.0.1:0";
  char *token = "";
  const mp_flag flags[] = {
      {"listen", 'l', MP_FLAG_STRING, &listen, NULL, "address to serve on", "ADDR"},
      {"token", 0, MP_FLAG_STRING, &token, NULL, "require this bearer token", "TOKEN"},
  };
  static const mp_program prog = {"mp_echo_server", "the rpc test Echo service", NULL, NULL};
  int nargs, rc = mp_flags_parse(&prog, flags, MP_ARRAY_LEN(flags), argc, argv, &nargs);
  if (rc != 0) {
    mp_flags_free(flags, MP_ARRAY_LEN(flags));
    return rc < 0 ? 2 : 0;
  }
  mp_log_init("mp_echo_server");
  /* Block the signals before gRPC starts its threads, then wait for them here. */
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGTERM);
  sigaddset(&sigs, SIGINT);
  pthread_sigmask(SIG_BLOCK, &sigs, NULL);

  mp_rpc_server_opts o = {.listen = listen, .auth_token = *token ? token : NULL, .grace_ms = 2000};
  mp_rpc_server *s;
  if (mp_rpc_server_new(&o, &s) != MP_OK) {
    fprintf(stderr, "mp_echo_server: %s\n", mp_error_last());
    mp_flags_free(flags, MP_ARRAY_LEN(flags));
    return 1;
  }
  mp_rpc_server_add_service(s, echo_service());
  mp_rpc_server_start(s);
  printf("PORT %d\n", mp_rpc_server_port(s));
  fflush(stdout);
  int sig;
  sigwait(&sigs, &sig);
  mp_info("draining", "signal=%d", sig);
  mp_rpc_server_free(s);
  mp_flags_free(flags, MP_ARRAY_LEN(flags));
  return 0;
}
