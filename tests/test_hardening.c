/*
 * test_hardening.c - what the daemon gives up and warns about, seen from
 * outside: every child runs with NoNewPrivs (/proc/PID/status); an upload
 * worker, which holds the S3 secret, is not dumpable (the kernel then
 * gives its /proc/PID files to root instead of the process's user, which
 * is what we observe, with the daemon running as a user of its own); the
 * spool holds nothing others may read; a configuration file that holds a
 * secret and that others may read, and a daemon that keeps root, are
 * warned about at start.
 */
#include "tests/fix_daemon.h"
#include "tests/fix_http.h"
#include "tests/fix_users.h"

#include <criterion/criterion.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* proc_field - the value of "Name:" in /proc/pid/status, -1 if unreadable */
static long
proc_field(pid_t pid, const char *name)
{
    char path[64], line[256];
    long v = -1;
    size_t n = strlen(name);

    snprintf(path, sizeof(path), "/proc/%ld/status", (long)pid);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return -1;
    while (fgets(line, sizeof(line), f))
        if (strncmp(line, name, n) == 0 && line[n] == ':')
            v = strtol(line + n + 1, NULL, 10);
    fclose(f);
    return v;
}

static uid_t
proc_owner(pid_t pid)
{
    char path[64];
    struct stat st;

    snprintf(path, sizeof(path), "/proc/%ld/status", (long)pid);
    cr_assert_eq(stat(path, &st), 0, "%s", path);
    return st.st_uid;
}

struct roles {
    struct fix_daemon *d;
    pid_t ctl, convert, upload, http;
};

static int
all_started(void *ud)
{
    struct roles *r = ud;
    r->ctl = fix_daemon_worker_pid(r->d, "ctl", 0);
    r->convert = fix_daemon_worker_pid(r->d, "convert", 0);
    r->upload = fix_daemon_worker_pid(r->d, "upload", 0);
    r->http = fix_daemon_worker_pid(r->d, "http", 0);
    return r->ctl > 0 && r->convert > 0 && r->upload > 0 && r->http > 0;
}

Test(hardening, children_no_new_privs_upload_not_dumpable, .timeout = 90, .fini = fix_users_cleanup)
{
    struct fix_daemon d;
    char user[32], pub[256], dx[512], out[4096];

    fix_users_need_root();
    fix_users_name(user, sizeof(user), "hth", "d");
    fix_users_add(user, NULL);
    fix_users_public_dir(pub, sizeof(pub), "hardening");
    uid_t uid = fix_users_uid(user);
    /* started as the user itself, the way the systemd unit does: only then
     * is a process dumpable at all (a setuid from root clears it) */
    cr_assert_eq(chown(pub, uid, fix_users_gid(user)), 0);
    fix_daemon_init(&d, "hardening", 0);
    snprintf(d.conf, sizeof(d.conf), "%s/hlsd.conf", pub);
    snprintf(d.sock, sizeof(d.sock), "%s/s", pub);
    snprintf(d.spool, sizeof(d.spool), "%s/spool", pub);
    snprintf(d.state, sizeof(d.state), "%s/state", pub);
    snprintf(d.www, sizeof(d.www), "%s/www", pub);
    snprintf(d.url, sizeof(d.url), "file://%s", d.www);
    snprintf(dx, sizeof(dx), "pidfile = %s/hlsd.pid\n", pub);
    fix_daemon_config(&d, 1, 1, dx, NULL, NULL);
    FILE *cf = fopen(d.conf, "a"); /* the HTTP process too: it holds tokens */
    cr_assert_not_null(cf);
    fprintf(cf, "[http]\nlisten = 127.0.0.1:%d\n", fix_http_port());
    fclose(cf);
    cr_assert_eq(chown(d.conf, uid, 0), 0);
    chmod(d.conf, 0600);
    d.run_as = uid;
    d.run_as_gid = fix_users_gid(user);
    cr_assert_eq(fix_daemon_start(&d), 0, "hlsd did not start (log %s)", d.log);

    struct roles r = {&d, -1, -1, -1, -1};
    cr_assert(fix_wait(all_started, &r, 20000), "not every child started");
    pid_t kids[] = {r.ctl, r.convert, r.upload, r.http};
    const char *names[] = {"ctl", "convert", "upload", "http"};
    for (int i = 0; i < 4; i++) {
        cr_expect_eq(proc_field(kids[i], "NoNewPrivs"), 1, "%s (pid %ld) lacks NoNewPrivs",
                     names[i], (long)kids[i]);
        cr_expect_eq(proc_field(kids[i], "Uid"), (long)uid, "%s does not run as %s", names[i],
                     user);
    }
    /* a dumpable process's /proc files are its user's; a non-dumpable one's root's */
    cr_expect_eq(proc_owner(r.convert), uid, "the convert worker should stay dumpable");
    cr_expect_eq(proc_owner(r.upload), 0, "the upload worker is dumpable");
    cr_expect_eq(proc_owner(r.http), 0, "the HTTP process is dumpable");

    /* a failed job leaves its input in the spool: nobody else may read it */
    const char *txt = fix_text("not a video\n");
    char cmd[1200];
    snprintf(cmd, sizeof(cmd), "%s/notes.txt", pub);
    cr_assert_eq(fix_sh(NULL, 0, "cp '%s' '%s' && chmod 0644 '%s'", txt, cmd, cmd), 0);
    int64_t id = fix_daemon_submit(&d, cmd, "");
    cr_assert_gt(id, 0);
    json_t *job = fix_daemon_wait(&d, id, "failed", 60000);
    cr_assert_not_null(job);
    json_decref(job);
    cr_assert_eq(fix_sh(out, sizeof(out), "find '%s' -perm /o=rwx", d.spool), 0);
    cr_expect_str_eq(out, "", "others may use these spool files:\n%s", out);
    char input[700];
    snprintf(input, sizeof(input), "%s/%lld/input", d.spool, (long long)id);
    cr_expect(fix_exists(input), "the failed job's input is not kept");

    cr_expect(!fix_daemon_log_contains(&d, "running as root"), "warned although not root");
    cr_expect(!fix_daemon_log_contains(&d, "readable by others"), "warned about a 0600 file");
    fix_daemon_stop(&d, SIGTERM, 20000);
}

Test(hardening, warns_about_a_readable_secret_and_root, .timeout = 60)
{
    struct fix_daemon d;

    fix_users_need_root();
    fix_daemon_init(&d, "hardening-warn", 0);
    fix_daemon_config(&d, 1, 1, NULL, NULL, "secret_access_key = not-really-a-secret\n");
    chmod(d.conf, 0644);
    cr_assert_eq(fix_daemon_start(&d), 0, "hlsd did not start (log %s)", d.log);
    cr_expect(fix_daemon_log_contains(&d, "is readable by others (mode 0644)"),
              "no warning about the readable secret");
    cr_expect(fix_daemon_log_contains(&d, "running as root: set [daemon] user"),
              "no warning about running as root");
    cr_expect(!fix_daemon_log_contains(&d, "not-really-a-secret"), "the secret was logged");
    /* once: a reload says nothing more */
    kill(d.pid, SIGHUP);
    char out[4096];
    cr_expect_eq(fix_daemon_ctl(&d, out, sizeof(out), "list"), 0);
    char cmd[800];
    snprintf(cmd, sizeof(cmd), "grep -c 'running as root' '%s'", d.log);
    cr_expect_eq(fix_sh(out, sizeof(out), "%s", cmd), 0);
    cr_expect_eq(atoi(out), 1, "warned %s times", out);
    fix_daemon_stop(&d, SIGTERM, 20000);
}
