/*
 * fix.h - the one fixture library every test suite builds on: the run's
 * scratch directory and settings (HLSD_TEST_TMP, HLSD_BINDIR), time and
 * waits on a condition with a deadline (never a blind sleep), a shell and
 * a process runner, test clips made with the ffmpeg CLI, and a Unix-socket
 * client. The suites' own fixtures (tests/fix_daemon.h: the whole daemon;
 * tests/fix_storage.h: storage; tests/fix_ctl.h: ctl with a fake master;
 * tests/convert_fixtures.h: playlists and segments, its name kept for the
 * conversion suites that use it) add only what is
 * theirs on top of it.
 *
 * Test code: a fixture that cannot set itself up aborts, so that the test
 * fails loudly instead of passing.
 */
#ifndef HLSD_TESTS_FIX_H
#define HLSD_TESTS_FIX_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/types.h>

/* fix_tmp - the run's scratch directory (HLSD_TEST_TMP, else /tmp) */
const char *fix_tmp(void);
/* fix_bindir - where the programs under test are (HLSD_BINDIR, else bin) */
const char *fix_bindir(void);
/* fix_srcdir - the source tree (HLSD_SRCDIR, else .) */
const char *fix_srcdir(void);
/* fix_version - the VERSION file's version, the one source of it */
const char *fix_version(void);

int64_t fix_ms(void); /* monotonic milliseconds */
void fix_nap(int ms);
/* fix_wait - poll cond(ud) until it holds (1) or timeout_ms have passed
 * (0); the waits of every suite go through here */
int fix_wait(int (*cond)(void *ud), void *ud, int timeout_ms);

/* fix_mix - a 64-bit mixer (murmur3's finalizer) for test patterns */
uint64_t fix_mix(uint64_t v);

/* fix_unique - a name unique to this test process: "<name>-<pid>-<ns>" */
void fix_unique(char *out, size_t cap, const char *name);
/* fix_tmpdir - a fresh directory of a unique name under fix_tmp() */
void fix_tmpdir(char *out, size_t cap, const char *name);
int fix_exists(const char *path);
/* fix_text - a new file under fix_tmp() holding text; its path (static:
 * valid until the next call) */
const char *fix_text(const char *text);
/* fix_slurp - a whole file, malloc'd and NUL-terminated; NULL if it cannot
 * be read */
char *fix_slurp(const char *path);
/* fix_repeat - n times ch, malloc'd and NUL-terminated */
char *fix_repeat(char ch, size_t n);

/* fix_proc_stat - a process's state letter (R, S, Z, ...) and parent from
 * /proc/PID/stat (either pointer may be NULL); 0, or -1 if there is no
 * such process */
int fix_proc_stat(pid_t pid, char *state, pid_t *ppid);
/* fix_alive - pid exists and is neither a zombie nor dead (a parent or a
 * subreaper may not have reaped it yet) */
int fix_alive(pid_t pid);
/* fix_pidfile - the pid a pidfile holds, or -1 */
pid_t fix_pidfile(const char *path);

/* fix_sh - run a shell command; its exit status (128+signal if killed),
 * its standard output in out when out is not NULL */
int fix_sh(char *out, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int fix_vsh(char *out, size_t cap, const char *fmt, va_list ap);
/* fix_run - run argv (argv[0] a path) with extra environment entries ("K=V",
 * NULL-terminated, may be NULL), stdout and stderr to out_path (NULL:
 * /dev/null), stdin from /dev/null; the exit status (128+signal if
 * killed), and the child's rusage if ru is not NULL */
int fix_run(char *const argv[], char *const env[], const char *out_path, struct rusage *ru);
/* fix_capture - run argv (argv[0] a path) with stdin from in_fd (-1:
 * /dev/null) and `unset` (if not NULL) removed from its environment; its
 * stdout and stderr into out and err (either may be NULL); its exit code,
 * or -1 if it did not exit */
int fix_capture(char *const argv[], int in_fd, const char *unset, char *out, size_t outlen,
                char *err, size_t errlen);

/* fix_ffmpeg - ffmpeg -v error -y ARGS into fix_tmp()/name; the path
 * (malloc'd), or NULL if ffmpeg failed */
char *fix_ffmpeg(const char *name, const char *args);
/* fix_clip - an H.264/AAC clip of `seconds` at WxH, made once per run and
 * shared by the tests (a static path), or NULL */
const char *fix_clip(int seconds, int w, int h);

/* fix_connect - a connected Unix stream socket to path, or -1 */
int fix_connect(const char *path);
/* fix_send_all - all of buf, without SIGPIPE; 0 or -1 */
int fix_send_all(int fd, const void *buf, size_t len);
/* fix_line - the next line from fd (malloc'd, newline stripped), read a
 * byte at a time so that the next line stays in the socket; NULL on EOF
 * or after timeout_ms without a byte */
char *fix_line(int fd, int timeout_ms);

#endif
