/*
 * Durable Maildir storage for gale mail: delivery for the SMTP side, and
 * the listing, reading and removal the POP3 side needs.
 *
 * Maildir: https://cr.yp.to/proto/maildir.html (and maildir(5) of qmail);
 * file names as twistd mail and Dovecot write them; UIDL per RFC 1939.
 *
 * Acknowledged means on disk: the done callback of maildir_deliver()
 * reports success only once the message file has been fsync()ed, moved
 * into new/ and new/ itself fsync()ed, in every Maildir it goes to.  The
 * writing runs on the core's helper thread (worker.h), never on the
 * reactor.  A process killed at any moment leaves in new/ either nothing
 * or a complete message; what it leaves in tmp/ is ignored by readers and
 * removed by maildir_clean_tmp().
 *
 * Line ends: messages are stored as received on the wire, CRLF line ends
 * and the SMTP dot-stuffing already removed.  POP3 RETR can then send a
 * file as it is (dot-stuffing it again on the way out), and the size in
 * the name, which LIST and STAT report, is the exact octet count.  Readers
 * such as Dovecot and mutt take CRLF files; a local MUA that wants LF only
 * will show the CRs.
 *
 * File names: <sec>.M<usec>P<pid>Q<n>.<host>,S=<size>, where n counts the
 * deliveries of this process, size is the file's size in bytes, and host
 * has '/', ':', ',', '\' and bytes outside 0x21..0x7E written as a
 * backslash and three octal digits (\057 for '/', \072 for ':').
 */
#ifndef GALE_MAILDIR_H
#define GALE_MAILDIR_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct evbuffer;

/* Longest file name the module makes or accepts, NUL included. */
#define MAILDIR_NAME_CAP 256
/* The escaped host part of a name is cut to this many bytes. */
#define MAILDIR_HOST_CAP 120
/* maildir_scan() refuses a Maildir holding more messages than this. */
#define MAILDIR_SCAN_MAX 1000000
/* maildir_clean_tmp() removes files in tmp/ untouched for this long. */
#define MAILDIR_TMP_MAX_AGE (36 * 60 * 60)

/* 1 when path may name a Maildir: not empty, shorter than PATH_MAX, no
 * ".." component and no control character.  Every function below refuses
 * (-1, errno EINVAL) a path that is not. */
int maildir_path_valid(const char *path);

/* Creates PATH and PATH/{tmp,new,cur} (mode 0700) when missing, and
 * fsyncs the directories it changed; -1 and err when it cannot.  PATH's
 * parent must exist.  Blocking: at startup on the reactor, otherwise on
 * the helper thread (maildir_deliver() calls it there for a Maildir that
 * is missing).  A tmp, new or cur that is a symbolic link is refused. */
int maildir_ensure(const char *path, char *err, size_t errlen);

/* ---- Delivery (SMTP) ---- */

struct maildir_msg;   /* one message being delivered to one or more Maildirs */
typedef void (*maildir_done_fn)(int ok, const char *error, void *arg);   /* on the reactor */

/*
 * Delivers head (bytes prepended: Return-Path, Received) then body to
 * every Maildir in dirs (n of them, n >= 1, deduplicated by the caller;
 * each one is created as by maildir_ensure() when missing).
 *
 * body may be NULL (the message is head alone).  Otherwise its bytes are
 * moved out of it without copying: on return 0 body is left empty and
 * stays the caller's to free; on -1 it is untouched.  dirs, head and
 * hostname are copied.  hostname is the host part of the file names; NULL
 * or "" takes gethostname().
 *
 * Returns 0: done will be called exactly once, later, on the reactor,
 * with ok=1 when the message is safely on disk in every Maildir, or ok=0
 * and a short error ("No space left on device": the text of errno, never
 * a path, so it may go into an SMTP reply).  On failure no Maildir keeps
 * the message: copies already placed in other Maildirs are removed again,
 * so a sender's retry cannot duplicate it.
 * Returns -1 (errno set: EINVAL for a refused path, ENOMEM): not queued,
 * done never called.
 */
int maildir_deliver(const char *const *dirs, size_t n, const char *head, size_t head_len,
                    struct evbuffer *body, const char *hostname, maildir_done_fn done, void *arg);

/* maildir_deliver() returning the message, so that its caller can
 * maildir_cancel() it; NULL where maildir_deliver() returns -1. */
struct maildir_msg *maildir_deliver_start(const char *const *dirs, size_t n,
                                          const char *head, size_t head_len,
                                          struct evbuffer *body, const char *hostname,
                                          maildir_done_fn done, void *arg);
/* The caller is going away (its session closed): done will not be
 * called.  The delivery itself still finishes or fails on its own.  Only
 * before done has run, on the reactor. */
void maildir_cancel(struct maildir_msg *m);

/* A fresh unique file name (the format above) for a message of size
 * bytes; host as maildir_deliver() takes it.  Never the same twice in one
 * process.  Any thread. */
void maildir_unique_name(char *out, size_t outlen, const char *host, uint64_t size);

/* ---- Reading (POP3) ----
 *
 * These are plain blocking file operations (a directory scan, a rename):
 * call them on the helper thread, the way maildir_deliver() does, with a
 * job struct holding the arguments and the results:
 *
 *     static void scan_job(void *j) { struct pop_scan *s = j;
 *         s->rc = maildir_scan(s->path, &s->list, s->err, sizeof s->err); }
 *     worker_submit(scan_job, scan_done, s);   // scan_done on the reactor
 *
 * Reading the fd maildir_open_seen() returns is file I/O like the web
 * server's: the POP3 code reads it in bounded chunks (it must dot-stuff
 * the lines anyway) or on the thread.
 */

struct maildir_entry {
    char *name;          /* file name in new/ or cur/ (malloc'ed: maildir_open_seen()
                          * replaces it with the name it moved the file to) */
    int in_new;
    uint64_t size;       /* octets: ",S=" of the name when present, else the file's size */
    char uidl[41];       /* RFC 1939 unique-id: the part of the name before ':' when it
                          * is 1..40 bytes of 0x21..0x7E, else 40 hex digits of its SHA-1 */
};
struct maildir_list { struct maildir_entry *v; size_t n; uint64_t total; };

/* Lists the messages of new/ and cur/, oldest delivery first (by the
 * seconds and microseconds of the name, then by name).  Skips names
 * starting with '.', and anything but regular files (symbolic links
 * too).  A message found in both (moved by another reader during the
 * scan) is listed once, as in cur/.  A Maildir that does not exist yet
 * holds no messages (0, empty list).  -1 and err on failure; *out is then
 * empty.  total is the sum of the sizes (saturating). */
int maildir_scan(const char *path, struct maildir_list *out, char *err, size_t errlen);
void maildir_list_free(struct maildir_list *l);

/* RETR: moves a message from new/ to cur/NAME:2,S (adds S to the flags of
 * one already in cur/, keeping them in ASCII order) and updates e to its
 * new name; returns an fd open for reading, or -1 and err.  A message
 * another reader has moved meanwhile is found in cur/ by its unique part.
 * When only the renaming fails, the fd is still returned (the flag is
 * advisory). */
int maildir_open_seen(const char *path, struct maildir_entry *e, char *err, size_t errlen);

/* DELE committed at QUIT: removes the message, wherever another reader
 * has moved it within cur/.  0 when it is gone (also when it already
 * was), -1 and errno otherwise. */
int maildir_remove(const char *path, const struct maildir_entry *e);

/* The RFC 1939 unique-id of a file name, as maildir_scan() sets it; -1
 * when the hash cannot be made (out of memory). */
int maildir_uidl(const char *name, char uidl[41]);

/* Removes from tmp/ the files last modified more than
 * MAILDIR_TMP_MAX_AGE before now (the leftovers of interrupted
 * deliveries, as the Maildir spec asks of readers).  Returns how many, or
 * -1 and errno. */
int maildir_clean_tmp(const char *path, time_t now);

#endif
