/*
 * Zone transfers out of the store, for secondaries and for dig and kdig:
 *   RFC 5936 AXFR: the zone in as many messages as it takes, SOA first
 *     and last, each message framed like any other TCP answer;
 *   RFC 1995 IXFR: the client's SOA says which serial it holds; a client
 *     that is current gets our SOA alone (section 2), any other the whole
 *     zone in AXFR form (section 4: we keep no history of changes).
 */
#include "xfr.h"

#include <stdio.h>
#include <stdlib.h>
#include <event2/buffer.h>

#include "gale_session.h"

#include "log.h"

#define XFR_MESSAGE 16384

struct xfr_ctx {
    struct gale_session *gs;
    const struct dns_query *q;
    struct dns_builder b;
    uint8_t buf[XFR_MESSAGE + 2];
    size_t records;
};

static void xfr_begin(struct xfr_ctx *x)
{
    dns_builder_init(&x->b, x->buf + 2, XFR_MESSAGE);
    dns_begin_answer(&x->b, x->q, DNS_F_AA, DNS_R_NOERROR);
}

static void xfr_flush(struct xfr_ctx *x)
{
    size_t n = dns_finish(&x->b);
    x->buf[0] = (uint8_t)(n >> 8);
    x->buf[1] = (uint8_t)n;
    evbuffer_add(session_output(x->gs), x->buf, n + 2);
}

static int xfr_record(void *arg, const struct dns_name *owner, uint16_t type, uint32_t ttl,
                      const uint8_t *rdata, uint16_t rdlen)
{
    struct xfr_ctx *x = arg;
    if (dns_add_rr(&x->b, DNS_S_ANSWER, owner, type, DNS_C_IN, ttl, rdata, rdlen) == 0) {
        x->records++;
        return 0;
    }
    xfr_flush(x);
    xfr_begin(x);
    if (dns_add_rr(&x->b, DNS_S_ANSWER, owner, type, DNS_C_IN, ttl, rdata, rdlen) == -1)
        return -1;
    x->records++;
    return 0;
}

static void xfr_refuse(struct xfr_ctx *x, int rcode)
{
    x->b.hdr.flags = (uint16_t)((x->b.hdr.flags & ~0xF & ~DNS_F_AA) | rcode);
}

/* RFC 1995 2: the client holds our serial, or a newer one. */
static int xfr_client_current(const struct dns_store *st, const struct dns_query *q,
                              uint32_t *serial)
{
    return q->qtype == DNS_T_IXFR && q->has_ixfr_serial &&
           store_zone_serial(st, &q->qname, serial) == 0 &&
           !dns_serial_newer(*serial, q->ixfr_serial);
}

/* The zone's SOA alone, as the answer to q. */
static void xfr_soa_only(const struct dns_store *st, const struct dns_query *q,
                         struct dns_builder *b)
{
    struct dns_query soa = *q;
    soa.qtype = DNS_T_SOA;
    store_answer(st, &soa, b);
}

void xfr_answer_tcp(struct gale_session *gs, const struct dns_store *st,
                    const struct dns_query *q, int allowed, const char *client)
{
    const char *kind = q->qtype == DNS_T_IXFR ? "ixfr" : "axfr";
    char zone[1024];
    uint32_t serial;
    struct xfr_ctx *x = malloc(sizeof *x);
    if (!x)
        return;
    if (dns_name_to_text(&q->qname, zone, sizeof zone) < 0)
        snprintf(zone, sizeof zone, "?");
    x->gs = gs;
    x->q = q;
    x->records = 0;
    xfr_begin(x);
    if (!allowed) {
        xfr_refuse(x, DNS_R_REFUSED);
        log_warnx("event=%s-refused client=%s zone=\"%s\"", kind, client, zone);
    } else if (xfr_client_current(st, q, &serial)) {
        xfr_soa_only(st, q, &x->b);
        log_info("event=ixfr client=%s zone=\"%s\" serial=%u current=yes", client, zone, serial);
    } else if (store_axfr(st, &q->qname, xfr_record, x) != 0) {
        xfr_refuse(x, DNS_R_NOTAUTH);
    } else {
        log_info("event=%s client=%s zone=\"%s\" records=%zu", kind, client, zone, x->records);
    }
    xfr_flush(x);
    free(x);
}

void xfr_answer_udp(const struct dns_store *st, const struct dns_query *q, int allowed,
                    struct dns_builder *b)
{
    uint32_t serial;
    if (!allowed)
        b->hdr.flags = (uint16_t)((b->hdr.flags & ~0xF) | DNS_R_REFUSED);
    else if (store_zone_serial(st, &q->qname, &serial) != 0)
        b->hdr.flags = (uint16_t)((b->hdr.flags & ~0xF) | DNS_R_NOTAUTH);
    else
        xfr_soa_only(st, q, b);
}
