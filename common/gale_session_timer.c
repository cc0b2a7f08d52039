/*
 * Sessions, their one event and their timer; see gale_session.h.
 *
 * A plain socket's session has a single event, kept inside the session:
 * while input is wanted it watches the socket and its timeout is the
 * session's timer; while none is, it is a timer alone.  An idle
 * keep-alive connection then costs one event, not two, which is most of
 * what a waiting connection holds.  libevent restarts a persistent
 * event's timeout each time it fires, so the deadline is kept here and
 * the timeout set again from it after each wake-up.  A TLS session reads
 * through its bufferevent, and its event is a timer alone.
 */
#include "gale_session.h"

#include <time.h>
#include <event2/event.h>

#include "gale_session_int.h"
#include "reactor.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The timer went off, or a session closed outside a callback is due to
 * be freed. */
static void timer_fired(struct gale_session *s)
{
    enum session_timer why = (enum session_timer)s->timer_why;
    if (s->phase == PH_DEAD) {
        gs_destroy(s);
        return;
    }
    gs_enter(s);
    s->timer_why = SESSION_T_NONE;
    if (why == SESSION_T_CLOSE || s->phase != PH_OPEN || !s->svc->proto->on_timeout)
        gs_close_now(s, why == SESSION_T_CLOSE ? "finished" : "timed out");
    else
        s->svc->proto->on_timeout(s, why);
    gs_leave(s);
}

static void on_event(evutil_socket_t fd, short what, void *arg)
{
    struct gale_session *s = arg;
    s->ev_resync = 1;               /* libevent has moved or dropped the timeout */
    if (s->ev_kind == EV_KIND_TIMER)
        s->ev_added = 0;            /* a timer alone fires once */
    if (what & EV_READ)
        gs_on_readable(fd, s);
    else
        timer_fired(s);
}

static void ev_remove(struct gale_session *s)
{
    if (s->ev_added)
        event_del(&s->ev);
    s->ev_added = s->ev_timed = 0;
}

static void ev_become(struct gale_session *s, enum ev_kind kind)
{
    if (s->ev_kind == kind)
        return;
    ev_remove(s);
    if (kind == EV_KIND_READ)
        event_assign(&s->ev, reactor_base(), s->fd, EV_READ | EV_PERSIST, on_event, s);
    else
        event_assign(&s->ev, reactor_base(), -1, 0, on_event, s);
    s->ev_kind = kind;
}

/* What the event does now: read, time, both or nothing. */
void gs_sync_event(struct gale_session *s)
{
    int want_read = !s->bev && s->fd >= 0 && gs_wants_input(s);
    int timed = s->timer_why != SESSION_T_NONE;
    if (!want_read && !timed) {
        ev_remove(s);
        return;
    }
    ev_become(s, want_read ? EV_KIND_READ : EV_KIND_TIMER);
    if (timed && (s->ev_resync || !s->ev_timed || !s->ev_added)) {
        double left = s->deadline - now();
        struct timeval tv = reactor_timeval(left > 0 ? left : 0);
        event_add(&s->ev, &tv);
        s->ev_added = s->ev_timed = 1;
    } else if (!timed && s->ev_timed) {
        event_remove_timer(&s->ev);
        s->ev_timed = 0;
    } else if (!s->ev_added) {
        event_add(&s->ev, NULL);
        s->ev_added = 1;
    }
    s->ev_resync = 0;
}

/* Closed outside a callback: freed on the next turn of the loop. */
int gs_free_soon(struct gale_session *s)
{
    static const struct timeval zero = { 0, 0 };
    ev_become(s, EV_KIND_TIMER);
    ev_remove(s);
    s->ev_added = event_add(&s->ev, &zero) == 0;
    return s->ev_added ? 0 : -1;
}

void gs_drop_event(struct gale_session *s)
{
    ev_remove(s);
}

void gs_arm_timer(struct gale_session *s, enum session_timer why, double seconds)
{
    if (s->phase == PH_DEAD)
        return;                        /* its event now frees it */
    if (seconds <= 0)
        why = SESSION_T_NONE;
    s->timer_why = (uint8_t)why;
    s->timer_seconds = (float)seconds;
    if (why != SESSION_T_NONE)
        s->deadline = now() + (seconds > TIMER_MAX ? TIMER_MAX : seconds);
    s->ev_resync = 1;
    gs_sync_event(s);
}

/* While the send timer runs, the protocol's wish is kept for afterwards. */
void session_timer(struct gale_session *s, enum session_timer why, double seconds)
{
    if (s->timer_why == SESSION_T_SEND && why != SESSION_T_SEND) {
        s->saved_why = (uint8_t)(seconds > 0 ? why : SESSION_T_NONE);
        s->saved_seconds = (float)seconds;
        return;
    }
    gs_arm_timer(s, why, seconds);
}
