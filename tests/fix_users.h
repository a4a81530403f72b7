/*
 * fix_users.h - system users and groups made for one test (the suites run
 * as root in CI; without root the tests that need them skip), a directory
 * every user may read, and commands run as one of them (runuser). The
 * user database is locked while another test changes it: every change is
 * retried until a deadline. Tests that make them name fix_users_cleanup
 * as their .fini.
 */
#ifndef HLSD_TESTS_FIX_USERS_H
#define HLSD_TESTS_FIX_USERS_H

#include <stddef.h>
#include <sys/types.h>

/* fix_users_need_root - skip the test unless it runs as root */
void fix_users_need_root(void);

/* fix_users_name - a name unique to this process: <prefix><tag><pid> */
void fix_users_name(char *out, size_t cap, const char *prefix, const char *tag);

/* fix_users_group_add / fix_users_add - create them if missing (group:
 * a supplementary group of the user, or NULL) */
void fix_users_group_add(const char *group);
void fix_users_add(const char *user, const char *group);
/* fix_users_del / fix_users_group_del - remove them if present */
void fix_users_del(const char *user);
void fix_users_group_del(const char *group);

/* fix_users_uid - the user's uid (asserted to exist) */
uid_t fix_users_uid(const char *user);
/* fix_users_gid - the user's primary group */
gid_t fix_users_gid(const char *user);

/* fix_users_public_dir - a new directory under /tmp everyone may read and
 * enter (mode 0755): the scratch directory is root's alone */
void fix_users_public_dir(char *out, size_t cap, const char *name);

/* fix_users_cleanup - remove every user, group and public directory this
 * test made: a test's .fini, so that a failed assertion leaves nothing */
void fix_users_cleanup(void);

#endif
