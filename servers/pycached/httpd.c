/*
 * gale pycached's HTTP service: the web front of Twisted's pycached
 * (GET / tells the uptime, POST / runs one command from a form), CORS so
 * that pages elsewhere may call it, /metrics for Prometheus and the
 * /admin page.  HTTP/1.1 (RFC 9110, RFC 9112) with keep-alive and
 * pipelining: requests are parsed straight from the input buffer and
 * answered in order; a new one is not parsed while the output holds more
 * than OUT_HIGH bytes, and the input is capped by a read watermark, so a
 * client can make the server hold only so much.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "admin_page.h"
#include "conn.h"
#include "http.h"
#include "httpform.h"
#include "log.h"
#include "metrics.h"
#include "pycached.h"
#include "reactor.h"
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

/* --http-request-timeout: seconds to send a whole request, body included;
 * --http-idle-timeout: an idle keep-alive connection closes after this,
 * and so does one whose client reads nothing for this long. */
static double request_timeout = 30, idle_timeout = 60;

void http_service_set_timeouts(double request, double idle)
{
    request_timeout = request;
    idle_timeout = idle;
}

enum http_state {
    HS_READING,    /* parsing and answering requests as they arrive */
    HS_CLOSING,    /* the last answer is queued: close once it is sent */
};

enum timer_kind {
    T_NONE,
    T_REQUEST,     /* a request has begun (or the connection is new): finish it in time */
    T_IDLE,        /* between requests */
    T_CLOSE,       /* close from the loop, not inside a caller's callback */
};

struct http_session {
    struct gale_conn *conn;
    struct bufferevent *bev;
    enum http_state state;
    struct event *timer;
    enum timer_kind timer_kind;
    int continued;                /* "100 Continue" sent for the request being read */
    int peer_eof;                 /* the client half-closed: answer what it sent, then close */
    struct http_session *prev, *next;
};

static const struct http_limits limits = {
    .max_request_line = 8192, .max_header_bytes = HEAD_MAX, .max_headers = HTTP_MAX_HEADERS,
};
static struct http_session *sessions;

static void process(struct http_session *s);

/* --- life and death -------------------------------------------------- */

static struct evbuffer *output(struct http_session *s) { return bufferevent_get_output(s->bev); }
static struct evbuffer *input(struct http_session *s) { return bufferevent_get_input(s->bev); }

/* The largest body a form may have: a value of the largest item size
 * with every byte %-escaped, plus the other fields. */
static uint64_t max_body(void)
{
    return store_max_item_size() * 3 + 4096;
}

static void session_close(struct http_session *s)
{
    if (s->prev)
        s->prev->next = s->next;
    else
        sessions = s->next;
    if (s->next)
        s->next->prev = s->prev;
    log_debug("id=%" PRIu64 " event=close", s->conn->id);
    stats_conn_close(PROTO_HTTP);
    event_free(s->timer);
    bufferevent_free(s->bev);
    conn_free(s->conn);
    free(s);
}

static void on_abort(struct gale_conn *c, void *arg)
{
    (void)c;
    session_close(arg);
}

static void set_timer(struct http_session *s, enum timer_kind kind, double seconds)
{
    struct timeval tv = reactor_timeval(seconds);
    s->timer_kind = kind;
    evtimer_add(s->timer, &tv);
}

static void clear_timer(struct http_session *s)
{
    if (s->timer_kind != T_NONE) {
        evtimer_del(s->timer);
        s->timer_kind = T_NONE;
    }
}

/* Close once the output is sent; from the loop if it already is. */
static void finish(struct http_session *s)
{
    if (s->state == HS_CLOSING)
        return;
    s->state = HS_CLOSING;
    bufferevent_disable(s->bev, EV_READ);
    clear_timer(s);
    if (evbuffer_get_length(output(s)) == 0)
        set_timer(s, T_CLOSE, 0);
}

/* --- answers --------------------------------------------------------- */

/* Whether the connection stays open after answering req. */
static int keeps_alive(const struct http_request *req)
{
    return req && req->keep_alive && !reactor_stopping();
}

static void answered(struct http_session *s, const struct http_request *req, int status,
                     int keep)
{
    log_debug("id=%" PRIu64 " event=request method=%.*s status=%d", s->conn->id,
              req ? (int)req->method_text.len : 1, req ? req->method_text.p : "-", status);
    if (!keep)
        finish(s);
}

/* One answer of ours: the body is moved from body (NULL: empty); none
 * is sent for HEAD, and 204 has no Content-Length (RFC 9110 8.6). */
static void reply(struct http_session *s, const struct http_request *req, int status,
                  const char *type, const char *extra, struct evbuffer *body)
{
    struct evbuffer *out = output(s);
    size_t n = body ? evbuffer_get_length(body) : 0;
    int keep = keeps_alive(req);
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
    keep = keep && keeps_alive(req);
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
    int rc = httpform_run(body, n, val, err, sizeof err);
    if (rc >= 0)
        reply(s, req, 200, TEXT_PLAIN, NULL, val);
    else
        reply_text(s, req, strstr(err, "no such key") ? 404 : 400, err, strlen(err));
    evbuffer_free(val);
}

static void get_root(struct http_session *s, const struct http_request *req)
{
    char text[96];
    int n = snprintf(text, sizeof text, "PyCached is up since %.2f seconds", stats_uptime());
    reply_text(s, req, 200, text, n > 0 && (size_t)n < sizeof text ? (size_t)n : 0);
}

static void get_metrics(struct http_session *s, const struct http_request *req)
{
    struct evbuffer *body = evbuffer_new();
    if (!body) {
        reply_error(s, req, 500, 1, NULL);
        return;
    }
    metrics_write(body);
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

/* Refuses a body we will not read: chunked (411, as the body's length
 * must be known to bound it) or too large (413).  Returns 1 when it
 * answered. */
static int refuse_body(struct http_session *s, const struct http_request *req)
{
    if (req->chunked)
        reply_error(s, req, 411, 0, NULL);
    else if (req->has_length && req->content_length > max_body())
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
    clear_timer(s);
    s->continued = 0;
    route(s, &req, p + head, need - head);
    evbuffer_drain(in, need);
    pyc_stats.bytes_read += need;
    return 1;
}

/* parse_next, counting what was written for memcached's "stats". */
static int handle_next(struct http_session *s, struct evbuffer *in)
{
    size_t before = evbuffer_get_length(output(s));
    int r = parse_next(s, in);
    pyc_stats.bytes_written += evbuffer_get_length(output(s)) - before;
    return r;
}

/* Nothing to parse for now: arm the timer for what is awaited. */
static void await_input(struct http_session *s, enum timer_kind kind)
{
    if (s->peer_eof) {
        finish(s);
    } else if (kind == T_IDLE && evbuffer_get_length(output(s)) > 0) {
        clear_timer(s);             /* the send timeout watches; on_write comes back */
    } else if (s->timer_kind != kind) {
        clear_timer(s);
        set_timer(s, kind, kind == T_IDLE ? idle_timeout : request_timeout);
    }
}

static void process(struct http_session *s)
{
    struct evbuffer *in = input(s);
    for (int i = 0; i < PIPELINE_BATCH && s->state == HS_READING; i++) {
        if (evbuffer_get_length(output(s)) >= OUT_HIGH)
            return;                 /* on_write resumes */
        if (evbuffer_get_length(in) == 0) {
            await_input(s, T_IDLE);
            return;
        }
        if (!handle_next(s, in)) {
            await_input(s, T_REQUEST);
            return;
        }
    }
}

static void on_read(struct bufferevent *bev, void *arg)
{
    (void)bev;
    process(arg);
}

static void on_write(struct bufferevent *bev, void *arg)
{
    struct http_session *s = arg;
    (void)bev;
    if (s->state == HS_CLOSING)
        session_close(s);
    else
        process(s);
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
    struct http_session *s = arg;
    (void)bev;
    if ((what & BEV_EVENT_EOF) && (what & BEV_EVENT_READING) && s->state == HS_READING) {
        s->peer_eof = 1;            /* half-closed: answer what was sent, then close */
        process(s);
        if (s->state == HS_READING && evbuffer_get_length(output(s)) == 0)
            finish(s);
        return;
    }
    if (!(what & BEV_EVENT_EOF) || s->state != HS_CLOSING)
        session_close(s);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    struct http_session *s = arg;
    enum timer_kind kind = s->timer_kind;
    (void)fd; (void)what;
    s->timer_kind = T_NONE;
    if (kind == T_REQUEST && s->state == HS_READING)
        reply_error(s, NULL, 408, 0, NULL);
    else
        session_close(s);           /* T_CLOSE, or an idle keep-alive connection */
}

static void on_accept(struct gale_conn *c, void *arg)
{
    struct http_session *s = calloc(1, sizeof *s);
    (void)arg;
    if (s) {
        s->bev = conn_bufferevent(c);
        s->timer = evtimer_new(reactor_base(), on_timer, s);
    }
    if (!s || !s->bev || !s->timer) {
        if (s && s->bev) bufferevent_free(s->bev);
        if (s && s->timer) event_free(s->timer);
        free(s);
        conn_free(c);
        return;
    }
    s->conn = c;
    c->data = s;
    c->abort = on_abort;
    s->next = sessions;
    if (sessions)
        sessions->prev = s;
    sessions = s;
    stats_conn_open(PROTO_HTTP);
    struct timeval wtv = reactor_timeval(idle_timeout);
    conn_tune_bufferevent(s->bev);
    bufferevent_set_timeouts(s->bev, NULL, &wtv);
    /* Room for one whole request; beyond it reading pauses until we drain. */
    bufferevent_setwatermark(s->bev, EV_READ, 0, (size_t)(HEAD_MAX + 1 + max_body()));
    bufferevent_setcb(s->bev, on_read, on_write, on_event, s);
    bufferevent_enable(s->bev, EV_READ | EV_WRITE);
    set_timer(s, T_REQUEST, request_timeout);
}

/* Shutdown: idle keep-alive connections close now; busy ones after their
 * current answer, which says "Connection: close". */
void http_service_stop(void)
{
    for (struct http_session *s = sessions, *next; s; s = next) {
        next = s->next;
        if (s->state == HS_READING && evbuffer_get_length(input(s)) == 0 &&
            evbuffer_get_length(output(s)) == 0)
            session_close(s);
    }
}

int http_service_start(const char *endpoint, char *err, size_t errlen)
{
    return listener_open(endpoint, on_accept, NULL, err, errlen) ? 0 : -1;
}
