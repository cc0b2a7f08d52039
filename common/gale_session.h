/*
 * One connection's life, for every server: Twisted's Protocol and its
 * transport.  A server gives a session_proto (what to do when bytes come,
 * when the output has gone, when the client stops sending, when a timer
 * fires, when shutdown begins) and a session_service that listens; the
 * layer owns the rest:
 *
 *   - the accepted connection and its buffered I/O, plain or TLS.  On a
 *     plain socket there is no bufferevent: one read() into the session's
 *     input, replies gathered while a callback runs and written with one
 *     write() when it returns, the write event armed only while output
 *     waits, and no buffer held while the connection waits for its next
 *     request (the timer armed with SESSION_T_IDLE);
 *   - one timer with a named reason (session_timer);
 *   - finish (stop reading, send what is queued, then close; optionally
 *     linger so the client reads the last reply) and abort (close now);
 *   - graceful shutdown of a whole service: every session is told, and
 *     the core aborts what is left at the deadline;
 *   - handing the socket over to another owner (a relay, a child) while
 *     the session still counts as open (session_detach);
 *   - the counters and the common fields of a close log line.
 *
 * Every callback may finish or abort its session: the session is freed
 * only once the callback has returned.
 */
#ifndef GALE_GALE_SESSION_H
#define GALE_GALE_SESSION_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct bufferevent;
struct evbuffer;
struct gale_session;
struct session_service;

/* Why the timer was armed; the protocol's on_timeout gets it back. */
enum session_timer {
    SESSION_T_NONE,
    SESSION_T_HANDSHAKE,  /* the protocol's greeting or login must come within */
    SESSION_T_REQUEST,    /* a request has begun and must be whole within */
    SESSION_T_IDLE,       /* waiting for the next request */
    SESSION_T_SEND,       /* the output waits for the client to read */
    SESSION_T_CLOSE,      /* lingering after the last reply (the layer's own) */
};

struct session_proto {
    const char *name;         /* "http", "memcached": in the accept and close lines */
    /* The protocol's state per connection: zeroed, made in one allocation
     * with the session and freed with it (session_data).  0: none. */
    size_t data_size;
    /* A new session: fill the protocol's state and arm its first timer.
     * -1 refuses it (the connection is closed).  Optional. */
    int (*on_open)(struct gale_session *s);
    /* More bytes are in session_input(s). */
    void (*on_input)(struct gale_session *s);
    /* Everything queued has been written, after session_notify_drained:
     * produce more.  Optional. */
    void (*on_drained)(struct gale_session *s);
    /* The client will send nothing more; what it sent is still in the
     * input.  Optional: without it the session finishes. */
    void (*on_eof)(struct gale_session *s);
    /* The timer fired.  Optional: without it the session is aborted. */
    void (*on_timeout)(struct gale_session *s, enum session_timer why);
    /* Shutdown has begun: finish once the work in hand is done.
     * Optional: without it the session finishes at once. */
    void (*on_stop)(struct gale_session *s);
    /* The last call, for a session on_open took: free what the protocol's
     * state points to (the layer frees the state and logs the close).
     * Optional. */
    void (*on_close)(struct gale_session *s, const char *why);
};

/* A protocol served on any number of endpoints; arg is the server's
 * instance, which every session reaches with session_server(). */
struct session_service *session_service_new(const struct session_proto *proto, void *arg);
/* Startup: listen on endpoint for this service. */
int session_service_listen(struct session_service *svc, const char *endpoint, char *err,
                           size_t errlen);
/* Shutdown has begun: its listeners stop accepting, and every session
 * gets on_stop (or finish). */
void session_service_stop(struct session_service *svc);
int session_service_stopping(const struct session_service *svc);
unsigned session_service_count(const struct session_service *svc);
/* Aborts what is still open, closes its listeners and frees the service:
 * it may go while the process runs on. */
void session_service_free(struct session_service *svc);

void *session_server(const struct gale_session *s);
void *session_data(const struct gale_session *s);
uint64_t session_id(const struct gale_session *s);
const char *session_peer(const struct gale_session *s);      /* "127.0.0.1:40112" */
const struct sockaddr *session_peer_addr(const struct gale_session *s, socklen_t *len);
int session_fd(const struct gale_session *s);                /* -1 under TLS */
int session_local_port(const struct gale_session *s);        /* the listener's; 0 for unix */
int session_is_tls(const struct gale_session *s);

/* The bytes received and not yet taken; the protocol drains what it uses. */
struct evbuffer *session_input(struct gale_session *s);
size_t session_input_length(const struct gale_session *s);
/* Stop reading while the input holds this much (0: no bound). */
void session_set_input_limit(struct gale_session *s, size_t bytes);
/* Reading paused by the protocol (1) or resumed (0). */
void session_pause(struct gale_session *s, int paused);
/* on_input again on the next turn of the loop, whether or not more bytes
 * come: for a protocol that stopped to let other sessions run. */
void session_continue(struct gale_session *s);

/* Bytes for the client, already gathered by the caller: on a plain
 * socket with nothing queued they go at once in one write(); the rest
 * waits in the output. */
void session_write(struct gale_session *s, const void *p, size_t n);
/* The output itself, to build replies in place (inside a callback only):
 * what a callback adds is written in one writev() when it returns. */
struct evbuffer *session_output(struct gale_session *s);
/* Outside a callback (a child's output, a resolver's answer): writes
 * what was added to session_output() since. */
void session_send(struct gale_session *s);
/* on_drained once everything queued so far has been written (on the next
 * turn of the loop if it already is): for a protocol that stopped
 * producing because the client reads slowly. */
void session_notify_drained(struct gale_session *s);
/* Moves all of buf to the output (no copy). */
void session_write_buffer(struct gale_session *s, struct evbuffer *buf);
/* Bytes queued and not yet written. */
size_t session_pending(const struct gale_session *s);

/* Arms the one timer (seconds > 0) or stops it (0 or less). */
void session_timer(struct gale_session *s, enum session_timer why, double seconds);
/* While output waits for a client that does not read, the timer runs
 * with SESSION_T_SEND for this long (0: never); once all is written the
 * timer the protocol had armed before is armed again, for its whole
 * length (an idle keep-alive connection is idle from then on). */
void session_set_send_timeout(struct gale_session *s, double seconds);

/* Stop reading, write what is queued, then close.  With linger, our side
 * is shut first and the client's input thrown away until it closes (up
 * to a few seconds), so that closing does not reset the connection
 * before the client has read the last reply. */
void session_finish(struct gale_session *s, int linger);
/* Close now; why goes to on_close. */
void session_abort(struct gale_session *s, const char *why);
int session_finishing(const struct gale_session *s);
int session_peer_closed(const struct gale_session *s);      /* EOF seen */
/* The instance whose service it is (instance.h): a protocol's own events
 * make it current. */
struct gale_instance *session_instance(const struct gale_session *s);

/* STARTTLS: the connection turns to TLS now, this side of the handshake
 * run with ctx; what the client sent and the session has not taken is
 * thrown away (bytes sent before the handshake must never count as sent
 * under it).  Call it once the plain output is all sent (from
 * on_drained after session_notify_drained).  0, or -1 when output still
 * waits, the session is TLS already or not open, or out of memory (the
 * session is then closed). */
struct ssl_ctx_st;
int session_start_tls(struct gale_session *s, struct ssl_ctx_st *ctx);

/* Hands the connection over to another owner (a relay, a child process):
 * the layer stops reading, writing and timing it and gives the socket as
 * *fd, or under TLS the bufferevent that owns it as *bev (*fd -1), its
 * callbacks cleared and its reading and writing disabled; what was read
 * and not taken is moved to leftover (NULL: dropped).  Under TLS what is
 * queued for the client stays in the bufferevent's output; on a plain
 * socket nothing may be queued (wait for on_drained).
 *
 * The session lives on without I/O until the new owner is done and calls
 * session_abort(): it still counts as an open connection (for
 * --max-connections, and a graceful shutdown waits for it; on_stop is not
 * called), and at the shutdown deadline or session_service_free() the
 * layer ends it, on_close being the protocol's cue to make the new owner
 * let go.  The layer never closes a socket it has handed over.  Its byte
 * counters stop at the hand-over; its timer, if armed again, ends it.
 * 0, or -1 when the session is not open or output waits on a plain socket
 * (nothing then changes). */
int session_detach(struct gale_session *s, int *fd, struct bufferevent **bev,
                   struct evbuffer *leftover);

/* Counters and the close line's common fields:
 * "id=7 client=127.0.0.1:40112 duration=0.012 bytes_in=120 bytes_out=4096". */
uint64_t session_bytes_in(const struct gale_session *s);
uint64_t session_bytes_out(const struct gale_session *s);
double session_age(const struct gale_session *s);
void session_log_fields(const struct gale_session *s, char *buf, size_t len);

#endif
