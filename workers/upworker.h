/*
 * upworker.h - the upload worker: the skeleton plus the storage back-end.
 */
#ifndef HLSD_WORKERS_UPWORKER_H
#define HLSD_WORKERS_UPWORKER_H

#include "ipc/shmseg.h"

/* upworker_main - in the forked child, after shmseg_child_attach. Exits
 * EXIT_CONFIG if the storage cannot be opened with these settings (which
 * daemon/config.c fills: config_storage). */
struct storage_config;
int upworker_main(const struct storage_config *sc, shmseg_t *seg);

#endif
