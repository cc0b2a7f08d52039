/*
 * Sessions, their bytes; see gale_session.h.
 *
 * A plain socket is watched with an event of its own: one read() per
 * wake-up into an input buffer made on the first byte, and replies
 * gathered while a callback runs, then written with one writev()
 * (sendfile for file segments) when it returns; bytes a caller gathered
 * itself go at once in one write().  The write event is made and armed
 * only while output waits, and a connection waiting for its next request
 * holds no buffer.  A TLS connection goes through a bufferevent, which
 * does the handshake and the records.
 */
#include "gale_session.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "conn.h"
#include "gale_session_int.h"
#include "instance.h"
#include "log.h"
#include "reactor.h"

/* --- reading --------------------------------------------------------- */

int gs_wants_input(const struct gale_session *s)
{
    if (s->phase == PH_LINGERING)
        return 1;
    return s->phase == PH_OPEN && !s->paused && !s->peer_eof &&
           (s->in_limit == 0 || session_input_length(s) < s->in_limit);
}

void gs_update_reading(struct gale_session *s)
{
    if (s->phase == PH_DETACHED)
        return;                        /* the socket is someone else's */
    gs_sync_event(s);
    if (!s->bev)
        return;
    if (gs_wants_input(s))
        bufferevent_enable(s->bev, EV_READ);
    else
        bufferevent_disable(s->bev, EV_READ);
}

/* After the last reply, so that what the client still sends does not make
 * the kernel reset the connection before the reply is read. */
void gs_discard(struct gale_session *s)
{
    char buf[4096];
    if (s->bev) {
        struct evbuffer *in = bufferevent_get_input(s->bev);
        s->discarded += evbuffer_get_length(in);
        evbuffer_drain(in, evbuffer_get_length(in));
    } else {
        ssize_t n;
        while ((n = recv(s->fd, buf, sizeof buf, MSG_DONTWAIT)) > 0)
            s->discarded += (size_t)n;
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
            gs_close_now(s, "finished");
            return;
        }
    }
    if (s->discarded > LINGER_MAX)
        gs_close_now(s, "finished");
}

void gs_peer_closed(struct gale_session *s)
{
    s->peer_eof = 1;
    if (s->phase == PH_LINGERING)
        gs_close_now(s, "finished");
    else if (s->phase == PH_OPEN && s->svc->proto->on_eof)
        s->svc->proto->on_eof(s);
    else if (s->phase == PH_OPEN)
        session_finish(s, 0);
}

static size_t read_room(const struct gale_session *s)
{
    size_t have = session_input_length(s);
    if (s->in_limit == 0)
        return READ_MAX;
    if (have >= s->in_limit)
        return 0;
    return s->in_limit - have < READ_MAX ? s->in_limit - have : READ_MAX;
}

void gs_on_readable(evutil_socket_t fd, struct gale_session *s)
{
    size_t room = read_room(s);
    gs_enter(s);
    if (s->phase == PH_LINGERING) {
        gs_discard(s);
    } else if (room > 0 && (s->in || (s->in = evbuffer_new()))) {
        int n = conn_read(fd, s->in, room);
        if (n > 0) {
            s->bytes_in += (uint64_t)n;
            s->svc->proto->on_input(s);
        } else if (n == 0) {
            gs_peer_closed(s);
        } else if (n == -1) {
            gs_close_now(s, "read error");
        }
    } else if (room > 0) {
        gs_close_now(s, "out of memory");
    }
    gs_leave(s);
}

/* --- writing --------------------------------------------------------- */

void gs_on_writable(evutil_socket_t fd, short what, void *arg);

/* The write event, made the first time output has to wait. */
struct event *gs_write_event(struct gale_session *s)
{
    if (!s->wev)
        s->wev = event_new(reactor_base(), s->fd, EV_WRITE | EV_PERSIST, gs_on_writable, s);
    if (!s->wev)
        gs_close_now(s, "out of memory");
    return s->wev;
}

/* Writes what is queued on a plain socket; 1 once nothing is left. */
int gs_flush(struct gale_session *s)
{
    while (s->out && evbuffer_get_length(s->out) > 0) {
        int n = evbuffer_write(s->out, s->fd);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
            gs_close_now(s, "write error");
            return 0;
        }
        if (n > 0)
            s->bytes_out += (uint64_t)n;
        if (n <= 0) {
            if (gs_write_event(s) && !event_pending(s->wev, EV_WRITE, NULL))
                event_add(s->wev, NULL);
            if (s->send_timeout > 0 && s->timer_why != SESSION_T_SEND) {
                s->saved_why = s->timer_why;
                s->saved_seconds = s->timer_seconds;
                gs_arm_timer(s, SESSION_T_SEND, s->send_timeout);
            }
            return 0;
        }
    }
    if (s->wev && event_pending(s->wev, EV_WRITE, NULL))
        event_del(s->wev);
    if (s->timer_why == SESSION_T_SEND) {
        gs_arm_timer(s, s->saved_why, s->saved_seconds);
        s->saved_why = SESSION_T_NONE;
    }
    return 1;
}

/* The output is empty: the end when finishing, else the protocol goes on
 * if it asked to. */
void gs_drained(struct gale_session *s)
{
    if (s->phase == PH_FINISHING) {
        gs_finished(s);
    } else if (s->phase == PH_OPEN && s->want_drained) {
        s->want_drained = 0;
        if (s->svc->proto->on_drained)
            s->svc->proto->on_drained(s);
    }
}

void gs_on_writable(evutil_socket_t fd, short what, void *arg)
{
    struct gale_session *s = arg;
    (void)fd; (void)what;
    gs_enter(s);
    if (gs_flush(s))
        gs_drained(s);
    gs_leave(s);
}

static void on_soon(evutil_socket_t fd, short what, void *arg)
{
    struct gale_session *s = arg;
    (void)fd; (void)what;
    gs_enter(s);
    if (s->soon_drained && session_pending(s) == 0) {
        s->soon_drained = 0;
        gs_drained(s);
    }
    if (s->soon_input && s->phase == PH_OPEN) {
        s->soon_input = 0;
        s->svc->proto->on_input(s);
    }
    gs_leave(s);
}

/* Runs on_input or the drained notice on the next turn of the loop, so
 * that other sessions go first. */
void gs_soon(struct gale_session *s, int input)
{
    if (s->phase == PH_DEAD)
        return;
    if (!s->soon && !(s->soon = event_new(reactor_base(), -1, 0, on_soon, s))) {
        gs_close_now(s, "out of memory");
        return;
    }
    input ? (s->soon_input = 1) : (s->soon_drained = 1);
    event_active(s->soon, EV_TIMEOUT, 1);
}

/* Between requests a connection holds no buffer, as nginx does: they are
 * made again on the next byte, and so are the write and notice events.
 * While busy they are kept, which spares an allocation per request. */
void gs_release_buffers(struct gale_session *s)
{
    if (s->in && evbuffer_get_length(s->in) == 0) {
        evbuffer_free(s->in);
        s->in = NULL;
    }
    if (s->out && evbuffer_get_length(s->out) == 0) {
        evbuffer_free(s->out);
        s->out = NULL;
    }
    if (s->wev && !event_pending(s->wev, EV_WRITE, NULL)) {
        event_free(s->wev);
        s->wev = NULL;
    }
    if (s->soon && !event_pending(s->soon, EV_TIMEOUT, NULL) && !s->soon_input &&
        !s->soon_drained) {
        event_free(s->soon);
        s->soon = NULL;
    }
}

/* After a callback: free a session that ended in it, else write what it
 * queued (telling the protocol, on the next turn of the loop, once it is
 * all gone) and read as it now wants. */
void gs_leave(struct gale_session *s)
{
    if (s->depth > 1) {
        s->depth--;
        instance_pop();
        return;
    }
    /* depth stays 1 until the end, so that nothing below frees s */
    if (s->bev) {
        size_t now = session_pending(s);
        if (now > s->out_at_enter && s->phase != PH_DEAD)
            s->bytes_out += now - s->out_at_enter;   /* what this callback queued */
        if (now == 0 && s->want_drained && s->phase == PH_OPEN)
            gs_soon(s, 0);
        s->in_left = session_input_length(s);
    } else if (s->phase == PH_OPEN || s->phase == PH_FINISHING) {
        if (gs_flush(s)) {
            if (s->phase == PH_FINISHING)
                gs_finished(s);
            else if (s->want_drained)
                gs_soon(s, 0);
        }
    }
    if (s->timer_why == SESSION_T_IDLE)
        gs_release_buffers(s);
    s->depth = 0;
    if (s->phase == PH_DEAD)
        gs_destroy(s);           /* its close line still names the instance */
    else
        gs_update_reading(s);
    instance_pop();
}

/* --- TLS: through a bufferevent -------------------------------------- */

int session_start_tls(struct gale_session *s, struct ssl_ctx_st *ctx)
{
    if (s->bev || s->phase != PH_OPEN || session_pending(s) > 0)
        return -1;
    gs_drop_event(s);
    s->ev_kind = EV_KIND_NONE;         /* a timer alone from now on */
    if (s->in)
        evbuffer_free(s->in);
    if (s->out)
        evbuffer_free(s->out);
    if (s->wev)
        event_free(s->wev);
    s->in = s->out = NULL;
    s->wev = NULL;
    s->conn->fd = s->fd;
    s->bev = conn_bufferevent_tls(s->conn, ctx);
    if (!s->bev) {
        gs_close_now(s, "out of memory");
        return -1;
    }
    s->fd = -1;
    s->in_left = s->out_at_enter = 0;
    bufferevent_setcb(s->bev, gs_on_tls_read, gs_on_tls_write, gs_on_tls_event, s);
    bufferevent_enable(s->bev, EV_WRITE);
    if (s->timer_why != SESSION_T_NONE)
        s->ev_resync = 1;
    gs_update_reading(s);
    return 0;
}

void gs_on_tls_read(struct bufferevent *bev, void *arg)
{
    struct gale_session *s = arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    size_t have = evbuffer_get_length(in);
    if (have > s->in_left)
        s->bytes_in += have - s->in_left;   /* what the bufferevent read since */
    gs_enter(s);
    if (s->phase == PH_LINGERING) {
        gs_discard(s);
    } else if (s->phase == PH_OPEN && have > 0) {
        s->svc->proto->on_input(s);
    }
    gs_leave(s);
}

void gs_on_tls_write(struct bufferevent *bev, void *arg)
{
    struct gale_session *s = arg;
    (void)bev;
    gs_enter(s);
    gs_drained(s);
    gs_leave(s);
}

void gs_on_tls_event(struct bufferevent *bev, short what, void *arg)
{
    struct gale_session *s = arg;
    (void)bev;
    if (what & BEV_EVENT_CONNECTED)
        return;                        /* the handshake is done */
    gs_enter(s);
    if ((what & BEV_EVENT_EOF) && (what & BEV_EVENT_READING))
        gs_peer_closed(s);
    else if ((what & BEV_EVENT_TIMEOUT) && (what & BEV_EVENT_WRITING) &&
             s->phase == PH_OPEN && s->svc->proto->on_timeout)
        s->svc->proto->on_timeout(s, SESSION_T_SEND);
    else
        gs_close_now(s, (what & BEV_EVENT_TIMEOUT) ? "timed out" : "connection error");
    gs_leave(s);
}

struct evbuffer *session_input(struct gale_session *s)
{
    if (s->bev)
        return bufferevent_get_input(s->bev);
    if (!s->in)
        s->in = evbuffer_new();       /* NULL only when out of memory */
    return s->in;
}

size_t session_input_length(const struct gale_session *s)
{
    if (s->bev)
        return evbuffer_get_length(bufferevent_get_input(s->bev));
    return s->in ? evbuffer_get_length(s->in) : 0;
}

void session_set_input_limit(struct gale_session *s, size_t bytes)
{
    s->in_limit = bytes;
    if (s->bev)
        bufferevent_setwatermark(s->bev, EV_READ, 0, bytes);
}

void session_pause(struct gale_session *s, int paused)
{
    s->paused = paused;
    if (s->depth == 0 && s->phase != PH_DEAD)
        gs_update_reading(s);
}

/* The plain gs_output, made when first needed. */
struct evbuffer *gs_output(struct gale_session *s)
{
    if (!s->out)
        s->out = evbuffer_new();
    return s->out;
}

/* A plain socket with nothing queued takes the bytes at once, in one
 * write(); what it does not take waits in the output. */
static size_t write_direct(struct gale_session *s, const char *p, size_t n)
{
    ssize_t w;
    if (s->bev || (s->out && evbuffer_get_length(s->out) > 0))
        return 0;
    do {
        w = write(s->fd, p, n);
    } while (w < 0 && errno == EINTR);
    if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
        gs_close_now(s, "write error");
        return n;
    }
    if (w > 0)
        s->bytes_out += (uint64_t)w;
    return w > 0 ? (size_t)w : 0;
}

void session_write(struct gale_session *s, const void *p, size_t n)
{
    if (s->phase >= PH_LINGERING || n == 0)
        return;
    if (s->bev) {
        if (s->depth == 0)
            s->bytes_out += n;        /* inside a callback, gs_leave() counts */
        bufferevent_write(s->bev, p, n);
        return;
    }
    size_t done = write_direct(s, p, n);
    if (done == n || s->phase == PH_DEAD)
        return;
    if (!gs_output(s) || evbuffer_add(s->out, (const char *)p + done, n - done) == -1) {
        gs_close_now(s, "out of memory");
        return;
    }
    if (s->depth == 0)
        gs_flush(s);
}

void session_write_buffer(struct gale_session *s, struct evbuffer *buf)
{
    size_t n = evbuffer_get_length(buf);
    if (s->phase >= PH_LINGERING || n == 0) {
        evbuffer_drain(buf, n);
        return;
    }
    if (s->bev) {
        if (s->depth == 0)
            s->bytes_out += n;
        bufferevent_write_buffer(s->bev, buf);
        return;
    }
    if (!gs_output(s) || evbuffer_add_buffer(s->out, buf) == -1) {
        gs_close_now(s, "out of memory");
        return;
    }
    if (s->depth == 0)
        gs_flush(s);
}

struct evbuffer *session_output(struct gale_session *s)
{
    return s->bev ? bufferevent_get_output(s->bev) : gs_output(s);
}

void session_set_send_timeout(struct gale_session *s, double seconds)
{
    s->send_timeout = seconds;
    if (s->bev) {
        struct timeval tv = reactor_timeval(seconds > TIMER_MAX ? TIMER_MAX : seconds);
        bufferevent_set_timeouts(s->bev, NULL, seconds > 0 ? &tv : NULL);
    }
}

size_t session_pending(const struct gale_session *s)
{
    if (s->bev)
        return evbuffer_get_length(bufferevent_get_output(s->bev));
    return s->out ? evbuffer_get_length(s->out) : 0;
}

