/*
 * gale mail's SMTP sessions (RFC 5321) on the session layer: commands
 * are read a line at a time and answered in order, so pipelined ones
 * (RFC 2920) are simply taken one after the other; DATA's bytes go
 * through the reader of smtp_data.c; the message is handed to the
 * Maildir writer and the session waits, reading nothing more, until it
 * says the message is on disk, and only then answers 250.  AUTH's
 * exchange is in smtp_auth.c; a submission listener (RFC 6409) runs the
 * same sessions and wants AUTH before MAIL.
 */
#include "mail.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <event2/buffer.h>

#include "gale_session.h"
#include "log.h"
#include "maildir.h"
#include "smtp_cmd.h"
#include "smtp_data.h"
#include "smtp_int.h"

#define BAD_COMMANDS_MAX 20          /* then 421 and close, as Postfix */
#define DATA_CHUNK 16384
#define PATH_TEXT_MAX 4096
#define ADDR_TEXT_MAX (sizeof ((struct smtp_addr *)0)->local + SMTP_DOMAIN_MAX + 2)

/* What the Maildir writer calls back with: the session, or NULL once the
 * client has gone meanwhile (the message is still written). */
struct delivery {
    struct smtp_session *s;
};

/* --- replies --------------------------------------------------------- */

/* "250 2.1.0 Ok": the enhanced code only after EHLO (RFC 2034). */
void smtp_reply(struct smtp_session *s, int code, const char *enhanced, const char *text)
{
    struct evbuffer *out = session_output(s->gs);
    if (!out)
        return;
    if (s->esmtp && enhanced)
        evbuffer_add_printf(out, "%d %s %s\r\n", code, enhanced, text);
    else
        evbuffer_add_printf(out, "%d %s\r\n", code, text);
}

void smtp_reply_close(struct smtp_session *s, int code, const char *enhanced, const char *text)
{
    smtp_reply(s, code, enhanced, text);
    session_finish(s->gs, 1);
}

/* --- the transaction ------------------------------------------------- */

static void reset_transaction(struct smtp_session *s)
{
    free(s->sender);
    s->sender = NULL;
    for (size_t i = 0; i < s->n_dirs; i++)
        free(s->dirs[i]);
    free(s->dirs);
    s->dirs = NULL;
    s->n_dirs = s->n_rcpt = 0;
    free(s->first_rcpt);
    s->first_rcpt = NULL;
    if (s->body) {
        evbuffer_free(s->body);
        s->body = NULL;
    }
    if (s->state != SS_START)
        s->state = SS_READY;
}

static int add_dir(struct smtp_session *s, const char *dir)
{
    for (size_t i = 0; i < s->n_dirs; i++)
        if (strcmp(s->dirs[i], dir) == 0)
            return 0;                /* one copy per Maildir */
    char **v = realloc(s->dirs, (s->n_dirs + 1) * sizeof *v);
    if (!v)
        return -1;
    s->dirs = v;
    if (!(v[s->n_dirs] = strdup(dir)))
        return -1;
    s->n_dirs++;
    return 0;
}

static void format_addr(const struct smtp_addr *a, char *buf, size_t len)
{
    if (a->null)
        snprintf(buf, len, "%s", "");
    else if (a->domain[0])
        snprintf(buf, len, "%s@%s", a->local, a->domain);
    else
        snprintf(buf, len, "%s", a->local);
}

/* --- commands -------------------------------------------------------- */

static void do_helo(struct smtp_session *s, const struct smtp_cmd *c, int ehlo)
{
    const struct mail_cfg *cfg = s->srv->cfg;
    char text[MAIL_HOST_MAX + 64];
    if (c->arg_len == 0) {
        smtp_reply(s, 501, "5.5.4", ehlo ? "Syntax: EHLO hostname" : "Syntax: HELO hostname");
        return;
    }
    reset_transaction(s);
    snprintf(s->helo, sizeof s->helo, "%.*s", (int)c->arg_len, c->arg);
    s->state = SS_READY;
    s->esmtp = ehlo;
    if (!ehlo) {
        smtp_reply(s, 250, NULL, cfg->host);
        return;
    }
    struct evbuffer *out = session_output(s->gs);
    if (!out)
        return;
    snprintf(text, sizeof text, "%s", cfg->host);
    evbuffer_add_printf(out, "250-%s\r\n250-PIPELINING\r\n250-SIZE %" PRIu64 "\r\n"
                        "250-8BITMIME\r\n250-ENHANCEDSTATUSCODES\r\n", text,
                        cfg->max_message_size);
    if (s->srv->tls && !session_is_tls(s->gs))
        evbuffer_add_printf(out, "250-STARTTLS\r\n");
    if (smtp_auth_offered(s))
        evbuffer_add_printf(out, "250-AUTH PLAIN LOGIN\r\n");
    evbuffer_add_printf(out, "250 HELP\r\n");
}

static void do_mail(struct smtp_session *s, const struct smtp_cmd *c)
{
    char addr[ADDR_TEXT_MAX];
    if (s->state == SS_START) {
        smtp_reply(s, 503, "5.5.1", "Say HELO or EHLO first");
        return;
    }
    if (s->state != SS_READY) {
        smtp_reply(s, 503, "5.5.1", "Nested MAIL command");
        return;
    }
    if (!s->authed && (s->srv->submission || s->srv->cfg->disable_anonymous)) {
        smtp_reply(s, 530, "5.7.0", "Authentication required");
        return;
    }
    if (c->has_size && s->srv->cfg->max_message_size &&
        c->size > s->srv->cfg->max_message_size) {
        smtp_reply(s, 552, "5.3.4", "Message size exceeds fixed limit");
        return;
    }
    format_addr(&c->addr, addr, sizeof addr);
    if (!(s->sender = strdup(addr))) {
        smtp_reply(s, 451, "4.3.0", "Out of memory");
        return;
    }
    s->state = SS_MAIL;
    smtp_reply(s, 250, "2.1.0", "Ok");
}

static void do_rcpt(struct smtp_session *s, const struct smtp_cmd *c)
{
    const struct mail_cfg *cfg = s->srv->cfg;
    char dir[PATH_TEXT_MAX], addr[ADDR_TEXT_MAX];
    if (s->state != SS_MAIL) {
        smtp_reply(s, 503, "5.5.1", "Need MAIL before RCPT");
        return;
    }
    if (s->n_rcpt >= (size_t)cfg->max_recipients) {
        smtp_reply(s, 452, "4.5.3", "Too many recipients");
        return;
    }
    int r = c->addr.quoted ? -1 : mail_route(cfg, c->addr.local, c->addr.domain, dir,
                                             sizeof dir);
    format_addr(&c->addr, addr, sizeof addr);
    if (r == -2) {
        log_info("id=%" PRIu64 " event=rcpt-refused rcpt=<%s> why=relaying",
                 session_id(s->gs), addr);
        smtp_reply(s, 550, "5.7.1", "Relaying denied");
        return;
    }
    if (r == -1) {
        smtp_reply(s, 550, "5.1.1", "No such user here");
        return;
    }
    if (add_dir(s, dir) == -1 || (!s->first_rcpt && !(s->first_rcpt = strdup(addr)))) {
        smtp_reply(s, 451, "4.3.0", "Out of memory");
        return;
    }
    s->n_rcpt++;
    smtp_reply(s, 250, "2.1.5", "Ok");
}

static void do_data(struct smtp_session *s, const struct smtp_cmd *c)
{
    if (c->arg_len) {
        smtp_reply(s, 501, "5.5.4", "Syntax: DATA");
        return;
    }
    if (s->state != SS_MAIL || s->n_rcpt == 0) {
        smtp_reply(s, s->state == SS_MAIL ? 554 : 503, "5.5.1",
                   s->state == SS_MAIL ? "No valid recipients" : "Need MAIL and RCPT first");
        return;
    }
    if (!(s->body = evbuffer_new())) {
        smtp_reply(s, 451, "4.3.0", "Out of memory");
        return;
    }
    smtp_data_init(&s->data, s->srv->cfg->max_message_size);
    s->state = SS_DATA;
    smtp_reply(s, 354, NULL, "End data with <CR><LF>.<CR><LF>");
}

static void do_starttls(struct smtp_session *s, const struct smtp_cmd *c)
{
    if (!s->srv->tls) {
        smtp_reply(s, 502, "5.5.1", "STARTTLS not offered");
        return;
    }
    if (session_is_tls(s->gs)) {
        smtp_reply(s, 503, "5.5.1", "Already in TLS");
        return;
    }
    if (c->arg_len) {
        smtp_reply(s, 501, "5.5.4", "Syntax: STARTTLS");
        return;
    }
    smtp_reply(s, 220, "2.0.0", "Ready to start TLS");
    s->state = SS_TLS;
    session_notify_drained(s->gs);
}

void smtp_bad_command(struct smtp_session *s, int code, const char *enhanced, const char *text)
{
    if (++s->bad >= BAD_COMMANDS_MAX) {
        smtp_reply_close(s, 421, "4.7.0", "Too many errors, closing");
        return;
    }
    smtp_reply(s, code, enhanced, text);
}

static void command(struct smtp_session *s, const struct smtp_cmd *c)
{
    switch (c->verb) {
    case SMTP_HELO: do_helo(s, c, 0); break;
    case SMTP_EHLO: do_helo(s, c, 1); break;
    case SMTP_MAIL: do_mail(s, c); break;
    case SMTP_RCPT: do_rcpt(s, c); break;
    case SMTP_DATA: do_data(s, c); break;
    case SMTP_STARTTLS: do_starttls(s, c); break;
    case SMTP_AUTH: smtp_auth_command(s, c); break;
    case SMTP_RSET:
        reset_transaction(s);
        smtp_reply(s, 250, "2.0.0", "Ok");
        break;
    case SMTP_NOOP: smtp_reply(s, 250, "2.0.0", "Ok"); break;
    case SMTP_QUIT: smtp_reply_close(s, 221, "2.0.0", "Bye"); break;
    case SMTP_VRFY: smtp_reply(s, 252, "2.5.2", "Cannot VRFY user, but will accept message"); break;
    case SMTP_HELP: smtp_reply(s, 214, "2.0.0", "See RFC 5321"); break;
    case SMTP_EXPN:
    case SMTP_BDAT:
        smtp_bad_command(s, 502, "5.5.1", "Command not implemented");
        break;
    default:
        smtp_bad_command(s, 500, "5.5.2", "Command unrecognized");
        break;
    }
}

static const char *parse_error_code(int r, int *code)
{
    switch (r) {
    case SMTP_E_ARGS: *code = 501; return "5.5.4";
    case SMTP_E_PARAM: *code = 555; return "5.5.4";
    case SMTP_E_PATH: *code = 553; return "5.1.3";
    default: *code = 500; return "5.5.2";
    }
}

/* One command line from the input: 1 when one was handled, 0 when a whole
 * line has not come yet. */
static int take_command(struct smtp_session *s)
{
    struct evbuffer *in = session_input(s->gs);
    char line[SMTP_LINE_MAX + 2], err[128];
    size_t len;
    if (!in)
        return 0;
    struct evbuffer_ptr eol = evbuffer_search_eol(in, NULL, &len, EVBUFFER_EOL_CRLF);
    if (eol.pos < 0) {
        if (evbuffer_get_length(in) > SMTP_LINE_MAX * 2) {
            smtp_reply_close(s, 500, "5.5.6", "Line too long");
            return 0;
        }
        return 0;
    }
    if ((size_t)eol.pos >= SMTP_LINE_MAX) {
        evbuffer_drain(in, (size_t)eol.pos + len);
        smtp_bad_command(s, 500, "5.5.6", "Line too long");
        return 1;
    }
    evbuffer_remove(in, line, (size_t)eol.pos);
    evbuffer_drain(in, len);
    struct smtp_cmd c;
    int r = smtp_cmd_parse(line, (size_t)eol.pos, &c, err, sizeof err);
    if (r < 0) {
        int code;
        const char *enh = parse_error_code(r, &code);
        err[0] = (char)toupper((unsigned char)err[0]);
        smtp_bad_command(s, code, enh, err);
        return 1;
    }
    command(s, &c);
    if (c.verb == SMTP_AUTH)
        explicit_bzero(line, sizeof line);   /* an initial response holds a password */
    return 1;
}

/* --- the message ----------------------------------------------------- */

static void date_now(char *buf, size_t len)
{
    time_t t = time(NULL);
    struct tm tm;
    localtime_r(&t, &tm);
    strftime(buf, len, "%a, %d %b %Y %H:%M:%S %z", &tm);
}

/* The "with" of the Received: line (RFC 3848). */
static const char *protocol(const struct smtp_session *s)
{
    if (!s->esmtp)
        return "SMTP";
    if (session_is_tls(s->gs))
        return s->authed ? "ESMTPSA" : "ESMTPS";
    return s->authed ? "ESMTPA" : "ESMTP";
}

/* Return-Path and Received, as RFC 5321 4.4 asks of the final delivery. */
static int make_head(struct smtp_session *s, char *head, size_t len)
{
    char date[64];
    const char *peer = session_peer(s->gs);
    date_now(date, sizeof date);
    int n = snprintf(head, len,
                     "Return-Path: <%s>\r\n"
                     "Received: from %s (%s)\r\n"
                     "\tby %s (gale) with %s id %" PRIu64 ".%u\r\n"
                     "\tfor <%s>; %s\r\n",
                     s->sender, s->helo, peer, s->srv->cfg->host, protocol(s),
                     session_id(s->gs), s->n_messages, s->first_rcpt, date);
    return n > 0 && (size_t)n < len ? n : -1;
}

static void on_delivered(int ok, const char *error, void *arg)
{
    struct delivery *d = arg;
    struct smtp_session *s = d->s;
    free(d);
    if (!s) {
        log_info("event=%s note=\"the client had gone\"", ok ? "delivered" : "delivery-failed");
        return;
    }
    s->delivery = NULL;
    log_info("id=%" PRIu64 " event=%s from=<%s> rcpts=%zu size=%" PRIu64 "%s%s%s",
             session_id(s->gs), ok ? "delivered" : "delivery-failed", s->sender, s->n_rcpt,
             s->data.size, ok ? "" : " error=\"", ok ? "" : error, ok ? "" : "\"");
    if (ok)
        smtp_reply(s, 250, "2.0.0", "Ok: queued");
    else
        smtp_reply(s, 451, "4.3.0", "Local error in processing, try again later");
    reset_transaction(s);
    smtp_resume(s);
}

void smtp_resume(struct smtp_session *s)
{
    session_pause(s->gs, 0);
    session_continue(s->gs);
    session_send(s->gs);
}

static void deliver(struct smtp_session *s)
{
    char head[2048];
    s->n_messages++;
    if (make_head(s, head, sizeof head) == -1) {
        smtp_reply(s, 554, "5.3.4", "Message too odd to deliver");
        reset_transaction(s);
        return;
    }
    struct delivery *d = malloc(sizeof *d);
    struct evbuffer *body = s->body;
    s->body = NULL;
    s->state = SS_DELIVERING;
    session_pause(s->gs, 1);
    if (d)
        d->s = s;
    s->delivery = d;
    int r = d ? maildir_deliver((const char *const *)s->dirs, s->n_dirs, head, strlen(head),
                                body, s->srv->cfg->host, on_delivered, d) : -1;
    evbuffer_free(body);             /* emptied by the writer, or untouched on failure */
    if (r == -1) {
        free(d);
        s->delivery = NULL;
        session_pause(s->gs, 0);
        smtp_reply(s, 451, "4.3.0", "Local error in processing, try again later");
        reset_transaction(s);
    }
}

/* The message's bytes: 1 once its end was read (and answered or handed
 * over), 0 while more must come. */
static int take_data(struct smtp_session *s)
{
    struct evbuffer *in = session_input(s->gs);
    char out[DATA_CHUNK];
    while (in && evbuffer_get_length(in) > 0) {
        size_t len = evbuffer_get_length(in), used = 0, made = 0;
        size_t take = len < DATA_CHUNK ? len : DATA_CHUNK;
        const char *p = (const char *)evbuffer_pullup(in, (ev_ssize_t)take);
        int r = smtp_data_feed(&s->data, p, take, &used, out, sizeof out, &made);
        evbuffer_drain(in, used);
        if (made && !s->data.too_big)
            evbuffer_add(s->body, out, made);
        if (r == -1) {
            smtp_reply_close(s, 554, "5.6.0", "Bare CR or LF in message: not accepted");
            return 1;
        }
        if (r == 1) {
            if (s->data.too_big) {
                smtp_reply(s, 552, "5.3.4", "Message size exceeds fixed limit");
                reset_transaction(s);
            } else {
                deliver(s);
            }
            return 1;
        }
        if (used == 0 && made == 0)
            break;
    }
    return 0;
}

static void process(struct smtp_session *s)
{
    while (!session_finishing(s->gs)) {
        if (s->state == SS_DELIVERING || s->state == SS_TLS || s->state == SS_AUTH_CHECK)
            return;
        int r = s->state == SS_DATA ? take_data(s)
              : s->state >= SS_AUTH_PLAIN ? smtp_auth_take(s) : take_command(s);
        if (!r)
            return;
    }
}

/* --- the session's callbacks ----------------------------------------- */

static int on_open(struct gale_session *gs)
{
    struct smtp_session *s = session_data(gs);
    char text[MAIL_HOST_MAX + 16];
    s->gs = gs;
    s->srv = session_server(gs);
    snprintf(text, sizeof text, "%s ESMTP gale", s->srv->cfg->host);
    smtp_reply(s, 220, NULL, text);
    session_timer(gs, SESSION_T_IDLE, s->srv->cfg->timeout);
    return 0;
}

static void on_input(struct gale_session *gs)
{
    struct smtp_session *s = session_data(gs);
    session_timer(gs, SESSION_T_IDLE, s->srv->cfg->timeout);
    process(s);
}

/* STARTTLS's 220 is out: the handshake starts, and everything said before
 * it is forgotten (RFC 3207 4.2). */
static void on_drained(struct gale_session *gs)
{
    struct smtp_session *s = session_data(gs);
    if (s->state != SS_TLS)
        return;
    reset_transaction(s);
    s->state = SS_START;
    s->esmtp = 0;
    s->authed = 0;
    s->helo[0] = '\0';
    if (session_start_tls(gs, s->srv->tls) == -1)
        session_abort(gs, "starttls failed");
}

static void on_timeout(struct gale_session *gs, enum session_timer why)
{
    struct smtp_session *s = session_data(gs);
    (void)why;
    smtp_reply_close(s, 421, "4.4.2", "Timeout, closing connection");
}

static void on_stop(struct gale_session *gs)
{
    struct smtp_session *s = session_data(gs);
    if (s->state == SS_DELIVERING)
        return;                      /* its 250 comes first */
    smtp_reply_close(s, 421, "4.3.2", "Shutting down");
}

static void on_close(struct gale_session *gs, const char *why)
{
    struct smtp_session *s = session_data(gs);
    (void)why;
    if (s->delivery)
        s->delivery->s = NULL;       /* the writer's callback finds no session */
    smtp_auth_close(s);
    reset_transaction(s);
}

static const struct session_proto smtp_proto = {
    .name = "smtp",
    .data_size = sizeof(struct smtp_session),
    .on_open = on_open,
    .on_input = on_input,
    .on_drained = on_drained,
    .on_timeout = on_timeout,
    .on_stop = on_stop,
    .on_close = on_close,
};

/* --- the service ------------------------------------------------------ */

struct smtp_service *smtp_service_new(const struct mail_cfg *cfg, struct ssl_ctx_st *tls,
                                      int submission)
{
    struct smtp_service *srv = calloc(1, sizeof *srv);
    if (!srv)
        return NULL;
    srv->cfg = cfg;
    srv->tls = tls;
    srv->submission = submission;
    if (!(srv->svc = session_service_new(&smtp_proto, srv))) {
        free(srv);
        return NULL;
    }
    return srv;
}

int smtp_service_listen(struct smtp_service *srv, const char *endpoint, char *err,
                        size_t errlen)
{
    return session_service_listen(srv->svc, endpoint, err, errlen);
}

void smtp_service_stop(struct smtp_service *srv)
{
    session_service_stop(srv->svc);
}

void smtp_service_free(struct smtp_service *srv)
{
    if (!srv)
        return;
    session_service_free(srv->svc);
    free(srv);
}
