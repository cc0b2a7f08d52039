/*
 * Secondary zones; see secondary.h.  One TCP connection per check: an
 * SOA query first, and an AXFR on the same connection when the primary's
 * serial is newer than ours (or we have no copy yet).
 */
#include "secondary.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "connector.h"
#include "instance.h"
#include "log.h"
#include "reactor.h"
#include "store.h"

#define MAX_SECONDARIES 64
#define TRANSFER_TIMEOUT 30
#define MAX_ZONE_BYTES (256u * 1024 * 1024)
#define MIN_INTERVAL 5            /* never check more often than this */

struct secondary {
    struct dns_secondaries *set;  /* the server's, told of new copies */
    char primary[80];
    int port;
    struct dns_name zone;
    char zone_text[DNS_NAME_MAX * 4 + 2];
    /* The copy being served: records packed as owner, type, ttl, rdlen, rdata. */
    uint8_t *records;
    size_t records_len;
    int have;
    uint32_t serial, refresh, retry, expire;
    /* A check or transfer in progress. */
    struct connect_job *job;
    struct bufferevent *bev;
    struct event *timer;          /* next check, or the transfer's deadline */
    struct event *expiry;
    int transferring, soa_seen;
    uint16_t id;
    uint8_t *incoming;
    size_t incoming_len, incoming_cap;
    uint32_t incoming_serial;
};

struct dns_secondaries {
    struct secondary *v[MAX_SECONDARIES];
    size_t n;
    void (*changed)(void *arg);
    void *arg;
    struct gale_instance *owner;  /* the dns instance, current in our own events */
    uint8_t rdata[65535];         /* scratch for one record's rdata as a message is read:
                                   * too large for the stack */
};

static void schedule(struct secondary *s, uint32_t seconds);
static void check_now(struct secondary *s);

static int parse_spec(const char *spec, struct secondary *s, char *err, size_t errlen)
{
    const char *slash = strchr(spec, '/');
    char host[80];
    size_t hlen = slash ? (size_t)(slash - spec) : 0;
    if (!slash || hlen == 0 || hlen >= sizeof host || slash[1] == '\0')
        goto bad;
    memcpy(host, spec, hlen);
    host[hlen] = '\0';
    s->port = 53;
    char *colon = strrchr(host, ':');
    if (colon && strchr(host, ':') == colon) {      /* IPv4:PORT; IPv6 has many colons */
        *colon = '\0';
        s->port = atoi(colon + 1);
        if (s->port < 1 || s->port > 65535)
            goto bad;
    }
    unsigned char buf[16];
    if (inet_pton(AF_INET, host, buf) != 1 && inet_pton(AF_INET6, host, buf) != 1)
        goto bad;
    snprintf(s->primary, sizeof s->primary, "%s", host);
    if (dns_name_from_text(slash + 1, strlen(slash + 1), &s->zone) == -1)
        goto bad;
    dns_name_lower(&s->zone);
    dns_name_to_text(&s->zone, s->zone_text, sizeof s->zone_text);
    return 0;
bad:
    snprintf(err, errlen, "'%s' is not PRIMARY-IP/DOMAIN (e.g. 192.0.2.1/example.com)", spec);
    return -1;
}

int secondary_check(const char *spec, char *err, size_t errlen)
{
    struct secondary s;
    return parse_spec(spec, &s, err, errlen);
}

struct dns_secondaries *secondaries_new(void)
{
    return calloc(1, sizeof(struct dns_secondaries));
}

int secondary_add(struct dns_secondaries *set, const char *spec, char *err, size_t errlen)
{
    if (set->n == MAX_SECONDARIES) {
        snprintf(err, errlen, "--secondary: at most %d zones", MAX_SECONDARIES);
        return -1;
    }
    struct secondary *s = calloc(1, sizeof *s);
    if (!s || parse_spec(spec, s, err, errlen) == -1) {
        free(s);
        return -1;
    }
    s->set = set;
    set->v[set->n++] = s;
    return 0;
}

static void tell_changed(struct secondary *s)
{
    if (s->set->changed)
        s->set->changed(s->set->arg);
}

/* --- the connection -------------------------------------------------- */

static void end_attempt(struct secondary *s)
{
    if (s->job)
        connect_cancel(s->job);
    s->job = NULL;
    if (s->bev)
        bufferevent_free(s->bev);
    s->bev = NULL;
    free(s->incoming);
    s->incoming = NULL;
    s->incoming_len = s->incoming_cap = 0;
    s->transferring = s->soa_seen = 0;
}

static void failed(struct secondary *s, const char *why)
{
    log_warnx("event=transfer-failed zone=\"%s\" primary=%s error=\"%s\"", s->zone_text,
              s->primary, why);
    end_attempt(s);
    schedule(s, s->have ? s->retry : 10);
}

static void send_query(struct secondary *s, uint16_t qtype)
{
    uint8_t msg[DNS_HEADER_LEN + DNS_NAME_MAX + 4 + 2];
    size_t n = 2;
    s->id = (uint16_t)(s->id * 31u + 7u);
    uint8_t hdr[DNS_HEADER_LEN] = { (uint8_t)(s->id >> 8), (uint8_t)s->id, 0, 0, 0, 1 };
    memcpy(msg + n, hdr, sizeof hdr);
    n += sizeof hdr;
    memcpy(msg + n, s->zone.wire, s->zone.len);
    n += s->zone.len;
    msg[n++] = (uint8_t)(qtype >> 8);
    msg[n++] = (uint8_t)qtype;
    msg[n++] = 0;
    msg[n++] = DNS_C_IN;
    msg[0] = (uint8_t)((n - 2) >> 8);
    msg[1] = (uint8_t)(n - 2);
    bufferevent_write(s->bev, msg, n);
}

static int keep_record(struct secondary *s, const struct dns_name *owner, uint16_t type,
                       uint32_t ttl, const uint8_t *rdata, uint16_t rdlen)
{
    size_t need = 1 + owner->len + 8 + rdlen;
    if (s->incoming_len + need > MAX_ZONE_BYTES)
        return -1;
    if (s->incoming_len + need > s->incoming_cap) {
        size_t cap = s->incoming_cap ? s->incoming_cap * 2 : 65536;
        while (cap < s->incoming_len + need)
            cap *= 2;
        uint8_t *p = realloc(s->incoming, cap);
        if (!p)
            return -1;
        s->incoming = p;
        s->incoming_cap = cap;
    }
    uint8_t *p = s->incoming + s->incoming_len;
    *p++ = owner->len;
    memcpy(p, owner->wire, owner->len);
    p += owner->len;
    *p++ = (uint8_t)(type >> 8); *p++ = (uint8_t)type;
    *p++ = (uint8_t)(ttl >> 24); *p++ = (uint8_t)(ttl >> 16);
    *p++ = (uint8_t)(ttl >> 8); *p++ = (uint8_t)ttl;
    *p++ = (uint8_t)(rdlen >> 8); *p++ = (uint8_t)rdlen;
    memcpy(p, rdata, rdlen);
    s->incoming_len += need;
    return 0;
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

struct walk {
    struct secondary *s;
    const uint8_t *msg;
    size_t len;
    int done, bad;
    uint32_t soa_serial;
    uint8_t soa_times[16];
};

static int on_rr(const struct dns_header *h, enum dns_section sec, const struct dns_rr_view *rr,
                 void *arg)
{
    struct walk *w = arg;
    uint8_t *rd = w->s->set->rdata;
    (void)h;
    if (sec != DNS_S_ANSWER || w->done)
        return 0;
    int n = dns_rdata_expand(w->msg, w->len, rr, rd, sizeof w->s->set->rdata);
    if (n < 0)
        return w->bad = 1;
    if (rr->type == DNS_T_SOA) {
        if (n < 20)
            return w->bad = 1;
        w->soa_serial = be32(rd + n - 20);
        memcpy(w->soa_times, rd + n - 16, 16);
        if (w->s->transferring && w->s->soa_seen++) {
            w->done = 1;          /* the closing SOA */
            return 0;
        }
    }
    if (w->s->transferring && keep_record(w->s, &rr->owner, rr->type, rr->ttl, rd,
                                          (uint16_t)n) == -1)
        return w->bad = 1;
    return 0;
}

static void expire_zone(evutil_socket_t fd, short what, void *arg)
{
    struct secondary *s = arg;
    (void)fd; (void)what;
    instance_push(s->set->owner);
    log_warnx("event=zone-expired zone=\"%s\" primary=%s", s->zone_text, s->primary);
    s->have = 0;
    tell_changed(s);
    instance_pop();
}

static void arm_expiry(struct secondary *s)
{
    struct timeval tv = { (time_t)(s->expire > MIN_INTERVAL ? s->expire : MIN_INTERVAL), 0 };
    evtimer_add(s->expiry, &tv);
}

static void install_copy(struct secondary *s, const uint8_t *times)
{
    free(s->records);
    s->records = s->incoming;
    s->records_len = s->incoming_len;
    s->incoming = NULL;
    s->incoming_len = s->incoming_cap = 0;
    s->have = 1;
    s->serial = s->incoming_serial;
    s->refresh = be32(times);
    s->retry = be32(times + 4);
    s->expire = be32(times + 8);
    arm_expiry(s);
    log_info("event=transfer zone=\"%s\" primary=%s serial=%u bytes=%zu", s->zone_text,
             s->primary, s->serial, s->records_len);
    tell_changed(s);
}

/* One answer message on the connection. */
static void handle_message(struct secondary *s, const uint8_t *msg, size_t len)
{
    struct walk w = { .s = s, .msg = msg, .len = len };
    struct dns_header h;
    if (dns_walk_message(msg, len, &h, on_rr, &w) != 0 || w.bad || (h.flags & 0xF)) {
        failed(s, (h.flags & 0xF) == DNS_R_REFUSED ? "refused by the primary"
                                                   : "bad answer from the primary");
        return;
    }
    if (!s->transferring) {                    /* the answer to our SOA query */
        if (h.ancount == 0) {
            failed(s, "the primary has no SOA for the zone");
        } else if (s->have && !dns_serial_newer(w.soa_serial, s->serial)) {
            log_debug("zone=\"%s\" event=up-to-date serial=%u", s->zone_text, s->serial);
            arm_expiry(s);          /* a successful check counts as a refresh */
            end_attempt(s);
            schedule(s, s->refresh);
        } else {
            s->transferring = 1;
            s->incoming_serial = w.soa_serial;
            send_query(s, DNS_T_AXFR);
        }
        return;
    }
    if (w.done) {
        s->incoming_serial = w.soa_serial;
        install_copy(s, w.soa_times);
        end_attempt(s);
        schedule(s, s->refresh);
    }
}

static void read_messages(struct secondary *s, struct evbuffer *in)
{
    while (s->bev) {
        uint8_t l[2];
        if (evbuffer_copyout(in, l, 2) < 2)
            return;
        size_t len = (size_t)l[0] << 8 | l[1];
        if (evbuffer_get_length(in) < len + 2)
            return;
        const uint8_t *msg = evbuffer_pullup(in, (ev_ssize_t)len + 2) + 2;
        uint8_t *copy = malloc(len ? len : 1);
        if (!copy) {
            failed(s, "out of memory");
            return;
        }
        memcpy(copy, msg, len);
        evbuffer_drain(in, len + 2);
        handle_message(s, copy, len);   /* may end the connection */
        free(copy);
    }
}

static void on_read(struct bufferevent *bev, void *arg)
{
    struct secondary *s = arg;
    instance_push(s->set->owner);
    read_messages(s, bufferevent_get_input(bev));
    instance_pop();
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
    struct secondary *s = arg;
    (void)bev;
    if (what & BEV_EVENT_CONNECTED)
        return;
    instance_push(s->set->owner);
    failed(s, what & BEV_EVENT_EOF ? "the primary closed the connection" : "connection error");
    instance_pop();
}

static void on_connected(int fd, const char *error, void *arg)
{
    struct secondary *s = arg;
    s->job = NULL;
    if (fd < 0) {
        failed(s, error);
        return;
    }
    s->bev = bufferevent_socket_new(reactor_base(), fd, BEV_OPT_CLOSE_ON_FREE);
    if (!s->bev) {
        failed(s, "out of memory");
        return;
    }
    bufferevent_setcb(s->bev, on_read, NULL, on_event, s);
    bufferevent_enable(s->bev, EV_READ | EV_WRITE);
    send_query(s, DNS_T_SOA);
}

/* --- timing ------------------------------------------------------------ */

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    struct secondary *s = arg;
    (void)fd; (void)what;
    instance_push(s->set->owner);
    if (s->job || s->bev)
        failed(s, "timed out");            /* the transfer's deadline */
    else
        check_now(s);
    instance_pop();
}

static void schedule(struct secondary *s, uint32_t seconds)
{
    struct timeval tv = { (time_t)(seconds > MIN_INTERVAL ? seconds : MIN_INTERVAL), 0 };
    evtimer_add(s->timer, &tv);
}

static void check_now(struct secondary *s)
{
    struct timeval deadline = { TRANSFER_TIMEOUT, 0 };
    if (s->job || s->bev)
        return;
    s->job = connect_host(s->primary, s->port, 10, on_connected, s);
    if (!s->job) {
        schedule(s, 10);
        return;
    }
    evtimer_add(s->timer, &deadline);
}

void secondaries_start(struct dns_secondaries *set, void (*changed)(void *arg), void *arg)
{
    set->changed = changed;
    set->arg = arg;
    set->owner = instance_current();
    for (size_t i = 0; i < set->n; i++) {
        struct secondary *s = set->v[i];
        s->timer = evtimer_new(reactor_base(), on_timer, s);
        s->expiry = evtimer_new(reactor_base(), expire_zone, s);
        s->id = (uint16_t)(i * 977u + 1u);
        if (s->timer && s->expiry)
            check_now(s);
    }
}

static int fill_one(struct dns_store *st, struct secondary *s, char *err, size_t errlen)
{
    if (store_begin_zone(st, &s->zone, err, errlen) == -1)
        return -1;
    const uint8_t *p = s->records, *end = s->records + s->records_len;
    while (p < end) {
        struct dns_name owner;
        owner.len = *p++;
        memcpy(owner.wire, p, owner.len);
        p += owner.len;
        uint16_t type = (uint16_t)(p[0] << 8 | p[1]);
        uint32_t ttl = be32(p + 2);
        uint16_t rdlen = (uint16_t)(p[6] << 8 | p[7]);
        p += 8;
        if (store_add_record(st, &owner, type, ttl, p, rdlen, err, errlen) == -1)
            return -1;
        p += rdlen;
    }
    return store_end_zone(st, err, errlen);
}

int secondary_fill(const struct dns_secondaries *set, struct dns_store *st, char *err,
                   size_t errlen)
{
    for (size_t i = 0; i < set->n; i++)
        if (set->v[i]->have && fill_one(st, set->v[i], err, errlen) == -1)
            return -1;
    return 0;
}

int secondary_notify(struct dns_secondaries *set, const struct dns_name *zone,
                     const struct sockaddr *peer)
{
    char from[INET6_ADDRSTRLEN] = "";
    if (peer->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)peer)->sin_addr, from, sizeof from);
    else if (peer->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)peer)->sin6_addr, from, sizeof from);
    const char *f = strncmp(from, "::ffff:", 7) == 0 ? from + 7 : from;
    for (size_t i = 0; i < set->n; i++) {
        struct secondary *s = set->v[i];
        if (dns_name_eq(&s->zone, zone) && strcmp(s->primary, f) == 0) {
            log_info("event=notify zone=\"%s\" primary=%s", s->zone_text, s->primary);
            check_now(s);
            return 1;
        }
    }
    return 0;
}

void secondaries_free(struct dns_secondaries *set)
{
    if (!set)
        return;
    for (size_t i = 0; i < set->n; i++) {
        struct secondary *s = set->v[i];
        end_attempt(s);
        if (s->timer) event_free(s->timer);
        if (s->expiry) event_free(s->expiry);
        free(s->records);
        free(s);
    }
    free(set);
}
