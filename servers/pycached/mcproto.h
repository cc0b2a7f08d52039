/*
 * The memcached text protocol's command lines, framed and parsed with no
 * I/O and no allocation: bytes in, a struct mc_request or the error line
 * memcached 1.6 would answer out.  Tokens are split on spaces only, runs
 * of spaces are skipped, a line ends with "\n" or "\r\n" and stops at a
 * NUL byte, as memcached's tokenize_command() does.
 * https://github.com/memcached/memcached/blob/master/doc/protocol.txt
 */
#ifndef GALE_PYCACHED_MCPROTO_H
#define GALE_PYCACHED_MCPROTO_H

#include <stddef.h>
#include <stdint.h>

#define MC_KEY_MAX 250
#define MC_LINE_MAX 2048             /* memcached drops a longer line */
#define MC_KEYLIST_MAX (64 * 1024)   /* ... except a get's key list, up to this */
#define MC_BYTES_MAX (INT32_MAX - 2) /* memcached's bound on a data block */

struct mc_str {
    const char *p;
    size_t len;
};

enum mc_cmd {
    MC_UNKNOWN,
    MC_GET, MC_GETS, MC_GAT, MC_GATS,
    MC_SET, MC_ADD, MC_REPLACE, MC_APPEND, MC_PREPEND, MC_CAS,
    MC_DELETE, MC_INCR, MC_DECR, MC_TOUCH, MC_FLUSH_ALL,
    MC_STATS, MC_VERSION, MC_VERBOSITY, MC_QUIT,
};

/* What a line asks for, or which error line memcached answers. */
enum mc_status {
    MC_OK,
    MC_ERROR,            /* "ERROR": unknown command, wrong number of tokens */
    MC_BAD_FORMAT,       /* "CLIENT_ERROR bad command line format" */
    MC_BAD_EXPTIME,      /* "CLIENT_ERROR invalid exptime argument" */
    MC_BAD_DELTA,        /* "CLIENT_ERROR invalid numeric delta argument" */
    MC_BAD_DELETE,       /* "CLIENT_ERROR bad command line format.  Usage: ..." */
};

/* Pointers point into the caller's line. */
struct mc_request {
    enum mc_cmd cmd;         /* set even when the arguments are bad */
    int noreply;             /* the last token is "noreply"; set even on errors */
    struct mc_str key;       /* the key; a get's first key (len 0: a gat without keys) */
    struct mc_str keys;      /* get family: every key, spaces between: see mc_next_key */
    uint32_t flags;
    int64_t exptime;         /* storage, touch, gat; flush_all's delay */
    int has_delay;           /* flush_all was given a delay */
    uint32_t bytes;          /* storage: the data block's length, without "\r\n" */
    uint64_t cas;            /* cas: the unique number */
    uint64_t delta;          /* incr, decr */
    uint32_t verbosity;
    struct mc_str group;     /* stats: the first argument (len 0: general) */
    struct mc_str arg;       /* stats: the second argument */
};

enum mc_frame { MC_FRAME_MORE, MC_FRAME_LINE, MC_FRAME_TOO_LONG };

/* Finds the command line at the start of buf.  *scanned is how many
 * bytes are already known to hold no newline (0 at first; the function
 * keeps it), so trickling input costs linear time.  On MC_FRAME_LINE
 * *line_len is the line without its "\r\n" or "\n" and *total includes
 * it.  A line longer than MC_LINE_MAX (MC_KEYLIST_MAX for get, gets,
 * gat, gats), ended or not, is MC_FRAME_TOO_LONG: memcached closes. */
enum mc_frame mc_frame(const char *buf, size_t len, size_t *scanned, size_t *line_len,
                       size_t *total);

/* Parses one line (without its newline).  Keys are 1 to MC_KEY_MAX bytes
 * of anything but spaces (control characters too, as memcached); every
 * key of a get is checked. */
enum mc_status mc_parse(const char *line, size_t len, struct mc_request *r);

/* The reply line for an error, without "\r\n"; NULL for MC_OK. */
const char *mc_status_text(enum mc_status s);

/* The command's name, a literal ("get"); "unknown" for MC_UNKNOWN. */
const char *mc_cmd_name(enum mc_cmd c);

/* Storage commands are followed by a data block. */
int mc_cmd_is_storage(enum mc_cmd c);

/* Takes the next key off *keys into *key: 1, or 0 when none is left. */
int mc_next_key(struct mc_str *keys, struct mc_str *key);

#endif
