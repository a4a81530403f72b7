/*
 * test_install.c - hlsd as an administrator gets it: `make install` into a
 * temporary DESTDIR (the files, their modes, the paths written into the
 * unit and the init script, a configuration never overwritten, `make
 * uninstall`), `make deb` (control fields, contents, conffiles, maintainer
 * scripts, lintian), and the man pages (rendered by man, clean under
 * mandoc -Tlint, and listing every configuration key, command and option
 * that the code has).
 *
 * make runs on the source tree with NOBUILD=1 and BINDIR set to the
 * binaries under test, so it only copies: several of these tests may run
 * at once, each in its own directory.
 */
#include "tests/fix_daemon.h"

#include <criterion/criterion.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char out[65536];

/* workdir - a fresh directory for this test */
static void
workdir(char *dir, size_t cap, const char *name)
{
    const char *t = getenv("HLSD_TEST_TMP");
    snprintf(dir, cap, "%s/%s-%ld", t ? t : "/tmp", name, (long)getpid());
    cr_assert_eq(fix_sh(NULL, 0, "rm -rf '%s' && mkdir -p '%s'", dir, dir), 0);
}

/* slurp - a whole file, malloc'd */
static char *
slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f, "%s: %s", path, strerror(errno));
    char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        fwrite(chunk, 1, n, m);
    fclose(m);
    fclose(f);
    return buf;
}

static int
count(const char *s, const char *needle)
{
    int n = 0;
    for (const char *p = s; (p = strstr(p, needle)) != NULL; p++)
        n++;
    return n;
}

static int
mode_of(const char *path)
{
    struct stat st;
    cr_assert_eq(stat(path, &st), 0, "%s: %s", path, strerror(errno));
    return st.st_mode & 07777;
}

/* make - make ARGS on the source tree, copying only; exit status, output in out */
static int
make(const char *args)
{
    return fix_sh(out, sizeof(out),
                  "make -s --no-print-directory -C '%s' NOBUILD=1 BINDIR='%s' %s 2>&1",
                  fix_srcdir(), fix_bindir(), args);
}

/* files - every file under root, "./path" per line, sorted */
static void
files(const char *root, char *buf, size_t cap)
{
    cr_assert_eq(fix_sh(buf, cap, "cd '%s' && find . ! -type d | LC_ALL=C sort", root), 0);
}

/* ---------------------------------------------------------------- install */

Test(install, make_install_into_destdir, .timeout = 60)
{
    char dir[512], root[600], path[1024], list[8192];

    workdir(dir, sizeof(dir), "install");
    snprintf(root, sizeof(root), "%s/root", dir);
    char args[1024];
    snprintf(args, sizeof(args), "install DESTDIR='%s'", root);
    cr_assert_eq(make(args), 0, "%s", out);

    files(root, list, sizeof(list));
    cr_assert_str_eq(list, "./etc/default/hlsd\n"
                           "./etc/hlsd/hlsd.conf\n"
                           "./etc/init.d/hlsd\n"
                           "./usr/local/bin/hlsctl\n"
                           "./usr/local/lib/hlsd/hlsd-convert.so\n"
                           "./usr/local/lib/hlsd/hlsd-http.so\n"
                           "./usr/local/lib/hlsd/hlsd-upload.so\n"
                           "./usr/local/lib/systemd/system/hlsd.service\n"
                           "./usr/local/lib/sysusers.d/hlsd.conf\n"
                           "./usr/local/sbin/hlsd\n"
                           "./usr/local/share/bash-completion/completions/hlsctl\n"
                           "./usr/local/share/doc/hlsd/README.md\n"
                           "./usr/local/share/doc/hlsd/hlsd.conf.example\n"
                           "./usr/local/share/man/man1/hlsctl.1\n"
                           "./usr/local/share/man/man5/hlsd.conf.5\n"
                           "./usr/local/share/man/man8/hlsd.8\n");
    static const struct {
        const char *path;
        int mode;
    } modes[] = {
        {"usr/local/sbin/hlsd", 0755},
        {"usr/local/bin/hlsctl", 0755},
        {"etc/init.d/hlsd", 0755},
        {"etc/hlsd/hlsd.conf", 0644},
        {"etc/default/hlsd", 0600},
        {"usr/local/share/man/man8/hlsd.8", 0644},
        {"usr/local/lib/systemd/system/hlsd.service", 0644},
    };
    for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
        snprintf(path, sizeof(path), "%s/%s", root, modes[i].path);
        cr_expect_eq(mode_of(path), modes[i].mode, "%s: mode %o", modes[i].path, mode_of(path));
    }

    /* the unit and the init script name what was installed */
    snprintf(path, sizeof(path), "%s/usr/local/lib/systemd/system/hlsd.service", root);
    char *unit = slurp(path);
    cr_expect(strstr(unit, "\nExecStart=/usr/local/sbin/hlsd -c ${CONFIG} $DAEMON_ARGS\n"), "%s",
              unit);
    cr_expect(strstr(unit, "\nExecStartPre=/usr/local/sbin/hlsd -t -c ${CONFIG}\n"), "%s", unit);
    cr_expect(strstr(unit, "\nEnvironment=CONFIG=/etc/hlsd/hlsd.conf\n"), "%s", unit);
    cr_expect(strstr(unit, "man:hlsd(8)"), "the unit's Documentation= lacks the man page");
    cr_expect(strstr(unit, "/usr/sbin/hlsd") == NULL, "the unit still names /usr/sbin/hlsd");
    free(unit);
    snprintf(path, sizeof(path), "%s/etc/init.d/hlsd", root);
    char *init = slurp(path);
    cr_expect(strstr(init, "DAEMON=${DAEMON:-/usr/local/sbin/hlsd}\n"), "init script: %s", init);
    free(init);

    /* what was installed runs */
    cr_assert_eq(fix_sh(out, sizeof(out), "'%s/usr/local/sbin/hlsd' -V", root), 0);
    char want[128];
    snprintf(want, sizeof(want), "hlsd %s\n", fix_version());
    cr_expect_str_eq(out, want);
    cr_expect_eq(fix_sh(out, sizeof(out),
                        "'%s/usr/local/sbin/hlsd' -t -c '%s/etc/hlsd/hlsd.conf' 2>&1", root, root),
                 0, "%s", out);

    /* bash completion: commands, states, global options after the command */
    snprintf(path, sizeof(path), "%s/usr/local/share/bash-completion/completions/hlsctl", root);
    static const struct {
        const char *words, *want;
        int cword;
    } comp[] = {
        {"hlsctl li", "list", 1},
        {"hlsctl list --state f", "failed", 3},
        {"hlsctl -s /x list --st", "--state", 4},
        {"hlsctl status 3 --so", "--socket", 3},
        {"hlsctl submit x.mp4 --la", "--ladder", 3},
    };
    for (size_t i = 0; i < sizeof(comp) / sizeof(comp[0]); i++) {
        cr_expect_eq(fix_sh(out, sizeof(out),
                            "bash -c 'source \"%s\"; COMP_WORDS=(%s); COMP_CWORD=%d; _hlsctl; "
                            "echo \"${COMPREPLY[*]}\"'",
                            path, comp[i].words, comp[i].cword),
                     0);
        out[strcspn(out, "\n")] = '\0';
        cr_expect_str_eq(out, comp[i].want, "completing '%s'", comp[i].words);
    }

    /* a second install keeps a configuration the administrator changed */
    cr_assert_eq(fix_sh(NULL, 0, "echo '# mine' >>'%s/etc/hlsd/hlsd.conf'", root), 0);
    cr_assert_eq(make(args), 0, "%s", out);
    cr_expect(strstr(out, "keeping"), "%s", out);
    snprintf(path, sizeof(path), "%s/etc/hlsd/hlsd.conf", root);
    char *conf = slurp(path);
    cr_expect(strstr(conf, "\n# mine\n"), "make install overwrote the configuration");
    free(conf);

    /* uninstall: everything but that changed configuration */
    snprintf(args, sizeof(args), "uninstall DESTDIR='%s'", root);
    cr_assert_eq(make(args), 0, "%s", out);
    files(root, list, sizeof(list));
    cr_expect_str_eq(list, "./etc/hlsd/hlsd.conf\n");
    fix_sh(NULL, 0, "rm -rf '%s'", dir);
}

Test(install, prefix_and_sysconfdir_reach_every_file, .timeout = 60)
{
    char dir[512], root[600], path[1024], list[8192], args[1024];

    workdir(dir, sizeof(dir), "install-prefix");
    snprintf(root, sizeof(root), "%s/root", dir);
    snprintf(args, sizeof(args), "install DESTDIR='%s' PREFIX=/usr SYSCONFDIR=/opt/etc", root);
    cr_assert_eq(make(args), 0, "%s", out);
    files(root, list, sizeof(list));
    cr_assert(strstr(list, "./opt/etc/hlsd/hlsd.conf\n"), "%s", list);
    cr_assert(strstr(list, "./opt/etc/init.d/hlsd\n"), "%s", list);
    cr_assert(strstr(list, "./opt/etc/default/hlsd\n"), "%s", list);
    cr_assert(strstr(list, "./usr/sbin/hlsd\n"), "%s", list);
    cr_assert(strstr(list, "./usr/lib/systemd/system/hlsd.service\n"), "%s", list);
    cr_assert(strstr(list, "./usr/share/man/man5/hlsd.conf.5\n"), "%s", list);

    snprintf(path, sizeof(path), "%s/usr/lib/systemd/system/hlsd.service", root);
    char *unit = slurp(path);
    cr_expect(strstr(unit, "\nEnvironment=CONFIG=/opt/etc/hlsd/hlsd.conf\n"), "%s", unit);
    cr_expect(strstr(unit, "\nExecStart=/usr/sbin/hlsd -c ${CONFIG} $DAEMON_ARGS\n"), "%s", unit);
    free(unit);
    snprintf(path, sizeof(path), "%s/opt/etc/init.d/hlsd", root);
    char *init = slurp(path);
    cr_expect(strstr(init, "CONFIG=${CONFIG:-/opt/etc/hlsd/hlsd.conf}\n"), "%s", init);
    free(init);
    snprintf(path, sizeof(path), "%s/usr/share/man/man8/hlsd.8", root);
    char *man = slurp(path);
    cr_expect(strstr(man, "/opt/etc/hlsd/hlsd.conf"), "hlsd.8 does not name the installed file");
    cr_expect_eq(count(man, "/etc/hlsd/hlsd.conf"), count(man, "/opt/etc/hlsd/hlsd.conf"),
                 "hlsd.8 still names /etc/hlsd/hlsd.conf");
    free(man);

    /* uninstall leaves nothing (the configuration is the shipped one) */
    snprintf(args, sizeof(args), "uninstall DESTDIR='%s' PREFIX=/usr SYSCONFDIR=/opt/etc", root);
    cr_assert_eq(make(args), 0, "%s", out);
    files(root, list, sizeof(list));
    cr_expect_str_empty(list);
    fix_sh(NULL, 0, "rm -rf '%s'", dir);
}

/* ------------------------------------------------- the init script's RUN_AS */

static char runas_pidfile[700];

static pid_t
runas_pid(void)
{
    return fix_pidfile(runas_pidfile);
}

/* a daemon left by a failed assertion is killed */
static void
runas_fini(void)
{
    pid_t pid = runas_pid();
    if (pid > 0)
        kill(pid, SIGKILL);
}

/* uid_of - the real and effective uid of pid ("R E") from /proc */
static void
uid_of(pid_t pid, char *buf, size_t cap)
{
    cr_assert_eq(fix_sh(buf, cap, "awk '/^Uid:/ {print $2, $3}' /proc/%ld/status", (long)pid), 0);
    buf[strcspn(buf, "\n")] = '\0';
}

/* RUN_AS=nobody from root: the daemon runs as nobody (with and without
 * start-stop-daemon), owns the directories the script made for it, answers,
 * stops; an unknown user is refused before anything starts */
Test(install, init_script_run_as_drops_root, .timeout = 90, .fini = runas_fini)
{
    char dir[64] = "/tmp/hlsd-runas.XXXXXX", conf[128], env[2048], uid[64];

    if (geteuid() != 0)
        cr_skip_test("needs root");
    cr_assert_eq(fix_sh(NULL, 0, "id nobody >/dev/null 2>&1"), 0, "no user nobody");
    /* outside the run's scratch directory, which only root may enter */
    cr_assert_not_null(mkdtemp(dir));
    cr_assert_eq(chmod(dir, 0755), 0);
    cr_assert_eq(fix_sh(NULL, 0, "cp '%s/hlsd' '%s'/hlsd-*.so '%s/hlsctl' '%s/'", fix_bindir(),
                        fix_bindir(), fix_bindir(), dir),
                 0);
    snprintf(conf, sizeof(conf), "%s/hlsd.conf", dir);
    FILE *f = fopen(conf, "w");
    cr_assert_not_null(f);
    fprintf(f,
            "[daemon]\nsocket = %s/run/s\npidfile = %s/run/hlsd.pid\nstate_dir = %s/state\n"
            "spool_dir = %s/spool\n[convert]\nworkers = 1\n[upload]\nworkers = 1\n"
            "url = file://%s/www\n",
            dir, dir, dir, dir, dir);
    fclose(f);
    snprintf(runas_pidfile, sizeof(runas_pidfile), "%s/run/hlsd.pid", dir);
    snprintf(env, sizeof(env),
             "HLSD_DEFAULTS=/dev/null DAEMON='%s/hlsd' CONFIG='%s' PIDFILE='%s' "
             "RUN_DIRS='%s/state %s/spool %s/www' STOP_TIMEOUT=20",
             dir, conf, runas_pidfile, dir, dir, dir);

    static const char *const ssd[] = {"START_STOP_DAEMON=/sbin/start-stop-daemon",
                                      "START_STOP_DAEMON="};
    for (size_t i = 0; i < sizeof(ssd) / sizeof(ssd[0]); i++) {
        if (i == 0 && !fix_exists("/sbin/start-stop-daemon"))
            continue;
        cr_assert_eq(fix_sh(out, sizeof(out),
                            "%s %s RUN_AS=nobody sh '%s/etc/init.d/hlsd' start 2>&1", env, ssd[i],
                            fix_srcdir()),
                     0, "%s: %s", ssd[i], out);
        pid_t pid = runas_pid();
        cr_assert_gt(pid, 0, "%s: no pidfile: %s", ssd[i], out);
        uid_of(pid, uid, sizeof(uid));
        cr_expect_str_eq(uid, "65534 65534", "%s: the master runs as uid %s", ssd[i], uid);
        struct stat st;
        char run[128];
        snprintf(run, sizeof(run), "%s/run", dir);
        cr_assert_eq(stat(run, &st), 0);
        cr_expect_eq(st.st_uid, 65534u, "%s is not nobody's", run);
        cr_expect_eq(st.st_mode & 0777, 0750);
        cr_expect_eq(fix_sh(out, sizeof(out), "'%s/hlsctl' -s '%s/run/s' ping 2>&1", dir, dir), 0,
                     "%s", out);
        cr_assert_eq(fix_sh(out, sizeof(out),
                            "%s %s RUN_AS=nobody sh '%s/etc/init.d/hlsd' stop 2>&1", env, ssd[i],
                            fix_srcdir()),
                     0, "%s: %s", ssd[i], out);
        cr_expect(!fix_alive(pid), "pid %ld still there after stop", (long)pid);
    }

    cr_expect_neq(fix_sh(out, sizeof(out),
                         "%s RUN_AS=no-such-user-hlsd sh '%s/etc/init.d/hlsd' start 2>&1", env,
                         fix_srcdir()),
                  0);
    cr_expect(strstr(out, "RUN_AS user no-such-user-hlsd does not exist"), "%s", out);
    cr_expect(runas_pid() <= 0, "a daemon started for an unknown user");
    runas_pidfile[0] = '\0';
    fix_sh(NULL, 0, "rm -rf '%s'", dir);
}

/* ---------------------------------------------------------------- deb */

Test(install, make_deb_fields_contents_and_lintian, .timeout = 120)
{
    char dir[512], deb[1024], args[1024], arch[64], want[256];

    workdir(dir, sizeof(dir), "deb");
    cr_assert_eq(fix_sh(arch, sizeof(arch), "dpkg --print-architecture"), 0);
    arch[strcspn(arch, "\n")] = '\0';
    snprintf(args, sizeof(args), "deb DEB_OUT='%s'", dir);
    cr_assert_eq(make(args), 0, "%s", out);
    snprintf(deb, sizeof(deb), "%s/hlsd_%s_%s.deb", dir, fix_version(), arch);
    cr_assert(fix_exists(deb), "no %s: %s", deb, out);

    /* control fields */
    static const char *const fields[][2] = {
        {"Package", "hlsd"}, {"Section", "video"}, {"Priority", "optional"}};
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
        cr_assert_eq(fix_sh(out, sizeof(out), "dpkg-deb -f '%s' %s", deb, fields[i][0]), 0);
        snprintf(want, sizeof(want), "%s\n", fields[i][1]);
        cr_expect_str_eq(out, want, "%s", fields[i][0]);
    }
    cr_assert_eq(fix_sh(out, sizeof(out), "dpkg-deb -f '%s' Version", deb), 0);
    snprintf(want, sizeof(want), "%s\n", fix_version());
    cr_expect_str_eq(out, want);
    cr_assert_eq(fix_sh(out, sizeof(out), "dpkg-deb -f '%s' Architecture", deb), 0);
    snprintf(want, sizeof(want), "%s\n", arch);
    cr_expect_str_eq(out, want);
    /* Depends: the packages of the linked libraries (each one a package
     * dpkg knows here, where the binaries were linked), and adduser */
    cr_assert_eq(fix_sh(out, sizeof(out), "dpkg-deb -f '%s' Depends", deb), 0);
    static const char *const libs[] = {"libavcodec", "libavformat", "libavutil",  "libcurl",
                                       "libsqlite3", "libinih",     "libjansson", "libssl",
                                       "libc6",      "adduser"};
    for (size_t i = 0; i < sizeof(libs) / sizeof(libs[0]); i++)
        cr_expect(strstr(out, libs[i]), "Depends lacks %s: %s", libs[i], out);
    static char depends[sizeof(out)];
    snprintf(depends, sizeof(depends), "%s", out);
    cr_expect_eq(fix_sh(out, sizeof(out),
                        "echo '%s' | tr ',' '\\n' | sed 's/(.*//; s/ //g' | grep -v '^adduser$' | "
                        "xargs dpkg-query -W >/dev/null 2>&1",
                        depends),
                 0, "a Depends package is unknown to dpkg: %s", depends);

    /* contents: the same install with PREFIX=/usr, man pages compressed */
    cr_assert_eq(fix_sh(out, sizeof(out), "dpkg-deb -c '%s' | awk '{print $NF}'", deb), 0);
    static const char *const paths[] = {
        "./usr/sbin/hlsd\n",
        "./usr/lib/hlsd/hlsd-convert.so\n",
        "./usr/lib/hlsd/hlsd-upload.so\n",
        "./usr/lib/hlsd/hlsd-http.so\n",
        "./usr/bin/hlsctl\n",
        "./etc/hlsd/hlsd.conf\n",
        "./etc/init.d/hlsd\n",
        "./etc/default/hlsd\n",
        "./lib/systemd/system/hlsd.service\n",
        "./usr/lib/sysusers.d/hlsd.conf\n",
        "./usr/share/bash-completion/completions/hlsctl\n",
        "./usr/share/man/man1/hlsctl.1.gz\n",
        "./usr/share/man/man5/hlsd.conf.5.gz\n",
        "./usr/share/man/man8/hlsd.8.gz\n",
        "./usr/share/doc/hlsd/copyright\n",
        "./usr/share/doc/hlsd/changelog.gz\n",
    };
    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
        cr_expect(strstr(out, paths[i]), "the package lacks %.*s", (int)strlen(paths[i]) - 1,
                  paths[i]);
    cr_expect(strstr(out, "/local/") == NULL, "a /usr/local path in the package: %s", out);

    /* conffiles and maintainer scripts */
    char ctl[600];
    snprintf(ctl, sizeof(ctl), "%s/control", dir);
    cr_assert_eq(fix_sh(out, sizeof(out), "dpkg-deb -e '%s' '%s'", deb, ctl), 0, "%s", out);
    char path[1024];
    snprintf(path, sizeof(path), "%s/conffiles", ctl);
    char *conffiles = slurp(path);
    cr_expect_str_eq(conffiles, "/etc/default/hlsd\n/etc/hlsd/hlsd.conf\n/etc/init.d/hlsd\n");
    free(conffiles);
    snprintf(path, sizeof(path), "%s/postinst", ctl);
    char *postinst = slurp(path);
    cr_expect(strstr(postinst, "adduser --system --group"), "postinst creates no user");
    cr_expect(strstr(postinst, "deb-systemd-helper enable hlsd.service"), "unit not enabled");
    cr_expect(strstr(postinst, "update-rc.d hlsd defaults"), "init script not registered");
    static const char *const starts[] = {"invoke-rc.d hlsd start", "deb-systemd-invoke start",
                                         "systemctl start", "service hlsd start", "enable --now"};
    for (size_t i = 0; i < sizeof(starts) / sizeof(starts[0]); i++)
        cr_expect(strstr(postinst, starts[i]) == NULL, "postinst starts the daemon (%s)",
                  starts[i]);
    free(postinst);

    /* the packaged daemon runs, and says the version the package has */
    snprintf(path, sizeof(path), "%s/x", dir);
    cr_assert_eq(
        fix_sh(out, sizeof(out), "dpkg-deb -x '%s' '%s' && '%s/usr/sbin/hlsd' -V", deb, path, path),
        0, "%s", out);
    snprintf(want, sizeof(want), "hlsd %s\n", fix_version());
    cr_expect_str_eq(out, want);

    if (fix_sh(NULL, 0, "command -v lintian >/dev/null") == 0) {
        int rc = fix_sh(out, sizeof(out), "lintian --tag-display-limit 0 '%s' 2>&1", deb);
        cr_expect(strstr(out, "\nE: ") == NULL && strncmp(out, "E: ", 3) != 0,
                  "lintian reports errors (exit %d):\n%s", rc, out);
    }
    fix_sh(NULL, 0, "rm -rf '%s'", dir);
}

/* ---------------------------------------------------------------- man pages */

static const char *const pages[] = {"hlsctl.1", "hlsd.conf.5", "hlsd.8"};

Test(man, pages_render_and_pass_mandoc_lint, .timeout = 60)
{
    cr_assert_eq(fix_sh(NULL, 0, "command -v mandoc >/dev/null && command -v man >/dev/null"), 0,
                 "mandoc and man are test dependencies (tools/deps.sh test)");
    for (size_t i = 0; i < sizeof(pages) / sizeof(pages[0]); i++) {
        char name[64];
        snprintf(name, sizeof(name), "%.*s", (int)(strrchr(pages[i], '.') - pages[i]), pages[i]);
        cr_expect_eq(fix_sh(out, sizeof(out),
                            "MANWIDTH=80 MANPAGER=cat man -l '%s/docs/man/%s' 2>&1", fix_srcdir(),
                            pages[i]),
                     0, "man -l %s: %s", pages[i], out);
        cr_expect(strstr(out, "NAME") && strstr(out, "DESCRIPTION") && strstr(out, name),
                  "man -l %s renders no page: %s", pages[i], out);
        cr_expect(strstr(out, "SEE ALSO"), "%s has no SEE ALSO", pages[i]);
        /* Every message fails, except that a referenced page is not
         * installed on this machine (our own pages cross-reference one
         * another before they are installed, syslog(3) comes with
         * manpages-dev) and a note about the system's mandoc.db. */
        fix_sh(out, sizeof(out),
               "mandoc -Tlint '%s/docs/man/%s' 2>&1 | grep -v -e 'STYLE: referenced manual "
               "not found' -e 'outdated mandoc.db'",
               fix_srcdir(), pages[i]);
        cr_expect_str_empty(out, "mandoc -Tlint %s:\n%s", pages[i], out);
    }
}

/* keys_from_config_c - "section.key" of every KEY("section", "key") */
static int
keys_from_config_c(char keys[][96], int max)
{
    char path[1024];
    int n = 0;

    snprintf(path, sizeof(path), "%s/daemon/config.c", fix_srcdir());
    char *src = slurp(path);
    for (char *p = src; (p = strstr(p, "KEY(\"")) != NULL && n < max; p++) {
        char sec[32], key[48];
        if (sscanf(p, "KEY(\"%31[a-z_]\", \"%47[a-z_]\")", sec, key) == 2)
            snprintf(keys[n++], 96, "%s.%s", sec, key);
    }
    free(src);
    return n;
}

/* keys_from_example - every `key =` line of etc/hlsd.conf, by section */
static int
keys_from_example(char keys[][96], int max)
{
    char path[1024], line[4096], sec[32] = "";
    int n = 0;

    snprintf(path, sizeof(path), "%s/etc/hlsd.conf", fix_srcdir());
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f);
    while (fgets(line, sizeof(line), f) && n < max) {
        char key[48];
        if (line[0] == '[')
            sscanf(line, "[%31[a-z_]]", sec);
        else if (sscanf(line, "%47[a-z_] =", key) == 1 && strchr(line, '='))
            snprintf(keys[n++], 96, "%s.%s", sec, key);
    }
    fclose(f);
    return n;
}

/* keys_from_man - every ".It Cm key" under ".Ss The [section] section" */
static int
keys_from_man(char keys[][96], int max)
{
    char path[1024], line[4096], sec[32] = "";
    int n = 0;

    snprintf(path, sizeof(path), "%s/docs/man/hlsd.conf.5", fix_srcdir());
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f);
    while (fgets(line, sizeof(line), f) && n < max) {
        char key[48];
        if (strncmp(line, ".Ss ", 4) == 0) {
            if (sscanf(line, ".Ss The [%31[a-z_]] section", sec) != 1)
                sec[0] = '\0';
        } else if (strncmp(line, ".Sh ", 4) == 0) {
            sec[0] = '\0';
        } else if (sec[0] && sscanf(line, ".It Cm %47[a-z_]", key) == 1) {
            snprintf(keys[n++], 96, "%s.%s", sec, key);
        }
    }
    fclose(f);
    return n;
}

static int
has(char keys[][96], int n, const char *k)
{
    for (int i = 0; i < n; i++)
        if (strcmp(keys[i], k) == 0)
            return 1;
    return 0;
}

Test(man, hlsd_conf_5_documents_every_key)
{
    char code[128][96], example[128][96], man[128][96];
    int nc = keys_from_config_c(code, 128), ne = keys_from_example(example, 128),
        nm = keys_from_man(man, 128);

    cr_assert_gt(nc, 20, "found only %d keys in daemon/config.c", nc);
    for (int i = 0; i < nc; i++) {
        cr_expect(has(man, nm, code[i]), "hlsd.conf(5) does not document %s", code[i]);
        cr_expect(has(example, ne, code[i]), "etc/hlsd.conf does not list %s", code[i]);
    }
    for (int i = 0; i < nm; i++)
        cr_expect(has(code, nc, man[i]), "hlsd.conf(5) documents %s, which config.c lacks", man[i]);
    for (int i = 0; i < ne; i++)
        cr_expect(has(code, nc, example[i]), "etc/hlsd.conf lists %s, which config.c lacks",
                  example[i]);
    cr_expect_eq(nm, nc, "hlsd.conf(5) has %d key entries, config.c %d keys", nm, nc);
}

/* every option --help prints is in the man page, every command too */
Test(man, hlsctl_1_and_hlsd_8_document_every_option)
{
    char path[1024], help[16384];

    cr_assert_eq(fix_sh(help, sizeof(help), "'%s/hlsctl' --help", fix_bindir()), 0);
    snprintf(path, sizeof(path), "%s/docs/man/hlsctl.1", fix_srcdir());
    char *man = slurp(path);
    for (char *p = help; (p = strstr(p, "--")) != NULL; p += 2) {
        char opt[32], want[48];
        if (sscanf(p, "--%31[a-z]", opt) != 1)
            continue;
        snprintf(want, sizeof(want), "Fl \\-%s", opt);
        cr_expect(strstr(man, want), "hlsctl(1) lacks --%s", opt);
    }
    static const char *const cmds[] = {"submit", "status",  "list",  "cancel",
                                       "retry",  "workers", "stats", "ping"};
    for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
        char want[48];
        snprintf(want, sizeof(want), "\n.It Cm %s", cmds[i]);
        cr_expect(strstr(man, want), "hlsctl(1) lacks the command %s", cmds[i]);
        cr_expect(strstr(help, cmds[i]), "hlsctl --help lacks the command %s", cmds[i]);
    }
    cr_expect(strstr(man, ".Sh EXIT STATUS") && strstr(man, ".Sh EXAMPLES"));
    free(man);

    cr_assert_eq(fix_sh(help, sizeof(help), "'%s/hlsd' -h", fix_bindir()), 0);
    snprintf(path, sizeof(path), "%s/docs/man/hlsd.8", fix_srcdir());
    man = slurp(path);
    for (char *p = help; (p = strstr(p, "\n  -")) != NULL; p += 4) {
        char want[32];
        snprintf(want, sizeof(want), ".It Fl %c", p[4]);
        cr_expect(strstr(man, want), "hlsd(8) lacks -%c", p[4]);
    }
    static const char *const secs[] = {".Sh SIGNALS", ".Sh FILES",  ".Sh EXIT STATUS",
                                       "Dv SIGHUP",   "Dv SIGTERM", "Dv SIGUSR1"};
    for (size_t i = 0; i < sizeof(secs) / sizeof(secs[0]); i++)
        cr_expect(strstr(man, secs[i]), "hlsd(8) lacks %s", secs[i]);
    free(man);
}
