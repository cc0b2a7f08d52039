/*
 * Outgoing TCP connections: resolve the host through resolver.c, then try
 * each address in the resolver's order (families interleaved), one at a
 * time, each attempt a non-blocking connect() bounded by the timeout.
 *
 * The callback always runs from the reactor: the first step is the
 * resolver, which never answers before resolve_host() returns.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>

#include "connector.h"
#include "instance.h"
#include "log.h"
#include "reactor.h"
#include "resolver.h"

#define CONNECT_MAX_ADDRS 16
#define CONNECT_MAX_TIMEOUT (365.0 * 86400)   /* keeps the timeval in range */

struct connect_job {
    struct gale_instance *owner;   /* the current instance in cb */
    connect_cb cb;                 /* one of cb and result_cb */
    connect_result_cb result_cb;
    void *arg;
    connect_filter_fn filter;
    void *filter_arg;
    int err;                       /* errno of the last failure */
    struct timeval timeout;
    int has_timeout;               /* 0: the kernel's own SYN timeout */
    struct resolve_query *query;   /* while resolving */
    struct resolved_addr addrs[CONNECT_MAX_ADDRS];
    size_t n, next;                /* addresses, and the next one to try */
    int fd;                        /* attempt in progress, or -1 */
    struct event *ev;              /* EV_WRITE with the timeout, for fd */
    char error[320];               /* why the last attempt failed */
};

static const char *errno_text(int err)
{
    /* The two everyday failures read better without strerror's capitals. */
    if (err == ECONNREFUSED)
        return "connection refused";
    if (err == ETIMEDOUT)
        return "timed out";
    return strerror(err);
}

static const char *addr_text(const struct resolved_addr *a, char *buf, size_t len)
{
    const void *ip = a->sa.ss_family == AF_INET
        ? (const void *)&((const struct sockaddr_in *)&a->sa)->sin_addr
        : (const void *)&((const struct sockaddr_in6 *)&a->sa)->sin6_addr;

    if (inet_ntop(a->sa.ss_family, ip, buf, (socklen_t)len) == NULL)
        snprintf(buf, len, "?");
    return buf;
}

static void job_free(struct connect_job *j)
{
    if (j->query != NULL)
        resolve_cancel(j->query);
    if (j->ev != NULL)
        event_free(j->ev);
    if (j->fd >= 0)
        close(j->fd);
    free(j);
}

/* The job is gone before cb runs, so cb may do anything. */
static void job_finish(struct connect_job *j, int fd, const char *error)
{
    connect_cb cb = j->cb;
    connect_result_cb result_cb = j->result_cb;
    void *arg = j->arg;
    struct gale_instance *owner = j->owner;
    int err = fd >= 0 ? 0 : j->err;
    char msg[sizeof j->error];

    snprintf(msg, sizeof msg, "%s", error != NULL ? error : "");
    j->fd = -1;   /* fd, when good, now belongs to the callee */
    job_free(j);
    instance_push(owner);
    if (result_cb)
        result_cb(fd, err, fd >= 0 ? NULL : msg, arg);
    else
        cb(fd, fd >= 0 ? NULL : msg, arg);
    instance_pop();
}

static void attempt_failed(struct connect_job *j, int fd, int err, const char *why)
{
    j->err = err;
    char buf[INET6_ADDRSTRLEN];

    log_debug("connect %s: %s",
              addr_text(&j->addrs[j->next - 1], buf, sizeof buf), why);
    snprintf(j->error, sizeof j->error, "%s", why);
    if (fd >= 0)
        close(fd);
}

static void try_next(struct connect_job *j);

static void on_writable(evutil_socket_t fd, short what, void *arg)
{
    struct connect_job *j = arg;
    int err = 0;
    socklen_t len = sizeof err;

    event_free(j->ev);
    j->ev = NULL;
    j->fd = -1;
    if (what & EV_TIMEOUT) {
        attempt_failed(j, fd, ETIMEDOUT, "timed out");
    } else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1 || err != 0) {
        err = err != 0 ? err : errno;
        attempt_failed(j, fd, err, errno_text(err));
    } else {
        job_finish(j, fd, NULL);
        return;
    }
    try_next(j);
}

/* 1: connected at once; 0: in progress, event armed; -1: failed. */
static int attempt(struct connect_job *j, const struct resolved_addr *a)
{
    int one = 1;
    int fd = socket(a->sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

    if (fd == -1) {
        attempt_failed(j, -1, errno, errno_text(errno));
        return -1;
    }
    /* Relays and protocol replies are small writes that must not wait. */
    if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) == -1)
        log_debug("connect: TCP_NODELAY: %s", strerror(errno));
    if (connect(fd, (const struct sockaddr *)&a->sa, a->len) == 0) {
        j->fd = fd;
        return 1;
    }
    if (errno != EINPROGRESS && errno != EINTR) {
        attempt_failed(j, fd, errno, errno_text(errno));
        return -1;
    }
    j->ev = event_new(reactor_base(), fd, EV_WRITE, on_writable, j);
    if (j->ev == NULL || event_add(j->ev, j->has_timeout ? &j->timeout : NULL) == -1) {
        attempt_failed(j, fd, ENOMEM, "cannot watch socket");
        if (j->ev != NULL)
            event_free(j->ev);
        j->ev = NULL;
        return -1;
    }
    j->fd = fd;
    return 0;
}

static void try_next(struct connect_job *j)
{
    while (j->next < j->n) {
        int r = attempt(j, &j->addrs[j->next++]);
        if (r == 1) {
            job_finish(j, j->fd, NULL);
            return;
        }
        if (r == 0)
            return;
    }
    job_finish(j, -1, j->error[0] != '\0' ? j->error : "no address");
}

static void on_resolved(const struct resolved_addr *addrs, size_t n,
                        const char *error, void *arg)
{
    struct connect_job *j = arg;

    j->query = NULL;   /* the resolver frees it once we return */
    j->err = EHOSTUNREACH;
    if (n == 0) {
        job_finish(j, -1, error != NULL ? error : "no address");
        return;
    }
    for (size_t i = 0; i < n && j->n < CONNECT_MAX_ADDRS; i++)
        if (!j->filter || j->filter((const struct sockaddr *)&addrs[i].sa, addrs[i].len,
                                    j->filter_arg))
            j->addrs[j->n++] = addrs[i];
    if (j->n == 0) {
        j->err = EACCES;
        job_finish(j, -1, "destination not allowed");
        return;
    }
    try_next(j);
}

static struct connect_job *job_start(const char *host, int port, const struct connect_opts *o,
                                     connect_cb cb, connect_result_cb result_cb, void *arg)
{
    struct connect_job *j = calloc(1, sizeof *j);
    double timeout = o->timeout;

    if (j == NULL)
        return NULL;
    j->owner = instance_current();
    j->cb = cb;
    j->result_cb = result_cb;
    j->arg = arg;
    j->filter = o->filter;
    j->filter_arg = o->filter_arg;
    j->fd = -1;
    if (timeout > 0) {
        if (timeout > CONNECT_MAX_TIMEOUT)
            timeout = CONNECT_MAX_TIMEOUT;
        j->has_timeout = 1;
        j->timeout.tv_sec = (time_t)timeout;
        j->timeout.tv_usec = (suseconds_t)((timeout - (double)j->timeout.tv_sec) * 1e6);
    }
    j->query = resolve_host(host, port, on_resolved, j);
    if (j->query == NULL) {
        free(j);
        return NULL;
    }
    return j;
}

/* timeout <= 0 (or NaN) leaves each attempt to the kernel's SYN timeout. */
struct connect_job *connect_host(const char *host, int port, double timeout,
                                 connect_cb cb, void *arg)
{
    struct connect_opts o = { .timeout = timeout };

    if (cb == NULL)
        return NULL;
    return job_start(host, port, &o, cb, NULL, arg);
}

struct connect_job *connect_host_opts(const char *host, int port, const struct connect_opts *o,
                                      connect_result_cb cb, void *arg)
{
    if (cb == NULL || o == NULL)
        return NULL;
    return job_start(host, port, o, NULL, cb, arg);
}

void connect_cancel(struct connect_job *j)
{
    if (j != NULL)
        job_free(j);
}
