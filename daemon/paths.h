/*
 * paths.h - the compiled-in default paths, shared by the daemon and its
 * command-line client (which needs nothing else of the configuration).
 */
#ifndef HLSD_DAEMON_PATHS_H
#define HLSD_DAEMON_PATHS_H

#ifndef HLSD_DEFAULT_CONFIG
#define HLSD_DEFAULT_CONFIG "/etc/hlsd/hlsd.conf"
#endif
#ifndef HLSD_DEFAULT_SOCKET
#define HLSD_DEFAULT_SOCKET "/run/hlsd/hlsd.sock"
#endif

#endif
