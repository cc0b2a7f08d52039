/*
 * Maildir files; see maildir.h.  This file makes Maildirs, names
 * messages and holds the steps of a delivery, which maildir_batch.c runs
 * for many messages at once on the helper thread (worker.h).
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

#define NAME_TRIES MAILDIR_NAME_TRIES
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
void escape_host(const char *host, char *out, size_t outlen)
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

void format_name(char *out, size_t outlen, const char *escaped_host, uint64_t size)
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

void unlink_keep_errno(int dir, const char *name)
{
    int e = errno;
    unlinkat(dir, name, 0);
    errno = e;
}

/* tmp/NAME created exclusively under a fresh name and written, not yet
 * synced: the open file, or -1 (nothing left behind). */
int write_in_tmp(int tmpdir, struct evbuffer *data, const char *host, uint64_t size,
                        char *name)
{
    int fd = -1;
    for (int i = 0; i < NAME_TRIES && fd == -1; i++) {
        format_name(name, MAILDIR_NAME_CAP, host, size);
        fd = openat(tmpdir, name, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd == -1 && errno != EEXIST)
            return -1;
    }
    if (fd == -1)
        return -1;
    if (write_all(fd, data) == -1) {
        int e = errno;
        close(fd);
        errno = e;
        unlink_keep_errno(tmpdir, name);
        return -1;
    }
    return fd;
}

/* tmp/NAME created exclusively under a fresh name, written and synced. */
static int store_in_tmp(const struct mdir *md, struct maildir_msg *m, uint64_t size, char *name)
{
    int fd = write_in_tmp(md->tmp, m->data, m->host, size, name);
    if (fd == -1)
        return -1;
    if (fsync(fd) == -1) {
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
int rename_noreplace(int fromdir, const char *from, int todir, const char *to)
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
int write_copy(const struct mdir *md, struct maildir_msg *m, uint64_t size, char *name)
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
int mdir_open(const char *path, struct mdir *md)
{
    char unused[8];
    if (mdir_try(path, md) == 0)
        return 0;
    if (errno != ENOENT || maildir_ensure(path, unused, sizeof unused) == -1)
        return -1;
    return mdir_try(path, md);
}

void mdir_close(const struct mdir *md)
{
    int e = errno;
    close(md->tmp);
    close(md->new);
    errno = e;
}


/* All or nothing: the copies already placed go again. */
void rollback(struct maildir_msg *m, size_t upto)
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
