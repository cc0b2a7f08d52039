/*
 * Unit test of the `gale run` file parser, cli/runfile.c: sh word
 * splitting without expansion (blanks, both quotes and their escapes,
 * backslashes, continuations, comments, CRLF), the errors (every bad
 * line, at the right line), the bounds, and runfile_read.  cli/runfile.c
 * is part of the gale executable, not of galecore, so it is compiled
 * into this test.  TAP output; exits non-zero when a check fails.
 */
#include "../../cli/runfile.c"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "unit.h"

static struct runfile rf;
static char err[4096];
static char shown[8192];

static int parse_n(const char *text, size_t len)
{
    runfile_free(&rf);
    memset(err, 'x', sizeof err);
    return runfile_parse("servers.conf", text, len, &rf, err, sizeof err);
}

/*
 * The result of parsing text, as "LINE:[word][word] LINE:[word]", or
 * "error: " and the errors.  A broken argv shows as "BROKEN".
 */
static const char *show_n(const char *text, size_t len)
{
    if (parse_n(text, len) == -1) {
        snprintf(shown, sizeof shown, "error: %s", err);
        return shown;
    }
    size_t at = 0;
    shown[0] = '\0';
    for (size_t i = 0; i < rf.n && at < sizeof shown; i++) {
        const struct runfile_line *l = &rf.lines[i];
        at += (size_t)snprintf(shown + at, sizeof shown - at, "%s%u:", i ? " " : "", l->lineno);
        for (int k = 0; k < l->argc && at < sizeof shown; k++)
            at += (size_t)snprintf(shown + at, sizeof shown - at, "[%s]", l->argv[k]);
        if (l->argc < 1 || l->argv[l->argc] != NULL)
            return "BROKEN";
    }
    return shown;
}

static const char *show(const char *text)
{
    return show_n(text, strlen(text));
}

#define SAME(text, want, ...) CHECK_STR(show(text), want, __VA_ARGS__)

/* A text of n copies of piece. */
static char *repeat(const char *piece, size_t n)
{
    size_t len = strlen(piece);
    char *s = malloc(len * n + 1);
    if (!s)
        abort();
    for (size_t i = 0; i < n; i++)
        memcpy(s + i * len, piece, len);
    s[len * n] = '\0';
    return s;
}

static size_t count_lines(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

static void test_words(void)
{
    SAME("web --port 8080\n", "1:[web][--port][8080]", "plain words");
    SAME("web --port 8080", "1:[web][--port][8080]", "no line end at the end of the file");
    SAME("  web \t\t --port   8080  \t\n", "1:[web][--port][8080]", "runs of spaces and tabs");
    SAME("web\ndns\n\nsocks -p 1080\n", "1:[web] 2:[dns] 4:[socks][-p][1080]",
         "one entry per line, with its line number");
    SAME("\n\n\nweb\n\n\ndns", "4:[web] 7:[dns]", "blank lines are counted");
    SAME("web --path /srv/caf\xc3\xa9", "1:[web][--path][/srv/caf\xc3\xa9]", "UTF-8 as it is");
    SAME("a $HOME ~ ~/x *.c ? [ab] `ls` $(ls) ${X}",
         "1:[a][$HOME][~][~/x][*.c][?][[ab]][`ls`][$(ls)][${X}]", "no expansion of any kind");
    SAME("a;b | c & d > e < f ( g )", "1:[a;b][|][c][&][d][>][e][<][f][(][g][)]",
         "no operators: ; | & < > ( ) are characters");
    SAME("a=b --x=y", "1:[a=b][--x=y]", "= is a character");
}

static void test_single_quotes(void)
{
    SAME("web 'a b'", "1:[web][a b]", "single quotes keep blanks");
    SAME("'x\"y' '\\n' '\\' '$HOME' '#c' '`x`'", "1:[x\"y][\\n][\\][$HOME][#c][`x`]",
         "nothing is special inside single quotes");
    SAME("'a\tb'", "1:[a\tb]", "a tab inside single quotes is kept");
    SAME("'a\nb' c\nd", "1:[a\nb][c] 3:[d]", "single quotes span lines");
    SAME("'a\\\nb'", "1:[a\\\nb]", "no continuation inside single quotes");
}

static void test_double_quotes(void)
{
    SAME("\"a b\"", "1:[a b]", "double quotes keep blanks");
    SAME("\"\\$HOME\"", "1:[$HOME]", "\\$ inside double quotes");
    SAME("\"\\`\"", "1:[`]", "\\` inside double quotes");
    SAME("\"\\\"\"", "1:[\"]", "\\\" inside double quotes");
    SAME("\"\\\\\"", "1:[\\]", "\\\\ inside double quotes");
    SAME("\"a\\\nb\" c", "1:[ab][c]", "backslash-newline inside double quotes disappears");
    SAME("\"a\\\r\nb\"", "1:[ab]", "backslash-CRLF inside double quotes disappears");
    SAME("\"\\n\\a\\'\\#\"", "1:[\\n\\a\\'\\#]", "other backslashes inside double quotes stay");
    SAME("\"$HOME ~ * `x` '\"", "1:[$HOME ~ * `x` ']", "no expansion inside double quotes");
    SAME("\"a\nb\"", "1:[a\nb]", "double quotes span lines");
    SAME("\"#x\" \"a\tb\"", "1:[#x][a\tb]", "# and tab inside double quotes");
}

static void test_backslash(void)
{
    SAME("a\\ b", "1:[a b]", "backslash-space outside quotes");
    SAME("\\'x \\\"y", "1:['x][\"y]", "backslash before quotes");
    SAME("\\#x \\\\ \\$HOME \\a", "1:[#x][\\][$HOME][a]", "backslash quotes any character");
    SAME("a\\\tb", "1:[a\tb]", "backslash-tab is a tab in the word");
    SAME("\\ ", "1:[ ]", "a word of one escaped space");
}

static void test_joining(void)
{
    SAME("\"a\"'b'c", "1:[abc]", "adjacent quoted pieces form one word");
    SAME("a\"b c\"d 'e'\\ f", "1:[ab cd][e f]", "quotes inside words");
    SAME("web '' \"\" x", "1:[web][][][x]", "empty quoted words are empty arguments");
    SAME("''", "1:[]", "a line of one empty word is an entry");
    SAME("a'' ''b", "1:[a][b]", "an empty quote joined to a word adds nothing");
}

static void test_continuation(void)
{
    SAME("web \\\n  --port 80\ndns\n", "1:[web][--port][80] 3:[dns]",
         "a continued line has its first line's number");
    SAME("web \\\n--port \\\n80 \\\n\nx", "1:[web][--port][80] 5:[x]", "several continuations");
    SAME("ab\\\ncd", "1:[abcd]", "backslash-newline joins a word");
    SAME("a \\\r\nb", "1:[a][b]", "backslash-CRLF continues the line");
    SAME("\\\nweb", "1:[web]", "a line of only a continuation");
    SAME("a \\\n#c\nd", "1:[a] 3:[d]", "# after a continuation starts a comment");
    SAME("a\\\n#c", "1:[a#c]", "# inside a continued word does not");
    SAME("a \\\n", "1:[a]", "a continuation onto an empty last line");
    SAME("# c \\\nweb", "2:[web]", "no continuation inside a comment");
}

static void test_comments(void)
{
    SAME("# the servers\nweb\n", "2:[web]", "a leading comment");
    SAME("web -p 80 # port\n", "1:[web][-p][80]", "a trailing comment");
    SAME("web -p 80 #port 'x\n", "1:[web][-p][80]", "quotes in a comment are not looked at");
    SAME("a#b", "1:[a#b]", "# inside a word");
    SAME("a #b c\nd", "1:[a] 2:[d]", "# starting a word");
    SAME("   # indented\n\t#\n", "", "indented comments");
    SAME("''#y \"\"#z", "1:[#y][#z]", "# after an empty quote is inside the word");
    SAME("web #\n", "1:[web]", "an empty comment");
}

static void test_crlf_and_empty(void)
{
    SAME("web -p 1\r\ndns\r\n", "1:[web][-p][1] 2:[dns]", "CRLF line ends");
    SAME("'a\r\nb'", "1:[a\nb]", "CRLF inside quotes is a newline");
    SAME("# c\r\nx\r\n\r\n", "2:[x]", "CRLF after a comment and on an empty line");
    SAME("", "", "an empty file");
    CHECK(parse_n(NULL, 0) == 0 && rf.n == 0 && rf.lines == NULL, "NULL text of length 0");
    CHECK(err[0] == '\0', "no errors: errs is empty");
    SAME("\n\n# a\n  \n\t\n#b", "", "a file of blanks and comments");
    SAME("# only\n# comments\n", "", "a file of only comments");
    CHECK(parse_n("#", 1) == 0 && rf.n == 0, "a file of one #");
}

static void test_errors(void)
{
    SAME("ok\nweb 'abc\n\nmore\n", "error: servers.conf:2: unterminated single quote\n",
         "an unterminated single quote, at its line");
    SAME("a\nb \"x\ny\n", "error: servers.conf:2: unterminated double quote\n",
         "an unterminated double quote, at the line where it opened");
    SAME("x \\\n \"a\\\"", "error: servers.conf:2: unterminated double quote\n",
         "an escaped double quote closes nothing");
    SAME("web \\", "error: servers.conf:1: a backslash at the end of the file\n",
         "a backslash at the end of the file");
    SAME("web \"a\\", "error: servers.conf:1: unterminated double quote\n",
         "a backslash at the end of the file inside double quotes");
    CHECK_STR(show_n("a\0b\n", 4), "error: servers.conf:1: a NUL byte\n", "a NUL byte");
    CHECK_STR(show_n("a\n'\0'", 5), "error: servers.conf:2: a NUL byte\n", "a quoted NUL byte");
    SAME("a\x1b[0m", "error: servers.conf:1: a control character (0x1b)\n", "an escape");
    SAME("x\na\x7f", "error: servers.conf:2: a control character (0x7f)\n", "DEL");
    SAME("a\rb\n", "error: servers.conf:1: a carriage return without a newline\n",
         "a lone carriage return");
    SAME("a \\\r", "error: servers.conf:1: a carriage return without a newline\n",
         "a backslash and CR at the end of the file");
    SAME("# bell \a\nweb", "error: servers.conf:1: a control character (0x07)\n",
         "control characters in comments too");
    SAME("'\x01'", "error: servers.conf:1: a control character (0x01)\n", "and in quotes");
    SAME("a\x01\x02\0\n", "error: servers.conf:1: a control character (0x01)\n",
         "one error per line");
    SAME("a \\\n\x01 \\\nb\x02", "error: servers.conf:2: a control character (0x01)\n"
         "servers.conf:3: a control character (0x02)\n",
         "one error per physical line of a continued line");
    CHECK(rf.n == 0 && rf.lines == NULL, "no entries after an error");
}

static void test_many_errors(void)
{
    static const char text[] = "web\n\x01\ndns\na\0\nb\x7f c\nfine\n'x\\\n";
    CHECK_STR(show_n(text, sizeof text - 1),
              "error: servers.conf:2: a control character (0x01)\n"
              "servers.conf:4: a NUL byte\n"
              "servers.conf:5: a control character (0x7f)\n"
              "servers.conf:7: unterminated single quote\n", "every bad line is reported");
    CHECK(rf.n == 3 && rf.lines[0].lineno == 1 && rf.lines[1].lineno == 3 &&
          rf.lines[2].lineno == 6 && strcmp(rf.lines[2].argv[0], "fine") == 0,
          "and the good lines are returned, for their own checks");

    char *bad = repeat("\x01\n", 500);
    CHECK(parse_n(bad, strlen(bad)) == -1, "500 bad lines");
    CHECK(strlen(err) < sizeof err, "errors stay within errlen");
    CHECK_HAS(err, "servers.conf:1: a control", "the first is there");
    CHECK(count_lines(err) > 50, "as many as fit are listed (%zu)", count_lines(err));
    CHECK_HAS(err, "more errors)\n", "those that do not fit are counted");
    char tiny[80];
    CHECK(runfile_parse("f", bad, strlen(bad), &rf, tiny, sizeof tiny) == -1 &&
          strlen(tiny) < sizeof tiny, "a small errs is NUL-terminated");
    CHECK_STR(tiny, "f:1: a control character (0x01)\n(499 more errors)\n",
              "with what fits, then the count of the rest");
    CHECK(runfile_parse("f", bad, strlen(bad), &rf, tiny, 5) == -1 && strlen(tiny) == 4,
          "a tiny errs is NUL-terminated");
    CHECK(runfile_parse("f", bad, strlen(bad), &rf, NULL, 0) == -1, "errs may be NULL");
    free(bad);
}

static void test_word_limits(void)
{
    char *words = repeat("w ", RUNFILE_MAX_WORDS);
    CHECK(parse_n(words, strlen(words)) == 0 && rf.n == 1 && rf.lines[0].argc == 256,
          "256 words");
    free(words);
    words = repeat("w ", RUNFILE_MAX_WORDS + 1);
    SAME(words, "error: servers.conf:1: more than 256 words\n", "257 words");
    free(words);
    words = repeat("'' ", RUNFILE_MAX_WORDS + 1);
    SAME(words, "error: servers.conf:1: more than 256 words\n", "257 empty words");
    free(words);
    words = repeat("w \\\n", RUNFILE_MAX_WORDS + 1);
    SAME(words, "error: servers.conf:1: more than 256 words\n",
         "257 words over continued lines, at the first line");
    free(words);
}

static void test_length_limits(void)
{
    char *line = repeat("a", RUNFILE_MAX_LINE);
    CHECK(parse_n(line, strlen(line)) == 0 && rf.n == 1 &&
          strlen(rf.lines[0].argv[0]) == RUNFILE_MAX_LINE, "a line of 65536 bytes");
    free(line);
    line = repeat("a", RUNFILE_MAX_LINE + 1);
    line[0] = '\n';
    line[1] = '\'';
    line[RUNFILE_MAX_LINE] = '\'';
    CHECK(parse_n(line, strlen(line)) == 0 && rf.n == 1 && rf.lines[0].lineno == 2,
          "a quoted word of 65534 bytes");
    free(line);
    line = repeat("a", RUNFILE_MAX_LINE + 1);
    SAME(line, "error: servers.conf:1: a line longer than 65536 bytes\n", "65537 bytes");
    free(line);
    line = repeat("# comment \\\n", 6000);
    strcpy(line + 12 * 6000 - 1, "\r");
    SAME(line, "error: servers.conf:6000: a carriage return without a newline\n",
         "comment lines are counted one by one");
    free(line);
    line = repeat("word\\\n", 11000);
    SAME(line, "error: servers.conf:1: a line longer than 65536 bytes\n",
         "a long continued line, at its first line");
    free(line);
    line = repeat("#", RUNFILE_MAX_LINE + 1);
    SAME(line, "error: servers.conf:1: a line longer than 65536 bytes\n", "a long comment");
    free(line);
    CHECK(parse_n("x", RUNFILE_MAX_BYTES + 1) == -1, "a text over 1 MiB");
    CHECK_STR(err, "servers.conf: larger than 1048576 bytes\n", "is refused whole");
}

static void test_entry_limit(void)
{
    char *lines = repeat("x\n", RUNFILE_MAX_LINES);
    CHECK(parse_n(lines, strlen(lines)) == 0 && rf.n == 1024, "1024 entries");
    CHECK(rf.lines[1023].lineno == 1024, "the last at line 1024");
    free(lines);
    lines = repeat("x\n#\n", RUNFILE_MAX_LINES + 100);
    SAME(lines, "error: servers.conf:2049: more than 1024 servers\n",
         "beyond 1024 entries, reported once");
    free(lines);
}

static void test_free(void)
{
    CHECK(parse_n("a b\nc", 5) == 0 && rf.n == 2, "two entries");
    runfile_free(&rf);
    CHECK(rf.n == 0 && rf.lines == NULL, "runfile_free empties");
    runfile_free(&rf);
    runfile_free(NULL);
    CHECK(1, "runfile_free twice, and of NULL");
}

static void test_read(void)
{
    char dir[] = "/tmp/gale-test-runfile-XXXXXX", path[64], big[64], msg[256];
    char *text;
    size_t len;
    if (!CHECK(mkdtemp(dir) != NULL, "made a temporary directory"))
        return;
    snprintf(path, sizeof path, "%s/servers.conf", dir);
    snprintf(big, sizeof big, "%s/big", dir);
    FILE *f = fopen(path, "w");
    fputs("web -p 80\n", f);
    fclose(f);
    CHECK(runfile_read(path, &text, &len, msg, sizeof msg) == 0 && len == 10 &&
          strcmp(text, "web -p 80\n") == 0, "runfile_read reads a file");
    free(text);
    CHECK(runfile_read(dir, &text, &len, msg, sizeof msg) == -1 && !text, "not a directory");
    CHECK_HAS(msg, "directory", "which is said");
    CHECK(runfile_read(big, &text, &len, msg, sizeof msg) == -1, "a missing file");
    CHECK_HAS(msg, "/big: No such file", "is named");
    f = fopen(big, "w");
    for (int i = 0; i <= RUNFILE_MAX_BYTES; i++)
        fputc('#', f);
    fclose(f);
    CHECK(runfile_read(big, &text, &len, msg, sizeof msg) == -1, "a file over 1 MiB");
    CHECK_HAS(msg, "larger than 1048576 bytes", "is refused");
    CHECK(truncate(big, RUNFILE_MAX_BYTES) == 0 &&
          runfile_read(big, &text, &len, msg, sizeof msg) == 0 && len == RUNFILE_MAX_BYTES,
          "a file of 1 MiB is read");
    free(text);
    unlink(path);
    unlink(big);
    rmdir(dir);
}

int main(void)
{
    test_words();
    test_single_quotes();
    test_double_quotes();
    test_backslash();
    test_joining();
    test_continuation();
    test_comments();
    test_crlf_and_empty();
    test_errors();
    test_many_errors();
    test_word_limits();
    test_length_limits();
    test_entry_limit();
    test_free();
    test_read();
    runfile_free(&rf);
    return unit_done();
}
