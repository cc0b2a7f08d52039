/*
 * What auth.c (the users) and auth_check.c (the password checks) share
 * and nobody else needs.
 */
#ifndef GALE_MAIL_AUTH_INT_H
#define GALE_MAIL_AUTH_INT_H

#include <crypt.h>
#include <stddef.h>

struct mail_auth_req;
struct mail_cfg;
struct mail_domain;

struct auth_user {
    char *login;                     /* "alice@example.org", lowercase */
    char *hash;
    const struct mail_domain *dom;
    unsigned line;                   /* in the passwd file; 0 for -u */
};

struct user_set {
    struct auth_user *v;             /* sorted by login */
    size_t n, cap;
};

struct mail_auth {
    struct mail_cfg *cfg;
    struct user_set given;           /* -u, hashed at start */
    struct user_set file;            /* --passwd-file */
    char dummy[CRYPT_OUTPUT_SIZE];   /* what an unknown user's password is checked against */
    struct auth_delay *delay;
    struct mail_auth_req *pending;   /* running, cancelled or not, or waiting out a delay */
    unsigned running;                /* on the helper thread */
    struct gale_instance *in;
};

/* The user a login names ("alice", "Alice@Example.org"), or NULL. */
const struct auth_user *auth_find_user(const struct mail_auth *a, const char *user);

/* mail_auth_free: the checks waiting out a delay go now, the running
 * ones once the helper thread is done with them; none answers. */
void auth_checks_drop(struct mail_auth *a);

#endif
