/*
 * libFuzzer target for the DNS wire format, servers/dns/wire.c and
 * wire_build.c (RFC 1035 4.1, 4.1.4; RFC 6891 6.1): arbitrary bytes go
 * to dns_parse_query(), dns_walk_message() with dns_rdata_expand() on
 * every record, dns_read_name() and dns_name_from_text().  Beyond what
 * the sanitizers catch, it aborts when a result breaks wire.h's promises:
 *  - a status other than 0, -1 or FORMERR; a question past the input;
 *  - a name that is not well formed, or whose text form does not read
 *    back to the same bytes;
 *  - a record whose rdata lies outside the message, or whose expansion
 *    depends on the room given other than by failing;
 *  - an answer built for a parsed query (into a small buffer, so records
 *    are dropped) that does not walk back to exactly the records that
 *    were accepted, rdata and owners unchanged, within cap.
 *   clang -g -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE \
 *       tests/fuzz/fuzz_dns_wire.c -o fuzz_dns_wire
 */
#include "../../servers/dns/wire.c"
#include "../../servers/dns/wire_build.c"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define RDATA_MAX 65535
#define ANSWER_MAX 600
#define REC_MAX 8

static uint8_t expanded[RDATA_MAX], again[RDATA_MAX];

/* The name is well formed and its text reads back to the same bytes. */
static void check_name(const struct dns_name *n)
{
    static char text[4 * DNS_NAME_MAX + 2];
    struct dns_name back;
    if (!name_valid(n) || dns_name_labels(n) < 0)
        abort();
    int t = dns_name_to_text(n, text, sizeof text);
    if (t <= 0 || (size_t)t != strlen(text))
        abort();
    if (dns_name_from_text(text, (size_t)t, &back) != 0 || back.len != n->len ||
        memcmp(back.wire, n->wire, n->len) != 0)
        abort();
}

struct walk_ctx {
    const uint8_t *msg;
    size_t len;
    unsigned seen;
};

static int on_rr(const struct dns_header *h, enum dns_section sec, const struct dns_rr_view *rr,
                 void *arg)
{
    struct walk_ctx *w = arg;
    (void)h;
    (void)sec;
    check_name(&rr->owner);
    if (rr->rdata_off > w->len || rr->rdlen > w->len - rr->rdata_off ||
        rr->rdata != w->msg + rr->rdata_off)
        abort();
    int r = dns_rdata_expand(w->msg, w->len, rr, expanded, sizeof expanded);
    if (r < -1)
        abort();
    if (r >= 0) {
        /* Exactly enough room gives the same bytes; one less fails. */
        if (dns_rdata_expand(w->msg, w->len, rr, again, (size_t)r) != r ||
            memcmp(again, expanded, (size_t)r) != 0)
            abort();
        if (r > 0 && dns_rdata_expand(w->msg, w->len, rr, again, (size_t)r - 1) != -1)
            abort();
    }
    return ++w->seen > 2000;     /* enough per input */
}

static void fuzz_walk(const uint8_t *msg, size_t len)
{
    struct walk_ctx w = { msg, len, 0 };
    struct dns_header h;
    int r = dns_walk_message(msg, len, &h, on_rr, &w);
    if (r != 0 && r != -1 && r != 1)
        abort();
}

/* One record the builder was given, to compare with what comes back. */
struct rec {
    enum dns_section sec;
    struct dns_name owner;
    uint16_t type;
    uint32_t ttl;
    uint8_t rd[2 * DNS_NAME_MAX + 20];
    uint16_t rdlen;
};

struct answer {
    struct rec r[REC_MAX];
    int n, added[REC_MAX];
    int next;                /* the next accepted record the walk must see */
    const uint8_t *msg;
    size_t len;
};

static void add_name(struct rec *r, const struct dns_name *n)
{
    memcpy(r->rd + r->rdlen, n->wire, n->len);
    r->rdlen = (uint16_t)(r->rdlen + n->len);
}

static void add_bytes(struct rec *r, const void *p, size_t n)
{
    memcpy(r->rd + r->rdlen, p, n);
    r->rdlen = (uint16_t)(r->rdlen + n);
}

static struct rec *new_rec(struct answer *a, enum dns_section sec, const struct dns_name *owner,
                           uint16_t type)
{
    struct rec *r = &a->r[a->n++];
    r->sec = sec;
    r->owner = *owner;
    r->type = type;
    r->ttl = (uint32_t)a->n * 1000;
    r->rdlen = 0;
    return r;
}

/* Records whose names share suffixes with the question, so that
 * compression has work to do. */
static void plan_answer(struct answer *a, const struct dns_query *q)
{
    static const uint8_t www[4] = { 3, 'w', 'w', 'w' }, mail[5] = { 4, 'm', 'a', 'i', 'l' };
    struct dns_name parent = q->qname, longer, mx;
    struct dns_name rel = { 4, { 3, 'w', 'w', 'w' } };
    dns_name_parent(&q->qname, &parent);          /* the root stays the root */
    if (dns_name_concat(&rel, &q->qname, &longer) != 0)
        longer = q->qname;
    rel.len = 5;
    memcpy(rel.wire, mail, 5);
    if (dns_name_concat(&rel, &parent, &mx) != 0)
        mx = parent;
    a->n = 0;
    new_rec(a, DNS_S_ANSWER, &q->qname, DNS_T_A);
    add_bytes(&a->r[0], "\300\0\2\1", 4);
    add_name(new_rec(a, DNS_S_ANSWER, &longer, DNS_T_CNAME), &q->qname);
    struct rec *r = new_rec(a, DNS_S_ANSWER, &q->qname, DNS_T_MX);
    add_bytes(r, "\0\12", 2);
    add_name(r, &mx);
    r = new_rec(a, DNS_S_AUTHORITY, &parent, DNS_T_SOA);
    add_name(r, &mx);
    add_name(r, &longer);
    add_bytes(r, "\0\0\0\1\0\0\0\2\0\0\0\3\0\0\0\4\0\0\0\5", 20);
    add_name(new_rec(a, DNS_S_AUTHORITY, &parent, DNS_T_NS), &mx);
    r = new_rec(a, DNS_S_ADDITIONAL, &mx, DNS_T_SRV);
    add_bytes(r, "\0\1\0\2\0\3", 6);
    add_name(r, &longer);
    add_bytes(new_rec(a, DNS_S_ADDITIONAL, &mx, DNS_T_TXT), www, 4);
}

static int on_answer_rr(const struct dns_header *h, enum dns_section sec,
                        const struct dns_rr_view *rr, void *arg)
{
    struct answer *a = arg;
    (void)h;
    if (rr->type == DNS_T_OPT)
        return sec == DNS_S_ADDITIONAL && rr->owner.len == 1 ? 0 : 1;
    while (a->next < a->n && !a->added[a->next])
        a->next++;
    if (a->next >= a->n)
        return 1;
    const struct rec *want = &a->r[a->next++];
    int r = dns_rdata_expand(a->msg, a->len, rr, expanded, sizeof expanded);
    /* Compression may hand back an earlier spelling's case ("MAIL" for
     * "mail"), so names, and with them the rdata, compare folded. */
    if (sec != want->sec || rr->type != want->type || rr->ttl != want->ttl ||
        !dns_name_eq(&rr->owner, &want->owner) || r != want->rdlen ||
        !wire_eq(expanded, want->rd, want->rdlen))
        return 1;
    return 0;
}

static void fuzz_answer(const struct dns_query *q, size_t cap)
{
    static uint8_t buf[ANSWER_MAX];
    static struct answer a;
    struct dns_builder b;
    struct dns_header h;
    int added = 0;
    plan_answer(&a, q);
    dns_builder_init(&b, buf, cap);
    if (dns_begin_answer(&b, q, DNS_F_AA, DNS_R_NOERROR) != 0)
        return;
    for (int i = 0; i < a.n; i++) {
        const struct rec *r = &a.r[i];
        a.added[i] = dns_add_rr(&b, r->sec, &r->owner, r->type, DNS_C_IN, r->ttl, r->rd,
                                r->rdlen) == 0;
        added += a.added[i];
    }
    int opt = q->has_edns && dns_add_opt(&b, DNS_EDNS_PAYLOAD, q->edns_do, 0) == 0;
    size_t len = dns_finish(&b);
    int failed = a.n - added + (q->has_edns && !opt);
    if (len > cap || (failed > 0) != (b.truncated != 0))
        abort();
    a.next = 0;
    a.msg = buf;
    a.len = len;
    if (dns_walk_message(buf, len, &h, on_answer_rr, &a) != 0)
        abort();
    if (h.id != q->hdr.id || !(h.flags & DNS_F_QR) || h.qdcount != 1 ||
        h.ancount + h.nscount + h.arcount != added + opt)
        abort();
}

static void fuzz_query(const uint8_t *msg, size_t len)
{
    struct dns_query q;
    int r = dns_parse_query(msg, len, &q);
    if (r != 0 && r != -1 && r != DNS_R_FORMERR)
        abort();
    if (r != 0)
        return;
    if (q.question_end > len || q.question_end < DNS_HEADER_LEN + 5 || q.hdr.qdcount != 1)
        abort();
    if (q.has_edns && q.edns_payload < DNS_UDP_DEFAULT)
        abort();
    check_name(&q.qname);
    /* A cap from the input's last byte: from too small for the question up. */
    size_t cap = 12 + (len ? msg[len - 1] : 0) * 2u;
    fuzz_answer(&q, cap < ANSWER_MAX ? cap : ANSWER_MAX);
    fuzz_answer(&q, ANSWER_MAX);
}

static void fuzz_names(const uint8_t *msg, size_t len)
{
    struct dns_name n;
    for (size_t off = 0; off < len && off < 24; off++) {
        size_t at = off;
        if (dns_read_name(msg, len, &at, &n) != 0)
            continue;
        if (at <= off || at > len)
            abort();
        check_name(&n);
    }
    if (dns_name_from_text((const char *)msg, len, &n) == 0)
        check_name(&n);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* A copy of exactly size bytes, so ASan sees any read past the end. */
    uint8_t *buf = malloc(size ? size : 1);
    if (!buf)
        return 0;
    memcpy(buf, data, size);
    fuzz_query(buf, size);
    fuzz_walk(buf, size);
    fuzz_names(buf, size);
    free(buf);
    return 0;
}
