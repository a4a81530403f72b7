/*
 * config.h - hlsd's configuration: an INI file read with inih, every key
 * documented with its default in etc/hlsd.conf. Values are validated at
 * load; an unknown key or a bad value is an error naming the line.
 *
 * The struct is plain data (fixed arrays, no pointers) so that it survives
 * fork and can be swapped whole on SIGHUP.
 */
#ifndef HLSD_DAEMON_CONFIG_H
#define HLSD_DAEMON_CONFIG_H

#include <stdint.h>
#include <sys/types.h>

#define CONFIG_PATH_MAX 1024
#define CONFIG_STR_MAX  256

#include "daemon/paths.h"

struct config {
    struct {
        char socket[CONFIG_PATH_MAX];
        unsigned socket_mode; /* octal in the file, e.g. 0660 */
        char state_dir[CONFIG_PATH_MAX];
        char spool_dir[CONFIG_PATH_MAX];
        char pidfile[CONFIG_PATH_MAX];
        char user[CONFIG_STR_MAX];  /* "" = do not change */
        char group[CONFIG_STR_MAX]; /* "" = do not change */
        unsigned max_queued;
        int64_t shutdown_timeout_ms;
        uint64_t max_input_bytes;          /* largest accepted submission */
        char allow_users[CONFIG_STR_MAX];  /* comma list; "" with allow_groups "": anyone */
        char allow_groups[CONFIG_STR_MAX]; /* comma list */
        char admin_group[CONFIG_STR_MAX];  /* may cancel/retry others' jobs; "": root only */
        int64_t keep_failed_inputs_ms;     /* a failed job's input; 0 = for ever */
        int64_t respawn_forgive_ms;        /* a child alive this long is forgiven its crashes */
    } daemon;
    struct {
        unsigned workers;
        unsigned threads; /* per conversion; 0 = auto */
        char ladder[96];  /* "" = default ladder */
        double segment_seconds;
        char preset[32];
        int64_t job_timeout_ms;
        int64_t stall_timeout_ms;
        unsigned max_attempts;
        unsigned max_kills;         /* deaths by an outside SIGKILL/SIGTERM before a job fails */
        int audio_muxed;            /* audio = muxed (default separate) */
        char first_variant[16];     /* auto, lowest, highest or e.g. 720p */
        int thumbnails;             /* poster and storyboard with each job (default yes) */
        double storyboard_interval; /* seconds between storyboard tiles; 0 = automatic */
        /* CMAF */
        int fmp4;              /* segment_format = fmp4 (default ts) */
        int video_codec;       /* enum convert_codec of entries naming none */
        char x265_preset[16];  /* libx265 preset */
        char svtav1_preset[4]; /* libsvtav1 preset, 0..13 */
    } convert;
    struct {
        unsigned workers;
        char url[CONFIG_PATH_MAX]; /* file:///dir or s3://bucket/prefix */
        char endpoint[CONFIG_PATH_MAX];
        char region[64];
        int path_style;
        char access_key_id[CONFIG_STR_MAX];     /* secret: never logged */
        char secret_access_key[CONFIG_STR_MAX]; /* secret: never logged */
        char session_token[2048];               /* secret: never logged */
        char public_url[CONFIG_PATH_MAX];
        char cache_control[CONFIG_STR_MAX];
        char acl[64];
        unsigned max_attempts;
        int64_t backoff_base_ms;
        int64_t backoff_max_ms;
        int64_t give_up_after_ms; /* retryable errors of one object: retried this long */
        int keep_failed_output;   /* a failed job's published objects stay (else deleted) */
    } upload;
    struct {
        char listen[CONFIG_STR_MAX];      /* "host:port"; "" = no HTTP API */
        char token_file[CONFIG_PATH_MAX]; /* bearer tokens, one per line */
        char tls_cert[CONFIG_PATH_MAX];   /* PEM; with tls_key: HTTPS */
        char tls_key[CONFIG_PATH_MAX];    /* secret: never logged */
    } http;
    /* inputs named by URL (https://, http://, s3://), fetched by upload workers */
    struct {
        char endpoint[CONFIG_PATH_MAX];         /* s3:// inputs; "" = [upload]'s */
        char region[64];                        /* "" = [upload]'s */
        int path_style;                         /* -1 = [upload]'s */
        char access_key_id[CONFIG_STR_MAX];     /* secret: never logged; "" = [upload]'s */
        char secret_access_key[CONFIG_STR_MAX]; /* secret: never logged */
        char session_token[2048];               /* secret: never logged */
        int64_t connect_timeout_ms;
        int64_t low_speed_time_ms; /* abort when under 1 byte/s for this long */
        unsigned max_redirects;
        unsigned max_attempts;
        char ca_file[CONFIG_PATH_MAX]; /* https:// inputs: trust these CAs ("" = the system's) */
    } input;
    /* webhooks when a job ends */
    struct {
        char url[CONFIG_PATH_MAX];   /* default notify URL; "" = none */
        char secret[CONFIG_STR_MAX]; /* HMAC-SHA256 key; secret: never logged */
        unsigned max_attempts;
        int64_t timeout_ms;
    } notify;
};

struct convworker_settings;
struct storage_config;

/* config_defaults - the embedded defaults. */
void config_defaults(struct config *c);

/* config_load - defaults, then the file. On error returns -1 and writes
 * "FILE:LINE: reason" into err. */
int config_load(struct config *c, const char *path, char *err, size_t errlen);

/* config_check_ladder - 0 if v is "", "copy" or HEIGHT:RATE[:CODEC][,...]; else -1 and why. */
int config_check_ladder(const char *v, char *why, size_t whylen);

/* config_http_listen - split "127.0.0.1:8080", "[::1]:8080" or
 * "localhost:8080" into a numeric host and a port; 0, or -1 with why */
int config_http_listen(const char *v, char *host, size_t hostcap, unsigned *port, char *why,
                       size_t whylen);
/*
 * config_check_format - can ladder v ("" = the default ladder), whose
 * entries without a codec are video_codec (enum convert_codec), be made
 * in fmp4 (1) or MPEG-TS (0) segments? HEVC and AV1 need fMP4. 0, or -1
 * and why (for a user: how to ask for fMP4).
 */
int config_check_format(const char *v, int video_codec, int fmp4, char *why, size_t whylen);

/* config_parse_duration - "500ms", "30s", "5m", "6h", "7d" (a bare number is
 * seconds) into milliseconds; -1 if malformed. */
int64_t config_parse_duration(const char *s);

/* config_list_has - 1 if the comma list (spaces allowed around names)
 * holds name */
int config_list_has(const char *list, const char *name);

/* config_convworker - a conversion worker's settings, pointing into c */
void config_convworker(const struct config *c, struct convworker_settings *set);

/* config_storage - the storage settings of the upload section, pointing
 * into c (empty strings become NULL: taken from the environment or
 * defaulted) */
void config_storage(const struct config *c, struct storage_config *sc);

/* config_upworker - an upload worker's settings (storage, fetched inputs,
 * webhooks), pointing into c */
struct upworker_settings;
void config_upworker(const struct config *c, struct upworker_settings *set);

#endif
