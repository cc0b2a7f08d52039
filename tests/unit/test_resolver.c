/*
 * Unit test of common/resolver.c and common/connector.c against the real
 * reactor: numeric hosts, /etc/hosts, a failing name, connects to a
 * listening and a closed loopback port, and cancellation.  TAP-style
 * output ("ok N - ..."); exits non-zero when any check fails.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>

#include "connector.h"
#include "reactor.h"
#include "resolver.h"

#define WAIT_LIMIT 10.0   /* seconds before a pending answer fails the test */

static int tests, failures;

static void check(int ok, const char *what)
{
    tests++;
    if (!ok)
        failures++;
    printf("%sok %d - %s\n", ok ? "" : "not ", tests, what);
    fflush(stdout);
}

/* What one resolve_host() call answered. */
struct answer {
    int done;
    size_t n;
    struct resolved_addr addrs[16];
    char error[512];
};

static void on_answer(const struct resolved_addr *addrs, size_t n,
                      const char *error, void *arg)
{
    struct answer *a = arg;

    a->done++;
    a->n = n;
    if (n > 16)
        n = 16;
    if (n > 0)
        memcpy(a->addrs, addrs, n * sizeof *addrs);
    snprintf(a->error, sizeof a->error, "%s", error != NULL ? error : "");
}

/* What one connect_host() call answered. */
struct connected {
    int done;
    int fd;
    char error[512];
};

static void on_connect(int fd, const char *error, void *arg)
{
    struct connected *c = arg;

    c->done++;
    c->fd = fd;
    snprintf(c->error, sizeof c->error, "%s", error != NULL ? error : "");
}

static void on_limit(evutil_socket_t fd, short what, void *arg)
{
    (void)fd; (void)what;
    *(int *)arg = 1;
}

/* Runs the loop until *flag is set or `seconds` pass; 0 on timeout. */
static int run_until(const int *flag, double seconds)
{
    int expired = 0;
    struct timeval tv = { (time_t)seconds,
                          (suseconds_t)((seconds - (double)(time_t)seconds) * 1e6) };
    struct event *limit = evtimer_new(reactor_base(), on_limit, &expired);

    evtimer_add(limit, &tv);
    while (!*flag && !expired)
        event_base_loop(reactor_base(), EVLOOP_ONCE);
    event_free(limit);
    return *flag != 0;
}

static int is_loopback(const struct resolved_addr *a)
{
    if (a->sa.ss_family == AF_INET) {
        const struct sockaddr_in *s = (const struct sockaddr_in *)&a->sa;
        return (ntohl(s->sin_addr.s_addr) >> 24) == 127;
    }
    if (a->sa.ss_family == AF_INET6)
        return IN6_IS_ADDR_LOOPBACK(&((const struct sockaddr_in6 *)&a->sa)->sin6_addr);
    return 0;
}

static int port_of(const struct resolved_addr *a)
{
    if (a->sa.ss_family == AF_INET)
        return ntohs(((const struct sockaddr_in *)&a->sa)->sin_port);
    return ntohs(((const struct sockaddr_in6 *)&a->sa)->sin6_port);
}

static void test_numeric(const char *host, int family, const char *what)
{
    struct answer a = { 0 };
    char line[128];
    int early;

    resolve_host(host, 8080, on_answer, &a);
    early = a.done;
    snprintf(line, sizeof line, "%s: callback not run inside resolve_host", what);
    check(!early, line);
    run_until(&a.done, WAIT_LIMIT);
    snprintf(line, sizeof line, "%s: one address, right family, port 8080", what);
    check(a.done == 1 && a.n == 1 && a.addrs[0].sa.ss_family == family &&
          is_loopback(&a.addrs[0]) && port_of(&a.addrs[0]) == 8080 &&
          a.addrs[0].len == (family == AF_INET ? sizeof(struct sockaddr_in)
                                               : sizeof(struct sockaddr_in6)), line);
}

static void test_names(void)
{
    struct answer a = { 0 }, bad = { 0 };
    int all_loop = 1;

    resolve_host("localhost", 80, on_answer, &a);
    check(!a.done, "localhost: callback not run inside resolve_host");
    check(run_until(&a.done, WAIT_LIMIT) && a.n >= 1, "localhost resolves");
    for (size_t i = 0; i < a.n; i++)
        all_loop &= is_loopback(&a.addrs[i]) && port_of(&a.addrs[i]) == 80;
    check(a.n >= 1 && all_loop, "localhost: only loopback addresses, port 80");

    resolve_host("no-such-host.invalid", 80, on_answer, &bad);
    check(run_until(&bad.done, WAIT_LIMIT), "invalid name answers within 10 s");
    check(bad.done == 1 && bad.n == 0 &&
          strstr(bad.error, "cannot resolve no-such-host.invalid") != NULL,
          "invalid name fails with a message");
    printf("# %s\n", bad.error);

    struct answer brk = { 0 };
    resolve_host("[nope]", 80, on_answer, &brk);
    run_until(&brk.done, WAIT_LIMIT);
    check(brk.done == 1 && brk.n == 0 && brk.error[0] != '\0',
          "bracketed non-IPv6 fails with a message");
}

static void test_resolve_cancel(void)
{
    struct answer a = { 0 }, b = { 0 }, c = { 0 }, guard = { 0 };
    int never = 0;

    resolve_cancel(resolve_host("127.0.0.1", 1, on_answer, &a));
    resolve_cancel(resolve_host("localhost", 1, on_answer, &b));
    resolve_cancel(resolve_host("no-such-host.invalid", 1, on_answer, &c));
    /* A later query answering proves the loop ran past the cancelled ones. */
    resolve_host("::1", 1, on_answer, &guard);
    run_until(&guard.done, WAIT_LIMIT);
    run_until(&never, 0.3);
    check(guard.done && !a.done && !b.done && !c.done,
          "cancelled queries never call back");
}

/* A loopback TCP socket on an ephemeral port; listening or merely bound
 * (then connects to it are refused, and nobody else can take the port). */
static int loopback_socket(int do_listen, int *port)
{
    struct sockaddr_in sin = { .sin_family = AF_INET };
    socklen_t len = sizeof sin;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd == -1 || bind(fd, (struct sockaddr *)&sin, sizeof sin) == -1 ||
        (do_listen && listen(fd, 8) == -1) ||
        getsockname(fd, (struct sockaddr *)&sin, &len) == -1) {
        perror("loopback socket");
        exit(1);
    }
    *port = ntohs(sin.sin_port);
    return fd;
}

static void test_connect(void)
{
    int port, closed_port;
    int lfd = loopback_socket(1, &port);
    int bfd = loopback_socket(0, &closed_port);
    struct connected ok = { 0 }, refused = { 0 }, cancelled = { 0 };
    int never = 0;

    connect_host("127.0.0.1", port, 5, on_connect, &ok);
    check(!ok.done, "connect: callback not run inside connect_host");
    check(run_until(&ok.done, WAIT_LIMIT) && ok.fd >= 0 && ok.error[0] == '\0',
          "connect to a listening port succeeds");
    int afd = ok.fd >= 0 ? accept(lfd, NULL, NULL) : -1;   /* never blocks: connected */
    check(afd >= 0, "the listener sees the connection");

    connect_host("127.0.0.1", closed_port, 5, on_connect, &refused);
    check(run_until(&refused.done, WAIT_LIMIT) && refused.fd == -1 &&
          strstr(refused.error, "refused") != NULL,
          "connect to a closed port is refused");
    printf("# %s\n", refused.error);

    connect_cancel(connect_host("127.0.0.1", port, 5, on_connect, &cancelled));
    run_until(&never, 0.3);
    check(!cancelled.done, "cancelled connect never calls back");

    struct connected bad = { 0 };
    connect_host("no-such-host.invalid", 80, 5, on_connect, &bad);
    check(run_until(&bad.done, WAIT_LIMIT) && bad.fd == -1 &&
          strstr(bad.error, "cannot resolve") != NULL,
          "connect to a bad name reports the resolver error");

    if (ok.fd >= 0)
        close(ok.fd);
    if (afd >= 0)
        close(afd);
    close(lfd);
    close(bfd);
}

/* Cancel while the connect() is in flight: the job's resolution and a
 * second zero-timeout answer run in the same loop turn, and the socket's
 * EV_WRITE can only fire on a later turn, so the attempt is pending. */
static void test_cancel_in_flight(void)
{
    int port;
    int lfd = loopback_socket(1, &port);
    struct connected c = { 0 };
    struct answer turn = { 0 };
    int never = 0, in_flight;
    struct connect_job *j = connect_host("127.0.0.1", port, 5, on_connect, &c);

    resolve_host("127.0.0.2", 1, on_answer, &turn);
    run_until(&turn.done, WAIT_LIMIT);
    in_flight = !c.done;
    if (in_flight)
        connect_cancel(j);
    else if (c.fd >= 0)
        close(c.fd);
    run_until(&never, 0.3);
    check(in_flight && !c.done, "connect cancelled mid-attempt never calls back");
    close(lfd);
}

static void test_free_pending(void)
{
    struct answer a = { 0 };
    char err[256];

    resolve_host("no-such-host.invalid", 80, on_answer, &a);
    resolve_host("127.0.0.1", 80, on_answer, &a);
    resolver_free();
    check(!a.done, "resolver_free drops pending queries silently");
    check(resolver_init(err, sizeof err) == 0, "resolver restarts");
    resolver_free();
}

int main(void)
{
    char err[256];

    if (reactor_init(NULL, err, sizeof err) == -1) {
        printf("not ok 1 - reactor_init: %s\n1..1\n", err);
        return 1;
    }
    check(1, "reactor_init");
    if (resolver_init(err, sizeof err) == -1) {
        printf("not ok 2 - resolver_init: %s\n1..2\n", err);
        return 1;
    }
    check(1, "resolver_init");

    test_numeric("127.0.0.1", AF_INET, "127.0.0.1");
    test_numeric("::1", AF_INET6, "::1");
    test_numeric("[::1]", AF_INET6, "[::1]");
    test_names();
    test_resolve_cancel();
    test_connect();
    test_cancel_in_flight();
    test_free_pending();

    reactor_free();
    printf("1..%d\n", tests);
    return failures != 0;
}
