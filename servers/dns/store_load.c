/*
 * gale dns's record store, loading side: master files, zones handed over
 * record by record (a secondary's transfer) and hosts files, checked and
 * put into the index of store.c; see store.h.
 *   RFC 1035 5 master files, read by zone.c; $INCLUDE is held to the
 *     zone file's own folder and below it here;
 *   RFC 1034 4.3.4 / RFC 1035 5.2 one SOA, at the zone's apex; every
 *     record inside the zone;
 *   RFC 2181 5 identical records are one; 10.1 a CNAME has no other
 *     data beside it (RFC 1034 3.6.2);
 *   RFC 4592 2.2.2 empty non-terminals exist: they are made here, so the
 *     answering side finds a wildcard's closest encloser by lookups;
 *   RFC 1035 3.5 in-addr.arpa and RFC 3596 2.5 ip6.arpa names, for the
 *     PTR records a hosts file implies.
 * Files are read whole, at most 256 MiB (a zone's includes count toward
 * its file's limit).  A load that fails is rolled back whole.
 */
#include "store.h"
#include "store_index.h"
#include "zone.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define ST_FILE_MAX ((size_t)256 << 20)  /* a hosts file; a zone with its includes */
#define ST_ZONE_NAME_RRS 1024            /* records at one zone name */
#define ST_HOSTS_NAME_ADDRS 64           /* addresses of one hosts name */
#define ST_MSG 512
#define ST_NAME_TEXT 1024                /* 255 bytes, each at most "\DDD" */
#define ST_META_TYPE(t) ((t) == DNS_T_OPT || ((t) >= 128 && (t) <= 255))

/* ---- zones ---- */

/* An uncompressed name at *off that ends inside rd. */
static int st_rd_name(const uint8_t *rd, size_t rdlen, size_t *off)
{
    struct dns_name n;
    size_t start = *off;

    return dns_read_name(rd, rdlen, off, &n) == 0 && *off - start == n.len ? 0 : -1;
}

/* The answering side reads names out of rdata, and the builder refuses
 * rdata whose names are malformed: both need them well formed. */
static int st_rdata_ok(uint16_t type, const uint8_t *rd, size_t rdlen)
{
    size_t off = 0, tail = 0;
    int names = 1;

    switch (type) {
    case DNS_T_A: return rdlen == 4;
    case DNS_T_AAAA: return rdlen == 16;
    case DNS_T_NS: case DNS_T_CNAME: case DNS_T_PTR: break;
    case DNS_T_MX: off = 2; break;
    case DNS_T_SRV: off = 6; break;
    case DNS_T_SOA: names = 2; tail = 20; break;
    default: return 1;
    }
    if (rdlen < off)
        return 0;
    while (names-- > 0)
        if (st_rd_name(rd, rdlen, &off) != 0)
            return 0;
    return rdlen - off == tail;
}

static void st_zone_start(struct dns_store *st)
{
    st_mark_set(st);
    memset(&st->pending, 0, sizeof st->pending);
    st->pending.space = (uint32_t)(ST_SPACE_ZONE0 + st->n_zones);
    st->pending.node_begin = (uint32_t)st->n_nodes;
    st->pending.soa = ST_NONE;
    st->building = 1;
}

/* owner's node in the zone, with the empty non-terminals above it. */
static int st_zone_node(struct dns_store *st, const struct dns_name *owner, uint32_t *node)
{
    const struct st_zone *z = &st->pending;
    struct dns_name up = *owner;
    uint32_t n;
    int made;

    if (st_intern(st, z->space, owner->wire, owner->len, node, &made) != 0)
        return -1;
    while (made && up.len > z->origin.len && dns_name_parent(&up, &up) == 0)
        if (st_intern(st, z->space, up.wire, up.len, &n, &made) != 0)
            return -1;
    return 0;
}

/* Names are put in text for messages only: loading does not pay for it. */
static const char *st_text(const struct dns_name *n, char *buf)
{
    if (dns_name_to_text(n, buf, ST_NAME_TEXT) < 0)
        snprintf(buf, ST_NAME_TEXT, "(a malformed name)");
    return buf;
}

/* Why the record cannot join what its name holds; 0 when it can. */
static int st_conflict(const struct st_zone *z, const struct st_seen *s, uint16_t type,
                       const struct dns_name *owner, char *msg, size_t msglen)
{
    char name[ST_NAME_TEXT];

    if (!s->cnames && (type != DNS_T_CNAME || s->count == 0) &&
        (type != DNS_T_SOA || z->soa == ST_NONE) && s->count < ST_ZONE_NAME_RRS)
        return 0;
    st_text(owner, name);
    if (type == DNS_T_CNAME && s->cnames)
        snprintf(msg, msglen, "%s has more than one CNAME", name);
    else if (type == DNS_T_CNAME ? s->count > 0 : s->cnames > 0)
        snprintf(msg, msglen, "%s has a CNAME and other data", name);
    else if (type == DNS_T_SOA && z->soa != ST_NONE)
        snprintf(msg, msglen, "a second SOA at %s", name);
    else if (s->count >= ST_ZONE_NAME_RRS)
        snprintf(msg, msglen, "more than %d records at %s", ST_ZONE_NAME_RRS, name);
    return -1;
}

static int st_zone_add(struct dns_store *st, const struct dns_name *owner, uint16_t type,
                       uint32_t ttl, const uint8_t *rd, size_t rdlen, char *msg, size_t msglen)
{
    struct st_zone *z = &st->pending;
    char name[ST_NAME_TEXT], origin[ST_NAME_TEXT];
    struct st_seen seen;
    uint32_t node, off;
    int apex = dns_name_eq(owner, &z->origin);

    if (!dns_name_is_under(owner, &z->origin))
        return snprintf(msg, msglen, "record %s is outside the zone %s", st_text(owner, name),
                        st_text(&z->origin, origin)), -1;
    if (ST_META_TYPE(type) || !st_rdata_ok(type, rd, rdlen))
        return snprintf(msg, msglen, "a bad record of type %u at %s", type,
                        st_text(owner, name)), -1;
    if (type == DNS_T_SOA && !apex)
        return snprintf(msg, msglen, "SOA at %s, not at the zone's apex %s",
                        st_text(owner, name), st_text(&z->origin, origin)), -1;
    if (st_zone_node(st, owner, &node) != 0)
        return snprintf(msg, msglen, "out of memory"), -1;
    st_seen(st, node, type, rd, rdlen, &seen);
    if (seen.dup)
        return 0;                  /* RFC 2181 5: the same record twice is one */
    if (st_conflict(z, &seen, type, owner, msg, msglen) != 0)
        return -1;
    if (st_put(st, rd, rdlen, &off) != 0 || st_add_rr(st, node, type, ttl, off, rdlen) != 0)
        return snprintf(msg, msglen, "out of memory"), -1;
    if (type == DNS_T_SOA)
        z->soa = (uint32_t)st->n_rrs - 1;
    if (type == DNS_T_NS && !apex)
        z->has_cuts = 1;
    return 0;
}

/* The zone into the directory, where queries find it. */
static int st_zone_enter(struct dns_store *st)
{
    struct st_zone *z = &st->pending;
    void *p = st_grow(st->zones, &st->zones_cap, st->n_zones + 1, sizeof *z, 8);
    uint32_t dir;
    int made;

    if (!p)
        return -1;
    st->zones = p;
    if (st_intern(st, ST_SPACE_ZONES, z->origin.wire, z->origin.len, &dir, &made) != 0)
        return -1;
    z->node_end = (uint32_t)st->n_nodes;
    st->nodes[dir].first = (uint32_t)st->n_zones;
    st->zones[st->n_zones++] = *z;
    if (dns_name_labels(&z->origin) > st->zone_labels_max)
        st->zone_labels_max = dns_name_labels(&z->origin);
    st->building = 0;
    return 0;
}

/* The checks that need the whole zone, then in it goes; label names the
 * zone in messages (its file, or its origin). */
static int st_zone_finish(struct dns_store *st, const char *label, char *err, size_t errlen)
{
    const struct st_zone *z = &st->pending;
    char origin[ST_NAME_TEXT];

    if (z->origin.len == 0 || z->soa == ST_NONE)
        snprintf(err, errlen, "%s: no SOA at the apex", label);
    else if (st_find(st, ST_SPACE_ZONES, z->origin.wire, z->origin.len) != ST_NONE)
        snprintf(err, errlen, "%s: zone %s is loaded already", label, st_text(&z->origin, origin));
    else if (st_zone_enter(st) != 0)
        snprintf(err, errlen, "%s: out of memory", label);
    else
        return 0;
    st_rollback(st);
    return -1;
}

int store_begin_zone(struct dns_store *st, const struct dns_name *origin, char *err,
                     size_t errlen)
{
    if (st->building)
        return snprintf(err, errlen, "a zone is being added already"), -1;
    if (dns_name_labels(origin) < 0)
        return snprintf(err, errlen, "a malformed zone name"), -1;
    st_zone_start(st);
    st->pending.origin = *origin;
    return 0;
}

int store_add_record(struct dns_store *st, const struct dns_name *owner, uint16_t type,
                     uint32_t ttl, const uint8_t *rdata, uint16_t rdlen, char *err,
                     size_t errlen)
{
    if (!st->building)
        return snprintf(err, errlen, "no zone is being added"), -1;
    if (st_zone_add(st, owner, type, ttl, rdata, rdlen, err, errlen) != 0) {
        st_rollback(st);
        return -1;
    }
    return 0;
}

int store_end_zone(struct dns_store *st, char *err, size_t errlen)
{
    char origin[ST_NAME_TEXT] = "?";

    if (!st->building)
        return snprintf(err, errlen, "no zone is being added"), -1;
    dns_name_to_text(&st->pending.origin, origin, sizeof origin);
    return st_zone_finish(st, origin, err, errlen);
}

/* ---- files ---- */

/* Reads fd to its end into a buffer of cap bytes to start with; NULL
 * when it holds more than max bytes. */
static char *st_read_fd(int fd, size_t cap, size_t max, size_t *len, char *why, size_t whylen)
{
    char *buf = malloc(cap), *p;
    size_t n = 0;
    ssize_t r;

    while (buf) {
        if (n == cap) {
            if (cap > max) {
                snprintf(why, whylen, "over the limit of %zu MiB", ST_FILE_MAX >> 20);
                break;
            }
            cap = cap > max / 2 ? max + 1 : cap * 2;
            if (!(p = realloc(buf, cap)))
                break;
            buf = p;
        }
        r = read(fd, buf + n, cap - n);
        if (r == 0) {
            *len = n;
            return buf;
        }
        if (r < 0 && errno != EINTR) {
            snprintf(why, whylen, "%s", strerror(errno));
            break;
        }
        if (r > 0)
            n += (size_t)r;
    }
    free(buf);
    return NULL;
}

/* The whole of path, if it holds at most *budget bytes (then taken from
 * the budget); NULL with why set otherwise. */
static char *st_read(const char *path, size_t *budget, size_t *len, char *why, size_t whylen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat sb;
    size_t cap = 65536;
    char *buf = NULL;

    if (fd < 0) {
        snprintf(why, whylen, "%s", strerror(errno));
        return NULL;
    }
    snprintf(why, whylen, "out of memory");
    if (fstat(fd, &sb) != 0) {
        snprintf(why, whylen, "%s", strerror(errno));
    } else if (S_ISDIR(sb.st_mode)) {
        snprintf(why, whylen, "is a folder");
    } else {
        if (S_ISREG(sb.st_mode))
            cap = (size_t)sb.st_size;   /* one read to the end, and one to see it */
        buf = st_read_fd(fd, (cap < *budget ? cap : *budget) + 1, *budget, len, why, whylen);
    }
    close(fd);
    if (buf)
        *budget -= *len;
    return buf;
}

struct st_load {
    struct dns_store *st;
    struct zone_parse zp;
    char dir[PATH_MAX];            /* the zone file's folder, resolved, with its '/' */
    size_t budget;                 /* bytes its files may still take */
    char msg[ST_MSG];              /* why a record was refused */
};

static int st_on_record(void *arg, const struct dns_name *owner, uint16_t type, uint16_t class,
                        uint32_t ttl, const uint8_t *rdata, uint16_t rdlen)
{
    struct st_load *ld = arg;
    struct st_zone *z = &ld->st->pending;

    (void)class;                   /* zone.c passes class IN only */
    if (z->origin.len == 0) {
        if (ld->zp.found_origin.len == 0) {
            snprintf(ld->msg, sizeof ld->msg,
                     "a record before the zone's origin is known ($ORIGIN or the SOA first)");
            return 1;
        }
        z->origin = ld->zp.found_origin;
    }
    return st_zone_add(ld->st, owner, type, ttl, rdata, rdlen, ld->msg, sizeof ld->msg) ? 1 : 0;
}

/* Whether the resolved path lies in the folder root (which ends in '/'). */
static int st_path_within(const char *path, const char *root)
{
    return strncmp(path, root, strlen(root)) == 0;
}

/* As BIND and Knot: an absolute path, or one relative to the zone file's
 * folder.  Whatever it names must resolve, symlinks followed, to a file in
 * that folder or below it, so no include reaches other files. */
static char *st_on_include(void *arg, const char *name, size_t *len, char *err, size_t errlen)
{
    struct st_load *ld = arg;
    char path[PATH_MAX], real[PATH_MAX];

    if ((size_t)snprintf(path, sizeof path, "%s%s", name[0] == '/' ? "" : ld->dir, name) >=
        sizeof path) {
        snprintf(err, errlen, "the name is too long");
        return NULL;
    }
    if (!realpath(path, real)) {
        snprintf(err, errlen, "%s", strerror(errno));
        return NULL;
    }
    if (!st_path_within(real, ld->dir)) {
        snprintf(err, errlen, "%s is outside the zone file's folder %s", real, ld->dir);
        return NULL;
    }
    return st_read(real, &ld->budget, len, err, errlen);
}

/* The zone file's folder, symlinks resolved, ending in '/'. */
static int st_zone_dir(const char *path, char *dir, size_t dirlen)
{
    char given[PATH_MAX], real[PATH_MAX];
    const char *slash = strrchr(path, '/');
    size_t n = slash ? (size_t)(slash - path) + 1 : 0;

    if (n >= sizeof given) {
        errno = ENAMETOOLONG;
        return -1;
    }
    memcpy(given, path, n);
    given[n] = '\0';
    if (!realpath(n ? given : ".", real))
        return -1;
    n = strlen(real);
    if ((size_t)snprintf(dir, dirlen, "%s%s", real, real[n - 1] == '/' ? "" : "/") >= dirlen) {
        errno = ENAMETOOLONG;
        return -1;
    }
    return 0;
}

/* zone.c words a record our callback refused as "file:line: the record
 * was not accepted": put the reason in place of those words. */
static void st_err_reason(char *err, size_t errlen, const char *msg)
{
    static const char said[] = "the record was not accepted";
    size_t n = strlen(err), k = sizeof said - 1;

    if (msg[0] && n >= k && strcmp(err + n - k, said) == 0)
        snprintf(err + n - k, errlen - (n - k), "%s", msg);
}

int store_load_zone_file(struct dns_store *st, const char *path, char *err, size_t errlen)
{
    struct st_load *ld = calloc(1, sizeof *ld);
    size_t len = 0;
    char why[256], *text = NULL;
    int r = -1;

    if (!ld || st->building) {
        snprintf(err, errlen, "%s: %s", path, !ld ? "out of memory" :
                 "a zone is being added already");
        free(ld);
        return -1;
    }
    if (st_zone_dir(path, ld->dir, sizeof ld->dir) == -1) {
        snprintf(err, errlen, "%s: cannot resolve its folder: %s", path, strerror(errno));
        free(ld);
        return -1;
    }
    ld->st = st;
    ld->budget = ST_FILE_MAX;
    ld->zp = (struct zone_parse){ .file = path, .on_record = st_on_record,
                                  .on_include = st_on_include, .arg = ld };
    if (!(text = st_read(path, &ld->budget, &len, why, sizeof why))) {
        snprintf(err, errlen, "%s: %s", path, why);
    } else {
        st_zone_start(st);
        if (zone_parse_text(&ld->zp, text, len, err, errlen) != 0) {
            st_err_reason(err, errlen, ld->msg);
            st_rollback(st);
        } else {
            r = st_zone_finish(st, path, err, errlen);
        }
    }
    free(text);
    free(ld);
    return r;
}

/* ---- hosts files ---- */

static size_t st_lines(const char *text, size_t len)
{
    size_t n = 1;

    for (const char *p = text, *end = text + len; (p = memchr(p, '\n', (size_t)(end - p)));
         p++)
        n++;
    return n;
}

static size_t st_dec(uint8_t v, uint8_t *out)
{
    size_t n = v >= 100 ? 3 : v >= 10 ? 2 : 1;

    for (size_t i = n; i-- > 0; v /= 10)
        out[i] = (uint8_t)('0' + v % 10);
    return n;
}

/* "4.3.2.1.in-addr.arpa." or the 32 nibbles of ".ip6.arpa.", lowest first. */
static void st_reverse_name(int family, const uint8_t *addr, struct dns_name *out)
{
    static const char hex[] = "0123456789abcdef";
    static const uint8_t v4[] = "\7in-addr\4arpa", v6[] = "\3ip6\4arpa";
    uint8_t *w = out->wire;
    size_t o = 0;

    if (family == AF_INET) {
        for (int i = 3; i >= 0; i--) {
            size_t n = st_dec(addr[i], w + o + 1);
            w[o] = (uint8_t)n;
            o += 1 + n;
        }
        memcpy(w + o, v4, sizeof v4);
        o += sizeof v4;
    } else {
        for (int i = 15; i >= 0; i--) {
            w[o++] = 1;
            w[o++] = (uint8_t)hex[addr[i] & 15];
            w[o++] = 1;
            w[o++] = (uint8_t)hex[addr[i] >> 4];
        }
        memcpy(w + o, v6, sizeof v6);
        o += sizeof v6;
    }
    out->len = (uint8_t)o;         /* the arrays' NUL is the root label */
}

/* One name of a line: its address, and the address's PTR if it has none
 * yet (the first name of the first line with that address). */
static int st_on_host(void *arg, int family, const uint8_t *addr, const struct dns_name *name)
{
    struct dns_store *st = arg;
    uint16_t type = family == AF_INET ? DNS_T_A : DNS_T_AAAA;
    size_t alen = family == AF_INET ? 4 : 16;
    struct dns_name rev;
    struct st_seen seen;
    uint32_t node, rnode, off;
    int made;

    if (st_intern(st, ST_SPACE_HOSTS, name->wire, name->len, &node, &made) != 0)
        return 1;
    st->host_names += (size_t)made;
    st_seen(st, node, type, addr, alen, &seen);
    if (!seen.dup && seen.count < ST_HOSTS_NAME_ADDRS &&
        (st_put(st, addr, alen, &off) != 0 || st_add_rr(st, node, type, ST_HOSTS_TTL, off, alen)))
        return 1;
    st_reverse_name(family, addr, &rev);
    if (st_intern(st, ST_SPACE_HOSTS, rev.wire, rev.len, &rnode, &made) != 0)
        return 1;
    st_seen(st, rnode, DNS_T_PTR, NULL, 0, &seen);
    if (seen.has_type)
        return 0;
    /* The PTR's rdata is the name itself, already in the arena. */
    off = st->nodes[node].name;
    return st_add_rr(st, rnode, DNS_T_PTR, ST_HOSTS_TTL, off + 1, st->arena[off]) ? 1 : 0;
}

int store_load_hosts_file(struct dns_store *st, const char *path, char *err, size_t errlen)
{
    size_t budget = ST_FILE_MAX, len = 0, bad = 0, first_bad = 0, lines;
    char why[256], *text;
    int r;

    if (errlen)
        err[0] = '\0';
    if (st->building)
        return snprintf(err, errlen, "%s: a zone is being added", path), -1;
    if (!(text = st_read(path, &budget, &len, why, sizeof why)))
        return snprintf(err, errlen, "%s: %s", path, why), -1;
    lines = st_lines(text, len);
    /* A line is most often one name and its address, and a reverse name
     * of about 30 bytes with its PTR. */
    st_reserve(st, 2 * lines, 2 * lines, len + 32 * lines);
    st_mark_set(st);
    r = hosts_parse_text(text, len, st_on_host, st, &bad, &first_bad);
    free(text);
    if (r != 0) {
        st_rollback(st);
        return snprintf(err, errlen, "%s: out of memory", path), -1;
    }
    if (bad)
        snprintf(err, errlen, "%s: %zu malformed line%s skipped, the first at line %zu", path,
                 bad, bad == 1 ? "" : "s", first_bad);
    return 0;
}

