/*
 * Buffered line files; see linefile.h.  At most one write is in flight on
 * the helper thread: the lines gathered meanwhile wait in the next buffer.
 */
#include "linefile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <event2/event.h>

#include "log.h"
#include "reactor.h"
#include "worker.h"

#define FLUSH_AT (64 * 1024)
#define HOLD_MAX (4 * 1024 * 1024)

struct chunk {
    char *data;
    size_t len, cap;
};

struct linefile {
    char *path;
    int fd;
    struct chunk gather;             /* lines not yet handed over */
    struct chunk writing;            /* with the helper thread */
    int busy;                        /* a write is in flight */
    int write_error;                 /* errno of the last failed write */
    int closing;
    unsigned long dropped;
    struct event *timer;
};

static int open_path(const char *path, char *err, size_t errlen)
{
    int fd = strcmp(path, "-") == 0
        ? dup(STDOUT_FILENO)
        : open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd == -1)
        snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
    return fd;
}

/* On the helper thread. */
static void write_chunk(void *arg)
{
    struct linefile *lf = arg;
    size_t off = 0;
    lf->write_error = 0;
    while (off < lf->writing.len) {
        ssize_t n = write(lf->fd, lf->writing.data + off, lf->writing.len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            lf->write_error = n < 0 ? errno : EIO;
            break;
        }
        off += (size_t)n;
    }
}

static void start_write(struct linefile *lf);

static void write_done(void *arg)
{
    struct linefile *lf = arg;
    lf->busy = 0;
    lf->writing.len = 0;
    if (lf->write_error)
        log_error("event=write-failed path=\"%s\" error=\"%s\"", lf->path,
                  strerror(lf->write_error));
    if (lf->gather.len >= FLUSH_AT)
        start_write(lf);
}

/* Hands the gathered lines to the helper thread (or writes them here
 * when it cannot be had, better than losing them). */
static void start_write(struct linefile *lf)
{
    if (lf->busy || lf->gather.len == 0)
        return;
    struct chunk c = lf->writing;
    lf->writing = lf->gather;
    lf->gather = c;
    lf->gather.len = 0;
    lf->busy = 1;
    if (worker_submit(write_chunk, write_done, lf) == -1) {
        write_chunk(lf);
        write_done(lf);
    }
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    struct linefile *lf = arg;
    if (lf->dropped) {
        log_error("event=lines-dropped path=\"%s\" count=%lu note=\"the disk fell behind\"",
                  lf->path, lf->dropped);
        lf->dropped = 0;
    }
    start_write(lf);
}

struct linefile *linefile_open(const char *path, char *err, size_t errlen)
{
    struct linefile *lf = calloc(1, sizeof *lf);
    if (!lf || !(lf->path = strdup(path))) {
        free(lf);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    lf->fd = open_path(path, err, errlen);
    lf->timer = event_new(reactor_base(), -1, EV_PERSIST, on_timer, lf);
    struct timeval second = { 1, 0 };
    if (lf->fd == -1 || !lf->timer || event_add(lf->timer, &second) == -1) {
        if (lf->fd != -1) {
            close(lf->fd);
            snprintf(err, errlen, "out of memory");
        }
        if (lf->timer)
            event_free(lf->timer);
        free(lf->path);
        free(lf);
        return NULL;
    }
    return lf;
}

static int grow(struct chunk *c, size_t need)
{
    if (c->len + need <= c->cap)
        return 0;
    size_t cap = c->cap ? c->cap : FLUSH_AT;
    while (cap < c->len + need)
        cap *= 2;
    char *p = realloc(c->data, cap);
    if (!p)
        return -1;
    c->data = p;
    c->cap = cap;
    return 0;
}

void linefile_write(struct linefile *lf, const char *line, size_t len)
{
    int newline = len == 0 || line[len - 1] != '\n';
    if (lf->gather.len + len + 1 > HOLD_MAX || grow(&lf->gather, len + 1) == -1) {
        lf->dropped++;
        return;
    }
    memcpy(lf->gather.data + lf->gather.len, line, len);
    lf->gather.len += len;
    if (newline)
        lf->gather.data[lf->gather.len++] = '\n';
    if (lf->gather.len >= FLUSH_AT)
        start_write(lf);
}

/* Waits for the write in flight: the helper thread must not be writing
 * to the descriptor being replaced or closed. */
static void settle(struct linefile *lf)
{
    if (lf->busy)
        worker_shutdown();           /* runs write_done; the thread restarts on next use */
}

void linefile_reopen(struct linefile *lf)
{
    char err[512];
    if (!lf || strcmp(lf->path, "-") == 0)
        return;
    settle(lf);
    if (lf->gather.len) {            /* lines logged before the rotation go to the old file */
        start_write(lf);
        settle(lf);
    }
    int fd = open_path(lf->path, err, sizeof err);
    if (fd == -1) {
        log_error("%s", err);
        return;
    }
    close(lf->fd);
    lf->fd = fd;
}

void linefile_close(struct linefile *lf)
{
    if (!lf)
        return;
    settle(lf);
    if (lf->gather.len) {
        start_write(lf);
        settle(lf);
    }
    event_free(lf->timer);
    close(lf->fd);
    free(lf->gather.data);
    free(lf->writing.data);
    free(lf->path);
    free(lf);
}
