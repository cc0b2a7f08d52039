/*
 * gale dns's record store, answering side: a query answered from the
 * index store.c keeps, and zone transfers out of it; see store.h.
 *   RFC 1034 4.3.2 the algorithm: the deepest zone, a referral at the
 *     highest cut on the way down, CNAMEs followed, the answer;
 *   RFC 1034 4.3.3 and RFC 4592 wildcards: the closest encloser (empty
 *     non-terminals included) and its "*" child, never past a cut;
 *   RFC 2308 2 and 5 negative answers: the zone's SOA in the authority
 *     section, its TTL the smaller of the SOA's TTL and minimum;
 *   RFC 6604 2.1 after a CNAME chain the rcode is the last name's;
 *   RFC 1035 3.3.9, 3.3.11, RFC 2782 addresses of MX, NS and SRV targets
 *     as additional data;
 *   RFC 2181 9 TC only when data the answer needs does not fit, and
 *     RFC 9471 in-domain glue of a referral is needed data;
 *   RFC 5936 2.2 AXFR: the SOA first and last.
 * No allocation: names are copied to the stack, everything else is hash
 * lookups into the store.
 */
#include "store.h"
#include "store_index.h"

#include <string.h>

#define SA_T_DS 43                 /* RFC 4035: answered from the parent side of a cut */
#define SA_LABELS 128              /* 127 one-byte labels and the root */
#define SA_ADDL_MAX 16             /* names given addresses in the additional section */

struct sa_ctx {
    const struct dns_store *st;
    const struct dns_query *q;
    struct dns_builder *b;
    const struct st_zone *z;
    int rcode, aa, tc;
    uint32_t addl[SA_ADDL_MAX];    /* nodes whose addresses were added already */
    int n_addl;
};

static uint32_t sa_rd32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* The offset of each label of n, at[k] being the root's; returns k, the
 * number of labels before the root. */
static int sa_labels(const struct dns_name *n, uint8_t *at)
{
    size_t i = 0;
    int k = 0;

    while (i < n->len && n->wire[i] != 0 && k < SA_LABELS - 1) {
        at[k++] = (uint8_t)i;
        i += 1u + n->wire[i];
    }
    at[k] = (uint8_t)(n->len ? n->len - 1 : 0);
    return k;
}

const struct st_zone *st_zone_for(const struct dns_store *st, const struct dns_name *n)
{
    uint8_t at[SA_LABELS];
    int k = st->n_zones ? sa_labels(n, at) : -1;

    /* No zone is deeper than the deepest origin: skip longer suffixes. */
    for (int j = k > st->zone_labels_max ? k - st->zone_labels_max : 0; j <= k; j++) {
        uint32_t dir = st_find(st, ST_SPACE_ZONES, n->wire + at[j], n->len - at[j]);
        if (dir != ST_NONE)
            return &st->zones[st->nodes[dir].first];
    }
    return NULL;
}

static uint32_t sa_first_of(const struct dns_store *st, uint32_t node, uint16_t type)
{
    for (uint32_t r = st->nodes[node].first; r != ST_NONE; r = st->rrs[r].next)
        if (st->rrs[r].type == type)
            return r;
    return ST_NONE;
}

/* The name in a record's rdata, head bytes in (MX 2, SRV 6). */
static int sa_rd_name(const struct dns_store *st, const struct st_rr *rr, size_t head,
                      struct dns_name *out)
{
    size_t off = head;

    return rr->rdlen >= head && dns_read_name(st->arena + rr->rd, rr->rdlen, &off, out) == 0
               ? 0 : -1;
}

/* Once needed data did not fit nothing more is added: TC tells the
 * client to ask again over TCP, where it all fits. */
static void sa_add(struct sa_ctx *c, enum dns_section sec, const struct dns_name *owner,
                   const struct st_rr *rr)
{
    if (c->tc)
        return;
    if (dns_add_rr(c->b, sec, owner, rr->type, DNS_C_IN, rr->ttl, c->st->arena + rr->rd,
                   rr->rdlen) != 0 && c->b->truncated)
        c->tc = 1;
}

/* Adds node's records of type (every one for ANY); returns how many it has. */
static int sa_add_set(struct sa_ctx *c, enum dns_section sec, uint32_t node,
                      const struct dns_name *owner, uint16_t type)
{
    const struct dns_store *st = c->st;
    int n = 0;

    for (uint32_t r = st->nodes[node].first; r != ST_NONE; r = st->rrs[r].next)
        if (type == DNS_T_ANY || st->rrs[r].type == type) {
            sa_add(c, sec, owner, &st->rrs[r]);
            n++;
        }
    return n;
}

/* The A and AAAA records of target in space, once per answer.  Extra
 * data that does not fit is left out without TC, needed glue sets it. */
static void sa_addresses(struct sa_ctx *c, uint32_t space, const struct dns_name *target,
                         int needed)
{
    const struct dns_store *st = c->st;
    uint32_t node = st_find(st, space, target->wire, target->len);
    struct dns_name owner;

    if (node == ST_NONE || c->tc || c->n_addl == SA_ADDL_MAX)
        return;
    for (int i = 0; i < c->n_addl; i++)
        if (c->addl[i] == node)
            return;
    c->addl[c->n_addl++] = node;
    st_node_name(st, node, &owner);
    for (uint32_t r = st->nodes[node].first; r != ST_NONE && !c->tc; r = st->rrs[r].next) {
        const struct st_rr *rr = &st->rrs[r];
        if (rr->type != DNS_T_A && rr->type != DNS_T_AAAA)
            continue;
        sa_add(c, DNS_S_ADDITIONAL, &owner, rr);
        if (c->tc && !needed) {
            c->tc = 0;
            c->b->truncated = 0;
            return;
        }
    }
}

/* Addresses for the targets of the MX, NS or SRV records just answered. */
static void sa_additional(struct sa_ctx *c, uint32_t node)
{
    const struct dns_store *st = c->st;
    uint16_t type = c->q->qtype;
    size_t head = type == DNS_T_MX ? 2 : type == DNS_T_SRV ? 6 : 0;
    struct dns_name target;

    if (type != DNS_T_MX && type != DNS_T_SRV && type != DNS_T_NS)
        return;
    for (uint32_t r = st->nodes[node].first; r != ST_NONE; r = st->rrs[r].next) {
        if (st->rrs[r].type != type || sa_rd_name(st, &st->rrs[r], head, &target) != 0 ||
            target.len <= 1)       /* "." is RFC 7505's null MX, RFC 2782's no service */
            continue;
        const struct st_zone *z = st_zone_for(st, &target);
        sa_addresses(c, z ? z->space : ST_SPACE_HOSTS, &target, 0);
    }
}

/* RFC 2308 3: NXDOMAIN and NODATA carry the zone's SOA. */
static void sa_negative(struct sa_ctx *c)
{
    const struct st_rr *soa = &c->st->rrs[c->z->soa];
    struct st_rr neg = *soa;
    uint32_t min = sa_rd32(c->st->arena + soa->rd + soa->rdlen - 4);

    neg.ttl = soa->ttl < min ? soa->ttl : min;
    sa_add(c, DNS_S_AUTHORITY, &c->z->origin, &neg);
}

/* The cut's NS records, not authoritative, with the glue the zone holds. */
static void sa_referral(struct sa_ctx *c, uint32_t cut)
{
    const struct dns_store *st = c->st;
    struct dns_name owner, target;

    c->aa = 0;
    st_node_name(st, cut, &owner);
    sa_add_set(c, DNS_S_AUTHORITY, cut, &owner, DNS_T_NS);
    for (uint32_t r = st->nodes[cut].first; r != ST_NONE; r = st->rrs[r].next)
        if (st->rrs[r].type == DNS_T_NS && sa_rd_name(st, &st->rrs[r], 0, &target) == 0)
            sa_addresses(c, c->z->space, &target, dns_name_is_under(&target, &owner));
}

/* RFC 1034 4.3.2 step 3b: going down from the apex to n, the first name
 * below the apex with NS records is a cut.  Empty non-terminals exist,
 * so the walk stops at the first name that does not. */
static uint32_t sa_cut(const struct sa_ctx *c, const struct dns_name *n)
{
    uint8_t at[SA_LABELS];
    int k = sa_labels(n, at), below = k - dns_name_labels(&c->z->origin);

    if (!c->z->has_cuts)
        return ST_NONE;
    for (int j = below - 1; j >= 0; j--) {
        uint32_t node = st_find(c->st, c->z->space, n->wire + at[j], n->len - at[j]);
        if (node == ST_NONE || (j == 0 && c->q->qtype == SA_T_DS))
            return ST_NONE;
        if (sa_first_of(c->st, node, DNS_T_NS) != ST_NONE)
            return node;
    }
    return ST_NONE;
}

/* n's node, else the wildcard at its closest encloser (RFC 4592 3.3.1),
 * else ST_NONE: the name does not exist. */
static uint32_t sa_lookup(const struct sa_ctx *c, const struct dns_name *n)
{
    uint8_t at[SA_LABELS], wild[DNS_NAME_MAX + 2] = { 1, '*' };
    int k = sa_labels(n, at), below = k - dns_name_labels(&c->z->origin);
    uint32_t node = st_find(c->st, c->z->space, n->wire, n->len);

    for (int j = 1; node == ST_NONE && j <= below; j++) {
        size_t len = n->len - at[j];
        if (st_find(c->st, c->z->space, n->wire + at[j], len) == ST_NONE)
            continue;
        if (len + 2 > DNS_NAME_MAX)
            return ST_NONE;
        memcpy(wild + 2, n->wire + at[j], len);
        return st_find(c->st, c->z->space, wild, len + 2);
    }
    return node;
}

static int sa_seen_node(const uint32_t *seen, int n, uint32_t node)
{
    for (int i = 0; i < n; i++)
        if (seen[i] == node)
            return 1;
    return 0;
}

/* The answer from zone c->z, CNAMEs followed while they stay in it.  The
 * records of the asked name carry the client's spelling of it. */
static void sa_zone(struct sa_ctx *c)
{
    struct dns_name name = c->q->qname;
    uint32_t seen[ST_CHAIN_MAX + 1], node, cname;

    c->aa = 1;
    for (int step = 0; step <= ST_CHAIN_MAX && !c->tc; step++) {
        if ((node = sa_cut(c, &name)) != ST_NONE) {
            if (step == 0)
                sa_referral(c, node);
            return;                /* a chain into a child: the client goes on */
        }
        if ((node = sa_lookup(c, &name)) == ST_NONE) {
            c->rcode = DNS_R_NXDOMAIN;
            sa_negative(c);
            return;
        }
        if (sa_seen_node(seen, step, node))
            return;                /* a loop: the chain so far is the answer */
        seen[step] = node;
        if (sa_add_set(c, DNS_S_ANSWER, node, &name, c->q->qtype) > 0) {
            sa_additional(c, node);
            return;
        }
        if ((cname = sa_first_of(c->st, node, DNS_T_CNAME)) == ST_NONE) {
            sa_negative(c);        /* NODATA */
            return;
        }
        sa_add(c, DNS_S_ANSWER, &name, &c->st->rrs[cname]);
        if (sa_rd_name(c->st, &c->st->rrs[cname], 0, &name) != 0 ||
            !dns_name_is_under(&name, &c->z->origin))
            return;
    }
}

enum store_result store_answer(const struct dns_store *st, const struct dns_query *q,
                               struct dns_builder *b)
{
    struct sa_ctx c = { .st = st, .q = q, .b = b };
    const uint16_t ours = DNS_F_AA | DNS_F_TC | 0x000F;
    uint32_t node;

    if (q->qclass != DNS_C_IN && q->qclass != DNS_C_ANY)
        return STORE_NOT_OURS;
    if ((c.z = st_zone_for(st, &q->qname)) != NULL) {
        sa_zone(&c);
    } else {
        node = st_find(st, ST_SPACE_HOSTS, q->qname.wire, q->qname.len);
        if (node == ST_NONE)
            return STORE_NOT_OURS;
        sa_add_set(&c, DNS_S_ANSWER, node, &q->qname, q->qtype);
    }
    b->truncated = c.tc;
    b->hdr.flags = (uint16_t)((b->hdr.flags & ~ours) | (c.aa ? DNS_F_AA : 0) |
                              (c.tc ? DNS_F_TC : 0) | c.rcode);
    return STORE_ANSWERED;
}

/* ---- transfers ---- */

static const struct st_zone *sa_zone_at(const struct dns_store *st, const struct dns_name *n)
{
    uint32_t dir = st_find(st, ST_SPACE_ZONES, n->wire, n->len);

    return dir == ST_NONE ? NULL : &st->zones[st->nodes[dir].first];
}

int store_axfr(const struct dns_store *st, const struct dns_name *zone, store_axfr_cb cb,
               void *arg)
{
    const struct st_zone *z = sa_zone_at(st, zone);
    const struct st_rr *soa;
    struct dns_name owner;
    int r;

    if (!z)
        return -1;
    soa = &st->rrs[z->soa];
    if ((r = cb(arg, &z->origin, DNS_T_SOA, soa->ttl, st->arena + soa->rd, soa->rdlen)) != 0)
        return r;
    for (uint32_t i = z->node_begin; i < z->node_end; i++) {
        if (st->nodes[i].space != z->space)
            continue;
        st_node_name(st, i, &owner);
        for (uint32_t k = st->nodes[i].first; k != ST_NONE; k = st->rrs[k].next) {
            const struct st_rr *rr = &st->rrs[k];
            if (k != z->soa && (r = cb(arg, &owner, rr->type, rr->ttl, st->arena + rr->rd,
                                       rr->rdlen)) != 0)
                return r;
        }
    }
    return cb(arg, &z->origin, DNS_T_SOA, soa->ttl, st->arena + soa->rd, soa->rdlen);
}

int store_zone_serial(const struct dns_store *st, const struct dns_name *zone, uint32_t *serial)
{
    const struct st_zone *z = sa_zone_at(st, zone);
    const struct st_rr *soa;

    if (!z)
        return -1;
    soa = &st->rrs[z->soa];
    *serial = sa_rd32(st->arena + soa->rd + soa->rdlen - 20);
    return 0;
}
