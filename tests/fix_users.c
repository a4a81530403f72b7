/*
 * fix_users.c - see fix_users.h.
 */
#include "tests/fix_users.h"

#include "tests/fix.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/* what this test made, for fix_users_cleanup (each test is a process of
 * its own, so this is the test's) */
#define MADE_MAX 8
static char made_users[MADE_MAX][32], made_groups[MADE_MAX][32], made_dirs[MADE_MAX][256];
static int n_users, n_groups, n_dirs;

static void
remember(char list[][32], int *n, const char *name)
{
    if (*n < MADE_MAX)
        snprintf(list[(*n)++], 32, "%s", name);
}

void
fix_users_need_root(void)
{
    if (geteuid() != 0)
        cr_skip_test("needs root to create users");
}

void
fix_users_name(char *out, size_t cap, const char *prefix, const char *tag)
{
    snprintf(out, cap, "%s%s%ld", prefix, tag, (long)getpid() % 100000);
}

static int
sh_ok(void *ud)
{
    return fix_sh(NULL, 0, "%s", (const char *)ud) == 0;
}

/* must - a user database command, retried while another test holds the
 * lock on /etc/passwd */
static void
must(const char *cmd)
{
    cr_assert(fix_wait(sh_ok, (void *)cmd, 20000), "failed: %s", cmd);
}

void
fix_users_group_add(const char *group)
{
    char cmd[256];
    snprintf(cmd, sizeof(cmd), "getent group %s >/dev/null || groupadd %s", group, group);
    remember(made_groups, &n_groups, group);
    must(cmd);
}

void
fix_users_add(const char *user, const char *group)
{
    char cmd[256];
    snprintf(cmd, sizeof(cmd),
             "id %s >/dev/null 2>&1 || useradd -M -N -s /usr/sbin/nologin %s%s %s", user,
             group ? "-G " : "", group ? group : "", user);
    remember(made_users, &n_users, user);
    must(cmd);
}

void
fix_users_del(const char *user)
{
    char cmd[256];
    snprintf(cmd, sizeof(cmd), "! id %s >/dev/null 2>&1 || userdel %s", user, user);
    must(cmd);
}

void
fix_users_group_del(const char *group)
{
    char cmd[256];
    snprintf(cmd, sizeof(cmd), "! getent group %s >/dev/null || groupdel %s", group, group);
    must(cmd);
}

uid_t
fix_users_uid(const char *user)
{
    char out[64];
    cr_assert_eq(fix_sh(out, sizeof(out), "id -u %s", user), 0, "no user %s", user);
    return (uid_t)atol(out);
}

gid_t
fix_users_gid(const char *user)
{
    char out[64];
    cr_assert_eq(fix_sh(out, sizeof(out), "id -g %s", user), 0, "no user %s", user);
    return (gid_t)atol(out);
}

void
fix_users_public_dir(char *out, size_t cap, const char *name)
{
    snprintf(out, cap, "/tmp/hlsd-%s-%ld", name, (long)getpid());
    if (n_dirs < MADE_MAX)
        snprintf(made_dirs[n_dirs++], sizeof(made_dirs[0]), "%s", out);
    cr_assert_eq(fix_sh(NULL, 0, "rm -rf '%s' && mkdir -m 0755 '%s'", out, out), 0);
}

void
fix_users_cleanup(void)
{
    char cmd[640];

    /* users first: a group that is someone's cannot go */
    for (int i = 0; i < n_users; i++) {
        /* -f: a daemon of a failed test may still run as it */
        snprintf(cmd, sizeof(cmd), "! id %s >/dev/null 2>&1 || userdel -f %s", made_users[i],
                 made_users[i]);
        fix_wait(sh_ok, cmd, 20000);
    }
    for (int i = 0; i < n_groups; i++) {
        snprintf(cmd, sizeof(cmd), "! getent group %s >/dev/null || groupdel %s", made_groups[i],
                 made_groups[i]);
        fix_wait(sh_ok, cmd, 20000);
    }
    for (int i = 0; i < n_dirs; i++)
        fix_sh(NULL, 0, "rm -rf '%s'", made_dirs[i]);
    n_users = n_groups = n_dirs = 0;
}
