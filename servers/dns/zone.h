/*
 * Master files (RFC 1035 section 5, BIND syntax) and hosts files, read
 * into records.  Pure parsing: the caller supplies the text (the reader
 * for $INCLUDE is a callback), records come out through a callback with
 * their rdata in uncompressed wire form.
 */
#ifndef GALE_DNS_ZONE_H
#define GALE_DNS_ZONE_H

#include <stddef.h>
#include <stdint.h>
#include "wire.h"

typedef int (*zone_record_cb)(void *arg, const struct dns_name *owner, uint16_t type,
                              uint16_t class, uint32_t ttl, const uint8_t *rdata,
                              uint16_t rdlen);

/* Returns the contents of a file named by $INCLUDE (relative to the
 * including file's folder, which the callback enforces), malloc'd, with
 * its length; NULL and err filled on failure. */
typedef char *(*zone_include_cb)(void *arg, const char *name, size_t *len, char *err,
                                 size_t errlen);

struct zone_parse {
    const char *file;                /* for messages: "file:line: what" */
    const struct dns_name *origin;   /* NULL: $ORIGIN or the first SOA's owner sets it */
    uint32_t default_ttl;            /* before any $TTL: the SOA minimum, else 3600 */
    zone_record_cb on_record;
    zone_include_cb on_include;      /* NULL: $INCLUDE is an error */
    void *arg;
    struct dns_name found_origin;    /* out: the origin that was used */
};

/*
 * Parses text[0..len).  Supports $ORIGIN, $TTL, $INCLUDE (depth <= 8),
 * '@', relative and absolute names, owner/TTL/class left out (taken from
 * the previous record), TTL units (1h30m, 2d, 1w), parentheses across
 * lines, ';' comments, quoted strings with escapes, "\DDD" escapes; types
 * SOA, NS, A, AAAA, CNAME, MX, TXT (several strings), SRV, PTR, CAA, and
 * any type as TYPEnnn with RFC 3597 "\# LEN HEX" rdata (also for known
 * types).  Class IN (or CLASSnnn).  Returns 0, or -1 with err set to
 * "file:line: what is wrong".  A file with neither $ORIGIN nor an
 * absolute SOA owner first is an error naming the file.
 */
int zone_parse_text(struct zone_parse *zp, const char *text, size_t len, char *err,
                    size_t errlen);

/*
 * /etc/hosts format: "ADDRESS NAME [ALIAS...]", '#' comments, blank
 * lines; IPv4 and IPv6 addresses.  For each name cb gets the address
 * (family AF_INET or AF_INET6, 4 or 16 bytes) and the name; lines that
 * are malformed are skipped and counted in *bad (with the first one's
 * line number in *first_bad).  Returns 0, or the callback's non-zero.
 */
typedef int (*hosts_entry_cb)(void *arg, int family, const uint8_t *addr,
                              const struct dns_name *name);
int hosts_parse_text(const char *text, size_t len, hosts_entry_cb cb, void *arg,
                     size_t *bad, size_t *first_bad);

#endif
