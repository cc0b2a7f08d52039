/*
 * What the Maildir unit tests share: a scratch directory, a reactor loop
 * that waits for done callbacks, and messages whose bytes can be checked.
 * Include after maildir.h, reactor.h and unit.h.
 */
#ifndef GALE_TEST_MAIL_MAILDIR_H
#define GALE_TEST_MAIL_MAILDIR_H

#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <event2/buffer.h>
#include <event2/event.h>

#define WAIT_LIMIT 60.0
#define HEAD "Return-Path: <a@example.org>\r\nReceived: from test\r\n"

static char base[PATH_MAX];

struct result {
    int done, ok;
    char error[128];
};

static inline void on_done(int ok, const char *error, void *arg)
{
    struct result *r = arg;
    r->done++;
    r->ok = ok;
    snprintf(r->error, sizeof r->error, "%s", error ? error : "");
}

static inline void on_limit(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    *(int *)arg = 1;
}

/* Runs the loop until *flag reaches want or the limit passes. */
static inline int run_until(const int *flag, int want)
{
    int expired = 0;
    struct timeval tv = { (time_t)WAIT_LIMIT, 0 };
    struct event *limit = evtimer_new(reactor_base(), on_limit, &expired);
    evtimer_add(limit, &tv);
    while (*flag < want && !expired)
        event_base_loop(reactor_base(), EVLOOP_ONCE);
    event_free(limit);
    return *flag >= want;
}

static inline char *path_of(const char *a, const char *b, const char *c)
{
    static char p[4][PATH_MAX];
    static int turn;
    char *out = p[turn++ % 4];
    if (snprintf(out, PATH_MAX, "%s%s%s%s%s", a, b ? "/" : "", b ? b : "", c ? "/" : "",
                 c ? c : "") >= PATH_MAX)
        abort();
    return out;
}

/* base/name, for a test's whole run (path_of's buffers turn over). */
static inline char *in_base(const char *name)
{
    static char pool[32][PATH_MAX];
    static int used;
    char *out = pool[used++ % 32];
    if (snprintf(out, PATH_MAX, "%s/%s", base, name) >= PATH_MAX)
        abort();
    return out;
}

/* The file names of dir (no dot files), up to max; returns how many. */
static inline int names_in(const char *dir, char (*names)[MAILDIR_NAME_CAP], int max)
{
    DIR *d = opendir(dir);
    int n = 0;
    struct dirent *de;
    if (!d)
        return -1;
    while ((de = readdir(d)))
        if (de->d_name[0] != '.') {
            if (n < max)
                snprintf(names[n], MAILDIR_NAME_CAP, "%s", de->d_name);
            n++;
        }
    closedir(d);
    return n;
}

static inline int count_in(const char *dir)
{
    char one[1][MAILDIR_NAME_CAP];
    return names_in(dir, one, 0);
}

/* Body bytes: CRLF lines of a pattern that depends on the offset. */
static inline void fill_body(struct evbuffer *b, size_t len, unsigned seed)
{
    char *p = malloc(len ? len : 1);
    for (size_t i = 0; i < len; i++)
        p[i] = i % 78 == 76 ? '\r' : i % 78 == 77 ? '\n' : (char)('a' + (i + seed) % 26);
    evbuffer_add(b, p, len);
    free(p);
}

static inline int body_ok(const char *p, size_t len, unsigned seed)
{
    for (size_t i = 0; i < len; i++)
        if (p[i] != (i % 78 == 76 ? '\r' : i % 78 == 77 ? '\n' : (char)('a' + (i + seed) % 26)))
            return 0;
    return 1;
}

/* Delivers HEAD and body_len bytes of seed's pattern and waits for done;
 * -1 unless it was queued, done came later and the body was taken. */
static inline int deliver_wait(const char *const *dirs, size_t n, size_t body_len, unsigned seed,
                        const char *host, struct result *r)
{
    struct evbuffer *b = evbuffer_new();
    fill_body(b, body_len, seed);
    *r = (struct result){ 0 };
    int rc = maildir_deliver(dirs, n, HEAD, strlen(HEAD), b, host, on_done, r);
    int early = r->done;
    if (rc == 0)
        run_until(&r->done, 1);
    int emptied = evbuffer_get_length(b) == 0;
    evbuffer_free(b);
    return rc == 0 && !early && emptied ? 0 : -1;
}

static inline int rm_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
    (void)st, (void)f;
    if (flag == FTW_DP || flag == FTW_D)
        chmod(p, 0700);
    return remove(p) == -1 && errno != ENOENT ? -1 : 0;
}

static inline void rm_tree(const char *p)
{
    nftw(p, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

#endif
