/*
 * exitcode.h - the exit codes of hlsd's processes, the contract between a
 * child and the master that reaps it (documented in docs/ARCHITECTURE.md).
 * Defined here, below daemon/, so that a worker can return them without
 * knowing the daemon; daemon/log.h re-exports them.
 */
#ifndef HLSD_WORKERS_EXITCODE_H
#define HLSD_WORKERS_EXITCODE_H

#define EXIT_CONFIG 2 /* configuration error: never respawned */
#define EXIT_ENV    3 /* environment: socket, directory, store unusable */
#define EXIT_ORPHAN 4 /* a child whose master went away */
#define EXIT_PROTO  5 /* a child that received garbage from the master */

#endif
