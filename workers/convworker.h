/*
 * convworker.h - the conversion worker: the skeleton plus convert_run.
 */
#ifndef HLSD_WORKERS_CONVWORKER_H
#define HLSD_WORKERS_CONVWORKER_H

#include "daemon/config.h"
#include "ipc/shmseg.h"

/* convworker_main - in the forked child, after shmseg_child_attach */
int convworker_main(const struct config *cfg, shmseg_t *seg);

#endif
