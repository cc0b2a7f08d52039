/*
 * One POP3 session's maildrop (RFC 1939 5 and 6): the messages listed at
 * login, numbered from 1 and fixed for the session, the ones marked by
 * DELE, and the file work behind them (the listing, RETR's reading, the
 * removals at QUIT), done on the core's worker thread so the reactor
 * never waits on the disk.  At most one such job runs per maildrop; the
 * protocol waits for its answer before the next command.
 *
 * Also the locks that keep a maildrop to one session at a time.
 */
#ifndef GALE_MAIL_POP3_BOX_H
#define GALE_MAIL_POP3_BOX_H

#include <stddef.h>
#include <stdint.h>

#include "maildir.h"

#define POP3_BOX_CHUNK 32768         /* bytes of a message read at a time */

struct pop3_box;

/* A job's answer, on the reactor: ok, or an error's text (never a path). */
typedef void (*pop3_box_done)(void *arg, int ok, const char *err);
/* A piece of the message being read: n bytes at p; n 0 at its end; err
 * when it cannot be read (p NULL). */
typedef void (*pop3_box_chunk)(void *arg, const char *p, size_t n, const char *err);

/* NULL when out of memory. */
struct pop3_box *pop3_box_new(const char *dir);
/* A job still running finishes on its own; its answer is not given. */
void pop3_box_free(struct pop3_box *b);

/* Lists the Maildir: -1 when the job cannot be queued. */
int pop3_box_scan(struct pop3_box *b, pop3_box_done done, void *arg);

/* Message numbers run from 1 to count, the deleted ones among them. */
unsigned long pop3_box_count(const struct pop3_box *b);
/* The messages not marked, and their octets. */
unsigned long pop3_box_live(const struct pop3_box *b);
uint64_t pop3_box_live_size(const struct pop3_box *b);
unsigned long pop3_box_marked(const struct pop3_box *b);
/* Message n, or NULL when there is none or it is marked deleted (*marked
 * set to 1 then, when marked is not NULL). */
const struct maildir_entry *pop3_box_get(const struct pop3_box *b, unsigned long n,
                                         int *marked);
/* DELE: 0, or -1 for no such message or one already marked. */
int pop3_box_mark(struct pop3_box *b, unsigned long n);
/* RSET. */
void pop3_box_unmark(struct pop3_box *b);

/* QUIT: removes the marked messages.  The answer is not ok when one of
 * them could not be removed; -1 when the job cannot be queued. */
int pop3_box_commit(struct pop3_box *b, pop3_box_done done, void *arg);

/* RETR and TOP: opens message n (moving it to cur/ with the S flag) and
 * reads its first chunk; pop3_box_read_more() the next one, after the
 * last one was answered.  pop3_box_read_stop() closes the message.  -1
 * when the job cannot be queued. */
int pop3_box_read(struct pop3_box *b, unsigned long n, pop3_box_chunk chunk, void *arg);
int pop3_box_read_more(struct pop3_box *b);
void pop3_box_read_stop(struct pop3_box *b);

/* The maildrops in use: one session each. */
struct pop3_locks {
    char **v;
    size_t n, cap;
};
/* 0 taken, -1 held by another session, -2 out of memory. */
int pop3_lock_take(struct pop3_locks *l, const char *login);
void pop3_lock_release(struct pop3_locks *l, const char *login);
void pop3_locks_free(struct pop3_locks *l);

#endif
