/*
 * Running one server.  The order matters: names are looked up and the
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
#include "log.h"
#include "reactor.h"
#include "resolver.h"
#include "udp.h"
#include "worker.h"

#define EXIT_USAGE 2

static const struct gale_server *server;
static void *server_cfg;
static int log_to_stream;      /* errors go to stderr only, not twice */

static _Noreturn void startup_fail(int status, const char *msg)
{
    fprintf(stderr, "gale %s: %s\n", server->name, msg);
    if (!log_to_stream)
        log_error("event=start-failed error=\"%s\"", msg);
    listeners_close_all();
    pidfile_release();
    exit(status);
}

static void on_reload(void)
{
    if (server->reload)
        server->reload(server_cfg);
}

static void on_stop_accepting(void)
{
    if (server->stop)
        server->stop(server_cfg);
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

static void setup_logging(const struct global_cfg *g)
{
    char err[512];
    log_set_name(server->name);
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
        fprintf(stderr, "gale %s: reactor '%s' is not available here; see 'gale "
                "--help-reactors'\n", server->name, g->reactor);
        exit(EXIT_USAGE);
    }
    if (privileges_prepare(g->uid, g->gid, err, sizeof err) == -1) {
        fprintf(stderr, "gale %s: %s; see 'gale --help'\n", server->name, err);
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

int run_server(const struct gale_server *s, void *cfg, const struct global_cfg *g)
{
    char err[512];
    server = s;
    server_cfg = cfg;
    check_before_start(g);
    if (g->umask >= 0)
        umask((mode_t)g->umask);
    if (g->daemon && daemon_detach(err, sizeof err) == -1)
        startup_fail(1, err);
    raise_fd_limit();
    setup_logging(g);
    start_core(g);
    if (s->start(cfg, err, sizeof err) == -1)
        startup_fail(1, err);
    confine(g);
    daemon_ready();
    int status = reactor_run();
    log_info("event=exit status=%d", status);
    listeners_close_all();
    udp_close_all();
    /* The server's own events and files go while the loop and the log
     * they belong to still exist. */
    if (s->cleanup)
        s->cleanup(cfg);
    worker_shutdown();
    resolver_free();
    reactor_free();
    pidfile_release();
    log_close();
    opt_free(s->opts, cfg);
    free(cfg);
    return status;
}
