/*
 * test_crash.c - crash isolation: real worker, ctl and master processes
 * killed for real (SIGKILL, SIGSEGV, SIGSTOP) in the middle of real jobs.
 * Whatever dies, an acknowledged job ends done (or failed with a reason),
 * the master stays up, and published objects are not sent twice.
 */
#include "tests/fix_daemon.h"

#include <criterion/criterion.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static int
dead(void *ud)
{
    return !fix_alive(*(const pid_t *)ud);
}

/* process_gone - pid ended (a zombie of the master's counts as gone) */
static int
process_gone(pid_t pid, int timeout_ms)
{
    return fix_wait(dead, &pid, timeout_ms);
}

/* long_job - a daemon with one convert and `uploads` upload workers,
 * converting a 40 s 360p clip in 2 s segments (preset medium: slow enough
 * to be caught mid-job), with at least `published` segments published;
 * the job's id */
static int64_t
long_job(struct fix_daemon *d, const char *name, unsigned uploads, long long published)
{
    fix_daemon_init(d, name, 0);
    fix_daemon_config(d, 1, uploads, NULL, "preset = medium", NULL);
    const char *clip = fix_clip(40, 640, 360);
    cr_assert_eq(fix_daemon_start(d), 0);
    int64_t id = fix_daemon_submit(d, clip, "--segment 2");
    json_t *j = fix_daemon_wait_uploaded(d, id, published, 90000);
    cr_assert_not_null(j);
    json_decref(j);
    return id;
}

Test(crash, convert_worker_killed_mid_job_job_still_done, .timeout = 240)
{
    struct fix_daemon d;

    int64_t id = long_job(&d, "kconv", 2, 1);
    pid_t victim = fix_daemon_worker_pid(&d, "convert", id);
    cr_assert_gt(victim, 0);
    cr_assert_eq(kill(victim, SIGKILL), 0);
    cr_assert(process_gone(victim, 5000));

    json_t *j = fix_daemon_wait_done(&d, id, 200000);
    cr_assert_eq(json_integer_value(json_object_get(j, "attempts")), 2);
    cr_assert_eq(fix_daemon_segs(j, "uploaded"), 40, "20 video and 20 audio segments");
    json_decref(j);
    /* the pool was refilled, the master is the same process */
    cr_assert_gt(fix_daemon_worker_pid(&d, "convert", 0), 0);
    cr_assert_neq(fix_daemon_worker_pid(&d, "convert", 0), victim);
    cr_assert(fix_daemon_log_contains(&d, "killed by signal 9"));
    cr_assert_eq(WEXITSTATUS(fix_daemon_stop(&d, SIGTERM, 10000)), 0);
}

Test(crash, upload_worker_killed_mid_job_job_still_done, .timeout = 180)
{
    struct fix_daemon d;

    int64_t id = long_job(&d, "kup", 1, 2);
    pid_t prev = -1;
    for (int round = 0; round < 3; round++) {
        /* each round kills the replacement of the previous victim */
        pid_t victim = fix_daemon_wait_worker(&d, "upload", 0, prev, 10000);
        cr_assert_gt(victim, 0, "round %d: no upload worker", round);
        kill(victim, SIGKILL);
        cr_assert(process_gone(victim, 5000));
        prev = victim;
    }
    json_t *j = fix_daemon_wait_done(&d, id, 150000);
    cr_assert_eq(fix_daemon_segs(j, "uploaded"), 40, "20 video and 20 audio segments");
    json_decref(j);
    char root[700];
    snprintf(root, sizeof(root), "%s/%lld", d.www, (long long)id);
    /* 20 video and 20 audio segments, their playlists, the I-frame
     * playlist, the master playlist, poster.jpg, sprites_0.jpg and
     * storyboard.vtt, no debris */
    cr_assert_eq(fix_daemon_count_files(root), 47);
    fix_daemon_stop(&d, SIGTERM, 10000);
}

Test(crash, ctl_killed_is_replaced_and_jobs_go_on, .timeout = 120)
{
    struct fix_daemon d;

    fix_daemon_init(&d, "kctl", 0);
    fix_daemon_config(&d, 1, 1, NULL, NULL, NULL);
    const char *clip = fix_clip(10, 320, 240);
    cr_assert_eq(fix_daemon_start(&d), 0);
    int64_t id = fix_daemon_submit(&d, clip, NULL);
    cr_assert_gt(id, 0);
    pid_t ctl = fix_daemon_worker_pid(&d, "ctl", 0);
    cr_assert_gt(ctl, 0);
    kill(ctl, SIGKILL);
    cr_assert(process_gone(ctl, 5000));
    /* the socket answers again, served by a new ctl */
    pid_t now = fix_daemon_wait_worker(&d, "ctl", 0, ctl, 10000);
    cr_assert_gt(now, 0, "no ctl answers after the kill");
    cr_assert_neq(now, ctl);
    json_t *j = fix_daemon_wait_done(&d, id, 90000);
    json_decref(j);
    fix_daemon_stop(&d, SIGTERM, 10000);
}

/* A "poison" input: the worker converting it dies every time (here by a
 * real SIGSEGV). After max_attempts the job fails with the reason, and the
 * pool goes on serving other jobs. */
Test(crash, poison_job_fails_after_max_attempts_pool_goes_on, .timeout = 240)
{
    struct fix_daemon d;

    fix_daemon_init(&d, "poison", 0);
    fix_daemon_config(&d, 2, 1, NULL, "preset = medium\nmax_attempts = 2", NULL);
    const char *bad = fix_clip(40, 640, 360);
    /* ASan reports the SEGVs sent below like real faults: tell the run */
    fix_sh(NULL, 0, "touch '%s/SANITIZER_REPORT_EXPECTED'", d.dir);
    cr_assert_eq(fix_daemon_start(&d), 0);
    int64_t id = fix_daemon_submit(&d, bad, NULL);
    cr_assert_gt(id, 0);
    pid_t prev = -1;
    for (int attempt = 1; attempt <= 2; attempt++) {
        /* the next attempt runs in another process than the one just killed */
        pid_t victim = fix_daemon_wait_worker(&d, "convert", id, prev, 60000);
        prev = victim;
        cr_assert_gt(victim, 0, "attempt %d never started", attempt);
        kill(victim, SIGSEGV);
        cr_assert(process_gone(victim, 5000));
    }
    json_t *j = fix_daemon_wait(&d, id, "failed", 30000);
    cr_assert_not_null(j, "the poison job did not fail");
    /* under AddressSanitizer its SEGV handler reports and aborts instead */
    char want[80];
    snprintf(want, sizeof(want), "worker crashed (signal %d, ",
             getenv("HLSD_SANITIZED") ? SIGABRT : SIGSEGV);
    const char *err = fix_daemon_str(j, "error");
    cr_assert(strncmp(err, want, strlen(want)) == 0 && strstr(err, ": poison input"), "%s", err);
    cr_assert_eq(json_integer_value(json_object_get(j, "attempts")), 2);
    json_decref(j);
    /* other work is still served */
    const char *good = fix_clip(4, 320, 240);
    int64_t ok = fix_daemon_submit(&d, good, NULL);
    j = fix_daemon_wait_done(&d, ok, 90000);
    json_decref(j);
    cr_assert_eq(WEXITSTATUS(fix_daemon_stop(&d, SIGTERM, 10000)), 0);
}

/* A conversion that stops making progress is killed after stall_timeout
 * and retried. */
Test(crash, stalled_conversion_is_killed_and_retried, .timeout = 180)
{
    struct fix_daemon d;

    fix_daemon_init(&d, "stall", 0);
    fix_daemon_config(&d, 1, 1, NULL, "stall_timeout = 2s", NULL);
    const char *clip = fix_clip(20, 320, 240);
    cr_assert_eq(fix_daemon_start(&d), 0);
    int64_t id = fix_daemon_submit(&d, clip, NULL);
    pid_t victim = fix_daemon_wait_worker(&d, "convert", id, -1, 30000);
    cr_assert_gt(victim, 0);
    kill(victim, SIGSTOP);
    cr_assert(process_gone(victim, 15000), "the stalled worker was not killed");
    json_t *j = fix_daemon_wait_done(&d, id, 120000);
    cr_assert_eq(json_integer_value(json_object_get(j, "attempts")), 2);
    json_decref(j);
    cr_assert(fix_daemon_log_contains(&d, "stalled"));
    fix_daemon_stop(&d, SIGTERM, 10000);
}

/* kill -9 of the master itself: its children follow it, and a restart
 * finishes the job without sending published segments again. */
Test(crash, master_killed_children_exit_restart_finishes, .timeout = 240)
{
    struct fix_daemon d;

    int64_t id = long_job(&d, "kmaster", 2, 2);
    pid_t kids[3] = {fix_daemon_worker_pid(&d, "convert", 0),
                     fix_daemon_worker_pid(&d, "upload", 0), fix_daemon_worker_pid(&d, "ctl", 0)};
    char jobdir[700], first[1400];
    snprintf(jobdir, sizeof(jobdir), "%s/%lld", d.www, (long long)id);
    fix_daemon_first_segment(jobdir, first, sizeof(first));
    struct stat st;
    cr_assert_eq(stat(first, &st), 0);
    ino_t before = st.st_ino;

    pid_t master = d.pid;
    kill(master, SIGKILL);
    waitpid(master, NULL, 0);
    d.pid = -1;
    for (int i = 0; i < 3; i++) {
        cr_assert_gt(kids[i], 0);
        cr_assert(process_gone(kids[i], 5000), "child %ld outlived its master", (long)kids[i]);
    }
    cr_assert_eq(fix_daemon_start(&d), 0, "no restart after a master crash");
    json_t *j = fix_daemon_wait_done(&d, id, 200000);
    cr_assert_eq(fix_daemon_segs(j, "uploaded"), 40, "20 video and 20 audio segments");
    json_decref(j);
    cr_assert_eq(stat(first, &st), 0);
    cr_assert_eq(st.st_ino, before, "a segment published before the crash was sent again");
    fix_daemon_stop(&d, SIGTERM, 10000);
}
