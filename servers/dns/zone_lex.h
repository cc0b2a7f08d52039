/*
 * Private to zone.c and zone_rdata.c: the master-file lexer (RFC 1035
 * section 5.1) that the rdata parsers pull their tokens from, and the
 * helpers both halves share.  Not part of the zone.h contract.
 */
#ifndef GALE_DNS_ZONE_LEX_H
#define GALE_DNS_ZONE_LEX_H

#include <stddef.h>
#include <stdint.h>

#include "wire.h"

#define ZONE_TTL_MAX 0x7fffffffu   /* RFC 2181 section 8 */
#define ZONE_SHOW 48               /* room for a token quoted in a message */

/* A token is a view into the text: never NUL-terminated.  A quoted one
 * is the bytes between the quotes, escapes still in place. */
struct zone_tok {
    const char *s;
    size_t len;
    int quoted;
};

struct zone_lex {
    const char *p, *end;
    const char *file;              /* for messages */
    unsigned long line;            /* where p is */
    unsigned long tok_line;        /* the last token's line: messages name it */
    unsigned long paren_line;      /* where the open '(' was */
    int paren;                     /* inside ( ... ): newlines do not end the record */
    int leading_ws;                /* the record's line began with a blank: no owner */
    int at_end;                    /* the record's end was reached */
    int has_pushed;
    struct zone_tok pushed;        /* one token given back by zone_lex_unget */
    char *err;
    size_t errlen;
};

/* Next token of the current record: 1, 0 at its end (and from then on
 * until zone_lex_begin), or -1 with the error set. */
int zone_lex_next(struct zone_lex *lx, struct zone_tok *t);
void zone_lex_unget(struct zone_lex *lx, const struct zone_tok *t);

/* Writes "file:line: what" (line of the last token) and returns -1. */
__attribute__((format(printf, 2, 3)))
int zone_fail(struct zone_lex *lx, const char *fmt, ...);
/* The token made printable and cut short, for quoting in messages. */
const char *zone_tok_show(const struct zone_tok *t, char *buf, size_t size);

/* Decimal number at most max; TTL in seconds or BIND units ("1w2d3h4m5s",
 * any case) at most ZONE_TTL_MAX.  0, or -1 when malformed. */
int zone_parse_uint(const char *s, size_t len, uint32_t max, uint32_t *out);
int zone_parse_ttl(const char *s, size_t len, uint32_t *out);

/* A name token: '@' is the origin, a name without a final unescaped dot
 * is relative to it.  origin NULL: there is none yet.  0 or -1. */
int zone_name_tok(struct zone_lex *lx, const struct zone_tok *t,
                  const struct dns_name *origin, struct dns_name *out);

/* Type mnemonic or TYPEnnn (RFC 3597 section 5); 0 or -1. */
int zone_type_from_text(const char *s, size_t len, uint16_t *type);

/* Reads the rest of the record as rdata of type into out (cap bytes),
 * text or RFC 3597 "\# LEN HEX"; 0 with *outlen, or -1. */
int zone_rdata_parse(struct zone_lex *lx, uint16_t type, const struct dns_name *origin,
                     uint8_t *out, size_t cap, size_t *outlen);

#endif
