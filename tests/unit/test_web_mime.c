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

static void test_builtin(void)
{
    CHECK_STR(mime_type_of("a.html"), "text/html; charset=utf-8", "before any load: built-in");
    CHECK_STR(mime_type_of("x"), "application/octet-stream", "before any load: default");
    mime_load("/nonexistent/mime.types", NULL);
    CHECK_STR(mime_type_of("index.html"), "text/html; charset=utf-8", "html");
    CHECK_STR(mime_type_of("dir/Page.HTM"), "text/html; charset=utf-8", "HTM, case-insensitive");
    CHECK_STR(mime_type_of("app.js"), "text/javascript; charset=utf-8", "js");
    CHECK_STR(mime_type_of("d.json"), "application/json; charset=utf-8", "json gets a charset");
    CHECK_STR(mime_type_of("i.svg"), "image/svg+xml; charset=utf-8", "svg gets a charset");
    CHECK_STR(mime_type_of("f.xml"), "application/xml; charset=utf-8", "xml gets a charset");
    CHECK_STR(mime_type_of("p.PNG"), "image/png", "png: no charset");
    CHECK_STR(mime_type_of("f.woff2"), "font/woff2", "woff2");
    CHECK_STR(mime_type_of("a.tar.gz"), "application/gzip", "the last extension counts");
    CHECK_STR(mime_type_of("README"), "application/octet-stream", "no extension: default");
    CHECK_STR(mime_type_of(".html"), "application/octet-stream", "a dotfile has no extension");
    CHECK_STR(mime_type_of("a.d/file"), "application/octet-stream", "a dot in a directory name");
    CHECK_STR(mime_type_of("x."), "application/octet-stream", "empty extension");
    CHECK_STR(mime_type_of(""), "application/octet-stream", "empty name");
    mime_load(NULL, "text/x-mine");
    CHECK_STR(mime_type_of("x.unknown"), "text/x-mine", "the default type as given");
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
    mime_load(path, "application/x-default");
    CHECK_STR(mime_type_of("a.foo"), "application/x-foo", "from the file");
    CHECK_STR(mime_type_of("a.FoO2"), "application/x-foo", "second extension, any case");
    CHECK_STR(mime_type_of("a.bar"), "text/x-bar; charset=utf-8", "text/* from the file");
    CHECK_STR(mime_type_of("a.baz"), "application/x-default", "after # is a comment");
    CHECK_STR(mime_type_of("a.dup"), "text/x-first; charset=utf-8", "the first mapping wins");
    CHECK_STR(mime_type_of("a.png"), "image/x-mine", "the file beats the built-in table");
    CHECK_STR(mime_type_of("a.css"), "text/css; charset=utf-8", "built-in behind the file");
    CHECK_STR(mime_type_of("a.qqq"), "application/x-default", "a type without '/' ignored");
    CHECK_STR(mime_type_of("a.zzz"), "application/x-default", "unknown: the default");

    const char *held = mime_type_of("a.bar");
    mime_load("/nonexistent", NULL);
    CHECK_STR(held, "text/x-bar; charset=utf-8", "a type stays valid across a reload");
    CHECK_STR(mime_type_of("a.bar"), "application/octet-stream", "the reload replaced the table");
    CHECK_STR(mime_type_of("a.png"), "image/png", "and the built-in table is back");
    unlink(path);
}

static void test_system(void)
{
    if (access("/etc/mime.types", R_OK) != 0) {
        CHECK(1, "# SKIP no /etc/mime.types");
        return;
    }
    mime_load("/etc/mime.types", NULL);
    CHECK_HAS(mime_type_of("x.html"), "text/html", "/etc/mime.types: html");
    CHECK_STR(mime_type_of("x.png"), "image/png", "/etc/mime.types: png");
    CHECK_STR(mime_type_of("x.no-such-ext"), "application/octet-stream", "default");
}

int main(void)
{
    test_builtin();
    test_file();
    test_system();
    mime_free();
    CHECK_STR(mime_type_of("a.txt"), "text/plain; charset=utf-8", "after mime_free: built-in");
    mime_free();
    return unit_done();
}
