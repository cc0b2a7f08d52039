/*
 * The rdata of a master-file record, read into uncompressed wire form:
 * A, NS, CNAME, SOA, PTR, MX, TXT (RFC 1035 sections 3.3, 3.4 and 5),
 * AAAA (RFC 3596), SRV (RFC 2782), CAA (RFC 8659 section 4.1.1), and for
 * any type the generic "\# LEN HEX" form of RFC 3597 section 5; also the
 * numbers of a record, TTLs in BIND's units (RFC 2308 section 4).
 * Tokens come from the lexer in zone.c.
 *
 * Everything is bounded: the rdata by its buffer (65535 bytes, RFC 1035
 * 3.2.1), a TXT string by 255 bytes, a CAA tag by 15.  Generic rdata for
 * a type we know is checked against that type's wire layout, so what is
 * served is never malformed (names in it uncompressed, RFC 3597 4).
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "zone.h"
#include "zone_lex.h"

/* The rdata being built. */
struct zone_rd {
    struct zone_lex *lx;
    const struct dns_name *origin;
    uint8_t *b;
    size_t len, cap;
};

static const struct { const char *name; uint16_t type; } zone_type_names[] = {
    { "A", DNS_T_A },       { "NS", DNS_T_NS },   { "CNAME", DNS_T_CNAME },
    { "SOA", DNS_T_SOA },   { "PTR", DNS_T_PTR }, { "MX", DNS_T_MX },
    { "TXT", DNS_T_TXT },   { "AAAA", DNS_T_AAAA }, { "SRV", DNS_T_SRV },
    { "CAA", DNS_T_CAA },
};

/* Types that only exist in messages (RFC 6895 section 3.1: OPT and the
 * query-only range) cannot stand in a zone. */
static int rd_type_servable(uint32_t t)
{
    return t != 0 && t != DNS_T_OPT && (t < 128 || t > 255);
}

int zone_type_from_text(const char *s, size_t len, uint16_t *type)
{
    uint32_t n;

    for (size_t i = 0; i < sizeof zone_type_names / sizeof zone_type_names[0]; i++) {
        const char *name = zone_type_names[i].name;
        if (strlen(name) == len && strncasecmp(s, name, len) == 0) {
            *type = zone_type_names[i].type;
            return 0;
        }
    }
    if (len > 4 && strncasecmp(s, "TYPE", 4) == 0 &&
        zone_parse_uint(s + 4, len - 4, 65535, &n) == 0 && rd_type_servable(n)) {
        *type = (uint16_t)n;
        return 0;
    }
    return -1;
}

/* ---- numbers ---- */

int zone_parse_uint(const char *s, size_t len, uint32_t max, uint32_t *out)
{
    uint64_t n = 0;

    if (len == 0 || len > 10)
        return -1;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        n = n * 10 + (uint64_t)(s[i] - '0');
    }
    if (n > max)
        return -1;
    *out = (uint32_t)n;
    return 0;
}

static uint32_t zone_ttl_unit(char c)
{
    switch (tolower((unsigned char)c)) {
    case 'w': return 7 * 24 * 3600;
    case 'd': return 24 * 3600;
    case 'h': return 3600;
    case 'm': return 60;
    case 's': return 1;
    default: return 0;
    }
}

/* As BIND: a bare number, or number-unit pairs; a bare number after a
 * unit ("1h30") is refused rather than guessed at. */
int zone_parse_ttl(const char *s, size_t len, uint32_t *out)
{
    uint64_t total = 0;
    size_t i = 0;

    if (len == 0)
        return -1;
    while (i < len) {
        size_t start = i;
        uint64_t n = 0;
        while (i < len && s[i] >= '0' && s[i] <= '9') {
            n = n * 10 + (uint64_t)(s[i++] - '0');
            if (n > ZONE_TTL_MAX)
                return -1;
        }
        if (i == start)
            return -1;
        if (i == len) {
            if (start != 0)
                return -1;
            total = n;
            break;
        }
        uint32_t unit = zone_ttl_unit(s[i++]);
        if (unit == 0)
            return -1;
        total += n * unit;
        if (total > ZONE_TTL_MAX)
            return -1;
    }
    *out = (uint32_t)total;
    return 0;
}

/* ---- building the rdata ---- */

static int rd_put(struct zone_rd *rd, const void *p, size_t n)
{
    if (n > rd->cap - rd->len)
        return zone_fail(rd->lx, "rdata longer than %zu bytes", rd->cap);
    memcpy(rd->b + rd->len, p, n);
    rd->len += n;
    return 0;
}

static int rd_u32(struct zone_rd *rd, uint32_t v, size_t bytes)
{
    uint8_t b[4] = { (uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v };
    return rd_put(rd, b + 4 - bytes, bytes);
}

static int rd_tok(struct zone_rd *rd, struct zone_tok *t, const char *what)
{
    int r = zone_lex_next(rd->lx, t);
    if (r == 0)
        return zone_fail(rd->lx, "missing %s", what);
    return r < 0 ? -1 : 0;
}

/* A decimal field of 1, 2 or 4 bytes. */
static int rd_number(struct zone_rd *rd, const char *what, size_t bytes)
{
    static const uint32_t max[] = { 0, 0xff, 0xffff, 0, 0xffffffff };
    struct zone_tok t;
    char show[ZONE_SHOW];
    uint32_t v;

    if (rd_tok(rd, &t, what))
        return -1;
    if (t.quoted || zone_parse_uint(t.s, t.len, max[bytes], &v) != 0)
        return zone_fail(rd->lx, "bad %s '%s'", what, zone_tok_show(&t, show, sizeof show));
    return rd_u32(rd, v, bytes);
}

/* SOA timers: seconds or TTL units, as BIND. */
static int rd_interval(struct zone_rd *rd, const char *what)
{
    struct zone_tok t;
    char show[ZONE_SHOW];
    uint32_t v;

    if (rd_tok(rd, &t, what))
        return -1;
    if (t.quoted || zone_parse_ttl(t.s, t.len, &v) != 0)
        return zone_fail(rd->lx, "bad %s '%s'", what, zone_tok_show(&t, show, sizeof show));
    return rd_u32(rd, v, 4);
}

static int rd_name(struct zone_rd *rd, const char *what)
{
    struct zone_tok t;
    struct dns_name n;

    if (rd_tok(rd, &t, what) || zone_name_tok(rd->lx, &t, rd->origin, &n))
        return -1;
    return rd_put(rd, n.wire, n.len);
}

static int rd_addr(struct zone_rd *rd, int family)
{
    const char *what = family == AF_INET ? "IPv4 address" : "IPv6 address";
    struct zone_tok t;
    char buf[64], show[ZONE_SHOW];
    uint8_t addr[16];

    if (rd_tok(rd, &t, what))
        return -1;
    /* A copy for inet_pton: short, and with no NUL to cut it early. */
    if (t.quoted || t.len >= sizeof buf || memchr(t.s, '\0', t.len))
        goto bad;
    memcpy(buf, t.s, t.len);
    buf[t.len] = '\0';
    if (inet_pton(family, buf, addr) != 1)
        goto bad;
    return rd_put(rd, addr, family == AF_INET ? 4 : 16);
bad:
    return zone_fail(rd->lx, "bad %s '%s'", what, zone_tok_show(&t, show, sizeof show));
}

/* RFC 1035 5.1: "\X" is X, "\DDD" the byte DDD.  Returns the length,
 * -1 for a malformed escape, -2 when more than cap bytes result. */
static long rd_unescape(const struct zone_tok *t, uint8_t *out, size_t cap)
{
    const char *s = t->s;
    size_t i = 0, n = 0;

    while (i < t->len) {
        unsigned c = (unsigned char)s[i++];
        if (c == '\\') {
            if (i == t->len)
                return -1;
            if (isdigit((unsigned char)s[i])) {
                if (t->len - i < 3 || !isdigit((unsigned char)s[i + 1]) ||
                    !isdigit((unsigned char)s[i + 2]))
                    return -1;
                c = (unsigned)(s[i] - '0') * 100 + (unsigned)(s[i + 1] - '0') * 10 +
                    (unsigned)(s[i + 2] - '0');
                if (c > 255)
                    return -1;
                i += 3;
            } else {
                c = (unsigned char)s[i++];
            }
        }
        if (n == cap)
            return -2;
        out[n++] = (uint8_t)c;
    }
    return (long)n;
}

/* One <character-string> per token, each a length byte and <= 255 bytes. */
static int rd_txt(struct zone_rd *rd)
{
    struct zone_tok t;
    char show[ZONE_SHOW];
    uint8_t s[256];
    int r, strings = 0;

    while ((r = zone_lex_next(rd->lx, &t)) > 0) {
        long n = rd_unescape(&t, s + 1, 255);
        if (n == -1)
            return zone_fail(rd->lx, "bad escape in '%s'", zone_tok_show(&t, show, sizeof show));
        if (n == -2)
            return zone_fail(rd->lx, "TXT string '%s' longer than 255 bytes",
                             zone_tok_show(&t, show, sizeof show));
        s[0] = (uint8_t)n;
        if (rd_put(rd, s, (size_t)n + 1))
            return -1;
        strings++;
    }
    if (r == 0 && strings == 0)
        return zone_fail(rd->lx, "missing TXT string");
    return r;
}

static int rd_caa_tag_ok(const uint8_t *s, size_t len)
{
    if (len == 0 || len > 15)
        return 0;
    for (size_t i = 0; i < len; i++)
        if (!isalnum(s[i]))
            return 0;
    return 1;
}

/* flags, tag length, tag, value: the value runs to the rdata's end. */
static int rd_caa(struct zone_rd *rd)
{
    struct zone_tok t;
    char show[ZONE_SHOW];
    long n;

    if (rd_number(rd, "CAA flags", 1) || rd_tok(rd, &t, "CAA tag"))
        return -1;
    if (t.quoted || !rd_caa_tag_ok((const uint8_t *)t.s, t.len))
        return zone_fail(rd->lx, "bad CAA tag '%s'", zone_tok_show(&t, show, sizeof show));
    if (rd_u32(rd, (uint32_t)t.len, 1) || rd_put(rd, t.s, t.len) || rd_tok(rd, &t, "CAA value"))
        return -1;
    n = rd_unescape(&t, rd->b + rd->len, rd->cap - rd->len);
    if (n == -1)
        return zone_fail(rd->lx, "bad escape in '%s'", zone_tok_show(&t, show, sizeof show));
    if (n == -2)
        return zone_fail(rd->lx, "rdata longer than %zu bytes", rd->cap);
    rd->len += (size_t)n;
    return 0;
}

static int rd_soa(struct zone_rd *rd)
{
    return rd_name(rd, "SOA primary server") || rd_name(rd, "SOA mailbox") ||
           rd_number(rd, "SOA serial", 4) || rd_interval(rd, "SOA refresh") ||
           rd_interval(rd, "SOA retry") || rd_interval(rd, "SOA expire") ||
           rd_interval(rd, "SOA minimum") ? -1 : 0;
}

static int rd_typed(struct zone_rd *rd, uint16_t type)
{
    switch (type) {
    case DNS_T_A: return rd_addr(rd, AF_INET);
    case DNS_T_AAAA: return rd_addr(rd, AF_INET6);
    case DNS_T_NS:
    case DNS_T_CNAME:
    case DNS_T_PTR: return rd_name(rd, "target name");
    case DNS_T_MX:
        return rd_number(rd, "MX preference", 2) || rd_name(rd, "MX exchange") ? -1 : 0;
    case DNS_T_SOA: return rd_soa(rd);
    case DNS_T_TXT: return rd_txt(rd);
    case DNS_T_SRV:
        return rd_number(rd, "SRV priority", 2) || rd_number(rd, "SRV weight", 2) ||
               rd_number(rd, "SRV port", 2) || rd_name(rd, "SRV target") ? -1 : 0;
    case DNS_T_CAA: return rd_caa(rd);
    default:
        return zone_fail(rd->lx, "TYPE%u rdata must be written as \\# LEN HEX (RFC 3597)",
                         (unsigned)type);
    }
}

static int rd_hex(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = (char)tolower((unsigned char)c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* RFC 3597 section 5: after "\#", the length and then the bytes in hex,
 * split by blanks anywhere. */
static int rd_generic(struct zone_rd *rd)
{
    struct zone_tok t;
    char show[ZONE_SHOW];
    uint32_t want;
    size_t nibbles = 0;
    int r;

    if (rd_tok(rd, &t, "\\# length"))
        return -1;
    if (t.quoted || zone_parse_uint(t.s, t.len, (uint32_t)rd->cap, &want) != 0)
        return zone_fail(rd->lx, "bad \\# length '%s'", zone_tok_show(&t, show, sizeof show));
    while ((r = zone_lex_next(rd->lx, &t)) > 0) {
        for (size_t i = 0; i < t.len; i++) {
            int v = t.quoted ? -1 : rd_hex(t.s[i]);
            if (v < 0)
                return zone_fail(rd->lx, "bad hex '%s' in \\# rdata",
                                 zone_tok_show(&t, show, sizeof show));
            if (nibbles / 2 >= want)
                return zone_fail(rd->lx, "\\# rdata longer than its length %u", (unsigned)want);
            if (nibbles % 2 == 0)
                rd->b[rd->len++] = (uint8_t)(v << 4);
            else
                rd->b[rd->len - 1] |= (uint8_t)v;
            nibbles++;
        }
    }
    if (r < 0)
        return -1;
    if (nibbles % 2 != 0)
        return zone_fail(rd->lx, "odd number of hex digits in \\# rdata");
    if (rd->len != want)
        return zone_fail(rd->lx, "\\# rdata has %zu bytes, its length says %u", rd->len,
                         (unsigned)want);
    return 0;
}

/* An uncompressed name at *off, within len. */
static int rd_wire_name(const uint8_t *b, size_t len, size_t *off)
{
    size_t start = *off;

    for (;;) {
        if (*off >= len || b[*off] > 63)
            return -1;
        uint8_t l = b[*off];
        *off += 1u + l;
        if (*off - start > DNS_NAME_MAX)
            return -1;
        if (l == 0)
            return 0;
    }
}

static int rd_wire_names_then(const uint8_t *b, size_t len, size_t off, int names, size_t tail)
{
    while (names-- > 0)
        if (rd_wire_name(b, len, &off) != 0)
            return 0;
    return off <= len && len - off == tail;
}

/* Whether generic rdata has the layout of its (known) type. */
static int rd_wire_ok(uint16_t type, const uint8_t *b, size_t len)
{
    size_t off = 0;

    switch (type) {
    case DNS_T_A: return len == 4;
    case DNS_T_AAAA: return len == 16;
    case DNS_T_NS:
    case DNS_T_CNAME:
    case DNS_T_PTR: return rd_wire_names_then(b, len, 0, 1, 0);
    case DNS_T_MX: return len >= 2 && rd_wire_names_then(b, len, 2, 1, 0);
    case DNS_T_SRV: return len >= 6 && rd_wire_names_then(b, len, 6, 1, 0);
    case DNS_T_SOA: return rd_wire_names_then(b, len, 0, 2, 20);
    case DNS_T_TXT:
        while (off < len)
            off += 1u + b[off];
        return len > 0 && off == len;
    case DNS_T_CAA: return len >= 2 && (size_t)b[1] + 2 <= len && rd_caa_tag_ok(b + 2, b[1]);
    default: return 1;
    }
}

int zone_rdata_parse(struct zone_lex *lx, uint16_t type, const struct dns_name *origin,
                     uint8_t *out, size_t cap, size_t *outlen)
{
    struct zone_rd rd = { .lx = lx, .origin = origin, .b = out, .len = 0, .cap = cap };
    struct zone_tok t;
    char show[ZONE_SHOW];
    int r = zone_lex_next(lx, &t);

    if (r < 0)
        return -1;
    if (r > 0 && !t.quoted && t.len == 2 && t.s[0] == '\\' && t.s[1] == '#') {
        if (rd_generic(&rd))
            return -1;
        if (!rd_wire_ok(type, rd.b, rd.len))
            return zone_fail(lx, "\\# rdata is not valid for its type");
    } else {
        if (r > 0)
            zone_lex_unget(lx, &t);
        if (rd_typed(&rd, type))
            return -1;
        r = zone_lex_next(lx, &t);
        if (r > 0)
            return zone_fail(lx, "unexpected '%s' after the rdata",
                             zone_tok_show(&t, show, sizeof show));
        if (r < 0)
            return -1;
    }
    *outlen = rd.len;
    return 0;
}
