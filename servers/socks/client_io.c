/*
 * The client's side of a SOCKS connection until the relay takes it; see
 * session.h.  Plain sockets are peeked (recv MSG_PEEK) so that no byte
 * past a handshake message is ever taken from the kernel; TLS goes
 * through a bufferevent, whose read-ahead is handed to the destination
 * before anything else once the relay starts.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "conn.h"
#include "reactor.h"
#include "session.h"

#define TLS_READ_AHEAD (16 * 1024)   /* what a TLS client may send before the relay */
#define DRAIN_ROUNDS 16              /* at close: up to 64 KiB dropped, then reset it is */

static void on_plain(evutil_socket_t fd, short what, void *arg)
{
    struct client_io *io = arg;
    (void)fd; (void)what;
    io->on_event(io->arg);
}

static void on_tls_read(struct bufferevent *bev, void *arg)
{
    struct client_io *io = arg;
    (void)bev;
    io->on_event(io->arg);
}

static void on_tls_write(struct bufferevent *bev, void *arg)
{
    struct client_io *io = arg;
    if (evbuffer_get_length(bufferevent_get_output(bev)) == 0 && io->on_flushed)
        io->on_flushed(io->arg);
}

static void on_tls_event(struct bufferevent *bev, short what, void *arg)
{
    struct client_io *io = arg;
    (void)bev;
    if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) {
        io->closed = (what & BEV_EVENT_ERROR) ? -1 : 1;
        io->on_event(io->arg);
    }
}

int io_open(struct client_io *io, struct gale_conn *c, void (*on_event)(void *),
            void (*on_flushed)(void *), void *arg)
{
    memset(io, 0, sizeof *io);
    io->conn = c;
    io->on_event = on_event;
    io->on_flushed = on_flushed;
    io->arg = arg;
    if (!c->tls) {
        io->ev = event_new(reactor_base(), c->fd, EV_READ | EV_PERSIST, on_plain, io);
        return io->ev ? 0 : -1;
    }
    io->bev = conn_bufferevent(c);
    if (!io->bev)
        return -1;
    bufferevent_setwatermark(io->bev, EV_READ, 0, TLS_READ_AHEAD);
    bufferevent_setcb(io->bev, on_tls_read, on_tls_write, on_tls_event, io);
    bufferevent_enable(io->bev, EV_WRITE);
    return 0;
}

void io_watch(struct client_io *io, int on)
{
    if (io->taken || on == io->watching)
        return;
    io->watching = on;
    if (io->bev && on)
        bufferevent_enable(io->bev, EV_READ);
    else if (io->bev)
        bufferevent_disable(io->bev, EV_READ);
    else if (on)
        event_add(io->ev, NULL);
    else
        event_del(io->ev);
}

long io_peek(struct client_io *io, uint8_t *buf, size_t cap)
{
    if (io->bev) {
        struct evbuffer *in = bufferevent_get_input(io->bev);
        if (evbuffer_get_length(in) > 0 && cap > 0)
            return (long)evbuffer_copyout(in, buf, cap);
        if (io->closed)
            return io->closed < 0 ? -1 : 0;
        return -2;
    }
    ssize_t n;
    do {
        n = recv(io->conn->fd, buf, cap, MSG_PEEK | MSG_DONTWAIT);
    } while (n < 0 && errno == EINTR);
    if (n < 0)
        return errno == EAGAIN || errno == EWOULDBLOCK ? -2 : -1;
    return (long)n;
}

/* Takes n bytes io_peek() has just shown, so they are there. */
void io_consume(struct client_io *io, size_t n)
{
    if (io->bev) {
        evbuffer_drain(bufferevent_get_input(io->bev), n);
        return;
    }
    uint8_t scratch[SOCKS_MSG_MAX];
    while (n > 0) {
        ssize_t got = recv(io->conn->fd, scratch, n < sizeof scratch ? n : sizeof scratch,
                           MSG_DONTWAIT);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            return;
        n -= (size_t)got;
    }
}

int io_send(struct client_io *io, const uint8_t *buf, size_t n)
{
    if (io->taken)
        return -1;
    if (io->bev)
        return io->closed || bufferevent_write(io->bev, buf, n) == -1 ? -1 : 0;
    /* A reply is a few bytes on a socket with nothing else queued: the
     * kernel takes it whole or the client is gone. */
    ssize_t w;
    do {
        w = send(io->conn->fd, buf, n, MSG_NOSIGNAL | MSG_DONTWAIT);
    } while (w < 0 && errno == EINTR);
    return w == (ssize_t)n ? 0 : -1;
}

int io_flushing(const struct client_io *io)
{
    return io->bev && !io->closed && evbuffer_get_length(bufferevent_get_output(io->bev)) > 0;
}

static int io_fd(const struct client_io *io)
{
    return io->bev ? bufferevent_getfd(io->bev) : io->conn->fd;
}

int io_local(const struct client_io *io, struct sockaddr_storage *ss, socklen_t *len)
{
    struct sockaddr_storage raw;
    socklen_t rl = sizeof raw;
    if (io->taken || getsockname(io_fd(io), (struct sockaddr *)&raw, &rl) == -1)
        return -1;
    socks_unmap((struct sockaddr *)&raw, rl, ss, len);
    return ss->ss_family == AF_INET || ss->ss_family == AF_INET6 ? 0 : -1;
}

/* TLS: the destination's side as a bufferevent already holding what the
 * client sent past its request; fd and bev both unset when out of memory
 * (dest_fd is then closed). */
static struct relay_end tls_dest(struct bufferevent *client, int dest_fd, uint64_t *early)
{
    struct evbuffer *in = bufferevent_get_input(client);
    struct relay_end b = { dest_fd, NULL };
    *early = evbuffer_get_length(in);
    if (*early == 0)
        return b;
    b.fd = -1;
    b.bev = bufferevent_socket_new(reactor_base(), dest_fd, BEV_OPT_CLOSE_ON_FREE);
    if (!b.bev) {
        close(dest_fd);
        return b;
    }
    conn_tune_bufferevent(b.bev);
    evbuffer_add_buffer(bufferevent_get_output(b.bev), in);
    return b;
}

struct relay *io_relay(struct client_io *io, int dest_fd, relay_done_cb cb, void *arg,
                       uint64_t *early)
{
    struct relay_end a = { -1, NULL };
    struct relay_end b = { dest_fd, NULL };
    *early = 0;
    io->taken = 1;
    if (io->bev) {
        a.bev = io->bev;
        io->bev = NULL;
        bufferevent_setcb(a.bev, NULL, NULL, NULL, NULL);
        bufferevent_setwatermark(a.bev, EV_READ, 0, 0);
        b = tls_dest(a.bev, dest_fd, early);
        if (b.fd < 0 && !b.bev) {
            bufferevent_free(a.bev);
            return NULL;
        }
    } else {
        event_free(io->ev);
        io->ev = NULL;
        a.fd = io->conn->fd;
        io->conn->fd = -1;    /* the relay owns it now */
    }
    return relay_start(a, b, cb, arg);
}

void io_close(struct client_io *io)
{
    if (io->taken || !io->conn)
        return;
    int fd = io_fd(io);
    uint8_t scratch[4096];
    for (int i = 0; fd >= 0 && i < DRAIN_ROUNDS; i++)
        if (recv(fd, scratch, sizeof scratch, MSG_DONTWAIT) <= 0)
            break;
    if (io->ev)
        event_free(io->ev);
    if (io->bev)
        bufferevent_free(io->bev);    /* closes the fd; conn->fd is already -1 */
    io->ev = NULL;
    io->bev = NULL;
    io->taken = 1;
}
