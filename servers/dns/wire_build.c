/*
 * DNS wire format, writing side: an answer's header and question, its
 * records with name compression, and the OPT record; see wire.h.
 *   RFC 1035 4.1 message format, 4.1.4 compression (14-bit offsets);
 *   RFC 3597 4: only the rdata names of RFC 1035's own types (NS, CNAME,
 *     PTR, MX, SOA) are compressed; RFC 2782: never the SRV target;
 *   RFC 6891 6.1.2-6.1.3 the OPT record (class = payload, DO in the TTL).
 * Pure: no I/O, no allocation.  Nothing is written past cap, and a record
 * that does not fit leaves the message exactly as it was before it.
 */
#include "wire.h"

#include <string.h>

#define BLD_MSG_MAX 65535       /* the TCP length prefix is 16 bits */
#define BLD_PTR_MAX 0x3FFF      /* a pointer holds a 14-bit offset */
#define BLD_LABELS_MAX 128      /* 127 one-byte labels and the root */
#define BLD_JUMPS_MAX 128

enum { BLD_BAD = -1, BLD_FULL = -2 };

static void bld_put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static size_t bld_cap(const struct dns_builder *b)
{
    return b->cap < BLD_MSG_MAX ? b->cap : BLD_MSG_MAX;
}

static int bld_write(struct dns_builder *b, const void *p, size_t n)
{
    if (bld_cap(b) - b->len < n)
        return BLD_FULL;
    if (n > 0)
        memcpy(b->buf + b->len, p, n);
    b->len += n;
    return 0;
}

static int bld_u16(struct dns_builder *b, uint16_t v)
{
    uint8_t p[2];
    bld_put16(p, v);
    return bld_write(b, p, 2);
}

static uint8_t bld_lower(uint8_t c)
{
    return c >= 'A' && c <= 'Z' ? (uint8_t)(c + 32) : c;
}

/* The start of each label of n, the root's included; -1 when n is not a
 * well-formed name. */
static int bld_label_starts(const struct dns_name *n, uint8_t *at)
{
    size_t i = 0;
    int k = 0;
    while (i < n->len && k < BLD_LABELS_MAX) {
        uint8_t l = n->wire[i];
        at[k++] = (uint8_t)i;
        if (l == 0)
            return i + 1 == n->len ? k : -1;
        if (l > 63)
            return -1;
        i += 1u + l;
    }
    return -1;
}

/* The buffer offset of each label of the name written at off, following
 * our own pointers (always backwards, but bounded all the same). */
static int bld_label_offsets(const struct dns_builder *b, size_t off, uint16_t *at)
{
    size_t p = off;
    int k = 0, jumps = 0;
    while (p < b->len && k < BLD_LABELS_MAX) {
        uint8_t l = b->buf[p];
        if ((l & 0xC0) == 0xC0) {
            size_t t = p + 1 < b->len ? (size_t)(l & 0x3F) << 8 | b->buf[p + 1] : p;
            if (t >= p || ++jumps > BLD_JUMPS_MAX)
                return -1;
            p = t;
            continue;
        }
        at[k++] = (uint16_t)p;
        if (l == 0)
            return k;
        p += 1u + l;
    }
    return -1;
}

static int bld_label_eq(const struct dns_builder *b, size_t at, const uint8_t *label)
{
    if (b->buf[at] != label[0] || b->len - at < 1u + label[0])
        return 0;
    for (size_t i = 1; i <= label[0]; i++)
        if (bld_lower(b->buf[at + i]) != bld_lower(label[i]))
            return 0;
    return 1;
}

/* The most trailing labels of n (the root not counted) that the name
 * written at off shares with it at a pointable offset; *ptr gets that offset. */
static int bld_match(const struct dns_builder *b, size_t off, const struct dns_name *n,
                     const uint8_t *starts, int kn, uint16_t *ptr)
{
    uint16_t at[BLD_LABELS_MAX];
    int ks = bld_label_offsets(b, off, at), best = 0;
    for (int m = 1; ks > 0 && m < kn && m < ks; m++) {
        size_t sa = at[ks - 1 - m];
        if (!bld_label_eq(b, sa, n->wire + starts[kn - 1 - m]))
            break;
        if (sa <= BLD_PTR_MAX) {
            best = m;
            *ptr = (uint16_t)sa;
        }
    }
    return best;
}

/* Writes n, ending in a pointer to the longest suffix already in the
 * message, and remembers where it starts when it added labels of its own. */
static int bld_name(struct dns_builder *b, const struct dns_name *n)
{
    uint8_t starts[BLD_LABELS_MAX];
    int kn = bld_label_starts(n, starts), best = 0, r;
    uint16_t ptr = 0;
    size_t start = b->len;
    if (kn < 0)
        return BLD_BAD;
    /* Most answers' owner is the question's name, spelled as asked. */
    if (b->n_comp && b->comp[0].off == DNS_HEADER_LEN && b->len - DNS_HEADER_LEN > n->len &&
        memcmp(b->buf + DNS_HEADER_LEN, n->wire, n->len) == 0)
        return bld_u16(b, 0xC000 | DNS_HEADER_LEN);
    for (size_t i = 0; i < b->n_comp; i++) {
        uint16_t p = 0;
        int m = bld_match(b, b->comp[i].off, n, starts, kn, &p);
        if (m > best) {
            best = m;
            ptr = p;
        }
    }
    size_t own = best ? starts[kn - 1 - best] : n->len;
    if ((r = bld_write(b, n->wire, own)) < 0 || (best && (r = bld_u16(b, 0xC000 | ptr)) < 0))
        return r;
    /* The root, or a name that is all pointer, adds no suffix to point at. */
    if (own > 1 && start <= BLD_PTR_MAX && b->n_comp < DNS_COMP_MAX)
        b->comp[b->n_comp++].off = (uint16_t)start;
    return 0;
}

/* A name in caller-supplied rdata must be uncompressed: a compressed one
 * would consume fewer bytes than its length (a valid name is never 2). */
static int bld_rdata_name(const uint8_t *rd, size_t rdlen, size_t *off, struct dns_name *n)
{
    size_t start = *off;
    if (dns_read_name(rd, rdlen, off, n) < 0 || *off - start != n->len)
        return -1;
    return 0;
}

/* rdata of a type whose names are compressed: fixed bytes before the
 * names (MX's preference), the names, fixed bytes after (SOA's five). */
static int bld_rdata_names(struct dns_builder *b, const uint8_t *rd, size_t rdlen,
                           size_t head, int names, size_t tail)
{
    struct dns_name n;
    size_t off = head;
    int r;
    if (rdlen < head)
        return BLD_BAD;
    if ((r = bld_write(b, rd, head)) < 0)
        return r;
    for (int i = 0; i < names; i++) {
        if (bld_rdata_name(rd, rdlen, &off, &n) < 0)
            return BLD_BAD;
        if ((r = bld_name(b, &n)) < 0)
            return r;
    }
    if (rdlen - off != tail)
        return BLD_BAD;
    return bld_write(b, rd + off, tail);
}

static int bld_rdata(struct dns_builder *b, uint16_t type, const uint8_t *rd, size_t rdlen)
{
    switch (type) {
    case DNS_T_NS: case DNS_T_CNAME: case DNS_T_PTR:
        return bld_rdata_names(b, rd, rdlen, 0, 1, 0);
    case DNS_T_MX:
        return bld_rdata_names(b, rd, rdlen, 2, 1, 0);
    case DNS_T_SOA:
        return bld_rdata_names(b, rd, rdlen, 0, 2, 20);
    default:
        return bld_write(b, rd, rdlen);
    }
}

static void bld_header(struct dns_builder *b)
{
    const struct dns_header *h = &b->hdr;
    bld_put16(b->buf, h->id);
    bld_put16(b->buf + 2, h->flags);
    bld_put16(b->buf + 4, h->qdcount);
    bld_put16(b->buf + 6, h->ancount);
    bld_put16(b->buf + 8, h->nscount);
    bld_put16(b->buf + 10, h->arcount);
}

void dns_builder_init(struct dns_builder *b, uint8_t *buf, size_t cap)
{
    memset(b, 0, sizeof *b);
    b->buf = buf;
    b->cap = cap;
}

/*
 * The question goes back as the client sent it (RFC 1035 4.1.1), case
 * and all.  A query whose question was unreadable (a FORMERR) gets none.
 * Returns -1 when not even the header fits, or when the question does
 * not (then the header alone is there, truncated is set).
 */
int dns_begin_answer(struct dns_builder *b, const struct dns_query *q, uint16_t flags,
                     int rcode)
{
    const uint16_t fixed = 0x7800 | 0x000F;     /* opcode and rcode: ours to set */
    b->len = 0;
    b->n_comp = 0;
    b->truncated = 0;
    memset(&b->hdr, 0, sizeof b->hdr);
    if (bld_cap(b) < DNS_HEADER_LEN)
        return -1;
    b->hdr.id = q->hdr.id;
    b->hdr.flags = (uint16_t)(DNS_F_QR | (q->opcode & 0xF) << 11 | (q->hdr.flags & DNS_F_RD) |
                              (flags & ~fixed) | (rcode & 0xF));
    b->len = DNS_HEADER_LEN;
    bld_header(b);
    if (q->question_end == 0 || q->qname.len == 0)
        return 0;
    if (bld_name(b, &q->qname) < 0 || bld_u16(b, q->qtype) < 0 || bld_u16(b, q->qclass) < 0) {
        b->len = DNS_HEADER_LEN;
        b->n_comp = 0;
        b->truncated = 1;
        return -1;
    }
    b->hdr.qdcount = 1;
    return 0;
}

static uint16_t *bld_count(struct dns_builder *b, enum dns_section sec)
{
    switch (sec) {
    case DNS_S_ANSWER:
        return b->hdr.nscount || b->hdr.arcount ? NULL : &b->hdr.ancount;
    case DNS_S_AUTHORITY:
        return b->hdr.arcount ? NULL : &b->hdr.nscount;
    case DNS_S_ADDITIONAL:
        return &b->hdr.arcount;
    }
    return NULL;
}

static int bld_rr(struct dns_builder *b, const struct dns_name *owner, uint16_t type,
                  uint16_t class, uint32_t ttl, const uint8_t *rdata, uint16_t rdlen)
{
    uint8_t fixed[10];
    int r = bld_name(b, owner);
    if (r < 0)
        return r;
    bld_put16(fixed, type);
    bld_put16(fixed + 2, class);
    bld_put16(fixed + 4, (uint16_t)(ttl >> 16));
    bld_put16(fixed + 6, (uint16_t)ttl);
    bld_put16(fixed + 8, 0);                /* rdlen, once known */
    if ((r = bld_write(b, fixed, sizeof fixed)) < 0)
        return r;
    size_t rdstart = b->len;
    if ((r = bld_rdata(b, type, rdata, rdlen)) < 0)
        return r;
    bld_put16(b->buf + rdstart - 2, (uint16_t)(b->len - rdstart));
    return 0;
}

/* Malformed input (a bad owner, rdata that does not hold the names its
 * type calls for, sections out of order) is refused without setting
 * truncated: that is the caller's mistake, not a full buffer. */
int dns_add_rr(struct dns_builder *b, enum dns_section sec, const struct dns_name *owner,
               uint16_t type, uint16_t class, uint32_t ttl, const uint8_t *rdata,
               uint16_t rdlen)
{
    uint16_t *count = bld_count(b, sec);
    size_t len = b->len, n_comp = b->n_comp;
    if (b->len < DNS_HEADER_LEN || !count || (rdlen > 0 && !rdata))
        return -1;
    int r = bld_rr(b, owner, type, class, ttl, rdata, rdlen);
    if (r < 0) {
        b->len = len;
        b->n_comp = n_comp;
        if (r == BLD_FULL)
            b->truncated = 1;
        return -1;
    }
    (*count)++;
    return 0;
}

int dns_add_opt(struct dns_builder *b, uint16_t payload, int do_bit, int ext_rcode)
{
    static const struct dns_name root = { 1, { 0 } };
    /* TTL of OPT: extended rcode (the rcode's upper 8 bits), version 0, DO. */
    uint32_t ttl = (uint32_t)((ext_rcode >> 4) & 0xFF) << 24 | (do_bit ? 0x8000u : 0);
    return dns_add_rr(b, DNS_S_ADDITIONAL, &root, DNS_T_OPT, payload, ttl, NULL, 0);
}

/* The whole header is written here, so a caller may still change
 * b->hdr.flags (TC, the rcode) after adding records. */
size_t dns_finish(struct dns_builder *b)
{
    if (b->len < DNS_HEADER_LEN)
        return 0;
    bld_header(b);
    return b->len;
}
