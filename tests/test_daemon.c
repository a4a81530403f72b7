/*
 * test_daemon.c - the whole daemon, black-box: the real bin/hlsd on a
 * private socket, spool and output, driven with bin/hlsctl and raw socket
 * requests, publishing to a directory or to the run's real S3 server.
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

static char *
slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return NULL;
    static char buf[1 << 16];
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    buf[n] = '\0';
    fclose(f);
    return strdup(buf);
}

/* check_playlist - a finished VOD playlist at root/uri whose files all exist; its entries. */
static int
check_playlist(const char *root, const char *uri)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/%s", root, uri);
    char *media = slurp(path);
    cr_assert_not_null(media, "rendition playlist %s is missing", path);
    cr_assert(strstr(media, "#EXT-X-PLAYLIST-TYPE:VOD"), "%s is not VOD", uri);
    cr_assert(strstr(media, "#EXT-X-ENDLIST"), "%s is not finished", uri);
    char dir[512];
    snprintf(dir, sizeof(dir), "%s", uri);
    char *slash = strrchr(dir, '/');
    cr_assert_not_null(slash);
    *slash = '\0';
    int n = 0;
    char *s2 = NULL;
    for (char *l = strtok_r(media, "\n", &s2); l; l = strtok_r(NULL, "\n", &s2)) {
        if (l[0] == '#' || l[0] == '\0')
            continue;
        snprintf(path, sizeof(path), "%s/%s/%s", root, dir, l);
        cr_assert(fix_exists(path), "segment %s is missing", path);
        n++;
    }
    free(media);
    return n;
}

/*
 * check_published - what a player needs under root (a directory holding
 * master.m3u8): every variant line carries the required attributes, every
 * playlist it names (variants, audio and subtitle renditions, I-frame
 * playlists) is a finished VOD playlist, every segment they name exists.
 * Returns the number of segments; *playlists (if not NULL) the playlists.
 */
static int
check_published_n(const char *root, int *playlists)
{
    char path[1024], seen[64][64];
    int nseen = 0;
    snprintf(path, sizeof(path), "%s/master.m3u8", root);
    char *master = slurp(path);
    cr_assert_not_null(master, "%s is missing", path);
    cr_assert(strncmp(master, "#EXTM3U", 7) == 0, "master playlist does not start with #EXTM3U");
    int variants = 0, segments = 0;
    char *save = NULL;
    for (char *line = strtok_r(master, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char uri[64] = "";
        const char *u = strstr(line, "URI=\"");
        if (strncmp(line, "#EXT-X-STREAM-INF:", 18) == 0) {
            variants++;
            const char *need[] = {"BANDWIDTH=", "AVERAGE-BANDWIDTH=", "CODECS=\""};
            for (size_t i = 0; i < sizeof(need) / sizeof(need[0]); i++)
                cr_assert(strstr(line, need[i]), "variant lacks %s: %s", need[i], line);
            if (strstr(line, "RESOLUTION=")) {
                cr_assert(strstr(line, "CODECS=\"avc1.") && strstr(line, "FRAME-RATE=") &&
                              strstr(line, "VIDEO-RANGE="),
                          "video variant lacks CODECS, FRAME-RATE or VIDEO-RANGE: %s", line);
            }
            char *next = strtok_r(NULL, "\n", &save);
            cr_assert(next && next[0] != '#', "a variant without a URI");
            snprintf(uri, sizeof(uri), "%s", next);
        } else if ((strncmp(line, "#EXT-X-MEDIA:", 13) == 0 ||
                    strncmp(line, "#EXT-X-I-FRAME-STREAM-INF:", 26) == 0) &&
                   u != NULL) {
            snprintf(uri, sizeof(uri), "%.*s", (int)strcspn(u + 5, "\""), u + 5);
        }
        int dup = uri[0] == '\0';
        for (int i = 0; i < nseen && !dup; i++)
            dup = strcmp(seen[i], uri) == 0;
        if (dup)
            continue;
        cr_assert_lt(nseen, 64);
        snprintf(seen[nseen++], sizeof(seen[0]), "%s", uri);
        int n = check_playlist(root, uri);
        segments += strstr(uri, "iframes.m3u8") ? 0 : n; /* byte ranges of the same files */
    }
    free(master);
    cr_assert_gt(variants, 0, "no variant in the master playlist");
    if (playlists)
        *playlists = nseen;
    return segments;
}

static int
check_published(const char *root)
{
    return check_published_n(root, NULL);
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
    int segs = check_published_n(root, &lists);
    cr_assert_eq(segs, fix_daemon_segs(job, "uploaded"), "published %d segments, job says %lld",
                 segs, fix_daemon_segs(job, "uploaded"));
    /* a video and an audio rendition: two media playlists and an I-frame one */
    cr_assert_eq(lists, 3, "%d playlists besides the master", lists);
    /* nothing is left behind in the spool, no temporary names in the output */
    char spooljob[700];
    snprintf(spooljob, sizeof(spooljob), "%s/1", d.spool);
    cr_assert(!fix_exists(spooljob), "the spool still holds job 1");
    cr_assert_eq(fix_daemon_count_files(d.www), segs + 1 + lists, "stray files in the output");
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

Test(daemon, submit_to_done_with_s3_and_awscli_reads_it_back, .timeout = 180)
{
    struct fix_daemon d;
    char out[16384];

    if (fix_daemon_init(&d, "s3", 1) < 0)
        cr_skip_test("no S3 test server");
    fix_daemon_config(&d, 1, 2, NULL, NULL, NULL);
    const char *clip = fix_clip(6, 320, 240);
    cr_assert_eq(fix_daemon_start(&d), 0, "hlsd did not start (log %s)", d.log);
    int64_t id = fix_daemon_submit(&d, clip, "--prefix videos");
    cr_assert_gt(id, 0);
    json_t *job = fix_daemon_wait_done(&d, id, 90000);
    json_decref(job);

    const char *bucket = getenv("HLSD_TEST_S3_BUCKET");
    char base[512];
    snprintf(base, sizeof(base), "%s/videos/%lld", d.s3_prefix, (long long)id);
    /* an independent client downloads what was published */
    char down[700];
    snprintf(down, sizeof(down), "%s/down", d.dir);
    int rc =
        fix_daemon_aws(out, sizeof(out), "s3 cp --recursive --only-show-errors 's3://%s/%s/' '%s'",
                       bucket, base, down);
    cr_assert_eq(rc, 0, "aws s3 cp exited %d", rc);
    int segs = check_published(down);
    cr_assert_gt(segs, 0);
    /* the right content types */
    rc = fix_daemon_aws(out, sizeof(out), "s3api head-object --bucket '%s' --key '%s/master.m3u8'",
                        bucket, base);
    cr_assert_eq(rc, 0);
    cr_assert(strstr(out, "application/vnd.apple.mpegurl"), "master content type: %s", out);
    char seg[1024];
    /* a video rendition's (the audio renditions' are named audio*) */
    snprintf(seg, sizeof(seg), "find '%s' -path '*/[0-9]*p/seg_00000.ts' | head -1", down);
    char segpath[700];
    fix_sh(segpath, sizeof(segpath), "%s", seg);
    segpath[strcspn(segpath, "\n")] = '\0';
    cr_assert(segpath[0], "no first segment downloaded");
    const char *rel = segpath + strlen(down) + 1;
    rc = fix_daemon_aws(out, sizeof(out), "s3api head-object --bucket '%s' --key '%s/%s'", bucket,
                        base, rel);
    cr_assert_eq(rc, 0);
    cr_assert(strstr(out, "video/mp2t"), "segment content type: %s", out);
    /* a segment is real MPEG-TS with H.264 in it */
    rc = fix_sh(out, sizeof(out),
                "ffprobe -v error -select_streams v:0 -show_entries stream=codec_name -of csv=p=0 "
                "'%s'",
                segpath);
    cr_assert_eq(rc, 0);
    cr_assert(strstr(out, "h264"), "ffprobe: %s", out);
    cr_assert_eq(WEXITSTATUS(fix_daemon_stop(&d, SIGTERM, 10000)), 0);
}

/* The first segment is in the bucket before the conversion has written its
 * last one: uploads run while conversion goes on. */
Test(daemon, segments_upload_while_conversion_runs, .timeout = 240)
{
    struct fix_daemon d;
    char out[8192];

    if (fix_daemon_init(&d, "overlap", 1) < 0)
        cr_skip_test("no S3 test server");
    /* a slow preset on a longer clip: many segments, seconds apart */
    fix_daemon_config(&d, 1, 2, NULL, "preset = medium", NULL);
    const char *clip = fix_clip(40, 640, 360);
    cr_assert_eq(fix_daemon_start(&d), 0);
    int64_t id = fix_daemon_submit(&d, clip, "--segment 2");
    cr_assert_gt(id, 0);
    const char *bucket = getenv("HLSD_TEST_S3_BUCKET");
    char outdir[800];
    snprintf(outdir, sizeof(outdir), "%s/%lld/out", d.spool, (long long)id);

    int seen = 0;
    int64_t deadline = fix_ms() + 120000;
    while (!seen && fix_ms() < deadline) {
        char first[900] = "";
        fix_sh(first, sizeof(first),
               "cd '%s' 2>/dev/null && ls */seg_00000.ts 2>/dev/null | head -1", outdir);
        first[strcspn(first, "\n")] = '\0';
        if (first[0] == '\0')
            continue;
        if (fix_daemon_aws(out, sizeof(out), "s3api head-object --bucket '%s' --key '%s/%lld/%s'",
                           bucket, d.s3_prefix, (long long)id, first) != 0)
            continue;
        /* in the bucket: is the conversion still short of its last segment? */
        char last[900];
        char rend[64];
        snprintf(rend, sizeof(rend), "%.*s", (int)(strchr(first, '/') - first), first);
        snprintf(last, sizeof(last), "%s/%s/seg_00019.ts", outdir, rend);
        json_t *job = fix_daemon_status(&d, id);
        cr_assert_str_eq(fix_daemon_str(job, "state"), "converting",
                         "the first segment reached the bucket only after the conversion");
        cr_assert(!fix_exists(last), "the last segment was already written");
        json_decref(job);
        seen = 1;
    }
    cr_assert(seen, "the first segment never reached the bucket");
    json_t *job = fix_daemon_wait_done(&d, id, 180000);
    cr_assert_eq(fix_daemon_segs(job, "uploaded"), 40, "40 s in 2 s segments, video and audio");
    json_decref(job);
    fix_daemon_stop(&d, SIGTERM, 10000);
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
    check_published(root);
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

static int
alive(struct fix_daemon *d, const char *role)
{
    json_t *r = fix_daemon_req(d, "{\"cmd\":\"stats\"}");
    int n = (int)jint(json_object_get(json_object_get(r, "stats"), "workers"), role);
    json_decref(r);
    return n;
}

Test(daemon, hup_resizes_the_pools, .timeout = 60)
{
    struct fix_daemon d;

    fix_daemon_init(&d, "hup", 0);
    fix_daemon_config(&d, 1, 2, NULL, NULL, NULL);
    cr_assert_eq(fix_daemon_start(&d), 0);
    cr_assert_eq(alive(&d, "convert"), 1);
    cr_assert_eq(alive(&d, "upload"), 2);
    pid_t up_before = fix_daemon_worker_pid(&d, "upload", 0);

    fix_daemon_config(&d, 3, 4, NULL, NULL, NULL);
    kill(d.pid, SIGHUP);
    int64_t deadline = fix_ms() + 10000;
    while (!(settled(&d, "convert", 3) && settled(&d, "upload", 4)) && fix_ms() < deadline)
        ;
    cr_assert_eq(alive(&d, "convert"), 3);
    cr_assert_eq(alive(&d, "upload"), 4);

    fix_daemon_config(&d, 1, 1, NULL, NULL, NULL);
    kill(d.pid, SIGHUP);
    deadline = fix_ms() + 10000;
    while (!(settled(&d, "convert", 1) && settled(&d, "upload", 1)) && fix_ms() < deadline)
        ;
    cr_assert_eq(alive(&d, "convert"), 1);
    cr_assert_eq(alive(&d, "upload"), 1);
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
    cr_assert_eq(alive(&d, "convert"), 1);
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
    cr_assert_eq(check_published(root), 40);
    fix_daemon_stop(&d, SIGTERM, 10000);
}

/* A wrong secret: the job fails with S3's reason, and neither the wrong nor
 * the real secret appears in the job's error, hlsctl's output or the log. */
Test(daemon, wrong_s3_secret_fails_clearly_and_leaks_no_secret, .timeout = 120)
{
    struct fix_daemon d;
    char out[8192], extra[512];

    if (fix_daemon_init(&d, "badkey", 1) < 0)
        cr_skip_test("no S3 test server");
    const char *wrong = "WRONGsecretWRONGsecret0123456789abcdefXYZ";
    snprintf(extra, sizeof(extra), "secret_access_key = %s\nmax_attempts = 2", wrong);
    fix_daemon_config(&d, 1, 1, NULL, NULL, extra); /* the later key wins */
    const char *clip = fix_clip(4, 320, 240);
    cr_assert_eq(fix_daemon_start(&d), 0);
    int64_t id = fix_daemon_submit(&d, clip, NULL);
    json_t *job = fix_daemon_wait(&d, id, NULL, 60000);
    cr_assert_not_null(job);
    cr_assert_str_eq(fix_daemon_str(job, "state"), "failed");
    const char *err = fix_daemon_str(job, "error");
    cr_assert(strstr(err, "SignatureDoesNotMatch"), "the error does not say why: %s", err);
    cr_assert(strstr(err, getenv("HLSD_TEST_S3_BUCKET")), "the error names no bucket: %s", err);
    cr_assert(!strstr(err, wrong), "the error shows the secret");
    json_decref(job);
    fix_daemon_ctl(&d, out, sizeof(out), "--json status %lld 2>&1", (long long)id);
    cr_assert(!strstr(out, wrong) && !strstr(out, getenv("HLSD_TEST_S3_SECRET_KEY")));
    fix_daemon_stop(&d, SIGTERM, 10000);
    cr_assert(!fix_daemon_log_contains(&d, wrong), "the log shows the configured secret");
    cr_assert(!fix_daemon_log_contains(&d, getenv("HLSD_TEST_S3_SECRET_KEY")),
              "the log shows the real secret");
    cr_assert(fix_daemon_log_contains(&d, "SignatureDoesNotMatch"), "the log does not say why");
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
