/*
 * Unit test of common/endpoint.c: every form of endpoint description in
 * endpoint.h (Twisted's strports syntax), the bad ones and what their
 * errors say, and sockaddr_format() for IPv4, IPv6, IPv4-mapped IPv6 and
 * unix addresses.  TAP output; exits non-zero when a check fails.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "endpoint.h"
#include "unit.h"

static struct endpoint ep;
static char err[1024];

/* Parses a description that must be good; the result is left in ep. */
static int good(const char *desc)
{
    err[0] = '\0';
    int r = endpoint_parse(desc, &ep, err, sizeof err);
    if (!CHECK(r == 0, "'%s' parses", desc))
        printf("#   error: %s\n", err);
    return r == 0;
}

/* A description that must be refused, with an error naming the bad part. */
static void bad(const char *desc, const char *part)
{
    char prefix[1200];
    err[0] = '\0';
    int r = endpoint_parse(desc, &ep, err, sizeof err);
    CHECK(r == -1, "'%s' is refused", desc);
    snprintf(prefix, sizeof prefix, "bad endpoint '%s'", desc);
    CHECK(strncmp(err, prefix, strlen(prefix)) == 0, "error for '%s' starts with the description",
          desc);
    CHECK_HAS(err, part, "error for '%s' names '%s'", desc, part);
}

static void test_tcp(void)
{
    if (good("8080"))
        CHECK(ep.kind == EP_TCP && ep.port == 8080 && !ep.has_interface && ep.backlog > 0,
              "'8080' is tcp port 8080 on every interface");
    if (good("tcp:80"))
        CHECK(ep.kind == EP_TCP && ep.port == 80 && !ep.has_interface, "'tcp:80' is tcp port 80");
    if (good("tcp:0"))
        CHECK(ep.port == 0, "port 0 (any free port) is allowed");
    if (good("tcp:65535"))
        CHECK(ep.port == 65535, "port 65535 is allowed");
    if (good("tcp:80:interface=127.0.0.1")) {
        CHECK(ep.has_interface, "interface= sets has_interface");
        CHECK_STR(ep.interface, "127.0.0.1", "interface is kept as given");
    }
    if (good("tcp:80:backlog=10"))
        CHECK(ep.backlog == 10 && ep.port == 80, "backlog=10 is stored");
    if (good("tcp6:80:interface=\\:\\:1")) {
        CHECK(ep.kind == EP_TCP6 && ep.port == 80, "tcp6 kind and port");
        CHECK_STR(ep.interface, "::1", "escaped colons are unescaped in the interface");
    }
    if (good("tcp:80:backlog=5:interface=10.0.0.1"))
        CHECK(ep.backlog == 5 && ep.has_interface, "keywords may come in any order");
}

static void test_unix(void)
{
    if (good("unix:/tmp/x.sock")) {
        CHECK(ep.kind == EP_UNIX, "unix kind");
        CHECK_STR(ep.path, "/tmp/x.sock", "unix path");
        CHECK(ep.mode == 0666 && ep.lockfile == 0, "unix defaults: mode 0666, no lockfile");
    }
    if (good("unix:/tmp/x.sock:mode=0600:lockfile=1"))
        CHECK(ep.mode == 0600 && ep.lockfile == 1, "mode=0600 and lockfile=1 are stored");
    if (good("unix:/tmp/a\\:b.sock"))
        CHECK_STR(ep.path, "/tmp/a:b.sock", "an escaped colon stays in the path");

    char path[200], desc[220];
    memset(path, 'a', 107);
    path[0] = '/';
    path[107] = '\0';
    snprintf(desc, sizeof desc, "unix:%s", path);
    if (good(desc))
        CHECK(strlen(ep.path) == 107, "a path of 107 bytes fits sun_path");
    path[107] = 'a';
    path[108] = '\0';
    snprintf(desc, sizeof desc, "unix:%s", path);
    bad(desc, "path");
}

static void test_ssl_systemd(void)
{
    if (good("ssl:443:privateKey=k.pem")) {
        CHECK(ep.kind == EP_SSL && ep.port == 443, "ssl kind and port");
        CHECK_STR(ep.private_key, "k.pem", "privateKey");
        CHECK_STR(ep.cert_key, "k.pem", "certKey defaults to privateKey");
    }
    if (good("ssl:443:privateKey=k.pem:certKey=c.pem:interface=127.0.0.1")) {
        CHECK_STR(ep.private_key, "k.pem", "privateKey with certKey");
        CHECK_STR(ep.cert_key, "c.pem", "certKey");
        CHECK_STR(ep.interface, "127.0.0.1", "ssl interface");
    }
    if (good("systemd:domain=INET:index=0"))
        CHECK(ep.kind == EP_SYSTEMD && ep.sd_domain == AF_INET && ep.sd_index == 0,
              "systemd domain=INET index=0");
    if (good("systemd:domain=INET6:index=3"))
        CHECK(ep.sd_domain == AF_INET6 && ep.sd_index == 3, "systemd domain=INET6 index=3");
    if (good("systemd:name=web")) {
        CHECK(ep.kind == EP_SYSTEMD && ep.sd_index == -1, "systemd name: index is -1");
        CHECK_STR(ep.sd_name, "web", "systemd name");
    }
}

static void test_bad(void)
{
    bad("", "port");
    bad("abc", "'abc'");
    bad("99999", "'99999'");
    bad("-1", "'-1'");
    bad("tcp:", "port");
    bad("tcp:x", "'x'");
    bad("tcp:80:interface=localhost", "localhost");
    bad("tcp:80:interface=::1", "interface");   /* unescaped: "::1" splits into fields */
    bad("tcp6:80:interface=127.0.0.1", "127.0.0.1");
    bad("tcp:80:bogus=1", "bogus");
    bad("tcp:80:backlog=0", "backlog");
    bad("tcp:80:backlog=x", "backlog");
    bad("tcp:backlog=1", "port");
    bad("unix:", "path");
    bad("unix:/x:mode=999", "mode");
    bad("unix:/x:mode=", "mode");
    bad("unix:/x:lockfile=2", "lockfile");
    bad("unix:/x:interface=127.0.0.1", "interface");
    bad("ssl:443", "privateKey");
    bad("ssl:443:privateKey=", "privateKey");
    bad("ssl:443:pem=k", "pem");
    bad("systemd:index=0", "domain");
    bad("systemd:domain=FOO:index=0", "FOO");
    bad("systemd:domain=INET", "index");
    bad("systemd:domain=INET:index=x", "index");
    bad("systemd:port=1", "port");
    bad("foo:1", "foo");
    bad("tcp:80:interface", "'interface'");
    bad("tcp:80\\", "backslash");
    bad("tcp:80:backlog=1\\", "backslash");
}

static void test_limits(void)
{
    char desc[4096];
    /* 16 fields are allowed, 17 are too many. */
    strcpy(desc, "tcp:80");
    for (int i = 0; i < 14; i++)
        strcat(desc, ":backlog=1");
    good(desc);
    strcat(desc, ":backlog=1");
    bad(desc, "too many fields");

    /* One field of 1100 bytes is too long, whatever it is. */
    memset(desc, '1', 1100);
    desc[1100] = '\0';
    err[0] = '\0';
    CHECK(endpoint_parse(desc, &ep, err, sizeof err) == -1, "a field of 1100 bytes is refused");
    CHECK_HAS(err, "longer than", "the error says the field is too long");
    CHECK(strlen(err) < sizeof err, "the error fits its buffer");

    /* The error is cut to the buffer it is given. */
    char small[16];
    CHECK(endpoint_parse("foo:1", &ep, small, sizeof small) == -1, "a small error buffer");
    CHECK(strlen(small) == sizeof small - 1, "the error is truncated, NUL-terminated");
    CHECK(endpoint_check("tcp:80", err, sizeof err) == 0, "endpoint_check accepts 'tcp:80'");
    CHECK(endpoint_check("tcp:x", err, sizeof err) == -1, "endpoint_check refuses 'tcp:x'");
    CHECK(endpoint_check("ssl:443:privateKey=/nonexistent/k.pem", err, sizeof err) == 0,
          "endpoint_check looks at the form only");
    CHECK(endpoint_check_files("ssl:443:privateKey=/nonexistent/k.pem", err, sizeof err) == -1,
          "endpoint_check_files refuses a key file that cannot be read");
    CHECK_HAS(err, "privateKey: cannot read /nonexistent/k.pem", "and names it");
    CHECK(endpoint_check_files("ssl:443:privateKey=/", err, sizeof err) == -1,
          "endpoint_check_files refuses a directory as the key");
    CHECK(endpoint_check_files("tcp:x", err, sizeof err) == -1, "and a bad form");
    CHECK(endpoint_check_files("tcp:80", err, sizeof err) == 0, "tcp:80 has no files");
}

static void test_format(void)
{
    char buf[256];
    struct sockaddr_in in = { .sin_family = AF_INET, .sin_port = htons(8080) };
    inet_pton(AF_INET, "127.0.0.1", &in.sin_addr);
    sockaddr_format((struct sockaddr *)&in, sizeof in, buf, sizeof buf);
    CHECK_STR(buf, "127.0.0.1:8080", "sockaddr_format IPv4");

    struct sockaddr_in6 in6 = { .sin6_family = AF_INET6, .sin6_port = htons(53) };
    inet_pton(AF_INET6, "::1", &in6.sin6_addr);
    sockaddr_format((struct sockaddr *)&in6, sizeof in6, buf, sizeof buf);
    CHECK_STR(buf, "[::1]:53", "sockaddr_format IPv6 in brackets");

    inet_pton(AF_INET6, "::ffff:192.0.2.7", &in6.sin6_addr);
    in6.sin6_port = htons(443);
    sockaddr_format((struct sockaddr *)&in6, sizeof in6, buf, sizeof buf);
    CHECK_STR(buf, "192.0.2.7:443", "sockaddr_format IPv4-mapped IPv6 shown as IPv4");

    struct sockaddr_un un = { .sun_family = AF_UNIX };
    strcpy(un.sun_path, "/run/x.sock");
    socklen_t len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(un.sun_path) + 1);
    sockaddr_format((struct sockaddr *)&un, len, buf, sizeof buf);
    CHECK_STR(buf, "/run/x.sock", "sockaddr_format unix path");
    sockaddr_format((struct sockaddr *)&un, sizeof(sa_family_t), buf, sizeof buf);
    CHECK_STR(buf, "unix", "sockaddr_format unnamed unix socket");
}

int main(void)
{
    test_tcp();
    test_unix();
    test_ssl_systemd();
    test_bad();
    test_limits();
    test_format();
    return unit_done();
}
