/*
 * HTTP/1.1 request parsing (RFC 9112) and the chunked body decoder.
 * Pure: bytes in, a struct or an error status out; no I/O, no allocation.
 * The request's strings point into the caller's buffer, which must stay
 * put until the request has been handled.
 */
#ifndef GALE_HTTP_H
#define GALE_HTTP_H

#include <stddef.h>
#include <stdint.h>

#define HTTP_MAX_HEADERS 100

enum http_method {
    HTTP_GET, HTTP_HEAD, HTTP_POST, HTTP_PUT, HTTP_DELETE, HTTP_OPTIONS,
    HTTP_PATCH, HTTP_TRACE, HTTP_CONNECT, HTTP_OTHER,
};

struct http_str {
    const char *p;      /* not NUL-terminated */
    size_t len;
};

struct http_header {
    struct http_str name, value;    /* value without surrounding whitespace */
};

struct http_limits {
    size_t max_request_line;     /* longer: 414 */
    size_t max_header_bytes;     /* request line and headers together; more: 431 */
    size_t max_headers;          /* more: 431; at most HTTP_MAX_HEADERS */
};

struct http_request {
    enum http_method method;
    struct http_str method_text;
    struct http_str target;          /* as sent: "/a%20b?x=1" */
    struct http_str path;            /* target up to '?' (still encoded) */
    struct http_str query;           /* after '?', without it; len 0 if none */
    int version_minor;               /* HTTP/1.x */
    struct http_header headers[HTTP_MAX_HEADERS];
    size_t n_headers;
    /* Taken from the headers as they are parsed: */
    struct http_str host;            /* len 0 when absent */
    int has_host;
    int keep_alive;                  /* after Connection and the version's default */
    int chunked;                     /* Transfer-Encoding: chunked */
    int has_length;
    uint64_t content_length;
    int expect_continue;             /* Expect: 100-continue */
};

/*
 * Parses one request head from buf[0..len).
 * Returns the length of the head (request line, headers and the blank
 * line) when complete; 0 when more bytes are needed; or a negative HTTP
 * status for a bad request: -400 (malformed, HTTP/1.1 without Host, both
 * Content-Length and chunked, a bad Content-Length), -414 (request line
 * too long), -431 (headers too large or too many), -501 (a
 * Transfer-Encoding other than chunked), -505 (not HTTP/1.x).
 * Empty lines before the request line are skipped (RFC 9112 2.2).
 */
int http_parse_request(const char *buf, size_t len, const struct http_limits *lim,
                       struct http_request *req);

/* The header's value, or NULL; case-insensitive name. */
const struct http_str *http_header_get(const struct http_request *req, const char *name);
int http_str_eq(struct http_str s, const char *lit);        /* case-insensitive */

/* Chunked transfer coding (RFC 9112 7.1), decoded incrementally. */
struct http_chunked {
    int state;
    uint64_t left;          /* bytes left in the current chunk */
    size_t line_len;        /* bytes of the current size or trailer line */
};

/*
 * Decodes from in[0..len): copies body bytes to out (room: out_room),
 * sets *consumed and *produced.  Returns 1 when the body (with trailers)
 * is complete, 0 when more input is needed or out is full (then
 * *consumed < len), -1 when malformed.  Bytes after the body are left
 * unconsumed; a zeroed struct starts a body.
 */
int http_chunked_decode(struct http_chunked *c, const char *in, size_t len, size_t *consumed,
                        char *out, size_t out_room, size_t *produced);

#endif
