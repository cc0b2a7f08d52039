/*
 * Directory listings as HTML5; see listing.h.
 *
 * Every name on the page comes from the disk and may be hostile: hrefs
 * are percent-encoded (which also turns "javascript:" into a harmless
 * relative path) and text is HTML-escaped.  No script, no external
 * assets: the page works under any Content-Security-Policy.
 */
#include "listing.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <event2/buffer.h>

#include "path.h"

#define MAX_ENTRIES 100000        /* a bigger directory is listed in part */
#define MAX_NAME 255              /* longer names are left out */

struct item {
    char *name;
    int is_dir;
    int has_stat;                 /* 0: a dangling symlink or a vanished entry */
    off_t size;
    time_t mtime;
};

struct items {
    struct item *v;
    size_t n, cap;
    size_t left_out;              /* past MAX_ENTRIES */
};

static const char style[] =
    "body{font-family:system-ui,-apple-system,\"Segoe UI\",Roboto,sans-serif;"
    "margin:2em;color:#222;background:#fff}\n"
    "h1{font-size:1.4em;font-weight:600;overflow-wrap:anywhere}\n"
    "table{border-collapse:collapse;min-width:50%}\n"
    "th,td{padding:.3em .9em;text-align:left}\n"
    "th{border-bottom:1px solid #ccc}\n"
    "tbody tr:nth-child(even){background:#f3f4f6}\n"
    ".size{text-align:right;font-variant-numeric:tabular-nums}\n"
    "a{color:#0645ad;text-decoration:none}a:hover{text-decoration:underline}\n"
    "p{color:#666}\n";

/* Size and time of name in dir: a symlink counts as what it points to;
 * a dangling one is still listed, with "-" for both. */
static void stat_item(int dfd, struct item *it)
{
    struct stat st;
    if (fstatat(dfd, it->name, &st, 0) == -1) {
        it->has_stat = 0;
        return;
    }
    it->has_stat = 1;
    it->is_dir = S_ISDIR(st.st_mode);
    it->size = st.st_size;
    it->mtime = st.st_mtime;
}

static int add_item(struct items *l, const char *name, int dfd)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        struct item *v = realloc(l->v, cap * sizeof *v);
        if (!v)
            return -1;
        l->v = v;
        l->cap = cap;
    }
    struct item *it = &l->v[l->n];
    memset(it, 0, sizeof *it);
    if (!(it->name = strdup(name)))
        return -1;
    stat_item(dfd, it);
    l->n++;
    return 0;
}

static void free_items(struct items *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i].name);
    free(l->v);
}

/* Dotfiles are hidden, as nginx's autoindex does (Twisted shows them):
 * .htaccess, .git and editor droppings are rarely meant to be browsed. */
static int read_items(const char *fs_path, struct items *l)
{
    int fd = open(fs_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NONBLOCK);
    DIR *d = fd == -1 ? NULL : fdopendir(fd);
    if (!d) {
        if (fd != -1)
            close(fd);
        return -1;
    }
    for (struct dirent *de; (de = readdir(d));) {
        if (de->d_name[0] == '.' || strlen(de->d_name) > MAX_NAME)
            continue;
        if (l->n >= MAX_ENTRIES) {
            l->left_out++;
            continue;
        }
        if (add_item(l, de->d_name, dirfd(d)) == -1) {
            closedir(d);
            return -1;
        }
    }
    closedir(d);
    return 0;
}

/* Directories first, then files; bytewise by name within each. */
static int cmp_items(const void *pa, const void *pb)
{
    const struct item *a = pa, *b = pb;
    if (a->is_dir != b->is_dir)
        return b->is_dir - a->is_dir;
    return strcmp(a->name, b->name);
}

/* "999 B", "1.2 KiB", ... */
static void human_size(off_t size, char *buf, size_t len)
{
    static const char *const units[] = { "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" };
    if (size < 1024) {
        snprintf(buf, len, "%lld B", (long long)size);
        return;
    }
    double v = (double)size / 1024;
    size_t u = 0;
    while (v >= 1024 && u + 1 < sizeof units / sizeof units[0]) {
        v /= 1024;
        u++;
    }
    snprintf(buf, len, "%.1f %s", v, units[u]);
}

static void add_row(struct evbuffer *page, const struct item *it)
{
    char href[3 * MAX_NAME + 1], text[6 * MAX_NAME + 1], when[32] = "-", size[32];
    const char *slash = it->is_dir ? "/" : "";
    struct tm tm;
    path_url_encode(it->name, href, sizeof href);
    path_html_escape(it->name, text, sizeof text);
    if (it->has_stat && gmtime_r(&it->mtime, &tm))
        strftime(when, sizeof when, "%Y-%m-%d %H:%M", &tm);
    evbuffer_add_printf(page, "<tr><td><a href=\"%s%s\">%s%s</a></td>", href, slash, text, slash);
    if (it->has_stat && !it->is_dir) {
        human_size(it->size, size, sizeof size);
        evbuffer_add_printf(page, "<td class=\"size\" title=\"%lld bytes\">%s</td>",
                            (long long)it->size, size);
    } else {
        evbuffer_add_printf(page, "<td class=\"size\">-</td>");
    }
    evbuffer_add_printf(page, "<td>%s</td></tr>\n", when);
}

static int add_head(struct evbuffer *page, const char *url_path)
{
    size_t len = strlen(url_path) * 6 + 1;
    char *title = malloc(len);
    if (!title)
        return -1;
    path_html_escape(url_path, title, len);
    evbuffer_add_printf(page,
                        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
                        "<title>Index of %s</title>\n<style>\n%s</style>\n</head>\n<body>\n"
                        "<h1>Index of %s</h1>\n<table>\n<thead><tr><th>Name</th>"
                        "<th class=\"size\">Size</th><th>Last modified</th></tr></thead>\n"
                        "<tbody>\n", title, style, title);
    free(title);
    if (strcmp(url_path, "/") != 0)
        evbuffer_add_printf(page, "<tr><td><a href=\"../\">../</a></td>"
                                  "<td class=\"size\">-</td><td>-</td></tr>\n");
    return 0;
}

static int build_page(struct evbuffer *page, const char *url_path, const struct items *l)
{
    if (add_head(page, url_path) == -1)
        return -1;
    for (size_t i = 0; i < l->n; i++)
        add_row(page, &l->v[i]);
    evbuffer_add_printf(page, "</tbody>\n</table>\n");
    if (l->left_out)
        evbuffer_add_printf(page, "<p>%zu more entries not shown.</p>\n", l->left_out);
    evbuffer_add_printf(page, "</body>\n</html>\n");
    return 0;
}

int listing_html(const char *fs_path, const char *url_path, struct evbuffer *out)
{
    struct items l = { 0 };
    struct evbuffer *page = NULL;
    int r = -1;
    if (read_items(fs_path, &l) == 0 && (page = evbuffer_new())) {
        if (l.n)
            qsort(l.v, l.n, sizeof *l.v, cmp_items);
        if (build_page(page, url_path, &l) == 0)
            r = evbuffer_add_buffer(out, page);
    }
    if (page)
        evbuffer_free(page);
    free_items(&l);
    return r == 0 ? 0 : -1;
}
