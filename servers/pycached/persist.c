/* Snapshot scheduling; see persist.h. */
#include "persist.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <unistd.h>
#include <sys/wait.h>
#include <event2/event.h>

#include "log.h"
#include "reactor.h"
#include "snapshot.h"
#include "store.h"

static const char *snap_path;
static struct event *timer;
static pid_t writer;              /* the child writing now, or 0 */
static int loaded_ok;             /* never overwrite a file we refused */

static void on_writer_exit(pid_t pid, int status, void *arg)
{
    (void)arg;
    if (pid == writer)
        writer = 0;
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        log_debug("event=snapshot path=\"%s\"", snap_path);
    else
        log_error("event=snapshot-failed path=\"%s\" status=%d", snap_path, status);
}

static void write_in_child(void)
{
    char err[512];
    size_t n;
    signal(SIGTERM, SIG_DFL);
    signal(SIGINT, SIG_DFL);
    if (snapshot_write(snap_path, &n, err, sizeof err) == -1) {
        log_error("event=snapshot-failed error=\"%s\"", err);
        _exit(1);
    }
    _exit(0);
}

static void on_interval(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what, (void)arg;
    if (writer)
        return;                   /* the last one is still writing */
    pid_t pid = fork();
    if (pid < 0) {
        log_warn("event=snapshot-failed error=fork");
        return;
    }
    if (pid == 0)
        write_in_child();
    writer = pid;
    if (reactor_watch_child(pid, on_writer_exit, NULL) == -1)
        log_warnx("event=snapshot child=%ld note=\"cannot watch the writer\"", (long)pid);
}

int persist_start(const char *path, double interval, char *err, size_t errlen)
{
    snap_path = path;
    size_t n;
    if (snapshot_load(path, &n, err, errlen) == -1)
        return -1;
    loaded_ok = 1;
    log_info("event=snapshot-loaded path=\"%s\" items=%zu", path, n);
    if (interval > 0) {
        timer = event_new(reactor_base(), -1, EV_PERSIST, on_interval, NULL);
        struct timeval tv = reactor_timeval(interval);
        if (!timer || event_add(timer, &tv) == -1) {
            snprintf(err, errlen, "cannot start the snapshot timer");
            return -1;
        }
    }
    return 0;
}

void persist_final(void)
{
    if (!loaded_ok)
        return;
    if (timer) {
        event_free(timer);
        timer = NULL;
    }
    if (writer) {
        int status;
        while (waitpid(writer, &status, 0) == -1 && errno == EINTR)
            ;
        writer = 0;
    }
    char err[512];
    size_t n;
    if (snapshot_write(snap_path, &n, err, sizeof err) == -1)
        log_error("event=snapshot-failed error=\"%s\"", err);
    else
        log_info("event=snapshot path=\"%s\" items=%zu", snap_path, n);
}
