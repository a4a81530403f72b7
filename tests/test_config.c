/*
 * test_config.c - daemon/config.c and `hlsd -t`: durations, the file's
 * structure (unknown sections and keys, syntax, line numbers, lines longer
 * than inih's buffer), the shipped etc/hlsd.conf (every key, loading to
 * exactly the embedded defaults) and etc/hlsd.local.conf, and the exit
 * codes and messages of `hlsd -t`. The keys one by one are in
 * test_config_keys.c.
 */
#include "tests/fix_config.h"

#include <criterion/criterion.h>
#include <ini.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---------------------------------------------------------------- durations */

static const struct {
    const char *in;
    int64_t ms; /* -1: rejected */
} durations[] = {
    /* edge cases first */
    {"", -1},
    {"ms", -1},
    {"s", -1},
    {"-1s", -1},
    {"-0", -1},
    {"+5s", -1},
    {"0", 0},
    {"0ms", 0},
    {"0s", 0},
    {"1e400", -1},                 /* overflows a double */
    {"1e12h", -1},                 /* overflows the range */
    {"9223372036854775807ms", -1}, /* INT64_MAX: above the bound */
    {"1000000000000000ms", 1000000000000000LL},
    {"inf", -1},
    {"nan", -1},
    {"5x", -1},
    {"5 s", -1},
    {"5S", -1}, /* units are lower case */
    {"5M", -1},
    {"30s ", -1},
    {"5mins", -1},
    {"garbage", -1},
    /* the documented forms */
    {"500ms", 500},
    {"30s", 30000},
    {"5m", 300000},
    {"6h", 21600000},
    {"7d", 604800000},
    {"5D", -1},
    {"7", 7000}, /* a bare number is seconds */
    {"1.5s", 1500},
    {"0.25", 250},
    {" 30s", 30000},
};

Test(config_duration, table)
{
    for (size_t i = 0; i < sizeof(durations) / sizeof(durations[0]); i++)
        cr_expect_eq(config_parse_duration(durations[i].in), durations[i].ms,
                     "config_parse_duration(\"%s\") = %lld, expected %lld", durations[i].in,
                     (long long)config_parse_duration(durations[i].in), (long long)durations[i].ms);
}

/* ---------------------------------------------------------------- structure */

static const struct {
    const char *name, *text;
    const char *err; /* substring of the error, NULL: loads */
} structure[] = {
    {"empty file", "", NULL},
    {"comments only", "# a\n; b\n\n", NULL},
    {"empty section", "[daemon]\n[convert]\n[upload]\n", NULL},
    {"inline comment", "[convert]\nworkers = 3 ; three\n", NULL},
    {"colon separator", "[convert]\nworkers: 3\n", NULL},
    {"spaces around", "  [convert]  \n   workers   =   3   \n", NULL},
    {"last value wins", "[convert]\nworkers = 2\nworkers = 3\n", NULL},
    {"sections in any order and repeated",
     "[upload]\n[convert]\nworkers = 1\n[convert]\nworkers = 3\n", NULL},
    {"no newline at the end", "[convert]\nworkers = 3", NULL},
    {"unknown key", "[daemon]\nmax_queued = 5\n\nbogus = 1\n",
     ":4: unknown key 'bogus' in [daemon]"},
    {"key of another section", "[convert]\nurl = s3://b\n", ":2: unknown key 'url' in [convert]"},
    {"keys are case sensitive", "[convert]\nWorkers = 3\n", ":2: unknown key 'Workers'"},
    {"unknown section", "[convert]\nworkers = 3\n[nope]\nx = 1\n", ":3: unknown section [nope]"},
    {"unknown empty section", "[daemon]\n\n[Daemon]\n", ":3: unknown section [Daemon]"},
    {"key outside a section", "workers = 3\n[convert]\n", ":1: key 'workers' outside a [section]"},
    {"line without =", "[convert]\nworkers 3\n", ":2: syntax error"},
    {"section without ]", "[convert\nworkers = 3\n", ":1: syntax error"},
    {"first error wins", "[convert]\nworkers = 0\nthreads = -1\n", ":2: '0' is not an integer"},
    {"syntax error before a bad value", "[convert]\nworkers 3\nthreads = -1\n", ":2: syntax error"},
    {"bad value before a syntax error", "[convert]\nthreads = -1\nworkers 3\n",
     ":2: '-1' is not an integer"},
};

Test(config_structure, table)
{
    struct config c;
    char err[1024];

    for (size_t i = 0; i < sizeof(structure) / sizeof(structure[0]); i++) {
        int rc = fix_config_text(&c, structure[i].text, err, sizeof(err));
        if (structure[i].err == NULL) {
            cr_expect_eq(rc, 0, "%s: %s", structure[i].name, err);
        } else {
            cr_expect_eq(rc, -1, "%s: accepted", structure[i].name);
            cr_expect(strstr(err, structure[i].err) != NULL, "%s: '%s' lacks '%s'",
                      structure[i].name, err, structure[i].err);
        }
    }
    /* the values of the good ones */
    cr_assert_eq(fix_config_text(&c, "[convert]\nworkers = 3 ; three\n", err, sizeof(err)), 0);
    cr_expect_eq(c.convert.workers, 3);
    cr_assert_eq(fix_config_text(&c, "[convert]\nworkers = 2\nworkers = 3\n", err, sizeof(err)), 0);
    cr_expect_eq(c.convert.workers, 3);
}

Test(config_structure, empty_file_is_the_defaults)
{
    struct config c, d;
    char err[1024];

    cr_assert_eq(fix_config_text(&c, "", err, sizeof(err)), 0, "%s", err);
    config_defaults(&d);
    cr_expect_eq(memcmp(&c, &d, sizeof(c)), 0);
}

Test(config_structure, missing_file)
{
    struct config c;
    char err[1024];

    cr_assert_eq(config_load(&c, "/nonexistent/hlsd.conf", err, sizeof(err)), -1);
    cr_expect(strstr(err, "/nonexistent/hlsd.conf: cannot open: No such file or directory"), "%s",
              err);
}

/* Lines longer than inih's buffer: handled, and the line numbers after
 * them stay right. */
Test(config_structure, long_lines_keep_line_numbers)
{
    struct config c;
    char err[1024];
    char *tok = fix_repeat('T', 1800), *junk = fix_repeat('x', 3000);
    size_t cap = 8192;
    char *text = malloc(cap);

    snprintf(text, cap, "[upload]\nsession_token = %s ; a comment\nregion = eu-west-1\n", tok);
    cr_assert_eq(fix_config_text(&c, text, err, sizeof(err)), 0, "%s", err);
    cr_expect_str_eq(c.upload.session_token, tok);
    cr_expect_str_eq(c.upload.region, "eu-west-1");

    snprintf(text, cap, "[upload]\n# %s\nsession_token = %s\n\nbogus = 1\n", junk, tok);
    cr_assert_eq(fix_config_text(&c, text, err, sizeof(err)), -1);
    cr_expect(strstr(err, ":5: unknown key 'bogus' in [upload]"), "%s", err);

    snprintf(text, cap, "[upload]\nregion = eu\n%s\nacl = x\n", junk);
    cr_assert_eq(fix_config_text(&c, text, err, sizeof(err)), -1);
    cr_expect(strstr(err, ":3: syntax error"), "%s", err);

    snprintf(text, cap, "[upload]\n%s = 1\n", junk);
    cr_assert_eq(fix_config_text(&c, text, err, sizeof(err)), -1);
    cr_expect(strstr(err, ":2: unknown key 'xxxx"), "%s", err);

    snprintf(text, cap, "[upload]\nacl = public-read\n\nendpoint = %s\n", junk);
    cr_assert_eq(fix_config_text(&c, text, err, sizeof(err)), -1);
    cr_expect(strstr(err, ":4: value longer than 1023 bytes"), "%s", err);

    snprintf(text, cap,
             "[convert]\nworkers = 2\n[upload]\nsession_token = %s\n[convert]\nthreads = 99\n",
             tok);
    cr_assert_eq(fix_config_text(&c, text, err, sizeof(err)), -1);
    cr_expect(strstr(err, ":6: '99' is not an integer in 0..64"), "%s", err);
    free(tok);
    free(junk);
    free(text);
}

/* ---------------------------------------------------------------- shipped files */

#define SEEN_MAX 256 /* keys of the example file; past it the test fails */

struct seen {
    char keys[SEEN_MAX][64];
    int n, dup;
    char dup_name[64];
};

static int
collect(void *user, const char *section, const char *name, const char *value)
{
    struct seen *s = user;
    char k[64];
    (void)value;
    snprintf(k, sizeof(k), "%s.%s", section, name);
    for (int i = 0; i < s->n; i++)
        if (strcmp(s->keys[i], k) == 0) {
            s->dup++;
            snprintf(s->dup_name, sizeof(s->dup_name), "%s", k);
        }
    if (s->n < SEEN_MAX) {
        snprintf(s->keys[s->n++], sizeof(s->keys[0]), "%s", k);
    } else {
        s->dup++;
        snprintf(s->dup_name, sizeof(s->dup_name), "more than %d keys", SEEN_MAX);
    }
    return 1;
}

Test(config_files, example_documents_every_key_once)
{
    char path[1024];
    struct seen s = {0};

    snprintf(path, sizeof(path), "%s/etc/hlsd.conf", fix_srcdir());
    cr_assert_eq(ini_parse(path, collect, &s), 0, "%s does not parse", path);
    cr_expect_eq(s.dup, 0, "%s sets %s twice", path, s.dup_name);
    for (size_t i = 0; i < fix_config_nkeys; i++) {
        int found = 0;
        for (int j = 0; j < s.n; j++)
            found |= strcmp(s.keys[j], fix_config_keys[i]) == 0;
        cr_expect(found, "%s does not set %s", path, fix_config_keys[i]);
    }
    cr_expect_eq((size_t)s.n, fix_config_nkeys, "%s sets %d keys, the loader knows %zu", path, s.n,
                 fix_config_nkeys);
}

Test(config_files, example_loads_to_the_defaults)
{
    struct config c, d;
    char path[1024], err[1024], a[4096], b[4096];

    snprintf(path, sizeof(path), "%s/etc/hlsd.conf", fix_srcdir());
    cr_assert_eq(config_load(&c, path, err, sizeof(err)), 0, "%s", err);
    config_defaults(&d);
    /* field by field first, for a readable failure */
    for (size_t i = 0; i < fix_config_nkeys; i++) {
        char sec[32], key[64];
        const char *dot = strchr(fix_config_keys[i], '.');
        snprintf(sec, sizeof(sec), "%.*s", (int)(dot - fix_config_keys[i]), fix_config_keys[i]);
        snprintf(key, sizeof(key), "%s", dot + 1);
        fix_config_field(&c, sec, key, a, sizeof(a));
        fix_config_field(&d, sec, key, b, sizeof(b));
        cr_expect_str_eq(a, b, "%s: %s is '%s', the default is '%s'", path, fix_config_keys[i], a,
                         b);
    }
    /* and whole, padding included (config_defaults zeroes the struct) */
    cr_expect_eq(memcmp(&c, &d, sizeof(c)), 0, "%s does not load to config_defaults()", path);
    /* the secrets are shipped empty: the AWS_* environment is used */
    cr_expect_str_empty(c.upload.access_key_id);
    cr_expect_str_empty(c.upload.secret_access_key);
    cr_expect_str_empty(c.upload.session_token);
}

Test(config_files, local_conf_loads)
{
    struct config c;
    char path[1024], err[1024], cwd[1024], want[2200];

    snprintf(path, sizeof(path), "%s/etc/hlsd.local.conf", fix_srcdir());
    cr_assert_eq(config_load(&c, path, err, sizeof(err)), 0, "%s", err);
    cr_assert_not_null(getcwd(cwd, sizeof(cwd)));
    snprintf(want, sizeof(want), "file://%s/var/www", cwd);
    cr_expect_str_eq(c.upload.url, want);
    snprintf(want, sizeof(want), "%s/var/hlsd.sock", cwd);
    cr_expect_str_eq(c.daemon.socket, want);
    cr_expect_geq(c.convert.workers, 1);
    cr_expect_geq(c.upload.workers, 1);
}

/* ---------------------------------------------------------------- hlsd -t */

/* hlsd_t - run `hlsd -t -c path`; its exit code, stderr in err */
static int
hlsd_t(const char *path, char *err, size_t cap)
{
    return fix_sh(err, cap, "cd '%s' && '%s/hlsd' -t -c '%s' 2>&1 >/dev/null", fix_tmp(),
                  fix_bindir(), path);
}

Test(config_hlsd_t, good_files_exit_0)
{
    char path[1024], out[4096];
    const char *t = fix_tmp();
    char text[2048];

    snprintf(path, sizeof(path), "%s/etc/hlsd.conf", fix_srcdir());
    cr_expect_eq(hlsd_t(path, out, sizeof(out)), 0, "%s: %s", path, out);
    snprintf(path, sizeof(path), "%s/etc/hlsd.local.conf", fix_srcdir());
    cr_expect_eq(hlsd_t(path, out, sizeof(out)), 0, "%s: %s", path, out);
    /* -t only checks: a missing output directory is one hlsd would create */
    snprintf(text, sizeof(text), "[upload]\nurl = file://%s/t-%ld/www\n", t, (long)getpid());
    const char *f = fix_text(text);
    cr_expect_eq(hlsd_t(f, out, sizeof(out)), 0, "%s", out);
    snprintf(path, sizeof(path), "%s/t-%ld", t, (long)getpid());
    cr_expect(!fix_exists(path), "hlsd -t created %s", path);
    /* its stdout says so */
    cr_expect_eq(fix_sh(out, sizeof(out), "'%s/hlsd' -t -c '%s' 2>/dev/null", fix_bindir(), f), 0);
    cr_expect(strstr(out, "configuration ok"), "%s", out);
}

static const struct {
    const char *text, *err;
} bad_files[] = {
    {"[daemon]\nmax_queued = 0\n", ":2: '0' is not an integer in 1..1000000"},
    {"[convert]\n\n\nwrkers = 2\n", ":4: unknown key 'wrkers' in [convert]"},
    {"[daemon]\n[deamon]\n", ":2: unknown section [deamon]"},
    {"[convert]\nladder = 720p\n", ":2: '720p' is not a ladder"},
    {"[upload]\nurl = http://x/\n", ":2: 'http://x/' is neither"},
    {"[convert]\nworkers = 3\nthreads\n", ":3: syntax error"},
    {"[upload]\nbackoff_base = 1m\nbackoff_max = 1s\n", "backoff_max is below backoff_base"},
    {"[upload]\nurl = file:///etc/passwd/www\n", "[upload]"},
};

Test(config_hlsd_t, bad_files_exit_2_naming_line_and_reason)
{
    char out[4096];

    for (size_t i = 0; i < sizeof(bad_files) / sizeof(bad_files[0]); i++) {
        const char *f = fix_text(bad_files[i].text);
        cr_expect_eq(hlsd_t(f, out, sizeof(out)), 2, "%s", bad_files[i].text);
        cr_expect(strstr(out, f) != NULL, "the error does not name the file: %s", out);
        cr_expect(strstr(out, bad_files[i].err) != NULL, "'%s' lacks '%s'", out, bad_files[i].err);
    }
}

Test(config_hlsd_t, missing_file_exits_2)
{
    char out[4096];

    cr_expect_eq(hlsd_t("/nonexistent/hlsd.conf", out, sizeof(out)), 2);
    cr_expect(strstr(out, "/nonexistent/hlsd.conf: cannot open: No such file or directory"), "%s",
              out);
}

Test(config_hlsd_t, usage_exits_2)
{
    char out[4096];

    cr_expect_eq(fix_sh(out, sizeof(out), "'%s/hlsd' -x 2>&1", fix_bindir()), 2);
    cr_expect(strstr(out, "usage: hlsd"), "%s", out);
    cr_expect_eq(fix_sh(out, sizeof(out), "'%s/hlsd' -t extra 2>&1", fix_bindir()), 2);
}
