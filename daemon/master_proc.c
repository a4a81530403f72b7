/*
 * master_proc.c - the master's process table: a fixed array of slots, each
 * with a role (ctl, convert, upload, http), a pid, a generation, a state,
 * start time, jobs done and restarts, and its own shared-memory segment.
 *
 * Slots have fixed places (0: ctl, then convert, then upload, then http
 * last, present only with [http] listen), so a pool
 * resize only enables or retires slots. Respawn is throttled: a slot
 * restarts at most once a second; a child that dies before it finished its
 * first job (ctl: any death) suspends its role's respawns for a delay that
 * doubles with each such death (up to 30 s), unless it lived
 * [daemon] respawn_forgive (60 s), which forgives every death before; exit code 2 (configuration)
 * is never respawned until a SIGHUP brings a new configuration. Children are reaped with
 * waitpid(WNOHANG) in a loop, and what a dead child had published is drained
 * and acted on before its segment is thrown away.
 */
#include "daemon/master.h"
#include "daemon/plugin.h"

#include "daemon/ctl.h"
#include "daemon/http.h"
#include "daemon/log.h"
#include "ipc/msclock.h"
#include "ipc/proto.h"
#include "ipc/ring.h"
#include "workers/convworker.h"
#include "workers/storage.h"
#include "workers/upworker.h"
#include "workers/worker.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static uint64_t incarnation;
static struct master_proc_events events;
static long long oom_count(void);
static long long oom_seen = -1; /* the OOM kill count last read (see oom_count) */

static const char *const role_names[ROLE_N] = {"ctl", "convert", "upload", "http"};
static const char *const state_names[SLOT_NSTATES] = {"empty", "starting", "idle",
                                                      "busy",  "stopping", "disabled"};

const char *
master_proc_role_name(enum slot_role r)
{
    return (unsigned)r < ROLE_N ? role_names[r] : "?";
}

const char *
master_proc_state_name(enum slot_state st)
{
    return (unsigned)st < SLOT_NSTATES ? state_names[st] : "?";
}

/* slot_set - the one transition function of a slot's lifecycle */
static void
slot_set(struct slot *s, enum slot_state to)
{
#define B(x) (1u << (x))
    static const unsigned legal[SLOT_NSTATES] = {
        [SLOT_EMPTY] = B(SLOT_STARTING) | B(SLOT_DISABLED),
        [SLOT_STARTING] = B(SLOT_IDLE) | B(SLOT_STOPPING) | B(SLOT_EMPTY) | B(SLOT_DISABLED),
        [SLOT_IDLE] = B(SLOT_BUSY) | B(SLOT_STOPPING) | B(SLOT_EMPTY) | B(SLOT_DISABLED),
        [SLOT_BUSY] = B(SLOT_IDLE) | B(SLOT_STOPPING) | B(SLOT_EMPTY) | B(SLOT_DISABLED),
        [SLOT_STOPPING] = B(SLOT_EMPTY) | B(SLOT_DISABLED),
        [SLOT_DISABLED] = B(SLOT_EMPTY),
    };
#undef B
    if (s->state == to)
        return;
    if (!(legal[s->state] & (1u << to)))
        log_panic("slot %d (%s): illegal transition %s -> %s", s->idx, role_names[s->role],
                  state_names[s->state], state_names[to]);
    s->state = to;
}

static int
role_base(enum slot_role r)
{
    return r == ROLE_CTL       ? 0
           : r == ROLE_CONVERT ? 1
           : r == ROLE_UPLOAD  ? 1 + MASTER_MAX_CONVERT
                               : 1 + MASTER_MAX_CONVERT + MASTER_MAX_UPLOAD;
}

static int
role_max(enum slot_role r)
{
    return r == ROLE_CONVERT ? MASTER_MAX_CONVERT : r == ROLE_UPLOAD ? MASTER_MAX_UPLOAD : 1;
}

static unsigned
role_wanted(enum slot_role r)
{
    if (r == ROLE_HTTP)
        return M.http_fd >= 0 && M.cfg.http.listen[0] ? 1 : 0;
    return r == ROLE_CTL ? 1 : r == ROLE_CONVERT ? M.cfg.convert.workers : M.cfg.upload.workers;
}

void
master_proc_init(const struct master_proc_events *ev)
{
    events = *ev;
    oom_seen = oom_count();
    M.nslots = MASTER_MAX_SLOTS;
    for (int i = 0; i < MASTER_MAX_SLOTS; i++) {
        struct slot *s = &M.slots[i];
        memset(s, 0, sizeof(*s));
        s->idx = i;
        s->role = i == 0                                        ? ROLE_CTL
                  : i <= MASTER_MAX_CONVERT                     ? ROLE_CONVERT
                  : i <= MASTER_MAX_CONVERT + MASTER_MAX_UPLOAD ? ROLE_UPLOAD
                                                                : ROLE_HTTP;
        s->state = SLOT_DISABLED;
        s->pid = -1;
        if (msg_asm_init(&s->in, PROTO_MSG_MAX) < 0)
            log_fatal(EXIT_ENV, "msg_asm_init: %s", strerror(errno));
    }
}

static int
slot_running(const struct slot *s)
{
    return s->state == SLOT_STARTING || s->state == SLOT_IDLE || s->state == SLOT_BUSY ||
           s->state == SLOT_STOPPING;
}

void
master_proc_term(struct slot *s)
{
    if (!slot_running(s) || s->pid <= 0)
        return;
    if (s->state != SLOT_STOPPING)
        slot_set(s, SLOT_STOPPING);
    if (s->term_sent == 0) {
        s->term_sent = msclock_mono();
        kill(s->pid, SIGTERM);
    }
}

void
master_proc_kill(struct slot *s, const char *why)
{
    if (s->pid <= 0 || s->reaped) {
        /* already dead: keep the reason, never signal a pid that was reaped */
        if (s->reason[0] == '\0')
            snprintf(s->reason, sizeof(s->reason), "%s", why);
        return;
    }
    log_warn("%s[%d] pid %ld: %s: killing it", role_names[s->role], s->idx, (long)s->pid, why);
    snprintf(s->reason, sizeof(s->reason), "%s", why);
    kill(s->pid, SIGKILL);
    if (slot_running(s) && s->state != SLOT_STOPPING)
        slot_set(s, SLOT_STOPPING);
    if (s->term_sent == 0)
        s->term_sent = msclock_mono();
}

/*
 * master_proc_resize - make the table match the configuration: enable the
 * wanted slots of each role, retire the others (an idle child is stopped
 * now, a busy one when its lease ends).
 */
void
master_proc_resize(void)
{
    for (int r = 0; r < ROLE_N; r++) {
        int base = role_base((enum slot_role)r);
        int max = role_max((enum slot_role)r);
        for (int i = 0; i < max; i++) {
            struct slot *s = &M.slots[base + i];
            if ((unsigned)i < role_wanted((enum slot_role)r)) {
                s->retire = 0;
                if (s->state == SLOT_DISABLED) {
                    slot_set(s, SLOT_EMPTY);
                    s->next_start = 0;
                    s->fast_deaths = 0;
                }
            } else if (slot_running(s)) {
                s->retire = 1;
                if (s->state == SLOT_IDLE || s->state == SLOT_STARTING)
                    master_proc_term(s);
            } else if (s->state == SLOT_EMPTY) {
                slot_set(s, SLOT_DISABLED);
            }
        }
    }
}

/* child_harden - what a child gives up before it touches a client's bytes:
 * gaining privileges through exec (none of them execs, so nothing is lost),
 * being dumped or traced by its user when it holds a secret (an upload
 * worker the S3 secret, the HTTP process the bearer tokens and TLS key),
 * and making spool files anyone else can read (ctl, http and the
 * conversion write the spool; uploads publish with explicit modes) */
static void
child_harden(enum slot_role role)
{
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        log_warn("prctl(PR_SET_NO_NEW_PRIVS): %s", strerror(errno));
    if ((role == ROLE_UPLOAD || role == ROLE_HTTP) && prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
        log_warn("prctl(PR_SET_DUMPABLE): %s", strerror(errno));
    if (role != ROLE_UPLOAD)
        umask(077);
}

/* child_engine - a worker's engine from its plugin (daemon/plugin.h); one
 * that does not load is a broken installation: exit code 2, which the
 * master does not respawn */
static void *
child_engine(enum plugin_id id, const char *name)
{
    char err[512];
    void *fn = plugin_sym(id, name, err, sizeof(err));
    if (fn == NULL) {
        log_error("loading the engine: %s", err);
        _exit(EXIT_CONFIG);
    }
    return fn;
}

static void
child_main(struct slot *s)
{
    char role[32];
    int code;

    /* only our own segment stays mapped: a child must not reach others' rings */
    for (int i = 0; i < MASTER_MAX_SLOTS; i++)
        if (&M.slots[i] != s && M.slots[i].seg) {
            shmseg_destroy(M.slots[i].seg);
            M.slots[i].seg = NULL;
        }
    if (s->role != ROLE_CTL && M.listen_fd >= 0)
        close(M.listen_fd);
    if (s->role != ROLE_HTTP && M.http_fd >= 0)
        close(M.http_fd);
    snprintf(role, sizeof(role), "%s[%d]", role_names[s->role], s->idx);
    log_set_role(role);
    child_harden(s->role);
    worker_signals();
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    if (getppid() == 1 || shmseg_child_attach(s->seg) < 0)
        _exit(EXIT_ORPHAN);
    switch (s->role) {
    case ROLE_CTL:
        code = ctl_main(&M.cfg, s->seg, M.listen_fd);
        break;
    case ROLE_HTTP: {
        int (*run)(const struct config *, shmseg_t *, int) =
            (int (*)(const struct config *, shmseg_t *, int))child_engine(PLUGIN_HTTP, "http_main");
        code = run(&M.cfg, s->seg, M.http_fd);
        break;
    }
    case ROLE_CONVERT: {
        struct convworker_settings set;
        int (*run)(const struct convworker_settings *, shmseg_t *) =
            (int (*)(const struct convworker_settings *, shmseg_t *))child_engine(
                PLUGIN_CONVERT, "convworker_main");
        config_convworker(&M.cfg, &set);
        code = run(&set, s->seg);
        break;
    }
    default: {
        struct upworker_settings set;
        int (*run)(const struct upworker_settings *, shmseg_t *) =
            (int (*)(const struct upworker_settings *, shmseg_t *))child_engine(PLUGIN_UPLOAD,
                                                                                "upworker_main");
        config_upworker(&M.cfg, &set);
        code = run(&set, s->seg);
        break;
    }
    }
    _exit(code);
}

static int
spawn(struct slot *s)
{
    uint32_t cap = ROLE_IS_FRONT(s->role) ? MASTER_CTL_RING_CAP : MASTER_RING_CAP;

    s->seg = shmseg_create(++incarnation, cap, REC_SIZE);
    if (s->seg == NULL) {
        log_error("shmseg_create for %s[%d]: %s", role_names[s->role], s->idx, strerror(errno));
        s->next_start = msclock_mono() + 1000;
        return -1;
    }
    msg_asm_reset(&s->in);
    pid_t pid = fork();
    if (pid < 0) {
        log_error("fork for %s[%d]: %s", role_names[s->role], s->idx, strerror(errno));
        shmseg_destroy(s->seg);
        s->seg = NULL;
        s->next_start = msclock_mono() + 1000;
        return -1;
    }
    if (pid == 0)
        child_main(s);
    if (s->generation > 0)
        s->restarts++;
    s->generation++;
    s->pid = pid;
    s->started_ms = msclock_mono();
    s->started_wall = msclock_wall();
    s->jobs_done = 0;
    s->term_sent = 0;
    s->reason[0] = '\0';
    M.children_started++;
    slot_set(s, SLOT_STARTING);
    log_debug("started %s[%d] pid %ld generation %u", role_names[s->role], s->idx, (long)pid,
              s->generation);
    return 0;
}

void
master_proc_start_due(void)
{
    int64_t now = msclock_mono();

    for (int i = 0; i < MASTER_MAX_SLOTS; i++) {
        struct slot *s = &M.slots[i];
        if (s->state != SLOT_EMPTY || s->next_start > now)
            continue;
        if (M.role_suspended_until[s->role] > now)
            continue;
        spawn(s);
    }
}

int64_t
master_proc_next_timer(void)
{
    int64_t t = INT64_MAX;

    for (int i = 0; i < MASTER_MAX_SLOTS; i++) {
        const struct slot *s = &M.slots[i];
        if (s->state == SLOT_EMPTY) {
            int64_t due = s->next_start;
            if (M.role_suspended_until[s->role] > due)
                due = M.role_suspended_until[s->role];
            if (due < t)
                t = due;
        }
        /* a child that ignores SIGTERM gets SIGKILL 5 s later */
        if (s->state == SLOT_STOPPING && s->term_sent && s->term_sent + 5000 < t)
            t = s->term_sent + 5000;
    }
    return t;
}

int
master_proc_alive_count(void)
{
    int n = 0;

    for (int i = 0; i < MASTER_MAX_SLOTS; i++)
        if (M.slots[i].pid > 0)
            n++;
    return n;
}

int
master_proc_send(struct slot *s, uint16_t type, uint64_t job, const void *buf, size_t len)
{
    if (s->seg == NULL || s->pid <= 0 || s->reaped)
        return -1;
    /* never block the master on a child: a full inbox means the child is
     * stuck, and a stuck child is killed */
    if (msg_send(shmseg_inbox(s->seg), type, job, buf, len, 200) < 0) {
        master_proc_kill(s, "its inbox stayed full");
        return -1;
    }
    return 0;
}

void
master_proc_lease(struct slot *s, int busy)
{
    if (!busy) {
        s->jobs_done++; /* even if it is stopping meanwhile */
        if (s->state == SLOT_BUSY)
            slot_set(s, SLOT_IDLE);
        return;
    }
    if (s->state == SLOT_IDLE)
        slot_set(s, SLOT_BUSY);
    else if (s->state != SLOT_BUSY)
        log_panic("%s[%d]: lease given in state %s", role_names[s->role], s->idx,
                  state_names[s->state]);
}

void
master_proc_on_hello(struct slot *s)
{
    if (s->state != SLOT_STARTING) {
        master_proc_kill(s, "said hello twice");
        return;
    }
    slot_set(s, SLOT_IDLE);
    /* idle slots get work in the same loop turn (the master's dispatch) */
    if (s->retire)
        master_proc_term(s);
}

/*
 * The kernel's out-of-memory killer sends SIGKILL like anyone else; what
 * tells it apart is the memory cgroup's count of OOM kills ("oom_kill" in
 * memory.events under cgroup v2, in memory.oom_control under v1), which
 * counts the processes of our cgroup killed by any OOM killer (the cgroup's
 * limit or the machine's). Our children are plain forks, in the master's
 * cgroup. A SIGKILL death while that count moved since it was last read is
 * taken as an OOM kill (one per step of the count), and the job's error
 * says so; it counts toward max_attempts as a crash would. Where no count
 * is readable (no memory cgroup, another layout), an OOM kill cannot be
 * told from an operator's kill -9 and counts as a kill from outside
 * (max_kills bounds it all the same). A kill of another process of the
 * same cgroup by the OOM killer at the same moment can be mistaken for
 * ours: the cost is one attempt counted against the job.
 */

/* oom_read - the oom_kill count in file, or -1 */
static long long
oom_read(const char *file)
{
    char line[128];
    long long n = -1;
    FILE *f = fopen(file, "re");

    if (f == NULL)
        return -1;
    while (fgets(line, sizeof(line), f))
        if (sscanf(line, "oom_kill %lld", &n) == 1)
            break;
    fclose(f);
    return n;
}

/* oom_count - the kernel's count of OOM kills in our memory cgroup, or -1 */
static long long
oom_count(void)
{
    char line[600], v2[700] = "", v1[700] = "";
    FILE *f = fopen("/proc/self/cgroup", "re");

    if (f != NULL) {
        while (fgets(line, sizeof(line), f)) {
            line[strcspn(line, "\n")] = '\0';
            char *p = strchr(line, ':');
            char *q = p ? strchr(p + 1, ':') : NULL;
            if (q == NULL)
                continue;
            if (strncmp(line, "0::", 3) == 0)
                snprintf(v2, sizeof(v2), "/sys/fs/cgroup%s/memory.events", q + 1);
            else if (strncmp(p, ":memory:", 8) == 0)
                snprintf(v1, sizeof(v1), "/sys/fs/cgroup/memory%s/memory.oom_control", q + 1);
        }
        fclose(f);
    }
    long long n = v2[0] ? oom_read(v2) : -1;
    if (n < 0 && v1[0])
        n = oom_read(v1);
    if (n < 0) /* a cgroup namespace: our cgroup is the mount's root */
        n = oom_read("/sys/fs/cgroup/memory/memory.oom_control");
    if (n < 0)
        n = oom_read("/sys/fs/cgroup/memory.events");
    return n;
}

/* oom_killed - was a SIGKILL death the OOM killer's? */
static int
oom_killed(void)
{
    long long n = oom_count();

    if (n < 0)
        return 0;
    if (oom_seen >= 0 && n > oom_seen) {
        oom_seen++;
        return 1;
    }
    oom_seen = n;
    return 0;
}

/* records a dead child published before dying still count */
static void
drain_one(void *ud, const void *p)
{
    struct slot *s = ud;
    const struct rec *r = p;
    static const struct rec_rule *rules[ROLE_N] = {proto_rules_ctl, proto_rules_convert,
                                                   proto_rules_upload, proto_rules_ctl};

    if (s->reason[0] && strncmp(s->reason, "protocol", 8) == 0)
        return; /* a child we killed for garbage: nothing it said is trusted */
    if (rec_check(r, rules[s->role]) < 0)
        return;
    int done = msg_asm_feed(&s->in, r);
    if (done <= 0)
        return;
    if (s->in.type == PROTO_HELLO || ROLE_IS_FRONT(s->role))
        return; /* a dead front's request has nobody to answer to */
    events.message(s, s->in.type, s->in.job, s->in.buf, s->in.len);
}

static void
on_exit_status(struct slot *s, int status)
{
    int we_stopped = s->term_sent != 0 && s->reason[0] == '\0';
    int64_t now = msclock_mono();
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    int crashed = WIFSIGNALED(status) && !(we_stopped && WTERMSIG(status) == SIGTERM);
    enum slot_state prev = s->state;

    s->reaped = 1;
    if (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL && s->reason[0] == '\0' && oom_killed())
        snprintf(s->reason, sizeof(s->reason), "killed by the kernel's out-of-memory killer");
    if (s->seg)
        shmseg_drain(s->seg, drain_one, s);
    if (WIFSIGNALED(status))
        log_warn("%s[%d] pid %ld killed by signal %d (%s)", role_names[s->role], s->idx,
                 (long)s->pid, WTERMSIG(status), strsignal(WTERMSIG(status)));
    else if (code != 0 || !we_stopped)
        log_warn("%s[%d] pid %ld exited with code %d", role_names[s->role], s->idx, (long)s->pid,
                 code);
    if (crashed)
        M.children_crashed++;

    events.exited(s, status, we_stopped);

    shmseg_destroy(s->seg);
    s->seg = NULL;
    s->pid = -1;
    s->reaped = 0;
    s->term_sent = 0;
    msg_asm_reset(&s->in);

    if (code == EXIT_CONFIG) {
        log_error("%s[%d] cannot run with this configuration: not restarted until SIGHUP",
                  role_names[s->role], s->idx);
        slot_set(s, SLOT_DISABLED);
        return;
    }
    if (s->retire || M.stopping) {
        slot_set(s, s->retire ? SLOT_DISABLED : SLOT_EMPTY);
        if (s->retire && role_wanted(s->role) > (unsigned)(s->idx - role_base(s->role))) {
            /* retired for a new configuration, still wanted: restart */
            s->retire = 0;
            slot_set(s, SLOT_EMPTY);
        }
        s->next_start = now;
        return;
    }
    slot_set(s, SLOT_EMPTY);
    /* at most one restart a second per slot */
    s->next_start = s->started_ms + 1000 > now ? s->started_ms + 1000 : now;
    /* a child that stayed up respawn_forgive is forgiven its past deaths:
     * crashes minutes apart are not a crash loop (ctl, which never
     * finishes a job, would otherwise back off for ever) */
    int forgiven = now - s->started_ms >= M.cfg.daemon.respawn_forgive_ms;
    if (forgiven)
        s->fast_deaths = 0;
    if ((s->jobs_done == 0 || s->role == ROLE_CTL) && !we_stopped && !forgiven) {
        /* died before finishing a first job: back off the whole role */
        s->fast_deaths++;
        int64_t delay = 1000LL << (s->fast_deaths > 5 ? 5 : s->fast_deaths - 1);
        if (delay > 30000)
            delay = 30000;
        if (prev == SLOT_STARTING || s->fast_deaths > 1) {
            M.role_suspended_until[s->role] = now + delay;
            log_warn("%s children die before finishing a job: respawns suspended for %lld ms",
                     role_names[s->role], (long long)delay);
        }
    } else {
        s->fast_deaths = 0;
    }
}

void
master_proc_reap(void)
{
    int status;
    pid_t pid;

    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        struct slot *s = NULL;
        for (int i = 0; i < MASTER_MAX_SLOTS; i++)
            if (M.slots[i].pid == pid)
                s = &M.slots[i];
        if (s == NULL)
            continue; /* not ours (e.g. a grandchild reparented to us) */
        on_exit_status(s, status);
    }
    /* SIGKILL children that ignored SIGTERM for 5 s */
    int64_t now = msclock_mono();
    for (int i = 0; i < MASTER_MAX_SLOTS; i++) {
        struct slot *s = &M.slots[i];
        if (s->state == SLOT_STOPPING && s->pid > 0 && s->term_sent && now - s->term_sent > 5000 &&
            s->reason[0] == '\0')
            master_proc_kill(s, "did not stop within 5 s of SIGTERM");
    }
}
