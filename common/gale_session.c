/*
 * Sessions: one connection's life for every server; see gale_session.h.
 *
 * This file: a session's life and death, its timer, accepting and
 * services; the bytes themselves are gale_session_io.c's.
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
#include "gale_session_int.h"
#include "instance.h"
#include "log.h"
#include "reactor.h"

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

void gs_destroy(struct gale_session *s)
{
    const struct session_proto *proto = s->svc->proto;
    char fields[256];
    instance_push(s->svc->owner);
    if (proto->on_close && s->opened)
        proto->on_close(s, s->why);
    session_log_fields(s, fields, sizeof fields);
    log_debug("%s event=close service=%s why=\"%s\"", fields, proto->name ? proto->name : "-",
              s->why);
    gs_drop_event(s);
    if (s->wev)
        event_free(s->wev);
    if (s->soon)
        event_free(s->soon);
    if (s->in)
        evbuffer_free(s->in);
    if (s->out)
        evbuffer_free(s->out);
    if (s->bev)
        bufferevent_free(s->bev);     /* closes the socket */
    unlink_session(s);
    conn_free(s->conn);               /* closes a plain socket, and frees s with it */
    instance_pop();
}


/* Marks the session closed.  Inside a callback it is freed when the
 * callback returns; outside one (a resolver's or a child's callback
 * that wrote to it), on the next turn of the loop through its timer, so
 * that the caller may still look at it. */
void gs_close_now(struct gale_session *s, const char *why)
{
    if (s->phase == PH_DEAD)
        return;
    s->phase = PH_DEAD;
    s->why = why;
    gs_drop_event(s);
    if (s->wev)
        event_del(s->wev);
    if (s->soon)
        event_del(s->soon);
    if (s->bev)
        bufferevent_disable(s->bev, EV_READ | EV_WRITE);
    if (s->depth == 0 && gs_free_soon(s) == -1)
        gs_destroy(s);                    /* out of memory: at once, as a last resort */
}

/* The core's deadline and a service's end: freed at once. */
void gs_close_at_once(struct gale_session *s, const char *why)
{
    if (s->phase != PH_DEAD) {
        s->phase = PH_DEAD;
        s->why = why;
    }
    gs_destroy(s);
}

void gs_enter(struct gale_session *s)
{
    instance_push(s->svc->owner);
    if (s->depth++ == 0 && s->bev)
        s->out_at_enter = session_pending(s);
}

/* --- the end --------------------------------------------------------- */

/* Everything is written: close, or shut our side and linger. */
void gs_finished(struct gale_session *s)
{
    int fd = s->bev ? bufferevent_getfd(s->bev) : s->fd;
    if (!s->linger || s->peer_eof || fd < 0 || shutdown(fd, SHUT_WR) == -1) {
        gs_close_now(s, "finished");
        return;
    }
    s->phase = PH_LINGERING;
    gs_arm_timer(s, SESSION_T_CLOSE, LINGER_SECONDS);
}

void session_finish(struct gale_session *s, int linger)
{
    if (s->phase != PH_OPEN)
        return;
    s->phase = PH_FINISHING;
    s->linger = linger;
    if (s->bev || s->depth > 0 ? session_pending(s) == 0 : gs_flush(s))
        gs_finished(s);
}

void session_abort(struct gale_session *s, const char *why)
{
    gs_close_now(s, why);
}

/* The core's shutdown deadline: whatever is still open goes now. */
static void on_conn_abort(struct gale_conn *c, void *arg)
{
    (void)c;
    gs_close_at_once(arg, "aborted");
}

/* --- accepting ------------------------------------------------------- */

static int open_io(struct gale_session *s, struct gale_conn *c)
{
    if (c->tls) {
        s->fd = -1;
        if (!(s->bev = conn_bufferevent(c)))
            return -1;
        bufferevent_setcb(s->bev, gs_on_tls_read, gs_on_tls_write, gs_on_tls_event, s);
        bufferevent_enable(s->bev, EV_WRITE);
        return 0;
    }
    s->fd = c->fd;                    /* read from when the session is left */
    return 0;
}

/* The protocol's state follows the session, which follows the connection:
 * one allocation, made by the listener (listener_set_extra). */
#define DATA_OFFSET ((sizeof(struct gale_session) + 15) & ~(size_t)15)

static void on_accept(struct gale_conn *c, void *arg)
{
    struct session_service *svc = arg;
    struct gale_session *s = conn_extra(c);
    s->svc = svc;
    s->conn = c;
    s->next = svc->head;
    if (svc->head)
        svc->head->prev = s;
    svc->head = s;
    svc->count++;
    c->data = s;
    c->abort = on_conn_abort;
    log_debug("id=%" PRIu64 " event=accept service=%s client=%s", c->id,
              svc->proto->name ? svc->proto->name : "-", conn_peer(c));
    gs_enter(s);
    if (open_io(s, c) == -1) {
        gs_close_now(s, "out of memory");
    } else if (svc->proto->on_open && svc->proto->on_open(s) == -1) {
        gs_close_now(s, "refused");
    } else {
        s->opened = 1;
        if (svc->stopping)
            session_finish(s, 0);
    }
    gs_leave(s);
}

/* --- services -------------------------------------------------------- */

struct session_service *session_service_new(const struct session_proto *proto, void *arg)
{
    struct session_service *svc = calloc(1, sizeof *svc);
    if (svc) {
        svc->proto = proto;
        svc->arg = arg;
        svc->owner = instance_current();
    }
    return svc;
}

int session_service_listen(struct session_service *svc, const char *endpoint, char *err,
                           size_t errlen)
{
    struct gale_listener *l = listener_open(endpoint, on_accept, svc, err, errlen);
    if (l)
        listener_set_extra(l, DATA_OFFSET + svc->proto->data_size);
    return l ? 0 : -1;
}

void session_service_stop(struct session_service *svc)
{
    struct gale_session *s = svc->head, *next;
    svc->stopping = 1;
    listeners_stop_for(svc);
    for (; s; s = next) {
        next = s->next;
        gs_enter(s);
        if (s->phase == PH_OPEN && svc->proto->on_stop)
            svc->proto->on_stop(s);
        else
            session_finish(s, 0);
        gs_leave(s);
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
        gs_close_at_once(svc->head, "aborted");
    listeners_close_for(svc);        /* none may call into it again */
    free(svc);
}

/* --- handing the connection over ------------------------------------ */

/* The bufferevent as a new owner would have made it: no callbacks, no
 * limits, nothing enabled. */
static struct bufferevent *release_bufferevent(struct gale_session *s)
{
    struct bufferevent *bev = s->bev;
    s->bev = NULL;
    bufferevent_setcb(bev, NULL, NULL, NULL, NULL);
    bufferevent_disable(bev, EV_READ | EV_WRITE);
    bufferevent_setwatermark(bev, EV_READ, 0, 0);
    bufferevent_set_timeouts(bev, NULL, NULL);
    return bev;
}

int session_detach(struct gale_session *s, int *fd, struct bufferevent **bev,
                   struct evbuffer *leftover)
{
    struct evbuffer *in = s->bev ? bufferevent_get_input(s->bev) : s->in;
    *fd = -1;
    *bev = NULL;
    if (s->phase != PH_OPEN || (!s->bev && session_pending(s) > 0))
        return -1;
    if (in && leftover && evbuffer_add_buffer(leftover, in) == -1)
        return -1;
    if (in)
        evbuffer_drain(in, evbuffer_get_length(in));
    gs_arm_timer(s, SESSION_T_NONE, 0);
    s->phase = PH_DETACHED;
    s->want_drained = s->soon_input = s->soon_drained = 0;
    if (s->soon)
        event_del(s->soon);
    if (s->bev) {
        *bev = release_bufferevent(s);
        return 0;
    }
    gs_drop_event(s);
    if (s->wev)
        event_free(s->wev);
    s->wev = NULL;
    *fd = s->fd;
    s->fd = s->conn->fd = -1;         /* conn_free() must not close it */
    return 0;
}

/* --- the session's own ----------------------------------------------- */

void *session_server(const struct gale_session *s) { return s->svc->arg; }
void *session_data(const struct gale_session *s)
{
    return s->svc->proto->data_size ? (char *)s + DATA_OFFSET : NULL;
}
uint64_t session_id(const struct gale_session *s) { return s->conn->id; }
const char *session_peer(const struct gale_session *s) { return conn_peer(s->conn); }

const struct sockaddr *session_peer_addr(const struct gale_session *s, socklen_t *len)
{
    *len = s->conn->peer_len;
    return (const struct sockaddr *)&s->conn->peer_addr;
}
int session_fd(const struct gale_session *s) { return s->bev ? -1 : s->fd; }
int session_is_tls(const struct gale_session *s) { return s->bev != NULL; }
int session_finishing(const struct gale_session *s) { return s->phase != PH_OPEN; }
int session_peer_closed(const struct gale_session *s) { return s->peer_eof; }
struct gale_instance *session_instance(const struct gale_session *s) { return s->svc->owner; }
uint64_t session_bytes_in(const struct gale_session *s) { return s->bytes_in; }
uint64_t session_bytes_out(const struct gale_session *s) { return s->bytes_out; }
double session_age(const struct gale_session *s) { return conn_age(s->conn); }

void session_send(struct gale_session *s)
{
    if (s->depth > 0 || s->phase == PH_DEAD)
        return;                        /* gs_leave() writes it */
    gs_enter(s);
    gs_leave(s);
}

void session_continue(struct gale_session *s)
{
    gs_soon(s, 1);
}

void session_notify_drained(struct gale_session *s)
{
    s->want_drained = 1;
    if (s->depth == 0 && session_pending(s) == 0)
        gs_soon(s, 0);
}

int session_local_port(const struct gale_session *s)
{
    return listener_port(s->conn->listener);
}

void session_log_fields(const struct gale_session *s, char *buf, size_t len)
{
    snprintf(buf, len, "id=%" PRIu64 " client=%s duration=%.3f bytes_in=%" PRIu64
             " bytes_out=%" PRIu64, s->conn->id, conn_peer(s->conn), conn_age(s->conn),
             s->bytes_in, s->bytes_out);
}
