/*
 * What maildir.c and maildir_pop.c share and nobody else needs.
 */
#ifndef GALE_MAILDIR_INT_H
#define GALE_MAILDIR_INT_H

#include <stddef.h>

/* PATH/sub (tmp, new or cur) opened as a directory; a sub that is a
 * symbolic link is refused.  -1 and errno. */
int maildir_open_sub(const char *path, const char *sub);

/* The text of errno value e into err, from any thread. */
void maildir_errno_text(int e, char *err, size_t errlen);

#include <stdint.h>

struct evbuffer;

#define MAILDIR_NAME_TRIES 8           /* fresh names tried when one is taken */

/* One message on its way into one or more Maildirs (maildir_batch.c). */
struct maildir_msg {
    char **dirs;
    size_t n;
    char (*names)[MAILDIR_NAME_CAP];   /* each copy's name in its new/ */
    size_t *synced_by;                 /* each copy's new/ in its batch's list */
    struct evbuffer *data;             /* head then body */
    char host[MAILDIR_HOST_CAP + 1];   /* escaped */
    maildir_done_fn done;
    void *arg;
    int cancelled;                     /* reactor only */
    int ok;                            /* set on the thread */
    char error[128];
    /* on the thread, while its batch is written */
    int tmpfd;
    char tmpname[MAILDIR_NAME_CAP];
    size_t placed;                     /* copies in a new/ so far */
    struct maildir_msg *next;          /* in the queue, then in its batch */
};

/* tmp/ and new/ of one Maildir, open. */
struct mdir {
    int tmp, new;
};

/* maildir.c's pieces of a delivery, for the batches of maildir_batch.c;
 * all on the helper thread, all -1 and errno on failure. */
void escape_host(const char *host, char *out, size_t outlen);
void format_name(char *out, size_t outlen, const char *escaped_host, uint64_t size);
void unlink_keep_errno(int dir, const char *name);
/* tmp/NAME made and written, not synced: its open fd. */
int write_in_tmp(int tmpdir, struct evbuffer *data, const char *host, uint64_t size, char *name);
/* The whole delivery into one Maildir, synced: across filesystems. */
int write_copy(const struct mdir *md, struct maildir_msg *m, uint64_t size, char *name);
int rename_noreplace(int fromdir, const char *from, int todir, const char *to);
int mdir_open(const char *path, struct mdir *md);     /* made when missing */
void mdir_close(const struct mdir *md);
/* The copies placed so far taken out of their new/ again. */
void rollback(struct maildir_msg *m, size_t upto);

#endif
