/*
 * shmseg.h - one POSIX shared-memory segment per child incarnation: a
 * header and a ring pair (inbox: master -> child, outbox: child -> master).
 *
 * The master creates the segment before fork (shm_open O_EXCL, mode 0600,
 * mmap, then shm_unlink at once: the child inherits the mapping, so no name
 * ever outlives the creating call and nothing leaks into /dev/shm). After
 * fork the child calls shmseg_child_attach. When the child dies the master
 * drains what it published (shmseg_drain) and destroys the segment; the
 * replacement gets a fresh one, so a half-written ring is never reused.
 */
#ifndef HLSD_IPC_SHMSEG_H
#define HLSD_IPC_SHMSEG_H

#include "ipc/ring.h"

#include <stdint.h>
#include <sys/types.h>

#define SHMSEG_MAGIC   0x484c5344u /* "HLSD" */
#define SHMSEG_VERSION 1u

typedef struct shmseg shmseg_t;

/* shmseg_create - master side, before fork. cap records of recsz bytes in
 * each ring. */
shmseg_t *shmseg_create(uint64_t incarnation, uint32_t cap, uint32_t recsz);

/* shmseg_child_attach - in the forked child: switch the handles to the
 * child's side (inbox consumer, outbox producer) and record our pid. */
int shmseg_child_attach(shmseg_t *s);

ring_t *shmseg_inbox(shmseg_t *s);  /* master: producer; child: consumer */
ring_t *shmseg_outbox(shmseg_t *s); /* master: consumer; child: producer */
uint64_t shmseg_incarnation(const shmseg_t *s);

/* shmseg_verify - master: 0 if the shared header still matches what the
 * master wrote, -1 EPROTO if the child scribbled over it. */
int shmseg_verify(const shmseg_t *s);

/* shmseg_peer_alive - 1 if the other side's process still exists, else 0. */
int shmseg_peer_alive(const shmseg_t *s);

/* shmseg_drain - master, after the child died: pop every whole record the
 * child published on its outbox, calling fn for each; returns how many, or
 * -1 EPROTO if the counters were corrupt (records before that are kept). */
ssize_t shmseg_drain(shmseg_t *s, void (*fn)(void *ud, const void *rec), void *ud);

/* shmseg_destroy - unmap and free; either side. */
void shmseg_destroy(shmseg_t *s);

#endif
