/*
 * What the two files of gale mail's POP3 sessions share: pop3.c (the
 * session, its commands and the TRANSACTION state) and pop3_login.c (the
 * AUTHORIZATION state).  Nothing else includes it.
 */
#ifndef GALE_MAIL_POP3_INT_H
#define GALE_MAIL_POP3_INT_H

#include <stddef.h>

#include "mail.h"
#include "pop3_box.h"
#include "pop3_cmd.h"
#include "pop3_stuff.h"
#include "sasl.h"

struct gale_session;
struct mail_auth_req;

#define LOGIN_MAX (MAIL_USER_MAX + MAIL_HOST_MAX + 2)

struct pop3_service {
    const struct mail_cfg *cfg;
    struct ssl_ctx_st *tls;
    struct mail_auth *auth;
    struct pop3_locks locks;
    struct session_service *svc;
};

enum pop3_state {
    PS_AUTH,         /* AUTHORIZATION */
    PS_SASL,         /* "+ " sent to AUTH PLAIN: the response line comes next */
    PS_CHECKING,     /* the password is being checked */
    PS_OPENING,      /* the maildrop is being listed */
    PS_TRANS,        /* TRANSACTION */
    PS_SENDING,      /* a multi-line reply: LIST, UIDL, RETR, TOP */
    PS_UPDATE,       /* QUIT: the marked messages are being removed */
    PS_TLS,          /* +OK to STLS sent; the handshake follows */
};

struct pop3_session {
    struct gale_session *gs;
    struct pop3_service *srv;
    enum pop3_state state;
    unsigned bad;
    unsigned char skipping;          /* an over-long line is thrown away up to its end */
    unsigned char stopping;          /* shutdown: close once the work in hand is done */
    unsigned char has_user;
    unsigned char locked;
    unsigned char started;           /* RETR, TOP: the +OK has gone */
    unsigned char read_waits;        /* the next chunk waits for the output to drain */
    char user[SASL_PLAIN_FIELD_MAX + 1];   /* as USER or AUTH gave it */
    char login[LOGIN_MAX];           /* canonical, once logged in: the lock's key */
    struct mail_auth_req *auth;
    struct pop3_box *box;
    enum pop3_verb sending;
    unsigned long msg;               /* RETR, TOP: its number; LIST, UIDL: the next one */
    struct pop3_stuff stuff;
};

/* A reply line; its CRLF is added. */
__attribute__((format(printf, 2, 3)))
void pop3_reply(struct pop3_session *s, const char *fmt, ...);
/* The last reply: the session ends once it is sent. */
void pop3_reply_close(struct pop3_session *s, const char *text);
/* "-ERR why", counted: too many end the session. */
void pop3_bad(struct pop3_session *s, const char *why);
/* After an answer from elsewhere: its reply goes, and the commands that
 * waited are taken on the next turn of the loop. */
void pop3_resume(struct pop3_session *s);

/* pop3_login.c: a command in AUTHORIZATION, the response line to AUTH
 * PLAIN's "+ ", and CAPA (in either state). */
void pop3_login_command(struct pop3_session *s, const struct pop3_cmd *c);
void pop3_login_response(struct pop3_session *s, const char *b64, size_t len);
void pop3_capa(struct pop3_session *s);

#endif
