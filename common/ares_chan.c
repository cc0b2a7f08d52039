/* c-ares channels on the reactor; see ares_chan.h. */
#include <stdio.h>
#include <stdlib.h>

#include <ares.h>
#include <event2/event.h>

#include "ares_chan.h"
#include "log.h"
#include "reactor.h"

/* One watched c-ares socket. */
struct sock_watch {
    ares_socket_t fd;
    struct event *ev;
    struct sock_watch *next;
};

const struct timeval chan_zero_tv = { 0, 0 };
static int library_ready;


void chan_rearm(struct chan *c)
{
    struct timeval tv;

    if (c->channel == NULL || c->timer == NULL)
        return;
    if (ares_timeout(c->channel, NULL, &tv) != NULL)
        evtimer_add(c->timer, &tv);
    else
        evtimer_del(c->timer);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    struct chan *c = arg;

    (void)fd; (void)what;
    ares_process_fd(c->channel, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
    chan_rearm(c);
}

/* arg is the channel, not the watch: the watch may be freed by
 * ares_process_fd (c-ares closing the socket).  No c-ares callback here
 * runs user code, so the channel itself outlives the call. */
static void on_sock(evutil_socket_t fd, short what, void *arg)
{
    struct chan *c = arg;
    ares_socket_t r = (what & EV_READ) ? fd : ARES_SOCKET_BAD;
    ares_socket_t w = (what & EV_WRITE) ? fd : ARES_SOCKET_BAD;

    ares_process_fd(c->channel, r, w);
    chan_rearm(c);
}

static struct sock_watch **watch_find(struct chan *c, ares_socket_t fd)
{
    struct sock_watch **pp = &c->watches;

    while (*pp != NULL && (*pp)->fd != fd)
        pp = &(*pp)->next;
    return pp;
}

static void watch_drop(struct sock_watch **pp)
{
    struct sock_watch *w = *pp;

    *pp = w->next;
    event_free(w->ev);
    free(w);
}

/* c-ares calls this whenever the interest in a socket changes; a new event
 * replaces the old one because libevent cannot change the flags of a
 * pending event in place. */
static void on_sock_state(void *data, ares_socket_t fd, int readable, int writable)
{
    struct chan *c = data;
    struct sock_watch **pp = watch_find(c, fd);
    struct sock_watch *w;
    short what = (short)((readable ? EV_READ : 0) | (writable ? EV_WRITE : 0));

    if (*pp != NULL)
        watch_drop(pp);
    if (what == 0)
        return;
    w = calloc(1, sizeof *w);
    if (w != NULL)
        w->ev = event_new(reactor_base(), fd, what | EV_PERSIST, on_sock, c);
    if (w == NULL || w->ev == NULL || event_add(w->ev, NULL) == -1) {
        /* The query still ends: the timer makes c-ares time it out. */
        log_debug("resolver: cannot watch socket %d", (int)fd);
        if (w != NULL && w->ev != NULL)
            event_free(w->ev);
        free(w);
        return;
    }
    w->fd = fd;
    w->next = c->watches;
    c->watches = w;
}

static int library_init(char *err, size_t errlen)
{
    int status;

    if (library_ready)
        return 0;
    status = ares_library_init(ARES_LIB_INIT_ALL);
    if (status != ARES_SUCCESS) {
        snprintf(err, errlen, "resolver: %s", ares_strerror(status));
        return -1;
    }
    library_ready = 1;
    return 0;
}

/* opts/optmask: everything but the socket-state callback, which is ours. */
int chan_open(struct chan *c, struct ares_options *opts, int optmask,
                     char *err, size_t errlen)
{
    int status;

    if (reactor_base() == NULL) {
        snprintf(err, errlen, "resolver: the reactor is not started");
        return -1;
    }
    if (library_init(err, errlen) == -1)
        return -1;
    c->timer = evtimer_new(reactor_base(), on_timer, c);
    if (c->timer == NULL) {
        snprintf(err, errlen, "resolver: cannot create timer");
        return -1;
    }
    opts->sock_state_cb = on_sock_state;
    opts->sock_state_cb_data = c;
    status = ares_init_options(&c->channel, opts, optmask | ARES_OPT_SOCK_STATE_CB);
    if (status != ARES_SUCCESS) {
        snprintf(err, errlen, "resolver: %s", ares_strerror(status));
        c->channel = NULL;
        event_free(c->timer);
        c->timer = NULL;
        return -1;
    }
    return 0;
}

/* c-ares ends every query it holds with ARES_EDESTRUCTION first. */
void chan_close(struct chan *c)
{
    if (c->channel != NULL) {
        ares_destroy(c->channel);
        c->channel = NULL;
    }
    while (c->watches != NULL)
        watch_drop(&c->watches);
    if (c->timer != NULL) {
        event_free(c->timer);
        c->timer = NULL;
    }
}

