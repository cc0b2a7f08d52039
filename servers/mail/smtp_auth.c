/*
 * SMTP AUTH (RFC 4954) with PLAIN (RFC 4616) and LOGIN, on a session of
 * smtp.c.  Passwords go only over TLS unless --allow-plaintext-auth says
 * otherwise.  While auth.c checks a password the session reads nothing;
 * a failure comes back after auth.c's delay, and counts as a bad command.
 */
#include "mail.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <event2/buffer.h>

#include "auth.h"
#include "gale_session.h"
#include "log.h"
#include "smtp_int.h"

/* The longest response worth decoding: PLAIN's three fields. */
#define RESPONSE_MAX SASL_PLAIN_B64_MAX
#define LOG_USER_MAX 100

int smtp_auth_offered(const struct smtp_session *s)
{
    return session_is_tls(s->gs) || s->srv->cfg->allow_plaintext_auth;
}

/* A login as the client sent it, safe inside a log line's quotes. */
static void log_text(const char *in, char *out, size_t room)
{
    size_t o = 0;
    for (; *in && o + 1 < room; in++)
        out[o++] = *in >= 0x20 && *in < 0x7f && *in != '"' && *in != '\\' ? *in : '?';
    out[o] = '\0';
}

static void auth_done(int ok, void *arg)
{
    struct smtp_session *s = arg;
    const struct mail_cfg *cfg = s->srv->cfg;
    char shown[LOG_USER_MAX + 1], dir[4096], login[sizeof s->auth_user];
    s->auth_req = NULL;
    s->state = SS_READY;
    if (ok && mail_auth_maildir(cfg->auth, s->auth_user, dir, sizeof dir, login,
                                sizeof login) == 0)
        snprintf(s->auth_user, sizeof s->auth_user, "%s", login);
    log_text(s->auth_user, shown, sizeof shown);
    log_info("id=%" PRIu64 " event=%s mech=%s user=\"%s\"", session_id(s->gs),
             ok ? "auth" : "auth-failed", s->mech, shown);
    if (ok) {
        s->authed = 1;
        smtp_reply(s, 235, "2.7.0", "Authentication successful");
    } else {
        s->auth_user[0] = '\0';
        smtp_bad_command(s, 535, "5.7.8", "Authentication credentials invalid");
    }
    smtp_resume(s);
}

/* The session reads nothing until auth.c answers. */
static void check(struct smtp_session *s, const char *authzid, const char *user,
                  const char *pass)
{
    socklen_t len;
    const struct sockaddr *peer = session_peer_addr(s->gs, &len);
    char shown[LOG_USER_MAX + 1];
    snprintf(s->auth_user, sizeof s->auth_user, "%s", user);
    if (authzid[0] && strcmp(authzid, user) != 0) {
        log_text(user, shown, sizeof shown);
        log_info("id=%" PRIu64 " event=auth-failed mech=%s user=\"%s\" why=authzid",
                 session_id(s->gs), s->mech, shown);
        s->state = SS_READY;         /* acting as another user is not offered */
        smtp_bad_command(s, 535, "5.7.8", "Authentication credentials invalid");
        return;
    }
    s->state = SS_AUTH_CHECK;
    session_pause(s->gs, 1);
    s->auth_req = mail_auth_check(s->srv->cfg->auth, user, pass, peer, len, auth_done, s);
    if (!s->auth_req) {
        s->state = SS_READY;
        session_pause(s->gs, 0);
        smtp_reply(s, 454, "4.7.0", "Temporary authentication failure");
    }
}

static void take_plain(struct smtp_session *s, const char *b64, size_t len)
{
    char authzid[SASL_PLAIN_FIELD_MAX + 1], user[SASL_PLAIN_FIELD_MAX + 1];
    char pass[SASL_PLAIN_FIELD_MAX + 1];
    if (sasl_plain_decode(b64, len, authzid, sizeof authzid, user, sizeof user, pass,
                          sizeof pass) == -1) {
        s->state = SS_READY;
        smtp_bad_command(s, 501, "5.5.2", "Cannot decode response");
    } else {
        check(s, authzid, user, pass);
    }
    explicit_bzero(pass, sizeof pass);
}

/* LOGIN's user name: the password is asked for next. */
static void take_login_user(struct smtp_session *s, const char *b64, size_t len)
{
    if (sasl_login_decode(b64, len, s->auth_user, sizeof s->auth_user) == -1) {
        s->state = SS_READY;
        smtp_bad_command(s, 501, "5.5.2", "Cannot decode response");
        return;
    }
    s->state = SS_AUTH_PASS;
    smtp_reply(s, 334, NULL, SASL_LOGIN_PASS_PROMPT);
}

static void take_login_pass(struct smtp_session *s, const char *b64, size_t len)
{
    char pass[SASL_PLAIN_FIELD_MAX + 1], user[sizeof s->auth_user];
    memcpy(user, s->auth_user, sizeof user);
    if (sasl_login_decode(b64, len, pass, sizeof pass) == -1) {
        s->state = SS_READY;
        smtp_bad_command(s, 501, "5.5.2", "Cannot decode response");
    } else {
        check(s, "", user, pass);
    }
    explicit_bzero(pass, sizeof pass);
}

void smtp_auth_command(struct smtp_session *s, const struct smtp_cmd *c)
{
    if (s->state == SS_START || !s->esmtp) {
        smtp_reply(s, 503, "5.5.1", "Say EHLO first");
        return;
    }
    if (s->authed || s->state != SS_READY) {
        smtp_reply(s, 503, "5.5.1", s->authed ? "Already authenticated"
                                              : "AUTH not allowed in a mail transaction");
        return;
    }
    if (!smtp_auth_offered(s)) {
        smtp_reply(s, 538, "5.7.11", "Encryption required for requested authentication mechanism");
        return;
    }
    int plain = strcmp(c->mech, "PLAIN") == 0;
    if (!plain && strcmp(c->mech, "LOGIN") != 0) {
        smtp_bad_command(s, 504, "5.5.4", "Unrecognized authentication type");
        return;
    }
    snprintf(s->mech, sizeof s->mech, "%s", c->mech);
    s->auth_user[0] = '\0';
    s->state = plain ? SS_AUTH_PLAIN : SS_AUTH_USER;
    if (c->initial && plain)
        take_plain(s, c->initial, c->initial_len);
    else if (c->initial)
        take_login_user(s, c->initial, c->initial_len);
    else
        smtp_reply(s, 334, NULL, plain ? "" : SASL_LOGIN_USER_PROMPT);
}

/* The response in line (len octets, its CRLF taken off). */
static void response(struct smtp_session *s, const char *line, size_t len)
{
    if (sasl_is_cancel(line, len)) {
        s->state = SS_READY;
        smtp_reply(s, 501, "5.0.0", "Authentication cancelled");
    } else if (s->state == SS_AUTH_PLAIN) {
        take_plain(s, line, len);
    } else if (s->state == SS_AUTH_USER) {
        take_login_user(s, line, len);
    } else {
        take_login_pass(s, line, len);
    }
}

int smtp_auth_take(struct smtp_session *s)
{
    struct evbuffer *in = session_input(s->gs);
    char line[RESPONSE_MAX + 1];
    size_t eol_len;
    if (!in)
        return 0;
    struct evbuffer_ptr eol = evbuffer_search_eol(in, NULL, &eol_len, EVBUFFER_EOL_CRLF);
    if (eol.pos < 0) {
        if (evbuffer_get_length(in) > SMTP_AUTH_LINE_MAX)
            smtp_reply_close(s, 500, "5.5.6", "Authentication exchange line is too long");
        return 0;
    }
    size_t len = (size_t)eol.pos;
    if (len > RESPONSE_MAX) {
        /* Longer than any answer we could decode: no need to look at it. */
        evbuffer_drain(in, len + eol_len);
        s->state = SS_READY;
        smtp_bad_command(s, len > SMTP_AUTH_LINE_MAX ? 500 : 501, "5.5.2",
                         "Cannot decode response");
        return 1;
    }
    evbuffer_remove(in, line, len);
    evbuffer_drain(in, eol_len);
    line[len] = '\0';
    response(s, line, len);
    explicit_bzero(line, sizeof line);
    return 1;
}

void smtp_auth_close(struct smtp_session *s)
{
    mail_auth_cancel(s->auth_req);
    s->auth_req = NULL;
}
