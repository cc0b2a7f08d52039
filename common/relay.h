/*
 * Relay bytes both ways between two connected streams, shared by
 * portforward, socks and conch's forwarding.  One side's EOF becomes
 * shutdown(SHUT_WR) on the other and both directions drain; a slow reader
 * pauses the other side, so memory per relay is bounded.  Between two
 * plain sockets on Linux the bytes move with splice() through a pipe and
 * never enter user space; otherwise (TLS, other systems) through
 * bufferevents with watermarks.
 */
#ifndef GALE_RELAY_H
#define GALE_RELAY_H

#include <stdint.h>

struct bufferevent;

/* One side: a plain socket (fd, bev NULL) or a bufferevent (fd -1). */
struct relay_end {
    int fd;
    struct bufferevent *bev;
};

struct relay_stats {
    uint64_t a_to_b, b_to_a;
    const char *error;      /* NULL when both sides closed cleanly */
};

struct relay;
/* Called once, when both directions are finished; the relay has closed
 * both ends and freed itself. */
typedef void (*relay_done_cb)(const struct relay_stats *st, void *arg);

/* Takes ownership of both ends.  NULL on failure (ends then closed). */
struct relay *relay_start(struct relay_end a, struct relay_end b, relay_done_cb cb, void *arg);
/* Close the relay, with error "idle timeout", once no byte has moved
 * either way for this long.  0 turns it off. */
void relay_set_idle_timeout(struct relay *r, double seconds);
/* Close both ends now; cb is called with error "aborted". */
void relay_abort(struct relay *r);

#endif
