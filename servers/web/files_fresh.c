/*
 * Whether a cached entry of the served tree still matches the disk; see
 * files_node.h.  A hit is never taken on trust: the path is stat()ed
 * again and any difference in device, inode, size, mtime or ctime
 * (nanoseconds) drops the entry, as does one in the directory that chose
 * it (an index file, an ignored extension).  inotify would cost a little
 * less per hit, but it misses a write through a hard link in an unwatched
 * directory, changes made by other hosts on a network filesystem, and
 * anything past its watch limit.
 */
#include "files_node.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CHECK_AFTER_MS 1000          /* bytes read sooner than this after a change are compared again */

unsigned long long files_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME_COARSE, &ts);
    return (unsigned long long)ts.tv_sec * 1000 + (unsigned long long)ts.tv_nsec / 1000000;
}

ssize_t files_read_upto(int fd, char *buf, size_t len)
{
    size_t got = 0;
    while (got < len) {
        ssize_t r = pread(fd, buf + got, len - got, (off_t)got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -1;
        if (r == 0)
            break;
        got += (size_t)r;
    }
    return (ssize_t)got;
}

static int stat_changed(const struct stat *a, const struct stat *b)
{
    return a->st_dev != b->st_dev || a->st_ino != b->st_ino || a->st_size != b->st_size
        || a->st_mtim.tv_sec != b->st_mtim.tv_sec || a->st_mtim.tv_nsec != b->st_mtim.tv_nsec
        || a->st_ctim.tv_sec != b->st_ctim.tv_sec || a->st_ctim.tv_nsec != b->st_ctim.tv_nsec;
}

/* The file's bytes are still those held; one more byte is asked for so
 * that growth shows too. */
static int same_bytes(struct node *n)
{
    size_t size = (size_t)n->e.st.st_size;
    unsigned long long read_at = files_wall_ms();
    int fd = open(n->e.fs_path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOFOLLOW);
    char *buf = fd == -1 ? NULL : malloc(size + 1);
    ssize_t got = buf ? files_read_upto(fd, buf, size + 1) : -1;
    int same = got == (ssize_t)size && memcmp(buf, n->e.data, size) == 0;
    free(buf);
    if (fd != -1)
        close(fd);
    if (same)
        n->checked_ms = read_at;
    return same;
}

/* A file's times change before a write copies its data, so bytes read
 * soon after the ctime may predate a write still in progress, and no
 * later stat would tell.  Such bytes are compared with the file on each
 * hit until one of those reads comes CHECK_AFTER_MS after the change. */
static int bytes_settled(struct node *n)
{
    const struct timespec *c = &n->e.st.st_ctim;
    long long changed_ms = (long long)c->tv_sec * 1000 + c->tv_nsec / 1000000;
    if (!n->e.data || (long long)n->checked_ms - changed_ms >= CHECK_AFTER_MS)
        return 1;
    return same_bytes(n);
}

int files_node_fresh(struct node *n)
{
    struct stat st;
    if (stat(n->stat_path, &st) == -1 || stat_changed(&st, &n->e.st))
        return 0;
    if (n->dir_path && (stat(n->dir_path, &st) == -1 || stat_changed(&st, &n->dir_st)))
        return 0;
    return bytes_settled(n);
}
