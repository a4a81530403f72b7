/*
 * test_faults.c - faults a hostile operator or a bad input cause, and what
 * the user sees: a conversion that crashes at the same place of its input
 * every time is poison and fails as such; a conversion killed from outside
 * over and over is not the input's fault and ends done; the counts a user
 * reads never go back across attempts. docs/reliability.md lists every
 * fault, how it is injected and what is asserted.
 */
#include "tests/fix_daemon.h"
#include "tests/fix_users.h"

#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static int
dead(void *ud)
{
    return !fix_alive(*(const pid_t *)ud);
}

/* what a user reads of a job, to check it never goes back */
struct seen {
    double progress;
    long long done, uploaded;
};

/* seen_check - the job's counts now: never below what was seen, the
 * published segments never above the converted ones */
static void
seen_check(struct fix_daemon *d, int64_t id, struct seen *s)
{
    json_t *j = fix_daemon_status(d, id);
    cr_assert_not_null(j);
    double p = json_real_value(json_object_get(j, "progress"));
    long long done = fix_daemon_segs(j, "done"), up = fix_daemon_segs(j, "uploaded");
    cr_assert_geq(p, s->progress, "progress went back: %g after %g", p, s->progress);
    cr_assert_geq(done, s->done, "segments done went back: %lld after %lld", done, s->done);
    cr_assert_geq(up, s->uploaded, "segments uploaded went back");
    cr_assert_leq(up, done, "segments: done %lld, uploaded %lld", done, up);
    s->progress = p;
    s->done = done;
    s->uploaded = up;
    json_decref(j);
}

/* A poison input, for real: the test-only hook of bin/hooks/hlsd crashes
 * the conversion (SIGSEGV) as it reaches segment 3, at every attempt. The
 * job fails as poison, saying so, after two crashes at the same place
 * (max_attempts is 3); a good job on the same daemon ends done. */
Test(faults, poison_crash_at_same_segment_fails_as_poison, .timeout = 240)
{
    struct fix_daemon d;

    fix_daemon_init(&d, "poison_hook", 0);
    d.exe = "hooks/hlsd";
    fix_daemon_config(&d, 1, 1, NULL, "max_attempts = 3", NULL);
    fix_sh(NULL, 0, "touch '%s/SANITIZER_REPORT_EXPECTED'", d.dir);
    setenv("HLSD_TEST_CRASH_SEGMENT", "3", 1);
    char bad[512]; /* fix_clip's path is static */
    snprintf(bad, sizeof(bad), "%s", fix_clip(20, 320, 240));
    cr_assert_eq(fix_daemon_start(&d), 0);
    int64_t id = fix_daemon_submit(&d, bad, NULL);
    cr_assert_gt(id, 0);
    json_t *j = fix_daemon_wait(&d, id, NULL, 180000);
    cr_assert_not_null(j);
    const char *err = fix_daemon_str(j, "error");
    cr_assert_str_eq(fix_daemon_str(j, "state"), "failed", "%s", err);
    cr_assert(strstr(err, "worker crashed (signal") && strstr(err, "poison input"), "%s", err);
    cr_assert(strstr(err, "twice at the same place"), "not found poison at once: %s", err);
    cr_assert_eq(json_integer_value(json_object_get(j, "attempts")), 2);
    json_decref(j);

    int64_t ok = fix_daemon_submit(&d, fix_clip(4, 320, 240), NULL); /* segments 0 and 1 */
    j = fix_daemon_wait_done(&d, ok, 120000);
    json_decref(j);
    cr_assert_eq(WEXITSTATUS(fix_daemon_stop(&d, SIGTERM, 10000)), 0);
}

/* kill_conversions - SIGKILL the conversion of job id n times, each time
 * in the worker that took it up again, checking the counts between */
static void
kill_conversions(struct fix_daemon *d, int64_t id, int n, struct seen *s)
{
    pid_t prev = -1;
    for (int k = 0; k < n; k++) {
        pid_t victim = fix_daemon_wait_worker(d, "convert", id, prev, 90000);
        cr_assert_gt(victim, 0, "kill %d: the conversion did not start again", k);
        seen_check(d, id, s);
        /* let it get somewhere before it is killed, but not to the end */
        json_t *j = fix_daemon_wait_uploaded(d, id, s->uploaded + 1, 60000);
        json_decref(j);
        seen_check(d, id, s);
        cr_assert_eq(kill(victim, SIGKILL), 0);
        cr_assert(fix_wait(dead, &victim, 5000));
        seen_check(d, id, s);
        prev = victim;
    }
}

/* An operator (or a container runtime) kills the conversion with SIGKILL
 * again and again: not the input's fault. With max_attempts = 2, four
 * kills still end done, and what the user reads never went back. */
Test(faults, external_sigkill_loop_does_not_fail_a_good_job, .timeout = 300)
{
    struct fix_daemon d;
    struct seen s = {0, 0, 0};

    fix_daemon_init(&d, "killloop", 0);
    fix_daemon_config(&d, 1, 2, NULL, "preset = medium\nmax_attempts = 2", NULL);
    const char *clip = fix_clip(40, 640, 360);
    cr_assert_eq(fix_daemon_start(&d), 0);
    int64_t id = fix_daemon_submit(&d, clip, "--segment 2");
    cr_assert_gt(id, 0);
    kill_conversions(&d, id, 4, &s);
    json_t *j = fix_daemon_wait_done(&d, id, 240000);
    cr_assert_eq(json_integer_value(json_object_get(j, "attempts")), 5);
    cr_assert_eq(fix_daemon_segs(j, "uploaded"), 40, "20 video and 20 audio segments");
    cr_assert_eq(fix_daemon_segs(j, "done"), 40);
    json_decref(j);
    cr_assert(fix_daemon_log_contains(&d, "killed from outside"));
    cr_assert_eq(WEXITSTATUS(fix_daemon_stop(&d, SIGTERM, 10000)), 0);
}

/* ... yet a job killed for ever ends: at max_kills it fails, saying why */
Test(faults, external_kills_end_at_max_kills, .timeout = 240)
{
    struct fix_daemon d;
    struct seen s = {0, 0, 0};

    fix_daemon_init(&d, "maxkills", 0);
    fix_daemon_config(&d, 1, 1, NULL, "preset = medium\nmax_kills = 2", NULL);
    const char *clip = fix_clip(40, 640, 360);
    cr_assert_eq(fix_daemon_start(&d), 0);
    int64_t id = fix_daemon_submit(&d, clip, "--segment 2");
    kill_conversions(&d, id, 2, &s);
    json_t *j = fix_daemon_wait(&d, id, "failed", 30000);
    cr_assert_not_null(j, "the job killed max_kills times did not fail");
    const char *err = fix_daemon_str(j, "error");
    cr_assert(strstr(err, "killed from outside (signal 9") && strstr(err, "max_kills"), "%s", err);
    json_decref(j);
    fix_daemon_stop(&d, SIGTERM, 10000);
}

/* ctl killed again and again, with time between: its crashes are
 * forgiven once it has lived respawn_forgive (2 s here, 60 s by default),
 * so it is back at once every time instead of after 2, 4, 8 s... */
Test(faults, ctl_killed_now_and_then_comes_back_at_once, .timeout = 120)
{
    struct fix_daemon d;

    fix_daemon_init(&d, "ctlforgive", 0);
    fix_daemon_config(&d, 1, 1, "respawn_forgive = 2s", NULL, NULL);
    cr_assert_eq(fix_daemon_start(&d), 0);
    for (int k = 0; k < 5; k++) {
        pid_t ctl = fix_daemon_wait_worker(&d, "ctl", 0, -1, 10000);
        cr_assert_gt(ctl, 0);
        /* it lives past respawn_forgive before it is killed */
        usleep(2300 * 1000);
        int64_t t0 = fix_ms();
        cr_assert_eq(kill(ctl, SIGKILL), 0);
        pid_t now = fix_daemon_wait_worker(&d, "ctl", 0, ctl, 10000);
        cr_assert_gt(now, 0, "kill %d: no new ctl", k + 1);
        cr_assert_lt(fix_ms() - t0, 1800, "kill %d: ctl came back after %lld ms", k + 1,
                     (long long)(fix_ms() - t0));
    }
    cr_assert_not(fix_daemon_log_contains(&d, "respawns suspended"));
    cr_assert_eq(WEXITSTATUS(fix_daemon_stop(&d, SIGTERM, 10000)), 0);
}

/* stall - as user nobody, n connections that each announce a 1000-byte
 * submission and send nothing more; writes to `report` how many were
 * answered "busy" (as an error line), then holds the rest until killed */
static void
stall(const char *sock, int n, int report)
{
    int *fds = calloc((size_t)n, sizeof(int));
    if (fds == NULL || setgid(65534) < 0 || setuid(65534) < 0)
        _exit(1);
    const char *line = "{\"cmd\":\"submit\",\"input\":\"x.mp4\",\"size\":1000}\n";
    for (int i = 0; i < n; i++) {
        fds[i] = fix_connect(sock);
        if (fds[i] >= 0 && send(fds[i], line, strlen(line), MSG_NOSIGNAL) < 0) {
            /* refused before it was read: its line says why */
        }
    }
    fix_nap(1500);
    int busy = 0;
    for (int i = 0; i < n; i++) {
        char buf[512];
        ssize_t r = fds[i] >= 0 ? recv(fds[i], buf, sizeof(buf) - 1, MSG_DONTWAIT) : -1;
        if (r > 0) {
            buf[r] = '\0';
            busy += strstr(buf, "\"busy\"") != NULL;
        }
    }
    if (write(report, &busy, sizeof(busy)) != sizeof(busy))
        _exit(1);
    pause();
    _exit(0);
}

/* 300 clients of one user stall in the middle of a submission: they take
 * at most half the slots (the rest are told "busy" in an error line),
 * another user's `hlsctl ping` answers at once, and a real job completes.
 * With every slot taken, hlsctl says "busy", never "Broken pipe". */
Test(faults, stalled_submitters_cannot_starve_the_socket, .timeout = 180, .fini = fix_users_cleanup)
{
    struct fix_daemon d;
    char pub[512], out[4096];
    int rep[2];

    fix_users_need_root();
    fix_daemon_init(&d, "starve", 0);
    fix_users_public_dir(pub, sizeof(pub), "starve");
    snprintf(d.sock, sizeof(d.sock), "%s/hlsd.sock", pub);
    fix_daemon_config(&d, 1, 1, "socket_mode = 0666", NULL, NULL);
    cr_assert_eq(fix_daemon_start(&d), 0);
    cr_assert_eq(pipe(rep), 0);
    pid_t staller = fork();
    cr_assert_geq(staller, 0);
    if (staller == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        stall(d.sock, 300, rep[1]);
    }
    int busy = -1;
    cr_assert_eq(read(rep[0], &busy, sizeof(busy)), (ssize_t)sizeof(busy));
    cr_assert_eq(busy, 300 - 128, "%d of 300 stalled connections were told busy", busy);

    int64_t t0 = fix_ms();
    cr_assert_eq(fix_daemon_ctl(&d, out, sizeof(out), "ping"), 0, "%s", out);
    cr_assert_lt(fix_ms() - t0, 3000, "ping took %lld ms", (long long)(fix_ms() - t0));
    int64_t id = fix_daemon_submit(&d, fix_clip(4, 320, 240), NULL);
    cr_assert_gt(id, 0);
    json_t *j = fix_daemon_wait_done(&d, id, 90000);
    json_decref(j);

    /* every slot taken (the other half by root): busy, as an error */
    int mine[128];
    for (int i = 0; i < 128; i++)
        mine[i] = fix_connect(d.sock);
    fix_nap(300);
    int rc = fix_daemon_ctl(&d, out, sizeof(out), "ping 2>&1");
    cr_assert_neq(rc, 0);
    cr_assert(strstr(out, "busy") && !strstr(out, "Broken pipe"), "hlsctl: %s", out);
    for (int i = 0; i < 128; i++)
        close(mine[i]);
    kill(staller, SIGKILL);
    waitpid(staller, NULL, 0);
    cr_assert_eq(WEXITSTATUS(fix_daemon_stop(&d, SIGTERM, 10000)), 0);
}

static char full_mount[600];

static void
full_cleanup(void)
{
    if (full_mount[0])
        fix_sh(NULL, 0, "umount -l '%s' 2>/dev/null", full_mount);
}

/* submit_says - hlsctl submit's output (stdout and stderr) and exit code */
static int
submit_says(struct fix_daemon *d, const char *clip, char *out, size_t cap)
{
    return fix_daemon_ctl(d, out, cap, "--json submit '%s' 2>&1", clip);
}

/* The disk under state_dir (a small tmpfs) fills up in the middle of a
 * job, then space returns: the daemon never exits, refuses new jobs with
 * "store_full" meanwhile, and every job it acknowledged ends done. */
Test(faults, store_disk_full_then_freed_loses_nothing, .timeout = 300, .fini = full_cleanup)
{
    struct fix_daemon d;
    char out[8192];

    fix_daemon_init(&d, "storefull", 0);
    cr_assert_eq(fix_sh(NULL, 0, "mkdir -p '%s'", d.state), 0);
    if (fix_sh(NULL, 0, "mount -t tmpfs -o size=12m,mode=0700 tmpfs '%s' 2>/dev/null", d.state) !=
        0)
        cr_skip_test("mount -t tmpfs is not permitted here: the disk-full test needs it");
    snprintf(full_mount, sizeof(full_mount), "%s", d.state);
    fix_daemon_config(&d, 1, 1, NULL, "preset = medium", NULL);
    char clip[512];
    snprintf(clip, sizeof(clip), "%s", fix_clip(30, 640, 360));
    cr_assert_eq(fix_daemon_start(&d), 0);
    int64_t a = fix_daemon_submit(&d, clip, "--segment 2");
    cr_assert_gt(a, 0);
    json_t *j = fix_daemon_wait_uploaded(&d, a, 2, 90000);
    cr_assert_not_null(j);
    json_decref(j);

    fix_sh(NULL, 0, "dd if=/dev/zero of='%s/fill' bs=64k 2>/dev/null; sync", d.state);
    int64_t deadline = fix_ms() + 20000;
    int refused = 0;
    while (!refused && fix_ms() < deadline) {
        int rc = submit_says(&d, fix_clip(4, 320, 240), out, sizeof(out));
        refused = rc != 0 && strstr(out, "store_full") != NULL;
        cr_assert(rc != 0 || fix_ms() < deadline, "%s", out);
        fix_nap(300);
    }
    cr_assert(refused, "no store_full while the disk is full: %s", out);
    /* the acknowledged job goes on, and the daemon stays up */
    j = fix_daemon_status(&d, a);
    long long up = fix_daemon_segs(j, "uploaded");
    json_decref(j);
    j = fix_daemon_wait_uploaded(&d, a, up + 2, 60000);
    cr_assert_not_null(j, "the job stopped while the disk was full");
    json_decref(j);
    cr_assert(fix_alive(d.pid), "the daemon exited on a full disk");

    fix_sh(NULL, 0, "rm -f '%s/fill'", d.state);
    int64_t b = -1;
    deadline = fix_ms() + 20000;
    while (b < 0 && fix_ms() < deadline) {
        b = fix_daemon_submit(&d, fix_clip(4, 320, 240), NULL);
        if (b < 0)
            fix_nap(300);
    }
    cr_assert_gt(b, 0, "no submission accepted once space returned");
    j = fix_daemon_wait_done(&d, a, 200000);
    json_decref(j);
    j = fix_daemon_wait_done(&d, b, 60000);
    json_decref(j);
    cr_assert(fix_daemon_log_contains(&d, "is full"));
    cr_assert(fix_daemon_log_contains(&d, "space is back"));
    cr_assert_eq(WEXITSTATUS(fix_daemon_stop(&d, SIGTERM, 10000)), 0);
}

static int
rounds(void)
{
    const char *s = getenv("HLSD_FAULT_ROUNDS");
    return s && atoi(s) > 0 ? atoi(s) : 20;
}

/* kill -9 rounds: a random child (a conversion, an upload, ctl) or the
 * master itself, again and again, while 4 jobs are in flight (a new one
 * submitted as one ends). Every job ends done, its published tree is valid
 * with no debris, nothing is left in /dev/shm by any master, the spool is
 * empty after. HLSD_FAULT_ROUNDS rounds (20; 100 in make test-faults). */
Test(faults, kill9_rounds_every_job_done, .timeout = 1800)
{
    struct fix_daemon d;
    enum { INFLIGHT = 4, MAXJOBS = 400 };
    int64_t ids[MAXJOBS];
    int njobs = 0, nmasters = 0;
    pid_t masters[200];
    char out[4096];
    static const char *const roles[] = {"convert", "upload", "ctl", "master"};

    /* to the run's S3 server when there is one (the ledger is then checked
     * against a bucket listing), else to a directory */
    int s3 = fix_daemon_init(&d, "kill9", 1) == 0;
    if (!s3)
        fix_daemon_init(&d, "kill9", 0);
    /* a child that lived 2 s is forgiven its crashes: the rounds are 2-3 s apart */
    fix_daemon_config(&d, 2, 2, "respawn_forgive = 2s", NULL, NULL);
    char clip[512];
    snprintf(clip, sizeof(clip), "%s", fix_clip(12, 320, 240));
    cr_assert_eq(fix_daemon_start(&d), 0);
    masters[nmasters++] = d.pid;
    srand((unsigned)getpid());
    int n = rounds();
    for (int r = 0; r < n; r++) {
        /* keep INFLIGHT jobs going */
        int live = 0;
        for (int i = 0; i < njobs; i++) {
            json_t *j = fix_daemon_status(&d, ids[i]);
            if (j && strcmp(fix_daemon_str(j, "state"), "done") != 0) {
                cr_assert_str_neq(fix_daemon_str(j, "state"), "failed", "round %d: job %lld: %s", r,
                                  (long long)ids[i], fix_daemon_str(j, "error"));
                live++;
            }
            json_decref(j);
        }
        while (live < INFLIGHT && njobs < MAXJOBS) {
            int64_t id = fix_daemon_submit(&d, clip, NULL);
            cr_assert_gt(id, 0, "round %d: submit", r);
            ids[njobs++] = id;
            live++;
        }
        fix_nap(1500 + rand() % 1500);
        const char *role = roles[rand() % 5 == 0 ? 3 : rand() % 3];
        if (strcmp(role, "master") == 0) {
            kill(d.pid, SIGKILL);
            waitpid(d.pid, NULL, 0);
            cr_assert_eq(fix_daemon_start(&d), 0, "round %d: no restart after kill -9", r);
            if (nmasters < 200)
                masters[nmasters++] = d.pid;
            continue;
        }
        pid_t victim = fix_daemon_worker_pid(&d, role, 0);
        if (victim > 0)
            kill(victim, SIGKILL);
    }
    for (int i = 0; i < njobs; i++) {
        json_t *j = fix_daemon_wait_done(&d, ids[i], 300000);
        json_decref(j);
        char root[700];
        snprintf(root, sizeof(root), "%s/%lld", d.www, (long long)ids[i]);
        if (s3) /* what an independent client downloads */
            cr_assert_eq(fix_daemon_aws(out, sizeof(out),
                                        "s3 cp --recursive --only-show-errors 's3://%s/%s/%lld/' "
                                        "'%s'",
                                        getenv("HLSD_TEST_S3_BUCKET"), d.s3_prefix,
                                        (long long)ids[i], root),
                         0, "%s", out);
        cr_assert_gt(fix_daemon_published(root, NULL), 0, "job %lld", (long long)ids[i]);
    }
    /* no debris of an upload cut short */
    cr_assert_eq(
        fix_sh(out, sizeof(out), "find '%s' -name '.*' -o -name '*.tmp*' | head -5", d.www), 0);
    cr_assert_str_eq(out, "", "debris in the output: %s", out);
    cr_assert_eq(WEXITSTATUS(fix_daemon_stop(&d, SIGTERM, 10000)), 0);
    /* every object exactly once: the ledger (all uploaded) is the listing */
    for (int i = 0; i < njobs; i++) {
        char ledger[8192], listing[8192];
        fix_sh(ledger, sizeof(ledger),
               "sqlite3 '%s/hlsd.db' \"select rel || ' ' || state from objects where job=%lld\" "
               "| sort",
               d.state, (long long)ids[i]);
        if (s3) {
            char keys[8192];
            cr_assert_eq(fix_daemon_aws(keys, sizeof(keys),
                                        "s3api list-objects-v2 --bucket '%s' --prefix '%s/%lld/' "
                                        "--query 'Contents[].Key' --output text",
                                        getenv("HLSD_TEST_S3_BUCKET"), d.s3_prefix,
                                        (long long)ids[i]),
                         0, "%s", keys);
            char path[700];
            snprintf(path, sizeof(path), "%s/keys-%lld", d.dir, (long long)ids[i]);
            FILE *f = fopen(path, "w");
            cr_assert_not_null(f);
            fputs(keys, f);
            fclose(f);
            fix_sh(listing, sizeof(listing),
                   "tr '\\t' '\\n' <'%s' | grep . | sed 's|^%s/%lld/||; s|$| 2|' | sort", path,
                   d.s3_prefix, (long long)ids[i]);
        } else {
            fix_sh(listing, sizeof(listing),
                   "cd '%s/%lld' && find . -type f | sed 's|^./||; s|$| 2|' | sort", d.www,
                   (long long)ids[i]);
        }
        cr_assert_str_eq(ledger, listing, "job %lld: ledger and listing differ", (long long)ids[i]);
    }
    /* the spool holds nothing of the jobs, /dev/shm nothing of any master */
    fix_sh(out, sizeof(out), "ls -A '%s' | grep -v '^incoming$'; ls -A '%s/incoming'", d.spool,
           d.spool);
    cr_assert_str_eq(out, "", "left in the spool: %s", out);
    for (int i = 0; i < nmasters; i++) {
        fix_sh(out, sizeof(out), "ls /dev/shm | grep '^hlsd-%ld-' | head -3", (long)masters[i]);
        cr_assert_str_eq(out, "", "left in /dev/shm: %s", out);
    }
}

/* a socket mode that would lock everyone out is refused by `hlsd -t`, not
 * quietly replaced at start */
Test(faults, socket_mode_that_locks_out_is_refused_by_hlsd_t, .timeout = 30)
{
    char dir[512], out[2048];

    fix_tmpdir(dir, sizeof(dir), "sockmode");
    static const char *const modes[] = {"0000", "0460", "0660"};
    for (int i = 0; i < 3; i++) {
        int rc = fix_sh(out, sizeof(out),
                        "printf '[daemon]\\nsocket_mode = %s\\n' >'%s/c.conf' && "
                        "'%s/hlsd' -t -c '%s/c.conf' 2>&1",
                        modes[i], dir, fix_bindir(), dir);
        if (i < 2) {
            cr_assert_eq(rc, 2, "socket_mode %s: exit %d: %s", modes[i], rc, out);
            cr_assert(strstr(out, "c.conf:2") && strstr(out, "does not let the socket's owner in"),
                      "%s", out);
        } else {
            cr_assert_eq(rc, 0, "socket_mode 0660: %s", out);
        }
    }
}
