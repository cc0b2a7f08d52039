/*
 * Unit test of the web server's file side over a temporary tree:
 * servers/web/files.c (lookup, containment, symlinks, index files,
 * --ignore-ext, single-file roots, 403s, change detection, the LRU cache
 * and reference counts) and servers/web/listing.c (order, escaping,
 * hidden files, sizes).  servers/web is not part of galecore, so the
 * sources are compiled in; ASan builds check that released entries are
 * freed.  TAP output; exits non-zero when a check fails.
 */
#include "../../servers/web/files.c"
#include "../../servers/web/files_fresh.c"
#include "../../servers/web/listing.c"
#include "../../servers/web/mime.c"
#include "../../servers/web/path.c"
#include "../../common/response.c"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "unit.h"

static char top[64];          /* the temp dir; the served tree is top/root */
static char root[128];
static char err[256];
static struct mime_table *mime;
static struct files *fs;      /* the tree init() made */

static void put(const char *rel, const char *text)
{
    char p[512];
    snprintf(p, sizeof p, "%s/%s", root, rel);
    FILE *f = fopen(p, "w");
    if (!f || fputs(text, f) < 0 || fclose(f) != 0)
        fprintf(stderr, "cannot write %s\n", p);
}

static void dir(const char *rel)
{
    char p[512];
    snprintf(p, sizeof p, "%s/%s", root, rel);
    mkdir(p, 0755);
}

static void link_to(const char *target, const char *rel)
{
    char p[512];
    snprintf(p, sizeof p, "%s/%s", root, rel);
    if (symlink(target, p) != 0)
        fprintf(stderr, "cannot link %s\n", p);
}

static void make_tree(void)
{
    snprintf(root, sizeof root, "%s/root", top);
    mkdir(root, 0755);
    put("a.txt", "hello");
    put("b.txt", "bee");
    put("c.txt", "sea");
    put("d.txt", "dee");
    put("index.html", "<p>home</p>");
    dir("sub");
    put("sub/x.css", "x{}");
    dir("d2");
    dir("d2/index.html");                  /* an index that is a directory: skipped */
    put("d2/index.htm", "htm");
    put("page.html", "page");
    put("doc.zz", "zz");
    put("doc.aa", "aa");
    dir("doc.0");                          /* sorts first, but is a directory */
    link_to("a.txt", "ln.txt");
    link_to("/etc/passwd", "pw");
    link_to("/etc", "etc");
    char p[512];
    snprintf(p, sizeof p, "%s/fifo", root);
    mkfifo(p, 0644);
    put("secret", "no");
    snprintf(p, sizeof p, "%s/secret", root);
    chmod(p, 0);
    snprintf(p, sizeof p, "%s/outside.txt", top);
    FILE *f = fopen(p, "w");
    if (f)
        fclose(f);
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st; (void)flag; (void)ftw;
    return remove(p);
}

static int init(const char *r, const char *const *exts, size_t n_exts, int any, int follow,
                size_t max_entries)
{
    static const char *const idx[] = { "index.html", "index.htm" };
    struct files_cfg cfg = {
        .root = r, .index = idx, .n_index = 2, .ignore_ext = exts, .n_ignore_ext = n_exts,
        .allow_ignore_ext = any, .follow_symlinks = follow, .max_entries = max_entries,
        .small_file = 64, .mime = mime,
    };
    fs = files_new(&cfg, err, sizeof err);
    return fs ? 0 : -1;
}

/* The status of a lookup; the entry, when there is one, is released. */
static int status_of(const char *rel, int slash)
{
    int st = 0;
    struct file_entry *e = files_lookup(fs, rel, slash, &st);
    files_release(e);
    return st;
}

static void test_basics(void)
{
    int st;
    char want[256];
    CHECK(init(root, NULL, 0, 0, 0, 16) == 0, "files_new on a directory");
    struct file_entry *e = files_lookup(fs, "a.txt", 0, &st);
    CHECK(e && st == 200 && e->kind == FILE_REGULAR, "a.txt found");
    if (!e)
        return;
    CHECK_STR(e->data, "hello", "small file in memory");
    CHECK(!e->segment && e->st.st_size == 5, "no segment; size 5");
    CHECK_STR(e->rel_path, "a.txt", "rel_path");
    snprintf(want, sizeof want, "%s/a.txt", fs->root);
    CHECK_STR(e->fs_path, want, "fs_path is the real path");
    CHECK_STR(e->content_type, "text/plain; charset=utf-8", "content type");
    CHECK(e->etag[0] == '"' && e->etag[strlen(e->etag) - 1] == '"', "etag is quoted: %s", e->etag);
    CHECK_HAS(e->last_modified, " GMT", "last_modified: %s", e->last_modified);
    struct file_entry *again = files_lookup(fs, "a.txt", 0, &st);
    CHECK(again == e && e->refs == 3, "a second lookup is the cached entry");
    files_release(again);
    files_release(e);

    e = files_lookup(fs, "", 1, &st);
    CHECK(e && e->kind == FILE_REGULAR && strcmp(e->rel_path, "index.html") == 0,
          "/ with a slash: index.html");
    files_release(e);
    e = files_lookup(fs, "", 0, &st);
    CHECK(e && e->kind == FILE_DIRECTORY && strcmp(e->rel_path, "") == 0, "\"\" without slash: dir");
    files_release(e);
    e = files_lookup(fs, "sub", 1, &st);
    CHECK(e && e->kind == FILE_DIRECTORY && !e->data && !e->segment, "sub/ has no index: dir");
    files_release(e);
    e = files_lookup(fs, "d2", 1, &st);
    CHECK(e && e->kind == FILE_REGULAR && strcmp(e->rel_path, "d2/index.htm") == 0,
          "d2/: the directory index.html is skipped for index.htm");
    files_release(e);
    CHECK(status_of("sub/x.css", 0) == 200, "sub/x.css");
    CHECK(status_of("a.txt", 1) == 404, "a.txt/ is 404");
    CHECK(status_of("missing", 0) == 404, "missing: 404");
    CHECK(status_of("a.txt/x", 0) == 404, "a file as a directory: 404");
    CHECK(status_of("page", 0) == 404, "no --ignore-ext: page is 404");
    CHECK(files_lookup(fs, "missing", 0, NULL) == NULL, "status may be NULL");
    files_free(fs);
}

static void test_symlinks(void)
{
    int st;
    CHECK(init(root, NULL, 0, 0, 0, 16) == 0, "init");
    struct file_entry *e = files_lookup(fs, "ln.txt", 0, &st);
    CHECK(e && e->data && strcmp(e->data, "hello") == 0, "symlink inside the root: served");
    CHECK(e && strcmp(e->rel_path, "ln.txt") == 0, "under its own name");
    files_release(e);
    CHECK(status_of("pw", 0) == 404, "symlink to /etc/passwd: 404");
    CHECK(status_of("etc/passwd", 0) == 404, "through a symlinked directory: 404");
    CHECK(status_of("fifo", 0) == 403, "a FIFO: 403");
    if (geteuid() != 0)
        CHECK(status_of("secret", 0) == 403, "unreadable file: 403");
    else
        CHECK(1, "# SKIP root reads every file");
    files_free(fs);

    CHECK(init(root, NULL, 0, 0, 1, 16) == 0, "init --follow-symlinks");
    CHECK(status_of("pw", 0) == 200, "--follow-symlinks: /etc/passwd served");
    CHECK(status_of("etc/passwd", 0) == 200, "--follow-symlinks: through a directory");
    files_free(fs);
}

static void test_ignore_ext(void)
{
    static const char *const exts[] = { "htm", ".html", "" };
    static const char *const star[] = { "*" };
    int st;
    CHECK(init(root, exts, 3, 0, 0, 16) == 0, "init --ignore-ext htm --ignore-ext .html");
    struct file_entry *e = files_lookup(fs, "page", 0, &st);
    CHECK(e && strcmp(e->rel_path, "page.html") == 0, "page finds page.html");
    CHECK(e && strcmp(e->content_type, "text/html; charset=utf-8") == 0, "typed as html");
    files_release(e);
    CHECK(status_of("page", 1) == 404, "page/ does not");
    CHECK(status_of("doc", 0) == 404, "doc: no such extension");
    CHECK(status_of("sub/x", 0) == 404, "sub/x: no such extension");
    files_free(fs);

    CHECK(init(root, NULL, 0, 1, 0, 16) == 0, "init --allow-ignore-ext");
    e = files_lookup(fs, "doc", 0, &st);
    CHECK(e && strcmp(e->rel_path, "doc.aa") == 0, "doc: the first regular doc.* (%s)",
          e ? e->rel_path : "none");
    files_release(e);
    e = files_lookup(fs, "sub/x", 0, &st);
    CHECK(e && strcmp(e->rel_path, "sub/x.css") == 0, "sub/x finds sub/x.css");
    files_release(e);
    CHECK(status_of("nothing", 0) == 404, "nothing.*: 404");
    files_free(fs);
    CHECK(init(root, star, 1, 0, 0, 16) == 0 && status_of("doc", 0) == 200,
          "--ignore-ext '*' means any extension");
    files_free(fs);
}

static void test_single_file(void)
{
    char p[256];
    int st;
    snprintf(p, sizeof p, "%s/sub/x.css", root);
    CHECK(init(p, NULL, 0, 0, 0, 16) == 0, "init on a file");
    struct file_entry *e = files_lookup(fs, "any/thing", 1, &st);
    CHECK(e && e->data && strcmp(e->data, "x{}") == 0, "every path is that file");
    CHECK(e && strcmp(e->content_type, "text/css; charset=utf-8") == 0, "typed by its name");
    struct file_entry *e2 = files_lookup(fs, "", 0, &st);
    CHECK(e2 == e, "one cache entry serves every path");
    files_release(e);
    files_release(e2);
    files_free(fs);
    CHECK(init("/nonexistent/gale", NULL, 0, 0, 0, 16) == -1, "a missing root: %s", err);
    CHECK(files_lookup(fs, "a", 0, &st) == NULL && st == 500, "lookup without a tree: 500");
    snprintf(p, sizeof p, "%s/fifo", root);
    CHECK(init(p, NULL, 0, 0, 0, 16) == -1, "a FIFO root: %s", err);
}

static void test_change(void)
{
    int st;
    CHECK(init(root, NULL, 0, 0, 0, 16) == 0, "init");
    struct file_entry *old = files_lookup(fs, "c.txt", 0, &st);
    put("c.txt", "the sea, changed");
    struct file_entry *e = files_lookup(fs, "c.txt", 0, &st);
    CHECK(e && e != old && strcmp(e->data, "the sea, changed") == 0, "a changed file: its new bytes at once");
    CHECK(e && strcmp(e->etag, old->etag) != 0, "with a new etag");
    CHECK_STR(old->data, "sea", "the old entry lives on while held");
    files_release(old);
    files_release(e);

    e = files_lookup(fs, "sub", 1, &st);
    files_release(e);
    put("sub/index.html", "now an index");
    e = files_lookup(fs, "sub", 1, &st);
    CHECK(e && e->kind == FILE_REGULAR, "a new index file is noticed");
    files_release(e);
    files_free(fs);
}

static void test_cache(void)
{
    int st;
    CHECK(init(root, NULL, 0, 0, 0, 2) == 0, "init with max_entries 2");
    CHECK(status_of("a.txt", 0) == 200 && status_of("b.txt", 0) == 200, "a, b");
    CHECK(status_of("a.txt", 0) == 200, "a again: most recent");
    CHECK(status_of("c.txt", 0) == 200, "c evicts b");
    CHECK(fs->count == 2, "two entries cached");
    CHECK(cache_find(fs, "a.txt", 0, hash_key("a.txt", 0))
          && cache_find(fs, "c.txt", 0, hash_key("c.txt", 0))
          && !cache_find(fs, "b.txt", 0, hash_key("b.txt", 0)), "LRU: a and c kept, b gone");

    struct file_entry *held = files_lookup(fs, "d.txt", 0, &st);
    CHECK(held && held->refs == 2, "held: refs 2 (cache and caller)");
    files_hold(held);
    files_release(held);
    CHECK(status_of("a.txt", 0) == 200 && status_of("b.txt", 0) == 200, "d evicted");
    CHECK(held->refs == 1 && strcmp(held->data, "dee") == 0, "an evicted entry lives while held");
    files_release(held);             /* freed here: ASan reports a leak otherwise */

    held = files_lookup(fs, "a.txt", 0, &st);
    files_flush(fs);
    CHECK(fs->count == 0 && held->refs == 1 && strcmp(held->data, "hello") == 0,
          "files_flush: the cache is empty, the held entry alive");
    files_release(held);
    files_free(fs);

    CHECK(init(root, NULL, 0, 0, 0, 0) == 0, "init with no cache");
    held = files_lookup(fs, "a.txt", 0, &st);
    CHECK(held && held->refs == 1 && fs->count == 0, "max_entries 0: nothing cached");
    files_release(held);
    files_free(fs);
}

static void test_segment(void)
{
    char big[200];
    int st;
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    put("big.bin", big);
    CHECK(init(root, NULL, 0, 0, 0, 16) == 0, "init");
    struct file_entry *e = files_lookup(fs, "big.bin", 0, &st);
    CHECK(e && !e->data && e->segment && e->st.st_size == 199, "above small_file: a segment");
    struct evbuffer *b = evbuffer_new();
    CHECK(e && evbuffer_add_file_segment(b, e->segment, 0, e->st.st_size) == 0, "added to a buffer");
    files_release(e);
    files_free(fs);
    CHECK(evbuffer_get_length(b) == 199, "the buffer keeps the segment after the entry is gone");
    unsigned char *p = evbuffer_pullup(b, -1);
    CHECK(p && p[0] == 'x' && p[198] == 'x', "and its bytes");
    evbuffer_free(b);
}

/* Two servers in one process: each its own tree, cache and types. */
static void test_two_trees(void)
{
    static const char *const idx[] = { "index.html" };
    char sub[256];
    int st;
    snprintf(sub, sizeof sub, "%s/sub", root);
    struct mime_table *m1 = mime_new(), *m2 = mime_new();
    mime_load(m1, NULL, "application/x-one");
    mime_load(m2, NULL, "application/x-two");
    struct files_cfg c1 = { .root = root, .index = idx, .n_index = 1, .max_entries = 16,
                            .small_file = 64, .mime = m1 };
    struct files_cfg c2 = { .root = sub, .index = idx, .n_index = 1, .max_entries = 1,
                            .small_file = 64, .mime = m2 };
    struct files *f1 = files_new(&c1, err, sizeof err), *f2 = files_new(&c2, err, sizeof err);
    CHECK(f1 && f2 && f1 != f2, "two trees");
    if (!f1 || !f2) {
        files_free(f1);
        files_free(f2);
        mime_free(m1);
        mime_free(m2);
        return;
    }
    put("noext", "one");
    put("sub/noext", "two");
    struct file_entry *e1 = files_lookup(f1, "noext", 0, &st);
    struct file_entry *e2 = files_lookup(f2, "noext", 0, &st);
    CHECK(e1 && e2 && e1 != e2, "the same path in each tree: two entries");
    CHECK(e1 && e2 && strcmp(e1->data, "one") == 0 && strcmp(e2->data, "two") == 0,
          "each from its own root");
    CHECK_STR(e1 ? e1->content_type : "", "application/x-one", "the first tree's default type");
    CHECK_STR(e2 ? e2->content_type : "", "application/x-two", "the second tree's default type");
    files_release(e1);
    files_release(e2);
    CHECK(files_lookup(f1, "x.css", 0, &st) == NULL && st == 404, "x.css: not at the first root");
    e2 = files_lookup(f2, "x.css", 0, &st);
    CHECK(e2 && strcmp(e2->data, "x{}") == 0, "but at the second");
    files_release(e2);
    CHECK(f1->count == 1 && f2->count == 1, "each cache holds its own, to its own bound");
    CHECK(status_of("a.txt", 0) == 200, "the global test tree is untouched");
    files_flush(f1);
    CHECK(f1->count == 0 && f2->count == 1, "flushing one cache leaves the other");
    files_free(f1);
    mime_free(m1);
    e2 = files_lookup(f2, "noext", 0, &st);
    CHECK(e2 && strcmp(e2->content_type, "application/x-two") == 0,
          "the second tree works on once the first is freed");
    files_release(e2);
    files_free(f2);
    mime_free(m2);
}

static char *list(const char *rel, const char *url, int *r)
{
    char p[512];
    struct evbuffer *b = evbuffer_new();
    snprintf(p, sizeof p, "%s/%s", root, rel);
    *r = listing_html(p, url, b);
    size_t n = evbuffer_get_length(b);
    char *s = malloc(n + 1);
    evbuffer_remove(b, s, n);
    s[n] = '\0';
    evbuffer_free(b);
    return s;
}

static void test_listing(void)
{
    int r;
    dir("ls");
    dir("ls/zdir");
    put("ls/<b>&\"x\".txt", "x");
    put("ls/.hidden", "x");
    char kb[2001];
    memset(kb, 'k', 2000);
    kb[2000] = '\0';
    put("ls/kb", kb);
    link_to("nowhere", "ls/dangling");
    char *s = list("ls", "/ls/", &r);
    CHECK(r == 0, "listing_html: 0");
    CHECK_HAS(s, "<!DOCTYPE html>", "HTML5");
    CHECK_HAS(s, "<title>Index of /ls/</title>", "title");
    CHECK_HAS(s, "<h1>Index of /ls/</h1>", "h1");
    CHECK_HAS(s, "&lt;b&gt;&amp;&quot;x&quot;.txt", "name escaped");
    CHECK_HAS(s, "href=\"%3Cb%3E%26%22x%22.txt\"", "href encoded");
    CHECK(!strstr(s, "<b>"), "no raw markup from a name");
    CHECK(!strstr(s, ".hidden"), "dotfiles hidden");
    CHECK_HAS(s, "href=\"../\"", "a parent link");
    CHECK_HAS(s, "<a href=\"zdir/\">zdir/</a>", "a directory with its slash");
    CHECK(strstr(s, "zdir/") && strstr(s, "%3Cb") && strstr(s, "zdir/") < strstr(s, "%3Cb"),
          "directories first");
    CHECK(strstr(s, "%3Cb") < strstr(s, "dangling") && strstr(s, "dangling") < strstr(s, "\"kb\""),
          "files by name");
    CHECK_HAS(s, "title=\"2000 bytes\">2.0 KiB<", "human size with exact bytes");
    CHECK_HAS(s, "dangling</a></td><td class=\"size\">-</td><td>-</td>", "dangling link: -");
    CHECK(strstr(s, "<style>") && !strstr(s, "<script"), "inline style, no script");
    free(s);

    s = list("", "/", &r);
    CHECK(r == 0 && !strstr(s, "href=\"../\""), "no parent link at /");
    free(s);
    s = list("ls", "/<i>/", &r);
    CHECK_HAS(s, "Index of /&lt;i&gt;/", "the URL path escaped");
    free(s);
    s = list("missing", "/missing/", &r);
    CHECK(r == -1 && *s == '\0', "a missing directory: -1, nothing written");
    free(s);
}

int main(void)
{
    snprintf(top, sizeof top, "/tmp/gale-files-XXXXXX");
    if (!mkdtemp(top))
        return 1;
    make_tree();
    mime = mime_new();
    mime_load(mime, NULL, NULL);
    test_basics();
    test_symlinks();
    test_ignore_ext();
    test_single_file();
    test_change();
    test_cache();
    test_segment();
    test_listing();
    CHECK(init(root, NULL, 0, 0, 0, 16) == 0, "init");
    test_two_trees();
    files_free(fs);
    mime_free(mime);
    nftw(top, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    return unit_done();
}
