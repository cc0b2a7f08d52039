/*
 * The parser of `gale run` files (runfile.h): words split as POSIX sh
 * splits them, with no expansion of any kind.  The shell's rules are in
 * XCU 2.2 (Quoting) and 2.3 (Token Recognition):
 * https://pubs.opengroup.org/onlinepubs/9699919799/utilities/V3_chap02.html
 *
 * Where sh leaves room, this file chooses:
 * - "\r\n" is one line end everywhere: between words, in a comment,
 *   inside quotes (where it stands for "\n") and after a backslash (a
 *   continuation).  A "\r" followed by anything else is refused.
 * - Control characters other than tab and newline, and DEL, are refused
 *   anywhere, comments and quotes included.  Tab separates words outside
 *   quotes and is kept inside them.
 * - A quote may span lines, as in sh; one never closed is reported at
 *   the line where it opened.
 * - A backslash as the very last byte of the file is an error (shells
 *   disagree: dash keeps it, bash drops it).
 * - The 64 KiB bound counts the raw bytes of a logical line, comment and
 *   continuations included, its final line end left out.
 * - At most one error per physical line; a logical line with an error
 *   gives no entry.  Going past 1024 entries is reported once.
 */
#include "runfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define END (-1)      /* next() at the end of the text */
#define ERR_TAIL 32   /* room kept in errs for "(N more errors)\n" */

struct parser {
    const char *name;
    const unsigned char *p, *end;
    unsigned lineno;                 /* physical line of the next byte */

    /* The logical line being read. */
    const unsigned char *begin;
    unsigned start;                  /* its first physical line */
    int bad, too_long, in_word, argc;
    size_t used;                     /* bytes of buf in use */
    size_t word[RUNFILE_MAX_WORDS];  /* where each word starts in buf */

    /* The results. */
    struct runfile *out;
    size_t cap;
    int full, failed;
    unsigned last_err_line, dropped;
    char *errs;
    size_t errlen, errused;

    char buf[RUNFILE_MAX_LINE + RUNFILE_MAX_WORDS + 8];  /* the words, each NUL-ended */
};

/* Appends "NAME:LINE: why\n" (or "NAME: why\n" for line 0) if it fits. */
__attribute__((format(printf, 3, 4)))
static void report(struct parser *ps, unsigned line, const char *fmt, ...)
{
    ps->bad = ps->failed = 1;
    if (line && line == ps->last_err_line)
        return;
    ps->last_err_line = line;

    char why[128], where[16] = "";
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    if (line)
        snprintf(where, sizeof where, "%u:", line);
    int need = snprintf(NULL, 0, "%s:%s %s\n", ps->name, where, why);
    if (need < 0 || ps->errlen < ERR_TAIL ||
        (size_t)need >= ps->errlen - ERR_TAIL - ps->errused) {
        ps->dropped++;
        return;
    }
    snprintf(ps->errs + ps->errused, ps->errlen - ps->errused, "%s:%s %s\n", ps->name,
             where, why);
    ps->errused += (size_t)need;
}

/* The next byte, "\r\n" as '\n', or END; checks the byte and the line length. */
static int next(struct parser *ps)
{
    if (ps->p == ps->end)
        return END;
    int c = *ps->p++;
    if (c == '\r' && ps->p < ps->end && *ps->p == '\n')
        c = *ps->p++;
    if (c == '\n') {
        ps->lineno++;
        return c;
    }
    if (!ps->too_long && (size_t)(ps->p - ps->begin) > RUNFILE_MAX_LINE) {
        ps->too_long = 1;
        report(ps, ps->start, "a line longer than %d bytes", RUNFILE_MAX_LINE);
    }
    if (c == '\0')
        report(ps, ps->lineno, "a NUL byte");
    else if (c == '\r')
        report(ps, ps->lineno, "a carriage return without a newline");
    else if ((c < 0x20 && c != '\t') || c == 0x7f)
        report(ps, ps->lineno, "a control character (0x%02x)", (unsigned)c);
    return c;
}

static void begin_word(struct parser *ps)
{
    if (ps->in_word)
        return;
    ps->in_word = 1;
    if (ps->bad)
        return;
    if (ps->argc == RUNFILE_MAX_WORDS)
        report(ps, ps->start, "more than %d words", RUNFILE_MAX_WORDS);
    else
        ps->word[ps->argc] = ps->used;
}

/* Adds a byte to the current word, starting one if need be. */
static void put(struct parser *ps, int c)
{
    begin_word(ps);
    if (ps->bad)
        return;
    if (ps->used >= RUNFILE_MAX_LINE) { /* next() reports it first: a guard */
        report(ps, ps->start, "a line longer than %d bytes", RUNFILE_MAX_LINE);
        return;
    }
    ps->buf[ps->used++] = (char)c;
}

static void end_word(struct parser *ps)
{
    if (!ps->in_word)
        return;
    ps->in_word = 0;
    if (ps->bad)
        return;
    ps->buf[ps->used++] = '\0';
    ps->argc++;
}

/* A '\\' outside quotes: quotes the next byte, or continues the line. */
static void backslash(struct parser *ps)
{
    int c = next(ps);
    if (c == END)
        report(ps, ps->lineno, "a backslash at the end of the file");
    else if (c != '\n')
        put(ps, c);
}

/* After a "'": everything up to the next "'" is the word's, as it is. */
static void single_quoted(struct parser *ps)
{
    unsigned open = ps->lineno;
    begin_word(ps);
    for (;;) {
        int c = next(ps);
        if (c == '\'')
            return;
        if (c == END) {
            report(ps, open, "unterminated single quote");
            return;
        }
        put(ps, c);
    }
}

/* After a '"': a backslash escapes only $ ` " \ and the line end. */
static void double_quoted(struct parser *ps)
{
    unsigned open = ps->lineno;
    begin_word(ps);
    for (;;) {
        int c = next(ps);
        if (c == '"')
            return;
        if (c == '\\') {
            c = next(ps);
            if (c == '\n')
                continue;
            if (c != END && c != '$' && c != '`' && c != '"' && c != '\\')
                put(ps, '\\');
        }
        if (c == END) {
            report(ps, open, "unterminated double quote");
            return;
        }
        put(ps, c);
    }
}

static void skip_comment(struct parser *ps)
{
    int c;
    do
        c = next(ps);
    while (c != END && c != '\n');
}

/* Keeps the finished line's words as one entry: argv and strings in one block. */
static void store_line(struct parser *ps)
{
    struct runfile *rf = ps->out;
    if (rf->n == ps->cap) {
        size_t cap = ps->cap ? ps->cap * 2 : 16;
        struct runfile_line *lines = realloc(rf->lines, cap * sizeof *lines);
        if (!lines) {
            report(ps, ps->start, "out of memory");
            return;
        }
        rf->lines = lines;
        ps->cap = cap;
    }
    size_t ptrs = ((size_t)ps->argc + 1) * sizeof(char *);
    char **argv = malloc(ptrs + ps->used);
    if (!argv) {
        report(ps, ps->start, "out of memory");
        return;
    }
    char *strings = (char *)argv + ptrs;
    memcpy(strings, ps->buf, ps->used);
    for (int i = 0; i < ps->argc; i++)
        argv[i] = strings + ps->word[i];
    argv[ps->argc] = NULL;
    rf->lines[rf->n++] = (struct runfile_line){ ps->start, ps->argc, argv };
}

static void finish_line(struct parser *ps)
{
    end_word(ps);
    if (ps->bad || ps->argc == 0)
        return;
    if (ps->out->n < RUNFILE_MAX_LINES)
        store_line(ps);
    else if (!ps->full) {
        ps->full = 1;
        report(ps, ps->start, "more than %d servers", RUNFILE_MAX_LINES);
    }
}

/* One logical line: physical lines joined by continuations and quotes. */
static void read_line(struct parser *ps)
{
    ps->begin = ps->p;
    ps->start = ps->lineno;
    ps->bad = ps->too_long = ps->in_word = ps->argc = 0;
    ps->used = 0;
    for (;;) {
        int c = next(ps);
        if (c == END || c == '\n')
            break;
        if (c == ' ' || c == '\t')
            end_word(ps);
        else if (c == '#' && !ps->in_word) {
            skip_comment(ps);
            break;
        } else if (c == '\\')
            backslash(ps);
        else if (c == '\'')
            single_quoted(ps);
        else if (c == '"')
            double_quoted(ps);
        else
            put(ps, c);
    }
    finish_line(ps);
}

int runfile_parse(const char *name, const char *text, size_t len, struct runfile *out,
                  char *errs, size_t errlen)
{
    out->lines = NULL;
    out->n = 0;
    if (errs && errlen)
        errs[0] = '\0';
    else
        errlen = 0;
    struct parser *ps = malloc(sizeof *ps);
    if (!ps) {
        if (errlen)
            snprintf(errs, errlen, "%s: out of memory\n", name);
        return -1;
    }
    memset(ps, 0, offsetof(struct parser, buf));
    ps->name = name;
    ps->lineno = 1;
    ps->out = out;
    ps->errs = errs;
    ps->errlen = errlen;
    ps->p = (const unsigned char *)(text ? text : "");
    ps->end = ps->p + len;
    if (len > RUNFILE_MAX_BYTES)
        report(ps, 0, "larger than %d bytes", RUNFILE_MAX_BYTES);
    else
        while (ps->p < ps->end)
            read_line(ps);
    if (ps->dropped && ps->errlen)
        snprintf(errs + ps->errused, errlen - ps->errused, "(%u more errors)\n", ps->dropped);
    int failed = ps->failed;
    free(ps);
    return failed ? -1 : 0;
}

void runfile_free(struct runfile *rf)
{
    if (!rf)
        return;
    for (size_t i = 0; i < rf->n; i++)
        free(rf->lines[i].argv);
    free(rf->lines);
    rf->lines = NULL;
    rf->n = 0;
}

int runfile_read(const char *path, char **text, size_t *len, char *err, size_t errlen)
{
    *text = NULL;
    *len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd == -1) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    char *buf = malloc(RUNFILE_MAX_BYTES + 1);
    size_t n = 0;
    ssize_t r = 0;
    while (buf && n < RUNFILE_MAX_BYTES + 1) {
        r = read(fd, buf + n, RUNFILE_MAX_BYTES + 1 - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        n += (size_t)r;
    }
    int saved = errno;
    close(fd);
    if (!buf || r < 0 || n > RUNFILE_MAX_BYTES) {
        if (n > RUNFILE_MAX_BYTES)
            snprintf(err, errlen, "%s: larger than %d bytes", path, RUNFILE_MAX_BYTES);
        else
            snprintf(err, errlen, "%s: %s", path, buf ? strerror(saved) : "out of memory");
        free(buf);
        return -1;
    }
    buf[n] = '\0';
    char *small = realloc(buf, n + 1);
    *text = small ? small : buf;
    *len = n;
    return 0;
}
