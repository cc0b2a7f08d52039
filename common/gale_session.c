/*
 * Sessions: one connection's life for every server; see gale_session.h.
 *
 * A plain socket is watched with an event of its own: one read() per
 * wake-up into an input buffer made on the first byte and dropped once
 * empty, and replies gathered while a callback runs, then written with
 * one writev() (sendfile for file segments) when it returns.  The write
 * event is made and armed only while output waits.  A TLS connection
 * goes through a bufferevent, which does the handshake and the records.
 *
 * Every entry from the loop counts itself in depth; a session that a
 * callback finished or aborted is freed when the outermost one returns.
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
#include "log.h"
#include "reactor.h"

#define READ_MAX (64 * 1024)        /* bytes per read() */
#define LINGER_SECONDS 2.0          /* after a last reply: time for the client to read it */
#define LINGER_MAX (16 * 1024 * 1024)   /* input thrown away meanwhile */
#define TIMER_MAX 1e7               /* keeps a timeval in range */

struct session_service {
    const struct session_proto *proto;
    void *arg;
    struct gale_session *head;
    unsigned count;
    int stopping;
};

enum session_phase {
    PH_OPEN,        /* reading and answering */
    PH_FINISHING,   /* no more reading; the output goes, then the end */
    PH_LINGERING,   /* output sent, our side shut: input dropped until the client closes */
    PH_DEAD,        /* closed; freed once no callback is running */
};

struct gale_session {
    struct session_service *svc;
    struct gale_conn *conn;
    void *data;
    int fd;                          /* plain; -1 under TLS */
    struct bufferevent *bev;         /* TLS */
    struct event *rev, *wev, *timer; /* plain: read and write; either: the timer */
    struct event *soon;              /* continue and drained notices, made when first asked */
    struct evbuffer *in, *out;       /* plain: held only while they hold bytes */
    enum session_phase phase;
    enum session_timer timer_why;
    enum session_timer saved_why;    /* the protocol's, while SESSION_T_SEND runs */
    double timer_seconds, saved_seconds;
    size_t in_limit, discarded;
    size_t out_at_enter;             /* TLS: output queued when the outermost callback began */
    double send_timeout;
    int paused, peer_eof, linger, depth;
    int want_drained;                /* on_drained once the output is empty */
    int soon_input, soon_drained;    /* what the soon event will do */
    const char *why;                 /* the reason given to on_close */
    uint64_t bytes_in, bytes_out;
    struct gale_session *prev, *next;
};

static void leave(struct gale_session *s);
static void finished(struct gale_session *s);

/* --- life and death -------------------------------------------------- */

static void unlink_session(struct gale_session *s)
{
    if (s->prev)
        s->prev->next = s->next;
    else
        s->svc->head = s->next;
    if (s->next)
        s->next->prev = s->prev;
    s->svc->count--;
}

static void destroy(struct gale_session *s)
{
    if (s->svc->proto->on_close)
        s->svc->proto->on_close(s, s->why);
    if (s->rev)
        event_free(s->rev);
    if (s->wev)
        event_free(s->wev);
    if (s->timer)
        event_free(s->timer);
    if (s->soon)
        event_free(s->soon);
    if (s->in)
        evbuffer_free(s->in);
    if (s->out)
        evbuffer_free(s->out);
    if (s->bev)
        bufferevent_free(s->bev);     /* closes the socket */
    unlink_session(s);
    conn_free(s->conn);               /* closes a plain socket */
    free(s);
}

static void on_timer(evutil_socket_t fd, short what, void *arg);
static void arm_timer(struct gale_session *s, enum session_timer why, double seconds);

/* Marks the session closed.  Inside a callback it is freed when the
 * callback returns; outside one (a resolver's or a child's callback
 * that wrote to it), on the next turn of the loop through its timer, so
 * that the caller may still look at it. */
static void close_now(struct gale_session *s, const char *why)
{
    static const struct timeval now = { 0, 0 };
    if (s->phase == PH_DEAD)
        return;
    s->phase = PH_DEAD;
    s->why = why;
    if (s->rev)
        event_del(s->rev);
    if (s->wev)
        event_del(s->wev);
    if (s->soon)
        event_del(s->soon);
    if (s->bev)
        bufferevent_disable(s->bev, EV_READ | EV_WRITE);
    if (s->depth > 0)
        return;
    if (!s->timer)
        s->timer = evtimer_new(reactor_base(), on_timer, s);
    if (!s->timer || evtimer_add(s->timer, &now) == -1)
        destroy(s);                    /* out of memory: at once, as a last resort */
}

/* The core's deadline and a service's end: freed at once. */
static void close_at_once(struct gale_session *s, const char *why)
{
    if (s->phase != PH_DEAD) {
        s->phase = PH_DEAD;
        s->why = why;
    }
    destroy(s);
}

static void enter(struct gale_session *s)
{
    if (s->depth++ == 0 && s->bev)
        s->out_at_enter = session_pending(s);
}

/* --- reading --------------------------------------------------------- */

static int wants_input(const struct gale_session *s)
{
    if (s->phase == PH_LINGERING)
        return 1;
    return s->phase == PH_OPEN && !s->paused && !s->peer_eof &&
           (s->in_limit == 0 || session_input_length(s) < s->in_limit);
}

static void update_reading(struct gale_session *s)
{
    int want = wants_input(s);
    if (s->bev) {
        want ? bufferevent_enable(s->bev, EV_READ) : bufferevent_disable(s->bev, EV_READ);
        return;
    }
    if (want && !event_pending(s->rev, EV_READ, NULL))
        event_add(s->rev, NULL);
    else if (!want && event_pending(s->rev, EV_READ, NULL))
        event_del(s->rev);
}

/* After the last reply, so that what the client still sends does not make
 * the kernel reset the connection before the reply is read. */
static void discard(struct gale_session *s)
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
            close_now(s, "finished");
            return;
        }
    }
    if (s->discarded > LINGER_MAX)
        close_now(s, "finished");
}

static void peer_closed(struct gale_session *s)
{
    s->peer_eof = 1;
    if (s->phase == PH_LINGERING)
        close_now(s, "finished");
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

static void on_readable(evutil_socket_t fd, short what, void *arg)
{
    struct gale_session *s = arg;
    size_t room = read_room(s);
    (void)what;
    enter(s);
    if (s->phase == PH_LINGERING) {
        discard(s);
    } else if (room > 0 && (s->in || (s->in = evbuffer_new()))) {
        int n = conn_read(fd, s->in, room);
        if (n > 0) {
            s->bytes_in += (uint64_t)n;
            s->svc->proto->on_input(s);
        } else if (n == 0) {
            peer_closed(s);
        } else if (n == -1) {
            close_now(s, "read error");
        }
    } else if (room > 0) {
        close_now(s, "out of memory");
    }
    leave(s);
}

/* --- writing --------------------------------------------------------- */

static void on_writable(evutil_socket_t fd, short what, void *arg);

/* The write event, made the first time output has to wait. */
static struct event *write_event(struct gale_session *s)
{
    if (!s->wev)
        s->wev = event_new(reactor_base(), s->fd, EV_WRITE | EV_PERSIST, on_writable, s);
    if (!s->wev)
        close_now(s, "out of memory");
    return s->wev;
}

/* Writes what is queued on a plain socket; 1 once nothing is left. */
static int flush(struct gale_session *s)
{
    while (s->out && evbuffer_get_length(s->out) > 0) {
        int n = evbuffer_write(s->out, s->fd);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
            close_now(s, "write error");
            return 0;
        }
        if (n > 0)
            s->bytes_out += (uint64_t)n;
        if (n <= 0) {
            if (write_event(s) && !event_pending(s->wev, EV_WRITE, NULL))
                event_add(s->wev, NULL);
            if (s->send_timeout > 0 && s->timer_why != SESSION_T_SEND) {
                s->saved_why = s->timer_why;
                s->saved_seconds = s->timer_seconds;
                arm_timer(s, SESSION_T_SEND, s->send_timeout);
            }
            return 0;
        }
    }
    if (s->wev && event_pending(s->wev, EV_WRITE, NULL))
        event_del(s->wev);
    if (s->timer_why == SESSION_T_SEND) {
        arm_timer(s, s->saved_why, s->saved_seconds);
        s->saved_why = SESSION_T_NONE;
    }
    return 1;
}

/* The output is empty: the end when finishing, else the protocol goes on
 * if it asked to. */
static void drained(struct gale_session *s)
{
    if (s->phase == PH_FINISHING) {
        finished(s);
    } else if (s->phase == PH_OPEN && s->want_drained) {
        s->want_drained = 0;
        if (s->svc->proto->on_drained)
            s->svc->proto->on_drained(s);
    }
}

static void on_writable(evutil_socket_t fd, short what, void *arg)
{
    struct gale_session *s = arg;
    (void)fd; (void)what;
    enter(s);
    if (flush(s))
        drained(s);
    leave(s);
}

static void on_soon(evutil_socket_t fd, short what, void *arg)
{
    struct gale_session *s = arg;
    (void)fd; (void)what;
    enter(s);
    if (s->soon_drained && session_pending(s) == 0) {
        s->soon_drained = 0;
        drained(s);
    }
    if (s->soon_input && s->phase == PH_OPEN) {
        s->soon_input = 0;
        s->svc->proto->on_input(s);
    }
    leave(s);
}

/* Runs on_input or the drained notice on the next turn of the loop, so
 * that other sessions go first. */
static void soon(struct gale_session *s, int input)
{
    if (s->phase == PH_DEAD)
        return;
    if (!s->soon && !(s->soon = event_new(reactor_base(), -1, 0, on_soon, s))) {
        close_now(s, "out of memory");
        return;
    }
    input ? (s->soon_input = 1) : (s->soon_drained = 1);
    event_active(s->soon, EV_TIMEOUT, 1);
}

/* Between requests a connection holds no buffer, as nginx does: they are
 * made again on the next byte.  While busy they are kept, which spares
 * an allocation per request. */
static void release_buffers(struct gale_session *s)
{
    if (s->in && evbuffer_get_length(s->in) == 0) {
        evbuffer_free(s->in);
        s->in = NULL;
    }
    if (s->out && evbuffer_get_length(s->out) == 0) {
        evbuffer_free(s->out);
        s->out = NULL;
    }
}

/* After a callback: free a session that ended in it, else write what it
 * queued (telling the protocol, on the next turn of the loop, once it is
 * all gone) and read as it now wants. */
static void leave(struct gale_session *s)
{
    if (s->depth > 1) {
        s->depth--;
        return;
    }
    /* depth stays 1 until the end, so that nothing below frees s */
    if (s->bev) {
        size_t now = session_pending(s);
        if (now > s->out_at_enter && s->phase != PH_DEAD)
            s->bytes_out += now - s->out_at_enter;   /* what this callback queued */
        if (now == 0 && s->want_drained && s->phase == PH_OPEN)
            soon(s, 0);
    } else if (s->phase == PH_OPEN || s->phase == PH_FINISHING) {
        if (flush(s)) {
            if (s->phase == PH_FINISHING)
                finished(s);
            else if (s->want_drained)
                soon(s, 0);
        }
    }
    if (s->timer_why == SESSION_T_IDLE)
        release_buffers(s);
    s->depth = 0;
    if (s->phase == PH_DEAD) {
        destroy(s);
        return;
    }
    update_reading(s);
}

/* --- TLS: through a bufferevent -------------------------------------- */

static void on_tls_read(struct bufferevent *bev, void *arg)
{
    struct gale_session *s = arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    enter(s);
    if (s->phase == PH_LINGERING) {
        discard(s);
    } else if (s->phase == PH_OPEN && evbuffer_get_length(in) > 0) {
        s->svc->proto->on_input(s);
    }
    leave(s);
}

static void on_tls_write(struct bufferevent *bev, void *arg)
{
    struct gale_session *s = arg;
    (void)bev;
    enter(s);
    drained(s);
    leave(s);
}

static void on_tls_event(struct bufferevent *bev, short what, void *arg)
{
    struct gale_session *s = arg;
    (void)bev;
    if (what & BEV_EVENT_CONNECTED)
        return;                        /* the handshake is done */
    enter(s);
    if ((what & BEV_EVENT_EOF) && (what & BEV_EVENT_READING))
        peer_closed(s);
    else if ((what & BEV_EVENT_TIMEOUT) && (what & BEV_EVENT_WRITING) &&
             s->phase == PH_OPEN && s->svc->proto->on_timeout)
        s->svc->proto->on_timeout(s, SESSION_T_SEND);
    else
        close_now(s, (what & BEV_EVENT_TIMEOUT) ? "timed out" : "connection error");
    leave(s);
}

/* --- the end --------------------------------------------------------- */

/* Everything is written: close, or shut our side and linger. */
static void finished(struct gale_session *s)
{
    int fd = s->bev ? bufferevent_getfd(s->bev) : s->fd;
    if (!s->linger || s->peer_eof || fd < 0 || shutdown(fd, SHUT_WR) == -1) {
        close_now(s, "finished");
        return;
    }
    s->phase = PH_LINGERING;
    arm_timer(s, SESSION_T_CLOSE, LINGER_SECONDS);
}

void session_finish(struct gale_session *s, int linger)
{
    if (s->phase != PH_OPEN)
        return;
    s->phase = PH_FINISHING;
    s->linger = linger;
    if (s->bev || s->depth > 0 ? session_pending(s) == 0 : flush(s))
        finished(s);
}

void session_abort(struct gale_session *s, const char *why)
{
    close_now(s, why);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    struct gale_session *s = arg;
    enum session_timer why = s->timer_why;
    (void)fd; (void)what;
    if (s->phase == PH_DEAD) {
        destroy(s);                    /* closed outside a callback */
        return;
    }
    enter(s);
    s->timer_why = SESSION_T_NONE;
    if (why == SESSION_T_CLOSE || s->phase != PH_OPEN || !s->svc->proto->on_timeout)
        close_now(s, why == SESSION_T_CLOSE ? "finished" : "timed out");
    else
        s->svc->proto->on_timeout(s, why);
    leave(s);
}

static void arm_timer(struct gale_session *s, enum session_timer why, double seconds)
{
    if (s->phase == PH_DEAD)
        return;                        /* its timer now frees it */
    if (seconds <= 0 || why == SESSION_T_NONE) {
        if (s->timer)
            evtimer_del(s->timer);
        s->timer_why = SESSION_T_NONE;
        return;
    }
    if (!s->timer && !(s->timer = evtimer_new(reactor_base(), on_timer, s))) {
        close_now(s, "out of memory");
        return;
    }
    struct timeval tv = reactor_timeval(seconds > TIMER_MAX ? TIMER_MAX : seconds);
    s->timer_why = why;
    s->timer_seconds = seconds;
    evtimer_add(s->timer, &tv);
}

/* While the send timer runs, the protocol's wish is kept for afterwards. */
void session_timer(struct gale_session *s, enum session_timer why, double seconds)
{
    if (s->timer_why == SESSION_T_SEND && why != SESSION_T_SEND) {
        s->saved_why = seconds > 0 ? why : SESSION_T_NONE;
        s->saved_seconds = seconds;
        return;
    }
    arm_timer(s, why, seconds);
}

/* The core's shutdown deadline: whatever is still open goes now. */
static void on_conn_abort(struct gale_conn *c, void *arg)
{
    (void)c;
    close_at_once(arg, "aborted");
}

/* --- accepting ------------------------------------------------------- */

static int open_io(struct gale_session *s, struct gale_conn *c)
{
    if (c->tls) {
        s->fd = -1;
        if (!(s->bev = conn_bufferevent(c)))
            return -1;
        bufferevent_setcb(s->bev, on_tls_read, on_tls_write, on_tls_event, s);
        bufferevent_enable(s->bev, EV_WRITE);
        return 0;
    }
    s->fd = c->fd;
    s->rev = event_new(reactor_base(), s->fd, EV_READ | EV_PERSIST, on_readable, s);
    return s->rev ? 0 : -1;
}

static void on_accept(struct gale_conn *c, void *arg)
{
    struct session_service *svc = arg;
    struct gale_session *s = calloc(1, sizeof *s);
    if (!s) {
        conn_free(c);
        return;
    }
    s->svc = svc;
    s->conn = c;
    s->next = svc->head;
    if (svc->head)
        svc->head->prev = s;
    svc->head = s;
    svc->count++;
    c->data = s;
    c->abort = on_conn_abort;
    enter(s);
    if (open_io(s, c) == -1)
        close_now(s, "out of memory");
    else if (svc->proto->on_open(s) == -1)
        close_now(s, "refused");
    else if (svc->stopping)
        session_finish(s, 0);
    leave(s);
}

/* --- services -------------------------------------------------------- */

struct session_service *session_service_new(const struct session_proto *proto, void *arg)
{
    struct session_service *svc = calloc(1, sizeof *svc);
    if (svc) {
        svc->proto = proto;
        svc->arg = arg;
    }
    return svc;
}

int session_service_listen(struct session_service *svc, const char *endpoint, char *err,
                           size_t errlen)
{
    return listener_open(endpoint, on_accept, svc, err, errlen) ? 0 : -1;
}

void session_service_stop(struct session_service *svc)
{
    struct gale_session *s = svc->head, *next;
    svc->stopping = 1;
    for (; s; s = next) {
        next = s->next;
        enter(s);
        if (s->phase == PH_OPEN && svc->proto->on_stop)
            svc->proto->on_stop(s);
        else
            session_finish(s, 0);
        leave(s);
    }
}

int session_service_stopping(const struct session_service *svc)
{
    return svc->stopping || reactor_stopping();
}

unsigned session_service_count(const struct session_service *svc)
{
    return svc->count;
}

void session_service_free(struct session_service *svc)
{
    if (!svc)
        return;
    while (svc->head)
        close_at_once(svc->head, "aborted");
    free(svc);
}

/* --- the session's own ----------------------------------------------- */

void *session_server(const struct gale_session *s) { return s->svc->arg; }
void *session_data(const struct gale_session *s) { return s->data; }
void session_set_data(struct gale_session *s, void *data) { s->data = data; }
uint64_t session_id(const struct gale_session *s) { return s->conn->id; }
const char *session_peer(const struct gale_session *s) { return s->conn->peer; }
int session_fd(const struct gale_session *s) { return s->bev ? -1 : s->fd; }
int session_is_tls(const struct gale_session *s) { return s->bev != NULL; }
int session_finishing(const struct gale_session *s) { return s->phase != PH_OPEN; }
int session_peer_closed(const struct gale_session *s) { return s->peer_eof; }
uint64_t session_bytes_in(const struct gale_session *s) { return s->bytes_in; }
uint64_t session_bytes_out(const struct gale_session *s) { return s->bytes_out; }
double session_age(const struct gale_session *s) { return conn_age(s->conn); }

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

void session_send(struct gale_session *s)
{
    if (s->depth > 0 || s->phase == PH_DEAD)
        return;                        /* leave() writes it */
    enter(s);
    leave(s);
}

void session_continue(struct gale_session *s)
{
    soon(s, 1);
}

void session_notify_drained(struct gale_session *s)
{
    s->want_drained = 1;
    if (s->depth == 0 && session_pending(s) == 0)
        soon(s, 0);
}

int session_local_port(const struct gale_session *s)
{
    return listener_port(s->conn->listener);
}

void session_pause(struct gale_session *s, int paused)
{
    s->paused = paused;
    if (s->depth == 0 && s->phase != PH_DEAD)
        update_reading(s);
}

/* The plain output, made when first needed. */
static struct evbuffer *output(struct gale_session *s)
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
        close_now(s, "write error");
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
            s->bytes_out += n;        /* inside a callback, leave() counts */
        bufferevent_write(s->bev, p, n);
        return;
    }
    size_t done = write_direct(s, p, n);
    if (done == n || s->phase == PH_DEAD)
        return;
    if (!output(s) || evbuffer_add(s->out, (const char *)p + done, n - done) == -1) {
        close_now(s, "out of memory");
        return;
    }
    if (s->depth == 0)
        flush(s);
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
    if (!output(s) || evbuffer_add_buffer(s->out, buf) == -1) {
        close_now(s, "out of memory");
        return;
    }
    if (s->depth == 0)
        flush(s);
}

struct evbuffer *session_output(struct gale_session *s)
{
    return s->bev ? bufferevent_get_output(s->bev) : output(s);
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

void session_log_fields(const struct gale_session *s, char *buf, size_t len)
{
    snprintf(buf, len, "id=%" PRIu64 " client=%s duration=%.3f bytes_in=%" PRIu64
             " bytes_out=%" PRIu64, s->conn->id, s->conn->peer, conn_age(s->conn),
             s->bytes_in, s->bytes_out);
}
