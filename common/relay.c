/*
 * The two-way relay; see relay.h.
 *
 * Splice mode (Linux, two plain sockets): each direction owns a pipe,
 * made at its first byte so idle relays cost no descriptors.  Bytes go
 * socket -> pipe -> socket with splice() and never enter user space; the
 * pipe is the bounded buffer: while it is full, the source is not read.
 *
 * Buffer mode (TLS, or no splice): bufferevents as in libevent's
 * le-proxy: when the output of one side passes HIGH_WATER, reading from
 * the other side stops until the output drains below half of it.
 */
#include "relay.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <openssl/ssl.h>

#include "conn.h"
#include "instance.h"
#include "reactor.h"

#define PIPE_BYTES (256 * 1024)   /* bytes in flight per direction */
#define HIGH_WATER (256 * 1024)
#define PUMP_ROUNDS 8             /* per wake-up, so one relay cannot starve others */

struct direction {
    int src, dst;                 /* indexes into relay->fd / relay->bev */
    int pipe_r, pipe_w;
    size_t in_pipe, pipe_cap;
    uint64_t bytes;
    int eof;                      /* the source has closed its writing side */
    int shut;                     /* ... and that EOF has been passed on */
    int paused;                   /* buffer mode: source paused for backpressure */
};

struct relay {
    struct gale_instance *owner;   /* the current instance in cb */
    int splice_mode;
    int fd[2];
    struct bufferevent *bev[2];
    struct event *rd[2], *wr[2];  /* splice mode */
    unsigned char rd_on[2], wr_on[2];
    struct direction dir[2];      /* dir[0]: a -> b, dir[1]: b -> a */
    relay_done_cb cb;
    void *arg;
    const char *error;
    int finished;
    struct event *idle;           /* idle timeout, when set */
    struct timeval idle_after, last_active;
};

/* Cheap: the loop's cached clock, no system call. */
static void mark_active(struct relay *r)
{
    if (r->idle)
        event_base_gettimeofday_cached(reactor_base(), &r->last_active);
}

static void relay_finish(struct relay *r, const char *error)
{
    if (r->finished)
        return;
    r->finished = 1;
    if (error && !r->error)
        r->error = error;
    struct relay_stats st = { r->dir[0].bytes, r->dir[1].bytes, r->error };
    if (r->idle)
        event_free(r->idle);
    for (int i = 0; i < 2; i++) {
        if (r->rd[i]) event_free(r->rd[i]);
        if (r->wr[i]) event_free(r->wr[i]);
        if (r->bev[i]) bufferevent_free(r->bev[i]);
        if (r->fd[i] >= 0) close(r->fd[i]);
        if (r->dir[i].pipe_r >= 0) close(r->dir[i].pipe_r);
        if (r->dir[i].pipe_w >= 0) close(r->dir[i].pipe_w);
    }
    relay_done_cb cb = r->cb;
    void *arg = r->arg;
    struct gale_instance *owner = r->owner;
    free(r);
    if (cb) {
        instance_push(owner);
        cb(&st, arg);
        instance_pop();
    }
}

void relay_abort(struct relay *r)
{
    relay_finish(r, "aborted");
}

/* Fires at the earliest moment the relay could be idle long enough;
 * activity since then moves the deadline instead of resetting a timer
 * on every transfer. */
static void on_idle_check(evutil_socket_t fd, short what, void *arg)
{
    struct relay *r = arg;
    struct timeval now, deadline, left;
    (void)fd; (void)what;
    event_base_gettimeofday_cached(reactor_base(), &now);
    timeradd(&r->last_active, &r->idle_after, &deadline);
    if (!timercmp(&now, &deadline, <)) {
        relay_finish(r, "idle timeout");
        return;
    }
    timersub(&deadline, &now, &left);
    evtimer_add(r->idle, &left);
}

void relay_set_idle_timeout(struct relay *r, double seconds)
{
    if (seconds <= 0) {
        if (r->idle)
            evtimer_del(r->idle);
        return;
    }
    if (!r->idle && !(r->idle = evtimer_new(reactor_base(), on_idle_check, r)))
        return;
    r->idle_after.tv_sec = (time_t)seconds;
    r->idle_after.tv_usec = (suseconds_t)((seconds - (double)(time_t)seconds) * 1e6);
    mark_active(r);
    evtimer_add(r->idle, &r->idle_after);
}

static int both_shut(const struct relay *r)
{
    return r->dir[0].shut && r->dir[1].shut;
}

/* ---- splice mode ---------------------------------------------------- */

#ifdef __linux__
static void toggle(struct event *ev, unsigned char *on, int want)
{
    if (want == *on)
        return;
    if (want)
        event_add(ev, NULL);
    else
        event_del(ev);
    *on = (unsigned char)want;
}

static int open_pipe(struct direction *d)
{
    int p[2];
    if (pipe2(p, O_NONBLOCK | O_CLOEXEC) == -1)
        return -1;
    d->pipe_r = p[0];
    d->pipe_w = p[1];
    int got = fcntl(p[1], F_SETPIPE_SZ, PIPE_BYTES);
    d->pipe_cap = got > 0 ? (size_t)got : 65536;
    return 0;
}

/* Moves what it can; returns -1 with r->error set on a hard failure,
 * and sets *out_blocked when the destination is full. */
static int splice_step(struct relay *r, struct direction *d, int *out_blocked, int *in_blocked)
{
    int progress = 0;
    if (!d->eof && (d->pipe_r < 0 || d->in_pipe < d->pipe_cap)) {
        if (d->pipe_r < 0 && open_pipe(d) == -1) {
            r->error = strerror(errno);
            return -1;
        }
        ssize_t n = splice(r->fd[d->src], NULL, d->pipe_w, NULL, d->pipe_cap - d->in_pipe,
                           SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
        if (n > 0) {
            d->in_pipe += (size_t)n;
            progress = 1;
            mark_active(r);
        } else if (n == 0) {
            d->eof = 1;
            progress = 1;
        } else if (errno == EAGAIN) {
            *in_blocked = 1;
        } else if (errno != EINTR) {
            r->error = strerror(errno);
            return -1;
        }
    }
    if (d->in_pipe > 0) {
        ssize_t n = splice(d->pipe_r, NULL, r->fd[d->dst], NULL, d->in_pipe,
                           SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
        if (n > 0) {
            d->in_pipe -= (size_t)n;
            d->bytes += (uint64_t)n;
            progress = 1;
        } else if (n == -1 && errno == EAGAIN) {
            *out_blocked = 1;
        } else if (n == -1 && errno != EINTR) {
            r->error = strerror(errno);
            return -1;
        }
    }
    return progress;
}

static void splice_pump(struct relay *r, struct direction *d)
{
    int out_blocked = 0, in_blocked = 0;
    for (int i = 0; i < PUMP_ROUNDS; i++) {
        out_blocked = in_blocked = 0;
        int p = splice_step(r, d, &out_blocked, &in_blocked);
        if (p == -1) {
            relay_finish(r, NULL);
            return;
        }
        if (!p || out_blocked)
            break;
    }
    if (d->eof && d->in_pipe == 0 && !d->shut) {
        shutdown(r->fd[d->dst], SHUT_WR);
        d->shut = 1;
        if (both_shut(r)) {
            relay_finish(r, NULL);
            return;
        }
    }
    /* A pipe can refuse more while holding less than its size (it counts
     * buffers, not bytes): with bytes waiting, let the output side lead. */
    int pipe_full = d->pipe_r >= 0 &&
                    (d->in_pipe >= d->pipe_cap || (in_blocked && d->in_pipe > 0));
    toggle(r->rd[d->src], &r->rd_on[d->src], !d->eof && !pipe_full);
    toggle(r->wr[d->dst], &r->wr_on[d->dst], d->in_pipe > 0);
}

static void on_splice_readable(evutil_socket_t fd, short what, void *arg)
{
    struct relay *r = arg;
    (void)what;
    int i = fd == r->fd[0] ? 0 : 1;
    splice_pump(r, &r->dir[i]);
}

static void on_splice_writable(evutil_socket_t fd, short what, void *arg)
{
    struct relay *r = arg;
    (void)what;
    int i = fd == r->fd[0] ? 0 : 1;
    splice_pump(r, &r->dir[1 - i]);   /* the direction that writes to fd */
}

static int splice_start(struct relay *r)
{
    struct event_base *base = reactor_base();
    for (int i = 0; i < 2; i++) {
        r->rd[i] = event_new(base, r->fd[i], EV_READ | EV_PERSIST, on_splice_readable, r);
        r->wr[i] = event_new(base, r->fd[i], EV_WRITE | EV_PERSIST, on_splice_writable, r);
        if (!r->rd[i] || !r->wr[i])
            return -1;
    }
    for (int i = 0; i < 2; i++)
        toggle(r->rd[i], &r->rd_on[i], 1);
    return 0;
}
#endif

/* ---- buffer mode ---------------------------------------------------- */

static void shut_bev(struct bufferevent *bev)
{
    SSL *ssl = bufferevent_openssl_get_ssl(bev);
    if (ssl)
        SSL_shutdown(ssl);   /* close_notify: TLS's own half-close */
    shutdown(bufferevent_getfd(bev), SHUT_WR);
}

static void buf_check_done(struct relay *r, struct direction *d)
{
    struct evbuffer *out = bufferevent_get_output(r->bev[d->dst]);
    if (d->eof && !d->shut && evbuffer_get_length(out) == 0) {
        shut_bev(r->bev[d->dst]);
        d->shut = 1;
    }
    if (both_shut(r))
        relay_finish(r, NULL);
}

static void buf_move(struct relay *r, struct direction *d)
{
    struct evbuffer *in = bufferevent_get_input(r->bev[d->src]);
    struct evbuffer *out = bufferevent_get_output(r->bev[d->dst]);
    d->bytes += evbuffer_get_length(in);
    evbuffer_add_buffer(out, in);
    mark_active(r);
    if (evbuffer_get_length(out) >= HIGH_WATER && !d->paused) {
        d->paused = 1;
        bufferevent_disable(r->bev[d->src], EV_READ);
        bufferevent_setwatermark(r->bev[d->dst], EV_WRITE, HIGH_WATER / 2, 0);
    }
}

static void on_buf_read(struct bufferevent *bev, void *arg)
{
    struct relay *r = arg;
    buf_move(r, &r->dir[bev == r->bev[0] ? 0 : 1]);
}

static void on_buf_write(struct bufferevent *bev, void *arg)
{
    struct relay *r = arg;
    struct direction *d = &r->dir[bev == r->bev[0] ? 1 : 0];   /* writes into bev */
    mark_active(r);
    if (d->paused) {
        d->paused = 0;
        bufferevent_setwatermark(bev, EV_WRITE, 0, 0);
        if (!d->eof)
            bufferevent_enable(r->bev[d->src], EV_READ);
    }
    buf_check_done(r, d);
}

static void on_buf_event(struct bufferevent *bev, short what, void *arg)
{
    struct relay *r = arg;
    struct direction *d = &r->dir[bev == r->bev[0] ? 0 : 1];   /* reads from bev */
    if (what & BEV_EVENT_ERROR) {
        int e = EVUTIL_SOCKET_ERROR();
        relay_finish(r, e ? strerror(e) : "TLS error");
        return;
    }
    if (what & BEV_EVENT_EOF) {
        buf_move(r, d);
        d->eof = 1;
        bufferevent_disable(bev, EV_READ);
        buf_check_done(r, d);
    }
}

static int buffer_start(struct relay *r)
{
    for (int i = 0; i < 2; i++) {
        if (!r->bev[i]) {
            r->bev[i] = bufferevent_socket_new(reactor_base(), r->fd[i], BEV_OPT_CLOSE_ON_FREE);
            if (!r->bev[i])
                return -1;
            conn_tune_bufferevent(r->bev[i]);
            r->fd[i] = -1;
        }
    }
    for (int i = 0; i < 2; i++) {
        bufferevent_setcb(r->bev[i], on_buf_read, on_buf_write, on_buf_event, r);
        bufferevent_enable(r->bev[i], EV_READ | EV_WRITE);
    }
    return 0;
}

struct relay *relay_start(struct relay_end a, struct relay_end b, relay_done_cb cb, void *arg)
{
    struct relay *r = calloc(1, sizeof *r);
    if (!r) {
        if (a.bev) bufferevent_free(a.bev); else close(a.fd);
        if (b.bev) bufferevent_free(b.bev); else close(b.fd);
        return NULL;
    }
    r->fd[0] = a.bev ? -1 : a.fd;
    r->fd[1] = b.bev ? -1 : b.fd;
    r->bev[0] = a.bev;
    r->bev[1] = b.bev;
    r->cb = cb;
    r->owner = instance_current();
    r->arg = arg;
    for (int i = 0; i < 2; i++) {
        r->dir[i].src = i;
        r->dir[i].dst = 1 - i;
        r->dir[i].pipe_r = r->dir[i].pipe_w = -1;
    }
    int ok;
#ifdef __linux__
    r->splice_mode = !a.bev && !b.bev;
    ok = r->splice_mode ? splice_start(r) : buffer_start(r);
#else
    ok = buffer_start(r);
#endif
    if (ok == -1) {
        r->cb = NULL;
        relay_finish(r, "out of memory");   /* frees everything */
        return NULL;
    }
    return r;
}
