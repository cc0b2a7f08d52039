/* Snapshot scheduling; see persist.h. */
#include "persist.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/wait.h>
#include <event2/event.h>

#include "instance.h"
#include "log.h"
#include "reactor.h"
#include "snapshot.h"
#include "store.h"

/* What the reactor's watch of one writer points to.  It is the watch's
 * own allocation, freed when the writer is reaped, so that the instance
 * may go first: it then clears owner and the callback touches nothing. */
struct persist_watch {
    struct persist *owner;        /* NULL once the instance has gone */
};

static void on_writer_exit(pid_t pid, int status, void *arg)
{
    struct persist_watch *w = arg;
    struct persist *p = w->owner;
    free(w);
    if (!p)
        return;                   /* stopped by persist_final, which said so */
    if (pid == p->writer)
        p->writer = 0;
    p->watch = NULL;
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        log_debug("event=snapshot path=\"%s\"", p->path);
    else
        log_error("event=snapshot-failed path=\"%s\" status=%d", p->path, status);
}

static void write_in_child(const struct persist *p)
{
    char err[512];
    size_t n;
    signal(SIGTERM, SIG_DFL);
    signal(SIGINT, SIG_DFL);
    if (snapshot_write(p->store, p->path, &n, err, sizeof err) == -1) {
        log_error("event=snapshot-failed error=\"%s\"", err);
        _exit(1);
    }
    _exit(0);
}

/*
 * Kills the writer and waits until it is dead, without reaping it: the
 * reactor reaps every child, and a pid reaped here would stay in its
 * watch list, where another child given the same pid later would be
 * mistaken for it.  Once it is dead its temporary file can go, and no
 * rename of an older snapshot can land after one made later.
 */
static void kill_writer(struct persist *p)
{
    char tmp[PATH_MAX];
    siginfo_t info;
    kill(p->writer, SIGKILL);
    while (waitid(P_PID, (id_t)p->writer, &info, WEXITED | WNOWAIT) == -1 && errno == EINTR)
        ;
    if (snapshot_tmp_path(p->path, (long)p->writer, tmp, sizeof tmp) == 0)
        unlink(tmp);
    log_debug("event=snapshot-cancelled child=%ld", (long)p->writer);
    p->writer = 0;
}

static void start_writer(struct persist *p)
{
    if (p->writer)
        return;                   /* the last one is still writing */
    struct persist_watch *w = malloc(sizeof *w);
    if (!w) {
        log_warnx("event=snapshot-failed error=\"out of memory\"");
        return;
    }
    pid_t pid = fork();
    if (pid < 0) {
        free(w);
        log_warn("event=snapshot-failed error=fork");
        return;
    }
    if (pid == 0)
        write_in_child(p);
    p->writer = pid;
    w->owner = p;
    if (reactor_watch_child(pid, on_writer_exit, w) == -1) {
        /* Unwatched, its end would never be known: give this interval up. */
        free(w);
        log_warnx("event=snapshot child=%ld note=\"cannot watch the writer\"", (long)pid);
        kill_writer(p);
        return;
    }
    p->watch = w;
}

static void on_interval(evutil_socket_t fd, short what, void *arg)
{
    struct persist *p = arg;
    (void)fd, (void)what;
    instance_push(p->owner);
    start_writer(p);
    instance_pop();
}

int persist_start(struct persist *p, struct store *st, const char *path, double interval,
                  char *err, size_t errlen)
{
    size_t n;
    p->store = st;
    p->path = path;
    p->owner = instance_current();
    if (snapshot_load(st, path, &n, err, errlen) == -1)
        return -1;
    p->loaded_ok = 1;
    log_info("event=snapshot-loaded path=\"%s\" items=%zu", path, n);
    if (interval > 0) {
        p->timer = event_new(reactor_base(), -1, EV_PERSIST, on_interval, p);
        struct timeval tv = reactor_timeval(interval);
        if (!p->timer || event_add(p->timer, &tv) == -1) {
            snprintf(err, errlen, "cannot start the snapshot timer");
            return -1;
        }
    }
    return 0;
}

/* The process goes on serving other instances (a line removed from a
 * `gale run` file): the last write is a child's, so that they do not wait
 * for it.  The child logs its own failure; nothing here outlives us. */
static int final_in_child(struct persist *p)
{
    struct persist_watch *w = malloc(sizeof *w);
    if (!w)
        return -1;
    pid_t pid = fork();
    if (pid < 0) {
        free(w);
        return -1;
    }
    if (pid == 0)
        write_in_child(p);
    w->owner = NULL;
    if (reactor_watch_child(pid, on_writer_exit, w) == -1)
        free(w);                  /* reaped all the same, unwatched */
    log_info("event=snapshot path=\"%s\" child=%ld final=1", p->path, (long)pid);
    return 0;
}

/* A writer still running covers an earlier moment than the write that
 * follows, so it is killed rather than waited for; its watch is detached
 * and freed by the reactor once it reaps the child.  At the process's
 * end the last write is made here, before exit. */
void persist_final(struct persist *p)
{
    if (p->timer) {
        event_free(p->timer);
        p->timer = NULL;
    }
    if (p->writer) {
        if (p->watch)
            p->watch->owner = NULL;
        p->watch = NULL;
        kill_writer(p);
    }
    if (!p->loaded_ok)
        return;
    p->loaded_ok = 0;
    if (reactor_base() && !reactor_stopping() && final_in_child(p) == 0)
        return;
    char err[512];
    size_t n;
    if (snapshot_write(p->store, p->path, &n, err, sizeof err) == -1)
        log_error("event=snapshot-failed error=\"%s\"", err);
    else
        log_info("event=snapshot path=\"%s\" items=%zu", p->path, n);
}
