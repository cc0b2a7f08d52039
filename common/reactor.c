/*
 * The process's one event loop; see reactor.h.  Signals are libevent
 * signal events, so no real work runs inside a signal handler.
 */
#include "reactor.h"

#include <errno.h>
#include <stddef.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <event2/event.h>

#include "conn.h"
#include "instance.h"
#include "log.h"

#define MAX_CHILD_WATCHES 4096

struct child_watch {
    struct gale_instance *owner;   /* the current instance in cb */
    pid_t pid;
    reactor_child_cb cb;
    void *arg;
};

static struct event_base *base;
static struct event *sig_events[4];
static struct event *shutdown_timer;
static struct reactor_hooks hooks;
static double shutdown_timeout = 10;
static int stopping;
static struct child_watch *children;
static size_t n_children, cap_children;

struct timeval reactor_timeval(double seconds)
{
    time_t whole = (time_t)seconds;
    return (struct timeval){ whole, (suseconds_t)((seconds - (double)whole) * 1e6) };
}

struct event_base *reactor_base(void) { return base; }
int reactor_stopping(void) { return stopping; }
void reactor_set_hooks(const struct reactor_hooks *h) { hooks = *h; }
void reactor_set_shutdown_timeout(double s) { shutdown_timeout = s; }

const char **reactor_methods(void)
{
    return event_get_supported_methods();
}

static int method_known(const char *method)
{
    for (const char **m = reactor_methods(); *m; m++)
        if (strcmp(*m, method) == 0)
            return 1;
    return 0;
}

static struct event_base *new_base(const char *method, char *err, size_t errlen)
{
    struct event_config *cfg = event_config_new();
    if (!cfg) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (method) {
        if (!method_known(method)) {
            snprintf(err, errlen, "reactor '%s' is not available here (see --help-reactors)",
                     method);
            event_config_free(cfg);
            return NULL;
        }
        for (const char **m = reactor_methods(); *m; m++)
            if (strcmp(*m, method) != 0)
                event_config_avoid_method(cfg, *m);
    }
    struct event_base *b = event_base_new_with_config(cfg);
    event_config_free(cfg);
    if (!b)
        snprintf(err, errlen, "cannot start the %s reactor", method ? method : "default");
    else if (method && strcmp(event_base_get_method(b), method) != 0) {
        snprintf(err, errlen, "reactor '%s' did not start; got %s", method,
                 event_base_get_method(b));
        event_base_free(b);
        b = NULL;
    }
    return b;
}

static void finish_if_idle(void)
{
    if (stopping && conns_open() == 0)
        event_base_loopexit(base, NULL);
}

void reactor_conn_gone(void)
{
    finish_if_idle();
}

static void on_shutdown_timeout(evutil_socket_t fd, short what, void *arg)
{
    (void)fd; (void)what; (void)arg;
    log_info("event=shutdown-timeout open=%u", conns_open());
    conns_abort_all();
    event_base_loopexit(base, NULL);
}

void reactor_shutdown(void)
{
    if (stopping)
        return;
    stopping = 1;
    reactor_notify("STOPPING=1");
    log_info("event=shutdown open=%u timeout=%.1f", conns_open(), shutdown_timeout);
    if (hooks.stop_accepting)
        hooks.stop_accepting();
    listeners_stop_all();
    struct timeval tv = { (time_t)shutdown_timeout,
                          (suseconds_t)((shutdown_timeout - (time_t)shutdown_timeout) * 1e6) };
    shutdown_timer = evtimer_new(base, on_shutdown_timeout, NULL);
    if (shutdown_timer)
        evtimer_add(shutdown_timer, &tv);
    finish_if_idle();
}

static void reap_children(void)
{
    int status;
    pid_t pid;
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        for (size_t i = 0; i < n_children; i++) {
            if (children[i].pid != pid)
                continue;
            struct child_watch w = children[i];
            children[i] = children[--n_children];
            instance_push(w.owner);
            w.cb(pid, status, w.arg);
            instance_pop();
            break;
        }
    }
}

int reactor_watch_child(pid_t pid, reactor_child_cb cb, void *arg)
{
    if (n_children == cap_children) {
        size_t cap = cap_children ? cap_children * 2 : 16;
        if (cap > MAX_CHILD_WATCHES)
            return -1;
        struct child_watch *c = realloc(children, cap * sizeof *c);
        if (!c)
            return -1;
        children = c;
        cap_children = cap;
    }
    children[n_children++] = (struct child_watch){ instance_current(), pid, cb, arg };
    return 0;
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    (void)what; (void)arg;
    switch (sig) {
    case SIGTERM:
    case SIGINT:
        reactor_shutdown();
        break;
    case SIGHUP:
        log_info("event=reload");
        log_reopen();
        if (hooks.reload)
            hooks.reload();
        break;
    case SIGCHLD:
        reap_children();
        break;
    }
}

int reactor_init(const char *method, char *err, size_t errlen)
{
    static const int sigs[] = { SIGTERM, SIGINT, SIGHUP, SIGCHLD };
    signal(SIGPIPE, SIG_IGN);
    signal(SIGXFSZ, SIG_IGN);      /* a file past RLIMIT_FSIZE fails its write (EFBIG) */
    base = new_base(method, err, errlen);
    if (!base)
        return -1;
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) {
        sig_events[i] = evsignal_new(base, sigs[i], on_signal, NULL);
        if (!sig_events[i] || evsignal_add(sig_events[i], NULL) == -1) {
            snprintf(err, errlen, "cannot watch signal %d", sigs[i]);
            return -1;
        }
    }
    return 0;
}

int reactor_run(void)
{
    reactor_notify("READY=1");
    if (event_base_dispatch(base) == -1) {
        log_error("event loop failed");
        return 1;
    }
    return 0;
}

void reactor_free(void)
{
    for (size_t i = 0; i < sizeof sig_events / sizeof sig_events[0]; i++)
        if (sig_events[i])
            event_free(sig_events[i]);
    if (shutdown_timer)
        event_free(shutdown_timer);
    free(children);
    children = NULL;
    n_children = cap_children = 0;
    if (base)
        event_base_free(base);
    base = NULL;
}

/* sd_notify(3) without libsystemd: one datagram to $NOTIFY_SOCKET. */
void reactor_notify(const char *state)
{
    const char *path = getenv("NOTIFY_SOCKET");
    struct sockaddr_un sun = { .sun_family = AF_UNIX };
    if (!path || (path[0] != '/' && path[0] != '@') || strlen(path) >= sizeof sun.sun_path)
        return;
    size_t plen = strlen(path);
    memcpy(sun.sun_path, path, plen);
    if (path[0] == '@')
        sun.sun_path[0] = '\0';   /* abstract namespace */
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd == -1)
        return;
    socklen_t len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + plen);
    if (sendto(fd, state, strlen(state), MSG_NOSIGNAL, (struct sockaddr *)&sun, len) == -1)
        log_debug("notify %s: %s", state, strerror(errno));
    close(fd);
}
