/*
 * The reading side of the Maildir store, for POP3 (RFC 1939): listing,
 * RETR's move into cur/ with the S (seen) flag, DELE's removal, UIDLs,
 * and the cleaning of tmp/ the Maildir spec asks of readers.  See
 * maildir.h; these block on the disk, so they run on the helper thread.
 *
 * https://cr.yp.to/proto/maildir.html: a reader moves a message from new/
 * to cur/, appending ":2," and its flags in ASCII order to the name, and
 * keeps the unique part before ':' unchanged, so the UIDL stays the same.
 * Another reader (an IMAP server, a local MUA) may move or remove a
 * message at any time: a name that vanished is looked up again in cur/
 * by its unique part.
 */
#include "maildir.h"
#include "maildir_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

struct builder {
    struct maildir_list *l;
    size_t cap;
    int too_many;
};

int maildir_uidl(const char *name, char uidl[41])
{
    size_t len = strcspn(name, ":");
    int plain = len > 0 && len <= 40;
    for (size_t i = 0; plain && i < len; i++)
        plain = (unsigned char)name[i] >= 0x21 && (unsigned char)name[i] <= 0x7e;
    if (plain) {
        memcpy(uidl, name, len);
        uidl[len] = '\0';
        return 0;
    }
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    if (EVP_Digest(name, len, md, &mdlen, EVP_sha1(), NULL) != 1 || mdlen < 20)
        return -1;
    for (size_t i = 0; i < 20; i++)
        snprintf(uidl + 2 * i, 3, "%02x", md[i]);
    return 0;
}

/* ",S=<size>" before the info part, as Dovecot and twistd write it. */
static int size_from_name(const char *name, uint64_t *size)
{
    size_t base = strcspn(name, ":");
    const char *s = memmem(name, base, ",S=", 3);
    if (!s)
        return 0;
    const char *end = name + base;
    uint64_t v = 0;
    int digits = 0;
    for (s += 3; s < end && *s >= '0' && *s <= '9'; s++) {
        if (++digits > 19)           /* 19 digits cannot overflow */
            return 0;
        v = v * 10 + (uint64_t)(*s - '0');
    }
    if (digits == 0 || (s < end && *s != ','))
        return 0;
    *size = v;
    return 1;
}

static uint64_t digits_at(const char **p)
{
    uint64_t v = 0;
    for (int d = 0; d < 19 && **p >= '0' && **p <= '9'; d++, (*p)++)
        v = v * 10 + (uint64_t)(**p - '0');
    return v;
}

/* <sec>.M<usec> of a name; 0 where a name does not follow the pattern. */
static void delivery_time(const char *name, uint64_t *sec, uint64_t *usec)
{
    const char *p = name;
    *sec = digits_at(&p);
    *usec = 0;
    if (p[0] == '.' && p[1] == 'M') {
        p += 2;
        *usec = digits_at(&p);
    }
}

static int uniq_cmp(const char *a, const char *b)
{
    size_t la = strcspn(a, ":"), lb = strcspn(b, ":");
    int c = memcmp(a, b, la < lb ? la : lb);
    return c ? c : (la > lb) - (la < lb);
}

/* Oldest first; one message seen in both new/ and cur/ sorts cur/ first. */
static int by_delivery(const void *x, const void *y)
{
    const struct maildir_entry *a = x, *b = y;
    uint64_t as, au, bs, bu;
    delivery_time(a->name, &as, &au);
    delivery_time(b->name, &bs, &bu);
    if (as != bs)
        return as < bs ? -1 : 1;
    if (au != bu)
        return au < bu ? -1 : 1;
    int c = uniq_cmp(a->name, b->name);
    return c ? c : a->in_new - b->in_new;
}

/* Regular files only: a link or a FIFO planted in a Maildir is not mail. */
static int is_regular(int dir, const struct dirent *de)
{
    struct stat st;
    if (de->d_type == DT_REG)
        return 1;
    if (de->d_type != DT_UNKNOWN)
        return 0;
    return fstatat(dir, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode);
}

static int add_entry(struct builder *b, int dir, const char *name, int in_new)
{
    struct maildir_list *l = b->l;
    uint64_t size;
    if (!size_from_name(name, &size)) {
        struct stat st;
        if (fstatat(dir, name, &st, AT_SYMLINK_NOFOLLOW) == -1)
            return errno == ENOENT ? 0 : -1;   /* gone meanwhile: not listed */
        size = (uint64_t)st.st_size;
    }
    if (l->n >= MAILDIR_SCAN_MAX) {
        b->too_many = 1;
        errno = EFBIG;
        return -1;
    }
    if (l->n == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 64;
        struct maildir_entry *v = realloc(l->v, cap * sizeof *v);
        if (!v)
            return -1;
        l->v = v;
        b->cap = cap;
    }
    struct maildir_entry *e = &l->v[l->n];
    *e = (struct maildir_entry){ .name = strdup(name), .in_new = in_new, .size = size };
    if (!e->name)
        return -1;
    if (maildir_uidl(name, e->uidl) == -1) {
        free(e->name);
        errno = ENOMEM;
        return -1;
    }
    l->n++;
    return 0;
}

static int scan_sub(struct builder *b, const char *path, const char *sub, int in_new)
{
    int fd = maildir_open_sub(path, sub);
    if (fd == -1)
        return errno == ENOENT ? 0 : -1;
    DIR *d = fdopendir(fd);
    if (!d) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    int r = 0;
    for (;;) {
        errno = 0;
        struct dirent *de = readdir(d);
        if (!de) {
            r = errno ? -1 : 0;
            break;
        }
        if (de->d_name[0] == '.' || !is_regular(dirfd(d), de))
            continue;
        if ((r = add_entry(b, dirfd(d), de->d_name, in_new)) == -1)
            break;
    }
    int e = errno;
    closedir(d);
    errno = e;
    return r;
}

/* Sorted, a message listed twice (moved during the scan) has its copies
 * next to each other, the one in cur/ first: keep that one. */
static void drop_doubles(struct maildir_list *l)
{
    size_t kept = 0;
    for (size_t i = 0; i < l->n; i++) {
        if (kept > 0 && uniq_cmp(l->v[kept - 1].name, l->v[i].name) == 0) {
            free(l->v[i].name);
            continue;
        }
        l->v[kept++] = l->v[i];
    }
    l->n = kept;
}

int maildir_scan(const char *path, struct maildir_list *out, char *err, size_t errlen)
{
    struct builder b = { .l = out };
    *out = (struct maildir_list){ 0 };
    if (!maildir_path_valid(path)) {
        snprintf(err, errlen, "refused Maildir path");
        errno = EINVAL;
        return -1;
    }
    if (scan_sub(&b, path, "new", 1) == -1 || scan_sub(&b, path, "cur", 0) == -1) {
        int e = errno;
        if (b.too_many)
            snprintf(err, errlen, "more than %d messages", MAILDIR_SCAN_MAX);
        else
            maildir_errno_text(e, err, errlen);
        maildir_list_free(out);
        errno = e;
        return -1;
    }
    if (out->n > 1) {
        qsort(out->v, out->n, sizeof *out->v, by_delivery);
        drop_doubles(out);
    }
    for (size_t i = 0; i < out->n; i++)
        out->total = out->v[i].size > UINT64_MAX - out->total ? UINT64_MAX
                                                               : out->total + out->v[i].size;
    return 0;
}

void maildir_list_free(struct maildir_list *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i].name);
    free(l->v);
    *l = (struct maildir_list){ 0 };
}

/* ---- RETR and DELE ---- */

static int name_ok(const char *name)
{
    return name && name[0] && name[0] != '.' && !strchr(name, '/') &&
           strnlen(name, MAILDIR_NAME_CAP) < MAILDIR_NAME_CAP;
}

/* 1 and its name in out when cur/ holds the message whose unique part is
 * name's (another reader moved it, changing its flags). */
static int find_in_cur(int cur, const char *name, char *out, size_t outlen)
{
    size_t ulen = strcspn(name, ":");
    int fd = openat(cur, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *d = fd == -1 ? NULL : fdopendir(fd);
    if (!d) {
        if (fd != -1)
            close(fd);
        return 0;
    }
    int found = 0;
    struct dirent *de;
    while (!found && (de = readdir(d)))
        if (strncmp(de->d_name, name, ulen) == 0 &&
            (de->d_name[ulen] == ':' || de->d_name[ulen] == '\0') &&
            strlen(de->d_name) < outlen) {
            snprintf(out, outlen, "%s", de->d_name);
            found = 1;
        }
    closedir(d);
    return found;
}

/* The name with S among its version 2 flags, in ASCII order; a name whose
 * info is of another version stays as it is. */
static void seen_name(const char *name, char *out, size_t outlen)
{
    const char *colon = strchr(name, ':');
    int k;
    if (!colon) {
        k = snprintf(out, outlen, "%s:2,S", name);
    } else if (strncmp(colon, ":2,", 3) != 0 || strchr(colon + 3, 'S')) {
        k = snprintf(out, outlen, "%s", name);
    } else {
        const char *flags = colon + 3;
        size_t before = 0;
        while (flags[before] && (unsigned char)flags[before] < 'S')
            before++;
        k = snprintf(out, outlen, "%.*s%.*sS%s", (int)(flags - name), name, (int)before,
                     flags, flags + before);
    }
    if (k < 0 || (size_t)k >= outlen)
        snprintf(out, outlen, "%s", name);
}

static int set_name(struct maildir_entry *e, const char *name, int in_new)
{
    char *copy = strdup(name);
    if (!copy)
        return -1;
    free(e->name);
    e->name = copy;
    e->in_new = in_new;
    return 0;
}

/* Non-blocking open, so that a FIFO swapped in cannot hang the thread. */
static int open_message(int dir, const char *name)
{
    int fd = openat(dir, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK);
    struct stat st;
    if (fd == -1)
        return -1;
    if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
        close(fd);
        errno = EINVAL;
        return -1;
    }
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    return fd;
}

/* The open message goes into cur/ with S; if that fails it is still read. */
static void mark_seen(int src, int cur, struct maildir_entry *e)
{
    char seen[MAILDIR_NAME_CAP];
    seen_name(e->name, seen, sizeof seen);
    if (!e->in_new && strcmp(seen, e->name) == 0)
        return;
    if (renameat(src, e->name, cur, seen) == 0)
        set_name(e, seen, 0);
}

static int open_seen_in(int newd, int cur, struct maildir_entry *e)
{
    int src = e->in_new ? newd : cur;
    int fd = open_message(src, e->name);
    if (fd == -1 && errno == ENOENT) {
        char moved[MAILDIR_NAME_CAP];
        if (!find_in_cur(cur, e->name, moved, sizeof moved)) {
            errno = ENOENT;
            return -1;
        }
        if (set_name(e, moved, 0) == -1)
            return -1;
        src = cur;
        fd = open_message(cur, e->name);
    }
    if (fd != -1)
        mark_seen(src, cur, e);
    return fd;
}

int maildir_open_seen(const char *path, struct maildir_entry *e, char *err, size_t errlen)
{
    if (!e || !name_ok(e->name) || !maildir_path_valid(path)) {
        snprintf(err, errlen, "refused message name");
        errno = EINVAL;
        return -1;
    }
    int cur = maildir_open_sub(path, "cur");
    int newd = cur != -1 && e->in_new ? maildir_open_sub(path, "new") : -1;
    int fd = -1;
    if (cur != -1 && (!e->in_new || newd != -1))
        fd = open_seen_in(newd, cur, e);
    int saved = errno;
    if (newd != -1)
        close(newd);
    if (cur != -1)
        close(cur);
    if (fd == -1)
        maildir_errno_text(saved, err, errlen);
    errno = saved;
    return fd;
}

int maildir_remove(const char *path, const struct maildir_entry *e)
{
    if (!e || !name_ok(e->name)) {
        errno = EINVAL;
        return -1;
    }
    int cur = maildir_open_sub(path, "cur");
    int dir = e->in_new ? maildir_open_sub(path, "new") : cur;
    int r = dir == -1 ? -1 : unlinkat(dir, e->name, 0);
    if (r == -1 && errno == ENOENT) {
        char moved[MAILDIR_NAME_CAP];
        r = cur != -1 && find_in_cur(cur, e->name, moved, sizeof moved) ? unlinkat(cur, moved, 0) : 0;
        if (r == -1 && errno == ENOENT)
            r = 0;
    }
    int saved = errno;
    if (dir != -1 && dir != cur)
        close(dir);
    if (cur != -1)
        close(cur);
    errno = saved;
    return r;
}

int maildir_clean_tmp(const char *path, time_t now)
{
    int fd = maildir_open_sub(path, "tmp");
    DIR *d = fd == -1 ? NULL : fdopendir(fd);
    if (!d) {
        int e = errno;
        if (fd != -1)
            close(fd);
        errno = e;
        return -1;
    }
    int removed = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        struct stat st;
        if (de->d_name[0] == '.' || fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) == -1 ||
            S_ISDIR(st.st_mode))
            continue;
        if (now - st.st_mtime > MAILDIR_TMP_MAX_AGE && unlinkat(dirfd(d), de->d_name, 0) == 0)
            removed++;
    }
    closedir(d);
    return removed;
}
