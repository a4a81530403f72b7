/*
 * upworker.h - the upload worker: the skeleton plus the storage back-end.
 */
#ifndef HLSD_WORKERS_UPWORKER_H
#define HLSD_WORKERS_UPWORKER_H

#include "daemon/config.h"
#include "ipc/shmseg.h"

/* upworker_main - in the forked child, after shmseg_child_attach. Exits
 * EXIT_CONFIG if the storage cannot be opened with this configuration. */
int upworker_main(const struct config *cfg, shmseg_t *seg);

/* upworker_storage_config - the storage settings from the daemon config
 * (empty strings become NULL: taken from the environment or defaulted) */
struct storage_config;
void upworker_storage_config(const struct config *cfg, struct storage_config *sc);

#endif
