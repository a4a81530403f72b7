/*
 * fix_ctl.h - on top of tests/fix.h, a real ctl process for the ctl test
 * suites: a forked
 * child running ctl_main on a real shared-memory segment and a real socket
 * under HLSD_TEST_TMP, while a thread of the test process plays the master
 * on the other side of the rings with canned answers, recording what ctl
 * forwarded (and what the submitted input looked like on disk when the
 * submit request arrived).
 */
#ifndef HLSD_TESTS_FIX_CTL_H
#define HLSD_TESTS_FIX_CTL_H

#include "daemon/config.h"
#include "ipc/shmseg.h"
#include "tests/fix.h" /* fix_line, fix_wait */

#include <jansson.h>
#include <pthread.h>
#include <stddef.h>
#include <sys/types.h>

struct fix_ctl {
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

/* fix_ctl_start - spawn ctl; max_input is cfg.daemon.max_input_bytes */
void fix_ctl_start(struct fix_ctl *f, unsigned long long max_input);
/* fix_ctl_stop - SIGTERM ctl and assert it exits 0 (it must have survived) */
void fix_ctl_stop(struct fix_ctl *f);
/* fix_ctl_alive - ctl is still running */
int fix_ctl_alive(struct fix_ctl *f);

int fix_ctl_connect(struct fix_ctl *f);
void fix_ctl_send(int fd, const void *buf, size_t len);
/* fix_ctl_send_fd - a line and a descriptor in one sendmsg, as hlsctl does */
void fix_ctl_send_fd(int sock, const char *line, int fd);
/* fix_ctl_reply - the next reply line, parsed; asserts it is a JSON object */
json_t *fix_ctl_reply(int fd);
/* fix_ctl_rpc - one line on a fresh connection, its one reply (parsed) */
json_t *fix_ctl_rpc(struct fix_ctl *f, const char *line);
/* fix_ctl_code - the error code of a reply, "" when ok */
const char *fix_ctl_code(json_t *rep);

/* fix_ctl_nreqs / fix_ctl_req - requests the master got (fix_ctl_req: a new reference) */
size_t fix_ctl_nreqs(struct fix_ctl *f);
json_t *fix_ctl_req(struct fix_ctl *f, size_t i);
/* fix_ctl_incoming_empty - nothing left in <spool>/incoming */
int fix_ctl_incoming_empty(struct fix_ctl *f);

/* fix_ctl_hlsctl - run bin/hlsctl -s SOCK args...; stdin from in_fd (or
 * /dev/null when -1); stdout/stderr into out/err (may be NULL). Returns the
 * exit status, or -1 on a signal. */
int fix_ctl_hlsctl(struct fix_ctl *f, int in_fd, char *out, size_t outlen, char *err, size_t errlen,
                   ...);

/* fix_ctl_file - a test file of n pseudo-random bytes in the fixture dir */
void fix_ctl_file(struct fix_ctl *f, const char *name, size_t n, char *path, size_t pathlen);
unsigned char *fix_ctl_read_file(const char *path, size_t *len);

#endif
