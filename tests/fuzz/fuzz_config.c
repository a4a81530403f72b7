/*
 * fuzz_config.c - libFuzzer target: the configuration parser (inih and
 * every key's validation). Any file must load or be refused with a message
 * naming the line, never crash; a loaded configuration holds its
 * invariants (terminated strings, backoff_max >= backoff_base). The input
 * is given as a file through a memfd. `make fuzz`.
 */
#include "daemon/config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct config c;
    char path[64], err[2048];
    int fd = memfd_create("hlsd.conf", MFD_CLOEXEC);

    if (fd < 0)
        return 0;
    if (size && write(fd, data, size) != (ssize_t)size) {
        close(fd);
        return 0;
    }
    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    err[0] = '\0';
    if (config_load(&c, path, err, sizeof(err)) < 0) {
        if (err[0] == '\0')
            abort(); /* a refusal must say why */
    } else {
        if (strnlen(c.daemon.socket, sizeof(c.daemon.socket)) == sizeof(c.daemon.socket) ||
            strnlen(c.upload.url, sizeof(c.upload.url)) == sizeof(c.upload.url) ||
            c.upload.backoff_max_ms < c.upload.backoff_base_ms)
            abort();
    }
    close(fd);
    return 0;
}
