/*
 * test_ctl.c - the ctl process against raw socket clients, with a fake
 * master on the other side of its rings (tests/fix_ctl.c): forwarding
 * of every command, validation, submission by descriptor, by stream and
 * inline, and the refusal paths that must leave nothing in the spool.
 */
#include "daemon/ctl.h"
#include "daemon/ctl_request.h"
#include "tests/fix_ctl.h"

#include <criterion/criterion.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#define MiB (1024ull * 1024)

static void
assert_forwarded(struct fix_ctl *f, size_t i, const char *want)
{
    json_t *got = fix_ctl_req(f, i);
    json_t *exp = json_loads(want, 0, NULL);
    cr_assert_not_null(got, "request %zu was not forwarded", i);
    /* ctl names the client to the master: us */
    json_t *client = json_object_get(got, "client");
    cr_assert(json_is_object(client), "request %zu does not name the client", i);
    cr_expect_eq(json_integer_value(json_object_get(client, "uid")), (json_int_t)geteuid());
    json_object_del(got, "client");
    char *s = json_dumps(got, JSON_COMPACT | JSON_SORT_KEYS);
    cr_assert(json_equal(got, exp), "forwarded %s, want %s", s, want);
    free(s);
    json_decref(got);
    json_decref(exp);
}

/* ping_alive - ctl still answers */
static void
ping_alive(struct fix_ctl *f)
{
    cr_assert(fix_ctl_alive(f), "ctl died");
    json_t *rep = fix_ctl_rpc(f, "{\"cmd\":\"ping\"}");
    cr_assert_str_eq(fix_ctl_code(rep), "");
    json_decref(rep);
}

Test(ctl, forwards_every_command_normalised, .timeout = 30)
{
    struct fix_ctl f;
    static const struct {
        const char *line, *forwarded;
    } cases[] = {
        {"{\"cmd\":\"ping\"}", "{\"cmd\":\"ping\"}"},
        {"{\"cmd\":\"status\",\"id\":7}", "{\"cmd\":\"status\",\"id\":7}"},
        {"{\"cmd\":\"list\"}", "{\"cmd\":\"list\",\"state\":null,\"limit\":1000}"},
        {"{\"cmd\":\"list\",\"state\":\"done\",\"limit\":5}",
         "{\"cmd\":\"list\",\"state\":\"done\",\"limit\":5}"},
        {"{\"cmd\":\"list\",\"state\":null,\"limit\":null}",
         "{\"cmd\":\"list\",\"state\":null,\"limit\":1000}"},
        {"{\"cmd\":\"cancel\",\"id\":3}", "{\"cmd\":\"cancel\",\"id\":3}"},
        {"{\"cmd\":\"retry\",\"id\":9007199254740993}",
         "{\"cmd\":\"retry\",\"id\":9007199254740993}"},
        {"{\"cmd\":\"workers\"}", "{\"cmd\":\"workers\"}"},
        {"  {\"cmd\" : \"stats\"}  \r", "{\"cmd\":\"stats\"}"},
    };
    fix_ctl_start(&f, 10 * MiB);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_t *rep = fix_ctl_rpc(&f, cases[i].line);
        cr_assert_str_eq(fix_ctl_code(rep), "", "%s failed", cases[i].line);
        json_decref(rep);
        assert_forwarded(&f, i, cases[i].forwarded);
    }
    /* the master's reply is relayed as is */
    json_t *rep = fix_ctl_rpc(&f, "{\"cmd\":\"workers\"}");
    json_t *w = json_array_get(json_object_get(rep, "workers"), 0);
    cr_assert_str_eq(json_string_value(json_object_get(w, "role")), "ctl");
    cr_assert_eq(json_integer_value(json_object_get(w, "pid")), 4242);
    json_decref(rep);
    fix_ctl_stop(&f);
}

Test(ctl, bad_requests_get_clear_errors_and_reach_nobody, .timeout = 30)
{
    struct fix_ctl f;
    static const struct {
        const char *line, *code, *needle;
    } cases[] = {
        {"{\"cmd\":\"ping\"", "bad_request", "malformed JSON"},
        {"not json at all", "bad_request", "malformed JSON"},
        {"[1,2,3]", "bad_request", "JSON object"},
        {"\"ping\"", "bad_request", "JSON object"},
        {"42", "bad_request", "JSON object"},
        {"null", "bad_request", "JSON object"},
        {"{}", "bad_request", "missing field \"cmd\""},
        {"{\"cmd\":7}", "bad_request", "\"cmd\" must be a string"},
        {"{\"cmd\":\"launch\"}", "unknown_command", "unknown command \"launch\""},
        {"{\"cmd\":\"status\"}", "bad_request", "missing field \"id\""},
        {"{\"cmd\":\"status\",\"id\":\"3\"}", "bad_request", "positive integer"},
        {"{\"cmd\":\"status\",\"id\":0}", "bad_request", "positive integer"},
        {"{\"cmd\":\"cancel\",\"id\":-4}", "bad_request", "positive integer"},
        {"{\"cmd\":\"retry\",\"id\":1.5}", "bad_request", "positive integer"},
        {"{\"cmd\":\"ping\",\"verbose\":true}", "bad_request", "unknown field \"verbose\""},
        {"{\"cmd\":\"ping\",\"cmd\":\"ping\"}", "bad_request", "malformed JSON"},
        {"{\"cmd\":\"list\",\"state\":\"lost\"}", "bad_request", "\"state\" must be one of"},
        {"{\"cmd\":\"list\",\"state\":3}", "bad_request", "\"state\" must be a string"},
        {"{\"cmd\":\"list\",\"limit\":0}", "bad_request", "\"limit\""},
        {"{\"cmd\":\"list\",\"limit\":100000}", "bad_request", "\"limit\""},
        {"{\"cmd\":\"submit\",\"input\":\"a.mp4\",\"ladder\":\"720p\",\"size\":1}", "bad_request",
         "\"ladder\""},
        {"{\"cmd\":\"submit\",\"input\":\"a.mp4\",\"segment\":0,\"size\":1}", "bad_request",
         "\"segment\""},
        {"{\"cmd\":\"submit\",\"input\":\"a.mp4\",\"segment\":61,\"size\":1}", "bad_request",
         "\"segment\""},
        {"{\"cmd\":\"submit\",\"input\":\"a.mp4\",\"segment\":\"6\",\"size\":1}", "bad_request",
         "\"segment\""},
        {"{\"cmd\":\"submit\",\"input\":\"a.mp4\",\"prefix\":\"a/../../etc\",\"size\":1}",
         "bad_request", "\"prefix\""},
        {"{\"cmd\":\"submit\",\"input\":\"a.mp4\",\"prefix\":\"/abs\",\"size\":1}", "bad_request",
         "\"prefix\""},
        {"{\"cmd\":\"submit\",\"input\":\"a.mp4\",\"size\":-1}", "bad_request", "\"size\""},
        {"{\"cmd\":\"submit\",\"input\":5,\"size\":1}", "bad_request", "\"input\" must be"},
        {"{\"cmd\":\"submit\",\"size\":1}", "bad_request", "missing field \"input\""},
        {"{\"cmd\":\"submit\",\"input\":\"a.mp4\"}", "bad_request", "SCM_RIGHTS"},
        {"{\"cmd\":\"submit\",\"input\":\"a.mp4\",\"size\":0}", "bad_input", "empty"},
        {"{\"cmd\":\"\\u00e9t\\u00e9\"}", "unknown_command", "unknown command"},
    };
    fix_ctl_start(&f, 10 * MiB);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_t *rep = fix_ctl_rpc(&f, cases[i].line);
        cr_assert_str_eq(fix_ctl_code(rep), cases[i].code, "%s: got %s", cases[i].line,
                         fix_ctl_code(rep));
        const char *msg =
            json_string_value(json_object_get(json_object_get(rep, "error"), "message"));
        cr_assert_not_null(msg);
        cr_assert_not_null(strstr(msg, cases[i].needle), "%s: message \"%s\" lacks \"%s\"",
                           cases[i].line, msg, cases[i].needle);
        json_decref(rep);
    }
    /* errors without inline bytes keep the stream in step on one connection */
    int fd = fix_ctl_connect(&f);
    for (int i = 0; i < 3; i++) {
        static const char *const lines[] = {"{\"cmd\":\"bogus\"}\n", "[]\n",
                                            "{\"cmd\":\"ping\"}\n"};
        fix_ctl_send(fd, lines[i], strlen(lines[i]));
        json_t *rep = fix_ctl_reply(fd);
        cr_assert_str_eq(fix_ctl_code(rep), i == 0   ? "unknown_command"
                                            : i == 1 ? "bad_request"
                                                     : "");
        json_decref(rep);
    }
    close(fd);
    /* a refused inline submit closes: its bytes would read as requests */
    fd = fix_ctl_connect(&f);
    const char *l =
        "{\"cmd\":\"submit\",\"input\":\"a\",\"segment\":99,\"size\":4}\n{\"cmd\":\"ping\"}\n";
    fix_ctl_send(fd, l, strlen(l));
    json_t *rep = fix_ctl_reply(fd);
    cr_assert_str_eq(fix_ctl_code(rep), "bad_request");
    json_decref(rep);
    cr_assert_null(fix_line(fd, 5000));
    close(fd);
    cr_assert_eq(fix_ctl_nreqs(&f), 1, "a bad request reached the master");
    cr_assert(fix_ctl_incoming_empty(&f));
    ping_alive(&f);
    fix_ctl_stop(&f);
}

Test(ctl, submit_by_descriptor_copies_before_the_master_hears_of_it, .timeout = 30)
{
    struct fix_ctl f;
    char path[512];
    size_t n;

    fix_ctl_start(&f, 10 * MiB);
    fix_ctl_file(&f, "clip one.mp4", 3 * MiB + 17, path, sizeof(path));
    int in = open(path, O_RDONLY);
    int fd = fix_ctl_connect(&f);
    fix_ctl_send_fd(fd,
                    "{\"cmd\":\"submit\",\"input\":\"/home/u/../x/clip one.mp4\",\"ladder\":"
                    "\"720:2800k,480:1400k\",\"segment\":4,\"prefix\":\"shows/s1\"}\n",
                    in);
    close(in);
    json_t *rep = fix_ctl_reply(fd);
    close(fd);
    cr_assert_str_eq(fix_ctl_code(rep), "");
    cr_assert_eq(json_integer_value(json_object_get(json_object_get(rep, "job"), "id")), 1);
    json_decref(rep);

    cr_assert_eq(fix_ctl_nreqs(&f), 2);
    assert_forwarded(&f, 0, "{\"cmd\":\"admit\"}");
    json_t *sub = fix_ctl_req(&f, 1);
    const char *token = json_string_value(json_object_get(sub, "token"));
    cr_assert_not_null(token);
    cr_assert_eq(strlen(token), 32);
    cr_assert_eq(strspn(token, "0123456789abcdef"), 32);
    char want[256];
    snprintf(want, sizeof(want),
             "{\"cmd\":\"submit\",\"token\":\"%s\",\"input\":\"clip one.mp4\",\"ladder\":"
             "\"720:2800k,480:1400k\",\"segment\":4.0,\"prefix\":\"shows/s1\"}",
             token);
    json_decref(sub);
    assert_forwarded(&f, 1, want);

    unsigned char *orig = fix_ctl_read_file(path, &n);
    cr_assert_eq(f.sub_len, n, "spooled %zu bytes of %zu", f.sub_len, n);
    cr_assert(memcmp(f.sub_data, orig, n) == 0, "spooled bytes differ");
    cr_assert_eq(f.sub_dir_mode, 0700);
    free(orig);
    cr_assert(fix_ctl_incoming_empty(&f), "the master took the directory; nothing may remain");
    fix_ctl_stop(&f);
}

Test(ctl, submit_inline_size_reads_exactly_n_bytes, .timeout = 30)
{
    struct fix_ctl f;
    char path[512];
    size_t n;

    fix_ctl_start(&f, 10 * MiB);
    fix_ctl_file(&f, "x.ts", 700 * 1000 + 3, path, sizeof(path));
    unsigned char *data = fix_ctl_read_file(path, &n);
    int fd = fix_ctl_connect(&f);
    char line[256];
    snprintf(line, sizeof(line), "{\"cmd\":\"submit\",\"input\":\"x.ts\",\"size\":%zu}\n", n);
    /* the line, the bytes and a pipelined ping, in one go */
    size_t tot = strlen(line) + n + 16;
    char *buf = malloc(tot);
    memcpy(buf, line, strlen(line));
    memcpy(buf + strlen(line), data, n);
    memcpy(buf + strlen(line) + n, "{\"cmd\":\"ping\"}\n", 15);
    fix_ctl_send(fd, buf, strlen(line) + n + 15);
    json_t *rep = fix_ctl_reply(fd);
    cr_assert_str_eq(fix_ctl_code(rep), "");
    cr_assert_str_eq(json_string_value(json_object_get(json_object_get(rep, "job"), "input")),
                     "x.ts");
    json_decref(rep);
    rep = fix_ctl_reply(fd);
    cr_assert_not_null(json_object_get(rep, "version"), "the ping after the bytes was lost");
    json_decref(rep);
    close(fd);
    cr_assert_eq(f.sub_len, n);
    cr_assert(memcmp(f.sub_data, data, n) == 0);
    free(data);
    free(buf);
    fix_ctl_stop(&f);
}

Test(ctl, admission_refused_copies_nothing, .timeout = 30)
{
    struct fix_ctl f;
    char path[512];

    fix_ctl_start(&f, 10 * MiB);
    f.admit_full = 1;
    fix_ctl_file(&f, "a.mp4", 100000, path, sizeof(path));
    int in = open(path, O_RDONLY);
    int fd = fix_ctl_connect(&f);
    fix_ctl_send_fd(fd, "{\"cmd\":\"submit\",\"input\":\"a.mp4\"}\n", in);
    close(in);
    json_t *rep = fix_ctl_reply(fd);
    cr_assert_str_eq(fix_ctl_code(rep), "queue_full");
    json_decref(rep);
    /* the connection still works after a refusal by descriptor */
    fix_ctl_send(fd, "{\"cmd\":\"ping\"}\n", 15);
    rep = fix_ctl_reply(fd);
    cr_assert_str_eq(fix_ctl_code(rep), "");
    json_decref(rep);
    close(fd);
    cr_assert_eq(f.submits, 0, "the master got a submit after refusing admission");
    cr_assert(fix_ctl_incoming_empty(&f));

    /* inline: refused, and the connection is closed (its bytes are not read) */
    fd = fix_ctl_connect(&f);
    fix_ctl_send(fd, "{\"cmd\":\"submit\",\"input\":\"a.mp4\",\"size\":5000}\n", 46);
    rep = fix_ctl_reply(fd);
    cr_assert_str_eq(fix_ctl_code(rep), "queue_full");
    json_decref(rep);
    cr_assert_null(fix_line(fd, 5000), "connection left open after an inline refusal");
    close(fd);
    cr_assert(fix_ctl_incoming_empty(&f));
    fix_ctl_stop(&f);
}

Test(ctl, submit_refused_by_master_removes_the_input, .timeout = 30)
{
    struct fix_ctl f;
    char path[512];

    fix_ctl_start(&f, 10 * MiB);
    f.submit_fail = 1;
    fix_ctl_file(&f, "a.mp4", 200000, path, sizeof(path));
    int in = open(path, O_RDONLY);
    int fd = fix_ctl_connect(&f);
    fix_ctl_send_fd(fd, "{\"cmd\":\"submit\",\"input\":\"a.mp4\"}\n", in);
    close(in);
    json_t *rep = fix_ctl_reply(fd);
    close(fd);
    cr_assert_str_eq(fix_ctl_code(rep), "queue_full");
    json_decref(rep);
    cr_assert_eq(f.submits, 1);
    cr_assert_eq(f.sub_len, 200000, "the input was complete when the master was asked");
    cr_assert(fix_ctl_incoming_empty(&f), "a refused input was left in the spool");
    fix_ctl_stop(&f);
}

Test(ctl, inputs_over_the_limit_are_refused, .timeout = 30)
{
    struct fix_ctl f;
    char path[512];

    signal(SIGPIPE, SIG_IGN);
    fix_ctl_start(&f, 64 * 1024);
    /* a regular file: refused from its size, before admission */
    fix_ctl_file(&f, "big.mp4", 64 * 1024 + 1, path, sizeof(path));
    int in = open(path, O_RDONLY);
    int fd = fix_ctl_connect(&f);
    fix_ctl_send_fd(fd, "{\"cmd\":\"submit\",\"input\":\"big.mp4\"}\n", in);
    close(in);
    json_t *rep = fix_ctl_reply(fd);
    cr_assert_str_eq(fix_ctl_code(rep), "too_large");
    json_decref(rep);
    close(fd);

    /* a pipe: refused once the limit is crossed */
    int p[2];
    cr_assert_eq(pipe(p), 0);
    fd = fix_ctl_connect(&f);
    fix_ctl_send_fd(fd, "{\"cmd\":\"submit\",\"input\":\"-\"}\n", p[0]);
    close(p[0]);
    static char chunk[8192];
    ssize_t w = 0;
    for (int i = 0; i < 16 && w >= 0; i++)
        w = write(p[1], chunk, sizeof(chunk));
    close(p[1]);
    rep = fix_ctl_reply(fd);
    cr_assert_str_eq(fix_ctl_code(rep), "too_large");
    json_decref(rep);
    close(fd);

    /* inline: refused from the announced size */
    fd = fix_ctl_connect(&f);
    const char *l = "{\"cmd\":\"submit\",\"input\":\"a\",\"size\":65537}\n";
    fix_ctl_send(fd, l, strlen(l));
    rep = fix_ctl_reply(fd);
    cr_assert_str_eq(fix_ctl_code(rep), "too_large");
    json_decref(rep);
    close(fd);

    cr_assert_eq(f.submits, 0);
    cr_assert(fix_ctl_incoming_empty(&f));
    ping_alive(&f);
    fix_ctl_stop(&f);
}

Test(ctl, request_parse_table)
{
    struct ctl_request rq;
    struct ctl_error err;

    const char *l = "{\"cmd\":\"submit\",\"input\":\"../../etc/passwd\",\"size\":3}";
    cr_assert_eq(ctl_request_parse(l, strlen(l), &rq, &err), 0, "%s", err.message);
    cr_assert_str_eq(rq.input, "passwd");
    cr_assert(rq.inline_size);
    cr_assert_eq(rq.size, 3);
    ctl_request_free(&rq);

    static const struct {
        const char *in, *out;
    } names[] = {
        {"movie.mp4", "movie.mp4"},
        {"/a/b/c.mov", "c.mov"},
        {"..", "input"},
        {"", "input"},
        {"a/", "input"},
        {".hidden", "hidden"},
        {"a\tb\nc", "a_b_c"},
        {"x;rm -rf $(y)", "x_rm -rf __y_"},
        {"vidéo.mkv", "vidéo.mkv"},
    };
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        char out[256];
        ctl_request_sanitize_name(names[i].in, out, sizeof(out));
        cr_assert_str_eq(out, names[i].out, "%s -> %s", names[i].in, out);
    }
    char out[8];
    ctl_request_sanitize_name("abcdé", out, 6); /* é would be cut in half */
    cr_assert_str_eq(out, "abcd");

    static const struct {
        const char *s;
        int ok;
    } ladders[] = {
        {"copy", 1},
        {"720:2800k", 1},
        {"720:2800k,480:1400k,360:800000", 1},
        {"1080:5M", 1},
        {"", 0},
        {"720", 0},
        {"720:", 0},
        {":2800k", 0},
        {"720:2800k,", 0},
        {"720:0k", 0},
        {"8:100k", 0},
        {"720:2800kk", 0},
        {"720p:2800k", 0},
        {"720:2800k;rm", 0},
        {"1080:5000k,720:2800k,480:1400k,360:800k,240:400k,144:200k,1080:5000k,720:2800k,480:1400k",
         1},
        {"1080:5000k,720:2800k,480:1400k,360:800k,240:400k,144:200k,1080:5000k,720:2800k,480:1400k,"
         "1:1",
         0},
    };
    for (size_t i = 0; i < sizeof(ladders) / sizeof(ladders[0]); i++)
        cr_assert_eq(ctl_request_ladder_ok(ladders[i].s), ladders[i].ok, "ladder \"%s\"",
                     ladders[i].s);

    static const struct {
        const char *s;
        int ok;
    } prefixes[] = {
        {"videos", 1}, {"a/b/c/", 1}, {"a-b_c.d", 1}, {"/a", 0},  {"a//b", 0},
        {"..", 0},     {"a/../b", 0}, {"a b", 0},     {"a?b", 0}, {"é", 0},
    };
    for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++)
        cr_assert_eq(ctl_request_prefix_ok(prefixes[i].s), prefixes[i].ok, "prefix \"%s\"",
                     prefixes[i].s);
}
