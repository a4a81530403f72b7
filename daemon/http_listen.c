/*
 * http_listen.c - the HTTP API's settings checked before anything runs
 * (hlsd -t and the start refuse what cannot work: an open port without
 * tokens, unreadable tokens, TLS this build cannot do) and its listening
 * socket, bound by main before it drops privileges so that a port below
 * 1024 works and the socket, with the clients queued on it, survives a
 * respawn of the HTTP process. Never logs.
 */
#include "daemon/http_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* loopback - 127.0.0.0/8 or ::1 */
static int
loopback(const char *listen)
{
    char host[64];
    unsigned port;
    char why[256];
    struct in_addr a4;
    struct in6_addr a6;

    if (config_http_listen(listen, host, sizeof(host), &port, why, sizeof(why)) < 0)
        return 0;
    if (inet_pton(AF_INET, host, &a4) == 1)
        return (ntohl(a4.s_addr) >> 24) == 127;
    return inet_pton(AF_INET6, host, &a6) == 1 && IN6_IS_ADDR_LOOPBACK(&a6);
}

static int
readable(const char *what, const char *path, char *err, size_t errlen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0) {
        snprintf(err, errlen, "[http] %s %s: %s", what, path, strerror(errno));
        return -1;
    }
    close(fd);
    return 0;
}

int
http_check(const struct config *cfg, char *err, size_t errlen)
{
    if (cfg->http.listen[0] == '\0')
        return 0;
    if (cfg->http.token_file[0] == '\0' && !loopback(cfg->http.listen)) {
        snprintf(err, errlen,
                 "[http] listen = %s is not a loopback address: set [http] token_file (bearer "
                 "tokens) to open the API to the network",
                 cfg->http.listen);
        return -1;
    }
    if (cfg->http.token_file[0]) {
        char *tokens[HTTP_MAX_TOKENS];
        int n;
        if (http_tokens_load(cfg->http.token_file, tokens, &n, err, errlen) < 0)
            return -1;
        http_tokens_free(tokens, &n);
    }
    if (cfg->http.tls_cert[0]) {
        if (readable("tls_cert", cfg->http.tls_cert, err, errlen) < 0 ||
            readable("tls_key", cfg->http.tls_key, err, errlen) < 0)
            return -1;
    }
    return 0;
}

int
http_listen(const struct config *cfg, char *err, size_t errlen)
{
    char host[64];
    unsigned port;
    struct sockaddr_storage ss;
    socklen_t sl;
    int one = 1;

    memset(&ss, 0, sizeof(ss));
    if (config_http_listen(cfg->http.listen, host, sizeof(host), &port, err, errlen) < 0)
        return -1;
    if (cfg->http.listen[0] == '[') {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
        a->sin6_family = AF_INET6;
        a->sin6_port = htons((uint16_t)port);
        inet_pton(AF_INET6, host, &a->sin6_addr);
        sl = sizeof(*a);
    } else {
        struct sockaddr_in *a = (struct sockaddr_in *)&ss;
        a->sin_family = AF_INET;
        a->sin_port = htons((uint16_t)port);
        inet_pton(AF_INET, host, &a->sin_addr);
        sl = sizeof(*a);
    }
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(err, errlen, "socket: %s", strerror(errno));
        return -1;
    }
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (ss.ss_family == AF_INET6)
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
    if (bind(fd, (struct sockaddr *)&ss, sl) < 0 || listen(fd, 128) < 0) {
        snprintf(err, errlen, "[http] listen = %s: %s", cfg->http.listen, strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}
