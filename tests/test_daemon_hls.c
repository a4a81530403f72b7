/*
 * test_daemon_hls.c - the authoring-specification layout through the real
 * daemon: a job with two audio languages, a subtitle track and a caption
 * file given with `hlsctl submit --subtitles` is published whole and passes
 * the project's checks (tests/hls_check.c); a caption file that does not
 * parse is refused at submission with its line number, by hlsctl and by
 * the daemon itself, and no job is made; `[convert] audio = muxed` and
 * `first_variant` reach the conversion.
 */
#include "tests/convert_fixtures.h"
#include "tests/fix_daemon.h"
#include "tests/hls_check.h"

#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static const char good_srt[] = "1\n00:00:00,500 --> 00:00:02,000\nHallo\n\n"
                               "2\n00:00:03,000 --> 00:00:05,500\nZweite Zeile\n";
static const char bad_srt[] = "1\n00:00:00,500 --> 00:00:02,000\nok\n\n"
                              "2\n00:00:03,000 -> 00:00:05,500\nbroken arrow\n";

/* write_file - text into the test's directory; the path (static) */
static const char *
write_file(struct fix_daemon *d, const char *name, const char *text)
{
    static char path[2][1024];
    static int k;
    char *p = path[k++ % 2];
    snprintf(p, sizeof(path[0]), "%s/%s", d->dir, name);
    FILE *f = fopen(p, "w");
    cr_assert_not_null(f);
    fputs(text, f);
    fclose(f);
    return p;
}

/* languages_clip - 6 s, 320x240, English and French audio, an English mov_text track */
static const char *
languages_clip(struct fix_daemon *d)
{
    static char clip[1100];
    const char *srt = write_file(d, "track.srt", good_srt);
    snprintf(clip, sizeof(clip), "%s/langs.mp4", d->dir);
    cr_assert_eq(fix_sh(NULL, 0,
                        "ffmpeg -v error -y -f lavfi -i testsrc2=size=320x240:rate=25:duration=6 "
                        "-f lavfi -i sine=f=440:d=6 -f lavfi -i sine=f=880:d=6 -i '%s' "
                        "-map 0 -map 1 -map 2 -map 3 -c:v libx264 -preset ultrafast -g 50 "
                        "-pix_fmt yuv420p -c:a aac -c:s mov_text -metadata:s:a:0 language=eng "
                        "-metadata:s:a:1 language=fre -metadata:s:s:0 language=eng '%s'",
                        srt, clip),
                 0);
    return clip;
}

Test(daemon_hls, languages_subtitles_and_a_caption_file, .timeout = 120)
{
    struct fix_daemon d;
    char out[8192];

    fix_daemon_init(&d, "hls-langs", 0);
    fix_daemon_config(&d, 1, 2, NULL, NULL, NULL);
    const char *clip = languages_clip(&d);
    const char *cap = write_file(&d, "deutsch.srt", good_srt);
    cr_assert_eq(fix_daemon_start(&d), 0, "hlsd did not start (log %s)", d.log);
    char args[1400];
    snprintf(args, sizeof(args),
             "--ladder 240:400k,160:200k --first-variant 160p --subtitles de='%s'", cap);
    int64_t id = fix_daemon_submit(&d, clip, args);
    cr_assert_gt(id, 0, "submit failed");
    json_t *job = fix_daemon_wait_done(&d, id, 90000);
    json_decref(job);

    char root[700];
    snprintf(root, sizeof(root), "%s/%lld", d.www, (long long)id);
    struct hls_expect e = {
        .video = 1, .audio = 1, .n = 2, .seg = 2, .subtitles = 2, .any_profile = 1};
    hls_check_output(clip, root, &e); /* every object the master names was published */

    char master[800], why[256];
    snprintf(master, sizeof(master), "%s/master.m3u8", root);
    struct convert_fixtures_variant v[16];
    cr_assert_gt(convert_fixtures_master(master, v, 16, why, sizeof(why)), 0, "%s", why);
    cr_assert_str_eq(v[0].uri, "160p/index.m3u8", "--first-variant 160p");
    struct convert_fixtures_rendition r[16];
    int nr = convert_fixtures_renditions(master, r, 16, why, sizeof(why));
    int de = 0, en_sub = 0, fr = 0;
    for (int i = 0; i < nr; i++) {
        de |= strcmp(r[i].type, "SUBTITLES") == 0 && strcmp(r[i].language, "de") == 0;
        en_sub |= strcmp(r[i].type, "SUBTITLES") == 0 && strcmp(r[i].language, "en") == 0;
        fr |= strcmp(r[i].type, "AUDIO") == 0 && strcmp(r[i].language, "fr") == 0;
    }
    cr_assert(de && en_sub && fr, "master lacks the German captions, English subtitles or French");
    struct hls_cue cues[8];
    int n = hls_check_cues(root, "subs_de/index.m3u8", cues, 8);
    cr_assert_eq(n, 2);
    cr_assert_str_eq(cues[1].text, "Zweite Zeile");

    /* hlsctl status shows the renditions by kind */
    cr_assert_eq(fix_daemon_ctl(&d, out, sizeof(out), "status %lld", (long long)id), 0);
    cr_assert(strstr(out, "audio       en, fr\n") && strstr(out, "subtitles   de, en\n"), "%s",
              out);
    fix_daemon_stop(&d, SIGTERM, 10000);
}

/* send_fds - a request line with descriptors, as hlsctl sends it */
static int
send_fds(const char *sock, const char *line, const int *fds, int n)
{
    int s = fix_connect(sock);
    cr_assert_geq(s, 0);
    union {
        struct cmsghdr h;
        char buf[CMSG_SPACE(sizeof(int) * 4)];
    } cm;
    memset(&cm, 0, sizeof(cm));
    struct iovec iov = {(void *)line, strlen(line)};
    struct msghdr mh = {.msg_iov = &iov,
                        .msg_iovlen = 1,
                        .msg_control = cm.buf,
                        .msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)n)};
    struct cmsghdr *h = CMSG_FIRSTHDR(&mh);
    h->cmsg_level = SOL_SOCKET;
    h->cmsg_type = SCM_RIGHTS;
    h->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)n);
    memcpy(CMSG_DATA(h), fds, sizeof(int) * (size_t)n);
    cr_assert_eq(sendmsg(s, &mh, MSG_NOSIGNAL), (ssize_t)strlen(line));
    return s;
}

Test(daemon_hls, a_bad_caption_file_is_refused_with_its_line, .timeout = 90)
{
    struct fix_daemon d;
    char out[8192], err[8192];

    fix_daemon_init(&d, "hls-badcap", 0);
    fix_daemon_config(&d, 1, 1, NULL, NULL, NULL);
    const char *clip = fix_clip(2, 160, 120);
    const char *bad = write_file(&d, "bad.srt", bad_srt);
    cr_assert_eq(fix_daemon_start(&d), 0, "hlsd did not start (log %s)", d.log);

    /* hlsctl names the user's file and the line, before sending anything */
    int rc =
        fix_daemon_ctl(&d, out, sizeof(out), "submit '%s' --subtitles en='%s' 2>&1", clip, bad);
    cr_assert_eq(rc, 1, "hlsctl exited %d: %s", rc, out);
    cr_assert(strstr(out, "bad.srt line 6: expected a cue timing") != NULL, "%s", out);
    cr_assert_eq(
        fix_daemon_ctl(&d, out, sizeof(out), "submit '%s' --subtitles xx-='%s' 2>&1", clip, bad), 2,
        "a malformed language is a usage error");

    /* the daemon checks on its own: a client that skipped the check */
    FILE *in = fopen(clip, "r"), *cf = fopen(bad, "r");
    cr_assert(in && cf);
    int fds[2] = {fileno(in), fileno(cf)};
    int s = send_fds(d.sock,
                     "{\"cmd\":\"submit\",\"input\":\"clip.mp4\",\"subtitles\":"
                     "[{\"language\":\"en\",\"name\":\"bad.srt\"}]}\n",
                     fds, 2);
    char *reply = fix_line(s, 10000);
    cr_assert_not_null(reply);
    snprintf(err, sizeof(err), "%s", reply);
    free(reply);
    close(s);
    cr_assert(strstr(err, "\"bad_input\"") && strstr(err, "bad.srt line 6"), "%s", err);
    /* fewer descriptors than files named: refused, nothing kept */
    s = send_fds(
        d.sock,
        "{\"cmd\":\"submit\",\"input\":\"clip.mp4\",\"subtitles\":"
        "[{\"language\":\"en\",\"name\":\"a.srt\"},{\"language\":\"fr\",\"name\":\"b.srt\"}]}\n",
        fds, 2);
    reply = fix_line(s, 10000);
    cr_assert(reply && strstr(reply, "bad_request"), "%s", reply ? reply : "(none)");
    free(reply);
    close(s);
    fclose(in);
    fclose(cf);

    cr_assert_eq(fix_daemon_ctl(&d, out, sizeof(out), "--json list"), 0);
    cr_assert(strstr(out, "\"jobs\": []") || strstr(out, "\"jobs\":[]"), "a job was made: %s", out);
    char incoming[700];
    snprintf(incoming, sizeof(incoming), "%s/incoming", d.spool);
    cr_assert_eq(fix_daemon_count_files(incoming), 0, "the refused submissions left files");
    fix_daemon_stop(&d, SIGTERM, 10000);
}

Test(daemon_hls, configured_audio_muxed_and_first_variant, .timeout = 90)
{
    struct fix_daemon d;

    fix_daemon_init(&d, "hls-muxed", 0);
    fix_daemon_config(&d, 1, 1, NULL, "audio = muxed\nfirst_variant = highest", NULL);
    const char *clip = fix_clip(4, 320, 240);
    cr_assert_eq(fix_daemon_start(&d), 0, "hlsd did not start (log %s)", d.log);
    int64_t id = fix_daemon_submit(&d, clip, "--ladder 240:400k,160:200k");
    cr_assert_gt(id, 0);
    json_decref(fix_daemon_wait_done(&d, id, 60000));
    char root[700], master[800], why[256];
    snprintf(root, sizeof(root), "%s/%lld", d.www, (long long)id);
    struct hls_expect e = {.video = 1, .audio = 1, .n = 2, .seg = 2, .muxed = 1, .any_profile = 1};
    hls_check_output(clip, root, &e);
    snprintf(master, sizeof(master), "%s/master.m3u8", root);
    struct convert_fixtures_variant v[8];
    cr_assert_eq(convert_fixtures_master(master, v, 8, why, sizeof(why)), 2);
    cr_assert_str_eq(v[0].uri, "240p/index.m3u8", "first_variant = highest");

    /* a submission overrides the configuration */
    int64_t id2 = fix_daemon_submit(&d, clip, "--ladder 240:400k --audio separate");
    cr_assert_gt(id2, 0);
    json_decref(fix_daemon_wait_done(&d, id2, 60000));
    snprintf(root, sizeof(root), "%s/%lld", d.www, (long long)id2);
    struct hls_expect e2 = {.video = 1, .audio = 1, .n = 1, .seg = 2, .any_profile = 1};
    hls_check_output(clip, root, &e2);
    fix_daemon_stop(&d, SIGTERM, 10000);
}

/* What the conversion leaves out of an input, the job says (here: a ninth
 * audio track, past the bound of eight). */
Test(daemon_hls, the_job_says_what_was_left_out, .timeout = 90)
{
    struct fix_daemon d;
    char out[8192], clip[1100], args[2048] = "";

    fix_daemon_init(&d, "hls-notes", 0);
    fix_daemon_config(&d, 1, 1, NULL, NULL, NULL);
    size_t n = 0;
    n += (size_t)snprintf(args + n, sizeof(args) - n,
                          "-f lavfi -i testsrc2=size=160x120:rate=25:duration=2");
    for (int i = 0; i < 9; i++)
        n += (size_t)snprintf(args + n, sizeof(args) - n, " -f lavfi -i sine=f=%d:d=2",
                              300 + 50 * i);
    for (int i = 0; i < 10; i++)
        n += (size_t)snprintf(args + n, sizeof(args) - n, " -map %d", i);
    snprintf(clip, sizeof(clip), "%s/nine.mkv", d.dir);
    cr_assert_eq(fix_sh(NULL, 0,
                        "ffmpeg -v error -y %s -c:v libx264 -preset ultrafast -c:a aac '%s'", args,
                        clip),
                 0);
    cr_assert_eq(fix_daemon_start(&d), 0, "hlsd did not start (log %s)", d.log);
    int64_t id = fix_daemon_submit(&d, clip, "--ladder 144:200k");
    cr_assert_gt(id, 0);
    json_t *job = fix_daemon_wait_done(&d, id, 60000);
    const char *notes = fix_daemon_str(job, "notes");
    cr_assert(notes && strstr(notes, "audio track 9 left out (more than 8)"), "notes: %s",
              notes ? notes : "(null)");
    json_decref(job);
    cr_assert_eq(fix_daemon_ctl(&d, out, sizeof(out), "status %lld", (long long)id), 0);
    cr_assert(strstr(out, "notes       audio track 9 left out"), "%s", out);
    fix_daemon_stop(&d, SIGTERM, 10000);
}
