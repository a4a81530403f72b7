/*
 * futex.c - futex system calls without glibc wrappers.
 *
 * The words live in shared memory mapped by several processes, so the
 * operations must not use FUTEX_PRIVATE_FLAG: a private futex is keyed by
 * (mm, address) and a waker in another process would never find us.
 */
#include "ipc/futex.h"

#include <errno.h>
#include <linux/futex.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#ifndef SYS_futex_waitv
#define SYS_futex_waitv 449
#endif

static void
ms_to_ts(int ms, struct timespec *ts)
{
    if (ms < 0)
        ms = 0;
    ts->tv_sec = ms / 1000;
    ts->tv_nsec = (long)(ms % 1000) * 1000000L;
}

int
futex_wait(const uint32_t *word, uint32_t expected, int timeout_ms)
{
    struct timespec ts;

    ms_to_ts(timeout_ms, &ts);
    if (syscall(SYS_futex, word, FUTEX_WAIT, expected, &ts, NULL, 0) == 0)
        return 0;
    return -1;
}

int
futex_wake(const uint32_t *word, int n)
{
    long r = syscall(SYS_futex, word, FUTEX_WAKE, n, NULL, NULL, 0);

    return r < 0 ? -1 : (int)r;
}

int
futex_waitv_ms(const uint32_t *const *words, const uint32_t *expected, unsigned n, int timeout_ms)
{
    struct futex_waitv w[FUTEX_WAITV_MAX];
    struct timespec ts;

    if (n == 0 || n > FUTEX_WAITV_MAX) {
        errno = EINVAL;
        return -1;
    }
    for (unsigned i = 0; i < n; i++) {
        w[i].val = expected[i];
        w[i].uaddr = (uint64_t)(uintptr_t)words[i];
        w[i].flags = FUTEX_32; /* shared: no FUTEX_PRIVATE_FLAG */
        w[i].__reserved = 0;
    }
    /* futex_waitv takes an absolute deadline on the given clock */
    if (clock_gettime(CLOCK_MONOTONIC, &ts) < 0)
        return -1;
    if (timeout_ms < 0)
        timeout_ms = 0;
    ts.tv_sec += timeout_ms / 1000;
    ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    long r = syscall(SYS_futex_waitv, w, n, 0, &ts, CLOCK_MONOTONIC);
    return r < 0 ? -1 : (int)r;
}
