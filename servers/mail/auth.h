/*
 * gale mail's users and their passwords, for SMTP AUTH and POP3 logins.
 *
 * Users come from -u USER=PASS (the password is hashed with crypt(3) at
 * start and the clear text wiped from memory) and from --passwd-file
 * (Dovecot's format: "user[@domain]:HASH" lines, crypt(3) hashes such as
 * yescrypt "$y$" and sha512-crypt "$6$"; read again on SIGHUP).  gale
 * never keeps a password in clear.
 *
 * A check runs crypt(3), deliberately slow, on the core's worker thread,
 * so the reactor never waits for it.  Failed logins from one client
 * address are answered later and later (the delay grows with each
 * failure, as Dovecot's), which slows guessing without a lock-out a
 * stranger could cause.
 */
#ifndef GALE_MAIL_AUTH_H
#define GALE_MAIL_AUTH_H

#include <stddef.h>
#include <sys/socket.h>

struct mail_cfg;
struct mail_auth;
struct mail_auth_req;

/* From the options (after mail_check).  NULL and err on failure (an
 * unreadable or malformed --passwd-file, naming FILE:LINE). */
struct mail_auth *mail_auth_new(struct mail_cfg *cfg, char *err, size_t errlen);
/* SIGHUP: the passwd file again; on failure the old users stay. */
int mail_auth_reload(struct mail_auth *a, char *err, size_t errlen);
void mail_auth_free(struct mail_auth *a);

/* ok is 1 when user and password match; user is the login as given
 * ("alice@example.org", or "alice" for the default domain, or the first
 * domain when there is only one).  done runs on the reactor, once, unless
 * the request is cancelled first.  NULL when out of memory, or when too
 * many checks wait already (the thread also writes the mail): the client
 * is told to try again later. */
typedef void (*mail_auth_done)(int ok, void *arg);
struct mail_auth_req *mail_auth_check(struct mail_auth *a, const char *user, const char *pass,
                                      const struct sockaddr *peer, socklen_t peer_len,
                                      mail_auth_done done, void *arg);
void mail_auth_cancel(struct mail_auth_req *r);

/* The Maildir of a user who has logged in, and the canonical login
 * ("alice@example.org") for log lines and mailbox locks.  0, or -1 for
 * an unknown user. */
int mail_auth_maildir(const struct mail_auth *a, const char *user, char *dir, size_t dirlen,
                      char *login, size_t loginlen);

#endif
