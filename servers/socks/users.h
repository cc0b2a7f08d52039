/*
 * Who may use the proxy: --user USER:PASSWORD and --users FILE lines of
 * "user:password" or "user:HASH", HASH a crypt(3) hash (it starts with
 * '$', as "$y$...", "$6$...", "$2b$...").  Hashes are checked off the
 * reactor, since a modern one takes tens of milliseconds on purpose.
 */
#ifndef GALE_SOCKS_USERS_H
#define GALE_SOCKS_USERS_H

#include <stddef.h>

struct opt_list;
struct socks_user;

/* One instance's users, built at startup (and by a reload), read by the
 * helper thread while a check runs. */
struct socks_users {
    struct socks_user *v;
    size_t n;
};

/* Startup: -1 and err naming the file and line when one is malformed. */
int users_load(struct socks_users *t, const struct opt_list *inline_users, const char *file,
               char *err, size_t errlen);
/* SIGHUP: the same sources read again; on error the old users stay and
 * err says why. */
int users_reload(struct socks_users *t, const struct opt_list *inline_users, const char *file,
                 char *err, size_t errlen);
void users_free(struct socks_users *t);
int users_configured(const struct socks_users *t);   /* any user at all */

struct users_check;
/* cb runs later from the reactor (never inside users_verify) with ok 1
 * when user and password match.  NULL only when out of memory. */
typedef void (*users_verify_cb)(int ok, void *arg);
struct users_check *users_verify(const struct socks_users *t, const char *user, size_t ulen,
                                 const char *pass, size_t plen, users_verify_cb cb, void *arg);
/* The callback will not be called. */
void users_cancel(struct users_check *c);

#endif
