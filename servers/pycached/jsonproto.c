/*
 * pycached's JSON protocol (github.com/ducin/pycached): a client sends
 * request objects, {"command": "get", "key": "k"}, with or without a
 * newline after each, and gets one reply line per request, in order:
 * {"status": "ok", "value": VALUE} or {"status": "error", "error": "..."}
 * spaced as Python's json.dumps spaces them.
 *
 * Requests are framed straight from the input buffer (jsonval.c), so one
 * split across reads and several in one read both work.  A connection
 * survives any bad request except one too large to frame, which is
 * answered and then closed.  A session stops framing while its output
 * holds more than OUT_HIGH bytes and answers at most BATCH requests per
 * wake-up, so a client that does not read, or pipelines a flood, cannot
 * make the server buffer without bound or starve the others.
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "commands.h"
#include "conn.h"
#include "jsonval.h"
#include "log.h"
#include "pycached.h"
#include "reactor.h"
#include "stats.h"
#include "store.h"

#define OUT_HIGH (256 * 1024)       /* stop framing above this much output */
#define IN_SPARE (64 * 1024)        /* input kept beyond one whole request */
#define BATCH 64                    /* requests per wake-up, for fairness */
#define FRAME_SLACK (6 * STORE_KEY_MAX + 4096)   /* an escaped key, names, ttl */
#define SEND_TIMEOUT 60             /* seconds a reply may wait for the client */
#define LINGER_SECONDS 2            /* after a last error: time for the client to read it */
#define LINGER_MAX (16 * 1024 * 1024)   /* input thrown away meanwhile */
#define ERR_MAX 512
#define COMMAND_MAX 32              /* longer than any command name */

enum js_state {
    JS_OPEN,        /* framing and answering requests */
    JS_CLOSING,     /* the last replies are going out; then close (or linger) */
    JS_LINGERING,   /* replies sent, our side shut: input is thrown away until the
                     * client closes, so that closing does not reset the
                     * connection before it read the error */
};

struct js_session {
    struct gale_conn *conn;
    struct bufferevent *bev;
    enum js_state state;
    int peer_eof;                   /* the client will send nothing more */
    int linger;                     /* in JS_CLOSING: linger once the output is sent */
    size_t discarded;               /* in JS_LINGERING */
    struct json_framer fr;
    struct js_session *prev, *next;
};

static struct js_session *sessions;
static struct evbuffer *scratch;    /* a command's value, before its reply wraps it */
static int shutting_down;

static void process(struct js_session *s);

static const char *state_name(enum js_state st)
{
    return st == JS_OPEN ? "open" : st == JS_CLOSING ? "closing" : "lingering";
}

/* The largest request framed: the largest value plus room for the rest. */
static size_t frame_limit(void)
{
    uint64_t max = store_max_item_size();
    return max > SIZE_MAX / 2 ? SIZE_MAX / 2 : (size_t)max + FRAME_SLACK;
}

static int stopping(void)
{
    return shutting_down || reactor_stopping();
}

/* --- life and death -------------------------------------------------- */

static void session_close(struct js_session *s)
{
    log_debug("id=%" PRIu64 " event=close state=%s duration=%.3f", s->conn->id,
              state_name(s->state), conn_age(s->conn));
    if (s->prev)
        s->prev->next = s->next;
    else
        sessions = s->next;
    if (s->next)
        s->next->prev = s->prev;
    bufferevent_free(s->bev);
    conn_free(s->conn);
    stats_conn_close(PROTO_JSON);
    free(s);
}

static void on_abort(struct gale_conn *c, void *arg)
{
    (void)c;
    session_close(arg);
}

/* The output is sent: close, or shut our side and linger (input the
 * client still sends would otherwise make the kernel reset the
 * connection, and the client could lose the reply). */
static void sent(struct js_session *s)
{
    int fd = bufferevent_getfd(s->bev);
    if (!s->linger || s->peer_eof || fd < 0 || shutdown(fd, SHUT_WR) == -1) {
        session_close(s);
        return;
    }
    struct timeval tv = { LINGER_SECONDS, 0 };
    s->state = JS_LINGERING;
    bufferevent_set_timeouts(s->bev, &tv, NULL);
    bufferevent_enable(s->bev, EV_READ);
}

/* Close once the output is sent; now if it already is.  The caller must
 * not touch s afterwards. */
static void finish(struct js_session *s, int linger)
{
    s->state = JS_CLOSING;
    s->linger = linger;
    bufferevent_disable(s->bev, EV_READ);
    if (evbuffer_get_length(bufferevent_get_output(s->bev)) == 0)
        sent(s);
}

/* --- replies --------------------------------------------------------- */

static void reply_error(struct js_session *s, const char *msg)
{
    struct evbuffer *out = bufferevent_get_output(s->bev);
    size_t before = evbuffer_get_length(out);
    evbuffer_add(out, "{\"status\": \"error\", \"error\": ", 29);
    json_put_string(out, msg, strlen(msg));
    evbuffer_add(out, "}\n", 2);
    pyc_stats.bytes_written += evbuffer_get_length(out) - before;
    log_debug("id=%" PRIu64 " event=request status=error error=\"%s\"", s->conn->id, msg);
}

/* A success; the value, if the command gave one, waits in scratch. */
static void reply_ok(struct js_session *s, int has_value)
{
    struct evbuffer *out = bufferevent_get_output(s->bev);
    size_t before = evbuffer_get_length(out);
    if (has_value) {
        evbuffer_add(out, "{\"status\": \"ok\", \"value\": ", 26);
        evbuffer_add_buffer(out, scratch);      /* moves the chains, no copy */
        evbuffer_add(out, "}\n", 2);
    } else {
        evbuffer_add(out, "{\"status\": \"ok\"}\n", 17);
    }
    pyc_stats.bytes_written += evbuffer_get_length(out) - before;
}

/* --- requests -------------------------------------------------------- */

/* The command name, decoded; one too long to decode is unknown anyway,
 * and is shown as sent. */
static void take_command(const struct json_member *m, struct pyc_request *pr, char *buf)
{
    if (m->type == JSON_ABSENT)
        return;
    if (json_string_decode(m->p, m->n, buf, COMMAND_MAX, &pr->ncommand) == 0) {
        pr->command = buf;
    } else {
        pr->command = m->p + 1;
        pr->ncommand = m->n - 2;
    }
}

/* The parsed request as commands.h wants it.  A key too long to decode
 * into key[] is passed with nkey past STORE_KEY_MAX, which pyc_run
 * refuses. */
static int to_request(const struct json_request *jr, struct pyc_request *pr, char *cmd,
                      char *key, char *err, size_t errlen)
{
    memset(pr, 0, sizeof *pr);
    take_command(&jr->command, pr, cmd);
    if (jr->key.type != JSON_ABSENT) {
        pr->has_key = 1;
        pr->key = key;
        if (json_string_decode(jr->key.p, jr->key.n, key, STORE_KEY_MAX + 1, &pr->nkey) == -1)
            pr->nkey = STORE_KEY_MAX + 1;
    }
    if (jr->value.type != JSON_ABSENT) {
        pr->has_value = 1;
        pr->value = jr->value.p;
        pr->nvalue = jr->value.n;
    }
    if (jr->ttl.type != JSON_ABSENT) {
        pr->has_ttl = 1;
        if (json_number_value(jr->ttl.p, jr->ttl.n, &pr->ttl) == -1) {
            snprintf(err, errlen, "\"ttl\" is not a sensible number of seconds");
            return -1;
        }
    }
    return 0;
}

/* Parses and runs the request p[0..n), and answers it. */
static void answer(struct js_session *s, const char *p, size_t n)
{
    struct json_request jr;
    struct pyc_request pr;
    char err[ERR_MAX], cmd[COMMAND_MAX], key[STORE_KEY_MAX + 1];
    int r = -1;
    if (!p)
        snprintf(err, sizeof err, "out of memory");
    else if (json_parse_request(p, n, &jr, err, sizeof err) == 0 &&
             to_request(&jr, &pr, cmd, key, err, sizeof err) == 0)
        r = pyc_run(PROTO_JSON, &pr, scratch, err, sizeof err);
    pyc_stats.bytes_read += n;
    if (r < 0) {
        evbuffer_drain(scratch, evbuffer_get_length(scratch));
        reply_error(s, err);
    } else {
        reply_ok(s, r > 0);
    }
}

/* Feeds the framer the input it has not seen yet, and drops the
 * whitespace before the value. */
static enum json_frame_status scan(struct js_session *s, struct evbuffer *in)
{
    enum json_frame_status st = JSON_FRAME_MORE;
    size_t max = frame_limit();
    while (st == JSON_FRAME_MORE) {
        size_t seen = s->fr.skip + s->fr.len;
        struct evbuffer_ptr at;
        struct evbuffer_iovec v[8];
        if (seen >= evbuffer_get_length(in) ||
            evbuffer_ptr_set(in, &at, seen, EVBUFFER_PTR_SET) == -1)
            break;
        int nv = evbuffer_peek(in, -1, &at, v, 8);
        for (int k = 0; k < nv && k < 8 && st == JSON_FRAME_MORE; k++)
            st = json_frame(&s->fr, v[k].iov_base, v[k].iov_len, max);
        if (nv <= 0)
            break;
    }
    if (s->fr.skip) {
        evbuffer_drain(in, s->fr.skip);
        pyc_stats.bytes_read += s->fr.skip;
        s->fr.skip = 0;
    }
    return st;
}

/* The framed request at the head of the input. */
static void take_frame(struct js_session *s, struct evbuffer *in)
{
    size_t n = s->fr.len;
    answer(s, (const char *)evbuffer_pullup(in, (ev_ssize_t)n), n);
    evbuffer_drain(in, n);
    json_framer_reset(&s->fr);
}

/* The client closed with part of a value unsent (or a bare word with
 * nothing after it): answer what there is, as the parser sees it. */
static void take_rest(struct js_session *s, struct evbuffer *in)
{
    size_t n = evbuffer_get_length(in);
    if (n > 0)
        answer(s, (const char *)evbuffer_pullup(in, (ev_ssize_t)n), n);
    evbuffer_drain(in, n);
    json_framer_reset(&s->fr);
}

/* Nothing complete to answer: wait, or end the session. */
static void idle(struct js_session *s, struct evbuffer *in)
{
    if (s->peer_eof) {
        take_rest(s, in);
        finish(s, 0);
    } else if (stopping()) {
        finish(s, 0);
    }
}

static void process(struct js_session *s)
{
    struct evbuffer *in = bufferevent_get_input(s->bev);
    struct evbuffer *out = bufferevent_get_output(s->bev);
    for (int i = 0; i < BATCH; i++) {
        if (evbuffer_get_length(out) >= OUT_HIGH)
            return;                 /* on_write resumes once it drains */
        enum json_frame_status st = scan(s, in);
        if (st == JSON_FRAME_MORE) {
            idle(s, in);
            return;
        }
        if (st == JSON_FRAME_TOO_LARGE) {
            char msg[128];
            snprintf(msg, sizeof msg, "request too large: the limit is %zu bytes", frame_limit());
            reply_error(s, msg);
            finish(s, 1);
            return;
        }
        take_frame(s, in);
    }
    /* More may wait: the replies just queued bring on_write, which goes on. */
}

/* --- bufferevent callbacks ------------------------------------------- */

static void on_read(struct bufferevent *bev, void *arg)
{
    struct js_session *s = arg;
    struct evbuffer *in = bufferevent_get_input(bev);
    if (s->state == JS_OPEN) {
        process(s);
    } else if (s->state == JS_LINGERING) {
        s->discarded += evbuffer_get_length(in);
        evbuffer_drain(in, evbuffer_get_length(in));
        if (s->discarded > LINGER_MAX)
            session_close(s);
    }
}

static void on_write(struct bufferevent *bev, void *arg)
{
    struct js_session *s = arg;
    (void)bev;
    if (s->state == JS_CLOSING)
        sent(s);
    else if (s->state == JS_OPEN)
        process(s);
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
    struct js_session *s = arg;
    (void)bev;
    if (what & BEV_EVENT_CONNECTED)
        return;                     /* the TLS handshake is done */
    if (s->state == JS_LINGERING) {
        session_close(s);           /* the client closed, or took too long */
        return;
    }
    if ((what & BEV_EVENT_EOF) && (what & BEV_EVENT_READING)) {
        s->peer_eof = 1;            /* half-closed: answer what was sent, then close */
        if (s->state == JS_OPEN)
            process(s);
        return;
    }
    log_debug("id=%" PRIu64 " event=error what=0x%x", s->conn->id, (unsigned)what);
    session_close(s);
}

/* --- accepting ------------------------------------------------------- */

static void link_session(struct js_session *s)
{
    s->next = sessions;
    if (sessions)
        sessions->prev = s;
    sessions = s;
}

static void on_accept(struct gale_conn *c, void *arg)
{
    struct js_session *s = calloc(1, sizeof *s);
    (void)arg;
    if (!s || !(s->bev = conn_bufferevent(c))) {
        free(s);
        conn_free(c);
        return;
    }
    s->conn = c;
    c->data = s;
    c->abort = on_abort;
    link_session(s);
    stats_conn_open(PROTO_JSON);
    log_debug("id=%" PRIu64 " event=accept client=%s", c->id, c->peer);
    struct timeval wtv = { SEND_TIMEOUT, 0 };
    bufferevent_set_timeouts(s->bev, NULL, &wtv);
    /* Input stops being read beyond one whole request and some more. */
    bufferevent_setwatermark(s->bev, EV_READ, 0, frame_limit() + IN_SPARE);
    bufferevent_setcb(s->bev, on_read, on_write, on_event, s);
    bufferevent_enable(s->bev, EV_READ | EV_WRITE);
}

/* Shutdown: idle connections go now, busy ones once their requests are
 * answered (process() sees stopping()). */
void json_service_stop(void)
{
    shutting_down = 1;
    for (struct js_session *s = sessions, *next; s; s = next) {
        next = s->next;
        if (s->state == JS_OPEN && evbuffer_get_length(bufferevent_get_output(s->bev)) == 0)
            process(s);
    }
}

int json_service_start(const char *endpoint, char *err, size_t errlen)
{
    if (!scratch && !(scratch = evbuffer_new())) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (!listener_open(endpoint, on_accept, NULL, err, errlen))
        return -1;
    return 0;
}
