/*
 * Listeners and accepted connections; see conn.h.
 */
#include "conn.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <openssl/ssl.h>

#include "instance.h"
#include "log.h"
#include "reactor.h"
#include "tls.h"

#define ACCEPT_BATCH 64
#define SD_LISTEN_FDS_START 3

struct gale_listener {
    int fd;
    int lock_fd;                 /* unix lockfile=1, else -1 */
    int inherited;               /* from systemd: never shut down */
    int armed, paused_error, stopped;
    unsigned count;
    size_t extra;                /* listener_set_extra */
    char desc[256];
    struct endpoint ep;
    SSL_CTX *ssl_ctx;
    struct event *ev, *retry;
    gale_accept_cb cb;
    void *arg;
    struct gale_instance *owner;  /* whose listener it is */
    struct gale_listener *next;
};

static struct gale_listener *listeners;
static struct gale_conn *conns;
static unsigned n_conns;
static uint64_t next_id = 1;
static unsigned max_per_listener;

#define EXTRA_OFFSET ((sizeof(struct gale_conn) + 15) & ~(size_t)15)

void listener_set_extra(struct gale_listener *l, size_t bytes) { l->extra = bytes; }
void *conn_extra(const struct gale_conn *c) { return (char *)c + EXTRA_OFFSET; }

void listener_set_max(int max) { max_per_listener = max > 0 ? (unsigned)max : 0; }
const char *listener_desc(const struct gale_listener *l) { return l->desc; }
unsigned conns_open(void) { return n_conns; }

int socket_local_port(int fd)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    if (getsockname(fd, (struct sockaddr *)&ss, &len) == -1)
        return 0;
    if (ss.ss_family == AF_INET)
        return ntohs(((struct sockaddr_in *)&ss)->sin_port);
    if (ss.ss_family == AF_INET6)
        return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    return 0;
}

int listener_port(const struct gale_listener *l)
{
    return socket_local_port(l->fd);
}

const char *conn_peer(const struct gale_conn *c)
{
    static _Thread_local char ring[4][64];
    static _Thread_local unsigned next;
    char *buf = ring[next++ % 4];
    sockaddr_format(&c->peer_addr.sa, c->peer_len, buf, sizeof ring[0]);
    return buf;
}

static double monotonic_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

double conn_age(const struct gale_conn *c)
{
    return monotonic_now() - c->started;
}

/* --- binding ------------------------------------------------------- */

static int fail(char *err, size_t errlen, const char *desc, const char *what)
{
    snprintf(err, errlen, "cannot listen on %s: %s: %s", desc, what, strerror(errno));
    return -1;
}

static int bind_inet(struct gale_listener *l, char *err, size_t errlen)
{
    struct endpoint *ep = &l->ep;
    struct sockaddr_storage ss = { 0 };
    struct sockaddr_in *in = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
    int v6 = ep->kind == EP_TCP6 || !ep->has_interface || strchr(ep->interface, ':');
    int dual = !ep->has_interface && ep->kind != EP_TCP6;
    int one = 1, zero = 0;

    int fd = socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd == -1 && v6 && dual && errno == EAFNOSUPPORT) {
        v6 = 0;   /* no IPv6 on this host: plain IPv4 on every address */
        fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    }
    if (fd == -1)
        return fail(err, errlen, l->desc, "socket");
    l->fd = fd;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (v6) {
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, dual ? &zero : &one, sizeof one);
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons((uint16_t)ep->port);
        in6->sin6_addr = in6addr_any;
        if (ep->has_interface)
            inet_pton(AF_INET6, ep->interface, &in6->sin6_addr);
    } else {
        in->sin_family = AF_INET;
        in->sin_port = htons((uint16_t)ep->port);
        in->sin_addr.s_addr = htonl(INADDR_ANY);
        if (ep->has_interface)
            inet_pton(AF_INET, ep->interface, &in->sin_addr);
    }
    socklen_t len = v6 ? sizeof *in6 : sizeof *in;
    if (bind(fd, (struct sockaddr *)&ss, len) == -1)
        return fail(err, errlen, l->desc, "bind");
    if (listen(fd, ep->backlog) == -1)
        return fail(err, errlen, l->desc, "listen");
    return 0;
}

/* A socket file nobody answers on is left over from a dead server. */
static int unix_path_stale(const struct sockaddr_un *sun)
{
    struct stat st;
    if (lstat(sun->sun_path, &st) == -1 || !S_ISSOCK(st.st_mode))
        return 0;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd == -1)
        return 0;
    int stale = connect(fd, (const struct sockaddr *)sun, sizeof *sun) == -1 &&
                errno == ECONNREFUSED;
    close(fd);
    return stale;
}

static int take_unix_lock(struct gale_listener *l, char *err, size_t errlen)
{
    char lock[EP_PATH_MAX + 8];
    snprintf(lock, sizeof lock, "%s.lock", l->ep.path);
    l->lock_fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (l->lock_fd == -1)
        return fail(err, errlen, l->desc, "lockfile");
    if (flock(l->lock_fd, LOCK_EX | LOCK_NB) == -1) {
        snprintf(err, errlen, "cannot listen on %s: another server holds %s", l->desc, lock);
        return -1;
    }
    unlink(l->ep.path);   /* we hold the lock: any socket file there is stale */
    return 0;
}

static int bind_unix(struct gale_listener *l, char *err, size_t errlen)
{
    struct sockaddr_un sun = { .sun_family = AF_UNIX };
    strcpy(sun.sun_path, l->ep.path);   /* the parser bounds it */
    if (l->ep.lockfile && take_unix_lock(l, err, errlen) == -1)
        return -1;
    if (!l->ep.lockfile && unix_path_stale(&sun))
        unlink(sun.sun_path);
    l->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (l->fd == -1)
        return fail(err, errlen, l->desc, "socket");
    if (bind(l->fd, (struct sockaddr *)&sun, sizeof sun) == -1)
        return fail(err, errlen, l->desc, "bind");
    if (chmod(sun.sun_path, l->ep.mode) == -1)
        return fail(err, errlen, l->desc, "chmod");
    if (listen(l->fd, l->ep.backlog) == -1)
        return fail(err, errlen, l->desc, "listen");
    return 0;
}

/* LISTEN_FDNAMES is colon-separated, one name per inherited socket. */
static int sd_index_of_name(const char *name, int nfds)
{
    const char *names = getenv("LISTEN_FDNAMES");
    if (!names)
        return -1;
    size_t n = strlen(name);
    int i = 0;
    for (const char *p = names; i < nfds; i++) {
        size_t m = strcspn(p, ":");
        if (m == n && memcmp(p, name, n) == 0)
            return i;
        if (!p[m])
            break;
        p += m + 1;
    }
    return -1;
}

static int take_systemd(struct gale_listener *l, char *err, size_t errlen)
{
    const char *pid = getenv("LISTEN_PID"), *fds = getenv("LISTEN_FDS");
    int nfds = fds ? atoi(fds) : 0;
    if (!pid || atol(pid) != (long)getpid() || nfds <= 0) {
        snprintf(err, errlen, "cannot listen on %s: no sockets were passed by systemd "
                 "(LISTEN_PID and LISTEN_FDS)", l->desc);
        return -1;
    }
    int idx = l->ep.sd_name[0] ? sd_index_of_name(l->ep.sd_name, nfds) : l->ep.sd_index;
    if (idx < 0 || idx >= nfds) {
        snprintf(err, errlen, "cannot listen on %s: systemd passed %d socket%s and none "
                 "matches", l->desc, nfds, nfds == 1 ? "" : "s");
        return -1;
    }
    int fd = SD_LISTEN_FDS_START + idx, domain;
    socklen_t len = sizeof domain;
    if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) == -1)
        return fail(err, errlen, l->desc, "inherited socket");
    if (l->ep.sd_domain && domain != l->ep.sd_domain) {
        snprintf(err, errlen, "cannot listen on %s: inherited socket %d is of another domain",
                 l->desc, idx);
        return -1;
    }
    l->fd = fd;
    l->inherited = 1;
    fcntl(fd, F_SETFD, FD_CLOEXEC);
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    return 0;
}

/* --- accepting ----------------------------------------------------- */

static void listener_update(struct gale_listener *l)
{
    int want = !l->stopped && !l->paused_error &&
               !(max_per_listener && l->count >= max_per_listener);
    if (want == l->armed)
        return;
    l->armed = want;
    if (want)
        event_add(l->ev, NULL);
    else
        event_del(l->ev);
}

static void on_retry(evutil_socket_t fd, short what, void *arg)
{
    struct gale_listener *l = arg;
    (void)fd; (void)what;
    l->paused_error = 0;
    listener_update(l);
}

/* Out of descriptors: the pending connection stays queued and the fd
 * stays readable, so stop watching it for a moment instead of spinning. */
static void pause_accepting(struct gale_listener *l)
{
    struct timeval tv = { 0, 100 * 1000 };
    log_warnx("event=accept-paused listener=%s error=\"%s\"", l->desc, strerror(errno));
    l->paused_error = 1;
    listener_update(l);
    evtimer_add(l->retry, &tv);
}

static void conn_link(struct gale_conn *c)
{
    c->next = conns;
    if (conns)
        conns->prev = c;
    conns = c;
    n_conns++;
}

static void conn_new(struct gale_listener *l, int fd, struct sockaddr_storage *ss, socklen_t len)
{
    struct gale_conn *c = calloc(1, l->extra ? EXTRA_OFFSET + l->extra : sizeof *c);
    if (!c) {
        close(fd);
        return;
    }
    c->id = next_id++;
    c->fd = fd;
    c->tls = l->ssl_ctx != NULL;
    c->listener = l;
    c->started = monotonic_now();
    if (ss->ss_family == AF_INET || ss->ss_family == AF_INET6) {
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
    if (ss->ss_family == AF_INET || ss->ss_family == AF_INET6) {
        c->peer_len = (uint8_t)(len <= sizeof c->peer_addr ? len : sizeof c->peer_addr);
        memcpy(&c->peer_addr, ss, c->peer_len);
    } else {
        c->peer_addr.sa.sa_family = ss->ss_family;     /* unix: nameless */
        c->peer_len = sizeof c->peer_addr.sa.sa_family;
    }
    conn_link(c);
    l->count++;
    listener_update(l);
    instance_push(l->owner);
    l->cb(c, l->arg);
    instance_pop();
}

static void on_accept(evutil_socket_t lfd, short what, void *arg)
{
    struct gale_listener *l = arg;
    (void)what;
    for (int i = 0; i < ACCEPT_BATCH && !l->stopped; i++) {
        if (max_per_listener && l->count >= max_per_listener)
            return;
        struct sockaddr_storage ss;
        socklen_t len = sizeof ss;
        int fd = accept4(lfd, (struct sockaddr *)&ss, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd >= 0) {
            conn_new(l, fd, &ss, len);
            continue;
        }
        if (errno == EINTR || errno == ECONNABORTED || errno == EPROTO)
            continue;
        if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
            pause_accepting(l);
        else if (errno != EAGAIN && errno != EWOULDBLOCK)
            log_warn("accept on %s", l->desc);
        return;
    }
}

static int open_kind(struct gale_listener *l, char *err, size_t errlen)
{
    switch (l->ep.kind) {
    case EP_UNIX:
        return bind_unix(l, err, errlen);
    case EP_SYSTEMD:
        return take_systemd(l, err, errlen);
    case EP_SSL:
        l->ssl_ctx = tls_server_ctx(l->ep.cert_key, l->ep.private_key, err, errlen);
        if (!l->ssl_ctx)
            return -1;
        return bind_inet(l, err, errlen);
    default:
        return bind_inet(l, err, errlen);
    }
}

static void listener_free(struct gale_listener *l)
{
    if (l->ev)
        event_free(l->ev);
    if (l->retry)
        event_free(l->retry);
    if (l->fd >= 0)
        close(l->fd);
    if (l->lock_fd >= 0)
        close(l->lock_fd);
    if (l->ssl_ctx)
        SSL_CTX_free(l->ssl_ctx);
    free(l);
}

struct gale_listener *listener_open(const char *desc, gale_accept_cb cb, void *arg,
                                    char *err, size_t errlen)
{
    struct gale_listener *l = calloc(1, sizeof *l);
    if (!l) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    l->fd = l->lock_fd = -1;
    l->owner = instance_current();
    l->cb = cb;
    l->arg = arg;
    snprintf(l->desc, sizeof l->desc, "%s", desc);
    if (endpoint_parse(desc, &l->ep, err, errlen) == -1 || open_kind(l, err, errlen) == -1) {
        listener_free(l);
        return NULL;
    }
    l->ev = event_new(reactor_base(), l->fd, EV_READ | EV_PERSIST, on_accept, l);
    l->retry = evtimer_new(reactor_base(), on_retry, l);
    if (!l->ev || !l->retry) {
        snprintf(err, errlen, "out of memory");
        listener_free(l);
        return NULL;
    }
    l->next = listeners;
    listeners = l;
    listener_update(l);
    log_info("event=listen endpoint=\"%s\"", desc);
    return l;
}

/* Stop accepting.  The socket is closed at once so that the kernel stops
 * queuing new clients and a replacement may bind the address. */
static void listener_stop(struct gale_listener *l)
{
    l->stopped = 1;
    listener_update(l);
    if (!l->inherited && l->fd >= 0) {
        close(l->fd);
        l->fd = -1;
        if (l->ep.kind == EP_UNIX)
            unlink(l->ep.path);
    }
}

static void listener_close(struct gale_listener *l)
{
    if (l->ep.kind == EP_UNIX && l->fd >= 0)
        unlink(l->ep.path);
    listener_free(l);
}

void listeners_stop_all(void)
{
    for (struct gale_listener *l = listeners; l; l = l->next)
        listener_stop(l);
}

static void stop_where(const struct gale_instance *in, const void *arg)
{
    for (struct gale_listener *l = listeners; l; l = l->next)
        if (in ? l->owner == in : l->arg == arg)
            listener_stop(l);
}

/* Connections keep a pointer to their listener: close only one whose
 * connections are all gone. */
static void close_where(const struct gale_instance *in, const void *arg)
{
    struct gale_listener **pp = &listeners;
    while (*pp) {
        struct gale_listener *l = *pp;
        if ((in ? l->owner == in : l->arg == arg) && l->count == 0) {
            *pp = l->next;
            listener_close(l);
        } else {
            pp = &l->next;
        }
    }
}

void listeners_stop_owned(const struct gale_instance *in) { stop_where(in, NULL); }
void listeners_close_owned(const struct gale_instance *in) { close_where(in, NULL); }
void listeners_stop_for(const void *arg) { stop_where(NULL, arg); }
void listeners_close_for(const void *arg) { close_where(NULL, arg); }

void listeners_close_all(void)
{
    while (listeners) {
        struct gale_listener *l = listeners;
        listeners = l->next;
        listener_close(l);
    }
}

/* --- connections --------------------------------------------------- */

struct bufferevent *conn_bufferevent(struct gale_conn *c)
{
    return conn_bufferevent_tls(c, c->tls ? c->listener->ssl_ctx : NULL);
}

struct bufferevent *conn_bufferevent_tls(struct gale_conn *c, struct ssl_ctx_st *ctx)
{
    struct event_base *base = reactor_base();
    struct bufferevent *bev;
    if (c->fd < 0)
        return NULL;
    if (ctx) {
        SSL *ssl = SSL_new(ctx);
        if (!ssl)
            return NULL;
        bev = bufferevent_openssl_socket_new(base, c->fd, ssl, BUFFEREVENT_SSL_ACCEPTING,
                                             BEV_OPT_CLOSE_ON_FREE);
        if (!bev)
            SSL_free(ssl);
        else
            bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
    } else {
        bev = bufferevent_socket_new(base, c->fd, BEV_OPT_CLOSE_ON_FREE);
    }
    if (!bev)
        return NULL;
    c->fd = -1;
    c->tls = ctx != NULL;
    conn_tune_bufferevent(bev);
    return bev;
}

/* libevent writes at most 16 KiB per call by default: one sendfile() or
 * write() per 16 KiB is far too many system calls for large bodies. */
void conn_tune_bufferevent(struct bufferevent *bev)
{
    bufferevent_set_max_single_write(bev, 1024 * 1024);
    bufferevent_set_max_single_read(bev, 64 * 1024);
}

/* A plain socket's bufferevent, not TLS: its fd can be written directly. */
static int plain_socket(struct bufferevent *bev)
{
    return bufferevent_openssl_get_ssl(bev) == NULL && bufferevent_getfd(bev) >= 0;
}

void conn_send(struct bufferevent *bev, const char *p, size_t n)
{
    struct evbuffer *out = bufferevent_get_output(bev);
    if (n == 0)
        return;
    if (plain_socket(bev) && evbuffer_get_length(out) == 0 &&
        !(bufferevent_get_enabled(bev) & EV_WRITE)) {
        ssize_t w;
        do {
            w = write(bufferevent_getfd(bev), p, n);
        } while (w < 0 && errno == EINTR);
        /* A failed write is left to the bufferevent: its own attempt
         * meets the same error and reports it through the event callback. */
        if (w > 0) {
            p += w;
            n -= (size_t)w;
        }
        if (n == 0)
            return;
    }
    evbuffer_add(out, p, n);
    bufferevent_enable(bev, EV_WRITE);
}

int conn_read(int fd, struct evbuffer *in, size_t max)
{
    struct evbuffer_iovec v[2];
    int nv = evbuffer_reserve_space(in, (ev_ssize_t)max, v, 2);
    if (nv <= 0)
        return -1;
    ssize_t n;
    do {
        n = readv(fd, (struct iovec *)v, nv);
    } while (n < 0 && errno == EINTR);
    if (n <= 0) {
        evbuffer_commit_space(in, v, 0);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return -2;
        return n == 0 ? 0 : -1;
    }
    size_t left = (size_t)n;
    for (int i = 0; i < nv; i++) {
        if (v[i].iov_len > left)
            v[i].iov_len = left;
        left -= v[i].iov_len;
    }
    evbuffer_commit_space(in, v, nv);
    return (int)n;
}


void conn_flushed(struct bufferevent *bev)
{
    if (plain_socket(bev) && evbuffer_get_length(bufferevent_get_output(bev)) == 0)
        bufferevent_disable(bev, EV_WRITE);
}

void conn_free(struct gale_conn *c)
{
    if (c->prev)
        c->prev->next = c->next;
    else
        conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    n_conns--;
    if (c->fd >= 0)
        close(c->fd);
    struct gale_listener *l = c->listener;
    l->count--;
    listener_update(l);
    free(c);
    reactor_conn_gone();
}

static void conn_abort(struct gale_conn *c)
{
    instance_push(c->listener->owner);
    if (c->abort)
        c->abort(c, c->data);
    else
        conn_free(c);
    instance_pop();
}

/* Each abort frees at most its own connection (now, or once the callback
 * it is in returns), so the next one is safe to keep. */
static void conns_abort_where(const struct gale_instance *in, int all)
{
    struct gale_conn *c = conns;
    while (c) {
        struct gale_conn *next = c->next;
        if (all || c->listener->owner == in)
            conn_abort(c);
        c = next;
    }
}

void conns_abort_all(void)
{
    conns_abort_where(NULL, 1);
}

void conns_abort_owned(const struct gale_instance *in)
{
    conns_abort_where(in, 0);
}

unsigned conns_open_owned(const struct gale_instance *in)
{
    unsigned n = 0;
    for (const struct gale_conn *c = conns; c; c = c->next)
        n += c->listener->owner == in;
    return n;
}
