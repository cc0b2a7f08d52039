/*
 * Unit test of the DNS server's hosts-file reader (servers/dns/hosts.c,
 * the hosts(5) format): comments, several names per line, IPv4 and
 * IPv6, malformed lines skipped whole and counted, the callback's stop,
 * and a million-line file, whose load time is printed (not asserted:
 * machines differ).  TAP output; exits non-zero when a check fails.
 */
#include "../../servers/dns/wire.c"
#include "../../servers/dns/hosts.c"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "unit.h"

#define MAX_ENTRIES 64

struct entry {
    int family;
    uint8_t addr[16];
    char name[1024];
};

static struct entry entries[MAX_ENTRIES];
static int nentries, stop_at = -1;
static size_t count;
static size_t bad, first_bad;

static int on_entry(void *arg, int family, const uint8_t *addr, const struct dns_name *name)
{
    (void)arg;
    if (nentries == stop_at)
        return 7;
    if (nentries < MAX_ENTRIES) {
        struct entry *e = &entries[nentries];
        e->family = family;
        memcpy(e->addr, addr, family == AF_INET ? 4 : 16);
        dns_name_to_text(name, e->name, sizeof e->name);
    }
    nentries++;
    return 0;
}

static int on_count(void *arg, int family, const uint8_t *addr, const struct dns_name *name)
{
    (void)arg;
    (void)family;
    (void)addr;
    count += name->len;
    return 0;
}

static int parse(const char *text)
{
    nentries = 0;
    stop_at = -1;
    bad = first_bad = 99;
    return hosts_parse_text(text, strlen(text), on_entry, NULL, &bad, &first_bad);
}

static int entry_is(int i, int family, const char *addr, const char *name)
{
    uint8_t want[16];
    if (i >= nentries || entries[i].family != family || strcmp(entries[i].name, name) != 0)
        return 0;
    inet_pton(family, addr, want);
    return memcmp(entries[i].addr, want, family == AF_INET ? 4 : 16) == 0;
}

static void test_good(void)
{
    CHECK(parse("# the usual\n"
                "127.0.0.1\tlocalhost localhost.localdomain   # loopback\n"
                "\n"
                "   # indented comment\n"
                "::1 localhost ip6-localhost\n"
                "192.0.2.10 www.example.com. www#no blank before the comment\r\n"
                "2001:db8::a:b  host6\n"
                "10.0.0.1 last") == 0, "good file");
    CHECK(bad == 0 && first_bad == 0, "no bad lines (%zu at %zu)", bad, first_bad);
    CHECK(nentries == 8, "eight names (%d)", nentries);
    CHECK(entry_is(0, AF_INET, "127.0.0.1", "localhost."), "first name");
    CHECK(entry_is(1, AF_INET, "127.0.0.1", "localhost.localdomain."), "alias");
    CHECK(entry_is(2, AF_INET6, "::1", "localhost."), "IPv6 loopback");
    CHECK(entry_is(3, AF_INET6, "::1", "ip6-localhost."), "IPv6 alias");
    CHECK(entry_is(4, AF_INET, "192.0.2.10", "www.example.com."), "trailing dot");
    CHECK(entry_is(5, AF_INET, "192.0.2.10", "www."), "comment right after a name, CRLF");
    CHECK(entry_is(6, AF_INET6, "2001:db8::a:b", "host6."), "IPv6");
    CHECK(entry_is(7, AF_INET, "10.0.0.1", "last."), "no final newline");
    CHECK(parse("") == 0 && nentries == 0 && bad == 0, "empty text");
    CHECK(hosts_parse_text(NULL, 0, on_entry, NULL, NULL, NULL) == 0, "NULL text, NULL counts");
}

static void test_many_names(void)
{
    char text[1024];
    size_t n = (size_t)snprintf(text, sizeof text, "192.0.2.1");
    for (int i = 0; i < 20; i++)
        n += (size_t)snprintf(text + n, sizeof text - n, " n%d", i);
    CHECK(parse(text) == 0 && nentries == 20 && bad == 0, "twenty names on one line");
    CHECK(entry_is(0, AF_INET, "192.0.2.1", "n0."), "the first");
    CHECK(entry_is(8, AF_INET, "192.0.2.1", "n8."), "past the names kept from checking");
    CHECK(entry_is(19, AF_INET, "192.0.2.1", "n19."), "the last");
}

static void test_bad(void)
{
    char label[80];
    memset(label, 'a', 64);
    label[64] = '\0';
    static const char *lines[] = {
        "1.2.3 short", "300.1.1.1 big", "fe80::1%eth0 scoped", "192.0.2.1",
        "192.0.2.1   # a comment is no name", "::1::2 two-gaps", "a.b.c.d name",
        "192.0.2.1 a..b", "1.2.3.4\1 ctl",
    };
    for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++) {
        char text[256];
        snprintf(text, sizeof text, "10.0.0.1 ok\n\n%s\n10.0.0.2 ok2\n", lines[i]);
        CHECK(parse(text) == 0 && bad == 1 && first_bad == 3 && nentries == 2,
              "'%s' is a bad line 3 (%zu at %zu, %d names)", lines[i], bad, first_bad, nentries);
    }
    char text[256];
    snprintf(text, sizeof text, "192.0.2.1 good %s\n", label);
    CHECK(parse(text) == 0 && bad == 1 && nentries == 0, "a bad alias keeps the line out");
    CHECK(parse("x\n10.0.0.1 a\ny\nz\n") == 0 && bad == 3 && first_bad == 1 && nentries == 1,
          "three bad lines, the first on line 1");
    CHECK(parse("10.0.0.1 a\0b\n") == 0 && nentries == 1 && bad == 0,
          "text ends at the length given");
    CHECK(hosts_parse_text("1.2.3.4 a\0b\n", 12, on_entry, NULL, &bad, &first_bad) == 0 &&
              bad == 1, "NUL in a name: bad");
}

static void test_stop(void)
{
    nentries = 0;
    stop_at = 2;
    CHECK(hosts_parse_text("10.0.0.1 a b\n10.0.0.2 c\n10.0.0.3 d\n", 35, on_entry, NULL, &bad,
                           &first_bad) == 7, "the callback's value is returned");
    CHECK(nentries == 2, "nothing after the stop");
}

static void test_million(void)
{
    const size_t lines = 1000000;
    size_t cap = lines * 48, n = 0;
    char *text = malloc(cap);
    for (size_t i = 0; i < lines; i++) {
        if (i % 10 == 9)
            n += (size_t)snprintf(text + n, cap - n, "2001:db8::%zx host%zu.example.com # c\n",
                                  i & 0xffff, i);
        else
            n += (size_t)snprintf(text + n, cap - n, "10.%zu.%zu.%zu host%zu h%zu\n",
                                  (i >> 16) & 255, (i >> 8) & 255, i & 255, i, i);
    }
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    count = 0;
    int r = hosts_parse_text(text, n, on_count, NULL, &bad, &first_bad);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    printf("# 1,000,000 lines (%zu bytes) in %.3f s\n", n, secs);
    CHECK(r == 0 && bad == 0, "a million lines, none bad (%zu)", bad);
    CHECK(count > 0, "names delivered");
    free(text);
}

int main(void)
{
    test_good();
    test_many_names();
    test_bad();
    test_stop();
    test_million();
    return unit_done();
}
