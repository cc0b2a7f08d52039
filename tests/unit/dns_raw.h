/*
 * DNS messages written byte by byte in the unit tests, so that a reader
 * sees exactly what goes on the wire.  Include after wire.c.
 */
#ifndef GALE_TEST_DNS_RAW_H
#define GALE_TEST_DNS_RAW_H

#include <stdio.h>
#include <string.h>

static inline struct dns_name name(const char *text)
{
    struct dns_name n;
    if (dns_name_from_text(text, strlen(text), &n) < 0) {
        printf("# bad test name '%s'\n", text);
        n.len = 1;
        n.wire[0] = 0;
    }
    return n;
}

static inline const char *text_of(const struct dns_name *n)
{
    static char buf[1100];
    if (dns_name_to_text(n, buf, sizeof buf) < 0)
        return "(error)";
    return buf;
}

/* A message written by hand, for the reader's sake. */
struct raw {
    uint8_t b[2048];
    size_t n;
};

static inline void put8(struct raw *r, unsigned v)
{
    r->b[r->n++] = (uint8_t)v;
}

static inline void put16(struct raw *r, unsigned v)
{
    put8(r, v >> 8);
    put8(r, v);
}

static inline void put32(struct raw *r, uint32_t v)
{
    put16(r, v >> 16);
    put16(r, v & 0xffff);
}

static inline void putname(struct raw *r, const char *text)
{
    struct dns_name n = name(text);
    memcpy(r->b + r->n, n.wire, n.len);
    r->n += n.len;
}

static inline void header(struct raw *r, unsigned id, unsigned flags, unsigned qd, unsigned an,
                   unsigned ns, unsigned ar)
{
    r->n = 0;
    put16(r, id);
    put16(r, flags);
    put16(r, qd);
    put16(r, an);
    put16(r, ns);
    put16(r, ar);
}

static inline void question(struct raw *r, const char *qname, unsigned qtype)
{
    putname(r, qname);
    put16(r, qtype);
    put16(r, DNS_C_IN);
}

static inline void opt(struct raw *r, unsigned payload, uint32_t ttl)
{
    put8(r, 0);
    put16(r, DNS_T_OPT);
    put16(r, payload);
    put32(r, ttl);
    put16(r, 0);
}

#endif
