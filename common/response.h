/*
 * Writing HTTP/1.1 responses into an evbuffer: status line, the headers
 * every response carries (Date, Server, a server's --add-header ones), and
 * small HTML error pages.
 */
#ifndef GALE_RESPONSE_H
#define GALE_RESPONSE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct evbuffer;
struct opt_list;

const char *http_status_text(int status);     /* "Not Found"; "Unknown" */

/* "HTTP/1.1 404 Not Found\r\nDate: ...\r\nServer: gale/V\r\n".  The
 * caller adds its own headers, then response_end_head(). */
void response_start(struct evbuffer *out, int status);
/* The same, then the lines of headers ("Name: Value": one server's
 * --add-header list; NULL or empty for none).  The list is the server's
 * own, so that servers in one process each send their own. */
void response_start_with(struct evbuffer *out, int status, const struct opt_list *headers);
void response_header(struct evbuffer *out, const char *name, const char *value);
/* "Connection: close" or, for HTTP/1.0, "Connection: keep-alive", then
 * the blank line. */
void response_end_head(struct evbuffer *out, int keep_alive, int version_minor);

/* A complete small HTML page naming the status, with Content-Type and
 * Content-Length; no body for HEAD.  extra: whole header lines ending in
 * CRLF ("Allow: GET, HEAD\r\n"), or NULL. */
/* Returns the length of the page (sent or, for HEAD, not). */
size_t response_error(struct evbuffer *out, int status, int keep_alive, int version_minor,
                      int head_only, const char *extra);
/* The same with response_start_with's headers. */
size_t response_error_with(struct evbuffer *out, const struct opt_list *headers, int status,
                           int keep_alive, int version_minor, int head_only,
                           const char *extra);

/* IMF-fixdate (RFC 9110 5.6.7) of t into buf (at least 30 bytes). */
void http_date(time_t t, char *buf, size_t len);
/* -1 when s is not an HTTP date in any of the three forms. */
time_t http_date_parse(const char *s, size_t len);

#endif
