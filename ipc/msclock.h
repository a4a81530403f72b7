/*
 * msclock.h - the clocks every layer measures time with, in milliseconds:
 * monotonic for deadlines, timeouts, throttles and progress periods; wall
 * time only for what is shown or stored (a job's created_at). In ipc/, the
 * lowest folder, so that workers/, daemon/ and the tests all reach it
 * without depending on each other.
 */
#ifndef HLSD_IPC_MSCLOCK_H
#define HLSD_IPC_MSCLOCK_H

#include <stdint.h>

/* msclock_mono - CLOCK_MONOTONIC in milliseconds */
int64_t msclock_mono(void);
/* msclock_wall - CLOCK_REALTIME: milliseconds since the epoch */
int64_t msclock_wall(void);

#endif
