/*
 * gale mail's POP3 sessions (RFC 1939) on the session layer, with CAPA
 * (RFC 2449), STLS (RFC 2595) and AUTH PLAIN (RFC 5034).
 *
 * Commands are read a line at a time and answered in order, so pipelined
 * ones are simply taken one after the other.  Whatever waits on a disk or
 * a password check (the login, the listing, a message's bytes, the
 * removals at QUIT) runs elsewhere while the session reads nothing more;
 * the answer resumes it.  Multi-line replies are made only as fast as the
 * client reads them, so a session holds a bounded amount of output
 * whatever the size of the maildrop or of a message.
 */
#include "pop3_int.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <event2/buffer.h>

#include "auth.h"
#include "gale_session.h"
#include "log.h"

#define BAD_COMMANDS_MAX 10          /* then close, as Dovecot */
#define OUT_HIGH (64 * 1024)         /* output queued before we wait for the client */
#define LIST_BATCH 256               /* LIST and UIDL lines made per turn */
/* Input held while a command waits: an AUTH response line and more. */
#define INPUT_MAX (POP3_AUTH_LINE_MAX + 4096)

static void process(struct pop3_session *s);

/* --- replies --------------------------------------------------------- */

void pop3_reply(struct pop3_session *s, const char *fmt, ...)
{
    struct evbuffer *out = session_output(s->gs);
    va_list ap;
    if (!out)
        return;
    va_start(ap, fmt);
    evbuffer_add_vprintf(out, fmt, ap);
    va_end(ap);
    evbuffer_add(out, "\r\n", 2);
}

void pop3_reply_close(struct pop3_session *s, const char *text)
{
    pop3_reply(s, "%s", text);
    session_finish(s->gs, 1);
}

void pop3_bad(struct pop3_session *s, const char *why)
{
    if (++s->bad >= BAD_COMMANDS_MAX) {
        pop3_reply_close(s, "-ERR Too many bad commands, closing");
        return;
    }
    pop3_reply(s, "-ERR %c%s", why[0] >= 'a' && why[0] <= 'z' ? why[0] - 32 : why[0], why + 1);
}

void pop3_resume(struct pop3_session *s)
{
    session_continue(s->gs);
    session_send(s->gs);
}

/* --- the maildrop ---------------------------------------------------- */

/* Message n, or NULL and the -ERR sent. */
static const struct maildir_entry *message(struct pop3_session *s, unsigned long n)
{
    int marked;
    const struct maildir_entry *e = pop3_box_get(s->box, n, &marked);
    if (!e && marked)
        pop3_reply(s, "-ERR Message %lu already deleted", n);
    else if (!e)
        pop3_reply(s, "-ERR No such message");
    return e;
}

/* LIST and UIDL without an argument: a batch of lines per turn, while
 * the client keeps up. */
static void send_listing(struct pop3_session *s)
{
    struct evbuffer *out = session_output(s->gs);
    unsigned long count = pop3_box_count(s->box);
    if (!out)
        return;
    for (int i = 0; s->msg <= count && i < LIST_BATCH; s->msg++, i++) {
        const struct maildir_entry *e = pop3_box_get(s->box, s->msg, NULL);
        if (!e)
            continue;
        if (s->sending == POP3_LIST)
            evbuffer_add_printf(out, "%lu %" PRIu64 "\r\n", s->msg, e->size);
        else
            evbuffer_add_printf(out, "%lu %s\r\n", s->msg, e->uidl);
    }
    if (s->msg > count) {
        evbuffer_add(out, ".\r\n", 3);
        s->state = PS_TRANS;
        return;
    }
    session_notify_drained(s->gs);
}

static void do_list(struct pop3_session *s, const struct pop3_cmd *c, int uidl)
{
    if (c->has_n) {
        const struct maildir_entry *e = message(s, c->n);
        if (e && uidl)
            pop3_reply(s, "+OK %lu %s", c->n, e->uidl);
        else if (e)
            pop3_reply(s, "+OK %lu %" PRIu64, c->n, e->size);
        return;
    }
    if (uidl)
        pop3_reply(s, "+OK Unique-ID listing follows");
    else
        pop3_reply(s, "+OK %lu messages (%" PRIu64 " octets)", pop3_box_live(s->box),
                   pop3_box_live_size(s->box));
    s->state = PS_SENDING;
    s->sending = uidl ? POP3_UIDL : POP3_LIST;
    s->msg = 1;
    send_listing(s);
}

static void retr_failed(struct pop3_session *s, const char *err)
{
    log_warnx("id=%" PRIu64 " event=read-failed user=%s msg=%lu error=\"%s\"",
              session_id(s->gs), s->login, s->msg, err);
    if (s->started) {
        session_abort(s->gs, "message unreadable");  /* its reply is cut: the client sees it */
        return;
    }
    pop3_reply(s, "-ERR [SYS/TEMP] Cannot read message %lu: %s", s->msg, err);
    s->state = PS_TRANS;
    pop3_resume(s);
}

/* A piece of the message: stuffed into the output, and the next one read
 * while the client keeps up. */
static void on_chunk(void *arg, const char *p, size_t n, const char *err)
{
    struct pop3_session *s = arg;
    struct evbuffer *out = session_output(s->gs);
    struct evbuffer_iovec v;
    if (err || !out) {
        retr_failed(s, err ? err : "out of memory");
        return;
    }
    if (!s->started) {
        const struct maildir_entry *e = pop3_box_get(s->box, s->msg, NULL);
        pop3_reply(s, "+OK %" PRIu64 " octets", e ? e->size : 0);
        s->started = 1;
    }
    if (n > 0) {
        size_t used;
        if (evbuffer_reserve_space(out, (ev_ssize_t)(2 * n), &v, 1) != 1) {
            session_abort(s->gs, "out of memory");
            return;
        }
        v.iov_len = pop3_stuff_feed(&s->stuff, p, n, v.iov_base, &used);
        evbuffer_commit_space(out, &v, 1);
    }
    if (n > 0 && !s->stuff.done) {
        if (session_pending(s->gs) < OUT_HIGH) {
            if (pop3_box_read_more(s->box) == -1)
                session_abort(s->gs, "out of memory");
        } else {
            s->read_waits = 1;
            session_notify_drained(s->gs);
        }
        session_send(s->gs);
        return;
    }
    char end[POP3_STUFF_END_MAX];
    evbuffer_add(out, end, pop3_stuff_end(&s->stuff, end));
    pop3_box_read_stop(s->box);
    s->state = PS_TRANS;
    pop3_resume(s);
}

static void do_retr(struct pop3_session *s, const struct pop3_cmd *c, int top)
{
    if (!message(s, c->n))
        return;
    pop3_stuff_init(&s->stuff, top ? (long)c->m : -1);
    s->sending = top ? POP3_TOP : POP3_RETR;
    s->msg = c->n;
    s->started = 0;
    s->state = PS_SENDING;
    if (pop3_box_read(s->box, c->n, on_chunk, s) == -1) {
        s->state = PS_TRANS;
        pop3_reply(s, "-ERR [SYS/TEMP] Out of memory");
    }
}

static void do_dele(struct pop3_session *s, const struct pop3_cmd *c)
{
    if (message(s, c->n) && pop3_box_mark(s->box, c->n) == 0)
        pop3_reply(s, "+OK Message %lu deleted", c->n);
}

static void on_committed(void *arg, int ok, const char *err)
{
    struct pop3_session *s = arg;
    unsigned long n = pop3_box_marked(s->box);
    log_info("id=%" PRIu64 " event=logout user=%s deleted=%lu%s%s%s", session_id(s->gs),
             s->login, n, ok ? "" : " error=\"", ok ? "" : err, ok ? "" : "\"");
    if (ok)
        pop3_reply_close(s, "+OK Logging out, messages deleted");
    else
        pop3_reply_close(s, "-ERR [SYS/TEMP] Some deleted messages were not removed");
}

/* QUIT in TRANSACTION: the UPDATE state of RFC 1939 6. */
static void do_update(struct pop3_session *s)
{
    if (pop3_box_marked(s->box) == 0) {
        log_info("id=%" PRIu64 " event=logout user=%s deleted=0", session_id(s->gs), s->login);
        pop3_reply_close(s, "+OK Logging out");
        return;
    }
    s->state = PS_UPDATE;
    if (pop3_box_commit(s->box, on_committed, s) == -1)
        pop3_reply_close(s, "-ERR [SYS/TEMP] Out of memory, nothing deleted");
}

/* --- commands -------------------------------------------------------- */

static void command_trans(struct pop3_session *s, const struct pop3_cmd *c)
{
    switch (c->verb) {
    case POP3_STAT:
        pop3_reply(s, "+OK %lu %" PRIu64, pop3_box_live(s->box), pop3_box_live_size(s->box));
        break;
    case POP3_LIST: do_list(s, c, 0); break;
    case POP3_UIDL: do_list(s, c, 1); break;
    case POP3_RETR: do_retr(s, c, 0); break;
    case POP3_TOP: do_retr(s, c, 1); break;
    case POP3_DELE: do_dele(s, c); break;
    case POP3_RSET:
        pop3_box_unmark(s->box);
        pop3_reply(s, "+OK %lu messages (%" PRIu64 " octets)", pop3_box_live(s->box),
                   pop3_box_live_size(s->box));
        break;
    case POP3_NOOP: pop3_reply(s, "+OK"); break;
    case POP3_CAPA: pop3_capa(s); break;
    case POP3_QUIT: do_update(s); break;
    default: pop3_bad(s, "Already logged in"); break;
    }
}

static void command_line(struct pop3_session *s, const char *line, size_t len)
{
    struct pop3_cmd c;
    char err[128];
    if (pop3_cmd_parse(line, len, &c, err, sizeof err) == -1) {
        pop3_bad(s, err);
        return;
    }
    if (s->state == PS_AUTH)
        pop3_login_command(s, &c);
    else
        command_trans(s, &c);
}

static void too_long(struct pop3_session *s)
{
    if (s->state == PS_SASL)
        s->state = PS_AUTH;
    pop3_bad(s, "line too long");
}

/* One line from the input: 1 when one was taken, 0 when a whole line has
 * not come yet.  An over-long one is thrown away as it comes. */
static int take_line(struct pop3_session *s)
{
    struct evbuffer *in = session_input(s->gs);
    size_t max = s->state == PS_SASL ? POP3_AUTH_LINE_MAX : POP3_CMD_MAX, eol_len;
    char line[POP3_AUTH_LINE_MAX + 1];
    if (!in)
        return 0;
    struct evbuffer_ptr eol = evbuffer_search_eol(in, NULL, &eol_len, EVBUFFER_EOL_CRLF);
    if (eol.pos < 0) {
        if (evbuffer_get_length(in) > max) {
            evbuffer_drain(in, evbuffer_get_length(in));
            s->skipping = 1;
        }
        return 0;
    }
    size_t len = (size_t)eol.pos;
    if (s->skipping || len > max) {
        evbuffer_drain(in, len + eol_len);
        s->skipping = 0;
        too_long(s);
        return 1;
    }
    evbuffer_remove(in, line, len);
    evbuffer_drain(in, eol_len);
    line[len] = '\0';
    if (s->state == PS_SASL) {
        s->state = PS_AUTH;
        pop3_login_response(s, line, len);
    } else {
        command_line(s, line, len);
    }
    explicit_bzero(line, len);       /* it may have held a password */
    return 1;
}

static int busy(const struct pop3_session *s)
{
    return s->state == PS_CHECKING || s->state == PS_OPENING || s->state == PS_SENDING ||
           s->state == PS_UPDATE || s->state == PS_TLS;
}

static void process(struct pop3_session *s)
{
    while (!session_finishing(s->gs) && !busy(s) && !s->stopping) {
        if (session_pending(s->gs) >= OUT_HIGH) {
            session_notify_drained(s->gs);     /* a client that reads slowly: wait */
            return;
        }
        if (!take_line(s))
            break;
    }
    if (busy(s) || session_finishing(s->gs))
        return;
    if (s->stopping)
        pop3_reply_close(s, "-ERR [SYS/TEMP] Server shutting down");
    else if (session_peer_closed(s->gs))
        session_finish(s->gs, 0);    /* gone without QUIT: nothing is deleted */
}

/* --- the session's callbacks ----------------------------------------- */

static int on_open(struct gale_session *gs)
{
    struct pop3_session *s = session_data(gs);
    s->gs = gs;
    s->srv = session_server(gs);
    pop3_reply(s, "+OK gale POP3 ready");
    session_set_input_limit(gs, INPUT_MAX);
    session_timer(gs, SESSION_T_IDLE, s->srv->cfg->pop3_timeout);
    session_set_send_timeout(gs, s->srv->cfg->pop3_timeout);
    return 0;
}

static void on_input(struct gale_session *gs)
{
    struct pop3_session *s = session_data(gs);
    session_timer(gs, SESSION_T_IDLE, s->srv->cfg->pop3_timeout);
    process(s);
}

static void on_drained(struct gale_session *gs)
{
    struct pop3_session *s = session_data(gs);
    if (s->state == PS_TLS) {
        /* what was said before STLS is forgotten (RFC 2595 4) */
        s->state = PS_AUTH;
        s->has_user = 0;
        if (s->stopping)
            session_finish(gs, 0);
        else if (session_start_tls(gs, s->srv->tls) == -1)
            session_abort(gs, "stls failed");
        else
            session_set_input_limit(gs, INPUT_MAX);     /* onto the new TLS buffers */
        return;
    }
    if (s->read_waits) {
        s->read_waits = 0;
        if (pop3_box_read_more(s->box) == -1)
            session_abort(gs, "out of memory");
        return;
    }
    if (s->state == PS_SENDING && (s->sending == POP3_LIST || s->sending == POP3_UIDL))
        send_listing(s);
    process(s);
}

static void on_eof(struct gale_session *gs)
{
    process(session_data(gs));
}

static void on_timeout(struct gale_session *gs, enum session_timer why)
{
    struct pop3_session *s = session_data(gs);
    /* in the middle of a multi-line reply nothing more can be said */
    if (why == SESSION_T_SEND || s->state == PS_SENDING)
        session_abort(gs, why == SESSION_T_SEND ? "send timeout" : "timeout");
    else
        pop3_reply_close(s, "-ERR Disconnected for inactivity");
}

static void on_stop(struct gale_session *gs)
{
    struct pop3_session *s = session_data(gs);
    s->stopping = 1;
    if (!busy(s))
        pop3_reply_close(s, "-ERR [SYS/TEMP] Server shutting down");
}

static void on_close(struct gale_session *gs, const char *why)
{
    struct pop3_session *s = session_data(gs);
    (void)why;
    mail_auth_cancel(s->auth);
    s->auth = NULL;
    pop3_box_free(s->box);           /* a job still running finishes on its own */
    s->box = NULL;
    if (s->locked)
        pop3_lock_release(&s->srv->locks, s->login);
    s->locked = 0;
}

static const struct session_proto pop3_proto = {
    .name = "pop3",
    .data_size = sizeof(struct pop3_session),
    .on_open = on_open,
    .on_input = on_input,
    .on_drained = on_drained,
    .on_eof = on_eof,
    .on_timeout = on_timeout,
    .on_stop = on_stop,
    .on_close = on_close,
};

/* --- the service ------------------------------------------------------ */

struct pop3_service *pop3_service_new(const struct mail_cfg *cfg, struct ssl_ctx_st *tls,
                                      struct mail_auth *auth)
{
    struct pop3_service *srv = calloc(1, sizeof *srv);
    if (!srv)
        return NULL;
    srv->cfg = cfg;
    srv->tls = tls;
    srv->auth = auth;
    if (!(srv->svc = session_service_new(&pop3_proto, srv))) {
        free(srv);
        return NULL;
    }
    return srv;
}

int pop3_service_listen(struct pop3_service *srv, const char *endpoint, char *err,
                        size_t errlen)
{
    return session_service_listen(srv->svc, endpoint, err, errlen);
}

void pop3_service_stop(struct pop3_service *srv)
{
    session_service_stop(srv->svc);
}

void pop3_service_free(struct pop3_service *srv)
{
    if (!srv)
        return;
    session_service_free(srv->svc);
    pop3_locks_free(&srv->locks);
    free(srv);
}
