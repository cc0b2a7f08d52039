/*
 * gale pycached's memcached service: memcached 1.6's text protocol over
 * the shared store.  Each connection is a session (common/session.c)
 * that reads command lines (parsed by mcproto.c) and data blocks and
 * answers pipelined commands in order, a batch's answers gathered in one
 * buffer and written at once.  No new command is read while the output
 * holds OUT_HIGH bytes, and a get stops queueing values there, so a
 * client that does not read makes us hold little; the input is capped at
 * one data block and one key list.
 *
 * Replies are memcached 1.6.18's word for word, checked against it.
 * Like memcached, "noreply" silences every reply of its command, errors
 * included (only the "ERROR" of a line that is not a valid command is
 * still sent: noreply is not looked for there), so a client that sent
 * noreply never reads a stray line.  Values stored here are ITEM_RAW;
 * values set through JSON or HTTP are served as their JSON text.
 * https://github.com/memcached/memcached/blob/master/doc/protocol.txt
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <event2/buffer.h>
#include <event2/event.h>

#include "instance.h"
#include "log.h"
#include "mcproto.h"
#include "mcstats.h"
#include "pycached.h"
#include "reactor.h"
#include "gale_session.h"
#include "stats.h"
#include "store.h"

#define OUT_FIRST 4096            /* the answer buffer's first size */
#define OUT_KEEP (64 * 1024)      /* a larger one is freed once sent */
#define OUT_HIGH (256 * 1024)     /* stop reading commands above this much output */
#define PIPELINE_BATCH 64         /* steps per wake-up, for fairness */
#define SEND_TIMEOUT 60           /* seconds a client may leave our replies unread */
/* libmemcached refuses a version whose major number is 0, and clients
 * (memcapable) pick protocol rules by it: so the memcached release whose
 * protocol this is comes first, then ours, as Dragonfly does. */
#define VERSION_REPLY "VERSION 1.6.18 gale-" GALE_VERSION

enum mc_state {
    MS_COMMAND,  /* waiting for a command line, or answering one */
    MS_DATA,     /* a storage command waits for its data block and "\r\n" */
    MS_SWALLOW,  /* discarding the data block of a value refused as too large */
    MS_GET,      /* a get's values, paused while the client reads; the line stays in the input */
    MS_CLOSING,  /* quit, shutdown or a line too long: the session finishes */
};

struct pending_store {            /* MS_DATA */
    enum mc_cmd cmd;
    char key[MC_KEY_MAX];
    size_t nkey;
    uint32_t flags;
    uint32_t exptime;             /* absolute, from store_exptime() */
    uint32_t bytes;
    uint64_t cas;
};

struct pending_get {              /* MS_GET */
    enum mc_cmd cmd;
    uint32_t exptime;             /* gat, gats: absolute */
    size_t next, end;             /* keys still to answer: offsets into the line */
    size_t total;                 /* the line and its newline, drained once answered */
};

struct mc_session {
    struct gale_session *gs;
    struct pyc_server *srv;       /* session_server(gs), kept at hand */
    enum mc_state state;
    int noreply;                  /* the current command's */
    int paused;                   /* reading stopped until the output drains */
    size_t scanned;               /* of the line being read: bytes with no newline */
    uint64_t swallow;             /* MS_SWALLOW: bytes still to discard */
    struct pending_store store;
    struct pending_get get;
    char *out;                    /* answers of this batch, sent at its end */
    size_t out_len, out_cap;
};

static void process(struct mc_session *s);

/* --- small helpers --------------------------------------------------- */

static struct evbuffer *input(struct mc_session *s)
{
    return session_input(s->gs);
}
/* Room for n more bytes of answers; NULL when memory runs out. */
static char *out_room(struct mc_session *s, size_t n)
{
    if (s->out_len + n > s->out_cap) {
        size_t cap = s->out_cap ? s->out_cap : OUT_FIRST;
        while (cap < s->out_len + n)
            cap *= 2;
        char *p = realloc(s->out, cap);
        if (!p)
            return NULL;
        s->out = p;
        s->out_cap = cap;
    }
    return s->out + s->out_len;
}

static void out_add(struct mc_session *s, const void *p, size_t n)
{
    char *d = out_room(s, n);
    if (d) {
        memcpy(d, p, n);
        s->out_len += n;
    }
}

/* Sends the batch's answers; a buffer grown by a large reply is let go. */
static void send_out(struct mc_session *s)
{
    session_write(s->gs, s->out, s->out_len);
    s->out_len = 0;
    if (s->out_cap > OUT_KEEP) {
        free(s->out);
        s->out = NULL;
        s->out_cap = 0;
    }
}

/* Answers not yet taken by the socket, gathered or queued. */
static size_t unsent(struct mc_session *s)
{
    return s->out_len + session_pending(s->gs);
}

/* Every reply line goes through here, so noreply is honoured in one place. */
static void reply(struct mc_session *s, const char *line)
{
    if (s->noreply)
        return;
    out_add(s, line, strlen(line));
    out_add(s, "\r\n", 2);
}

static void consume(struct mc_session *s, size_t n)
{
    evbuffer_drain(input(s), n);
    s->srv->stats.bytes_read += n;
}

/* Room for one data block and one key list; beyond it reading waits. */
static size_t input_limit(const struct pyc_server *srv)
{
    return (size_t)store_max_item_size(srv->store) + MC_KEYLIST_MAX + 4096;
}

static int is_gat(enum mc_cmd c) { return c == MC_GAT || c == MC_GATS; }

/* --- life and death -------------------------------------------------- */

/* Close once the output is sent. */
static void finish(struct mc_session *s)
{
    if (s->state == MS_CLOSING)
        return;
    s->state = MS_CLOSING;
    send_out(s);
    session_finish(s->gs, 0);
}

static void pause_reading(struct mc_session *s)
{
    if (!s->paused) {
        s->paused = 1;
        session_pause(s->gs, 1);
        session_notify_drained(s->gs);
    }
}

/* --- retrieval ------------------------------------------------------- */

/* Decimal digits of v ending at end; returns where they start. */
static char *put_u64(char *end, uint64_t v)
{
    do {
        *--end = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    return end;
}

/* "VALUE key flags bytes [cas]\r\n", the value and "\r\n": the hottest
 * reply, so formatted by hand rather than through printf. */
static void write_value(struct mc_session *s, const struct item *it, int with_cas)
{
    char num[21];
    char *p = out_room(s, 6 + it->nkey + 3 * 21 + 2 + it->nval + 2);
    if (!p)
        return;
    char *start = p;
    memcpy(p, "VALUE ", 6);
    p += 6;
    memcpy(p, item_key(it), it->nkey);
    p += it->nkey;
    uint64_t fields[3] = { it->flags, it->nval, it->cas };
    for (int i = 0; i < (with_cas ? 3 : 2); i++) {
        char *d = put_u64(num + sizeof num, fields[i]);
        size_t len = (size_t)(num + sizeof num - d);
        *p++ = ' ';
        memcpy(p, d, len);
        p += len;
    }
    memcpy(p, "\r\n", 2);
    memcpy(p + 2, item_value(it), it->nval);
    memcpy(p + 2 + it->nval, "\r\n", 2);
    s->out_len += (size_t)(p + 4 + it->nval - start);
}

/* stats is rare: its lines are made in an evbuffer and copied over. */
static void stats_reply(struct mc_session *s, const struct mc_request *r)
{
    struct evbuffer *tmp = evbuffer_new();
    if (!tmp)
        return;
    mcstats_reply(&s->srv->mcstats, &s->srv->stats, s->srv->store, tmp, r,
                  session_local_port(s->gs));
    size_t n = evbuffer_get_length(tmp);
    char *d = out_room(s, n);
    if (d && evbuffer_remove(tmp, d, n) == (int)n)
        s->out_len += n;
    evbuffer_free(tmp);
}

/* One key of get, gets, gat or gats.  gat answers with the value as it
 * was and then touches, as memcached does (a past time still returns it). */
static void answer_key(struct mc_session *s, struct mc_str key)
{
    enum mc_cmd cmd = s->get.cmd;
    struct item *it = store_get(s->srv->store, key.p, key.len);
    if (is_gat(cmd)) {
        s->srv->stats.cmd_touch++;
        it ? s->srv->stats.touch_hits++ : s->srv->stats.touch_misses++;
    } else {
        s->srv->stats.cmd_get++;
        it ? s->srv->stats.get_hits++ : s->srv->stats.get_misses++;
    }
    if (!it)
        return;
    write_value(s, it, cmd == MC_GETS || cmd == MC_GATS);
    if (is_gat(cmd))
        store_touch(s->srv->store, key.p, key.len, s->get.exptime);
}

static void start_get(struct mc_session *s, const struct mc_request *r, const char *line,
                      size_t total)
{
    struct pending_get *g = &s->get;
    g->cmd = r->cmd;
    g->exptime = is_gat(r->cmd) ? store_exptime(s->srv->store, r->exptime) : 0;
    g->next = r->keys.len ? (size_t)(r->keys.p - line) : 0;
    g->end = g->next + r->keys.len;
    g->total = total;
    s->state = MS_GET;
}

/* Answers keys until the output is full; the line stays in the input
 * until the last one, so the keys need no copy. */
static int step_get(struct mc_session *s)
{
    struct pending_get *g = &s->get;
    const char *line = (const char *)evbuffer_pullup(input(s), (ev_ssize_t)g->total);
    if (!line) {
        finish(s);
        return 1;
    }
    struct mc_str keys = { line + g->next, g->end - g->next }, key;
    while (unsent(s) < OUT_HIGH && mc_next_key(&keys, &key)) {
        answer_key(s, key);
        g->next = (size_t)(keys.p - line);
    }
    struct mc_str rest = keys;
    if (mc_next_key(&rest, &key))
        return 1;                /* the output is full: process() pauses */
    out_add(s, "END\r\n", 5);
    consume(s, g->total);
    s->state = MS_COMMAND;
    return 1;
}

/* --- storage --------------------------------------------------------- */

static const char *store_reply(enum store_result r)
{
    switch (r) {
    case STORE_STORED: return "STORED";
    case STORE_NOT_STORED: return "NOT_STORED";
    case STORE_EXISTS: return "EXISTS";
    case STORE_NOT_FOUND: return "NOT_FOUND";
    case STORE_TOO_LARGE: return "SERVER_ERROR object too large for cache";
    case STORE_NO_MEMORY: return "SERVER_ERROR out of memory storing object";
    }
    return "SERVER_ERROR Unhandled storage type.";
}

static enum store_mode store_mode(enum mc_cmd c)
{
    switch (c) {
    case MC_ADD: return STORE_ADD;
    case MC_REPLACE: return STORE_REPLACE;
    case MC_APPEND: return STORE_APPEND;
    case MC_PREPEND: return STORE_PREPEND;
    case MC_CAS: return STORE_CAS;
    default: return STORE_SET;
    }
}

static void start_store(struct mc_session *s, const struct mc_request *r)
{
    if (r->bytes > store_max_item_size(s->srv->store)) {
        reply(s, "SERVER_ERROR object too large for cache");
        if (r->cmd == MC_SET)        /* as memcached: a failed set leaves no stale value */
            store_delete(s->srv->store, r->key.p, r->key.len);
        s->swallow = (uint64_t)r->bytes + 2;
        s->state = MS_SWALLOW;
        return;
    }
    struct pending_store *p = &s->store;
    p->cmd = r->cmd;
    memcpy(p->key, r->key.p, r->key.len);
    p->nkey = r->key.len;
    p->flags = r->flags;
    p->exptime = store_exptime(s->srv->store, r->exptime);
    p->bytes = r->bytes;
    p->cas = r->cas;
    s->state = MS_DATA;
}

static void store_data(struct mc_session *s, const char *data)
{
    const struct pending_store *p = &s->store;
    struct store_value v = {
        .key = p->key, .nkey = p->nkey, .val = data, .nval = p->bytes, .flags = p->flags,
        .exptime = p->exptime, .kind = ITEM_RAW, .cas = p->cas,
    };
    enum store_result r = store_put(s->srv->store, store_mode(p->cmd), &v, NULL);
    if (p->cmd == MC_CAS && r == STORE_STORED)
        s->srv->stats.cas_hits++;
    else if (p->cmd == MC_CAS && r == STORE_EXISTS)
        s->srv->stats.cas_badval++;
    else if (p->cmd == MC_CAS && r == STORE_NOT_FOUND)
        s->srv->stats.cas_misses++;
    reply(s, store_reply(r));
}

static int step_data(struct mc_session *s)
{
    size_t need = (size_t)s->store.bytes + 2;
    if (evbuffer_get_length(input(s)) < need)
        return 0;
    const char *d = (const char *)evbuffer_pullup(input(s), (ev_ssize_t)need);
    if (!d) {
        finish(s);
        return 1;
    }
    s->srv->stats.cmd_set++;
    if (d[need - 2] != '\r' || d[need - 1] != '\n')
        reply(s, "CLIENT_ERROR bad data chunk");
    else
        store_data(s, d);
    consume(s, need);
    s->state = MS_COMMAND;
    return 1;
}

static int step_swallow(struct mc_session *s)
{
    size_t len = evbuffer_get_length(input(s));
    if (len == 0)
        return 0;
    size_t n = len < s->swallow ? len : (size_t)s->swallow;
    consume(s, n);
    s->swallow -= n;
    if (s->swallow == 0)
        s->state = MS_COMMAND;
    return 1;
}

/* --- the other commands ---------------------------------------------- */

static void do_delete(struct mc_session *s, const struct mc_request *r)
{
    if (store_delete(s->srv->store, r->key.p, r->key.len)) {
        s->srv->stats.delete_hits++;
        reply(s, "DELETED");
    } else {
        s->srv->stats.delete_misses++;
        reply(s, "NOT_FOUND");
    }
}

static void do_arith(struct mc_session *s, const struct mc_request *r)
{
    int decr = r->cmd == MC_DECR;
    uint64_t v = 0;
    char num[24];
    switch (store_incr(s->srv->store, r->key.p, r->key.len, decr, r->delta, &v)) {
    case INCR_OK:
        decr ? s->srv->stats.decr_hits++ : s->srv->stats.incr_hits++;
        snprintf(num, sizeof num, "%" PRIu64, v);
        reply(s, num);
        break;
    case INCR_NOT_FOUND:
        decr ? s->srv->stats.decr_misses++ : s->srv->stats.incr_misses++;
        reply(s, "NOT_FOUND");
        break;
    case INCR_NON_NUMERIC:
        reply(s, "CLIENT_ERROR cannot increment or decrement non-numeric value");
        break;
    case INCR_NO_MEMORY:
        reply(s, "SERVER_ERROR out of memory");
        break;
    }
}

/* TOUCHED even when the new time is past (the item then goes), as
 * memcached: so look first, touch second. */
static void do_touch(struct mc_session *s, const struct mc_request *r)
{
    s->srv->stats.cmd_touch++;
    if (!store_peek(s->srv->store, r->key.p, r->key.len)) {
        s->srv->stats.touch_misses++;
        reply(s, "NOT_FOUND");
        return;
    }
    store_touch(s->srv->store, r->key.p, r->key.len, store_exptime(s->srv->store, r->exptime));
    s->srv->stats.touch_hits++;
    reply(s, "TOUCHED");
}

static void on_flush_timer(evutil_socket_t fd, short what, void *arg)
{
    struct pyc_server *srv = arg;
    (void)fd, (void)what;
    instance_push(srv->self);
    log_info("event=flush_all delayed=1 items=%zu", store_count(srv->store));
    store_clear(srv->store);
    instance_pop();
}

/* flush_all [delay]: a later flush replaces a pending one, as memcached's
 * single oldest_live setting does; the delay follows exptime's rules. */
static void do_flush(struct mc_session *s, const struct mc_request *r)
{
    struct pyc_server *srv = s->srv;
    double delay = 0;
    srv->stats.cmd_flush++;
    if (r->has_delay && r->exptime > 0)
        delay = (double)store_exptime(srv->store, r->exptime) - store_time(srv->store);
    evtimer_del(srv->flush_timer);
    if (delay <= 0) {
        store_clear(srv->store);
    } else {
        struct timeval tv = reactor_timeval(delay);
        evtimer_add(srv->flush_timer, &tv);
    }
    reply(s, "OK");
}

static void execute(struct mc_session *s, const struct mc_request *r)
{
    switch (r->cmd) {
    case MC_DELETE: do_delete(s, r); break;
    case MC_INCR:
    case MC_DECR: do_arith(s, r); break;
    case MC_TOUCH: do_touch(s, r); break;
    case MC_FLUSH_ALL: do_flush(s, r); break;
    case MC_STATS: stats_reply(s, r); break;
    case MC_VERSION: reply(s, VERSION_REPLY); break;
    case MC_VERBOSITY: mcstats_set_verbosity(&s->srv->mcstats, r->verbosity); reply(s, "OK"); break;
    case MC_QUIT: finish(s); break;
    default: start_store(s, r); break;   /* the storage commands */
    }
}

/* --- reading commands ------------------------------------------------ */

static void run_line(struct mc_session *s, const char *line, size_t len, size_t total)
{
    struct mc_request r;
    enum mc_status st = mc_parse(line, len, &r);
    s->noreply = r.noreply;
    if (r.cmd != MC_UNKNOWN)
        stats_command(&s->srv->stats, PROTO_MEMCACHED, mc_cmd_name(r.cmd));
    if (st != MC_OK) {
        reply(s, mc_status_text(st));
        consume(s, total);
    } else if (r.cmd == MC_GET || r.cmd == MC_GETS || is_gat(r.cmd)) {
        start_get(s, &r, line, total);
    } else {
        execute(s, &r);              /* r points into the line: drain it after */
        consume(s, total);
    }
}

/* Frames the line at the head of the input.  Most lines fit in
 * MC_LINE_MAX, so only that much is made contiguous unless a get's key
 * list needs more: pipelined small commands then cost no big copies. */
static const char *frame_line(struct mc_session *s, enum mc_frame *f, size_t *line_len,
                              size_t *total)
{
    struct evbuffer *in = input(s);
    size_t len = evbuffer_get_length(in);
    size_t want = len < MC_LINE_MAX + 2 ? len : MC_LINE_MAX + 2;
    for (;;) {
        const char *p = (const char *)evbuffer_pullup(in, (ev_ssize_t)want);
        if (!p)
            return NULL;
        *f = mc_frame(p, want, &s->scanned, line_len, total);
        if (*f != MC_FRAME_MORE || want == len || want > MC_KEYLIST_MAX)
            return p;
        want = len < MC_KEYLIST_MAX + 2 ? len : MC_KEYLIST_MAX + 2;
    }
}

static int step_command(struct mc_session *s)
{
    size_t line_len = 0, total = 0;
    enum mc_frame f;
    if (evbuffer_get_length(input(s)) == 0)
        return 0;
    const char *p = frame_line(s, &f, &line_len, &total);
    if (!p) {
        finish(s);
        return 1;
    }
    switch (f) {
    case MC_FRAME_MORE:
        return 0;
    case MC_FRAME_TOO_LONG:
        log_info("id=%" PRIu64 " event=line-too-long peer=%s", session_id(s->gs),
                 session_peer(s->gs));
        finish(s);
        return 1;
    case MC_FRAME_LINE:
        break;
    }
    run_line(s, p, line_len, total);
    return 1;
}

/* One step: 1 when something moved, 0 when more input is needed. */
static int step(struct mc_session *s)
{
    switch (s->state) {
    case MS_COMMAND: return step_command(s);
    case MS_DATA: return step_data(s);
    case MS_SWALLOW: return step_swallow(s);
    case MS_GET: return step_get(s);
    case MS_CLOSING: break;
    }
    return 0;
}

static void process_batch(struct mc_session *s)
{
    for (int i = 0; i < PIPELINE_BATCH; i++) {
        if (s->state == MS_CLOSING)
            return;
        if (unsent(s) >= OUT_HIGH) {
            pause_reading(s);        /* on_drained resumes */
            return;
        }
        size_t before = s->out_len;
        int moved = step(s);
        size_t after = s->out_len;
        if (after > before)
            s->srv->stats.bytes_written += after - before;
        if (!moved) {
            /* Nothing more to answer: a half-closed client, or a shutdown,
             * is done with once the output is sent. */
            if (session_peer_closed(s->gs) || session_service_stopping(s->srv->memcached))
                finish(s);
            return;
        }
    }
    session_continue(s->gs);         /* more may wait: go on from the loop, for fairness */
}

/* Answers what has arrived, then sends the answers at once. */
static void process(struct mc_session *s)
{
    if (s->state == MS_CLOSING)
        return;
    process_batch(s);
    send_out(s);
}

/* --- the session's life ---------------------------------------------- */

static int mc_open(struct gale_session *gs)
{
    struct mc_session *s = session_data(gs);
    s->gs = gs;
    s->srv = session_server(gs);
    stats_conn_open(&s->srv->stats, PROTO_MEMCACHED);
    session_set_send_timeout(gs, SEND_TIMEOUT);
    /* Room for one data block and one key list; beyond it reading waits. */
    session_set_input_limit(gs, input_limit(s->srv));
    return 0;
}

static void mc_input(struct gale_session *gs)
{
    process(session_data(gs));
}

/* All written: reading resumes if the output had stopped it. */
static void mc_drained(struct gale_session *gs)
{
    struct mc_session *s = session_data(gs);
    if (s->paused) {
        s->paused = 0;
        session_pause(gs, 0);
    }
    process(s);
}

static void mc_close(struct gale_session *gs, const char *why)
{
    struct mc_session *s = session_data(gs);
    (void)why;
    stats_conn_close(&s->srv->stats, PROTO_MEMCACHED);
    free(s->out);
}

/* Shutdown: each session answers the commands it has already received
 * (process() then sees the service stopping and closes once the output is
 * sent), so idle ones close at once.  One in the middle of a data block
 * or a paused get finishes it first, within --shutdown-timeout. */
static void mc_stop(struct gale_session *gs)
{
    struct mc_session *s = session_data(gs);
    if (s->state == MS_COMMAND && !s->paused)
        session_continue(gs);
}

static const struct session_proto mc_proto = {
    .name = "memcached",
    .data_size = sizeof(struct mc_session),
    .on_open = mc_open,
    .on_input = mc_input,
    .on_drained = mc_drained,
    .on_eof = mc_input,              /* half-closed: answer what was sent, then close */
    .on_stop = mc_stop,
    .on_close = mc_close,
};

void memcached_service_stop(struct pyc_server *srv)
{
    if (srv->memcached)
        session_service_stop(srv->memcached);
}

int memcached_service_start(struct pyc_server *srv, const char *endpoint, char *err,
                            size_t errlen)
{
    if (!srv->flush_timer)
        srv->flush_timer = evtimer_new(reactor_base(), on_flush_timer, srv);
    if (!srv->memcached)
        srv->memcached = session_service_new(&mc_proto, srv);
    if (!srv->flush_timer || !srv->memcached) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    return session_service_listen(srv->memcached, endpoint, err, errlen);
}

void memcached_service_free(struct pyc_server *srv)
{
    session_service_free(srv->memcached);
    srv->memcached = NULL;
    if (srv->flush_timer)
        event_free(srv->flush_timer);
    srv->flush_timer = NULL;
}
