/*
 * The HTTP connection state machine (RFC 9112 section 9: persistence and
 * pipelining).  Requests are parsed straight from the input buffer and
 * answered in order; a new one is not parsed while the output holds more
 * than OUT_HIGH bytes, so a client that does not read cannot make the
 * server buffer responses.  CGI requests copy their head, read their
 * body into memory (bounded by --max-body), then run.  Any other request
 * with a body is answered first, then its body is read and dropped
 * (bounded the same way) before the next request is parsed, so the body
 * is never taken for a request and the connection lives on.  The
 * connection itself (reading, writing, timers, shutdown) is the session
 * layer's (common/session.c).
 */
#include "session.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <event2/buffer.h>

#include "accesslog.h"
#include "cgi.h"
#include "dispatch.h"
#include "gale_session.h"
#include "log.h"
#include "response.h"
#include "web.h"

#define OUT_HIGH (256 * 1024)     /* stop parsing requests above this much output */
#define PIPELINE_BATCH 64         /* requests per wake-up, for fairness */
#define CHUNK_OUT 16384
#define PEER_IP_MAX 80            /* an address without its port, or a unix socket's name */

/* What a request with a body or a CGI script needs: made for such a
 * request only, so that a connection waiting for its next request stays
 * small. */
struct web_extra {
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
};

struct web_session {
    struct gale_session *gs;
    struct web_instance *web;
    enum web_state state;
    enum session_timer timer;      /* the one armed, as the layer was told */
    size_t head_len;               /* of the request being handled */
    struct web_extra *x;           /* NULL unless a body or a script is under way */
};

static void process(struct web_session *s);

/* --- small accessors ------------------------------------------------- */

struct evbuffer *web_session_output(struct web_session *s) { return session_output(s->gs); }
int web_session_is_tls(const struct web_session *s) { return session_is_tls(s->gs); }
const struct web_instance *web_session_web(const struct web_session *s) { return s->web; }
uint64_t web_session_id(const struct web_session *s) { return session_id(s->gs); }

const struct opt_list *web_session_headers(const struct web_session *s)
{
    return &s->web->cfg->add_header;
}

const char *web_session_peer_ip(const struct web_session *s, char *ip, size_t len)
{
    const char *p = session_peer(s->gs);
    const char *colon = strrchr(p, ':');
    if (p[0] == '[') {
        const char *end = strchr(p, ']');
        snprintf(ip, len, "%.*s", end ? (int)(end - p - 1) : 0, p + 1);
    } else if (colon) {
        snprintf(ip, len, "%.*s", (int)(colon - p), p);
    } else {
        snprintf(ip, len, "%s", p);   /* unix socket */
    }
    return ip;
}

int web_session_peer_port(const struct web_session *s)
{
    const char *colon = strrchr(session_peer(s->gs), ':');
    return colon ? atoi(colon + 1) : 0;
}

int web_session_local_port(const struct web_session *s)
{
    return session_local_port(s->gs);
}

/* --- life and death -------------------------------------------------- */

static struct web_extra *extra(struct web_session *s)
{
    if (!s->x)
        s->x = calloc(1, sizeof *s->x);
    return s->x;
}

/* The request with a body or a script is over. */
static void free_extra(struct web_session *s)
{
    struct web_extra *x = s->x;
    if (!x)
        return;
    free(x->head);
    free(x->req);
    free(x->target.script_file);
    free(x->target.script_name);
    free(x->target.path_info);
    if (x->body)
        evbuffer_free(x->body);
    free(x);
    s->x = NULL;
}

static const struct http_request *extra_req(const struct web_session *s)
{
    return s->x ? s->x->req : NULL;
}

static void set_timer(struct web_session *s, enum session_timer why, double seconds)
{
    s->timer = why;
    session_timer(s->gs, why, seconds);
}

static void clear_timer(struct web_session *s)
{
    if (s->timer != SESSION_T_NONE) {
        s->timer = SESSION_T_NONE;
        session_timer(s->gs, SESSION_T_NONE, 0);
    }
}

/* Close once the output is sent. */
static void finish(struct web_session *s)
{
    s->state = WS_CLOSING;
    clear_timer(s);
    session_finish(s->gs, 0);
}

static void reply_error(struct web_session *s, int status, const struct http_request *req)
{
    int minor = req ? req->version_minor : 1;
    int head_only = req && req->method == HTTP_HEAD;
    size_t n = response_error_with(web_session_output(s), web_session_headers(s), status, 0,
                                   minor, head_only, NULL);
    web_session_responded(s, req, status, head_only ? 0 : n, 0);
}

void web_session_responded(struct web_session *s, const struct http_request *req, int status,
                       uint64_t body_bytes, int keep_alive)
{
    if (s->web->access_log) {
        char ip[PEER_IP_MAX];
        accesslog_write(s->web->access_log, web_session_peer_ip(s, ip, sizeof ip), req, status,
                        body_bytes);
    }
    log_debug("id=%" PRIu64 " event=request status=%d bytes=%" PRIu64, session_id(s->gs),
              status, body_bytes);
    if (!keep_alive || !req || !req->keep_alive || session_peer_closed(s->gs) ||
        session_service_stopping(s->web->service))
        finish(s);
}

/* --- CGI requests ---------------------------------------------------- */

static void on_cgi_done(int ok, int status, uint64_t bytes, int keep_alive, void *arg)
{
    struct web_session *s = arg;
    s->x->cgi = NULL;
    web_session_responded(s, s->x->req, status, bytes, ok && keep_alive);
    free_extra(s);
    if (s->state == WS_CGI) {
        s->state = WS_HEAD;
        session_pause(s->gs, 0);
        session_continue(s->gs);    /* from the loop, not inside the CGI code */
    }
    session_send(s->gs);
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
    const struct web_cfg *w = s->web->cfg;
    struct web_extra *x = s->x;
    char err[256], ip[PEER_IP_MAX];
    struct cgi_params p = {
        .req = x->req, .program = x->target.program, .script_file = x->target.script_file,
        .script_name = x->target.script_name, .path_info = x->target.path_info,
        .document_root = w->path, .remote_addr = web_session_peer_ip(s, ip, sizeof ip),
        .remote_port = web_session_peer_port(s), .server_port = web_session_local_port(s),
        .https = session_is_tls(s->gs), .timeout = w->cgi_timeout,
        .keep_alive = x->req->keep_alive, .conn_id = session_id(s->gs),
        .headers = &w->add_header, .group = &s->web->cgi,
    };
    char host[256];
    host_without_port(x->req, host, sizeof host);
    p.server_name = host;
    struct evbuffer *body = x->body;
    x->body = NULL;
    s->state = WS_CGI;
    x->cgi = cgi_start(&p, body, s->gs, on_cgi_done, s, err, sizeof err);
    if (!x->cgi) {
        log_warnx("id=%" PRIu64 " event=cgi-failed error=\"%s\"", session_id(s->gs), err);
        reply_error(s, 500, x->req);
        free_extra(s);
    }
}

/* --- request bodies -------------------------------------------------- */

/* The caller has made s->x. */
static void begin_body(struct web_session *s, int chunked, uint64_t length)
{
    struct web_extra *x = s->x;
    x->body_chunked = chunked;
    x->body_left = chunked ? 0 : length;
    x->body_seen = 0;
    memset(&x->chunked, 0, sizeof x->chunked);
    set_timer(s, SESSION_T_REQUEST, s->web->cfg->header_timeout);
}

/* Takes what the input holds of a Content-Length body: 1 once it is all
 * taken, else 0. */
static int take_length(struct web_session *s, struct evbuffer *dst)
{
    struct evbuffer *in = session_input(s->gs);
    struct web_extra *x = s->x;
    size_t n = evbuffer_get_length(in);
    if (n > x->body_left)
        n = (size_t)x->body_left;
    if (dst)
        evbuffer_remove_buffer(in, dst, n);
    else
        evbuffer_drain(in, n);
    x->body_left -= n;
    return x->body_left == 0;
}

/* Like take_length() for a chunked body; -400 when it is malformed,
 * -413 once it passes --max-body.  The framing and trailers are left to
 * the decoder: whatever follows the body stays in the input. */
static int take_chunked(struct web_session *s, struct evbuffer *dst)
{
    struct evbuffer *in = session_input(s->gs);
    struct web_extra *x = s->x;
    char out[CHUNK_OUT];
    for (;;) {
        size_t len = evbuffer_get_length(in), used = 0, made = 0;
        if (len == 0)
            return 0;
        size_t take = len < 65536 ? len : 65536;
        const char *p = (const char *)evbuffer_pullup(in, (ev_ssize_t)take);
        int r = http_chunked_decode(&x->chunked, p, take, &used, out, sizeof out, &made);
        evbuffer_drain(in, used);
        x->body_seen += made;
        if (dst)
            evbuffer_add(dst, out, made);
        if (r == -1)
            return -400;
        if (x->body_seen > s->web->cfg->max_body)
            return -413;
        if (r == 1 || (used == 0 && made == 0))
            return r;
    }
}

/* The body into dst, or dropped without dst: 1 when complete, 0 while
 * more must come, or a negative status. */
static int take_body(struct web_session *s, struct evbuffer *dst)
{
    return s->x->body_chunked ? take_chunked(s, dst) : take_length(s, dst);
}

/* A CGI request's body; the script starts once it is all there. */
static void pump_body(struct web_session *s)
{
    int r = take_body(s, s->x->body);
    if (r == 0)
        return;
    clear_timer(s);
    if (r == 1) {
        start_cgi(s);
        return;
    }
    reply_error(s, -r, s->x->req);
    free_extra(s);
}

/* The body of a request already answered, dropped so that the next
 * request is read from where it really starts. */
static void pump_discard(struct web_session *s)
{
    int r = take_body(s, NULL);
    if (r == 0)
        return;
    clear_timer(s);
    free_extra(s);
    if (r == 1) {
        s->state = WS_HEAD;
        return;
    }
    /* Too late for an error response: the request has had its answer. */
    log_debug("id=%" PRIu64 " event=body-dropped status=%d", session_id(s->gs), -r);
    finish(s);
}

static void start_discard(struct web_session *s, int chunked, uint64_t length)
{
    if (!extra(s)) {
        finish(s);                  /* out of memory: the answer is out, close */
        return;
    }
    s->state = WS_DISCARD;
    begin_body(s, chunked, length);
    pump_discard(s);
}

void web_session_run_cgi(struct web_session *s, const struct http_request *req,
                     struct cgi_target *t)
{
    struct evbuffer *in = session_input(s->gs);
    struct web_extra *x = extra(s);
    if (x) {
        x->target = *t;
        memset(t, 0, sizeof *t);
        x->head = malloc(s->head_len);
        x->req = malloc(sizeof *x->req);
        x->body = evbuffer_new();
    }
    if (!x || !x->head || !x->req || !x->body) {
        free_extra(s);
        reply_error(s, 500, req);
        return;
    }
    evbuffer_remove(in, x->head, s->head_len);
    http_parse_request(x->head, s->head_len, &s->web->limits, x->req);
    s->head_len = 0;
    s->state = WS_BODY;
    begin_body(s, x->req->chunked, x->req->has_length ? x->req->content_length : 0);
    if (x->req->expect_continue && x->req->version_minor == 1 &&
        (x->req->chunked || x->body_left > 0))
        evbuffer_add(web_session_output(s), "HTTP/1.1 100 Continue\r\n\r\n", 25);
    pump_body(s);
}

/* --- reading requests ------------------------------------------------ */

static void parse_one(struct web_session *s, struct evbuffer *in)
{
    size_t len = evbuffer_get_length(in);
    size_t cap = s->web->limits.max_header_bytes + 1;
    if (len > cap)
        len = cap;
    const char *p = (const char *)evbuffer_pullup(in, (ev_ssize_t)len);
    struct http_request req;
    int r = http_parse_request(p, len, &s->web->limits, &req);
    if (r == 0) {
        if (s->timer != SESSION_T_REQUEST)
            set_timer(s, SESSION_T_REQUEST, s->web->cfg->header_timeout);
        s->head_len = 0;
        return;
    }
    clear_timer(s);
    if (r < 0) {
        reply_error(s, -r, NULL);
        return;
    }
    if (req.has_length && req.content_length > s->web->cfg->max_body) {
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
    for (int i = 0; i < PIPELINE_BATCH && s->state == WS_HEAD; i++) {
        if (session_pending(s->gs) >= OUT_HIGH) {
            session_notify_drained(s->gs);   /* on_drained resumes */
            return;
        }
        if (session_input_length(s->gs) == 0) {
            if (session_peer_closed(s->gs)) {
                finish(s);
                return;
            }
            if (s->timer != SESSION_T_IDLE)
                set_timer(s, SESSION_T_IDLE, s->web->cfg->keepalive_timeout);
            return;
        }
        struct evbuffer *in = session_input(s->gs);
        size_t before = evbuffer_get_length(in);
        parse_one(s, in);
        if (s->state == WS_HEAD && evbuffer_get_length(in) == before)
            return;                 /* an incomplete head: wait for more */
    }
    if (s->state == WS_HEAD)
        session_continue(s->gs);    /* more may wait: go on from the loop, for fairness */
}

/* --- the session's life ---------------------------------------------- */

static int ws_open(struct gale_session *gs)
{
    struct web_instance *web = session_server(gs);
    struct web_session *s = session_data(gs);
    s->gs = gs;
    s->web = web;
    session_set_send_timeout(gs, web->cfg->send_timeout);
    set_timer(s, SESSION_T_REQUEST, web->cfg->header_timeout);
    return 0;
}

static void ws_input(struct gale_session *gs)
{
    struct web_session *s = session_data(gs);
    if (s->state == WS_BODY || s->state == WS_DISCARD)
        set_timer(s, SESSION_T_REQUEST, s->web->cfg->header_timeout);   /* between two reads */
    if (s->state == WS_BODY)
        pump_body(s);
    else if (s->state == WS_DISCARD)
        pump_discard(s);
    if (s->state == WS_HEAD) {
        if (s->timer == SESSION_T_IDLE)
            clear_timer(s);
        process(s);
    } else if (s->state == WS_CGI &&
               session_input_length(gs) > s->web->limits.max_header_bytes) {
        session_pause(gs, 1);       /* pipelined requests wait in the kernel */
    }
}

static void ws_drained(struct gale_session *gs)
{
    struct web_session *s = session_data(gs);
    if (s->state == WS_CGI && s->x && s->x->cgi)
        cgi_client_drained(s->x->cgi);
    else if (s->state == WS_HEAD)
        process(s);
}

/* Half-closed: what was asked in full is answered, then the connection
 * closes; a request cut short is not waited for. */
static void ws_eof(struct gale_session *gs)
{
    struct web_session *s = session_data(gs);
    if (s->state == WS_HEAD)
        process(s);
    if (s->state != WS_HEAD || session_finishing(gs))
        return;
    if (session_pending(gs) > 0)
        finish(s);
    else
        session_abort(gs, "client closed");
}

static void ws_timeout(struct gale_session *gs, enum session_timer why)
{
    struct web_session *s = session_data(gs);
    s->timer = SESSION_T_NONE;
    if (why == SESSION_T_REQUEST && s->state == WS_HEAD)
        reply_error(s, 408, NULL);
    else if (why == SESSION_T_REQUEST && s->state == WS_BODY)
        reply_error(s, 408, extra_req(s));
    else if (why == SESSION_T_REQUEST && s->state == WS_DISCARD)
        finish(s);                  /* the answer is out; the rest of the body never came */
    else
        session_abort(gs, "timed out");   /* idle keep-alive, or a client that reads nothing */
}

/* Shutdown: idle keep-alive connections go now, busy ones after their
 * current response. */
static void ws_stop(struct gale_session *gs)
{
    struct web_session *s = session_data(gs);
    if (s->state == WS_HEAD && session_input_length(gs) == 0 && session_pending(gs) == 0)
        session_abort(gs, "shutting down");
}

static void ws_close(struct gale_session *gs, const char *why)
{
    struct web_session *s = session_data(gs);
    (void)why;
    if (s->x && s->x->cgi)
        cgi_abort(s->x->cgi);
    free_extra(s);
}

const struct session_proto web_session_proto = {
    .name = "web",
    .data_size = sizeof(struct web_session),
    .on_open = ws_open,
    .on_input = ws_input,
    .on_drained = ws_drained,
    .on_eof = ws_eof,
    .on_timeout = ws_timeout,
    .on_stop = ws_stop,
    .on_close = ws_close,
};
