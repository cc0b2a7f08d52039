/*
 * libFuzzer target for the DNS server's master-file and hosts-file
 * readers (RFC 1035 section 5, RFC 3597; servers/dns/zone.c,
 * zone_rdata.c, hosts.c) on arbitrary text.  The zone is read with an
 * origin and without one, and once more into a tiny error buffer;
 * $INCLUDE reads a fixed text that includes itself (so the depth limit
 * is reached) or fails.  Beyond what the sanitizers catch, it aborts
 * when a result breaks the promises of zone.h:
 *  - a record of a class other than IN, a TTL over 2^31-1, an owner
 *    that is not a well-formed name, or rdata whose length does not fit
 *    its type (A 4, AAAA 16, SOA names plus 20, TXT at least one byte);
 *  - a failure without a "file:" message, or a success without an
 *    origin; a hosts entry of the wrong family or an invalid name.
 *   clang -g -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE \
 *       tests/fuzz/fuzz_dns_zone.c -o fuzz_dns_zone
 */
#include "../../servers/dns/wire.c"
#include "../../servers/dns/zone.c"
#include "../../servers/dns/zone_rdata.c"
#include "../../servers/dns/hosts.c"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char include_text[] = "$ORIGIN inc.\nx 60 A 192.0.2.1\n  TXT a \"b c\"\n"
                                   "$INCLUDE again sub\n";

static char *on_include(void *arg, const char *name, size_t *len, char *err, size_t errlen)
{
    (void)arg;
    if (strlen(name) >= ZONE_PATH_MAX)
        abort();
    if (name[0] == 'x') {
        snprintf(err, errlen, "refused");
        return NULL;
    }
    *len = sizeof include_text - 1;
    return strdup(include_text);
}

static void check_name(const struct dns_name *n)
{
    size_t off = 0;
    if (n->len == 0 || n->len > DNS_NAME_MAX || rd_wire_name(n->wire, n->len, &off) != 0 ||
        off != n->len)
        abort();
}

static size_t name_end(const uint8_t *b, size_t len, size_t off)
{
    if (rd_wire_name(b, len, &off) != 0)
        abort();
    return off;
}

static int on_record(void *arg, const struct dns_name *owner, uint16_t type, uint16_t class,
                     uint32_t ttl, const uint8_t *rdata, uint16_t rdlen)
{
    (void)arg;
    check_name(owner);
    if (class != DNS_C_IN || ttl > ZONE_TTL_MAX || (rdlen > 0 && !rdata))
        abort();
    if ((type == DNS_T_A && rdlen != 4) || (type == DNS_T_AAAA && rdlen != 16) ||
        (type == DNS_T_TXT && rdlen == 0) || !rd_wire_ok(type, rdata, rdlen))
        abort();
    if (type == DNS_T_SOA && name_end(rdata, rdlen, name_end(rdata, rdlen, 0)) + 20 != rdlen)
        abort();
    if (type == DNS_T_MX && name_end(rdata, rdlen, 2) != rdlen)
        abort();
    return 0;
}

static void run_zone(const char *text, size_t len, const struct dns_name *origin, size_t errlen)
{
    struct zone_parse zp = {
        .file = "f.zone", .origin = origin, .default_ttl = 0,
        .on_record = on_record, .on_include = on_include,
    };
    char err[512];
    memset(err, 'Z', sizeof err);
    int r = zone_parse_text(&zp, text, len, err, errlen);
    if (r != 0 && r != -1)
        abort();
    if (r == -1 && errlen > 0 && (memchr(err, '\0', errlen) == NULL || err[0] == '\0'))
        abort();
    if (r == -1 && errlen >= 64 && strncmp(err, "f.zone", 6) != 0 && strncmp(err, "again", 5) != 0)
        abort();
    if (r == 0)
        check_name(&zp.found_origin);
    if (errlen < sizeof err && err[errlen] != 'Z')
        abort();
}

static int on_host(void *arg, int family, const uint8_t *addr, const struct dns_name *name)
{
    (void)arg;
    if ((family != AF_INET && family != AF_INET6) || !addr)
        abort();
    check_name(name);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* A copy of exactly size bytes, so that reading past it is caught. */
    char *text = malloc(size ? size : 1);
    struct dns_name origin;
    size_t bad = 0, first_bad = 0;

    memcpy(text, data, size);
    dns_name_from_text("example.com.", 12, &origin);
    run_zone(text, size, &origin, 512);
    run_zone(text, size, NULL, 512);
    run_zone(text, size, &origin, 9);
    if (hosts_parse_text(text, size, on_host, NULL, &bad, &first_bad) != 0)
        abort();
    if ((bad == 0) != (first_bad == 0) || bad > size)
        abort();
    free(text);
    return 0;
}
