/*
 * Running servers.  The order matters: names are looked up and the
 * process detaches first; then logs and the pidfile are opened and
 * sockets bound (with the privileges we started with); then chroot and
 * the privilege drop; only then is the server reported ready.
 */
#include "run.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include "conn.h"
#include "daemon.h"
#include "instances.h"
#include "log.h"
#include "reactor.h"
#include "resolver.h"
#include "udp.h"
#include "worker.h"

#define EXIT_USAGE 2

static struct run_instance **active;  /* the instances serving now */
static void (*reload_hook)(void);      /* gale run's; else each instance reloads */
static const char *prog;               /* "gale web", "gale run" in messages */
static int log_to_stream;      /* errors go to stderr only, not twice */

static _Noreturn void startup_fail(int status, const char *msg)
{
    fprintf(stderr, "%s: %s\n", prog, msg);
    if (!log_to_stream)
        log_error("event=start-failed error=\"%s\"", msg);
    while (*active) {
        struct run_instance *ri = *active;
        *active = ri->next;
        instance_free(ri);
    }
    listeners_close_all();
    pidfile_release();
    exit(status);
}

static void on_reload(void)
{
    if (reload_hook)
        reload_hook();
    else
        instances_each(*active, instance_reload);
}

static void on_stop_accepting(void)
{
    instances_each(*active, instance_stop);
}
/* Busy servers hold many sockets: use all the descriptors we may. */
static void raise_fd_limit(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

static int reactor_name_ok(const char *name)
{
    for (const char **m = reactor_methods(); *m; m++)
        if (strcmp(*m, name) == 0)
            return 1;
    return 0;
}

static void setup_logging(const struct global_cfg *g, const char *name)
{
    char err[512];
    log_set_name(name);
    log_threshold = LOG_LVL_INFO + g->verbose - g->quiet;
    log_set_format(strcmp(g->log_format, "json") == 0 ? LOG_FMT_JSON : LOG_FMT_TEXT);
    if (g->syslog || (g->daemon && strcmp(g->logfile, "-") == 0)) {
        log_open_syslog(g->prefix);   /* a detached server has no stderr */
    } else if (strcmp(g->logfile, "-") != 0) {
        if (log_open_file(g->logfile, err, sizeof err) == -1)
            startup_fail(1, err);
    } else {
        log_to_stream = !g->daemon;
    }
    log_route_libevent();
}

static void check_before_start(const struct global_cfg *g)
{
    char err[512];
    if (g->reactor && !reactor_name_ok(g->reactor)) {
        fprintf(stderr, "%s: reactor '%s' is not available here; see 'gale "
                "--help-reactors'\n", prog, g->reactor);
        exit(EXIT_USAGE);
    }
    if (privileges_prepare(g->uid, g->gid, err, sizeof err) == -1) {
        fprintf(stderr, "%s: %s; see 'gale --help'\n", prog, err);
        exit(EXIT_USAGE);
    }
}

static void start_core(const struct global_cfg *g)
{
    char err[512];
    struct reactor_hooks hooks = { on_reload, on_stop_accepting };
    if (g->pidfile && pidfile_take(g->pidfile, err, sizeof err) == -1)
        startup_fail(1, err);
    if (reactor_init(g->reactor, err, sizeof err) == -1)
        startup_fail(1, err);
    if (resolver_init(err, sizeof err) == -1)
        startup_fail(1, err);
    reactor_set_hooks(&hooks);
    reactor_set_shutdown_timeout(g->shutdown_timeout);
    listener_set_max((int)g->max_connections);
}

static void confine(const struct global_cfg *g)
{
    char err[512];
    if (g->chroot && (chroot(g->chroot) == -1 || chdir("/") == -1)) {
        snprintf(err, sizeof err, "cannot chroot to %s: %s", g->chroot, strerror(errno));
        startup_fail(1, err);
    }
    if (privileges_drop(err, sizeof err) == -1)
        startup_fail(1, err);
}

/* Every instance starts, or none stays: the first that fails stops the
 * ones before it. */
static void start_all(const char *file)
{
    char err[512], msg[1024];
    for (struct run_instance *ri = *active; ri; ri = ri->next) {
        if (instance_start(ri, err, sizeof err) == 0)
            continue;
        if (file)
            snprintf(msg, sizeof msg, "%s:%u: %s", file, ri->lineno, err);
        else
            snprintf(msg, sizeof msg, "%s", err);
        startup_fail(1, msg);
    }
}

int run_instances(struct run_instance **list, const struct global_cfg *g, const char *file,
                  void (*reload)(void))
{
    char err[512];
    active = list;
    reload_hook = reload;
    prog = file ? "gale run" : prog;
    check_before_start(g);
    if (g->umask >= 0)
        umask((mode_t)g->umask);
    if (g->daemon && daemon_detach(err, sizeof err) == -1)
        startup_fail(1, err);
    raise_fd_limit();
    setup_logging(g, file ? "gale" : (*list)->s->name);
    start_core(g);
    start_all(file);
    confine(g);
    daemon_ready();
    int status = reactor_run();
    log_info("event=exit status=%d", status);
    listeners_close_all();
    udp_close_all();
    /* The servers' own events and files go while the loop and the log
     * they belong to still exist. */
    instances_free_retiring();
    while (*list) {
        struct run_instance *ri = *list;
        *list = ri->next;
        instance_free(ri);
    }
    worker_shutdown();
    resolver_free();
    reactor_free();
    pidfile_release();
    log_close();
    return status;
}

int run_server(const struct gale_server *s, void *cfg, const struct global_cfg *g,
               const char *name)
{
    static char label[128];
    snprintf(label, sizeof label, "gale %s", s->name);
    prog = label;
    struct run_instance *one = instances_new(s, cfg, name);
    if (!one) {
        fprintf(stderr, "%s: out of memory\n", prog);
        return 1;
    }
    return run_instances(&one, g, NULL, NULL);
}
