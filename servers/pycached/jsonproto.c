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
 * make the server buffer without bound or starve the others.  The
 * connection itself (reading, writing, lingering after a last error,
 * shutdown) is the session layer's (common/session.c).
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <event2/buffer.h>

#include "commands.h"
#include "jsonval.h"
#include "log.h"
#include "pycached.h"
#include "gale_session.h"
#include "stats.h"
#include "store.h"

#define OUT_HIGH (256 * 1024)       /* stop framing above this much output */
#define IN_SPARE (64 * 1024)        /* input kept beyond one whole request */
#define BATCH 64                    /* requests per wake-up, for fairness */
#define FRAME_SLACK (6 * STORE_KEY_MAX + 4096)   /* an escaped key, names, ttl */
#define SEND_TIMEOUT 60             /* seconds a reply may wait for the client */
#define ERR_MAX 512
#define COMMAND_MAX 32              /* longer than any command name */

struct js_session {
    struct gale_session *gs;
    struct pyc_server *srv;         /* session_server(gs), kept at hand */
    struct json_framer fr;
};

/* The largest request framed: the largest value plus room for the rest. */
static size_t frame_limit(const struct pyc_server *srv)
{
    uint64_t max = store_max_item_size(srv->store);
    return max > SIZE_MAX / 2 ? SIZE_MAX / 2 : (size_t)max + FRAME_SLACK;
}

/* --- replies --------------------------------------------------------- */

static void reply_error(struct js_session *s, const char *msg)
{
    struct evbuffer *out = session_output(s->gs);
    size_t before = evbuffer_get_length(out);
    evbuffer_add(out, "{\"status\": \"error\", \"error\": ", 29);
    json_put_string(out, msg, strlen(msg));
    evbuffer_add(out, "}\n", 2);
    s->srv->stats.bytes_written += evbuffer_get_length(out) - before;
    log_debug("id=%" PRIu64 " event=request status=error error=\"%s\"", session_id(s->gs), msg);
}

/* A success; the value, if the command gave one, waits in scratch. */
static void reply_ok(struct js_session *s, int has_value)
{
    struct evbuffer *out = session_output(s->gs);
    size_t before = evbuffer_get_length(out);
    if (has_value) {
        evbuffer_add(out, "{\"status\": \"ok\", \"value\": ", 26);
        evbuffer_add_buffer(out, s->srv->scratch);   /* moves the chains, no copy */
        evbuffer_add(out, "}\n", 2);
    } else {
        evbuffer_add(out, "{\"status\": \"ok\"}\n", 17);
    }
    s->srv->stats.bytes_written += evbuffer_get_length(out) - before;
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
    struct pyc_server *srv = s->srv;
    struct json_request jr;
    struct pyc_request pr;
    char err[ERR_MAX], cmd[COMMAND_MAX], key[STORE_KEY_MAX + 1];
    int r = -1;
    if (!p)
        snprintf(err, sizeof err, "out of memory");
    else if (json_parse_request(p, n, &jr, err, sizeof err) == 0 &&
             to_request(&jr, &pr, cmd, key, err, sizeof err) == 0)
        r = pyc_run(srv, PROTO_JSON, &pr, srv->scratch, err, sizeof err);
    srv->stats.bytes_read += n;
    if (r < 0) {
        evbuffer_drain(srv->scratch, evbuffer_get_length(srv->scratch));
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
    size_t max = frame_limit(s->srv);
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
        s->srv->stats.bytes_read += s->fr.skip;
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
static void idle(struct js_session *s)
{
    if (session_peer_closed(s->gs)) {
        if (session_input_length(s->gs) > 0)
            take_rest(s, session_input(s->gs));
        session_finish(s->gs, 0);
    } else if (session_service_stopping(s->srv->json)) {
        session_finish(s->gs, 0);
    }
}

static void process(struct js_session *s)
{
    for (int i = 0; i < BATCH; i++) {
        if (session_finishing(s->gs))
            return;
        if (session_pending(s->gs) >= OUT_HIGH) {
            session_notify_drained(s->gs);   /* on_drained resumes once it is written */
            return;
        }
        if (session_input_length(s->gs) == 0) {
            idle(s);
            return;
        }
        struct evbuffer *in = session_input(s->gs);
        enum json_frame_status st = scan(s, in);
        if (st == JSON_FRAME_MORE) {
            idle(s);
            return;
        }
        if (st == JSON_FRAME_TOO_LARGE) {
            char msg[128];
            snprintf(msg, sizeof msg, "request too large: the limit is %zu bytes",
                     frame_limit(s->srv));
            reply_error(s, msg);
            session_finish(s->gs, 1);
            return;
        }
        take_frame(s, in);
    }
    session_continue(s->gs);        /* more may wait: go on from the loop, for fairness */
}

/* --- the session's life ---------------------------------------------- */

static int js_open(struct gale_session *gs)
{
    struct js_session *s = session_data(gs);
    s->gs = gs;
    s->srv = session_server(gs);
    stats_conn_open(&s->srv->stats, PROTO_JSON);
    session_set_send_timeout(gs, SEND_TIMEOUT);
    /* Input stops being read beyond one whole request and some more. */
    session_set_input_limit(gs, frame_limit(s->srv) + IN_SPARE);
    return 0;
}

static void js_input(struct gale_session *gs)
{
    process(session_data(gs));
}

/* Shutdown: idle connections go now, busy ones once their requests are
 * answered (idle() sees the service stopping). */
static void js_stop(struct gale_session *gs)
{
    if (session_pending(gs) == 0)
        process(session_data(gs));
}

static void js_close(struct gale_session *gs, const char *why)
{
    struct js_session *s = session_data(gs);
    (void)why;
    stats_conn_close(&s->srv->stats, PROTO_JSON);
}

static const struct session_proto json_proto = {
    .name = "json",
    .data_size = sizeof(struct js_session),
    .on_open = js_open,
    .on_input = js_input,
    .on_drained = js_input,
    .on_eof = js_input,             /* half-closed: answer what was sent, then close */
    .on_stop = js_stop,
    .on_close = js_close,
};

void json_service_stop(struct pyc_server *srv)
{
    if (srv->json)
        session_service_stop(srv->json);
}

int json_service_start(struct pyc_server *srv, const char *endpoint, char *err, size_t errlen)
{
    if ((!srv->scratch && !(srv->scratch = evbuffer_new())) ||
        (!srv->json && !(srv->json = session_service_new(&json_proto, srv)))) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    return session_service_listen(srv->json, endpoint, err, errlen);
}

void json_service_free(struct pyc_server *srv)
{
    session_service_free(srv->json);
    srv->json = NULL;
    if (srv->scratch)
        evbuffer_free(srv->scratch);
    srv->scratch = NULL;
}
