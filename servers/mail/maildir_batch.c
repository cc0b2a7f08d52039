/*
 * Maildir delivery in batches; see maildir.h for what it promises and
 * maildir.c for the steps of one delivery.  maildir_deliver() runs on the
 * reactor and queues the message; batch_job() takes the whole queue on
 * the helper thread (worker.h); batch_done() reports each message back on
 * the reactor.
 */
#include "maildir.h"
#include "maildir_int.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/buffer.h>

#include "worker.h"

#define NAME_TRIES MAILDIR_NAME_TRIES

/*
 * Deliveries wait in one queue and the helper thread takes them all at
 * once: their files are written, then synced (the first fsync commits
 * the filesystem's journal for all of them, the others find little left
 * to do), then moved into new/, and each new/ is synced once for the
 * whole batch.  Under load a batch holds what arrived while the last was
 * written, so the cost of a sync is shared, as a database's group commit
 * shares it.  The queue is the process's, as the helper thread is.
 */
static struct {
    pthread_mutex_t lock;
    struct maildir_msg *head, *tail;
    int scheduled;                     /* a batch job is queued and has not taken yet */
} queue = { PTHREAD_MUTEX_INITIALIZER, NULL, NULL, 0 };

/* A new/ to sync at the end of a batch. */
struct sync_dir {
    dev_t dev;
    ino_t ino;
    int fd;
    int failed;
};

struct batch {
    struct maildir_msg *head;
    struct sync_dir *dirs;
    size_t n_dirs, cap;
};

static void fail_msg(struct maildir_msg *m, int e)
{
    if (!m->ok)
        return;
    m->ok = 0;
    maildir_errno_text(e, m->error, sizeof m->error);
}

/* The batch's entry for the new/ open as fd (taken over): one per
 * directory, whichever Maildirs share it.  (size_t)-1 when out of memory. */
static size_t sync_dir_of(struct batch *b, int fd)
{
    struct stat st;
    if (fstat(fd, &st) == -1) {
        close(fd);
        return (size_t)-1;
    }
    for (size_t i = 0; i < b->n_dirs; i++)
        if (b->dirs[i].dev == st.st_dev && b->dirs[i].ino == st.st_ino) {
            close(fd);
            return i;
        }
    if (b->n_dirs == b->cap) {
        size_t cap = b->cap ? 2 * b->cap : 16;
        struct sync_dir *v = realloc(b->dirs, cap * sizeof *v);
        if (!v) {
            close(fd);
            return (size_t)-1;
        }
        b->dirs = v;
        b->cap = cap;
    }
    b->dirs[b->n_dirs] = (struct sync_dir){ st.st_dev, st.st_ino, fd, 0 };
    return b->n_dirs++;
}

/* Step 1: the first copy written to tmp/, not yet synced. */
static void batch_write(struct maildir_msg *m)
{
    struct mdir md;
    m->tmpfd = -1;
    if (mdir_open(m->dirs[0], &md) == -1) {
        fail_msg(m, errno);
        return;
    }
    uint64_t size = evbuffer_get_length(m->data);
    m->tmpfd = write_in_tmp(md.tmp, m->data, m->host, size, m->tmpname);
    if (m->tmpfd == -1)
        fail_msg(m, errno);
    mdir_close(&md);
}

/* Step 2: synced; the first sync of a batch commits them all. */
static void batch_sync_file(struct maildir_msg *m)
{
    if (m->tmpfd == -1)
        return;
    int bad = fsync(m->tmpfd) == -1 ? errno : 0;
    if (close(m->tmpfd) == -1 && !bad)
        bad = errno;
    m->tmpfd = -1;
    if (!bad)
        return;
    fail_msg(m, bad);
    int tmp = maildir_open_sub(m->dirs[0], "tmp");
    if (tmp != -1) {
        unlinkat(tmp, m->tmpname, 0);
        close(tmp);
    }
}

/* The first copy from tmp/ into new/. */
static int place_first(struct batch *b, struct maildir_msg *m, uint64_t size)
{
    struct mdir md;
    if (mdir_open(m->dirs[0], &md) == -1)
        return -1;
    memcpy(m->names[0], m->tmpname, sizeof m->tmpname);
    int r = -1;
    for (int i = 0; i < NAME_TRIES && r == -1; i++) {
        r = rename_noreplace(md.tmp, m->tmpname, md.new, m->names[0]);
        if (r == -1 && errno != EEXIST)
            break;
        if (r == -1)
            format_name(m->names[0], MAILDIR_NAME_CAP, m->host, size);
    }
    if (r == -1) {
        unlink_keep_errno(md.tmp, m->tmpname);
        mdir_close(&md);
        return -1;
    }
    close(md.tmp);
    m->placed = 1;
    m->synced_by[0] = sync_dir_of(b, md.new);
    return m->synced_by[0] == (size_t)-1 ? -1 : 0;
}

/* A further copy: a hard link into its new/, synced with the batch; across
 * filesystems, a copy written and synced on its own. */
static int place_further(struct batch *b, struct maildir_msg *m, size_t i, uint64_t size)
{
    struct mdir md, first;
    if (mdir_open(m->dirs[i], &md) == -1)
        return -1;
    int r = -1;
    if (mdir_open(m->dirs[0], &first) == 0) {
        r = 1;
        for (int k = 0; k < NAME_TRIES; k++) {
            format_name(m->names[i], MAILDIR_NAME_CAP, m->host, size);
            if (linkat(first.new, m->names[0], md.new, m->names[i], 0) == 0) {
                r = 0;
                break;
            }
            if (errno != EEXIST) {
                r = errno == EXDEV || errno == EPERM || errno == EMLINK || errno == ENOENT ||
                    errno == EOPNOTSUPP ? 1 : -1;
                break;
            }
        }
        mdir_close(&first);
    }
    if (r == 1)
        r = write_copy(&md, m, size, m->names[i]);
    close(md.tmp);
    if (r == 0) {
        m->placed = i + 1;
        m->synced_by[i] = sync_dir_of(b, md.new);
        return m->synced_by[i] == (size_t)-1 ? -1 : 0;
    }
    int e = errno;
    close(md.new);
    errno = e;
    return -1;
}

/* Step 3: every copy into its new/; all or nothing for each message. */
static void batch_place(struct batch *b, struct maildir_msg *m)
{
    uint64_t size = evbuffer_get_length(m->data);
    if (!m->ok)
        return;
    if (place_first(b, m, size) == -1) {
        fail_msg(m, errno);
        return;
    }
    for (size_t i = 1; i < m->n; i++)
        if (place_further(b, m, i, size) == -1) {
            fail_msg(m, errno);
            rollback(m, m->placed);
            return;
        }
}

/* Step 4: each new/ synced once.  A message with a copy in one that
 * failed is taken back out of every new/, or it could turn up later
 * though reported lost. */
static void batch_sync_dirs(struct batch *b)
{
    for (size_t i = 0; i < b->n_dirs; i++)
        if (fsync(b->dirs[i].fd) == -1)
            b->dirs[i].failed = errno ? errno : EIO;
    for (struct maildir_msg *m = b->head; m; m = m->next) {
        if (!m->ok)
            continue;
        for (size_t i = 0; i < m->placed; i++)
            if (m->synced_by[i] < b->n_dirs && b->dirs[m->synced_by[i]].failed) {
                fail_msg(m, b->dirs[m->synced_by[i]].failed);
                rollback(m, m->placed);
                break;
            }
    }
    for (size_t i = 0; i < b->n_dirs; i++)
        close(b->dirs[i].fd);
}

static void batch_job(void *job)
{
    struct batch *b = job;
    pthread_mutex_lock(&queue.lock);
    b->head = queue.head;
    queue.head = queue.tail = NULL;
    queue.scheduled = 0;
    pthread_mutex_unlock(&queue.lock);
    for (struct maildir_msg *m = b->head; m; m = m->next) {
        m->ok = 1;
        batch_write(m);
    }
    for (struct maildir_msg *m = b->head; m; m = m->next)
        batch_sync_file(m);
    for (struct maildir_msg *m = b->head; m; m = m->next)
        batch_place(b, m);
    batch_sync_dirs(b);
}

/* ---- On the reactor ---- */

static void msg_free(struct maildir_msg *m)
{
    if (!m)
        return;
    for (size_t i = 0; m->dirs && i < m->n; i++)
        free(m->dirs[i]);
    free(m->dirs);
    free(m->names);
    free(m->synced_by);
    if (m->data)
        evbuffer_free(m->data);
    free(m);
}

static void batch_done(void *job)
{
    struct batch *b = job;
    while (b->head) {
        struct maildir_msg *m = b->head;
        b->head = m->next;
        if (!m->cancelled)
            m->done(m->ok, m->ok ? NULL : m->error, m->arg);
        msg_free(m);
    }
    free(b->dirs);
    free(b);
}

/* Queued for the next batch; a batch job is submitted when none waits. */
static int enqueue(struct maildir_msg *m)
{
    struct batch *b = NULL;
    int r = 0;
    pthread_mutex_lock(&queue.lock);
    if (!queue.scheduled) {
        b = calloc(1, sizeof *b);
        if (!b || worker_submit(batch_job, batch_done, b) == -1) {
            free(b);
            r = -1;
        } else {
            queue.scheduled = 1;
        }
    }
    if (r == 0) {
        if (queue.tail)
            queue.tail->next = m;
        else
            queue.head = m;
        queue.tail = m;
    }
    pthread_mutex_unlock(&queue.lock);
    return r;
}

static struct maildir_msg *msg_new(const char *const *dirs, size_t n, const char *head,
                                   size_t head_len, const char *hostname)
{
    struct maildir_msg *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    m->dirs = calloc(n, sizeof *m->dirs);
    m->names = calloc(n, sizeof *m->names);
    m->synced_by = calloc(n, sizeof *m->synced_by);
    m->data = evbuffer_new();
    if (!m->dirs || !m->names || !m->synced_by || !m->data) {
        msg_free(m);
        return NULL;
    }
    m->n = n;
    for (size_t i = 0; i < n; i++)
        if (!(m->dirs[i] = strdup(dirs[i]))) {
            msg_free(m);
            return NULL;
        }
    if (head_len > 0 && evbuffer_add(m->data, head, head_len) == -1) {
        msg_free(m);
        return NULL;
    }
    escape_host(hostname, m->host, sizeof m->host);
    return m;
}

struct maildir_msg *maildir_deliver_start(const char *const *dirs, size_t n,
                                          const char *head, size_t head_len,
                                          struct evbuffer *body, const char *hostname,
                                          maildir_done_fn done, void *arg)
{
    if (!dirs || n == 0 || !done || (!head && head_len > 0)) {
        errno = EINVAL;
        return NULL;
    }
    for (size_t i = 0; i < n; i++)
        if (!maildir_path_valid(dirs[i])) {
            errno = EINVAL;
            return NULL;
        }
    struct maildir_msg *m = msg_new(dirs, n, head, head_len, hostname);
    if (!m || (body && evbuffer_add_buffer(m->data, body) == -1)) {
        msg_free(m);
        errno = ENOMEM;
        return NULL;
    }
    m->done = done;
    m->arg = arg;
    if (enqueue(m) == -1) {
        /* body was emptied by the move: appending gives it back whole. */
        evbuffer_drain(m->data, head_len);
        if (body)
            evbuffer_add_buffer(body, m->data);
        msg_free(m);
        errno = ENOMEM;
        return NULL;
    }
    return m;
}

int maildir_deliver(const char *const *dirs, size_t n, const char *head, size_t head_len,
                    struct evbuffer *body, const char *hostname, maildir_done_fn done, void *arg)
{
    return maildir_deliver_start(dirs, n, head, head_len, body, hostname, done, arg) ? 0 : -1;
}

void maildir_cancel(struct maildir_msg *m)
{
    if (m)
        m->cancelled = 1;
}
