/*
 * Mapping a normalised request path onto the served tree, with a bounded
 * cache of open files and their stat results.
 *
 * Containment: the real path (symlinks resolved) of whatever is served
 * must lie inside the real path of --path, unless --follow-symlinks.
 * Every hit on a cached entry is checked against the disk first (a
 * stat), so a changed, replaced or deleted file is noticed at once.
 */
#ifndef GALE_WEB_FILES_H
#define GALE_WEB_FILES_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

struct evbuffer_file_segment;
struct mime_table;

struct files_cfg {
    const char *root;                /* --path: a directory or one file */
    const char *const *index;        /* index names, in order */
    size_t n_index;
    const char *const *ignore_ext;   /* ".html", ... (--ignore-ext) */
    size_t n_ignore_ext;
    int allow_ignore_ext;            /* try every extension found (--allow-ignore-ext) */
    int follow_symlinks;
    size_t max_entries;              /* cache size, e.g. 4096 */
    size_t small_file;               /* files up to this size are kept in memory */
    struct mime_table *mime;         /* content types; must outlive the entries */
};

enum file_kind { FILE_REGULAR, FILE_DIRECTORY };

struct file_entry {
    enum file_kind kind;
    char *fs_path;                   /* absolute path on disk */
    char *rel_path;                  /* the path under the root that was found */
    struct stat st;
    char etag[72];                   /* "\"<inode>-<size>-<mtime ns>-<ctime ns>\"" in hex, strong */
    char last_modified[32];          /* IMF-fixdate */
    const char *content_type;        /* from mime_type_of, valid until mime_free */
    const char *data;                /* whole contents when size <= small_file, else NULL */
    struct evbuffer_file_segment *segment;   /* for larger files (sendfile), else NULL */
    unsigned refs;                   /* held by responses in flight; internal */
};

/* One server's tree and its cache. */
struct files;

/* Startup: the configuration is copied; NULL and err when the root does
 * not exist (or memory runs out). */
struct files *files_new(const struct files_cfg *cfg, char *err, size_t errlen);
/* Drops the cache (entries still held live on until released); NULL:
 * nothing. */
void files_free(struct files *fs);
void files_flush(struct files *fs);  /* SIGHUP: forget every cached entry */

/*
 * Looks up rel ("" for the root, "a/b.txt"), as produced by
 * path_normalise.  For a directory, when dir_slash is set and an index
 * file exists, the index file is returned instead (kind FILE_REGULAR).
 * A missing name is tried with each --ignore-ext extension (or, with
 * --allow-ignore-ext, any "rel.*" file in that directory, first in
 * sorted order).  When root is a single file, every path maps to it.
 * Returns an entry with a reference held (release it with files_release),
 * or NULL with *status 404 (missing, or outside the root), 403 (not
 * readable, not a regular file or directory), 500.
 */
struct file_entry *files_lookup(struct files *fs, const char *rel, int dir_slash, int *status);
void files_hold(struct file_entry *e);
void files_release(struct file_entry *e);

#endif
