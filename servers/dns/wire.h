/*
 * DNS wire format (RFC 1035 section 4, RFC 6891 for EDNS0): names,
 * reading messages with loop-safe decompression, and building answers
 * with name compression.  Pure: no I/O, no allocation.
 *
 * Names are kept in uncompressed wire form (length-prefixed labels ending
 * with the zero label), at most DNS_NAME_MAX bytes; comparisons ignore
 * ASCII case.
 */
#ifndef GALE_DNS_WIRE_H
#define GALE_DNS_WIRE_H

#include <stddef.h>
#include <stdint.h>

#define DNS_NAME_MAX 255
#define DNS_HEADER_LEN 12
#define DNS_UDP_DEFAULT 512
#define DNS_EDNS_PAYLOAD 1232       /* what gale advertises */

enum dns_type {
    DNS_T_A = 1, DNS_T_NS = 2, DNS_T_CNAME = 5, DNS_T_SOA = 6, DNS_T_PTR = 12,
    DNS_T_MX = 15, DNS_T_TXT = 16, DNS_T_AAAA = 28, DNS_T_SRV = 33, DNS_T_OPT = 41,
    DNS_T_IXFR = 251, DNS_T_AXFR = 252, DNS_T_ANY = 255, DNS_T_CAA = 257,
};
enum dns_class { DNS_C_IN = 1, DNS_C_CH = 3, DNS_C_ANY = 255 };
enum dns_rcode {
    DNS_R_NOERROR = 0, DNS_R_FORMERR = 1, DNS_R_SERVFAIL = 2, DNS_R_NXDOMAIN = 3,
    DNS_R_NOTIMP = 4, DNS_R_REFUSED = 5, DNS_R_NOTAUTH = 9,
};
enum dns_opcode { DNS_OP_QUERY = 0, DNS_OP_NOTIFY = 4 };
enum dns_section { DNS_S_ANSWER, DNS_S_AUTHORITY, DNS_S_ADDITIONAL };

struct dns_name {
    uint8_t len;                  /* bytes used in wire, zero label included */
    uint8_t wire[DNS_NAME_MAX];
};

/* The header's flag bits as they sit in bytes 2-3. */
#define DNS_F_QR 0x8000
#define DNS_F_AA 0x0400
#define DNS_F_TC 0x0200
#define DNS_F_RD 0x0100
#define DNS_F_RA 0x0080
#define DNS_F_AD 0x0020
#define DNS_F_CD 0x0010

struct dns_header {
    uint16_t id, flags;           /* flags: QR..RCODE as on the wire */
    uint16_t qdcount, ancount, nscount, arcount;
};

/* A parsed query: the header, the one question, and EDNS0. */
struct dns_query {
    struct dns_header hdr;
    int opcode;
    struct dns_name qname;        /* as sent (case kept) */
    uint16_t qtype, qclass;
    int has_edns;
    uint16_t edns_payload;        /* the client's UDP size, at least 512 */
    uint8_t edns_version;
    int edns_do;                  /* the DO bit */
    size_t question_end;          /* offset just past the question */
    int has_ixfr_serial;          /* an IXFR with the client's SOA (RFC 1995) */
    uint32_t ixfr_serial;         /* that SOA's serial */
};

/* Text <-> name.  "www.example.com." (a trailing dot is optional: names
 * are taken as absolute), "\\." and "\\DDD" escapes; "." or "" is the root.
 * Returns 0, or -1 when a label is empty or over 63 bytes, the name over
 * 255 bytes, or an escape malformed. */
int dns_name_from_text(const char *text, size_t len, struct dns_name *out);
/* Writes "www.example.com." (escaping '.', '\\', and bytes outside
 * printable ASCII as \\DDD) into buf; returns the length, or -1 if buf
 * is too small. */
int dns_name_to_text(const struct dns_name *n, char *buf, size_t len);
int dns_name_eq(const struct dns_name *a, const struct dns_name *b);   /* ASCII case-insensitive */
void dns_name_lower(struct dns_name *n);
int dns_name_labels(const struct dns_name *n);                        /* "www.example.com." -> 3 */
/* 1 when n equals zone or lies below it. */
int dns_name_is_under(const struct dns_name *n, const struct dns_name *zone);
/* Joins a relative name (no zero label) to an origin; -1 when too long. */
int dns_name_concat(const struct dns_name *rel, const struct dns_name *origin, struct dns_name *out);
/* The name with its first label removed ("a.b." -> "b."); -1 for the root. */
int dns_name_parent(const struct dns_name *n, struct dns_name *out);

/* RFC 1982 serial number arithmetic: is a newer than b? */
int dns_serial_newer(uint32_t a, uint32_t b);

/* Reads a possibly compressed name at *off in msg; advances *off past
 * it.  Loop-safe: pointers must point strictly backwards and at most
 * 128 may be followed.  Returns 0 or -1 (malformed). */
int dns_read_name(const uint8_t *msg, size_t len, size_t *off, struct dns_name *out);

/*
 * Parses a query: the header, exactly one question, and an OPT record in
 * the additional section if there is one (other records are skipped, and
 * must be well formed).  Returns 0, or an rcode: DNS_R_FORMERR for a
 * malformed message (when the header at least was readable, q->hdr is
 * set so a FORMERR can echo the id); -1 when the message is too short to
 * answer at all (drop it), or has QR set (a response: drop it).
 */
int dns_parse_query(const uint8_t *msg, size_t len, struct dns_query *q);

/* One resource record as read from a message (rdata still in wire form,
 * names in it possibly compressed: use dns_rdata_expand). */
struct dns_rr_view {
    struct dns_name owner;
    uint16_t type, class;
    uint32_t ttl;
    const uint8_t *rdata;
    uint16_t rdlen;
    size_t rdata_off;             /* offset of rdata in the message */
};

/* Walks every record of a whole message (responses, AXFR): cb is called
 * per record with its section; a non-zero return from cb stops the walk
 * and is returned.  Returns 0, or -1 for a malformed message. */
typedef int (*dns_rr_cb)(const struct dns_header *h, enum dns_section sec,
                         const struct dns_rr_view *rr, void *arg);
int dns_walk_message(const uint8_t *msg, size_t len, struct dns_header *h, dns_rr_cb cb,
                     void *arg);

/* Rewrites rdata read from msg so that the names inside it (NS, CNAME,
 * PTR, MX, SOA, SRV) are uncompressed; out has room for outlen bytes.
 * Returns the new length or -1. */
int dns_rdata_expand(const uint8_t *msg, size_t len, const struct dns_rr_view *rr,
                     uint8_t *out, size_t outlen);

/* Building a message, with name compression (RFC 1035 4.1.4) of owner
 * names and of the names inside the rdata of NS, CNAME, PTR, MX, SOA
 * (not SRV, RFC 2782).  rdata given to dns_add_rr is uncompressed. */
#define DNS_COMP_MAX 64
struct dns_builder {
    uint8_t *buf;
    size_t cap, len;
    struct dns_header hdr;
    struct { uint16_t off; } comp[DNS_COMP_MAX];   /* names already written */
    size_t n_comp;
    int truncated;                /* a record did not fit */
};

void dns_builder_init(struct dns_builder *b, uint8_t *buf, size_t cap);
/* Header and the question of q (the client's id, RD copied, QR set). */
int dns_begin_answer(struct dns_builder *b, const struct dns_query *q, uint16_t flags,
                     int rcode);
/* Appends one record to a section (sections must be filled in order:
 * answer, authority, additional).  Returns 0, or -1 when it does not fit
 * (b->truncated is set; the message stays valid without it). */
int dns_add_rr(struct dns_builder *b, enum dns_section sec, const struct dns_name *owner,
               uint16_t type, uint16_t class, uint32_t ttl, const uint8_t *rdata,
               uint16_t rdlen);
/* An OPT record advertising payload (EDNS0), in the additional section.
 * ext_rcode: the full rcode when it is over 15 (BADVERS is 16), else 0;
 * its low 4 bits still go in the header. */
#define DNS_R_BADVERS 16
int dns_add_opt(struct dns_builder *b, uint16_t payload, int do_bit, int ext_rcode);
/* Writes the counts into the header; returns the message length. */
size_t dns_finish(struct dns_builder *b);

#endif
