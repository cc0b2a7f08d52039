/*
 * Process set-up around a server: detaching with a readiness report,
 * pidfiles held by a lock, chroot and dropping privileges.
 */
#ifndef GALE_DAEMON_H
#define GALE_DAEMON_H

#include <stddef.h>

/* Fork; the parent waits until daemon_ready() or the child's failure and
 * exits with the child's status.  Returns in the child only. */
int daemon_detach(char *err, size_t errlen);
/* In the child: tell the waiting parent the server is up, and let go of
 * the terminal. */
void daemon_ready(void);

/* Take FILE with an exclusive lock and write our pid; a running owner is
 * an error naming its pid, a stale file is taken over. */
int pidfile_take(const char *path, char *err, size_t errlen);
void pidfile_release(void);

/* Resolve names now (before chroot), apply after. */
int privileges_prepare(const char *user, const char *group, char *err, size_t errlen);
int privileges_drop(char *err, size_t errlen);    /* setgroups, setgid, setuid */

#endif
