/*
 * Response heads and error pages (RFC 9110 section 15, RFC 9112
 * section 4).  The Date header is formatted once a second, not per
 * response.
 */
#include "response.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <event2/buffer.h>

#include "opt.h"

struct status_text {
    int code;
    const char *text;
};

static const struct status_text statuses[] = {
    { 100, "Continue" }, { 200, "OK" }, { 201, "Created" }, { 202, "Accepted" },
    { 204, "No Content" }, { 206, "Partial Content" }, { 301, "Moved Permanently" },
    { 302, "Found" }, { 303, "See Other" }, { 304, "Not Modified" },
    { 307, "Temporary Redirect" }, { 308, "Permanent Redirect" }, { 400, "Bad Request" },
    { 401, "Unauthorized" }, { 403, "Forbidden" }, { 404, "Not Found" },
    { 405, "Method Not Allowed" }, { 406, "Not Acceptable" }, { 408, "Request Timeout" },
    { 409, "Conflict" }, { 410, "Gone" }, { 411, "Length Required" },
    { 412, "Precondition Failed" }, { 413, "Content Too Large" }, { 414, "URI Too Long" },
    { 415, "Unsupported Media Type" }, { 416, "Range Not Satisfiable" },
    { 417, "Expectation Failed" }, { 431, "Request Header Fields Too Large" },
    { 500, "Internal Server Error" }, { 501, "Not Implemented" }, { 502, "Bad Gateway" },
    { 503, "Service Unavailable" }, { 504, "Gateway Timeout" },
    { 505, "HTTP Version Not Supported" },
};

static time_t date_second = -1;
static char date_line[64];

const char *http_status_text(int status)
{
    for (size_t i = 0; i < sizeof statuses / sizeof statuses[0]; i++)
        if (statuses[i].code == status)
            return statuses[i].text;
    return "Unknown";
}

void http_date(time_t t, char *buf, size_t len)
{
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, len, "%a, %d %b %Y %H:%M:%S GMT", &tm);
}

static const char *date_header(void)
{
    time_t now = time(NULL);
    if (now != date_second) {
        char d[40];
        http_date(now, d, sizeof d);
        snprintf(date_line, sizeof date_line, "Date: %s\r\n", d);
        date_second = now;
    }
    return date_line;
}

void response_start_with(struct evbuffer *out, int status, const struct opt_list *headers)
{
    evbuffer_add_printf(out, "HTTP/1.1 %d %s\r\n%sServer: gale/%s\r\n", status,
                        http_status_text(status), date_header(), GALE_VERSION);
    for (size_t i = 0; headers && i < headers->n; i++)
        evbuffer_add_printf(out, "%s\r\n", headers->v[i]);
}

void response_start(struct evbuffer *out, int status)
{
    response_start_with(out, status, NULL);
}

void response_header(struct evbuffer *out, const char *name, const char *value)
{
    evbuffer_add_printf(out, "%s: %s\r\n", name, value);
}

void response_end_head(struct evbuffer *out, int keep_alive, int version_minor)
{
    if (!keep_alive)
        evbuffer_add(out, "Connection: close\r\n\r\n", 21);
    else if (version_minor == 0)
        evbuffer_add(out, "Connection: keep-alive\r\n\r\n", 26);
    else
        evbuffer_add(out, "\r\n", 2);
}

size_t response_error_with(struct evbuffer *out, const struct opt_list *headers, int status,
                           int keep_alive, int version_minor, int head_only,
                           const char *extra)
{
    char body[512];
    const char *text = http_status_text(status);
    int n = snprintf(body, sizeof body,
                     "<!DOCTYPE html>\n<html><head><title>%d %s</title></head>\n"
                     "<body><h1>%d %s</h1><hr><p>gale</p></body></html>\n",
                     status, text, status, text);
    response_start_with(out, status, headers);
    evbuffer_add_printf(out, "Content-Type: text/html; charset=utf-8\r\nContent-Length: %d\r\n%s",
                        n, extra ? extra : "");
    response_end_head(out, keep_alive, version_minor);
    if (!head_only)
        evbuffer_add(out, body, (size_t)n);
    return (size_t)n;
}

size_t response_error(struct evbuffer *out, int status, int keep_alive, int version_minor,
                      int head_only, const char *extra)
{
    return response_error_with(out, NULL, status, keep_alive, version_minor, head_only, extra);
}

/* RFC 9110 5.6.7: IMF-fixdate, and the obsolete RFC 850 and asctime forms. */
time_t http_date_parse(const char *s, size_t len)
{
    static const char *const forms[] = {
        "%a, %d %b %Y %H:%M:%S GMT", "%A, %d-%b-%y %H:%M:%S GMT", "%a %b %e %H:%M:%S %Y",
    };
    char buf[64];
    if (len == 0 || len >= sizeof buf)
        return -1;
    memcpy(buf, s, len);
    buf[len] = '\0';
    for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++) {
        struct tm tm = { 0 };
        const char *end = strptime(buf, forms[i], &tm);
        if (end && *end == '\0')
            return timegm(&tm);
    }
    return -1;
}
