/*
 * What smtp.c (the session) and smtp_auth.c (its AUTH exchange) share
 * and nobody else needs.
 */
#ifndef GALE_MAIL_SMTP_INT_H
#define GALE_MAIL_SMTP_INT_H

#include <stddef.h>

#include "sasl.h"
#include "smtp_cmd.h"
#include "smtp_data.h"

struct delivery;
struct evbuffer;
struct gale_session;
struct mail_auth_req;
struct mail_cfg;
struct session_service;
struct ssl_ctx_st;

enum smtp_state {
    SS_START,        /* before HELO or EHLO */
    SS_READY,        /* greeted, no transaction */
    SS_MAIL,         /* MAIL given */
    SS_DATA,         /* reading the message */
    SS_DELIVERING,   /* written by the Maildir writer; nothing read meanwhile */
    SS_TLS,          /* 220 to STARTTLS sent; the handshake follows */
    SS_AUTH_PLAIN,   /* 334 to AUTH PLAIN sent; its response follows */
    SS_AUTH_USER,    /* AUTH LOGIN asked for the user name */
    SS_AUTH_PASS,    /* AUTH LOGIN asked for the password */
    SS_AUTH_CHECK,   /* the password is being checked; nothing read meanwhile */
};

struct smtp_service {
    const struct mail_cfg *cfg;
    struct ssl_ctx_st *tls;
    struct session_service *svc;
    int submission;                  /* RFC 6409: AUTH before MAIL */
};

struct smtp_session {
    struct gale_session *gs;
    struct smtp_service *srv;
    enum smtp_state state;
    int esmtp;                       /* EHLO: enhanced status codes */
    unsigned bad;
    char helo[SMTP_DOMAIN_MAX + 1];
    char *sender;                    /* "" for the null sender */
    char **dirs;                     /* the Maildirs of the accepted recipients */
    size_t n_dirs, n_rcpt;
    char *first_rcpt;                /* for the Received: line */
    struct smtp_data data;
    struct evbuffer *body;
    struct delivery *delivery;       /* the message the writer has */
    unsigned n_messages;
    /* AUTH (RFC 4954) */
    int authed;
    char mech[SMTP_MECH_MAX + 1];
    char auth_user[SMTP_LOCAL_MAX + SMTP_DOMAIN_MAX + 2];   /* the user name, then the login */
    struct mail_auth_req *auth_req;  /* the check running */
};

/* "250 2.1.0 Ok": the enhanced code only after EHLO (RFC 2034). */
void smtp_reply(struct smtp_session *s, int code, const char *enhanced, const char *text);
/* The reply, then the session ends. */
void smtp_reply_close(struct smtp_session *s, int code, const char *enhanced, const char *text);
/* A reply to a client's mistake: too many of them end the session. */
void smtp_bad_command(struct smtp_session *s, int code, const char *enhanced, const char *text);
/* Commands again once a paused session (a delivery, a check) is done. */
void smtp_resume(struct smtp_session *s);

/* smtp_auth.c: whether EHLO offers AUTH (over TLS, or with
 * --allow-plaintext-auth); the AUTH command; one response of the
 * exchange from the input (1 when one was taken, 0 while a line has not
 * come); the session's end, which cancels a check running. */
int smtp_auth_offered(const struct smtp_session *s);
void smtp_auth_command(struct smtp_session *s, const struct smtp_cmd *c);
int smtp_auth_take(struct smtp_session *s);
void smtp_auth_close(struct smtp_session *s);

#endif
