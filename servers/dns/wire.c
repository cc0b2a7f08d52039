/*
 * DNS wire format, reading side: names in text and wire form, loop-safe
 * decompression, parsing a query, walking a whole message and expanding
 * compressed rdata; see wire.h.  Building answers is in wire_build.c.
 *   RFC 1035 3.1 names, 4.1 message format, 4.1.4 compression,
 *     5.1 text form of names (\X and \DDD escapes);
 *   RFC 2181 11 label and name lengths;
 *   RFC 4343 ASCII case-insensitive comparison;
 *   RFC 6891 6.1 the OPT pseudo-record (one at most, root owner);
 *   RFC 6891 5 the 01/10 label types are not in use: malformed;
 *   RFC 2782 SRV, whose target a reader may still find compressed.
 * Pure: no I/O, no allocation.  Every count, length and pointer here
 * comes from the network, so each is checked against the bytes present
 * before it is used.
 */
#include "wire.h"

#include <string.h>

#define LABEL_MAX 63
#define JUMPS_MAX 128           /* pointers followed for one name */
#define LABEL_PTR 0xC0          /* the top two bits of a label's first byte */

static uint16_t rd16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint8_t ascii_lower(uint8_t c)
{
    return c >= 'A' && c <= 'Z' ? (uint8_t)(c + 32) : c;
}

/* Callers may build a struct dns_name by hand, so the walkers below only
 * trust one that tiles into labels ending exactly at len. */
static int name_valid(const struct dns_name *n)
{
    size_t i = 0;
    while (i < n->len) {
        uint8_t l = n->wire[i];
        if (l == 0)
            return i + 1 == n->len;
        if (l > LABEL_MAX)
            return 0;
        i += 1u + l;
    }
    return 0;
}

/* One character of a label in text form at *i, escapes decoded; -1 when
 * an escape is cut short or a \DDD is over 255. */
static int text_char(const char *text, size_t len, size_t *i)
{
    unsigned char c = (unsigned char)text[(*i)++];
    if (c != '\\')
        return c;
    if (*i >= len)
        return -1;
    c = (unsigned char)text[*i];
    if (c < '0' || c > '9') {
        (*i)++;
        return c;
    }
    if (len - *i < 3)
        return -1;
    int v = 0;
    for (int k = 0; k < 3; k++) {
        c = (unsigned char)text[(*i)++];
        if (c < '0' || c > '9')
            return -1;
        v = v * 10 + (c - '0');
    }
    return v > 255 ? -1 : v;
}

int dns_name_from_text(const char *text, size_t len, struct dns_name *out)
{
    size_t i = 0, o = 0;
    out->len = 0;
    if (len == 1 && text[0] == '.')
        len = 0;
    while (i < len) {
        size_t lab = o, n = 0;
        /* Every write stays below index 254, so the zero label fits. */
        if (o >= DNS_NAME_MAX - 1)
            return -1;
        o++;
        while (i < len && text[i] != '.') {
            int c = text_char(text, len, &i);
            if (c < 0 || n == LABEL_MAX || o >= DNS_NAME_MAX - 1)
                return -1;
            out->wire[o++] = (uint8_t)c;
            n++;
        }
        if (n == 0)
            return -1;
        out->wire[lab] = (uint8_t)n;
        if (i < len)
            i++;        /* the dot; a trailing one ends the name */
    }
    out->wire[o++] = 0;
    out->len = (uint8_t)o;
    return 0;
}

/* Appends n bytes of s at *o, keeping room for the final NUL. */
static int text_put(char *buf, size_t len, size_t *o, const char *s, size_t n)
{
    if (len - *o <= n)
        return -1;
    memcpy(buf + *o, s, n);
    *o += n;
    return 0;
}

/* A space is escaped too (\032): the text goes into logs and zone-like
 * listings, where a bare space would split the name. */
static int text_byte(char *buf, size_t len, size_t *o, uint8_t c)
{
    char esc[5];
    if (c == '.' || c == '\\') {
        esc[0] = '\\';
        esc[1] = (char)c;
        return text_put(buf, len, o, esc, 2);
    }
    if (c <= 0x20 || c >= 0x7f) {
        esc[0] = '\\';
        esc[1] = (char)('0' + c / 100);
        esc[2] = (char)('0' + c / 10 % 10);
        esc[3] = (char)('0' + c % 10);
        return text_put(buf, len, o, esc, 4);
    }
    esc[0] = (char)c;
    return text_put(buf, len, o, esc, 1);
}

int dns_name_to_text(const struct dns_name *n, char *buf, size_t len)
{
    size_t o = 0;
    if (len == 0 || !name_valid(n))
        return -1;
    if (n->len == 1 && text_put(buf, len, &o, ".", 1) < 0)
        return -1;
    for (size_t i = 0; n->wire[i] != 0; i += 1u + n->wire[i]) {
        for (size_t k = 1; k <= n->wire[i]; k++)
            if (text_byte(buf, len, &o, n->wire[i + k]) < 0)
                return -1;
        if (text_put(buf, len, &o, ".", 1) < 0)
            return -1;
    }
    buf[o] = '\0';
    return (int)o;
}

/* Length bytes are at most 63, below 'A', so folding every byte keeps
 * label boundaries intact and a plain byte walk is a label comparison. */
static int wire_eq(const uint8_t *a, const uint8_t *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (ascii_lower(a[i]) != ascii_lower(b[i]))
            return 0;
    return 1;
}

int dns_name_eq(const struct dns_name *a, const struct dns_name *b)
{
    return a->len == b->len && wire_eq(a->wire, b->wire, a->len);
}

void dns_name_lower(struct dns_name *n)
{
    for (size_t i = 0; i < n->len; i++)
        n->wire[i] = ascii_lower(n->wire[i]);
}

int dns_name_labels(const struct dns_name *n)
{
    int count = 0;
    if (!name_valid(n))
        return -1;
    for (size_t i = 0; n->wire[i] != 0; i += 1u + n->wire[i])
        count++;
    return count;
}

int dns_name_is_under(const struct dns_name *n, const struct dns_name *zone)
{
    int skip = dns_name_labels(n) - dns_name_labels(zone);
    size_t i = 0;
    if (skip < 0 || dns_name_labels(zone) < 0)
        return 0;
    while (skip-- > 0)
        i += 1u + n->wire[i];
    return n->len - i == zone->len && wire_eq(n->wire + i, zone->wire, zone->len);
}

int dns_name_concat(const struct dns_name *rel, const struct dns_name *origin,
                    struct dns_name *out)
{
    size_t i = 0;
    /* rel must be whole labels with no zero label among them. */
    while (i < rel->len) {
        if (rel->wire[i] == 0 || rel->wire[i] > LABEL_MAX)
            return -1;
        i += 1u + rel->wire[i];
    }
    if (i != rel->len || !name_valid(origin) || (size_t)rel->len + origin->len > DNS_NAME_MAX)
        return -1;
    struct dns_name tmp;        /* out may be rel or origin */
    memcpy(tmp.wire, rel->wire, rel->len);
    memcpy(tmp.wire + rel->len, origin->wire, origin->len);
    tmp.len = (uint8_t)(rel->len + origin->len);
    *out = tmp;
    return 0;
}

int dns_name_parent(const struct dns_name *n, struct dns_name *out)
{
    if (!name_valid(n) || n->len == 1)
        return -1;
    size_t skip = 1u + n->wire[0];
    struct dns_name tmp;        /* out may be n */
    tmp.len = (uint8_t)(n->len - skip);
    memcpy(tmp.wire, n->wire + skip, tmp.len);
    *out = tmp;
    return 0;
}

/*
 * Each pointer must point before the lowest offset read so far for this
 * name (its first byte, then each pointer's target).  That is stricter
 * than "before the pointer itself", which still allows a loop through
 * the labels between target and pointer, and it makes the walk finish
 * by construction; the jump count is a second fence.
 */
int dns_serial_newer(uint32_t a, uint32_t b)
{
    return a != b && (uint32_t)(a - b) < 0x80000000u;
}

int dns_read_name(const uint8_t *msg, size_t len, size_t *off, struct dns_name *out)
{
    size_t pos = *off, limit = *off, after = 0, o = 0;
    int jumps = 0;
    out->len = 0;
    for (;;) {
        if (pos >= len)
            return -1;
        uint8_t l = msg[pos];
        if ((l & LABEL_PTR) == LABEL_PTR) {
            if (len - pos < 2)
                return -1;
            size_t target = (size_t)(l & 0x3F) << 8 | msg[pos + 1];
            if (target >= limit || ++jumps > JUMPS_MAX)
                return -1;
            if (jumps == 1)
                after = pos + 2;
            pos = limit = target;
            continue;
        }
        if (l & LABEL_PTR)
            return -1;
        if (o + 1u + l > DNS_NAME_MAX || len - pos < 1u + l)
            return -1;
        memcpy(out->wire + o, msg + pos, 1u + l);
        o += 1u + l;
        pos += 1u + l;
        if (l == 0)
            break;
    }
    out->len = (uint8_t)o;
    *off = jumps ? after : pos;
    return 0;
}

static void read_header(const uint8_t *msg, struct dns_header *h)
{
    h->id = rd16(msg);
    h->flags = rd16(msg + 2);
    h->qdcount = rd16(msg + 4);
    h->ancount = rd16(msg + 6);
    h->nscount = rd16(msg + 8);
    h->arcount = rd16(msg + 10);
}

static int read_question(const uint8_t *msg, size_t len, size_t *off, struct dns_name *name,
                         uint16_t *type, uint16_t *class)
{
    if (dns_read_name(msg, len, off, name) < 0 || len - *off < 4)
        return -1;
    *type = rd16(msg + *off);
    *class = rd16(msg + *off + 2);
    *off += 4;
    return 0;
}

/* One record at *off: owner, the fixed fields, and rdata within len. */
static int read_rr(const uint8_t *msg, size_t len, size_t *off, struct dns_rr_view *rr)
{
    if (dns_read_name(msg, len, off, &rr->owner) < 0 || len - *off < 10)
        return -1;
    const uint8_t *p = msg + *off;
    rr->type = rd16(p);
    rr->class = rd16(p + 2);
    rr->ttl = rd32(p + 4);
    rr->rdlen = rd16(p + 8);
    *off += 10;
    if (len - *off < rr->rdlen)
        return -1;
    rr->rdata = msg + *off;
    rr->rdata_off = *off;
    *off += rr->rdlen;
    return 0;
}

/* RFC 6891 6.1.2: the options are {code, length, data} and must fill the rdata. */
static int opt_options_ok(const uint8_t *p, size_t n)
{
    size_t i = 0;
    while (n - i >= 4) {
        size_t olen = rd16(p + i + 2);
        if (n - i - 4 < olen)
            return 0;
        i += 4 + olen;
    }
    return i == n;
}

static int take_opt(struct dns_query *q, const struct dns_rr_view *rr)
{
    if (q->has_edns || rr->owner.len != 1 || !opt_options_ok(rr->rdata, rr->rdlen))
        return DNS_R_FORMERR;
    q->has_edns = 1;
    q->edns_payload = rr->class < DNS_UDP_DEFAULT ? DNS_UDP_DEFAULT : rr->class;
    q->edns_version = (uint8_t)(rr->ttl >> 16 & 0xff);
    q->edns_do = (rr->ttl & 0x8000) != 0;
    return 0;
}

/* Skips count records; an OPT among them is taken when q is given, and
 * malformed otherwise (it belongs in the additional section only). */
static int skip_records(const uint8_t *msg, size_t len, size_t *off, unsigned count,
                        struct dns_query *q)
{
    struct dns_rr_view rr;
    for (unsigned i = 0; i < count; i++) {
        if (read_rr(msg, len, off, &rr) < 0)
            return DNS_R_FORMERR;
        if (rr.type != DNS_T_OPT)
            continue;
        if (!q || take_opt(q, &rr) != 0)
            return DNS_R_FORMERR;
    }
    return 0;
}

/* RFC 1995 3: an IXFR query carries the client's SOA for the zone in its
 * authority section; its serial says which version the client holds. */
static int take_ixfr_soa(const uint8_t *msg, size_t len, size_t *off, struct dns_query *q)
{
    struct dns_rr_view rr;
    struct dns_name skip;
    if (read_rr(msg, len, off, &rr) < 0 || rr.type != DNS_T_SOA ||
        !dns_name_eq(&rr.owner, &q->qname))
        return DNS_R_FORMERR;
    size_t p = rr.rdata_off, end = rr.rdata_off + rr.rdlen;
    if (dns_read_name(msg, end, &p, &skip) < 0 || dns_read_name(msg, end, &p, &skip) < 0 ||
        end - p != 20)
        return DNS_R_FORMERR;
    q->has_ixfr_serial = 1;
    q->ixfr_serial = rd32(msg + p);
    return 0;
}

/*
 * A plain QUERY carrying answer or authority records is malformed, but
 * for IXFR's one SOA; other opcodes may carry them (NOTIFY's SOA, RFC
 * 1996 3.7), and those are only checked for shape.  Bytes after the last
 * record are ignored: lenient, as a few stacks pad their datagrams.
 */
int dns_parse_query(const uint8_t *msg, size_t len, struct dns_query *q)
{
    size_t off = DNS_HEADER_LEN;
    memset(q, 0, sizeof *q);
    if (len < DNS_HEADER_LEN)
        return -1;
    read_header(msg, &q->hdr);
    if (q->hdr.flags & DNS_F_QR)
        return -1;
    q->opcode = q->hdr.flags >> 11 & 0xF;
    if (q->hdr.qdcount != 1)
        return DNS_R_FORMERR;
    if (read_question(msg, len, &off, &q->qname, &q->qtype, &q->qclass) < 0) {
        q->qname.len = 0;       /* nothing to echo */
        q->qtype = q->qclass = 0;
        return DNS_R_FORMERR;
    }
    q->question_end = off;
    if (q->opcode == DNS_OP_QUERY && q->qtype == DNS_T_IXFR && !q->hdr.ancount &&
        q->hdr.nscount == 1) {
        if (take_ixfr_soa(msg, len, &off, q) != 0)
            return DNS_R_FORMERR;
        return skip_records(msg, len, &off, q->hdr.arcount, q);
    }
    if (q->opcode == DNS_OP_QUERY && (q->hdr.ancount || q->hdr.nscount))
        return DNS_R_FORMERR;
    if (skip_records(msg, len, &off, (unsigned)q->hdr.ancount + q->hdr.nscount, NULL) != 0)
        return DNS_R_FORMERR;
    return skip_records(msg, len, &off, q->hdr.arcount, q);
}

/* Records already passed to cb stay passed when a later one is malformed. */
int dns_walk_message(const uint8_t *msg, size_t len, struct dns_header *h, dns_rr_cb cb,
                     void *arg)
{
    struct dns_header hdr;
    struct dns_name qname;
    struct dns_rr_view rr;
    uint16_t qtype, qclass;
    size_t off = DNS_HEADER_LEN;
    if (len < DNS_HEADER_LEN)
        return -1;
    read_header(msg, &hdr);
    if (h)
        *h = hdr;
    for (unsigned i = 0; i < hdr.qdcount; i++)
        if (read_question(msg, len, &off, &qname, &qtype, &qclass) < 0)
            return -1;
    const uint16_t counts[3] = { hdr.ancount, hdr.nscount, hdr.arcount };
    const enum dns_section secs[3] = { DNS_S_ANSWER, DNS_S_AUTHORITY, DNS_S_ADDITIONAL };
    for (int s = 0; s < 3; s++) {
        for (unsigned i = 0; i < counts[s]; i++) {
            if (read_rr(msg, len, &off, &rr) < 0)
                return -1;
            int r = cb ? cb(&hdr, secs[s], &rr, arg) : 0;
            if (r != 0)
                return r;
        }
    }
    return 0;
}

/* The state of one rdata expansion: reading msg up to end, writing out. */
struct expand {
    const uint8_t *msg;
    size_t end, pos;
    uint8_t *out;
    size_t outlen, olen;
};

static int expand_bytes(struct expand *e, size_t n)
{
    if (e->end - e->pos < n || e->outlen - e->olen < n)
        return -1;
    if (n > 0)
        memcpy(e->out + e->olen, e->msg + e->pos, n);
    e->pos += n;
    e->olen += n;
    return 0;
}

/* Reading with len = end keeps the name's own bytes inside the rdata, and
 * every pointer target is before the name, so inside the message too. */
static int expand_name(struct expand *e)
{
    struct dns_name n;
    if (dns_read_name(e->msg, e->end, &e->pos, &n) < 0 || e->outlen - e->olen < n.len)
        return -1;
    memcpy(e->out + e->olen, n.wire, n.len);
    e->olen += n.len;
    return 0;
}

int dns_rdata_expand(const uint8_t *msg, size_t len, const struct dns_rr_view *rr,
                     uint8_t *out, size_t outlen)
{
    if (rr->rdata_off > len || rr->rdlen > len - rr->rdata_off)
        return -1;
    struct expand e = { msg, rr->rdata_off + rr->rdlen, rr->rdata_off, out, outlen, 0 };
    int r;
    switch (rr->type) {
    case DNS_T_NS: case DNS_T_CNAME: case DNS_T_PTR:
        r = expand_name(&e);
        break;
    case DNS_T_MX:
        r = expand_bytes(&e, 2) < 0 ? -1 : expand_name(&e);
        break;
    case DNS_T_SOA:
        r = expand_name(&e) < 0 || expand_name(&e) < 0 ? -1 : expand_bytes(&e, 20);
        break;
    case DNS_T_SRV:
        r = expand_bytes(&e, 6) < 0 ? -1 : expand_name(&e);
        break;
    default:
        r = expand_bytes(&e, rr->rdlen);
        break;
    }
    if (r < 0 || e.pos != e.end || e.olen > 65535)
        return -1;
    return (int)e.olen;
}
