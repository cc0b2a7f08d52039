/*
 * The HTTP connection state machine (RFC 9112 section 9: persistence and
 * pipelining).  Requests are parsed straight from the input buffer and
 * answered in order; a new one is not parsed while the output holds more
 * than OUT_HIGH bytes, so a client that does not read cannot make the
 * server buffer responses.  CGI requests copy their head, read their
 * body into memory (bounded by --max-body), then run.  Any other request
 * with a body is answered first, then its body is read and dropped
 * (bounded the same way) before the next request is parsed, so the body
 * is never taken for a request and the connection lives on.
 */
#include "session.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "accesslog.h"
#include "cgi.h"
#include "conn.h"
#include "dispatch.h"
#include "log.h"
#include "reactor.h"
#include "response.h"
#include "web.h"

#define OUT_HIGH (256 * 1024)     /* stop parsing requests above this much output */
#define PIPELINE_BATCH 64         /* requests per wake-up, for fairness */
#define CHUNK_OUT 16384

enum timer_kind { T_NONE, T_IDLE, T_HEADER, T_BODY, T_CLOSE, T_RESUME };

struct web_session {
    struct gale_conn *conn;
    const struct session_cfg *cfg;
    struct bufferevent *bev;
    enum web_state state;
    struct event *timer;
    enum timer_kind timer_kind;
    int peer_eof;
    size_t head_len;               /* of the request being handled */
    /* A request body being read (WS_BODY) or dropped (WS_DISCARD): */
    int body_chunked;
    uint64_t body_left;            /* of a Content-Length body */
    uint64_t body_seen;            /* decoded so far of a chunked body */
    struct http_chunked chunked;
    /* A CGI request in progress: */
    char *head;
    struct http_request *req;
    struct cgi_target target;
    struct evbuffer *body;
    struct cgi_job *cgi;
    struct web_session *prev, *next;
};

static struct web_session *sessions;
static int shutting_down;

static void process(struct web_session *s);

/* --- small accessors ------------------------------------------------- */

struct evbuffer *web_session_output(struct web_session *s) { return bufferevent_get_output(s->bev); }
int web_session_is_tls(const struct web_session *s) { return s->conn->tls; }
const struct web_cfg *web_session_web(const struct web_session *s) { return s->cfg->web; }
uint64_t web_session_id(const struct web_session *s) { return s->conn->id; }

const char *web_session_peer_ip(const struct web_session *s)
{
    static char ip[80];
    const char *p = s->conn->peer;
    const char *colon = strrchr(p, ':');
    if (p[0] == '[') {
        const char *end = strchr(p, ']');
        snprintf(ip, sizeof ip, "%.*s", end ? (int)(end - p - 1) : 0, p + 1);
    } else if (colon) {
        snprintf(ip, sizeof ip, "%.*s", (int)(colon - p), p);
    } else {
        snprintf(ip, sizeof ip, "%s", p);   /* unix socket */
    }
    return ip;
}

int web_session_peer_port(const struct web_session *s)
{
    const char *colon = strrchr(s->conn->peer, ':');
    return colon ? atoi(colon + 1) : 0;
}

int web_session_local_port(const struct web_session *s)
{
    return socket_local_port(bufferevent_getfd(s->bev));
}

/* --- life and death -------------------------------------------------- */

static void free_cgi_request(struct web_session *s)
{
    free(s->head);
    free(s->req);
    free(s->target.script_file);
    free(s->target.script_name);
    free(s->target.path_info);
    if (s->body)
        evbuffer_free(s->body);
    s->head = NULL;
    s->req = NULL;
    s->body = NULL;
    memset(&s->target, 0, sizeof s->target);
}

static void session_close(struct web_session *s)
{
    if (s->cgi)
        cgi_abort(s->cgi);
    free_cgi_request(s);
    if (s->prev)
        s->prev->next = s->next;
    else
        sessions = s->next;
    if (s->next)
        s->next->prev = s->prev;
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

static void set_timer(struct web_session *s, enum timer_kind kind, double seconds)
{
    struct timeval tv = { (time_t)seconds, (suseconds_t)((seconds - (time_t)seconds) * 1e6) };
    s->timer_kind = kind;
    evtimer_add(s->timer, &tv);
}

static void clear_timer(struct web_session *s)
{
    if (s->timer_kind != T_NONE) {
        evtimer_del(s->timer);
        s->timer_kind = T_NONE;
    }
}

/* Close once the output is sent; now if it already is. */
static void finish(struct web_session *s)
{
    s->state = WS_CLOSING;
    bufferevent_disable(s->bev, EV_READ);
    if (evbuffer_get_length(web_session_output(s)) == 0)
        set_timer(s, T_CLOSE, 0);   /* not from inside a caller's callback */
}

static void reply_error(struct web_session *s, int status, const struct http_request *req)
{
    int minor = req ? req->version_minor : 1;
    int head_only = req && req->method == HTTP_HEAD;
    size_t n = response_error(web_session_output(s), status, 0, minor, head_only, NULL);
    web_session_responded(s, req, status, head_only ? 0 : n, 0);
}

void web_session_responded(struct web_session *s, const struct http_request *req, int status,
                       uint64_t body_bytes, int keep_alive)
{
    if (accesslog_enabled())
        accesslog_write(web_session_peer_ip(s), req, status, body_bytes);
    log_debug("id=%" PRIu64 " event=request status=%d bytes=%" PRIu64, s->conn->id, status,
              body_bytes);
    if (!keep_alive || !req || !req->keep_alive || shutting_down || s->peer_eof)
        finish(s);
}

/* --- CGI requests ---------------------------------------------------- */

static void on_cgi_done(int ok, int status, uint64_t bytes, int keep_alive, void *arg)
{
    struct web_session *s = arg;
    s->cgi = NULL;
    web_session_responded(s, s->req, status, bytes, ok && keep_alive);
    free_cgi_request(s);
    if (s->state == WS_CGI) {
        s->state = WS_HEAD;
        bufferevent_enable(s->bev, EV_READ);
        set_timer(s, T_RESUME, 0);  /* from the loop, not inside the CGI code */
    }
}

/* SERVER_NAME: the Host header without its port ("[::1]:80" -> "[::1]"). */
static void host_without_port(const struct http_request *req, char *out, size_t len)
{
    const char *h = req->host.p;
    size_t n = req->has_host ? req->host.len : 0;
    if (n == 0 || !h) {
        snprintf(out, len, "localhost");
        return;
    }
    const char *end = n && h[0] == '[' ? memchr(h, ']', n) : NULL;
    const char *colon = memchr(end ? end : h, ':', n - (size_t)((end ? end : h) - h));
    if (colon)
        n = (size_t)(colon - h);
    if (n == 0 || n >= len)
        snprintf(out, len, "localhost");
    else
        snprintf(out, len, "%.*s", (int)n, h);
}

static void start_cgi(struct web_session *s)
{
    const struct web_cfg *w = s->cfg->web;
    char err[256];
    struct cgi_params p = {
        .req = s->req, .program = s->target.program, .script_file = s->target.script_file,
        .script_name = s->target.script_name, .path_info = s->target.path_info,
        .document_root = w->path, .remote_addr = web_session_peer_ip(s),
        .remote_port = web_session_peer_port(s), .server_port = web_session_local_port(s),
        .https = s->conn->tls, .timeout = w->cgi_timeout, .keep_alive = s->req->keep_alive,
        .conn_id = s->conn->id,
    };
    char host[256];
    host_without_port(s->req, host, sizeof host);
    p.server_name = host;
    struct evbuffer *body = s->body;
    s->body = NULL;
    s->state = WS_CGI;
    s->cgi = cgi_start(&p, body, s->bev, on_cgi_done, s, err, sizeof err);
    if (!s->cgi) {
        log_warnx("id=%" PRIu64 " event=cgi-failed error=\"%s\"", s->conn->id, err);
        reply_error(s, 500, s->req);
        free_cgi_request(s);
    }
}

/* --- request bodies -------------------------------------------------- */

static void begin_body(struct web_session *s, int chunked, uint64_t length)
{
    s->body_chunked = chunked;
    s->body_left = chunked ? 0 : length;
    s->body_seen = 0;
    memset(&s->chunked, 0, sizeof s->chunked);
    set_timer(s, T_BODY, s->cfg->web->header_timeout);
}

/* Takes what the input holds of a Content-Length body: 1 once it is all
 * taken, else 0. */
static int take_length(struct web_session *s, struct evbuffer *dst)
{
    struct evbuffer *in = bufferevent_get_input(s->bev);
    size_t n = evbuffer_get_length(in);
    if (n > s->body_left)
        n = (size_t)s->body_left;
    if (dst)
        evbuffer_remove_buffer(in, dst, n);
    else
        evbuffer_drain(in, n);
    s->body_left -= n;
    return s->body_left == 0;
}

/* Like take_length() for a chunked body; -400 when it is malformed,
 * -413 once it passes --max-body.  The framing and trailers are left to
 * the decoder: whatever follows the body stays in the input. */
static int take_chunked(struct web_session *s, struct evbuffer *dst)
{
    struct evbuffer *in = bufferevent_get_input(s->bev);
    char out[CHUNK_OUT];
    for (;;) {
        size_t len = evbuffer_get_length(in), used = 0, made = 0;
        if (len == 0)
            return 0;
        size_t take = len < 65536 ? len : 65536;
        const char *p = (const char *)evbuffer_pullup(in, (ev_ssize_t)take);
        int r = http_chunked_decode(&s->chunked, p, take, &used, out, sizeof out, &made);
        evbuffer_drain(in, used);
        s->body_seen += made;
        if (dst)
            evbuffer_add(dst, out, made);
        if (r == -1)
            return -400;
        if (s->body_seen > s->cfg->web->max_body)
            return -413;
        if (r == 1 || (used == 0 && made == 0))
            return r;
    }
}

/* The body into dst, or dropped without dst: 1 when complete, 0 while
 * more must come, or a negative status. */
static int take_body(struct web_session *s, struct evbuffer *dst)
{
    return s->body_chunked ? take_chunked(s, dst) : take_length(s, dst);
}

/* A CGI request's body; the script starts once it is all there. */
static void pump_body(struct web_session *s)
{
    int r = take_body(s, s->body);
    if (r == 0)
        return;
    clear_timer(s);
    if (r == 1) {
        start_cgi(s);
        return;
    }
    reply_error(s, -r, s->req);
    free_cgi_request(s);
}

/* The body of a request already answered, dropped so that the next
 * request is read from where it really starts. */
static void pump_discard(struct web_session *s)
{
    int r = take_body(s, NULL);
    if (r == 0)
        return;
    clear_timer(s);
    if (r == 1) {
        s->state = WS_HEAD;
        return;
    }
    /* Too late for an error response: the request has had its answer. */
    log_debug("id=%" PRIu64 " event=body-dropped status=%d", s->conn->id, -r);
    finish(s);
}

static void start_discard(struct web_session *s, int chunked, uint64_t length)
{
    s->state = WS_DISCARD;
    begin_body(s, chunked, length);
    pump_discard(s);
}

void web_session_run_cgi(struct web_session *s, const struct http_request *req,
                     struct cgi_target *t)
{
    struct evbuffer *in = bufferevent_get_input(s->bev);
    s->target = *t;
    memset(t, 0, sizeof *t);
    s->head = malloc(s->head_len);
    s->req = malloc(sizeof *s->req);
    s->body = evbuffer_new();
    if (!s->head || !s->req || !s->body) {
        free_cgi_request(s);
        reply_error(s, 500, req);
        return;
    }
    evbuffer_remove(in, s->head, s->head_len);
    http_parse_request(s->head, s->head_len, &s->cfg->limits, s->req);
    s->head_len = 0;
    s->state = WS_BODY;
    begin_body(s, s->req->chunked, s->req->has_length ? s->req->content_length : 0);
    if (s->req->expect_continue && s->req->version_minor == 1 &&
        (s->req->chunked || s->body_left > 0))
        evbuffer_add(web_session_output(s), "HTTP/1.1 100 Continue\r\n\r\n", 25);
    pump_body(s);
}

/* --- reading requests ------------------------------------------------ */

static void parse_one(struct web_session *s, struct evbuffer *in)
{
    size_t len = evbuffer_get_length(in);
    size_t cap = s->cfg->limits.max_header_bytes + 1;
    if (len > cap)
        len = cap;
    const char *p = (const char *)evbuffer_pullup(in, (ev_ssize_t)len);
    struct http_request req;
    int r = http_parse_request(p, len, &s->cfg->limits, &req);
    if (r == 0) {
        if (s->timer_kind != T_HEADER)
            set_timer(s, T_HEADER, s->cfg->web->header_timeout);
        s->head_len = 0;
        return;
    }
    clear_timer(s);
    if (r < 0) {
        reply_error(s, -r, NULL);
        return;
    }
    if (req.has_length && req.content_length > s->cfg->web->max_body) {
        reply_error(s, 413, &req);
        return;
    }
    int chunked = req.chunked;
    uint64_t length = req.has_length ? req.content_length : 0;
    s->head_len = (size_t)r;
    dispatch_request(s, &req);
    if (!s->head_len)
        return;                     /* a CGI request took the head and its body */
    evbuffer_drain(in, s->head_len);
    s->head_len = 0;
    if (s->state == WS_HEAD && (chunked || length > 0))
        start_discard(s, chunked, length);
}

static void process(struct web_session *s)
{
    struct evbuffer *in = bufferevent_get_input(s->bev);
    struct evbuffer *out = web_session_output(s);
    for (int i = 0; i < PIPELINE_BATCH && s->state == WS_HEAD; i++) {
        if (evbuffer_get_length(out) >= OUT_HIGH)
            return;                 /* the write callback resumes */
        if (evbuffer_get_length(in) == 0) {
            if (s->peer_eof) {
                finish(s);
                return;
            }
            if (evbuffer_get_length(out) == 0 && s->timer_kind != T_IDLE)
                set_timer(s, T_IDLE, s->cfg->web->keepalive_timeout);
            return;
        }
        size_t before = evbuffer_get_length(in);
        parse_one(s, in);
        if (s->state == WS_HEAD && evbuffer_get_length(in) == before)
            return;                 /* an incomplete head: wait for more */
    }
}

static void on_read(struct bufferevent *bev, void *arg)
{
    struct web_session *s = arg;
    (void)bev;
    if (s->state == WS_BODY || s->state == WS_DISCARD)
        set_timer(s, T_BODY, s->cfg->web->header_timeout);   /* between two reads */
    if (s->state == WS_BODY)
        pump_body(s);
    else if (s->state == WS_DISCARD)
        pump_discard(s);
    if (s->state == WS_HEAD) {
        if (s->timer_kind == T_IDLE)
            clear_timer(s);
        process(s);
    } else if (s->state == WS_CGI &&
               evbuffer_get_length(bufferevent_get_input(s->bev)) > s->cfg->limits.max_header_bytes) {
        bufferevent_disable(s->bev, EV_READ);   /* pipelined requests wait in the kernel */
    }
}

static void on_write(struct bufferevent *bev, void *arg)
{
    struct web_session *s = arg;
    (void)bev;
    switch (s->state) {
    case WS_CLOSING:
        session_close(s);
        break;
    case WS_CGI:
        if (s->cgi)
            cgi_client_drained(s->cgi);
        break;
    case WS_HEAD:
        process(s);
        break;
    case WS_BODY:
    case WS_DISCARD:
        break;
    }
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
    struct web_session *s = arg;
    (void)bev;
    if (what & BEV_EVENT_CONNECTED)
        return;                     /* the TLS handshake is done */
    if ((what & BEV_EVENT_EOF) && (what & BEV_EVENT_READING) && s->state == WS_HEAD &&
        evbuffer_get_length(web_session_output(s)) > 0) {
        s->peer_eof = 1;            /* half-closed: answer what was asked, then close */
        finish(s);
        return;
    }
    session_close(s);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    struct web_session *s = arg;
    enum timer_kind kind = s->timer_kind;
    (void)fd; (void)what;
    s->timer_kind = T_NONE;
    if (kind == T_HEADER) {
        reply_error(s, 408, NULL);
    } else if (kind == T_BODY && s->state == WS_BODY) {
        reply_error(s, 408, s->req);
    } else if (kind == T_BODY) {
        finish(s);                  /* the answer is out; the rest of the body never came */
    } else if (kind == T_CLOSE || (kind == T_IDLE && s->state == WS_CLOSING)) {
        session_close(s);
    } else if (kind == T_IDLE) {
        session_close(s);           /* an idle keep-alive connection */
    } else if (kind == T_RESUME && s->state == WS_HEAD) {
        process(s);
    }
}

void web_session_accept(struct gale_conn *c, void *arg)
{
    const struct session_cfg *cfg = arg;
    struct web_session *s = calloc(1, sizeof *s);
    if (!s) {
        conn_free(c);
        return;
    }
    s->conn = c;
    s->cfg = cfg;
    s->bev = conn_bufferevent(c);
    s->timer = evtimer_new(reactor_base(), on_timer, s);
    if (!s->bev || !s->timer) {
        if (s->bev) bufferevent_free(s->bev);
        if (s->timer) event_free(s->timer);
        free(s);
        conn_free(c);
        return;
    }
    c->data = s;
    c->abort = on_abort;
    s->next = sessions;
    if (sessions)
        sessions->prev = s;
    sessions = s;
    double st = cfg->web->send_timeout;
    struct timeval wtv = { (time_t)st, (suseconds_t)((st - (time_t)st) * 1e6) };
    bufferevent_set_timeouts(s->bev, NULL, st > 0 ? &wtv : NULL);
    bufferevent_setcb(s->bev, on_read, on_write, on_event, s);
    bufferevent_enable(s->bev, EV_READ | EV_WRITE);
    set_timer(s, T_HEADER, cfg->web->header_timeout);
}

/* Shutdown: idle keep-alive connections go now, busy ones after their
 * current response. */
void web_session_shutdown_all(void)
{
    shutting_down = 1;
    for (struct web_session *s = sessions, *next; s; s = next) {
        next = s->next;
        if (s->state == WS_HEAD && evbuffer_get_length(bufferevent_get_input(s->bev)) == 0 &&
            evbuffer_get_length(web_session_output(s)) == 0)
            session_close(s);
    }
}
