/*
 * test_convert_memory.c - the conversion engine's memory does not grow
 * with the input's length: peak resident memory of bin/hls-convert on a
 * clip ten times longer stays within a small margin of the short one's.
 */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *
tmp(void)
{
    const char *t = getenv("HLSD_TEST_TMP");
    return t ? t : "/tmp";
}

static void
make_clip(char *path, size_t cap, int seconds)
{
    char cmd[2048];
    snprintf(path, cap, "%s/mem-%ds-%ld.mp4", tmp(), seconds, (long)getpid());
    snprintf(cmd, sizeof(cmd),
             "ffmpeg -v error -y -f lavfi -i testsrc2=size=320x180:rate=25:duration=%d "
             "-f lavfi -i sine=frequency=300:duration=%d -c:v libx264 -preset ultrafast "
             "-pix_fmt yuv420p -c:a aac -shortest '%s'",
             seconds, seconds, path);
    cr_assert_eq(system(cmd), 0, "could not generate %s", path);
}

/* peak RSS in KiB of one hls-convert run, from wait4 */
static long
peak_kib(const char *in, const char *out)
{
    char tool[1024];
    const char *b = getenv("HLSD_BINDIR");
    snprintf(tool, sizeof(tool), "%s/hls-convert", b ? b : "bin");
    pid_t pid = fork();
    if (pid == 0) {
        int nul = open("/dev/null", O_WRONLY);
        dup2(nul, 1);
        /* under AddressSanitizer, freed memory sits in a quarantine of up to
         * 256 MiB that grows with allocation churn, not with what the
         * program holds: switch it off so RSS measures our memory again */
        if (getenv("HLSD_SANITIZED")) {
            char opts[1024];
            const char *o = getenv("ASAN_OPTIONS");
            snprintf(opts, sizeof(opts),
                     "%s%squarantine_size_mb=0:thread_local_quarantine_size_kb=0", o ? o : "",
                     o && *o ? ":" : "");
            setenv("ASAN_OPTIONS", opts, 1);
        }
        execl(tool, tool, in, out, "--ladder", "180:300k", "--preset", "ultrafast", "--threads",
              "1", (char *)NULL);
        _exit(127);
    }
    int st;
    struct rusage ru;
    cr_assert_eq(wait4(pid, &st, 0, &ru), pid);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0, "hls-convert %s failed", in);
    return ru.ru_maxrss;
}

Test(convert_memory, bounded_whatever_the_length, .timeout = 300)
{
    char short_in[1024], long_in[1024], out[1100];

    make_clip(short_in, sizeof(short_in), 20);
    make_clip(long_in, sizeof(long_in), 200);
    snprintf(out, sizeof(out), "%s/mem-out-s-%ld", tmp(), (long)getpid());
    long a = peak_kib(short_in, out);
    snprintf(out, sizeof(out), "%s/mem-out-l-%ld", tmp(), (long)getpid());
    long b = peak_kib(long_in, out);
    cr_log_info("peak RSS: 20 s input %ld KiB, 200 s input %ld KiB", a, b);
    /* ten times the media, at most a quarter more memory (and 16 MiB) */
    cr_assert_lt(b, a + a / 4 + 16384, "peak RSS grew from %ld KiB to %ld KiB with 10x the input",
                 a, b);
}
