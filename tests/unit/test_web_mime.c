/*
 * Unit test of the web server's content types, servers/web/mime.c: the
 * built-in table, a mime.types file (comments, case, the first mapping
 * winning, the built-in table behind it), the default type and reloads.
 * servers/web is not part of galecore, so the source is compiled in.
 * TAP output; exits non-zero when a check fails.
 */
#include "../../servers/web/mime.c"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "unit.h"

static struct mime_table *m;

static void test_builtin(void)
{
    CHECK_STR(mime_type_of(m, "a.html"), "text/html; charset=utf-8", "before any load: built-in");
    CHECK_STR(mime_type_of(m, "x"), "application/octet-stream", "before any load: default");
    mime_load(m, "/nonexistent/mime.types", NULL);
    CHECK_STR(mime_type_of(m, "index.html"), "text/html; charset=utf-8", "html");
    CHECK_STR(mime_type_of(m, "dir/Page.HTM"), "text/html; charset=utf-8", "HTM, case-insensitive");
    CHECK_STR(mime_type_of(m, "app.js"), "text/javascript; charset=utf-8", "js");
    CHECK_STR(mime_type_of(m, "d.json"), "application/json; charset=utf-8", "json gets a charset");
    CHECK_STR(mime_type_of(m, "i.svg"), "image/svg+xml; charset=utf-8", "svg gets a charset");
    CHECK_STR(mime_type_of(m, "f.xml"), "application/xml; charset=utf-8", "xml gets a charset");
    CHECK_STR(mime_type_of(m, "p.PNG"), "image/png", "png: no charset");
    CHECK_STR(mime_type_of(m, "f.woff2"), "font/woff2", "woff2");
    CHECK_STR(mime_type_of(m, "a.tar.gz"), "application/gzip", "the last extension counts");
    CHECK_STR(mime_type_of(m, "README"), "application/octet-stream", "no extension: default");
    CHECK_STR(mime_type_of(m, ".html"), "application/octet-stream", "a dotfile has no extension");
    CHECK_STR(mime_type_of(m, "a.d/file"), "application/octet-stream", "a dot in a directory name");
    CHECK_STR(mime_type_of(m, "x."), "application/octet-stream", "empty extension");
    CHECK_STR(mime_type_of(m, ""), "application/octet-stream", "empty name");
    mime_load(m, NULL, "text/x-mine");
    CHECK_STR(mime_type_of(m, "x.unknown"), "text/x-mine", "the default type as given");
}

static void test_file(void)
{
    char path[] = "/tmp/gale-mime-XXXXXX";
    int fd = mkstemp(path);
    const char text[] =
        "# a comment line html text/plain\n"
        "application/x-foo\tfoo FOO2\n"
        "text/x-bar bar # baz is a comment\n"
        "Text/X-First dup\n"
        "text/x-second dup\n"
        "image/x-mine png\n"
        "no-slash qqq\n"
        "application/x-noext\n"
        "\n";
    CHECK(fd >= 0 && write(fd, text, sizeof text - 1) == (ssize_t)(sizeof text - 1),
          "temp mime.types written");
    close(fd);
    mime_load(m, path, "application/x-default");
    CHECK_STR(mime_type_of(m, "a.foo"), "application/x-foo", "from the file");
    CHECK_STR(mime_type_of(m, "a.FoO2"), "application/x-foo", "second extension, any case");
    CHECK_STR(mime_type_of(m, "a.bar"), "text/x-bar; charset=utf-8", "text/* from the file");
    CHECK_STR(mime_type_of(m, "a.baz"), "application/x-default", "after # is a comment");
    CHECK_STR(mime_type_of(m, "a.dup"), "text/x-first; charset=utf-8", "the first mapping wins");
    CHECK_STR(mime_type_of(m, "a.png"), "image/x-mine", "the file beats the built-in table");
    CHECK_STR(mime_type_of(m, "a.css"), "text/css; charset=utf-8", "built-in behind the file");
    CHECK_STR(mime_type_of(m, "a.qqq"), "application/x-default", "a type without '/' ignored");
    CHECK_STR(mime_type_of(m, "a.zzz"), "application/x-default", "unknown: the default");

    const char *held = mime_type_of(m, "a.bar");
    mime_load(m, "/nonexistent", NULL);
    CHECK_STR(held, "text/x-bar; charset=utf-8", "a type stays valid across a reload");
    CHECK_STR(mime_type_of(m, "a.bar"), "application/octet-stream",
              "the reload replaced the table");
    CHECK_STR(mime_type_of(m, "a.png"), "image/png", "and the built-in table is back");
    unlink(path);
}

static void test_system(void)
{
    if (access("/etc/mime.types", R_OK) != 0) {
        CHECK(1, "# SKIP no /etc/mime.types");
        return;
    }
    mime_load(m, "/etc/mime.types", NULL);
    CHECK_HAS(mime_type_of(m, "x.html"), "text/html", "/etc/mime.types: html");
    CHECK_STR(mime_type_of(m, "x.png"), "image/png", "/etc/mime.types: png");
    CHECK_STR(mime_type_of(m, "x.no-such-ext"), "application/octet-stream", "default");
}

/* Two servers in one process: each table its own types, default and pool. */
static void test_two_tables(void)
{
    char path[] = "/tmp/gale-mime-XXXXXX";
    int fd = mkstemp(path);
    const char text[] = "application/x-one one css\n";
    CHECK(fd >= 0 && write(fd, text, sizeof text - 1) == (ssize_t)(sizeof text - 1),
          "temp mime.types written");
    close(fd);
    struct mime_table *a = mime_new(), *b = mime_new();
    CHECK(a && b && a != b, "two tables");
    mime_load(a, path, "application/x-a");
    mime_load(b, "/nonexistent", "application/x-b");
    CHECK_STR(mime_type_of(a, "f.one"), "application/x-one", "the first has the file's types");
    CHECK_STR(mime_type_of(b, "f.one"), "application/x-b", "the second does not");
    CHECK_STR(mime_type_of(a, "f.css"), "application/x-one", "the file overrides css in the first");
    CHECK_STR(mime_type_of(b, "f.css"), "text/css; charset=utf-8", "not in the second");
    CHECK_STR(mime_type_of(a, "f"), "application/x-a", "each its own default (a)");
    CHECK_STR(mime_type_of(b, "f"), "application/x-b", "each its own default (b)");
    const char *held = mime_type_of(b, "f.css");
    mime_load(a, "/nonexistent", NULL);
    CHECK_STR(mime_type_of(a, "f.one"), "application/octet-stream", "reloading the first");
    CHECK_STR(mime_type_of(b, "f"), "application/x-b", "leaves the second's default");
    mime_free(a);
    CHECK(held == mime_type_of(b, "f.css") && strcmp(held, "text/css; charset=utf-8") == 0,
          "freeing the first leaves the second's types");
    mime_free(b);
    unlink(path);
}

int main(void)
{
    m = mime_new();
    test_builtin();
    test_file();
    test_system();
    mime_free(m);
    m = mime_new();
    CHECK_STR(mime_type_of(m, "a.txt"), "text/plain; charset=utf-8", "a new table: built-in");
    mime_free(m);
    mime_free(NULL);
    test_two_tables();
    return unit_done();
}
