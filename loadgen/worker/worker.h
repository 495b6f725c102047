/* The worker mode of meshplane-loadgen: serves meshplane.v1.LoadGenerator over gRPC. */
#ifndef MESHPLANE_LOADGEN_WORKER_H
#define MESHPLANE_LOADGEN_WORKER_H

/* Runs the worker until SIGTERM/SIGINT; argv[0] is the mode name ("serve") or the
 * program. Returns the process exit code. */
int mp_loadgen_worker_main(int argc, char **argv);

#endif
