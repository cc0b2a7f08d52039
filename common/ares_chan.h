/*
 * Private to the resolver: c-ares channels driven by the reactor.  c-ares
 * tells us through its socket-state callback which sockets it wants
 * watched; each gets one persistent libevent event.  One reactor timer per
 * channel, re-armed from ares_timeout() after every call into c-ares,
 * drives its retransmissions and timeouts.
 */
#ifndef GALE_ARES_CHAN_H
#define GALE_ARES_CHAN_H

#include <stddef.h>
#include <sys/time.h>
#include <ares.h>

struct event;

enum query_state {
    Q_ARES,        /* c-ares holds it; its callback frees or readies it */
    Q_READY,       /* answer stored, deliver timer pending, on the ready list */
    Q_DELIVERING,  /* the user callback is running; freed when it returns */
};

struct sock_watch;

/* One c-ares channel on the reactor. */
struct chan {
    ares_channel channel;
    struct event *timer;           /* ares_timeout() deadline */
    struct sock_watch *watches;
};

extern const struct timeval chan_zero_tv;

/* opts/optmask: everything but the socket-state callback, which is ours. */
int chan_open(struct chan *c, struct ares_options *opts, int optmask, char *err, size_t errlen);
/* c-ares ends every query it holds with ARES_EDESTRUCTION first. */
void chan_close(struct chan *c);
/* After every call into c-ares: its next deadline. */
void chan_rearm(struct chan *c);

#endif
