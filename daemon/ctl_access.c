/*
 * ctl_access.c - who a client is and what it may do: its credentials from
 * the socket (SO_PEERCRED, read once at accept), checked against
 * [daemon] allow_users / allow_groups, and whether it is an admin (root,
 * the daemon's own user, or a member of admin_group). The master decides
 * about each job from what ctl tells it here; a client never supplies it.
 *
 * User and group names come from NSS (getpwuid_r, getgrouplist,
 * getgrnam_r) at accept: a user added since the last accept is seen at the
 * next one. Never refuses on a lookup error alone: a uid without a name is
 * still allowed by an empty list, and by nothing else.
 */
#include "daemon/ctl_int.h"

#include "daemon/config.h"

#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_GROUPS 256

/* in_group - is the group called name among gids? */
static int
in_group(const char *name, size_t len, const gid_t *gids, int n)
{
    char g[CONFIG_STR_MAX], buf[4096];
    struct group gr, *res = NULL;

    if (len == 0 || len >= sizeof(g))
        return 0;
    memcpy(g, name, len);
    g[len] = '\0';
    if (getgrnam_r(g, &gr, buf, sizeof(buf), &res) != 0 || res == NULL)
        return 0;
    for (int i = 0; i < n; i++)
        if (gids[i] == gr.gr_gid)
            return 1;
    return 0;
}

/* any_group - is one of the comma list's groups among gids? */
static int
any_group(const char *list, const gid_t *gids, int n)
{
    const char *p = list;

    while (*p) {
        p += strspn(p, " ,");
        size_t len = strcspn(p, " ,");
        if (in_group(p, len, gids, n))
            return 1;
        p += len;
    }
    return 0;
}

void
ctl_access_identify(const struct config *cfg, struct ctl_conn *k, uid_t uid, gid_t gid)
{
    char buf[4096];
    struct passwd pw, *res = NULL;
    gid_t gids[MAX_GROUPS];
    int n = 0;

    k->uid = uid;
    snprintf(k->user, sizeof(k->user), "%lu", (unsigned long)uid);
    gids[n++] = gid;
    if (getpwuid_r(uid, &pw, buf, sizeof(buf), &res) == 0 && res != NULL) {
        snprintf(k->user, sizeof(k->user), "%s", pw.pw_name);
        int m = MAX_GROUPS - 1;
        if (getgrouplist(pw.pw_name, pw.pw_gid, gids + 1, &m) >= 0)
            n += m;
    }
    int trusted = uid == 0 || uid == geteuid();
    const char *users = cfg->daemon.allow_users, *groups = cfg->daemon.allow_groups;
    k->allowed = trusted || (users[0] == '\0' && groups[0] == '\0') ||
                 (res != NULL && config_list_has(users, k->user)) || any_group(groups, gids, n);
    const char *admin = cfg->daemon.admin_group;
    k->admin = trusted || (admin[0] && in_group(admin, strlen(admin), gids, n));
}

json_t *
ctl_access_client(const struct ctl_conn *k)
{
    return json_pack("{s:I, s:s, s:b}", "uid", (json_int_t)k->uid, "user", k->user, "admin",
                     k->admin);
}
