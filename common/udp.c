/* Datagram listeners; see udp.h. */
#include "udp.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <event2/event.h>

#include "conn.h"
#include "instance.h"
#include "log.h"
#include "reactor.h"

#define BATCH 32
#define DATAGRAM_MAX 4096   /* larger ones are cut by the kernel and dropped */

/* The replies made while one batch is handled, sent with one sendmmsg. */
struct udp_out {
    struct mmsghdr msgs[BATCH];
    struct iovec iov[BATCH];
    struct sockaddr_storage peers[BATCH];
    uint8_t bufs[BATCH][DATAGRAM_MAX];
    int n;
};

struct gale_udp {
    int fd;
    struct event *ev;
    udp_datagram_cb cb;
    void *arg;
    struct udp_out *out;          /* set while a batch is handled */
    struct gale_instance *owner;  /* whose socket it is */
    struct gale_udp *next;
};

static struct gale_udp *all;
static uint8_t bufs[BATCH][DATAGRAM_MAX];
static struct sockaddr_storage peers[BATCH];
static struct udp_out batch_out;

/* A datagram the kernel refuses (a bad address) is skipped, so the rest
 * still go; a full send buffer drops what is left, as sendto would. */
static void flush_out(struct gale_udp *u, struct udp_out *o)
{
    int i = 0;
    while (i < o->n) {
        int r = sendmmsg(u->fd, o->msgs + i, (unsigned)(o->n - i), MSG_DONTWAIT);
        if (r > 0)
            i += r;
        else if (r == -1 && (errno == EAGAIN || errno == ENOBUFS))
            break;
        else if (r == -1 && errno != EINTR)
            i++;
    }
    o->n = 0;
}

static void on_readable(evutil_socket_t fd, short what, void *arg)
{
    struct gale_udp *u = arg;
    struct mmsghdr msgs[BATCH];
    struct iovec iov[BATCH];
    (void)what;
    for (int i = 0; i < BATCH; i++) {
        iov[i] = (struct iovec){ bufs[i], DATAGRAM_MAX };
        msgs[i].msg_hdr = (struct msghdr){ .msg_name = &peers[i],
                                           .msg_namelen = sizeof peers[i],
                                           .msg_iov = &iov[i], .msg_iovlen = 1 };
    }
    int n = recvmmsg(fd, msgs, BATCH, MSG_DONTWAIT, NULL);
    if (n == -1) {
        if (errno != EAGAIN && errno != EINTR)
            log_warn("recvmmsg");
        return;
    }
    u->out = &batch_out;
    instance_push(u->owner);
    for (int i = 0; i < n; i++) {
        if (msgs[i].msg_hdr.msg_flags & MSG_TRUNC)
            continue;
        u->cb(u, bufs[i], msgs[i].msg_len, (struct sockaddr *)&peers[i],
              msgs[i].msg_hdr.msg_namelen, u->arg);
    }
    instance_pop();
    flush_out(u, u->out);
    u->out = NULL;
}

/* Queued for the batch's one sendmmsg. */
static void queue_out(struct udp_out *o, const void *data, size_t len,
                      const struct sockaddr *peer, socklen_t peerlen)
{
    int i = o->n++;
    memcpy(o->bufs[i], data, len);
    memcpy(&o->peers[i], peer, peerlen);
    o->iov[i] = (struct iovec){ o->bufs[i], len };
    o->msgs[i].msg_hdr = (struct msghdr){ .msg_name = &o->peers[i], .msg_namelen = peerlen,
                                          .msg_iov = &o->iov[i], .msg_iovlen = 1 };
}

int udp_send(struct gale_udp *u, const void *data, size_t len, const struct sockaddr *peer,
             socklen_t peerlen)
{
    struct udp_out *o = u->out;
    if (o && len <= DATAGRAM_MAX && peerlen <= sizeof o->peers[0]) {
        if (o->n == BATCH)
            flush_out(u, o);
        queue_out(o, data, len, peer, peerlen);
        return 0;
    }
    ssize_t n = sendto(u->fd, data, len, MSG_DONTWAIT, peer, peerlen);
    return n == (ssize_t)len ? 0 : -1;
}

int udp_port(const struct gale_udp *u)
{
    return socket_local_port(u->fd);
}

static int bind_socket(int port, const char *iface, char *err, size_t errlen)
{
    struct sockaddr_storage ss = { 0 };
    struct sockaddr_in *in = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
    int any = !iface || !*iface, v6 = any || strchr(iface, ':');
    int fd = socket(v6 ? AF_INET6 : AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd == -1 && any && errno == EAFNOSUPPORT) {
        v6 = 0;
        fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    }
    if (fd == -1) {
        snprintf(err, errlen, "cannot listen on udp port %d: %s", port, strerror(errno));
        return -1;
    }
    /* No SO_REUSEADDR: for UDP it would let a second server share the
     * port silently. */
    int zero = 0, one = 1, r;
    if (v6) {
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, any ? &zero : &one, sizeof one);
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons((uint16_t)port);
        r = any ? 1 : inet_pton(AF_INET6, iface, &in6->sin6_addr);
    } else {
        in->sin_family = AF_INET;
        in->sin_port = htons((uint16_t)port);
        r = inet_pton(AF_INET, iface, &in->sin_addr);
    }
    /* As DNS servers do: replies never carry DF, so a forged ICMP "too
     * big" cannot lower the size they are sent at (RFC 8085 3.2). */
    int omit = IP_PMTUDISC_OMIT;
    setsockopt(fd, IPPROTO_IP, IP_MTU_DISCOVER, &omit, sizeof omit);
    if (v6) {
        omit = IPV6_PMTUDISC_OMIT;
        setsockopt(fd, IPPROTO_IPV6, IPV6_MTU_DISCOVER, &omit, sizeof omit);
    }
    if (r != 1) {
        snprintf(err, errlen, "interface '%s' is not an IP address", iface);
    } else if (bind(fd, (struct sockaddr *)&ss, v6 ? sizeof *in6 : sizeof *in) == -1) {
        snprintf(err, errlen, "cannot listen on udp port %d: %s", port, strerror(errno));
    } else {
        return fd;
    }
    close(fd);
    return -1;
}

struct gale_udp *udp_open(int port, const char *iface, udp_datagram_cb cb, void *arg,
                          char *err, size_t errlen)
{
    struct gale_udp *u = calloc(1, sizeof *u);
    if (!u) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    u->fd = bind_socket(port, iface, err, errlen);
    if (u->fd == -1) {
        free(u);
        return NULL;
    }
    u->cb = cb;
    u->arg = arg;
    u->owner = instance_current();
    u->ev = event_new(reactor_base(), u->fd, EV_READ | EV_PERSIST, on_readable, u);
    if (!u->ev || event_add(u->ev, NULL) == -1) {
        snprintf(err, errlen, "out of memory");
        if (u->ev)
            event_free(u->ev);
        close(u->fd);
        free(u);
        return NULL;
    }
    u->next = all;
    all = u;
    return u;
}

static void udp_free(struct gale_udp *u)
{
    event_free(u->ev);
    close(u->fd);
    free(u);
}

void udp_close_all(void)
{
    while (all) {
        struct gale_udp *u = all;
        all = u->next;
        udp_free(u);
    }
}

void udp_close_owned(const struct gale_instance *in)
{
    struct gale_udp **pp = &all;
    while (*pp) {
        struct gale_udp *u = *pp;
        if (u->owner == in) {
            *pp = u->next;
            udp_free(u);
        } else {
            pp = &u->next;
        }
    }
}
