/*
 * The served tree: request paths to files on disk, and a bounded LRU
 * cache of what was found; see files.h.
 *
 * Every lookup resolves the whole path with realpath() and, unless
 * --follow-symlinks, refuses (404, so nothing is revealed) a result
 * outside the real root: a symlink may point anywhere.  Small files are
 * read into memory; larger ones become libevent file segments, which own
 * their descriptor and are sent with sendfile() where possible.
 *
 * Entries are reference counted: the cache holds one reference and each
 * response in flight another, so eviction, files_flush() and a changed
 * file never free an entry that is still being sent.
 *
 * A hit is never taken on trust: files_fresh.c checks it against the disk.
 */
#include "files.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <event2/buffer.h>

#include "files_node.h"
#include "mime.h"
#include "response.h"

#define MAX_BUCKETS (1u << 20)
#define MAX_CANDIDATES 1024          /* --allow-ignore-ext: "name.*" entries considered */
#define DIR_TYPE "text/html; charset=utf-8"   /* a directory is served as its listing */

struct files {
    char *root;                      /* realpath of --path */
    int single;                      /* the root is one file */
    char **index, **ext;             /* ext: each with its leading dot */
    size_t n_index, n_ext;
    int any_ext, follow_symlinks;
    size_t max_entries, small_file;
    struct mime_table *mime;         /* not owned */
    struct node **buckets;
    size_t n_buckets, count;
    struct node *head, *tail;
};

static unsigned hash_key(const char *rel, int slash)
{
    unsigned h = 2166136261u ^ (unsigned)slash;     /* FNV-1a */
    for (; *rel; rel++)
        h = (h ^ (unsigned char)*rel) * 16777619u;
    return h;
}

static int errno_status(int e)
{
    switch (e) {
    case EACCES: case EPERM:
        return 403;
    case ENOENT: case ENOTDIR: case ELOOP: case ENAMETOOLONG:
        return 404;
    default:
        return 500;
    }
}

static int inside_root(const struct files *fs, const char *real)
{
    size_t n = strlen(fs->root);
    if (strcmp(fs->root, "/") == 0)
        return 1;
    return strncmp(real, fs->root, n) == 0 && (real[n] == '\0' || real[n] == '/');
}

/* dir + "/" + rel, or dir itself for rel ""; -1 when it does not fit. */
static int join(char *out, size_t len, const char *dir, const char *rel)
{
    const char *sep = (*rel && strcmp(dir, "/") != 0) ? "/" : "";
    int n = snprintf(out, len, "%s%s%s", dir, sep, *rel ? rel : "");
    return n < 0 || (size_t)n >= len ? -1 : 0;
}

static void node_free(struct node *n)
{
    if (n->e.segment)
        evbuffer_file_segment_free(n->e.segment);
    free((char *)n->e.data);
    free(n->e.fs_path);
    free(n->e.rel_path);
    free(n->stat_path);
    free(n->dir_path);
    free(n->key);
    free(n);
}

static unsigned long long ns_of(const struct timespec *t)
{
    return (unsigned long long)t->tv_sec * 1000000000ull + (unsigned long long)t->tv_nsec;
}

/* The ctime is in the tag because a rewrite that keeps the size and puts
 * the mtime back (cp -p, rsync, touch -r) changes nothing else. */
static void set_meta(struct files *fs, struct node *n)
{
    const struct stat *st = &n->e.st;
    snprintf(n->e.etag, sizeof n->e.etag, "\"%lx-%lx-%llx-%llx\"", (unsigned long)st->st_ino,
             (unsigned long)st->st_size, ns_of(&st->st_mtim), ns_of(&st->st_ctim));
    http_date(st->st_mtime, n->e.last_modified, sizeof n->e.last_modified);
    if (n->e.kind == FILE_DIRECTORY)
        n->e.content_type = DIR_TYPE;
    else
        n->e.content_type = mime_type_of(fs->mime, *n->e.rel_path ? n->e.rel_path : n->e.fs_path);
}

/* The whole file into memory.  A file that shrank meanwhile is served as
 * read; the size mismatch makes the next check replace the entry. */
static int read_small(struct node *n, int fd)
{
    unsigned long long read_at = files_wall_ms();
    char *buf = malloc((size_t)n->e.st.st_size + 1);
    ssize_t got = buf ? files_read_upto(fd, buf, (size_t)n->e.st.st_size) : -1;
    if (got < 0) {
        free(buf);
        return 500;
    }
    n->checked_ms = read_at;
    buf[got] = '\0';
    n->e.st.st_size = (off_t)got;
    n->e.data = buf;
    return 0;
}

/* Opens the regular file found; the stat kept is that of what was opened. */
static int load_regular(const struct files *fs, struct node *n)
{
    /* O_NONBLOCK: a FIFO swapped in since the stat() must not block the reactor. */
    int fd = open(n->e.fs_path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOFOLLOW);
    if (fd == -1)
        return errno_status(errno);
    struct stat st;
    if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
        close(fd);
        return 403;
    }
    n->e.st = st;
    if ((unsigned long long)st.st_size <= fs->small_file) {
        int s = read_small(n, fd);
        close(fd);
        return s;
    }
    n->e.segment = evbuffer_file_segment_new(fd, 0, st.st_size, EVBUF_FS_CLOSE_ON_FREE);
    if (!n->e.segment) {
        close(fd);
        return 500;
    }
    return 0;
}

static struct node *node_new(const char *stat_path, char *real, const char *rel,
                             const struct stat *st)
{
    struct node *n = calloc(1, sizeof *n);
    if (!n) {
        free(real);
        return NULL;
    }
    n->e.fs_path = real;
    n->e.st = *st;
    n->e.kind = S_ISDIR(st->st_mode) ? FILE_DIRECTORY : FILE_REGULAR;
    n->e.rel_path = strdup(rel);
    n->stat_path = strdup(stat_path);
    if (!n->e.rel_path || !n->stat_path) {
        node_free(n);
        return NULL;
    }
    return n;
}

/* Looks at root/rel: 0 with *out a new entry (a regular file, loaded, or
 * a directory), or an HTTP status. */
static int probe(struct files *fs, const char *rel, struct node **out)
{
    char path[PATH_MAX];
    struct stat st;
    if (join(path, sizeof path, fs->root, rel) == -1)
        return 404;
    char *real = realpath(path, NULL);
    if (!real)
        return errno_status(errno);
    if (!fs->follow_symlinks && !inside_root(fs, real)) {
        free(real);
        return 404;
    }
    if (stat(real, &st) == -1) {
        int s = errno_status(errno);
        free(real);
        return s;
    }
    if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode)) {   /* FIFO, device, socket */
        free(real);
        return 403;
    }
    struct node *n = node_new(path, real, rel, &st);
    if (!n)
        return 500;
    int s = n->e.kind == FILE_REGULAR ? load_regular(fs, n) : 0;
    if (s) {
        node_free(n);
        return s;
    }
    set_meta(fs, n);
    *out = n;
    return 0;
}

/* Like probe(), for a file chosen by listing dir (root/dir_rel): only a
 * regular file will do (404 otherwise), and dir is remembered so that
 * a change there is noticed too. */
static int probe_file_in(struct files *fs, const char *rel, const char *dir_path,
                         const struct stat *dir_st, struct node **out)
{
    struct node *n = NULL;
    int s = probe(fs, rel, &n);
    if (s)
        return s;
    if (n->e.kind != FILE_REGULAR || !(n->dir_path = strdup(dir_path))) {
        s = n->e.kind != FILE_REGULAR ? 404 : 500;
        node_free(n);
        return s;
    }
    n->dir_st = *dir_st;
    *out = n;
    return 0;
}

/* rel + "/" + name, or name alone under the root. */
static int join_rel(char *out, size_t len, const char *rel, const char *name)
{
    int n = snprintf(out, len, "%s%s%s", rel, *rel ? "/" : "", name);
    return n < 0 || (size_t)n >= len ? -1 : 0;
}

/* A directory asked for with a slash: its first index file that is a
 * regular file replaces it; the directory stays when there is none. */
static int find_index(struct files *fs, struct node **dir)
{
    struct node *d = *dir;
    char rel[PATH_MAX];
    for (size_t i = 0; i < fs->n_index; i++) {
        struct node *n = NULL;
        if (join_rel(rel, sizeof rel, d->e.rel_path, fs->index[i]) == -1)
            continue;
        int s = probe_file_in(fs, rel, d->stat_path, &d->e.st, &n);
        if (s == 404)
            continue;
        node_free(d);
        *dir = n;
        return s;
    }
    return 0;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* --allow-ignore-ext: the names "base.*" in dir, sorted; -1 on error. */
static int list_candidates(const char *dir, const char *base, char ***out, size_t *n)
{
    size_t blen = strlen(base), cap = 0;
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    *out = NULL;
    *n = 0;
    for (struct dirent *de; (de = readdir(d)) && *n < MAX_CANDIDATES;) {
        if (strncmp(de->d_name, base, blen) != 0 || de->d_name[blen] != '.')
            continue;
        if (*n == cap) {
            char **v = realloc(*out, (cap = cap ? cap * 2 : 8) * sizeof *v);
            if (!v)
                break;
            *out = v;
        }
        if (!((*out)[*n] = strdup(de->d_name)))
            break;
        (*n)++;
    }
    closedir(d);
    if (*n)
        qsort(*out, *n, sizeof **out, cmp_names);
    return 0;
}

static int find_any_ext(struct files *fs, const char *rel, const char *dir_path,
                        const struct stat *dir_st, struct node **out)
{
    const char *slash = strrchr(rel, '/');
    const char *base = slash ? slash + 1 : rel;
    char **names, path[PATH_MAX];
    size_t n, i;
    int s = 404;
    if (!*base || list_candidates(dir_path, base, &names, &n) == -1)
        return 404;
    for (i = 0; i < n && s == 404; i++) {
        int len = snprintf(path, sizeof path, "%.*s%s", (int)(base - rel), rel, names[i]);
        if (len > 0 && (size_t)len < sizeof path)
            s = probe_file_in(fs, path, dir_path, dir_st, out);
    }
    for (i = 0; i < n; i++)
        free(names[i]);
    free(names);
    return s;
}

/* A missing rel: rel + each --ignore-ext extension, then (--allow-ignore-ext)
 * any "rel.*", as Twisted's siblingExtensionSearch. */
static int find_by_ext(struct files *fs, const char *rel, struct node **out)
{
    char dir_rel[PATH_MAX], dir_path[PATH_MAX], path[PATH_MAX];
    struct stat dir_st;
    const char *slash = strrchr(rel, '/');
    snprintf(dir_rel, sizeof dir_rel, "%.*s", slash ? (int)(slash - rel) : 0, rel);
    if (join(dir_path, sizeof dir_path, fs->root, dir_rel) == -1 || stat(dir_path, &dir_st) == -1)
        return 404;
    for (size_t i = 0; i < fs->n_ext; i++) {
        int len = snprintf(path, sizeof path, "%s%s", rel, fs->ext[i]);
        if (len < 0 || (size_t)len >= sizeof path)
            continue;
        int s = probe_file_in(fs, path, dir_path, &dir_st, out);
        if (s != 404)
            return s;
    }
    return fs->any_ext ? find_any_ext(fs, rel, dir_path, &dir_st, out) : 404;
}

static struct node *lookup_fresh(struct files *fs, const char *rel, int dir_slash, int *status)
{
    struct node *n = NULL;
    int s = probe(fs, rel, &n);
    if (s == 404 && !dir_slash && *rel && !fs->single)
        s = find_by_ext(fs, rel, &n);
    if (s == 0 && n->e.kind == FILE_DIRECTORY && dir_slash) {
        s = find_index(fs, &n);
    } else if (s == 0 && dir_slash && !fs->single) {
        /* "/file.txt/" names a directory that is not there, as in Twisted and nginx. */
        node_free(n);
        s = 404;
    }
    if (s) {
        *status = s;
        return NULL;
    }
    return n;
}

static void lru_unlink(struct files *fs, struct node *n)
{
    if (n->prev)
        n->prev->next = n->next;
    else
        fs->head = n->next;
    if (n->next)
        n->next->prev = n->prev;
    else
        fs->tail = n->prev;
    n->prev = n->next = NULL;
}

static void lru_push(struct files *fs, struct node *n)
{
    n->next = fs->head;
    if (fs->head)
        fs->head->prev = n;
    fs->head = n;
    if (!fs->tail)
        fs->tail = n;
}

static struct node *cache_find(const struct files *fs, const char *rel, int slash, unsigned h)
{
    if (!fs->n_buckets)
        return NULL;
    for (struct node *n = fs->buckets[h & (fs->n_buckets - 1)]; n; n = n->hnext)
        if (n->hash == h && n->key_slash == slash && strcmp(n->key, rel) == 0)
            return n;
    return NULL;
}

/* Drops the cache's reference; a response still sending the entry keeps it alive. */
static void cache_remove(struct files *fs, struct node *n)
{
    struct node **p = &fs->buckets[n->hash & (fs->n_buckets - 1)];
    while (*p != n)
        p = &(*p)->hnext;
    *p = n->hnext;
    lru_unlink(fs, n);
    n->cached = 0;
    fs->count--;
    files_release(&n->e);
}

static void cache_insert(struct files *fs, struct node *n, const char *rel, int slash,
                         unsigned h)
{
    if (!fs->n_buckets || !(n->key = strdup(rel)))
        return;
    while (fs->count >= fs->max_entries && fs->tail)
        cache_remove(fs, fs->tail);
    n->key_slash = slash;
    n->hash = h;
    n->cached = 1;
    n->hnext = fs->buckets[h & (fs->n_buckets - 1)];
    fs->buckets[h & (fs->n_buckets - 1)] = n;
    lru_push(fs, n);
    fs->count++;
    n->e.refs++;
}

struct file_entry *files_lookup(struct files *fs, const char *rel, int dir_slash, int *status)
{
    int dummy;
    status = status ? status : &dummy;
    if (!fs) {
        *status = 500;
        return NULL;
    }
    if (fs->single || !rel) {         /* one file answers every path */
        rel = "";
        dir_slash = fs->single ? 0 : dir_slash;
    }
    unsigned h = hash_key(rel, dir_slash);
    struct node *n = cache_find(fs, rel, dir_slash, h);
    if (n && !files_node_fresh(n)) {
        cache_remove(fs, n);
        n = NULL;
    }
    if (n) {
        lru_unlink(fs, n);
        lru_push(fs, n);
    } else if ((n = lookup_fresh(fs, rel, dir_slash, status))) {
        cache_insert(fs, n, rel, dir_slash, h);
    } else {
        return NULL;
    }
    n->e.refs++;
    *status = 200;
    return &n->e;
}

void files_hold(struct file_entry *e)
{
    if (e)
        e->refs++;
}

void files_release(struct file_entry *e)
{
    if (e && --e->refs == 0)
        node_free((struct node *)e);
}

void files_flush(struct files *fs)
{
    while (fs && fs->head)
        cache_remove(fs, fs->head);
}

static void free_strings(char **v, size_t n)
{
    for (size_t i = 0; v && i < n; i++)
        free(v[i]);
    free(v);
}

void files_free(struct files *fs)
{
    if (!fs)
        return;
    files_flush(fs);
    free(fs->buckets);
    free_strings(fs->index, fs->n_index);
    free_strings(fs->ext, fs->n_ext);
    free(fs->root);
    free(fs);
}

/* --ignore-ext values with their leading dot; "*" is --allow-ignore-ext. */
static int copy_config(struct files *fs, const struct files_cfg *cfg)
{
    fs->index = calloc(cfg->n_index + 1, sizeof *fs->index);
    fs->ext = calloc(cfg->n_ignore_ext + 1, sizeof *fs->ext);
    if (!fs->index || !fs->ext)
        return -1;
    for (size_t i = 0; i < cfg->n_index; i++)
        if (*cfg->index[i] && !(fs->index[fs->n_index++] = strdup(cfg->index[i])))
            return -1;
    for (size_t i = 0; i < cfg->n_ignore_ext; i++) {
        const char *x = cfg->ignore_ext[i];
        char *dotted;
        if (strcmp(x, "*") == 0) {
            fs->any_ext = 1;
            continue;
        }
        if (*x == '.')
            x++;
        if (!*x)
            continue;
        if (asprintf(&dotted, ".%s", x) == -1)
            return -1;
        fs->ext[fs->n_ext++] = dotted;
    }
    fs->any_ext |= cfg->allow_ignore_ext;
    fs->follow_symlinks = cfg->follow_symlinks;
    fs->small_file = cfg->small_file;
    fs->max_entries = cfg->max_entries;
    fs->mime = cfg->mime;
    for (fs->n_buckets = fs->max_entries ? 16 : 0;
         fs->n_buckets && fs->n_buckets < fs->max_entries && fs->n_buckets < MAX_BUCKETS;)
        fs->n_buckets *= 2;
    if (fs->n_buckets && !(fs->buckets = calloc(fs->n_buckets, sizeof *fs->buckets)))
        return -1;
    return 0;
}

/* The real root, which must be a directory or a regular file; -1 and err. */
static int open_root(struct files *fs, const char *root, char *err, size_t errlen)
{
    struct stat st;
    if (!root || !*root) {
        snprintf(err, errlen, "no path to serve");
        return -1;
    }
    if (!(fs->root = realpath(root, NULL)) || stat(fs->root, &st) == -1) {
        snprintf(err, errlen, "cannot serve %s: %s", root, strerror(errno));
        return -1;
    }
    if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "cannot serve %s: not a directory or regular file", root);
        return -1;
    }
    fs->single = S_ISREG(st.st_mode);
    return 0;
}

struct files *files_new(const struct files_cfg *cfg, char *err, size_t errlen)
{
    struct files *fs = calloc(1, sizeof *fs);
    if (!fs) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (open_root(fs, cfg->root, err, errlen) == -1) {
        files_free(fs);
        return NULL;
    }
    if (copy_config(fs, cfg) == -1) {
        snprintf(err, errlen, "out of memory");
        files_free(fs);
        return NULL;
    }
    return fs;
}
