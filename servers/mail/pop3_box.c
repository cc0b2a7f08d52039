/*
 * A POP3 session's maildrop (pop3_box.h).  The jobs on the worker thread
 * work on copies of what they need (the path, the names), never on the
 * box, so the box may go while one runs: the job is then only told that
 * nobody waits for it, and frees itself when done.
 */
#include "pop3_box.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "worker.h"

enum job_kind { J_SCAN, J_READ, J_COMMIT };

struct job {
    enum job_kind kind;
    struct pop3_box *box;            /* NULL once the box is gone */
    char *dir;
    char err[128];
    int ok;
    /* J_SCAN */
    struct maildir_list list;
    /* J_READ: the message (a copy of its entry) and its file */
    struct maildir_entry msg;
    unsigned long n;
    int fd;
    ssize_t got;
    /* J_COMMIT: copies of the marked entries */
    struct maildir_entry *gone;
    size_t n_gone, failed;
    char buf[];                      /* J_READ: POP3_BOX_CHUNK bytes */
};

struct pop3_box {
    char *dir;
    struct maildir_list list;
    unsigned char *marked;           /* one per message */
    unsigned long n_marked;
    uint64_t marked_size;
    struct job *job;                 /* queued or running; or the open message */
    int running;                     /* job is on the worker thread */
    pop3_box_done done;
    pop3_box_chunk chunk;
    void *arg;
};

static void job_free(struct job *j)
{
    if (!j)
        return;
    free(j->dir);
    maildir_list_free(&j->list);
    free(j->msg.name);
    if (j->fd != -1)
        close(j->fd);
    for (size_t i = 0; i < j->n_gone; i++)
        free(j->gone[i].name);
    free(j->gone);
    free(j);
}

static struct job *job_new(struct pop3_box *b, enum job_kind kind, size_t extra)
{
    struct job *j = calloc(1, sizeof *j + extra);
    if (!j)
        return NULL;
    j->kind = kind;
    j->box = b;
    j->fd = -1;
    if (!(j->dir = strdup(b->dir))) {
        free(j);
        return NULL;
    }
    return j;
}

static void errno_text(int e, char *err, size_t errlen)
{
    char buf[128];
    snprintf(err, errlen, "%s", strerror_r(e, buf, sizeof buf));
}

/* --- on the worker thread ------------------------------------------- */

static void read_chunk(struct job *j)
{
    if (j->fd == -1) {
        j->fd = maildir_open_seen(j->dir, &j->msg, j->err, sizeof j->err);
        if (j->fd == -1) {
            j->got = -1;
            return;
        }
    }
    do
        j->got = read(j->fd, j->buf, POP3_BOX_CHUNK);
    while (j->got == -1 && errno == EINTR);
    if (j->got == -1)
        errno_text(errno, j->err, sizeof j->err);
}

static void run_job(void *arg)
{
    struct job *j = arg;
    switch (j->kind) {
    case J_SCAN:
        j->ok = maildir_scan(j->dir, &j->list, j->err, sizeof j->err) == 0;
        break;
    case J_READ:
        read_chunk(j);
        break;
    case J_COMMIT:
        for (size_t i = 0; i < j->n_gone; i++)
            if (maildir_remove(j->dir, &j->gone[i]) == -1) {
                errno_text(errno, j->err, sizeof j->err);
                j->failed++;
            }
        j->ok = j->failed == 0;
        break;
    }
}

/* --- back on the reactor -------------------------------------------- */

static void scan_done(struct pop3_box *b, struct job *j)
{
    if (j->ok) {
        unsigned char *marked = calloc(j->list.n ? j->list.n : 1, 1);
        if (!marked) {
            j->ok = 0;
            snprintf(j->err, sizeof j->err, "out of memory");
        } else {
            b->list = j->list;
            j->list = (struct maildir_list){ 0 };
            b->marked = marked;
        }
    }
    b->job = NULL;
    pop3_box_done done = b->done;
    done(b->arg, j->ok, j->err);
    job_free(j);
}

/* RETR's move to cur/ renamed the file: the box takes the new name. */
static void take_name(struct pop3_box *b, struct job *j)
{
    struct maildir_entry *e = &b->list.v[j->n - 1];
    if (j->msg.name && strcmp(e->name, j->msg.name) != 0) {
        char *copy = strdup(j->msg.name);
        if (copy) {
            free(e->name);
            e->name = copy;
            e->in_new = j->msg.in_new;
        }
    }
}

static void read_done(struct pop3_box *b, struct job *j)
{
    take_name(b, j);
    if (j->got == -1) {
        b->job = NULL;
        b->chunk(b->arg, NULL, 0, j->err);
        job_free(j);
        return;
    }
    b->chunk(b->arg, j->buf, (size_t)j->got, NULL);   /* the job stays: the open file */
}

static void commit_done(struct pop3_box *b, struct job *j)
{
    char err[160];
    if (!j->ok)
        snprintf(err, sizeof err, "%zu of %zu not removed: %s", j->failed, j->n_gone, j->err);
    b->job = NULL;
    b->done(b->arg, j->ok, j->ok ? "" : err);
    job_free(j);
}

static void job_done(void *arg)
{
    struct job *j = arg;
    struct pop3_box *b = j->box;
    if (!b) {
        job_free(j);
        return;
    }
    b->running = 0;
    switch (j->kind) {
    case J_SCAN: scan_done(b, j); break;
    case J_READ: read_done(b, j); break;
    case J_COMMIT: commit_done(b, j); break;
    }
}

static int submit(struct pop3_box *b, struct job *j)
{
    b->job = j;
    b->running = 1;
    if (worker_submit(run_job, job_done, j) == -1) {
        b->job = NULL;
        b->running = 0;
        return -1;
    }
    return 0;
}

/* --- the box --------------------------------------------------------- */

struct pop3_box *pop3_box_new(const char *dir)
{
    struct pop3_box *b = calloc(1, sizeof *b);
    if (b && !(b->dir = strdup(dir))) {
        free(b);
        return NULL;
    }
    return b;
}

void pop3_box_free(struct pop3_box *b)
{
    if (!b)
        return;
    if (b->job && b->running)
        b->job->box = NULL;          /* it frees itself when done */
    else
        job_free(b->job);
    maildir_list_free(&b->list);
    free(b->marked);
    free(b->dir);
    free(b);
}

int pop3_box_scan(struct pop3_box *b, pop3_box_done done, void *arg)
{
    struct job *j = b->job ? NULL : job_new(b, J_SCAN, 0);
    if (!j)
        return -1;
    b->done = done;
    b->arg = arg;
    if (submit(b, j) == -1) {
        job_free(j);
        return -1;
    }
    return 0;
}

unsigned long pop3_box_count(const struct pop3_box *b) { return b->list.n; }
unsigned long pop3_box_live(const struct pop3_box *b) { return b->list.n - b->n_marked; }
unsigned long pop3_box_marked(const struct pop3_box *b) { return b->n_marked; }
uint64_t pop3_box_live_size(const struct pop3_box *b)
{
    return b->list.total - b->marked_size;
}

const struct maildir_entry *pop3_box_get(const struct pop3_box *b, unsigned long n,
                                         int *marked)
{
    if (marked)
        *marked = 0;
    if (n == 0 || n > b->list.n)
        return NULL;
    if (b->marked[n - 1]) {
        if (marked)
            *marked = 1;
        return NULL;
    }
    return &b->list.v[n - 1];
}

int pop3_box_mark(struct pop3_box *b, unsigned long n)
{
    const struct maildir_entry *e = pop3_box_get(b, n, NULL);
    if (!e)
        return -1;
    b->marked[n - 1] = 1;
    b->n_marked++;
    b->marked_size += e->size;
    return 0;
}

void pop3_box_unmark(struct pop3_box *b)
{
    if (b->marked)
        memset(b->marked, 0, b->list.n);
    b->n_marked = 0;
    b->marked_size = 0;
}

static int copy_marked(struct pop3_box *b, struct job *j)
{
    if (!(j->gone = calloc(b->n_marked ? b->n_marked : 1, sizeof *j->gone)))
        return -1;
    for (size_t i = 0; i < b->list.n; i++) {
        if (!b->marked[i])
            continue;
        struct maildir_entry *g = &j->gone[j->n_gone];
        *g = b->list.v[i];
        if (!(g->name = strdup(b->list.v[i].name)))
            return -1;
        j->n_gone++;
    }
    return 0;
}

int pop3_box_commit(struct pop3_box *b, pop3_box_done done, void *arg)
{
    struct job *j = b->job ? NULL : job_new(b, J_COMMIT, 0);
    if (!j)
        return -1;
    if (copy_marked(b, j) == -1) {
        job_free(j);
        return -1;
    }
    b->done = done;
    b->arg = arg;
    if (submit(b, j) == -1) {
        job_free(j);
        return -1;
    }
    return 0;
}

int pop3_box_read(struct pop3_box *b, unsigned long n, pop3_box_chunk chunk, void *arg)
{
    const struct maildir_entry *e = pop3_box_get(b, n, NULL);
    struct job *j = e && !b->job ? job_new(b, J_READ, POP3_BOX_CHUNK) : NULL;
    if (!j)
        return -1;
    j->n = n;
    j->msg = *e;
    if (!(j->msg.name = strdup(e->name))) {
        job_free(j);
        return -1;
    }
    b->chunk = chunk;
    b->arg = arg;
    if (submit(b, j) == -1) {
        job_free(j);
        return -1;
    }
    return 0;
}

int pop3_box_read_more(struct pop3_box *b)
{
    if (!b->job || b->running || b->job->kind != J_READ)
        return -1;
    return submit(b, b->job);
}

void pop3_box_read_stop(struct pop3_box *b)
{
    if (!b->job || b->job->kind != J_READ)
        return;
    if (b->running)
        b->job->box = NULL;
    else
        job_free(b->job);
    b->job = NULL;
    b->running = 0;
}

/* --- the locks ------------------------------------------------------- */

int pop3_lock_take(struct pop3_locks *l, const char *login)
{
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->v[i], login) == 0)
            return -1;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        char **v = realloc(l->v, cap * sizeof *v);
        if (!v)
            return -2;
        l->v = v;
        l->cap = cap;
    }
    if (!(l->v[l->n] = strdup(login)))
        return -2;
    l->n++;
    return 0;
}

void pop3_lock_release(struct pop3_locks *l, const char *login)
{
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->v[i], login) == 0) {
            free(l->v[i]);
            l->v[i] = l->v[--l->n];
            return;
        }
}

void pop3_locks_free(struct pop3_locks *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i]);
    free(l->v);
    *l = (struct pop3_locks){ 0 };
}
