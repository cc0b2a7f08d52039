/*
 * gale mail: what its files share.  The options and the domains they
 * name (mail.c), the SMTP service (smtp.c), the POP3 one (pop3.c) and
 * the users who log in (auth.h).
 */
#ifndef GALE_MAIL_H
#define GALE_MAIL_H

#include <stddef.h>
#include <stdint.h>

#include "opt.h"

struct mail_auth;
struct session_service;
struct ssl_ctx_st;

#define MAIL_USER_MAX 64             /* a local part we deliver to */
#define MAIL_HOST_MAX 256

struct mail_user {
    char name[MAIL_USER_MAX + 1];    /* lowercase */
};

struct mail_domain {
    char name[MAIL_HOST_MAX];        /* lowercase */
    const char *path;                /* one Maildir per user below it */
    struct mail_user *users;         /* from -u */
    size_t n_users;
};

struct mail_server;

struct mail_cfg {
    struct opt_list smtp;
    struct opt_list submission;      /* RFC 6409: AUTH before MAIL */
    int esmtp;
    const char *hostname;
    struct opt_list domains;         /* -d DOMAIN=PATH and -u USER=PASS, in order */
    int default_domain;              /* -D: the last -d is the default */
    int bounce_to_postmaster;
    const char *passwd_file;
    int allow_plaintext_auth;        /* AUTH, USER/PASS offered without TLS */
    int disable_anonymous;           /* AUTH before MAIL on every listener */
    const char *tls_cert, *tls_key;
    uint64_t max_message_size;
    long max_recipients;
    double timeout;
    struct opt_list pop3;
    int no_pop3, no_smtp;
    double pop3_timeout;
    /* made by check */
    struct mail_domain *dom;
    size_t n_dom;
    struct mail_domain *dflt;
    char host[MAIL_HOST_MAX];
    /* made by start */
    struct mail_server *srv;
    struct mail_auth *auth;
};

/* What a recipient of a served domain resolves to: a Maildir path in
 * out, 0; -1 for an unknown user; -2 for a domain not served. */
int mail_route(const struct mail_cfg *cfg, const char *local, const char *domain, char *out,
               size_t outlen);

/* The SMTP service; tls (may be NULL) for STARTTLS; submission for a
 * service whose clients must log in before MAIL.  NULL when out of
 * memory. */
struct smtp_service;
struct smtp_service *smtp_service_new(const struct mail_cfg *cfg, struct ssl_ctx_st *tls,
                                      int submission);
int smtp_service_listen(struct smtp_service *svc, const char *endpoint, char *err,
                        size_t errlen);
void smtp_service_stop(struct smtp_service *svc);
void smtp_service_free(struct smtp_service *svc);

/* The POP3 service; tls (may be NULL) for STLS; logins checked by auth.
 * NULL when out of memory. */
struct pop3_service;
struct pop3_service *pop3_service_new(const struct mail_cfg *cfg, struct ssl_ctx_st *tls,
                                      struct mail_auth *auth);
int pop3_service_listen(struct pop3_service *svc, const char *endpoint, char *err,
                        size_t errlen);
void pop3_service_stop(struct pop3_service *svc);
void pop3_service_free(struct pop3_service *svc);

#endif
