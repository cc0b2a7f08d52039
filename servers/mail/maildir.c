/*
 * Maildir delivery; see maildir.h.  maildir_deliver() runs on the reactor
 * and only gathers the message; deliver_job() does every file operation
 * on the helper thread (worker.h), and deliver_done() reports back on the
 * reactor.
 *
 * The order of a delivery (https://cr.yp.to/proto/maildir.html): create
 * tmp/NAME exclusively, write it, fsync it, move it to new/ without ever
 * replacing a file there, fsync new/.  Further Maildirs get a hard link
 * straight into their new/ (atomic: nothing in their tmp/), or, across
 * filesystems, a copy written the same way.
 */
#include "maildir.h"
#include "maildir_int.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <unistd.h>

#include <event2/buffer.h>

#include "worker.h"

#define NAME_TRIES 8        /* fresh names tried when one is taken */
#define IOV_BATCH 64        /* iovecs per writev() */

/*
 * The process-wide part of the unique names.  A name is unique because no
 * two deliveries of one process (P<pid>) share a counter value (Q<n>), so
 * the counter belongs to the process and not to a server instance: two
 * gale mail instances in one process must draw from the same one, hence a
 * single static.  It is atomic, so no lock is needed whichever thread
 * names a file (the helper thread for deliveries, or a caller of
 * maildir_unique_name()).  A forked child copies it but has another pid.
 */
static struct maildir_state {
    atomic_ullong deliveries;
} state;

struct maildir_msg {
    char **dirs;
    size_t n;
    char (*names)[MAILDIR_NAME_CAP];   /* each copy's name in its new/ */
    struct evbuffer *data;             /* head then body */
    char host[MAILDIR_HOST_CAP + 1];   /* escaped */
    maildir_done_fn done;
    void *arg;
    int cancelled;                     /* reactor only */
    int ok;                            /* set on the thread */
    char error[128];
};

/* tmp/ and new/ of one Maildir, open. */
struct mdir {
    int tmp, new;
};

void maildir_errno_text(int e, char *err, size_t errlen)
{
    char buf[128];
    snprintf(err, errlen, "%s", strerror_r(e, buf, sizeof buf));
}

int maildir_path_valid(const char *path)
{
    if (!path || !*path)
        return 0;
    size_t len = strnlen(path, PATH_MAX);
    if (len >= PATH_MAX)
        return 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)path[i];
        if (c < 0x20 || c == 0x7f)
            return 0;
        if (c == '.' && path[i + 1] == '.' && (i == 0 || path[i - 1] == '/') &&
            (path[i + 2] == '/' || path[i + 2] == '\0'))
            return 0;
    }
    return 1;
}

int maildir_open_sub(const char *path, const char *sub)
{
    if (!maildir_path_valid(path)) {
        errno = EINVAL;
        return -1;
    }
    int dir = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir == -1)
        return -1;
    int fd = openat(dir, sub, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    int e = errno;
    close(dir);
    errno = e;
    return fd;
}

/* ---- Creating a Maildir ---- */

static int ensure_fail(char *err, size_t errlen, const char *path, const char *sub)
{
    int e = errno;
    char text[128];
    maildir_errno_text(e, text, sizeof text);
    snprintf(err, errlen, "cannot create Maildir %s%s%s: %s", path, sub ? "/" : "",
             sub ? sub : "", text);
    errno = e;
    return -1;
}

/* mkdir that counts a directory already there as done; 1 when it made one. */
static int make_dir(int at, const char *name)
{
    if (mkdirat(at, name, 0700) == 0)
        return 1;
    return errno == EEXIST ? 0 : -1;
}

/* A new directory lasts a crash only once its parent's entry is synced. */
static int sync_parent(const char *path)
{
    char parent[PATH_MAX];
    snprintf(parent, sizeof parent, "%s", path);
    size_t len = strlen(parent);
    while (len > 1 && parent[len - 1] == '/')
        parent[--len] = '\0';
    char *slash = strrchr(parent, '/');
    if (!slash)
        snprintf(parent, sizeof parent, ".");
    else
        slash[slash == parent ? 1 : 0] = '\0';
    int fd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd == -1)
        return -1;
    int r = fsync(fd);
    int e = errno;
    close(fd);
    errno = e;
    return r;
}

int maildir_ensure(const char *path, char *err, size_t errlen)
{
    static const char *const subs[] = { "tmp", "new", "cur" };
    if (!maildir_path_valid(path)) {
        errno = EINVAL;
        snprintf(err, errlen, "refused Maildir path");
        return -1;
    }
    int made = make_dir(AT_FDCWD, path);
    int fd = made == -1 ? -1 : open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd == -1)
        return ensure_fail(err, errlen, path, NULL);
    int changed = made;
    for (size_t i = 0; i < sizeof subs / sizeof subs[0]; i++) {
        int r = make_dir(fd, subs[i]);
        int sub = r == -1 ? -1 : openat(fd, subs[i], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (sub == -1) {
            int e = errno;
            close(fd);
            errno = e;
            return ensure_fail(err, errlen, path, subs[i]);
        }
        close(sub);
        changed |= r;
    }
    int r = changed ? fsync(fd) : 0;
    if (r == 0 && made)
        r = sync_parent(path);
    int e = errno;
    close(fd);
    errno = e;
    return r == -1 ? ensure_fail(err, errlen, path, NULL) : 0;
}

/* ---- Unique names ---- */

static int needs_escape(unsigned char c)
{
    return c == '/' || c == ':' || c == ',' || c == '\\' || c < 0x21 || c > 0x7e;
}

/* host as the last part of a name: escaped, cut to fit, never empty. */
static void escape_host(const char *host, char *out, size_t outlen)
{
    char sys[256];
    if (!host || !*host) {
        if (gethostname(sys, sizeof sys) == -1)
            sys[0] = '\0';
        sys[sizeof sys - 1] = '\0';
        host = sys;
    }
    size_t o = 0;
    for (const unsigned char *p = (const unsigned char *)host; *p; p++) {
        char piece[8] = { (char)*p, '\0' };
        int k = needs_escape(*p) ? snprintf(piece, sizeof piece, "\\%03o", *p) : 1;
        if (o + (size_t)k >= outlen)
            break;
        memcpy(out + o, piece, (size_t)k);
        o += (size_t)k;
    }
    out[o] = '\0';
    if (o == 0)
        snprintf(out, outlen, "localhost");
}

static void format_name(char *out, size_t outlen, const char *escaped_host, uint64_t size)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    unsigned long long q = atomic_fetch_add(&state.deliveries, 1) + 1;
    snprintf(out, outlen, "%lld.M%ldP%ldQ%llu.%s,S=%llu", (long long)tv.tv_sec,
             (long)tv.tv_usec, (long)getpid(), q, escaped_host, (unsigned long long)size);
}

void maildir_unique_name(char *out, size_t outlen, const char *host, uint64_t size)
{
    char escaped[MAILDIR_HOST_CAP + 1];
    escape_host(host, escaped, sizeof escaped);
    format_name(out, outlen, escaped, size);
}

/* ---- Writing, on the helper thread ---- */

static int write_all(int fd, struct evbuffer *buf)
{
    size_t left = evbuffer_get_length(buf);
    struct evbuffer_ptr pos;
    if (evbuffer_ptr_set(buf, &pos, 0, EVBUFFER_PTR_SET) == -1) {
        errno = EIO;
        return -1;
    }
    while (left > 0) {
        struct iovec v[IOV_BATCH];
        int k = evbuffer_peek(buf, (ev_ssize_t)left, &pos, v, IOV_BATCH);
        if (k <= 0) {
            errno = EIO;
            return -1;
        }
        ssize_t w = writev(fd, v, k > IOV_BATCH ? IOV_BATCH : k);
        if (w == -1 && errno == EINTR)
            continue;
        if (w <= 0) {
            if (w == 0)
                errno = EIO;
            return -1;
        }
        evbuffer_ptr_set(buf, &pos, (size_t)w, EVBUFFER_PTR_ADD);
        left -= (size_t)w;
    }
    return 0;
}

static void unlink_keep_errno(int dir, const char *name)
{
    int e = errno;
    unlinkat(dir, name, 0);
    errno = e;
}

/* tmp/NAME created exclusively under a fresh name, written and synced. */
static int store_in_tmp(const struct mdir *md, struct maildir_msg *m, uint64_t size, char *name)
{
    int fd = -1;
    for (int i = 0; i < NAME_TRIES && fd == -1; i++) {
        format_name(name, MAILDIR_NAME_CAP, m->host, size);
        fd = openat(md->tmp, name, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd == -1 && errno != EEXIST)
            return -1;
    }
    if (fd == -1)
        return -1;
    if (write_all(fd, m->data) == -1 || fsync(fd) == -1) {
        int e = errno;
        close(fd);
        errno = e;
        unlink_keep_errno(md->tmp, name);
        return -1;
    }
    if (close(fd) == -1) {
        unlink_keep_errno(md->tmp, name);
        return -1;
    }
    return 0;
}

/* rename() that never replaces a file: the spec's link-then-unlink where
 * the filesystem lacks RENAME_NOREPLACE. */
static int rename_noreplace(int fromdir, const char *from, int todir, const char *to)
{
    if (renameat2(fromdir, from, todir, to, RENAME_NOREPLACE) == 0)
        return 0;
    if (errno != EINVAL && errno != ENOSYS && errno != EOPNOTSUPP)
        return -1;
    if (linkat(fromdir, from, todir, to, 0) == -1)
        return -1;
    unlinkat(fromdir, from, 0);
    return 0;
}

/* A file in new/ counts once new/ itself is synced; if that fails it must
 * not stay there, or a message reported lost could still turn up. */
static int sync_new(int newfd, const char *name)
{
    if (fsync(newfd) == 0)
        return 0;
    unlink_keep_errno(newfd, name);
    return -1;
}

/* The whole delivery into one Maildir; name: where it went in new/. */
static int write_copy(const struct mdir *md, struct maildir_msg *m, uint64_t size, char *name)
{
    char tmpname[MAILDIR_NAME_CAP];
    if (store_in_tmp(md, m, size, tmpname) == -1)
        return -1;
    memcpy(name, tmpname, sizeof tmpname);
    int r = -1;
    for (int i = 0; i < NAME_TRIES && r == -1; i++) {
        r = rename_noreplace(md->tmp, tmpname, md->new, name);
        if (r == -1 && errno != EEXIST)
            break;
        if (r == -1)
            format_name(name, MAILDIR_NAME_CAP, m->host, size);
    }
    if (r == -1) {
        unlink_keep_errno(md->tmp, tmpname);
        return -1;
    }
    return sync_new(md->new, name);
}

/* A hard link of the first copy straight into md's new/; 1 when no link
 * can be made there (another filesystem, links not supported, the first
 * copy already moved on by a reader): the caller writes a copy instead. */
static int link_copy(int src_new, const char *src_name, const struct mdir *md,
                     const char *host, uint64_t size, char *name)
{
    for (int i = 0; i < NAME_TRIES; i++) {
        format_name(name, MAILDIR_NAME_CAP, host, size);
        if (linkat(src_new, src_name, md->new, name, 0) == 0)
            return sync_new(md->new, name);
        if (errno == EXDEV || errno == EPERM || errno == EMLINK || errno == ENOENT ||
            errno == EOPNOTSUPP)
            return 1;
        if (errno != EEXIST)
            return -1;
    }
    return -1;
}

static int mdir_try(const char *path, struct mdir *md)
{
    md->new = -1;
    md->tmp = maildir_open_sub(path, "tmp");
    if (md->tmp != -1)
        md->new = maildir_open_sub(path, "new");
    if (md->new != -1)
        return 0;
    if (md->tmp != -1) {
        int e = errno;
        close(md->tmp);
        errno = e;
    }
    return -1;
}

/* A Maildir missing (a new user's) is made first. */
static int mdir_open(const char *path, struct mdir *md)
{
    char unused[8];
    if (mdir_try(path, md) == 0)
        return 0;
    if (errno != ENOENT || maildir_ensure(path, unused, sizeof unused) == -1)
        return -1;
    return mdir_try(path, md);
}

static void mdir_close(const struct mdir *md)
{
    int e = errno;
    close(md->tmp);
    close(md->new);
    errno = e;
}

static int deliver_further(struct maildir_msg *m, size_t i, const struct mdir *first, uint64_t size)
{
    struct mdir md;
    if (mdir_open(m->dirs[i], &md) == -1)
        return -1;
    int r = link_copy(first->new, m->names[0], &md, m->host, size, m->names[i]);
    if (r == 1)
        r = write_copy(&md, m, size, m->names[i]);
    mdir_close(&md);
    return r;
}

/* All or nothing: the copies already placed go again. */
static void rollback(struct maildir_msg *m, size_t upto)
{
    for (size_t i = 0; i < upto; i++) {
        int fd = maildir_open_sub(m->dirs[i], "new");
        if (fd == -1)
            continue;
        if (unlinkat(fd, m->names[i], 0) == 0)
            fsync(fd);
        close(fd);
    }
}

static void deliver_job(void *job)
{
    struct maildir_msg *m = job;
    uint64_t size = evbuffer_get_length(m->data);
    struct mdir first;
    size_t i = 0;
    if (mdir_open(m->dirs[0], &first) == 0) {
        if (write_copy(&first, m, size, m->names[0]) == 0)
            for (i = 1; i < m->n && deliver_further(m, i, &first, size) == 0; i++)
                ;
        mdir_close(&first);
    }
    m->ok = i == m->n;
    if (!m->ok) {
        maildir_errno_text(errno, m->error, sizeof m->error);
        rollback(m, i);
    }
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
    if (m->data)
        evbuffer_free(m->data);
    free(m);
}

static void deliver_done(void *job)
{
    struct maildir_msg *m = job;
    if (!m->cancelled)
        m->done(m->ok, m->ok ? NULL : m->error, m->arg);
    msg_free(m);
}

static struct maildir_msg *msg_new(const char *const *dirs, size_t n, const char *head,
                                   size_t head_len, const char *hostname)
{
    struct maildir_msg *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    m->dirs = calloc(n, sizeof *m->dirs);
    m->names = calloc(n, sizeof *m->names);
    m->data = evbuffer_new();
    if (!m->dirs || !m->names || !m->data) {
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
    if (worker_submit(deliver_job, deliver_done, m) == -1) {
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
