/*
 * File responses: validators and conditional requests (RFC 9110 section
 * 13), ranges and multipart/byteranges (section 14), HEAD.  The head and
 * a small file go out together; a larger file is added as a file segment
 * so plain TCP sends it with sendfile() and it is never read into memory.
 */
#include "static.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <event2/buffer.h>

#include "dispatch.h"
#include "files.h"
#include "range.h"
#include "response.h"
#include "session.h"

#define BOUNDARY "gale-byteranges-3d6b6a416f9d5f2c"

/* If-None-Match: a list of entity tags or "*"; weak comparison. */
static int etag_listed(const struct http_str *v, const char *etag)
{
    size_t elen = strlen(etag);
    const char *p = v->p, *end = v->p + v->len;
    while (p < end) {
        while (p < end && (*p == ' ' || *p == '\t' || *p == ','))
            p++;
        const char *start = p;
        while (p < end && *p != ',')
            p++;
        const char *q = p;
        while (q > start && (q[-1] == ' ' || q[-1] == '\t'))
            q--;
        if (q - start == 1 && *start == '*')
            return 1;
        if (q - start > 2 && start[0] == 'W' && start[1] == '/')
            start += 2;
        if ((size_t)(q - start) == elen && memcmp(start, etag, elen) == 0)
            return 1;
    }
    return 0;
}

static int not_modified(const struct http_request *req, const struct file_entry *e)
{
    const struct http_str *inm = http_header_get(req, "If-None-Match");
    if (inm)
        return etag_listed(inm, e->etag);
    const struct http_str *ims = http_header_get(req, "If-Modified-Since");
    if (ims) {
        time_t t = http_date_parse(ims->p, ims->len);
        return t != -1 && e->st.st_mtime <= t;
    }
    return 0;
}

/* If-Range: the range applies only if the validator still matches
 * (a strong etag, or exactly the Last-Modified date). */
static int range_applies(const struct http_request *req, const struct file_entry *e)
{
    const struct http_str *ir = http_header_get(req, "If-Range");
    if (!ir)
        return 1;
    if (ir->len > 0 && ir->p[0] == '"')
        return ir->len == strlen(e->etag) && memcmp(ir->p, e->etag, ir->len) == 0;
    return ir->len == strlen(e->last_modified) && memcmp(ir->p, e->last_modified, ir->len) == 0;
}

static void add_body(struct evbuffer *out, const struct file_entry *e, uint64_t off,
                     uint64_t len)
{
    if (len == 0)
        return;
    if (e->data)
        evbuffer_add(out, e->data + off, (size_t)len);
    else
        evbuffer_add_file_segment(out, e->segment, (ev_off_t)off, (ev_off_t)len);
}

static void validators(struct evbuffer *out, const struct file_entry *e)
{
    evbuffer_add_printf(out, "Last-Modified: %s\r\nETag: %s\r\nAccept-Ranges: bytes\r\n",
                        e->last_modified, e->etag);
}

static void send_304(struct web_session *s, const struct http_request *req,
                     const struct file_entry *e)
{
    struct evbuffer *out = web_session_output(s);
    response_start_with(out, 304, web_session_headers(s));
    validators(out, e);
    response_end_head(out, can_keep_alive(req), req->version_minor);
    web_session_responded(s, req, 304, 0, can_keep_alive(req));
}

static void send_416(struct web_session *s, const struct http_request *req,
                     const struct file_entry *e)
{
    char extra[64];
    snprintf(extra, sizeof extra, "Content-Range: bytes */%" PRIu64 "\r\n",
             (uint64_t)e->st.st_size);
    size_t n = response_error_with(web_session_output(s), web_session_headers(s), 416,
                                   can_keep_alive(req), req->version_minor,
                                   req->method == HTTP_HEAD, extra);
    web_session_responded(s, req, 416, n, can_keep_alive(req));
}

static void send_whole(struct web_session *s, const struct http_request *req,
                       const struct file_entry *e)
{
    struct evbuffer *out = web_session_output(s);
    uint64_t size = (uint64_t)e->st.st_size;
    int head = req->method == HTTP_HEAD;
    response_start_with(out, 200, web_session_headers(s));
    evbuffer_add_printf(out, "Content-Type: %s\r\nContent-Length: %" PRIu64 "\r\n",
                        e->content_type, size);
    validators(out, e);
    response_end_head(out, can_keep_alive(req), req->version_minor);
    if (!head)
        add_body(out, e, 0, size);
    web_session_responded(s, req, 200, head ? 0 : size, can_keep_alive(req));
}

static void send_one_range(struct web_session *s, const struct http_request *req,
                           const struct file_entry *e, const struct byte_range *r)
{
    struct evbuffer *out = web_session_output(s);
    uint64_t len = r->last - r->first + 1;
    response_start_with(out, 206, web_session_headers(s));
    evbuffer_add_printf(out, "Content-Type: %s\r\nContent-Length: %" PRIu64 "\r\n"
                        "Content-Range: bytes %" PRIu64 "-%" PRIu64 "/%" PRIu64 "\r\n",
                        e->content_type, len, r->first, r->last, (uint64_t)e->st.st_size);
    validators(out, e);
    response_end_head(out, can_keep_alive(req), req->version_minor);
    if (req->method != HTTP_HEAD)
        add_body(out, e, r->first, len);
    web_session_responded(s, req, 206, req->method == HTTP_HEAD ? 0 : len, can_keep_alive(req));
}

static int part_head(char *buf, size_t len, const struct file_entry *e,
                     const struct byte_range *r)
{
    return snprintf(buf, len, "\r\n--" BOUNDARY "\r\nContent-Type: %s\r\n"
                    "Content-Range: bytes %" PRIu64 "-%" PRIu64 "/%" PRIu64 "\r\n\r\n",
                    e->content_type, r->first, r->last, (uint64_t)e->st.st_size);
}

/* multipart/byteranges (RFC 9110 14.6); its length is worked out first. */
static void send_ranges(struct web_session *s, const struct http_request *req,
                        const struct file_entry *e, const struct byte_range *r, int n)
{
    static const char tail[] = "\r\n--" BOUNDARY "--\r\n";
    struct evbuffer *out = web_session_output(s);
    char head[512];
    uint64_t total = sizeof tail - 1;
    for (int i = 0; i < n; i++)
        total += (uint64_t)part_head(head, sizeof head, e, &r[i]) + r[i].last - r[i].first + 1;
    response_start_with(out, 206, web_session_headers(s));
    evbuffer_add_printf(out, "Content-Type: multipart/byteranges; boundary=" BOUNDARY "\r\n"
                        "Content-Length: %" PRIu64 "\r\n", total);
    validators(out, e);
    response_end_head(out, can_keep_alive(req), req->version_minor);
    if (req->method != HTTP_HEAD) {
        for (int i = 0; i < n; i++) {
            int h = part_head(head, sizeof head, e, &r[i]);
            evbuffer_add(out, head, (size_t)h);
            add_body(out, e, r[i].first, r[i].last - r[i].first + 1);
        }
        evbuffer_add(out, tail, sizeof tail - 1);
    }
    web_session_responded(s, req, 206, req->method == HTTP_HEAD ? 0 : total, can_keep_alive(req));
}

void static_respond(struct web_session *s, const struct http_request *req,
                    struct file_entry *e)
{
    if (not_modified(req, e)) {
        send_304(s, req, e);
        return;
    }
    const struct http_str *range = http_header_get(req, "Range");
    if (!range || req->method != HTTP_GET || !range_applies(req, e)) {
        send_whole(s, req, e);
        return;
    }
    struct byte_range r[RANGE_MAX];
    int n = range_parse(range->p, range->len, (uint64_t)e->st.st_size, r);
    if (n < 0)
        send_whole(s, req, e);
    else if (n == 0)
        send_416(s, req, e);
    else if (n == 1)
        send_one_range(s, req, e, &r[0]);
    else
        send_ranges(s, req, e, r, n);
}
