/*
 * ctl_fixture.h - a real ctl process for the ctl test suites: a forked
 * child running ctl_main on a real shared-memory segment and a real socket
 * under HLSD_TEST_TMP, while a thread of the test process plays the master
 * on the other side of the rings with canned answers, recording what ctl
 * forwarded (and what the submitted input looked like on disk when the
 * submit request arrived).
 */
#ifndef HLSD_TESTS_CTL_FIXTURE_H
#define HLSD_TESTS_CTL_FIXTURE_H

#include "daemon/config.h"
#include "ipc/shmseg.h"
#include "tests/fix.h" /* fix_line, fix_wait */

#include <jansson.h>
#include <pthread.h>
#include <stddef.h>
#include <sys/types.h>

struct fx {
    char dir[200];
    char sock[300];
    char spool[300];
    struct config cfg;
    shmseg_t *seg;
    int lfd;
    pid_t ctl;
    pthread_t master;
    pthread_mutex_t mu;
    volatile int stop;
    volatile int hello;
    const char *volatile thread_err; /* the fake master's complaint */
    /* behaviour of the fake master */
    volatile int admit_full;      /* admit: queue_full */
    volatile int submit_fail;     /* submit: an error (after admit said yes) */
    volatile int delay_ms;        /* sleep this long before the next answer, once */
    volatile int wait_done_after; /* status: converting until this many calls, then done */
    volatile int wait_fail;       /* ... then failed instead */
    /* what it saw */
    json_t *reqs;            /* every request, in order */
    unsigned char *sub_data; /* the last submit's input, read at submit time */
    size_t sub_len;
    int sub_dir_mode; /* mode of incoming/<token> at submit time */
    int submits;
    int status_calls;
    int next_job;
};

/* fx_start - spawn ctl; max_input is cfg.daemon.max_input_bytes */
void fx_start(struct fx *f, unsigned long long max_input);
/* fx_stop - SIGTERM ctl and assert it exits 0 (it must have survived) */
void fx_stop(struct fx *f);
/* fx_alive - ctl is still running */
int fx_alive(struct fx *f);

int fx_connect(struct fx *f);
void fx_send(int fd, const void *buf, size_t len);
/* fx_send_fd - a line and a descriptor in one sendmsg, as hlsctl does */
void fx_send_fd(int sock, const char *line, int fd);
/* fx_reply - the next reply line, parsed; asserts it is a JSON object */
json_t *fx_reply(int fd);
/* fx_rpc - one line on a fresh connection, its one reply (parsed) */
json_t *fx_rpc(struct fx *f, const char *line);
/* fx_code - the error code of a reply, "" when ok */
const char *fx_code(json_t *rep);

/* fx_nreqs / fx_req - requests the master got (fx_req: a new reference) */
size_t fx_nreqs(struct fx *f);
json_t *fx_req(struct fx *f, size_t i);
/* fx_incoming_empty - nothing left in <spool>/incoming */
int fx_incoming_empty(struct fx *f);

/* fx_hlsctl - run bin/hlsctl -s SOCK args...; stdin from in_fd (or
 * /dev/null when -1); stdout/stderr into out/err (may be NULL). Returns the
 * exit status, or -1 on a signal. */
int fx_hlsctl(struct fx *f, int in_fd, char *out, size_t outlen, char *err, size_t errlen, ...);

/* fx_file - a test file of n pseudo-random bytes in the fixture dir */
void fx_file(struct fx *f, const char *name, size_t n, char *path, size_t pathlen);
unsigned char *fx_read_file(const char *path, size_t *len);

#endif
