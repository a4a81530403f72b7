/*
 * msclock.c - see msclock.h. clock_gettime cannot fail on Linux for these
 * clocks with a valid pointer, so there is no error to return.
 */
#include "ipc/msclock.h"

#include <time.h>

static int64_t
msclock_read(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t
msclock_mono(void)
{
    return msclock_read(CLOCK_MONOTONIC);
}

int64_t
msclock_wall(void)
{
    return msclock_read(CLOCK_REALTIME);
}
