/*
 * Unit test of the forwarding half of common/resolver.c against the real
 * reactor: a tiny UDP upstream on 127.0.0.1 inside the test, resolv.conf
 * files in a temp dir, answers, SERVFAIL, a dead upstream, cancellation
 * and bad files.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>

#include "reactor.h"
#include "resolver.h"
#include "unit.h"

/* The upstream: answers every query with itself, QR set and this rcode. */
struct upstream {
    int fd, port;
    int rcode;
    int queries;
    struct event *ev;
};

struct answer {
    int done;
    size_t len;
    unsigned char buf[512];
    char error[256];
};

/* example.com IN A, id 0x1234, RD */
static const unsigned char query[] = {
    0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0,
    7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'c', 'o', 'm', 0,
    0, 1, 0, 1,
};

static char tmpdir[] = "/tmp/test_forward.XXXXXX";

static void on_upstream(evutil_socket_t fd, short what, void *arg)
{
    struct upstream *up = arg;
    unsigned char buf[512];
    struct sockaddr_storage from;
    socklen_t fromlen = sizeof from;
    ssize_t n = recvfrom(fd, buf, sizeof buf, 0, (struct sockaddr *)&from, &fromlen);

    (void)what;
    if (n < 12)
        return;
    up->queries++;
    buf[2] |= 0x80;
    buf[3] = (unsigned char)((buf[3] & 0xf0) | up->rcode);
    sendto(fd, buf, (size_t)n, 0, (struct sockaddr *)&from, fromlen);
}

/* A loopback UDP socket on an ephemeral port. */
static int udp_socket(int *port)
{
    struct sockaddr_in sin = { .sin_family = AF_INET };
    socklen_t len = sizeof sin;
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd == -1 || bind(fd, (struct sockaddr *)&sin, sizeof sin) == -1 ||
        getsockname(fd, (struct sockaddr *)&sin, &len) == -1) {
        perror("udp socket");
        exit(1);
    }
    *port = ntohs(sin.sin_port);
    return fd;
}

static void on_answer(const unsigned char *a, size_t len, const char *error, void *arg)
{
    struct answer *ans = arg;

    ans->done++;
    ans->len = len;
    if (a != NULL)
        memcpy(ans->buf, a, len < sizeof ans->buf ? len : sizeof ans->buf);
    snprintf(ans->error, sizeof ans->error, "%s", error != NULL ? error : "");
}

static void on_limit(evutil_socket_t fd, short what, void *arg)
{
    (void)fd; (void)what;
    *(int *)arg = 1;
}

/* Runs the loop until *flag is set or `ms` pass; 0 on timeout. */
static int run_until(const int *flag, int ms)
{
    int expired = 0;
    struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
    struct event *limit = evtimer_new(reactor_base(), on_limit, &expired);

    evtimer_add(limit, &tv);
    while (!*flag && !expired)
        event_base_loop(reactor_base(), EVLOOP_ONCE);
    event_free(limit);
    return *flag != 0;
}

/* Writes text to tmpdir/name; the path goes to path. */
static void write_conf(const char *name, const char *text, char *path, size_t len)
{
    FILE *fp;

    snprintf(path, len, "%s/%s", tmpdir, name);
    fp = fopen(path, "w");
    if (fp == NULL || fputs(text, fp) == EOF || fclose(fp) == EOF) {
        perror(path);
        exit(1);
    }
}

static struct resolver_upstream *open_port(const char *name, int port)
{
    char text[128], path[256], err[256] = "";
    struct resolver_upstream *u;

    snprintf(text, sizeof text, "# test\nsearch example.org\nnameserver 127.0.0.1:%d\n", port);
    write_conf(name, text, path, sizeof path);
    u = upstream_open(path, err, sizeof err);
    CHECK(u != NULL, "upstream_open %s (%s)", name, err);
    return u;
}

static void test_answer(struct upstream *up)
{
    struct resolver_upstream *u = open_port("ok.conf", up->port);
    struct answer a = { 0 };

    if (u == NULL)
        return;
    CHECK(forward_send(u, query, sizeof query, on_answer, &a) != NULL, "forward_send");
    CHECK(!a.done, "callback not run inside forward_send");
    CHECK(run_until(&a.done, 5000), "the answer arrives");
    CHECK(a.done == 1 && a.len == sizeof query && a.error[0] == '\0' &&
          (a.buf[2] & 0x80) && memcmp(a.buf + 12, query + 12, sizeof query - 12) == 0,
          "the whole answer, same question, QR set");
    CHECK(up->queries == 1, "the upstream saw one query");

    struct answer c = { 0 }, guard = { 0 };
    forward_cancel(forward_send(u, query, sizeof query, on_answer, &c));
    forward_send(u, query, sizeof query, on_answer, &guard);
    run_until(&guard.done, 5000);
    int never = 0;
    run_until(&never, 300);
    CHECK(guard.done == 1 && !c.done, "a cancelled query never calls back");

    struct answer shortq = { 0 };
    forward_send(u, query, 5, on_answer, &shortq);
    CHECK(!shortq.done, "a short query: callback not run inside forward_send");
    CHECK(run_until(&shortq.done, 1000) && shortq.len == 0 && shortq.error[0] != '\0',
          "a short query fails through the callback");

    up->rcode = 2;   /* SERVFAIL */
    up->queries = 0;
    struct answer sf = { 0 };
    forward_send(u, query, sizeof query, on_answer, &sf);
    CHECK(run_until(&sf.done, 5000) && sf.len == 0 && sf.error[0] != '\0',
          "SERVFAIL from every try is an error");
    CHECK(up->queries == 2, "the upstream was tried twice (%d)", up->queries);
    printf("# %s\n", sf.error);
    up->rcode = 0;

    struct answer pending = { 0 };
    forward_send(u, query, sizeof query, on_answer, &pending);
    upstream_close(u);
    run_until(&never, 300);
    CHECK(!pending.done, "upstream_close drops pending queries silently");
}

static void test_dead(void)
{
    int port, fd = udp_socket(&port);
    struct resolver_upstream *u;
    struct answer a = { 0 };

    close(fd);   /* nothing listens there now: ICMP port unreachable */
    u = open_port("dead.conf", port);
    if (u == NULL)
        return;
    forward_send(u, query, sizeof query, on_answer, &a);
    CHECK(run_until(&a.done, 5000), "a dead upstream answers within 5 s");
    CHECK(a.done == 1 && a.len == 0 && a.error[0] != '\0', "with an error");
    printf("# %s\n", a.error);
    upstream_close(u);
}

static void test_bad_files(void)
{
    char path[256], err[256] = "";

    CHECK(upstream_open("/nonexistent/resolv.conf", err, sizeof err) == NULL,
          "an unreadable file fails");
    CHECK_HAS(err, "/nonexistent/resolv.conf", "the error names the file");

    err[0] = '\0';
    write_conf("empty.conf", "# nothing\nsearch example.org\noptions ndots:2\n",
               path, sizeof path);
    CHECK(upstream_open(path, err, sizeof err) == NULL, "a file without nameserver fails");
    CHECK_HAS(err, "no nameserver", "the error says why");

    err[0] = '\0';
    write_conf("bad.conf", "nameserver 127.0.0.1:99999\n", path, sizeof path);
    CHECK(upstream_open(path, err, sizeof err) == NULL, "a bad port fails");
    CHECK_HAS(err, "line 1", "the error names the line");

    struct resolver_upstream *u;
    err[0] = '\0';
    write_conf("v6.conf", "nameserver ::1\nnameserver [::1]:5353\nnameserver 192.0.2.1\n",
               path, sizeof path);
    u = upstream_open(path, err, sizeof err);
    CHECK(u != NULL, "IPv6, [V6]:PORT and plain IPv4 servers are accepted (%s)", err);
    upstream_close(u);
}

int main(void)
{
    char err[256], path[256];
    struct upstream up = { .rcode = 0 };

    if (mkdtemp(tmpdir) == NULL || reactor_init(NULL, err, sizeof err) == -1) {
        printf("not ok 1 - setup\n1..1\n");
        return 1;
    }
    up.fd = udp_socket(&up.port);
    up.ev = event_new(reactor_base(), up.fd, EV_READ | EV_PERSIST, on_upstream, &up);
    event_add(up.ev, NULL);

    test_answer(&up);
    test_dead();
    test_bad_files();

    event_free(up.ev);
    close(up.fd);
    reactor_free();
    const char *names[] = { "ok.conf", "dead.conf", "empty.conf", "bad.conf", "v6.conf" };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", tmpdir, names[i]);
        unlink(path);
    }
    rmdir(tmpdir);
    return unit_done();
}
