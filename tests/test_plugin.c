/*
 * test_plugin.c - the engines live in plugins (daemon/plugin.h): the master
 * and ctl map none of FFmpeg's or libcurl's libraries, the workers that
 * need them load them and work, and an installation that lost a plugin
 * says so at start with the configuration exit code.
 */
#include <criterion/criterion.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/fix.h"
#include "tests/fix_daemon.h"

/* maps_has - whether /proc/PID/maps names a file containing `what` */
static int
maps_has(pid_t pid, const char *what)
{
    char cmd[256];
    snprintf(cmd, sizeof(cmd), "grep -q '%s' /proc/%d/maps", what, (int)pid);
    return fix_sh(NULL, 0, "%s", cmd) == 0;
}

/* rss_kib - VmRSS of a process, -1 if unknown */
static long
rss_kib(pid_t pid)
{
    char out[64];
    if (fix_sh(out, sizeof(out), "awk '/^VmRSS:/{print $2}' /proc/%d/status", (int)pid) != 0)
        return -1;
    return atol(out);
}

Test(plugin, master_maps_no_engine_library, .timeout = 120)
{
    struct fix_daemon d;
    char out[4096];

    cr_assert_eq(fix_daemon_init(&d, "plugin-maps", 0), 0);
    fix_daemon_config(&d, 1, 1, NULL, NULL, NULL);
    cr_assert_eq(fix_daemon_start(&d), 0, "hlsd did not start: see %s", d.log);
    int64_t id = fix_daemon_submit(&d, fix_clip(2, 320, 180), "");
    cr_assert_gt(id, 0);
    json_decref(fix_daemon_wait_done(&d, id, 60000));

    /* the job was converted and uploaded: both engines loaded in workers */
    static const char *const engine_libs[] = {"libavcodec", "libavformat",     "libcurl",
                                              "libcrypto",  "hlsd-convert.so", "hlsd-upload.so"};
    for (size_t i = 0; i < sizeof(engine_libs) / sizeof(engine_libs[0]); i++)
        cr_expect(!maps_has(d.pid, engine_libs[i]), "the master maps %s", engine_libs[i]);
    cr_assert_eq(fix_sh(out, sizeof(out), "pgrep -P %d | tr '\\n' ' '", (int)d.pid), 0);
    int convert = 0, upload = 0, bare = 0;
    for (char *p = strtok(out, " "); p; p = strtok(NULL, " ")) {
        pid_t c = (pid_t)atol(p);
        if (maps_has(c, "hlsd-convert.so"))
            convert++;
        else if (maps_has(c, "hlsd-upload.so"))
            upload++;
        else if (!maps_has(c, "libavcodec") && !maps_has(c, "libcurl"))
            bare++; /* ctl */
    }
    cr_expect_eq(convert, 1, "conversion workers with the engine loaded");
    cr_expect_eq(upload, 1, "upload workers with the engine loaded");
    cr_expect_eq(bare, 1, "ctl maps an engine library");

    /* a regression bound, not the benchmark's target (make bench-pipeline):
     * the master was 46 MiB resident when it mapped the engines */
    if (getenv("HLSD_SANITIZED") == NULL) {
        long rss = rss_kib(d.pid);
        cr_expect(rss > 0 && rss < 16 * 1024, "the master is %ld KiB resident", rss);
    }
    cr_expect_eq(fix_daemon_stop(&d, SIGTERM, 10000), 0);
}

Test(plugin, a_missing_engine_is_a_configuration_error, .timeout = 30)
{
    char out[4096], dir[512];

    fix_tmpdir(dir, sizeof(dir), "plugin-missing");
    const char *conf = fix_text("[daemon]\n");

    /* the binary alone, as an installation that lost /usr/lib/hlsd would be */
    cr_assert_eq(fix_sh(out, sizeof(out), "cp '%s/hlsd' '%s/hlsd'", fix_bindir(), dir), 0, "%s",
                 out);
    int rc = fix_sh(out, sizeof(out), "'%s/hlsd' -t -c '%s' 2>&1", dir, conf);
    cr_expect_eq(rc, 2, "exit %d: %s", rc, out);
    cr_expect(strstr(out, "hlsd-convert.so") && strstr(out, "broken installation"), "%s", out);
    cr_expect(strstr(out, "lib/hlsd"), "does not say where it looked: %s", out);
}
