/*
 * JSON for pycached (RFC 8259): framing requests on a stream, parsing a
 * request object, and writing and reading JSON strings.  Pure: no I/O,
 * no allocation (json_put_string's evbuffer aside).
 */
#ifndef GALE_PYCACHED_JSONVAL_H
#define GALE_PYCACHED_JSONVAL_H

#include <stddef.h>

struct evbuffer;

/* Writes s[0..n) as a JSON string; bytes that are not valid UTF-8
 * become U+FFFD. */
void json_put_string(struct evbuffer *out, const char *s, size_t n);

/* Decodes the JSON string literal lit[0..n) (quotes included) into out;
 * -1 when it is not a valid string literal or does not fit.  Escapes
 * are decoded (\u with surrogate pairs); raw bytes must be valid UTF-8,
 * without control characters; a lone surrogate is refused.  out may be
 * lit itself: decoding never writes ahead of where it reads. */
int json_string_decode(const char *lit, size_t n, char *out, size_t outlen, size_t *outn);

/* --- framing ----------------------------------------------------------
 * Finds where one top-level value ends in a byte stream, across reads:
 * an object or array at its closing bracket (strings and escapes
 * tracked), a string at its closing quote, anything else (a number, a
 * word, garbage) at the next whitespace or '{', '[', '"'.  Whitespace
 * between values is skipped.  The framer only counts brackets; the
 * parser checks the value itself.
 *
 *     struct json_framer f = { 0 };
 *     st = json_frame(&f, bytes, n, max);   // as often as bytes arrive
 *
 * Each call scans the bytes that follow those of earlier calls.  After
 * it, f.skip bytes of whitespace precede the value (the caller may drop
 * them and zero f.skip; the value's state does not depend on them) and
 * f.len bytes of the value have been scanned.  JSON_FRAME_DONE: the value
 * is those f.len bytes; what follows it in bytes was not scanned (feed
 * it again after json_framer_reset).  JSON_FRAME_TOO_LARGE: the value is
 * longer than max; the stream cannot be framed any further. */
enum json_frame_status { JSON_FRAME_MORE, JSON_FRAME_DONE, JSON_FRAME_TOO_LARGE };

struct json_framer {
    size_t skip;                /* whitespace before the value */
    size_t len;                 /* bytes of the value scanned */
    size_t depth;               /* open brackets */
    unsigned char kind;         /* what the value is, once it started */
    unsigned char in_string, escape;
};

void json_framer_reset(struct json_framer *f);
enum json_frame_status json_frame(struct json_framer *f, const char *p, size_t n, size_t max);

/* --- parsing a request ------------------------------------------------ */

#define JSON_MAX_DEPTH 64       /* nesting of a request, its own braces included */

enum json_type {
    JSON_ABSENT, JSON_STRING, JSON_NUMBER, JSON_OBJECT, JSON_ARRAY,
    JSON_TRUE, JSON_FALSE, JSON_NULL,
};

/* A member of the request: the exact text of its value (a string's
 * quotes included), and what kind of value it is. */
struct json_member {
    const char *p;
    size_t n;
    enum json_type type;
};

struct json_request {
    struct json_member command, key, value, ttl;
};

/* Parses p[0..n) (whitespace around it allowed) as one request object:
 * members "command" and "key" (strings), "value" (any value), "ttl" (a
 * number), each at most once; any other member, a duplicate, a wrong
 * type or any departure from RFC 8259 is refused with a message in err.
 * Returns 0 or -1.  Spans point into p. */
int json_parse_request(const char *p, size_t n, struct json_request *r, char *err,
                       size_t errlen);

/* The value of the JSON number text p[0..n); -1 when it is not one or is
 * too long to be a sensible number (over 63 bytes). */
int json_number_value(const char *p, size_t n, double *out);

/* The name of a type for messages: "a string", "an object". */
const char *json_type_name(enum json_type t);

#endif
