/*
 * test_daemon.c - the whole daemon, black-box: the real bin/hlsd on a
 * private socket, spool and output, driven with bin/hlsctl and raw socket
 * requests, publishing to a directory (to S3: test_daemon_s3.c).
 */
#include "tests/fix_daemon.h"

#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static long long
jint(json_t *o, const char *k)
{
    return (long long)json_integer_value(json_object_get(o, k));
}

Test(daemon, submit_to_done_with_file_output, .timeout = 120)
{
    struct fix_daemon d;
    char out[8192];

    fix_daemon_init(&d, "file", 0);
    fix_daemon_config(&d, 1, 2, NULL, NULL, NULL);
    const char *clip = fix_clip(6, 320, 240);
    cr_assert_not_null(clip);
    cr_assert_eq(fix_daemon_start(&d), 0, "hlsd did not start (log %s)", d.log);

    int rc = fix_daemon_ctl(&d, out, sizeof(out), "submit '%s' --wait", clip);
    cr_assert_eq(rc, 0, "hlsctl submit --wait exited %d: %s", rc, out);
    cr_assert(strstr(out, "master.m3u8"), "--wait did not say where the playlist is: %s", out);

    json_t *job = fix_daemon_wait(&d, 1, "done", 1000);
    cr_assert_not_null(job);
    cr_assert_str_eq(fix_daemon_str(job, "input"), strrchr(clip, '/') + 1);
    cr_assert(json_is_null(json_object_get(job, "error")));
    cr_assert_gt(fix_daemon_segs(job, "done"), 0);
    cr_assert_eq(fix_daemon_segs(job, "uploaded"), fix_daemon_segs(job, "done"));
    cr_assert_eq(json_real_value(json_object_get(job, "progress")), 1.0);
    const char *url = fix_daemon_str(job, "playlist_url");
    char root[1024];
    snprintf(root, sizeof(root), "%s/1", d.www);
    char want[1100];
    snprintf(want, sizeof(want), "%s/master.m3u8", root);
    cr_assert_str_eq(url, want);
    int lists = 0;
    int segs = fix_daemon_published(root, &lists);
    cr_assert_eq(segs, fix_daemon_segs(job, "uploaded"), "published %d segments, job says %lld",
                 segs, fix_daemon_segs(job, "uploaded"));
    /* a video and an audio rendition: two media playlists and an I-frame one */
    cr_assert_eq(lists, 3, "%d playlists besides the master", lists);
    /* nothing is left behind in the spool, no temporary names in the output */
    char spooljob[700];
    snprintf(spooljob, sizeof(spooljob), "%s/1", d.spool);
    cr_assert(!fix_exists(spooljob), "the spool still holds job 1");
    /* + poster.jpg, sprites_0.jpg and storyboard.vtt (thumbnails are on by default) */
    cr_assert_eq(fix_daemon_count_files(d.www), segs + 1 + lists + 3, "stray files in the output");
    json_decref(job);

    /* status and list, as a person reads them */
    rc = fix_daemon_ctl(&d, out, sizeof(out), "status 1");
    cr_assert_eq(rc, 0);
    cr_assert(strstr(out, "done"), "status: %s", out);
    rc = fix_daemon_ctl(&d, out, sizeof(out), "list --state done");
    cr_assert_eq(rc, 0);
    cr_assert(strstr(out, strrchr(clip, '/') + 1), "list: %s", out);
    rc = fix_daemon_ctl(&d, out, sizeof(out), "status 999");
    cr_assert_eq(rc, 1, "status of an unknown job should fail (exit %d)", rc);
    cr_assert_eq(WEXITSTATUS(fix_daemon_stop(&d, SIGTERM, 10000)), 0);
}

Test(daemon, cancel_stops_conversion_within_a_second_and_removes_objects, .timeout = 180)
{
    struct fix_daemon d;
    char out[8192];

    fix_daemon_init(&d, "cancel", 0);
    fix_daemon_config(&d, 1, 2, NULL, "preset = medium", NULL);
    const char *clip = fix_clip(40, 640, 360);
    cr_assert_eq(fix_daemon_start(&d), 0);
    int64_t id = fix_daemon_submit(&d, clip, "--segment 2");
    cr_assert_gt(id, 0);
    /* wait until some of it is published */
    json_t *job = fix_daemon_wait_uploaded(&d, id, 2, 90000);
    cr_assert_not_null(job, "nothing was published in time");
    cr_assert_str_eq(fix_daemon_str(job, "state"), "converting");
    json_decref(job);
    pid_t conv = fix_daemon_worker_pid(&d, "convert", id);
    cr_assert_gt(conv, 0);

    int64_t t0 = fix_ms();
    int rc = fix_daemon_ctl(&d, out, sizeof(out), "cancel %lld", (long long)id);
    cr_assert_eq(rc, 0, "cancel: %s", out);
    job = fix_daemon_status(&d, id);
    cr_assert_str_eq(fix_daemon_str(job, "state"), "canceled");
    json_decref(job);
    /* the worker lets go of the job within a second */
    while (fix_daemon_worker_pid(&d, "convert", id) > 0 && fix_ms() - t0 < 3000)
        ;
    int64_t stopped = fix_ms() - t0;
    cr_assert_lt(stopped, 1000, "the conversion went on for %lld ms after cancel",
                 (long long)stopped);
    /* and its published objects come down */
    char jobdir[700];
    snprintf(jobdir, sizeof(jobdir), "%s/%lld", d.www, (long long)id);
    int64_t deadline = fix_ms() + 20000;
    while (fix_daemon_count_files(jobdir) > 0 && fix_ms() < deadline)
        ;
    cr_assert_eq(fix_daemon_count_files(jobdir), 0, "objects of the canceled job remain");
    deadline = fix_ms() + 5000;
    while (fix_exists(jobdir) && fix_ms() < deadline)
        ;
    cr_assert(!fix_exists(jobdir), "the canceled job's directory remains in the output");
    char spooljob[700];
    snprintf(spooljob, sizeof(spooljob), "%s/%lld", d.spool, (long long)id);
    deadline = fix_ms() + 5000;
    while (fix_exists(spooljob) && fix_ms() < deadline)
        ;
    cr_assert(!fix_exists(spooljob), "the spool still holds the canceled job");
    rc = fix_daemon_ctl(&d, out, sizeof(out), "cancel %lld", (long long)id);
    cr_assert_eq(rc, 1, "canceling twice should be refused");
    rc = fix_daemon_ctl(&d, out, sizeof(out), "list --state canceled");
    cr_assert(strstr(out, strrchr(clip, '/') + 1), "list: %s", out);
    fix_daemon_stop(&d, SIGTERM, 10000);
}

/* A job that failed because of its output can be retried once the output
 * is fixed; a done job cannot be retried. */
Test(daemon, retry_of_a_failed_job, .timeout = 120)
{
    struct fix_daemon d;
    char out[8192];

    fix_daemon_init(&d, "retry", 0);
    fix_daemon_config(&d, 1, 1, NULL, NULL, NULL);
    const char *clip = fix_clip(4, 320, 240);
    /* job 1's output directory is blocked by a regular file */
    fix_sh(NULL, 0, "mkdir -p '%s' && echo x > '%s/1'", d.www, d.www);
    cr_assert_eq(fix_daemon_start(&d), 0);
    int64_t id = fix_daemon_submit(&d, clip, NULL);
    cr_assert_eq(id, 1);
    json_t *job = fix_daemon_wait(&d, id, NULL, 60000);
    cr_assert_not_null(job);
    cr_assert_str_eq(fix_daemon_str(job, "state"), "failed");
    cr_assert(strstr(fix_daemon_str(job, "error"), "1/"), "the error names no object: %s",
              fix_daemon_str(job, "error"));
    json_decref(job);
    int rc = fix_daemon_ctl(&d, out, sizeof(out), "status 1");
    cr_assert_eq(rc, 0);

    fix_sh(NULL, 0, "rm -f '%s/1'", d.www);
    rc = fix_daemon_ctl(&d, out, sizeof(out), "retry 1");
    cr_assert_eq(rc, 0, "retry: %s", out);
    job = fix_daemon_wait_done(&d, id, 60000);
    cr_assert_eq(jint(job, "attempts"), 1);
    json_decref(job);
    char root[700];
    snprintf(root, sizeof(root), "%s/1", d.www);
    fix_daemon_published(root, NULL);
    rc = fix_daemon_ctl(&d, out, sizeof(out), "retry 1");
    cr_assert_eq(rc, 1, "a done job cannot be retried");
    fix_daemon_stop(&d, SIGTERM, 10000);
}

Test(daemon, queue_full_refuses_and_keeps_nothing, .timeout = 120)
{
    struct fix_daemon d;
    char out[8192];

    fix_daemon_init(&d, "qfull", 0);
    fix_daemon_config(&d, 1, 1, "max_queued = 1", "preset = medium", NULL);
    const char *big = fix_clip(40, 640, 360);
    cr_assert_eq(fix_daemon_start(&d), 0);
    int64_t a = fix_daemon_submit(&d, big, NULL);
    cr_assert_gt(a, 0);
    json_t *ja = fix_daemon_wait(&d, a, "converting", 30000);
    cr_assert_not_null(ja);
    json_decref(ja);
    int64_t b = fix_daemon_submit(&d, big, NULL);
    cr_assert_gt(b, 0, "one job may wait");
    int rc = fix_daemon_ctl(&d, out, sizeof(out), "submit '%s' 2>&1", big);
    cr_assert_eq(rc, 1, "a full queue must refuse (exit %d): %s", rc, out);
    cr_assert(strstr(out, "queue full"), "the refusal does not say why: %s", out);
    char incoming[700];
    snprintf(incoming, sizeof(incoming), "%s/incoming", d.spool);
    cr_assert_eq(fix_daemon_count_files(incoming), 0, "a refused input was left in the spool");
    /* both accepted jobs are still there */
    json_t *jb = fix_daemon_status(&d, b);
    cr_assert_str_eq(fix_daemon_str(jb, "state"), "queued");
    json_decref(jb);
    fix_daemon_ctl(&d, out, sizeof(out), "cancel %lld", (long long)a);
    fix_daemon_ctl(&d, out, sizeof(out), "cancel %lld", (long long)b);
    fix_daemon_stop(&d, SIGTERM, 10000);
}

Test(daemon, bad_requests_get_errors_and_break_nothing, .timeout = 60)
{
    struct fix_daemon d;

    fix_daemon_init(&d, "badreq", 0);
    fix_daemon_config(&d, 1, 1, NULL, NULL, NULL);
    cr_assert_eq(fix_daemon_start(&d), 0);
    pid_t ctl = fix_daemon_worker_pid(&d, "ctl", 0);
    cr_assert_gt(ctl, 0);
    struct {
        const char *line, *code;
    } t[] = {
        {"this is not json", "bad_request"},
        {"[1,2,3]", "bad_request"},
        {"{}", "bad_request"},
        {"{\"cmd\":\"explode\"}", "unknown_command"},
        {"{\"cmd\":\"status\",\"id\":\"seven\"}", "bad_request"},
        {"{\"cmd\":\"status\",\"id\":-3}", "bad_request"},
        {"{\"cmd\":\"status\",\"id\":424242}", "not_found"},
        {"{\"cmd\":\"cancel\",\"id\":424242}", "not_found"},
        {"{\"cmd\":\"list\",\"state\":\"sideways\"}", "bad_request"},
        {"{\"cmd\":\"submit\",\"input\":\"x.mp4\"}", "bad_request"},
        {"{\"cmd\":\"submit\",\"input\":\"x.mp4\",\"size\":4,\"ladder\":\"huge\"}", "bad_request"},
        {"\x01\x02\xff\xfe", "bad_request"},
    };
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        json_t *r = fix_daemon_req(&d, t[i].line);
        cr_assert_not_null(r, "no answer to request %zu", i);
        cr_expect(json_is_false(json_object_get(r, "ok")), "request %zu was accepted", i);
        json_t *e = json_object_get(r, "error");
        cr_expect_str_eq(fix_daemon_str(e, "code"), t[i].code, "request %zu: %s", i,
                         fix_daemon_str(e, "message"));
        cr_expect(strlen(fix_daemon_str(e, "message")) > 0, "request %zu: no message", i);
        json_decref(r);
    }
    /* a line over the bound */
    size_t big = 200000;
    char *huge = malloc(big + 1);
    memset(huge, 'a', big);
    memcpy(huge, "{\"cmd\":\"", 8);
    huge[big] = '\0';
    json_t *r = fix_daemon_req(&d, huge);
    free(huge);
    cr_assert_not_null(r, "no answer to an oversize request");
    cr_expect_str_eq(fix_daemon_str(json_object_get(r, "error"), "code"), "too_large");
    json_decref(r);
    /* nothing crashed: same ctl, master answers */
    cr_assert_eq(fix_daemon_worker_pid(&d, "ctl", 0), ctl, "ctl was replaced: it crashed");
    r = fix_daemon_req(&d, "{\"cmd\":\"ping\"}");
    cr_assert(json_is_true(json_object_get(r, "ok")));
    json_decref(r);
    char out[4096];
    cr_assert_eq(fix_daemon_ctl(&d, out, sizeof(out), "bogus-command 2>/dev/null"), 2,
                 "hlsctl usage errors exit 2");
    cr_assert_eq(WEXITSTATUS(fix_daemon_stop(&d, SIGTERM, 10000)), 0);
    cr_assert_eq(fix_daemon_ctl(&d, out, sizeof(out), "ping 2>/dev/null"), 3,
                 "an unreachable daemon is exit 3");
}

/* settled - n live children of role, and none starting or stopping */
static int
settled(struct fix_daemon *d, const char *role, int n)
{
    json_t *r = fix_daemon_req(d, "{\"cmd\":\"workers\"}"), *w;
    size_t i;
    int live = 0, moving = 0;

    json_array_foreach(json_object_get(r, "workers"), i, w)
    {
        const char *st = fix_daemon_str(w, "state");
        if (!strcmp(st, "starting") || !strcmp(st, "stopping"))
            moving++;
        if (!strcmp(fix_daemon_str(w, "role"), role) && jint(w, "pid") > 0)
            live++;
    }
    json_decref(r);
    return r != NULL && live == n && moving == 0;
}

Test(daemon, hup_resizes_the_pools, .timeout = 60)
{
    struct fix_daemon d;

    fix_daemon_init(&d, "hup", 0);
    fix_daemon_config(&d, 1, 2, NULL, NULL, NULL);
    cr_assert_eq(fix_daemon_start(&d), 0);
    cr_assert_eq(fix_daemon_workers(&d, "convert"), 1);
    cr_assert_eq(fix_daemon_workers(&d, "upload"), 2);
    pid_t up_before = fix_daemon_worker_pid(&d, "upload", 0);

    fix_daemon_config(&d, 3, 4, NULL, NULL, NULL);
    kill(d.pid, SIGHUP);
    int64_t deadline = fix_ms() + 10000;
    while (!(settled(&d, "convert", 3) && settled(&d, "upload", 4)) && fix_ms() < deadline)
        ;
    cr_assert_eq(fix_daemon_workers(&d, "convert"), 3);
    cr_assert_eq(fix_daemon_workers(&d, "upload"), 4);

    fix_daemon_config(&d, 1, 1, NULL, NULL, NULL);
    kill(d.pid, SIGHUP);
    deadline = fix_ms() + 10000;
    while (!(settled(&d, "convert", 1) && settled(&d, "upload", 1)) && fix_ms() < deadline)
        ;
    cr_assert_eq(fix_daemon_workers(&d, "convert"), 1);
    cr_assert_eq(fix_daemon_workers(&d, "upload"), 1);
    /* a pool resize replaces none of the children that stay */
    cr_assert_eq(fix_daemon_worker_pid(&d, "upload", 0), up_before,
                 "the remaining upload worker was replaced by a mere resize");
    /* and it still works */
    const char *clip = fix_clip(4, 320, 240);
    int64_t id = fix_daemon_submit(&d, clip, NULL);
    json_t *job = fix_daemon_wait_done(&d, id, 60000);
    json_decref(job);
    /* a broken configuration is refused and the old one kept */
    FILE *f = fopen(d.conf, "a");
    fprintf(f, "no_such_key = 1\n");
    fclose(f);
    kill(d.pid, SIGHUP);
    deadline = fix_ms() + 5000;
    while (!fix_daemon_log_contains(&d, "keeping the running configuration") && fix_ms() < deadline)
        ;
    cr_assert(fix_daemon_log_contains(&d, "keeping the running configuration"));
    cr_assert_eq(fix_daemon_workers(&d, "convert"), 1);
    fix_daemon_stop(&d, SIGTERM, 10000);
}

static ino_t
inode_of(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? st.st_ino : 0;
}

/* TERM in the middle of a job, then a restart: the job resumes and ends
 * done, and what was published before is not sent again. */
Test(daemon, term_then_restart_resumes_without_reuploading, .timeout = 240)
{
    struct fix_daemon d;

    fix_daemon_init(&d, "resume", 0);
    fix_daemon_config(&d, 1, 2, "shutdown_timeout = 200ms", "preset = medium", NULL);
    const char *clip = fix_clip(40, 640, 360);
    cr_assert_eq(fix_daemon_start(&d), 0);
    int64_t id = fix_daemon_submit(&d, clip, "--segment 2");
    json_t *job = fix_daemon_wait_uploaded(&d, id, 3, 90000);
    cr_assert_not_null(job);
    cr_assert_str_eq(fix_daemon_str(job, "state"), "converting",
                     "finished too early to test a resume");
    json_decref(job);
    char jobdir[700], first[1400];
    snprintf(jobdir, sizeof(jobdir), "%s/%lld", d.www, (long long)id);
    fix_daemon_first_segment(jobdir, first, sizeof(first));
    ino_t before = inode_of(first);
    cr_assert_neq(before, 0, "%s not published", first);

    int st = fix_daemon_stop(&d, SIGTERM, 15000);
    cr_assert(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0, "hlsd did not stop cleanly");
    cr_assert(fix_daemon_log_contains(&d, "stopping"));

    cr_assert_eq(fix_daemon_start(&d), 0, "hlsd did not start again");
    job = fix_daemon_wait_done(&d, id, 180000);
    cr_assert_eq(fix_daemon_segs(job, "uploaded"), 40, "20 video and 20 audio segments");
    json_decref(job);
    cr_assert_eq(inode_of(first), before, "a segment published before the restart was sent again");
    char root[700];
    snprintf(root, sizeof(root), "%s/%lld", d.www, (long long)id);
    cr_assert_eq(fix_daemon_published(root, NULL), 40);
    fix_daemon_stop(&d, SIGTERM, 10000);
}

static long
uid_of(pid_t pid)
{
    char path[64], line[256];
    long uid = -1;
    snprintf(path, sizeof(path), "/proc/%ld/status", (long)pid);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return -1;
    while (fgets(line, sizeof(line), f))
        if (sscanf(line, "Uid: %*d %ld", &uid) == 1)
            break;
    fclose(f);
    return uid;
}

/* Started as root with [daemon] user/group: every process runs as that
 * user, the socket has the configured owner and mode, and the published
 * objects belong to that user. */
Test(daemon, drops_privileges_to_the_configured_user, .timeout = 120)
{
    struct fix_daemon d;
    struct stat st;

    if (geteuid() != 0)
        cr_skip_test("needs root to change user");
    fix_daemon_init(&d, "user", 0);
    /* the user must be able to reach its directories under the scratch dir */
    fix_sh(NULL, 0, "chmod 0755 '%s' '%s'", fix_tmp(), d.dir);
    fix_daemon_config(&d, 1, 1, "user = nobody\ngroup = nogroup\nsocket_mode = 0660", NULL, NULL);
    cr_assert_eq(fix_daemon_start(&d), 0, "hlsd did not start (log %s)", d.log);
    long nobody = 65534;
    cr_assert_eq(uid_of(d.pid), nobody, "the master still runs as uid %ld", uid_of(d.pid));
    cr_assert_eq(uid_of(fix_daemon_worker_pid(&d, "convert", 0)), nobody);
    cr_assert_eq(uid_of(fix_daemon_worker_pid(&d, "upload", 0)), nobody);
    cr_assert_eq(uid_of(fix_daemon_worker_pid(&d, "ctl", 0)), nobody);
    cr_assert_eq(stat(d.sock, &st), 0);
    cr_assert_eq(st.st_uid, (uid_t)nobody, "socket owner %ld", (long)st.st_uid);
    cr_assert_eq(st.st_mode & 0777, 0660, "socket mode %o", st.st_mode & 0777);

    const char *clip = fix_clip(4, 320, 240);
    int64_t id = fix_daemon_submit(&d, clip, NULL);
    json_t *job = fix_daemon_wait_done(&d, id, 60000);
    char master[1200];
    snprintf(master, sizeof(master), "%s", fix_daemon_str(job, "playlist_url"));
    json_decref(job);
    cr_assert_eq(stat(master, &st), 0);
    cr_assert_eq(st.st_uid, (uid_t)nobody, "published as uid %ld", (long)st.st_uid);
    cr_assert_eq(WEXITSTATUS(fix_daemon_stop(&d, SIGTERM, 10000)), 0);
}
