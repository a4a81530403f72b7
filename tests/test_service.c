/*
 * test_service.c - hlsd as a service: the LSB init script etc/init.d/hlsd
 * driven against a private binary, configuration and pidfile (through its
 * environment overrides), and hlsd's own daemonizing (the parent returns
 * once the daemon is up, the pidfile names the master, a second hlsd says
 * "already running"). Every wait polls with a deadline; every daemon a
 * test starts is killed in the fixture's fini, even when the test fails.
 */
#include "tests/fix_daemon.h"

#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static struct fix_daemon D;
static char pidfile[700];

static pid_t
read_pidfile(void)
{
    return fix_pidfile(pidfile);
}

static pid_t
ppid_of(pid_t pid)
{
    pid_t pp;
    return fix_proc_stat(pid, NULL, &pp) == 0 ? pp : -1;
}

/* masters - hlsd processes started on our configuration that are not
 * children of another one (workers are forked, so they share the command
 * line) */
static int
masters(void)
{
    DIR *dir = opendir("/proc");
    struct dirent *e;
    int n = 0;

    cr_assert_not_null(dir);
    while ((e = readdir(dir)) != NULL) {
        char path[300], cmd[4096];
        long pid = strtol(e->d_name, NULL, 10);
        if (pid <= 0 || !fix_alive((pid_t)pid))
            continue;
        snprintf(path, sizeof(path), "/proc/%ld/cmdline", pid);
        FILE *f = fopen(path, "r");
        if (f == NULL)
            continue;
        size_t len = fread(cmd, 1, sizeof(cmd) - 1, f);
        fclose(f);
        int ours = 0, is_hlsd = 0;
        for (size_t i = 0; i < len; i += strlen(cmd + i) + 1) {
            cmd[len] = '\0';
            if (i == 0 && strstr(cmd, "hlsd") && !strstr(cmd, "hlsd-tests"))
                is_hlsd = 1;
            if (strcmp(cmd + i, D.conf) == 0)
                ours = 1;
        }
        if (!ours || !is_hlsd)
            continue;
        pid_t pp = ppid_of((pid_t)pid);
        char ppath[64], pcmd[4096] = "";
        snprintf(ppath, sizeof(ppath), "/proc/%ld/cmdline", (long)pp);
        f = fopen(ppath, "r");
        if (f) {
            size_t k = fread(pcmd, 1, sizeof(pcmd) - 1, f);
            pcmd[k] = '\0';
            fclose(f);
        }
        /* a forked worker's parent is a master with the same command line */
        if (strcmp(pcmd, cmd) != 0)
            n++;
    }
    closedir(dir);
    return n;
}

/* kill_all - the fini: whatever the pidfile names, and its process group */
static void
kill_all(void)
{
    pid_t pid = read_pidfile();
    if (pid > 0 && fix_alive(pid)) {
        pid_t pg = getpgid(pid);
        if (pg > 1 && pg != getpgrp())
            kill(-pg, SIGKILL);
        kill(pid, SIGKILL);
        int64_t deadline = fix_ms() + 5000;
        while (fix_alive(pid) && fix_ms() < deadline)
            fix_nap(10);
    }
    if (D.pid > 0)
        fix_daemon_stop(&D, SIGKILL, 1000);
}

static void
setup(void)
{
    char name[64];
    snprintf(name, sizeof(name), "svc%ld", (long)getpid());
    cr_assert_eq(fix_daemon_init(&D, name, 0), 0);
    fix_daemon_config(&D, 1, 1, NULL, NULL, NULL);
    snprintf(pidfile, sizeof(pidfile), "%s/hlsd.pid", D.dir);
}

/* init - run the init script with our overrides; exit code, output
 * (stdout and stderr together) in out. ssd: "" = plain kill. */
static int
init_ssd(const char *ssd, const char *action, char *out, size_t cap)
{
    return fix_sh(out, cap,
                  "HLSD_DEFAULTS=/dev/null DAEMON='%s/hlsd' CONFIG='%s' PIDFILE='%s' "
                  "STOP_TIMEOUT=20 %s%s%s sh '%s/etc/init.d/hlsd' %s 2>&1",
                  fix_bindir(), D.conf, pidfile, ssd ? "START_STOP_DAEMON='" : "", ssd ? ssd : "",
                  ssd ? "'" : "", fix_srcdir(), action);
}

static int
init(const char *action, char *out, size_t cap)
{
    return init_ssd(NULL, action, out, cap);
}

/* wait_workers - poll until the pools are c and u, 10 s at most */
static int
wait_workers(long long c, long long u)
{
    int64_t deadline = fix_ms() + 10000;
    while (fix_ms() < deadline) {
        if (fix_daemon_workers(&D, "convert") == c && fix_daemon_workers(&D, "upload") == u)
            return 1;
        fix_nap(50);
    }
    return 0;
}

/* looks_like_daemon_log - a line of hlsd's own log format leaked */
static int
looks_like_daemon_log(const char *out)
{
    return strstr(out, "master[") || strstr(out, " info: ") || strstr(out, " warning: ") ||
           strstr(out, " error: ");
}

TestSuite(service, .init = setup, .fini = kill_all, .timeout = 120);

Test(service, init_script_start_status_reload_stop)
{
    char out[8192];

    /* nothing yet */
    cr_expect_eq(init("status", out, sizeof(out)), 3, "status before start: %s", out);

    /* start */
    cr_assert_eq(init("start", out, sizeof(out)), 0, "start: %s", out);
    cr_expect(!looks_like_daemon_log(out), "the daemon logged to the terminal: %s", out);
    pid_t pid = read_pidfile();
    cr_assert_gt(pid, 0, "no pid in %s", pidfile);
    cr_assert(fix_alive(pid), "pid %ld from the pidfile is not running", (long)pid);
    cr_expect_eq(fix_daemon_ctl(&D, out, sizeof(out), "ping"), 0, "ping: %s", out);
    /* the pidfile names the master: the workers are its children */
    pid_t w = fix_daemon_worker_pid(&D, "convert", 0);
    cr_assert_gt(w, 0);
    cr_expect_eq(ppid_of(w), pid, "convert worker %ld has parent %ld, the pidfile says %ld",
                 (long)w, (long)ppid_of(w), (long)pid);
    cr_expect_eq(masters(), 1);

    /* start again: no second daemon */
    cr_expect_eq(init("start", out, sizeof(out)), 0, "second start: %s", out);
    cr_expect(strstr(out, "already running"), "%s", out);
    cr_expect_eq(read_pidfile(), pid);
    cr_expect_eq(masters(), 1, "a second master appeared");

    /* status */
    cr_expect_eq(init("status", out, sizeof(out)), 0, "status: %s", out);
    cr_expect(strstr(out, "is running"), "%s", out);

    /* reload: new pool sizes, same master */
    cr_assert(wait_workers(1, 1), "pools are not 1/1 at start");
    fix_daemon_config(&D, 2, 3, NULL, NULL, NULL);
    cr_expect_eq(init("reload", out, sizeof(out)), 0, "reload: %s", out);
    cr_expect(wait_workers(2, 3), "after reload: convert %lld upload %lld, expected 2 and 3",
              fix_daemon_workers(&D, "convert"), fix_daemon_workers(&D, "upload"));
    cr_expect_eq(read_pidfile(), pid);
    cr_expect(fix_alive(pid));
    cr_expect_eq(init("force-reload", out, sizeof(out)), 0, "force-reload: %s", out);

    /* a broken configuration is refused by reload; the daemon keeps going */
    FILE *f = fopen(D.conf, "a");
    cr_assert_not_null(f);
    fprintf(f, "no_such_key = 1\n");
    fclose(f);
    cr_expect_neq(init("reload", out, sizeof(out)), 0, "reload of a bad config succeeded");
    cr_expect(strstr(out, "unknown key 'no_such_key'"), "%s", out);
    cr_expect(fix_alive(pid));
    cr_expect_eq(fix_daemon_ctl(&D, out, sizeof(out), "ping"), 0);
    cr_expect_eq(fix_daemon_workers(&D, "convert"), 2);
    /* and restart does not stop it for a broken configuration either */
    cr_expect_neq(init("restart", out, sizeof(out)), 0, "restart with a bad config succeeded");
    cr_expect(fix_alive(pid), "restart stopped the daemon before checking the config");
    fix_daemon_config(&D, 2, 3, NULL, NULL, NULL);

    /* stop */
    cr_expect_eq(init("stop", out, sizeof(out)), 0, "stop: %s", out);
    cr_expect(!fix_alive(pid), "pid %ld still runs after stop", (long)pid);
    cr_expect_eq(masters(), 0);
    cr_expect_eq(init("status", out, sizeof(out)), 3, "status after stop: %s", out);
    cr_expect(!fix_exists(D.sock), "the socket %s is left behind", D.sock);
    cr_expect(!fix_exists(pidfile), "the pidfile is left behind");
    cr_expect_eq(init("stop", out, sizeof(out)), 0, "stop when stopped: %s", out);
    cr_expect_eq(init("reload", out, sizeof(out)), 7, "reload when stopped: %s", out);
}

Test(service, init_script_restart_and_plain_kill)
{
    char out[8192];

    /* without start-stop-daemon */
    cr_assert_eq(init_ssd("", "start", out, sizeof(out)), 0, "start: %s", out);
    pid_t pid = read_pidfile();
    cr_assert(fix_alive(pid));
    cr_expect_eq(init_ssd("", "status", out, sizeof(out)), 0, "%s", out);
    cr_expect_eq(init_ssd("", "restart", out, sizeof(out)), 0, "restart: %s", out);
    pid_t pid2 = read_pidfile();
    cr_expect(fix_alive(pid2));
    cr_expect_neq(pid2, pid, "restart kept the same process");
    cr_expect(!fix_alive(pid), "the old master survived the restart");
    cr_expect_eq(fix_daemon_ctl(&D, out, sizeof(out), "ping"), 0);
    cr_expect_eq(init_ssd("", "try-restart", out, sizeof(out)), 0, "%s", out);
    pid_t pid3 = read_pidfile();
    cr_expect(!fix_alive(pid2) && fix_alive(pid3));
    cr_expect_eq(init_ssd("", "stop", out, sizeof(out)), 0, "stop: %s", out);
    cr_expect(!fix_alive(pid3));
    cr_expect_eq(init_ssd("", "status", out, sizeof(out)), 3, "%s", out);
    /* try-restart of a stopped service starts nothing */
    cr_expect_eq(init_ssd("", "try-restart", out, sizeof(out)), 0, "%s", out);
    cr_expect_eq(init_ssd("", "status", out, sizeof(out)), 3, "%s", out);
}

Test(service, init_script_status_dead_with_pidfile_and_bad_config)
{
    char out[8192];

    /* a pidfile naming no process: status 1, and start still works */
    FILE *f = fopen(pidfile, "w");
    cr_assert_not_null(f);
    fprintf(f, "999999999\n");
    fclose(f);
    cr_expect_eq(init("status", out, sizeof(out)), 1, "status with a stale pidfile: %s", out);
    cr_assert_eq(init("start", out, sizeof(out)), 0, "start over a stale pidfile: %s", out);
    pid_t pid = read_pidfile();
    cr_expect(fix_alive(pid));
    cr_expect_eq(init("stop", out, sizeof(out)), 0, "%s", out);

    /* a broken configuration: start refuses with LSB's "not configured" */
    f = fopen(D.conf, "a");
    fprintf(f, "[convert]\nworkers = many\n");
    fclose(f);
    cr_expect_eq(init("start", out, sizeof(out)), 6, "start with a bad config: %s", out);
    cr_expect(strstr(out, "'many' is not an integer"), "%s", out);
    cr_expect_eq(init("status", out, sizeof(out)), 3, "%s", out);
    /* a missing binary: "not installed" */
    cr_expect_eq(fix_sh(out, sizeof(out),
                        "HLSD_DEFAULTS=/dev/null DAEMON=/nonexistent/hlsd CONFIG='%s' "
                        "PIDFILE='%s' sh '%s/etc/init.d/hlsd' start 2>&1",
                        D.conf, pidfile, fix_srcdir()),
                 5, "%s", out);
}

/* The defaults file is read, and the environment wins over it. */
Test(service, init_script_defaults_file)
{
    char out[8192], defaults[800];

    snprintf(defaults, sizeof(defaults), "%s/default-hlsd", D.dir);
    FILE *f = fopen(defaults, "w");
    cr_assert_not_null(f);
    fprintf(f, "DAEMON=%s/hlsd\nCONFIG=%s\nPIDFILE=%s\n", fix_bindir(), D.conf, pidfile);
    fclose(f);
    cr_assert_eq(fix_sh(out, sizeof(out), "HLSD_DEFAULTS='%s' sh '%s/etc/init.d/hlsd' start 2>&1",
                        defaults, fix_srcdir()),
                 0, "start from the defaults file: %s", out);
    pid_t pid = read_pidfile();
    cr_expect(fix_alive(pid));
    /* an environment override wins: this PIDFILE names nothing */
    cr_expect_eq(fix_sh(out, sizeof(out),
                        "HLSD_DEFAULTS='%s' PIDFILE='%s/none.pid' sh '%s/etc/init.d/hlsd' "
                        "status 2>&1",
                        defaults, D.dir, fix_srcdir()),
                 3, "%s", out);
    cr_expect_eq(fix_sh(out, sizeof(out), "HLSD_DEFAULTS='%s' sh '%s/etc/init.d/hlsd' stop 2>&1",
                        defaults, fix_srcdir()),
                 0, "%s", out);
    cr_expect(!fix_alive(pid));
}

/* spawn_hlsd - run bin/hlsd ARGS... with stdout and stderr into out; its
 * pid (the caller waits) */
static pid_t
spawn_hlsd(const char *outpath, const char *a1, const char *a2, const char *a3)
{
    char hlsd[700];
    snprintf(hlsd, sizeof(hlsd), "%s/hlsd", fix_bindir());
    pid_t pid = fork();
    cr_assert_geq(pid, 0);
    if (pid == 0) {
        FILE *o = freopen(outpath, "w", stdout);
        (void)o;
        dup2(1, 2);
        execl(hlsd, hlsd, a1, a2, a3, (char *)NULL);
        _exit(127);
    }
    return pid;
}

static int
wait_exit(pid_t pid, int timeout_ms)
{
    int st;
    int64_t deadline = fix_ms() + timeout_ms;
    while (fix_ms() < deadline) {
        if (waitpid(pid, &st, WNOHANG) == pid)
            return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        fix_nap(10);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &st, 0);
    return -1;
}

static char *
slurp(const char *path)
{
    static char buf[8192];
    FILE *f = fopen(path, "r");
    size_t n = 0;
    if (f) {
        n = fread(buf, 1, sizeof(buf) - 1, f);
        fclose(f);
    }
    buf[n] = '\0';
    return buf;
}

Test(service, hlsd_daemonizes)
{
    char out[700], reply[4096];
    snprintf(out, sizeof(out), "%s/hlsd.out", D.dir);

    int64_t t0 = fix_ms();
    pid_t parent = spawn_hlsd(out, "-c", D.conf, NULL);
    int rc = wait_exit(parent, 15000);
    int64_t took = fix_ms() - t0;
    cr_assert_eq(rc, 0, "hlsd exited %d: %s", rc, slurp(out));
    cr_expect_lt(took, 10000, "the parent took %lld ms to return", (long long)took);
    /* nothing on the terminal: it logs to syslog */
    cr_expect_str_empty(slurp(out), "the daemon wrote to the terminal: %s", slurp(out));

    /* the parent returned once the daemon was ready: no polling needed */
    pid_t pid = read_pidfile();
    cr_assert_gt(pid, 0, "the pidfile is not written when hlsd returns");
    cr_expect_neq(pid, parent);
    cr_expect(fix_alive(pid));
    cr_expect_neq(getsid(pid), getsid(0), "the daemon did not leave our session");
    cr_expect_eq(fix_daemon_ctl(&D, reply, sizeof(reply), "ping"), 0,
                 "no ping right after start: %s", reply);
    pid_t w = fix_daemon_worker_pid(&D, "upload", 0);
    cr_expect_eq(ppid_of(w), pid, "the pidfile does not name the master");

    /* a second hlsd on the same configuration: 3, "already running" */
    pid_t second = spawn_hlsd(out, "-c", D.conf, NULL);
    cr_expect_eq(wait_exit(second, 10000), 3);
    cr_expect(strstr(slurp(out), "already running"), "%s", slurp(out));
    second = spawn_hlsd(out, "-f", "-c", D.conf);
    cr_expect_eq(wait_exit(second, 10000), 3, "a second hlsd -f started");
    cr_expect(strstr(slurp(out), "already running"), "%s", slurp(out));
    cr_expect_eq(read_pidfile(), pid);
    cr_expect_eq(masters(), 1);

    /* TERM: gone, and it cleans up after itself */
    kill(pid, SIGTERM);
    int64_t deadline = fix_ms() + 20000;
    while (fix_alive(pid) && fix_ms() < deadline)
        fix_nap(20);
    cr_expect(!fix_alive(pid), "hlsd did not stop on SIGTERM");
    cr_expect(!fix_exists(D.sock), "the socket is left behind");
    cr_expect(!fix_exists(pidfile), "the pidfile is left behind");
}

static int
pidfile_dead(void *ud)
{
    (void)ud;
    return !fix_alive(read_pidfile());
}

/* A daemon that dies while starting (its socket cannot be created) makes
 * the command fail with 3 instead of returning 0 and leaving nothing. */
Test(service, daemon_startup_failure_is_an_exit_status)
{
    char out[700];
    snprintf(out, sizeof(out), "%s/hlsd.out", D.dir);
    FILE *f = fopen(D.conf, "a");
    cr_assert_not_null(f);
    fprintf(f, "[daemon]\nsocket = %s/not-a-dir/s\n", D.conf); /* under a regular file */
    fclose(f);

    pid_t parent = spawn_hlsd(out, "-c", D.conf, NULL);
    cr_expect_eq(wait_exit(parent, 15000), 3, "%s", slurp(out));
    cr_expect(strstr(slurp(out), "exited during start-up"), "%s", slurp(out));
    /* its pipe closes as it exits, a moment before it is a zombie */
    cr_expect(fix_wait(pidfile_dead, NULL, 5000), "the daemon is still alive");
}

/* The unit file passes systemd's own checker (with the binary path pointed
 * at the build, as /usr/sbin/hlsd is not installed here; its man: pages are
 * not installed either: the install tests check them). */
Test(service, systemd_unit_verifies)
{
    char out[8192];

    if (fix_sh(NULL, 0, "command -v systemd-analyze >/dev/null 2>&1") != 0)
        cr_skip_test("systemd-analyze is not installed");
    cr_expect_eq(fix_sh(out, sizeof(out),
                        "sed 's#/usr/sbin/hlsd#%s/hlsd#g' '%s/etc/hlsd.service' >'%s/hlsd.service' "
                        "&& systemd-analyze verify --man=no '%s/hlsd.service' 2>&1",
                        fix_bindir(), fix_srcdir(), D.dir, D.dir),
                 0, "systemd-analyze verify: %s", out);
    /* what the daemon relies on */
    char unit[8192], path[800];
    snprintf(path, sizeof(path), "%s/etc/hlsd.service", fix_srcdir());
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f, "%s", path);
    size_t n = fread(unit, 1, sizeof(unit) - 1, f);
    unit[n] = '\0';
    fclose(f);
    const char *need[] = {"\nExecStartPre=/usr/sbin/hlsd -t -c ${CONFIG}\n",
                          "\nExecReload=/bin/kill -HUP $MAINPID\n",
                          "\nPIDFile=/run/hlsd/hlsd.pid\n",
                          "\nKillSignal=SIGTERM\n",
                          "\nKillMode=mixed\n",
                          "\nTimeoutStopSec=60\n",
                          "\nRuntimeDirectory=hlsd\n",
                          "\nStateDirectory=hlsd\n",
                          "\nUser=hlsd\n",
                          "\nRestartPreventExitStatus=2\n",
                          "\nNoNewPrivileges=yes\n",
                          "\nProtectSystem=strict\n"};
    for (size_t i = 0; i < sizeof(need) / sizeof(need[0]); i++)
        cr_expect(strstr(unit, need[i]), "hlsd.service lacks %s", need[i]);
}

/* The init script is POSIX sh: dash parses it. */
Test(service, init_script_is_posix_sh)
{
    char out[4096];

    cr_expect_eq(fix_sh(out, sizeof(out), "sh -n '%s/etc/init.d/hlsd' 2>&1", fix_srcdir()), 0, "%s",
                 out);
    cr_expect_eq(fix_sh(out, sizeof(out), "head -c 200 '%s/etc/init.d/hlsd'", fix_srcdir()), 0);
    cr_expect(strstr(out, "#!/bin/sh\n### BEGIN INIT INFO\n") == out, "%s", out);
    if (fix_sh(NULL, 0, "command -v shellcheck >/dev/null 2>&1") == 0)
        cr_expect_eq(
            fix_sh(out, sizeof(out), "shellcheck -s sh '%s/etc/init.d/hlsd' 2>&1", fix_srcdir()), 0,
            "%s", out);
}
