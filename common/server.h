/*
 * What a server gives the core: its name, its option table and its
 * life cycle.  Each servers/NAME/NAME.c exports one
 * "const struct gale_server gale_server_NAME"; the build makes the sorted
 * list of them, so nobody edits a list by hand.
 */
#ifndef GALE_SERVER_H
#define GALE_SERVER_H

#include <stddef.h>
#include "opt.h"

struct gale_server {
    const char *name;
    const char *summary;          /* one line for "gale --help" */
    const char *description;      /* a paragraph for --help and the man page */
    const struct gale_opt *opts;
    size_t cfg_size;
    /* After parsing, before anything starts: reject bad combinations. */
    int (*check)(void *cfg, char *err, size_t errlen);
    /* Bind listeners and open files; runs before privileges are dropped.
     * Returns -1 and fills err (the process then exits non-zero). */
    int (*start)(void *cfg, char *err, size_t errlen);
    /* After check: every address the options ask to listen on, through
     * add (an endpoint description, udp set for datagrams), so that
     * `gale run` finds two servers on one address before starting either.
     * May be NULL. */
    void (*listens)(const void *cfg, void (*add)(void *ctx, int udp, const char *endpoint),
                    void *ctx);
    void (*reload)(void *cfg);    /* SIGHUP; may be NULL */
    void (*stop)(void *cfg);      /* shutdown begins: stop accepting; may be NULL */
    void (*cleanup)(void *cfg);   /* the loop has ended: free what check and start
                                   * allocated; may be NULL */
};

extern const struct gale_server *const gale_servers[];   /* sorted, NULL-ended */
extern const size_t gale_server_count;

const struct gale_server *gale_server_find(const char *name);

#endif
