/*
 * The files of `gale run FILE`: one server per line, written exactly as
 * its command line ("web --port 8080 --path /srv/www").  Words are split
 * as a POSIX shell splits them (blanks, single and double quotes,
 * backslashes, `#` comments, backslash-newline continuations), with no
 * expansion of any kind: $, `, ~ and globs are plain characters.
 *
 * runfile_parse() is pure: bytes in, a list of argv arrays or every
 * error out.  runfile_read() is the only function here that touches the
 * disk.
 */
#ifndef GALE_RUNFILE_H
#define GALE_RUNFILE_H

#include <stddef.h>

#define RUNFILE_MAX_BYTES (1024 * 1024) /* the whole file */
#define RUNFILE_MAX_LINE  (64 * 1024)   /* one logical line, continuations included */
#define RUNFILE_MAX_WORDS 256           /* words on one logical line */
#define RUNFILE_MAX_LINES 1024          /* lines that name a server */

struct runfile_line {
    unsigned lineno;  /* 1-based: where the logical line starts */
    int argc;         /* at least 1 */
    char **argv;      /* argc words, then NULL */
};

struct runfile {
    struct runfile_line *lines;  /* in file order, line numbers increasing */
    size_t n;                    /* 0 for a file of blanks and comments */
};

/*
 * Parses len bytes of text (no NUL needed) read from the file called
 * name.  Returns 0 with *out filled (free it with runfile_free), or -1
 * with errs holding one "NAME:LINE: why\n" per bad line, as many as fit
 * in errlen, then "(N more errors)" if some did not; *out then holds the
 * lines that parsed, so that their own mistakes can be reported in the
 * same pass (free it too).  errs is always NUL-terminated when errlen > 0.
 */
int runfile_parse(const char *name, const char *text, size_t len, struct runfile *out,
                  char *errs, size_t errlen);

/* Frees everything runfile_parse put in rf and empties it; twice is harmless. */
void runfile_free(struct runfile *rf);

/*
 * Reads the file at path, at most RUNFILE_MAX_BYTES, into a malloc'd
 * buffer (NUL-terminated; *len leaves the NUL out).  Returns 0, or -1
 * with err saying why ("NAME: why").
 */
int runfile_read(const char *path, char **text, size_t *len, char *err, size_t errlen);

#endif
