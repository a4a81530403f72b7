/*
 * upworker.h - the upload worker: the skeleton plus the storage back-end.
 */
#ifndef HLSD_WORKERS_UPWORKER_H
#define HLSD_WORKERS_UPWORKER_H

#include "ipc/shmseg.h"

#include "workers/storage.h"
#include "workers/url.h"

/* what an upload worker needs (daemon/config.c fills it: config_upworker) */
struct upworker_settings {
    struct storage_config storage; /* where objects are published ([upload]) */
    /* s3:// inputs: endpoint, region, keys ([input], else [upload]'s) and the
     * fetch timeouts (connect_timeout_ms, low_speed_time_s) of every input */
    struct storage_config input;
    unsigned max_redirects;    /* an http(s):// input follows at most this many */
    const char *ca_file;       /* https:// inputs: the CAs to trust; NULL: the system's */
    const char *notify_secret; /* HMAC-SHA256 key of webhooks; "" = unsigned */
    long notify_timeout_ms;    /* one webhook POST, in all */
};

/* upworker_main - in the forked child, after shmseg_child_attach. Exits
 * EXIT_CONFIG if the storage cannot be opened with these settings. */
int upworker_main(const struct upworker_settings *set, shmseg_t *seg);

#endif
