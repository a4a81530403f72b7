/*
 * futex.h - thin wrappers over the futex system calls on shared
 * (non-private) 32-bit words. Timeouts are in milliseconds; every wait has
 * one. All return 0 or -1 with errno (ETIMEDOUT, EINTR, EAGAIN when the
 * word no longer held the expected value).
 */
#ifndef HLSD_IPC_FUTEX_H
#define HLSD_IPC_FUTEX_H

#include <stdint.h>

/* futex_wait - sleep while *word == expected, at most timeout_ms. */
int futex_wait(const uint32_t *word, uint32_t expected, int timeout_ms);

/* futex_wake - wake up to n sleepers on word; returns how many woke, or -1. */
int futex_wake(const uint32_t *word, int n);

/* futex_waitv_ms - sleep until any words[i] != expected[i] changes or is
 * woken, at most timeout_ms; n <= 128. Returns the index woken, or -1. */
int futex_waitv_ms(const uint32_t *const *words, const uint32_t *expected, unsigned n,
                   int timeout_ms);

#endif
