/*
 * hlsctl_submit.c - submit: options checked here first, the input and
 * caption files opened with the user's rights and passed as descriptors.
 */
#include "tools/hlsctl/hlsctl.h"

#include "daemon/config.h"
#include "daemon/ctl_request.h"
#include "workers/convert.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

const char *
opt_value(int nargs, char **args, int *j, const char *name)
{
    const char *a = args[*j];
    size_t n = strlen(name);

    if (strncmp(a, name, n) != 0)
        return NULL;
    if (a[n] == '=')
        return a + n + 1;
    if (a[n] != '\0')
        return NULL;
    if (*j + 1 >= nargs)
        usage_error("%s needs a value", name);
    return args[++*j];
}

/* check_ladder - --ladder as the daemon will parse it: usage error if not */
void
check_ladder(const char *v)
{
    char why[256];

    if (*v == '\0')
        usage_error("--ladder needs renditions like 720:2800k,480:1400k:hevc, or copy");
    if (strlen(v) >= sizeof(((struct config *)0)->convert.ladder))
        usage_error("--ladder is longer than %zu characters",
                    sizeof(((struct config *)0)->convert.ladder) - 1);
    if (config_check_ladder(v, why, sizeof(why)) < 0)
        usage_error("--ladder: %s", why);
}

int
cmd_submit(int argc, char **argv)
{
    const char *file = NULL, *ladder = NULL, *prefix = NULL, *audio = NULL, *first = NULL, *v;
    const char *key = NULL, *notify = NULL, *metadata = NULL;
    const char *format = NULL;
    const char *subs[CTL_MAX_CAPTIONS];
    int nsubs = 0;
    double segment = NAN;
    int wait = 0, only_files = 0, thumbs = -1; /* -1: as configured */

    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (only_files || strcmp(a, "-") == 0 || a[0] != '-') {
            if (file != NULL)
                usage_error("submit takes one FILE (or - for standard input)");
            file = a;
        } else if (strcmp(a, "--") == 0) {
            only_files = 1;
        } else if (strcmp(a, "--wait") == 0) {
            wait = 1;
        } else if (strcmp(a, "--no-thumbnails") == 0 || strcmp(a, "--thumbnails") == 0) {
            thumbs = strcmp(a, "--thumbnails") == 0;
        } else if ((v = opt_value(argc, argv, &i, "--ladder")) != NULL) {
            check_ladder(v);
            ladder = v;
        } else if ((v = opt_value(argc, argv, &i, "--prefix")) != NULL) {
            prefix = v;
        } else if ((v = opt_value(argc, argv, &i, "--key")) != NULL) {
            if (!ctl_request_prefix_ok(v))
                usage_error("--key is a key prefix of [A-Za-z0-9._/-] without a leading '/', "
                            "\"//\" or \"..\", not \"%s\"",
                            v);
            key = v;
        } else if ((v = opt_value(argc, argv, &i, "--notify")) != NULL) {
            if (!ctl_request_notify_ok(v))
                usage_error("--notify is an http:// or https:// URL, not \"%s\"", v);
            notify = v;
        } else if ((v = opt_value(argc, argv, &i, "--metadata")) != NULL) {
            metadata = v;
        } else if ((v = opt_value(argc, argv, &i, "--audio")) != NULL) {
            if (strcmp(v, "separate") != 0 && strcmp(v, "muxed") != 0)
                usage_error("--audio is separate or muxed, not \"%s\"", v);
            audio = v;
        } else if ((v = opt_value(argc, argv, &i, "--format")) != NULL) {
            if (strcmp(v, "ts") != 0 && strcmp(v, "fmp4") != 0)
                usage_error("--format is ts or fmp4, not \"%s\"", v);
            format = v;
        } else if ((v = opt_value(argc, argv, &i, "--first-variant")) != NULL) {
            if (!ctl_request_first_ok(v))
                usage_error("--first-variant is auto, lowest, highest or a rendition such as "
                            "720p, not \"%s\"",
                            v);
            first = v;
        } else if ((v = opt_value(argc, argv, &i, "--subtitles")) != NULL) {
            const char *eq = strchr(v, '=');
            char lang[32];
            snprintf(lang, sizeof(lang), "%.*s", eq ? (int)(eq - v) : 0, v);
            if (eq == NULL || eq[1] == '\0' || !ctl_request_language_ok(lang))
                usage_error("--subtitles takes LANG=FILE, e.g. en=captions.srt, not \"%s\"", v);
            if (nsubs == CTL_MAX_CAPTIONS)
                usage_error("at most %d --subtitles files", CTL_MAX_CAPTIONS);
            subs[nsubs++] = v;
        } else if ((v = opt_value(argc, argv, &i, "--segment")) != NULL) {
            char *end;
            segment = strtod(v, &end);
            if (*v == '\0' || *end != '\0' || !isfinite(segment) || segment < 1 || segment > 60)
                usage_error("--segment needs a number of seconds from 1 to 60, not \"%s\"", v);
        } else {
            usage_error("submit: unknown option %s", a);
        }
    }
    if (file == NULL)
        usage_error("submit needs a FILE (or - for standard input)");
    /* HEVC and AV1 need fMP4: say so now when the line itself asks for TS
     * (the daemon checks the ladder against its own defaults too) */
    char why[256];
    if (ladder && format && strcmp(format, "ts") == 0 &&
        config_check_format(ladder, 0, 0, why, sizeof(why)) < 0)
        usage_error("%s: use --format fmp4", why);

    json_t *jmeta = NULL;
    if (metadata) {
        char text[CTL_METADATA_MAX + 1];
        jmeta = json_loads(metadata, JSON_REJECT_DUPLICATES, NULL);
        if (jmeta == NULL || ctl_request_metadata_text(jmeta, text, sizeof(text)) < 0)
            usage_error("--metadata is a JSON object of at most %d bytes, e.g. "
                        "'{\"title\":\"Talk\"}'",
                        CTL_METADATA_MAX);
    }
    int fd;
    const char *name;
    int is_url = ctl_request_is_url(file);
    if (is_url) {
        /* the daemon's upload workers fetch it: nothing to open here */
        if (!ctl_request_url_ok(file))
            usage_error("%s is not an input URL hlsd can fetch (http://HOST/..., "
                        "https://HOST/..., s3://BUCKET/KEY)",
                        file);
        fd = -1;
        name = file;
    } else if (strcmp(file, "-") == 0) {
        fd = STDIN_FILENO;
        name = "stdin";
    } else {
        struct stat st;
        fd = open(file, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            fprintf(stderr, "hlsctl: cannot open %s: %s\n", file, strerror(errno));
            return EX_FAIL;
        }
        if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
            fprintf(stderr, "hlsctl: %s is a directory\n", file);
            close(fd);
            return EX_FAIL;
        }
        const char *slash = strrchr(file, '/');
        name = slash && slash[1] ? slash + 1 : file;
    }

    json_t *jname = json_string(name);
    if (jname == NULL) /* not UTF-8: the daemon only needs a label */
        jname = json_string("input");
    json_t *req = json_pack("{s:s, s:o}", "cmd", "submit", "input", jname);
    if ((ladder && json_object_set_new(req, "ladder", json_string(ladder)) < 0) ||
        (prefix && json_object_set_new(req, "prefix", json_string(prefix)) < 0))
        usage_error("--ladder and --prefix must be valid UTF-8");
    if (!isnan(segment))
        json_object_set_new(req, "segment", json_real(segment));
    if (audio)
        json_object_set_new(req, "audio", json_string(audio));
    if (first)
        json_object_set_new(req, "first_variant", json_string(first));
    if (key)
        json_object_set_new(req, "key", json_string(key));
    if (notify)
        json_object_set_new(req, "notify", json_string(notify));
    if (jmeta)
        json_object_set_new(req, "metadata", jmeta);
    if (thumbs >= 0)
        json_object_set_new(req, "thumbnails", json_boolean(thumbs));
    if (format)
        json_object_set_new(req, "format", json_string(format));

    /* caption files: checked here, named by the user's path, then passed
     * after the input's descriptor (the daemon checks them again) */
    struct client cl = {.fd = -1};
    json_t *jsubs = nsubs ? json_array() : NULL;
    for (int k = 0; k < nsubs; k++) {
        const char *eq = strchr(subs[k], '='), *path = eq + 1;
        char why[512], lang[32];
        snprintf(lang, sizeof(lang), "%.*s", (int)(eq - subs[k]), subs[k]);
        int sfd = open(path, O_RDONLY | O_CLOEXEC);
        if (sfd < 0 || convert_caption_check(path, path, why, sizeof(why)) < 0) {
            if (sfd < 0)
                fprintf(stderr, "hlsctl: cannot open %s: %s\n", path, strerror(errno));
            else
                fprintf(stderr, "hlsctl: %s\n", why);
            if (sfd >= 0)
                close(sfd);
            for (int q = 0; q < cl.nextra; q++)
                close(cl.extra[q]);
            if (fd > STDIN_FILENO)
                close(fd);
            json_decref(jsubs);
            json_decref(req);
            return EX_FAIL;
        }
        cl.extra[cl.nextra++] = sfd;
        const char *slash = strrchr(path, '/');
        json_t *jn = json_string(slash && slash[1] ? slash + 1 : path);
        json_array_append_new(jsubs, json_pack("{s:s, s:o}", "language", lang, "name",
                                               jn ? jn : json_string("captions")));
    }
    if (jsubs)
        json_object_set_new(req, "subtitles", jsubs);

    /* no timeout: the daemon copies the whole input before it answers */
    json_t *rep = request(&cl, req, fd, is_url ? REPLY_TIMEOUT_MS : -1, 0);
    json_decref(req);
    if (fd > STDIN_FILENO)
        close(fd);
    for (int q = 0; q < cl.nextra; q++)
        close(cl.extra[q]);
    cl.nextra = 0;
    if (rep == NULL)
        return EX_UNREACHABLE;
    if (!reply_ok(rep)) {
        int rc = reply_error(rep);
        json_decref(rep);
        client_close(&cl);
        return rc;
    }
    json_t *job = json_object_get(rep, "job");
    long long id = int_or(job, "id", 0);
    int rc = EX_OK;
    if (!wait) {
        if (hlsctl_json)
            print_json(rep);
        else
            printf("job %lld %s (%s)\n", id, str_or(job, "state", "queued"),
                   str_or(job, "input", name));
    } else {
        if (!hlsctl_json)
            printf("job %lld submitted (%s)\n", id, str_or(job, "input", name));
        rc = wait_job(&cl, id);
    }
    json_decref(rep);
    client_close(&cl);
    return rc;
}

/* cmd_version - the client's version, and the daemon's when it answers a
 * ping (the protocol's version field); exit 0 either way */
