/*
 * hosts files (the hosts(5) format that grew out of RFC 952's host
 * table): "ADDRESS NAME [ALIAS...]" per line, '#' starting a comment
 * anywhere, IPv4 and IPv6 addresses (RFC 4291 text form; a "%scope"
 * zone index is refused, it means nothing to a DNS answer).
 *
 * Pure and fast: one pass over the text with memchr, no allocation and
 * no strlen, so that a million-line file loads in a fraction of a
 * second.  A malformed line is skipped whole, never half-served.
 */
#include <arpa/inet.h>
#include <string.h>

#include "zone.h"

#define HOSTS_CACHE 8              /* names per line kept from the checking pass */
#define HOSTS_NAME_TEXT_MAX 1024

static int hosts_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v';
}

/* The next blank-separated token in [*p, end): 1 with [*s, *e), or 0. */
static int hosts_tok(const char **p, const char *end, const char **s, const char **e)
{
    const char *q = *p;

    while (q < end && hosts_blank(*q))
        q++;
    if (q == end)
        return 0;
    *s = q;
    while (q < end && !hosts_blank(*q))
        q++;
    *e = q;
    *p = q;
    return 1;
}

/* AF_INET or AF_INET6 with addr filled, or 0. */
static int hosts_addr(const char *s, size_t len, uint8_t *addr)
{
    char buf[INET6_ADDRSTRLEN];
    int family;

    if (len >= sizeof buf || memchr(s, '\0', len))
        return 0;
    memcpy(buf, s, len);
    buf[len] = '\0';
    family = memchr(s, ':', len) ? AF_INET6 : AF_INET;
    return inet_pton(family, buf, addr) == 1 ? family : 0;
}

static int hosts_name(const char *s, size_t len, struct dns_name *out)
{
    if (len > HOSTS_NAME_TEXT_MAX || memchr(s, '\0', len))
        return -1;
    return dns_name_from_text(s, len, out);
}

/* Checks the whole line before the first callback, so that a bad alias
 * keeps the line's other names out too.  -1 for a bad line, else 0
 * with *stop set to the callback's non-zero return if it gave one. */
static int hosts_line(const char *p, const char *end, hosts_entry_cb cb, void *arg, int *stop)
{
    struct dns_name names[HOSTS_CACHE], other;
    const char *hash = memchr(p, '#', (size_t)(end - p)), *s, *e, *names_at;
    uint8_t addr[16];
    int family, n = 0;

    if (hash)
        end = hash;
    if (!hosts_tok(&p, end, &s, &e))
        return 0;
    family = hosts_addr(s, (size_t)(e - s), addr);
    if (!family)
        return -1;
    names_at = p;
    for (; hosts_tok(&p, end, &s, &e); n++)
        if (hosts_name(s, (size_t)(e - s), n < HOSTS_CACHE ? &names[n] : &other) != 0)
            return -1;
    if (n == 0)
        return -1;
    p = names_at;
    for (int i = 0; i < n && hosts_tok(&p, end, &s, &e); i++) {
        const struct dns_name *name = &other;
        if (i < HOSTS_CACHE)
            name = &names[i];
        else
            hosts_name(s, (size_t)(e - s), &other);   /* checked in the first pass */
        *stop = cb(arg, family, addr, name);
        if (*stop)
            return 0;
    }
    return 0;
}

int hosts_parse_text(const char *text, size_t len, hosts_entry_cb cb, void *arg,
                     size_t *bad, size_t *first_bad)
{
    const char *p = text ? text : "", *end = p + (text ? len : 0);
    size_t line = 0, nbad = 0, first = 0;
    int stop = 0;

    while (p < end && !stop) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        line++;
        if (hosts_line(p, le, cb, arg, &stop) != 0 && nbad++ == 0)
            first = line;
        p = nl ? nl + 1 : end;
    }
    if (bad)
        *bad = nbad;
    if (first_bad)
        *first_bad = first;
    return stop;
}
