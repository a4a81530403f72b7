/*
 * plugin.c - find, hold open and load the worker engines (see plugin.h).
 * It never logs or exits: the caller decides what a missing engine means
 * (a broken installation: exit code 2 at start, never respawned).
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "daemon/plugin.h"

static const char *const plugin_files[PLUGIN_N] = {"hlsd-convert.so", "hlsd-upload.so",
                                                   "hlsd-http.so"};
static int plugin_fds[PLUGIN_N] = {-1, -1, -1};
static void *plugin_handles[PLUGIN_N];

/* plugin_dir - the directory of the running binary; -1 if /proc says nothing */
static int
plugin_dir(char *dir, size_t len)
{
    ssize_t n = readlink("/proc/self/exe", dir, len - 1);
    if (n <= 0)
        return -1;
    dir[n] = '\0';
    char *slash = strrchr(dir, '/');
    if (slash == NULL)
        return -1;
    *slash = '\0';
    return 0;
}

int
plugin_open(char *err, size_t errlen)
{
    char dir[PATH_MAX], path[PATH_MAX + 64];

    if (plugin_dir(dir, sizeof(dir)) < 0) {
        snprintf(err, errlen, "readlink /proc/self/exe: %s", strerror(errno));
        return -1;
    }
    for (int i = 0; i < PLUGIN_N; i++) {
        if (plugin_fds[i] >= 0)
            continue;
        /* a build tree keeps them beside bin/hlsd; an installation in
         * PREFIX/lib/hlsd beside PREFIX/sbin */
        snprintf(path, sizeof(path), "%s/%s", dir, plugin_files[i]);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0 && errno == ENOENT) {
            snprintf(path, sizeof(path), "%s/../lib/hlsd/%s", dir, plugin_files[i]);
            fd = open(path, O_RDONLY | O_CLOEXEC);
        }
        if (fd < 0) {
            snprintf(err, errlen, "%s (looked in %s and %s/../lib/hlsd): %s", plugin_files[i], dir,
                     dir, strerror(errno));
            return -1;
        }
        plugin_fds[i] = fd;
    }
    return 0;
}

void *
plugin_sym(enum plugin_id id, const char *name, char *err, size_t errlen)
{
    if ((unsigned)id >= PLUGIN_N || plugin_fds[id] < 0) {
        snprintf(err, errlen, "plugin %d was not opened", (int)id);
        return NULL;
    }
    if (plugin_handles[id] == NULL) {
        char path[64];
        snprintf(path, sizeof(path), "/proc/self/fd/%d", plugin_fds[id]);
        plugin_handles[id] = dlopen(path, RTLD_NOW | RTLD_LOCAL);
        if (plugin_handles[id] == NULL) {
            const char *why = dlerror();
            snprintf(err, errlen, "%s: %s", plugin_files[id], why ? why : "dlopen failed");
            return NULL;
        }
    }
    void *fn = dlsym(plugin_handles[id], name);
    if (fn == NULL) {
        const char *why = dlerror();
        snprintf(err, errlen, "%s: %s", plugin_files[id], why ? why : name);
    }
    return fn;
}
