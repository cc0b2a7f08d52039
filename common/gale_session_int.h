/*
 * The inside of the session layer (common/gale_session.h), shared by its
 * two files: gale_session.c (life and death, timers, accepting, services)
 * and gale_session_io.c (reading and writing, plain and TLS).  Nothing
 * outside them may include it.
 */
#ifndef GALE_GALE_SESSION_INT_H
#define GALE_GALE_SESSION_INT_H

#include <stddef.h>
#include <stdint.h>
#include <event2/event_struct.h>
#include <event2/util.h>

#include "gale_session.h"

struct bufferevent;

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
    struct gale_instance *owner;      /* instance.h: current in its callbacks */
};

enum session_phase {
    PH_OPEN,        /* reading and answering */
    PH_FINISHING,   /* no more reading; the output goes, then the end */
    PH_LINGERING,   /* output sent, our side shut: input dropped until the client closes */
    PH_DETACHED,    /* the socket handed over (session_detach); no I/O, the owner ends it */
    PH_DEAD,        /* closed; freed once no callback is running */
};

enum ev_kind { EV_KIND_NONE, EV_KIND_READ, EV_KIND_TIMER };

/* Small, for a connection that waits costs what this costs: the flags
 * are bytes and the durations floats. */
struct gale_session {
    struct session_service *svc;
    struct gale_conn *conn;          /* made in the same allocation, before it */
    struct bufferevent *bev;         /* TLS */
    struct event ev;                 /* reads a plain socket, and is the timer
                                        (gale_session_timer.c) */
    struct event *wev;               /* plain: made when output first has to wait */
    struct event *soon;              /* continue and drained notices, made when first asked */
    struct evbuffer *in, *out;       /* plain: held only while they hold bytes */
    const char *why;                 /* the reason given to on_close */
    struct gale_session *prev, *next;
    double deadline;                 /* when the timer goes off (CLOCK_MONOTONIC) */
    uint64_t bytes_in, bytes_out;
    size_t out_at_enter;             /* TLS: output queued when the outermost callback began */
    size_t in_left;                  /* TLS: input left untaken by the last callback */
    float timer_seconds, saved_seconds;
    float send_timeout;
    uint32_t in_limit, discarded;
    int fd;                          /* plain; -1 under TLS */
    uint16_t depth;                  /* callbacks running on it */
    uint8_t phase;                   /* enum session_phase */
    uint8_t timer_why;               /* enum session_timer */
    uint8_t saved_why;               /* the protocol's, while SESSION_T_SEND runs */
    uint8_t ev_kind;                 /* enum ev_kind: what ev is assigned as */
    uint8_t ev_added, ev_timed;      /* pending; with a timeout */
    uint8_t ev_resync;               /* its timeout may differ from deadline */
    uint8_t paused, peer_eof, linger;
    uint8_t opened;                  /* on_open said yes: on_close is owed */
    uint8_t want_drained;            /* on_drained once the output is empty */
    uint8_t soon_input, soon_drained;    /* what the soon event will do */
};

/* Callbacks of the loop, and what the two files ask of each other. */
void gs_destroy(struct gale_session *s);
void gs_enter(struct gale_session *s);
void gs_leave(struct gale_session *s);
void gs_close_now(struct gale_session *s, const char *why);
void gs_close_at_once(struct gale_session *s, const char *why);
void gs_finished(struct gale_session *s);
void gs_arm_timer(struct gale_session *s, enum session_timer why, double seconds);
void gs_update_reading(struct gale_session *s);
int gs_wants_input(const struct gale_session *s);
void gs_on_readable(evutil_socket_t fd, struct gale_session *s);
void gs_sync_event(struct gale_session *s);
int gs_free_soon(struct gale_session *s);
void gs_drop_event(struct gale_session *s);
int gs_flush(struct gale_session *s);
void gs_drained(struct gale_session *s);
void gs_soon(struct gale_session *s, int input);
void gs_release_buffers(struct gale_session *s);
void gs_peer_closed(struct gale_session *s);
void gs_discard(struct gale_session *s);
struct event *gs_write_event(struct gale_session *s);
struct evbuffer *gs_output(struct gale_session *s);
void gs_on_writable(evutil_socket_t fd, short what, void *arg);
void gs_on_tls_read(struct bufferevent *bev, void *arg);
void gs_on_tls_write(struct bufferevent *bev, void *arg);
void gs_on_tls_event(struct bufferevent *bev, short what, void *arg);

#endif
