/*
 * aliases(5) files for gale mail, with no I/O but aliases_read(): the
 * text of a file in, its entries or every error out; and the expansion
 * of a local name through them into the places mail goes.
 *
 *   Format: aliases(5) of Postfix and Sendmail 8; targets as twistd
 *   mail's alias.py takes them (user, address, /file, |command,
 *   :include:FILE).
 *
 *   name: target, target, ...
 *
 * - A line starting with a blank (space or tab) continues the entry
 *   before it; the line break then separates targets as a comma does.
 * - A line whose first non-blank is '#' is a comment, wherever it
 *   stands; blank lines are ignored.  A '#' later in a line is text.
 * - The name ends at the first ':' and is folded to lowercase (ASCII).
 *   A name holding blanks, ':', '@', ',', '"' or starting with '#' is
 *   written in double quotes: "a b": x.
 * - Targets are split at commas and trimmed; empty ones are skipped.
 *   A target may be written in double quotes, so that it may hold
 *   commas and blanks ("|/usr/bin/prog arg, with comma").  In quotes,
 *   \" and \\ stand for " and \; any other backslash is kept.
 *   Unquoted, only a |command may hold blanks.
 * - Kinds: "|command" (ALIAS_PIPE, the text after '|');
 *   ":include:/path" (ALIAS_INCLUDE, blanks allowed after the second
 *   ':'; the path must be absolute); "/path" (ALIAS_FILE, a Maildir
 *   when it ends in '/', else an mbox file); anything with '@'
 *   (ALIAS_ADDRESS: one '@', something on both sides); else a
 *   local name (ALIAS_USER, lowercased, at most 64 octets), which is
 *   looked up in the aliases again.  "\name" is ALIAS_USER with
 *   noalias set: delivered to that user, never aliased again (the
 *   idiom "alice: \alice, |vacation" of .forward files).
 * - Refused: a name given twice, control characters (tab is a blank;
 *   a CR before the LF ends the line), a file over 1 MiB, an entry
 *   (with its continuation lines) over 64 KiB, more than 10000 entries
 *   or 1000 targets in an entry, a name over 64 octets.
 */
#ifndef GALE_MAIL_ALIASES_H
#define GALE_MAIL_ALIASES_H

#include <stddef.h>

#define ALIASES_FILE_MAX (1024 * 1024)   /* octets in a file */
#define ALIASES_LINE_MAX (64 * 1024)     /* octets in an entry with its continuations */
#define ALIASES_ENTRIES_MAX 10000
#define ALIASES_TARGETS_MAX 1000         /* in one entry or one :include: file */
#define ALIASES_NAME_MAX 64              /* octets in a name or a user target */
#define ALIASES_DEPTH_MAX 16             /* aliases on one path of an expansion */
#define ALIASES_RESULTS_MAX 1000         /* final targets of one expansion */

enum alias_kind { ALIAS_USER, ALIAS_ADDRESS, ALIAS_FILE, ALIAS_PIPE, ALIAS_INCLUDE };

struct alias_target {
    enum alias_kind kind;
    char *value;        /* the user (lowercased), address, path or command: never empty */
    int maildir;        /* ALIAS_FILE ending in '/' */
    int noalias;        /* ALIAS_USER written "\name" */
};

struct alias_entry {
    char *name;         /* lowercased, 1 to ALIASES_NAME_MAX octets */
    unsigned lineno;    /* where the entry begins */
    struct alias_target *t;
    size_t n;           /* at least 1 */
};

struct aliases {
    struct alias_entry *v;  /* sorted by name, no two alike */
    size_t n;
};

/*
 * Parses the text of an aliases file.  name is the file's name for the
 * messages: "NAME:LINE: why\n" for each bad line, all of them as far
 * as they fit in errs (always NUL-terminated when errlen > 0).
 * Returns 0, or -1 with errs filled and *out empty.
 */
int aliases_parse(const char *name, const char *text, size_t len, struct aliases *out, char *errs,
                  size_t errlen);

/*
 * Parses the text of a file named by :include:, a list of targets
 * separated by commas and line breaks, with comment and blank lines.
 * The targets are those of aliases_parse (an :include: among them is
 * left to the caller again); at most ALIASES_TARGETS_MAX.  Returns 0
 * with *out malloc'd (NULL when *n is 0), or -1 with errs as above.
 */
int aliases_parse_targets(const char *name, const char *text, size_t len, struct alias_target **out,
                          size_t *n, char *errs, size_t errlen);

void aliases_free(struct aliases *a);
void alias_targets_free(struct alias_target *t, size_t n);

/* The entry of name, compared without regard to ASCII case; NULL when none. */
const struct alias_entry *aliases_find(const struct aliases *a, const char *name);

/*
 * Expands name through the aliases (a may be NULL: none) into final
 * targets: users that are not aliases (a name that is no alias gives
 * itself, lowercased), addresses, files, pipes, and includes for the
 * caller to read.  Depth-first in file order, each final target once
 * (users compared without the '\' mark).  An alias listing its own
 * name ("alice: alice, bob") delivers to that user.  cb is called for
 * each final target (valid during the call only); when it returns -1,
 * so does aliases_expand, with err "".  Other errors, with err set:
 * "alias loop: a -> b -> a", "aliases nested deeper than 16: ...",
 * "more than 1000 targets", "empty name", "out of memory".  Targets
 * already given to cb stand: on error the caller drops the expansion.
 */
int aliases_expand(const struct aliases *a, const char *name,
                   int (*cb)(const struct alias_target *t, void *arg), void *arg, char *err,
                   size_t errlen);

/* Reads a whole regular file of at most ALIASES_FILE_MAX octets into a
 * malloc'd buffer (NUL-terminated, not counted in *len).  0, or -1 with
 * err "PATH: why". */
int aliases_read(const char *path, char **text, size_t *len, char *err, size_t errlen);

/* "user", "address", "file", "pipe", "include". */
const char *alias_kind_name(enum alias_kind k);

#endif
