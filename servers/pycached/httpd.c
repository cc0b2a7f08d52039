/*
 * gale pycached's HTTP service: the web front of Twisted's pycached
 * (GET / tells the uptime, POST / runs one command from a form), CORS so
 * that pages elsewhere may call it, /metrics for Prometheus and the
 * /admin page.  HTTP/1.1 (RFC 9110, RFC 9112) with keep-alive and
 * pipelining: requests are parsed straight from the input buffer and
 * answered in order; a new one is not parsed while the output holds more
 * than OUT_HIGH bytes, and the input is capped at one whole request, so a
 * client can make the server hold only so much.  The connection itself
 * (reading, writing, timers, lingering after a last answer, shutdown) is
 * the session layer's (common/session.c); this file is the protocol.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <event2/buffer.h>

#include "admin_page.h"
#include "gale_session.h"
#include "http.h"
#include "httpform.h"
#include "log.h"
#include "metrics.h"
#include "pycached.h"
#include "response.h"
#include "stats.h"
#include "store.h"

#define HEAD_MAX (32 * 1024)      /* request line and headers */
#define OUT_HIGH (256 * 1024)     /* stop parsing requests above this much output */
#define PIPELINE_BATCH 64         /* requests per wake-up, for fairness */

#define TEXT_PLAIN "text/plain; charset=utf-8"
#define CORS_HEADERS                                                       \
    "Access-Control-Allow-Origin: *\r\nAccess-Control-Allow-Methods: *\r\n" \
    "Access-Control-Allow-Headers: *\r\nAccess-Control-Max-Age: 3600\r\n"
/* Every answer of ours: nothing is cached, and a stored value served as
 * text/plain is never sniffed into HTML on the admin page's origin. */
#define OUR_HEADERS CORS_HEADERS "Cache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n"
/* The admin page runs only its own inline code and talks only to us. */
#define ADMIN_CSP                                                                   \
    "Content-Security-Policy: default-src 'none'; script-src 'unsafe-inline'; "     \
    "style-src 'unsafe-inline'; connect-src 'self'; form-action 'none'; "           \
    "frame-ancestors 'none'\r\n"

struct http_session {
    struct gale_session *gs;
    struct pyc_server *srv;       /* session_server(gs), kept at hand */
    enum session_timer timer;     /* the one we armed; NONE when stopped or fired */
    int continued;                /* "100 Continue" sent for the request being read */
};

static const struct http_limits limits = {
    .max_request_line = 8192, .max_header_bytes = HEAD_MAX, .max_headers = HTTP_MAX_HEADERS,
};
/* The largest body a form may have: a value of the largest item size
 * with every byte %-escaped, plus the other fields. */
static uint64_t max_body(const struct pyc_server *srv)
{
    return store_max_item_size(srv->store) * 3 + 4096;
}

static struct evbuffer *output(struct http_session *s) { return session_output(s->gs); }

/* --- answers --------------------------------------------------------- */

/* Whether the connection stays open after answering req: not once
 * shutdown has begun, so that a busy connection ends with its answer. */
static int keeps_alive(const struct http_session *s, const struct http_request *req)
{
    return req && req->keep_alive && !session_service_stopping(s->srv->http);
}

/* A connection we close lingers, so that what the client still sends
 * (a pipelined request, the rest of a refused body) does not reset the
 * connection before it has read the answer (RFC 9112 9.6). */
static void answered(struct http_session *s, const struct http_request *req, int status,
                     int keep)
{
    log_debug("id=%" PRIu64 " event=request method=%.*s status=%d", session_id(s->gs),
              req ? (int)req->method_text.len : 1, req ? req->method_text.p : "-", status);
    if (!keep)
        session_finish(s->gs, 1);
}

/* One answer of ours: the body is moved from body (NULL: empty); none
 * is sent for HEAD, and 204 has no Content-Length (RFC 9110 8.6). */
static void reply(struct http_session *s, const struct http_request *req, int status,
                  const char *type, const char *extra, struct evbuffer *body)
{
    struct evbuffer *out = output(s);
    size_t n = body ? evbuffer_get_length(body) : 0;
    int keep = keeps_alive(s, req);
    response_start(out, status);
    if (type)
        response_header(out, "Content-Type", type);
    if (status != 204)
        evbuffer_add_printf(out, "Content-Length: %zu\r\n", n);
    evbuffer_add(out, OUR_HEADERS, sizeof OUR_HEADERS - 1);
    if (extra)
        evbuffer_add(out, extra, strlen(extra));
    response_end_head(out, keep, req->version_minor);
    if (body && req->method != HTTP_HEAD)
        evbuffer_add_buffer(out, body);
    answered(s, req, status, keep);
}

static void reply_text(struct http_session *s, const struct http_request *req, int status,
                       const char *text, size_t n)
{
    struct evbuffer *body = evbuffer_new();
    if (body)
        evbuffer_add(body, text, n);
    reply(s, req, status, TEXT_PLAIN, NULL, body);
    if (body)
        evbuffer_free(body);
}

/* The core's small HTML error page; req NULL when it could not be
 * parsed.  keep 0 when unread bytes of this request are still coming. */
static void reply_error(struct http_session *s, const struct http_request *req, int status,
                        int keep, const char *extra)
{
    keep = keep && keeps_alive(s, req);
    response_error(output(s), status, keep, req ? req->version_minor : 1,
                   req && req->method == HTTP_HEAD, extra);
    answered(s, req, status, keep);
}

/* --- routes ---------------------------------------------------------- */

/* Only forms are understood; a missing Content-Type is taken as one. */
static int is_form(const struct http_request *req)
{
    static const char form_type[] = "application/x-www-form-urlencoded";
    const struct http_str *ct = http_header_get(req, "Content-Type");
    if (!ct)
        return 1;
    size_t n = 0;
    while (n < ct->len && ct->p[n] != ';' && ct->p[n] != ' ' && ct->p[n] != '\t')
        n++;
    struct http_str type = { ct->p, n };
    return http_str_eq(type, form_type);
}

static void post_command(struct http_session *s, const struct http_request *req,
                         const char *body, size_t n)
{
    char err[512] = "";
    if (!req->has_length) {
        reply_error(s, req, 411, 1, NULL);
        return;
    }
    if (!is_form(req)) {
        reply_error(s, req, 415, 1, NULL);
        return;
    }
    struct evbuffer *val = evbuffer_new();
    if (!val) {
        reply_error(s, req, 500, 0, NULL);
        return;
    }
    int rc = httpform_run(s->srv, body, n, val, err, sizeof err);
    if (rc >= 0)
        reply(s, req, 200, TEXT_PLAIN, NULL, val);
    else
        reply_text(s, req, strstr(err, "no such key") ? 404 : 400, err, strlen(err));
    evbuffer_free(val);
}

static void get_root(struct http_session *s, const struct http_request *req)
{
    char text[96];
    int n = snprintf(text, sizeof text, "PyCached is up since %.2f seconds",
                     stats_uptime(&s->srv->stats));
    reply_text(s, req, 200, text, n > 0 && (size_t)n < sizeof text ? (size_t)n : 0);
}

static void get_metrics(struct http_session *s, const struct http_request *req)
{
    struct evbuffer *body = evbuffer_new();
    if (!body) {
        reply_error(s, req, 500, 1, NULL);
        return;
    }
    metrics_write(body, &s->srv->stats, s->srv->store);
    reply(s, req, 200, METRICS_CONTENT_TYPE, NULL, body);
    evbuffer_free(body);
}

static void get_admin(struct http_session *s, const struct http_request *req)
{
    struct evbuffer *body = evbuffer_new();
    if (!body) {
        reply_error(s, req, 500, 1, NULL);
        return;
    }
    evbuffer_add_reference(body, admin_page_html, admin_page_len, NULL, NULL);
    reply(s, req, 200, "text/html; charset=utf-8", ADMIN_CSP, body);
    evbuffer_free(body);
}

enum route_id { R_ROOT, R_METRICS, R_ADMIN };

struct route {
    const char *path;
    enum route_id id;
    const char *allow;           /* the 405 answer's Allow line */
};

static const struct route routes[] = {
    { "/", R_ROOT, "Allow: GET, HEAD, POST, OPTIONS\r\n" },
    { "/metrics", R_METRICS, "Allow: GET, HEAD, OPTIONS\r\n" },
    { "/admin", R_ADMIN, "Allow: GET, HEAD, OPTIONS\r\n" },
};

static const struct route *find_route(struct http_str path)
{
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++)
        if (path.len == strlen(routes[i].path) && memcmp(path.p, routes[i].path, path.len) == 0)
            return &routes[i];
    return NULL;
}

/* OPTIONS anywhere is a CORS preflight. */
static void route(struct http_session *s, const struct http_request *req, const char *body,
                  size_t n)
{
    int get = req->method == HTTP_GET || req->method == HTTP_HEAD;
    const struct route *rt = find_route(req->path);
    if (req->method == HTTP_OPTIONS)
        reply(s, req, 204, NULL, NULL, NULL);
    else if (!rt)
        reply_error(s, req, 404, 1, NULL);
    else if (rt->id == R_ROOT && req->method == HTTP_POST)
        post_command(s, req, body, n);
    else if (!get)
        reply_error(s, req, 405, 1, rt->allow);
    else if (rt->id == R_ROOT)
        get_root(s, req);
    else if (rt->id == R_METRICS)
        get_metrics(s, req);
    else
        get_admin(s, req);
}

/* --- reading requests ------------------------------------------------ */

/* Arms the timer unless it already runs for the same reason, so that a
 * request sent in pieces must still be whole in time from its first
 * byte.  While a send waits, the layer keeps this wish for afterwards. */
static void arm(struct http_session *s, enum session_timer why, double seconds)
{
    if (s->timer != why) {
        s->timer = why;
        session_timer(s->gs, why, seconds);
    }
}

static void stop_timer(struct http_session *s)
{
    s->timer = SESSION_T_NONE;
    session_timer(s->gs, SESSION_T_NONE, 0);
}

/* Refuses a body we will not read: chunked (411, as the body's length
 * must be known to bound it) or too large (413).  Returns 1 when it
 * answered. */
static int refuse_body(struct http_session *s, const struct http_request *req)
{
    if (req->chunked)
        reply_error(s, req, 411, 0, NULL);
    else if (req->has_length && req->content_length > max_body(s->srv))
        reply_error(s, req, 413, 0, NULL);
    else
        return 0;
    return 1;
}

static void send_continue(struct http_session *s, const struct http_request *req)
{
    if (req->expect_continue && req->version_minor == 1 && !s->continued) {
        s->continued = 1;
        evbuffer_add(output(s), "HTTP/1.1 100 Continue\r\n\r\n", 25);
    }
}

/* Handles the request at the head of the input once all of it (head
 * and body) is there.  Returns 1 when one was answered, 0 when more
 * bytes are needed. */
static int parse_next(struct http_session *s, struct evbuffer *in)
{
    struct http_request req;
    size_t have = evbuffer_get_length(in);
    size_t len = have < HEAD_MAX + 1 ? have : HEAD_MAX + 1;
    const char *p = (const char *)evbuffer_pullup(in, (ev_ssize_t)len);
    int r = http_parse_request(p, len, &limits, &req);
    if (r == 0)
        return 0;
    if (r < 0) {
        reply_error(s, NULL, -r, 0, NULL);
        return 1;
    }
    if (refuse_body(s, &req))
        return 1;
    size_t head = (size_t)r, need = head + (size_t)(req.has_length ? req.content_length : 0);
    if (have < need) {
        send_continue(s, &req);
        return 0;
    }
    /* The pullup may move the bytes the request points into: parse again. */
    p = (const char *)evbuffer_pullup(in, (ev_ssize_t)need);
    http_parse_request(p, head, &limits, &req);
    stop_timer(s);                  /* re-armed for what follows it */
    s->continued = 0;
    route(s, &req, p + head, need - head);
    evbuffer_drain(in, need);
    s->srv->stats.bytes_read += need;
    return 1;
}

/* parse_next, counting what was written for memcached's "stats". */
static int handle_next(struct http_session *s, struct evbuffer *in)
{
    size_t before = session_pending(s->gs);
    int r = parse_next(s, in);
    s->srv->stats.bytes_written += session_pending(s->gs) - before;
    return r;
}

/* Nothing to parse for now: end the session, or arm the timer for what
 * is awaited. */
static void await_input(struct http_session *s)
{
    struct gale_session *gs = s->gs;
    const struct pyc_server *srv = s->srv;
    int idle = session_input_length(gs) == 0;
    if (session_peer_closed(gs) || (idle && session_service_stopping(srv->http)))
        session_finish(gs, 0);          /* half-closed: what it sent is answered */
    else if (idle)
        arm(s, SESSION_T_IDLE, srv->http_idle_timeout);
    else
        arm(s, SESSION_T_REQUEST, srv->http_request_timeout);
}

static void process(struct http_session *s)
{
    struct gale_session *gs = s->gs;
    for (int i = 0; i < PIPELINE_BATCH; i++) {
        if (session_finishing(gs))
            return;
        if (session_pending(gs) >= OUT_HIGH) {
            session_notify_drained(gs);     /* on_drained resumes */
            return;
        }
        if (session_input_length(gs) == 0 || !handle_next(s, session_input(gs))) {
            await_input(s);
            return;
        }
    }
    session_continue(gs);               /* more may wait: go on from the loop, for fairness */
}

/* --- the session's life ---------------------------------------------- */

static int http_open(struct gale_session *gs)
{
    struct pyc_server *srv = session_server(gs);
    struct http_session *s = session_data(gs);
    s->gs = gs;
    s->srv = srv;
    stats_conn_open(&srv->stats, PROTO_HTTP);
    session_set_send_timeout(gs, srv->http_idle_timeout);
    /* Room for one whole request; beyond it reading pauses until we drain. */
    session_set_input_limit(gs, (size_t)(HEAD_MAX + 1 + max_body(srv)));
    /* A new connection owes its first request as a begun one does. */
    arm(s, SESSION_T_REQUEST, srv->http_request_timeout);
    return 0;
}

static void http_input(struct gale_session *gs)
{
    process(session_data(gs));
}

static void http_timeout(struct gale_session *gs, enum session_timer why)
{
    struct http_session *s = session_data(gs);
    s->timer = SESSION_T_NONE;
    if (why == SESSION_T_REQUEST)
        reply_error(s, NULL, 408, 0, NULL);
    else if (why == SESSION_T_IDLE)
        session_finish(gs, 0);          /* nothing is owed either way */
    else
        session_abort(gs, "send timed out");
}

static void http_close(struct gale_session *gs, const char *why)
{
    struct http_session *s = session_data(gs);
    (void)why;
    stats_conn_close(&s->srv->stats, PROTO_HTTP);
}

/* on_stop: process() finishes an idle keep-alive connection at once (it
 * sees the service stopping); a busy one gets its current answer, which
 * says "Connection: close" (keeps_alive), and then ends. */
static const struct session_proto http_proto = {
    .name = "http",
    .data_size = sizeof(struct http_session),
    .on_open = http_open,
    .on_input = http_input,
    .on_drained = http_input,
    .on_eof = http_input,           /* half-closed: answer what was sent, then close */
    .on_timeout = http_timeout,
    .on_stop = http_input,
    .on_close = http_close,
};

void http_service_stop(struct pyc_server *srv)
{
    if (srv->http)
        session_service_stop(srv->http);
}

int http_service_start(struct pyc_server *srv, const char *endpoint, char *err, size_t errlen)
{
    if (!srv->http && !(srv->http = session_service_new(&http_proto, srv))) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    return session_service_listen(srv->http, endpoint, err, errlen);
}

void http_service_free(struct pyc_server *srv)
{
    session_service_free(srv->http);
    srv->http = NULL;
}
