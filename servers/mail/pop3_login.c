/*
 * gale mail's POP3 AUTHORIZATION state (RFC 1939 4 and 7): USER and
 * PASS, AUTH PLAIN (RFC 5034, RFC 4616), STLS (RFC 2595) and CAPA (RFC
 * 2449).  A password goes only over TLS unless --allow-plaintext-auth;
 * it is checked by auth.h off the reactor, and the maildrop is then
 * locked for this session and listed.
 */
#include "pop3_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <event2/buffer.h>

#include "auth.h"
#include "gale_session.h"
#include "log.h"

#define DIR_MAX 4096                 /* a user's Maildir path */

/* A name the client chose, fit for a log line. */
static const char *loggable(const char *in, char *buf, size_t len)
{
    size_t i = 0;
    for (; in[i] && i + 1 < len; i++)
        buf[i] = in[i] > 0x20 && in[i] < 0x7f && in[i] != '"' ? in[i] : '?';
    buf[i] = '\0';
    return buf;
}

static int plaintext_ok(const struct pop3_session *s)
{
    return s->srv->cfg->allow_plaintext_auth || session_is_tls(s->gs);
}

static void refuse_plaintext(struct pop3_session *s)
{
    pop3_reply(s, "-ERR [AUTH] Plaintext authentication disallowed on non-secure connections");
}

/* --- logging in ------------------------------------------------------ */

/* Back to AUTHORIZATION; a wrong password counts as a bad command. */
static void login_failed(struct pop3_session *s, const char *text, const char *why)
{
    char name[80];
    log_info("id=%" PRIu64 " event=login-failed user=\"%s\" why=%s", session_id(s->gs),
             loggable(s->user, name, sizeof name), why);
    if (s->locked)
        pop3_lock_release(&s->srv->locks, s->login);
    s->locked = 0;
    pop3_box_free(s->box);
    s->box = NULL;
    s->has_user = 0;
    s->state = PS_AUTH;
    if (strncmp(text, "[AUTH]", 6) == 0)
        pop3_bad(s, text);
    else
        pop3_reply(s, "-ERR %s", text);
}

static void on_scanned(void *arg, int ok, const char *err)
{
    struct pop3_session *s = arg;
    if (!ok) {
        log_warnx("id=%" PRIu64 " event=maildrop-failed user=%s error=\"%s\"",
                  session_id(s->gs), s->login, err);
        login_failed(s, "[SYS/TEMP] Cannot open the maildrop", "maildrop");
    } else {
        s->state = PS_TRANS;
        log_info("id=%" PRIu64 " event=login user=%s messages=%lu", session_id(s->gs),
                 s->login, pop3_box_count(s->box));
        pop3_reply(s, "+OK Logged in: %lu messages (%" PRIu64 " octets)",
                   pop3_box_live(s->box), pop3_box_live_size(s->box));
    }
    pop3_resume(s);
}

/* The password is right: the maildrop is locked for this session, then
 * listed. */
static void open_maildrop(struct pop3_session *s)
{
    char dir[DIR_MAX];
    if (mail_auth_maildir(s->srv->auth, s->user, dir, sizeof dir, s->login,
                          sizeof s->login) == -1) {
        login_failed(s, "[AUTH] Authentication failed", "no-maildir");
        return;
    }
    int r = pop3_lock_take(&s->srv->locks, s->login);
    if (r == -1) {
        login_failed(s, "[IN-USE] Mailbox is locked by another POP3 session", "in-use");
        return;
    }
    s->locked = r == 0;
    s->state = PS_OPENING;
    if (r == -2 || !(s->box = pop3_box_new(dir)) ||
        pop3_box_scan(s->box, on_scanned, s) == -1)
        login_failed(s, "[SYS/TEMP] Out of memory", "memory");
}

static void on_checked(int ok, void *arg)
{
    struct pop3_session *s = arg;
    s->auth = NULL;
    if (ok)
        open_maildrop(s);
    else
        login_failed(s, "[AUTH] Authentication failed", "password");
    pop3_resume(s);
}

static void check_login(struct pop3_session *s, const char *pass)
{
    socklen_t len;
    const struct sockaddr *peer = session_peer_addr(s->gs, &len);
    s->state = PS_CHECKING;
    struct mail_auth_req *r = mail_auth_check(s->srv->auth, s->user, pass, peer, len,
                                              on_checked, s);
    if (!r) {
        s->state = PS_AUTH;
        pop3_reply(s, "-ERR [SYS/TEMP] Too many logins at once, try again");
    } else if (s->state == PS_CHECKING) {
        s->auth = r;                 /* not answered at once */
    }
}

static void do_user(struct pop3_session *s, const struct pop3_cmd *c)
{
    if (!plaintext_ok(s)) {
        refuse_plaintext(s);
        return;
    }
    snprintf(s->user, sizeof s->user, "%.*s", (int)c->arg_len, c->arg);
    s->has_user = 1;
    pop3_reply(s, "+OK");
}

static void do_pass(struct pop3_session *s, const struct pop3_cmd *c)
{
    char pass[POP3_CMD_MAX + 1];
    if (!plaintext_ok(s)) {
        refuse_plaintext(s);
        return;
    }
    if (!s->has_user) {
        pop3_bad(s, "No username given");
        return;
    }
    snprintf(pass, sizeof pass, "%.*s", (int)c->arg_len, c->arg);
    check_login(s, pass);
    explicit_bzero(pass, sizeof pass);
}

/* The PLAIN message (RFC 4616): no authorization identity but the user's
 * own. */
void pop3_login_response(struct pop3_session *s, const char *b64, size_t len)
{
    char authz[SASL_PLAIN_FIELD_MAX + 1], user[SASL_PLAIN_FIELD_MAX + 1];
    char pass[SASL_PLAIN_FIELD_MAX + 1];
    if (sasl_is_cancel(b64, len)) {
        pop3_reply(s, "-ERR Authentication cancelled");
        return;
    }
    if (sasl_plain_decode(b64, len, authz, sizeof authz, user, sizeof user, pass,
                          sizeof pass) == -1) {
        pop3_bad(s, "Invalid AUTH PLAIN response");
        return;
    }
    snprintf(s->user, sizeof s->user, "%s", user);
    if (authz[0] && strcmp(authz, user) != 0)
        login_failed(s, "[AUTH] Authentication failed", "authzid");
    else
        check_login(s, pass);
    explicit_bzero(pass, sizeof pass);
}

static void do_auth(struct pop3_session *s, const struct pop3_cmd *c)
{
    if (!c->mech[0]) {
        pop3_reply(s, "+OK\r\nPLAIN\r\n.");
        return;
    }
    if (strcmp(c->mech, "PLAIN") != 0) {
        pop3_bad(s, "Unsupported authentication mechanism");
        return;
    }
    if (!plaintext_ok(s)) {
        refuse_plaintext(s);
        return;
    }
    if (c->initial) {
        pop3_login_response(s, c->initial, c->initial_len);
        return;
    }
    s->state = PS_SASL;
    pop3_reply(s, "+ ");
}

static void do_stls(struct pop3_session *s)
{
    if (!s->srv->tls) {
        pop3_bad(s, "STLS not offered");
        return;
    }
    if (session_is_tls(s->gs)) {
        pop3_bad(s, "Already in TLS");
        return;
    }
    pop3_reply(s, "+OK Begin TLS negotiation");
    s->state = PS_TLS;
    session_notify_drained(s->gs);
}

void pop3_capa(struct pop3_session *s)
{
    struct evbuffer *out = session_output(s->gs);
    if (!out)
        return;
    evbuffer_add_printf(out, "+OK Capability list follows\r\nCAPA\r\nTOP\r\nUIDL\r\n"
                        "RESP-CODES\r\nPIPELINING\r\nAUTH-RESP-CODE\r\n");
    if (s->state == PS_AUTH && plaintext_ok(s))
        evbuffer_add_printf(out, "USER\r\nSASL PLAIN\r\n");
    if (s->state == PS_AUTH && s->srv->tls && !session_is_tls(s->gs))
        evbuffer_add_printf(out, "STLS\r\n");
    evbuffer_add_printf(out, "IMPLEMENTATION gale\r\n.\r\n");
}


void pop3_login_command(struct pop3_session *s, const struct pop3_cmd *c)
{
    switch (c->verb) {
    case POP3_USER: do_user(s, c); break;
    case POP3_PASS: do_pass(s, c); break;
    case POP3_AUTH: do_auth(s, c); break;
    case POP3_STLS: do_stls(s); break;
    case POP3_CAPA: pop3_capa(s); break;
    case POP3_QUIT: pop3_reply_close(s, "+OK Logging out"); break;
    case POP3_APOP: pop3_bad(s, "APOP not supported"); break;
    default: pop3_bad(s, "Log in first"); break;
    }
}