/*
 * The servers this process runs, each an instance: a subcommand, its
 * parsed options and a name.  One command line makes one instance;
 * `gale run FILE` makes one per line and may start, stop and replace
 * them while the others keep serving.
 *
 * An instance is started with the current instance set to it, so every
 * listener, datagram socket and connection it opens is its own
 * (instance.h); that is what lets one be stopped and freed alone.
 */
#ifndef GALE_INSTANCES_H
#define GALE_INSTANCES_H

#include <stddef.h>

#include "instance.h"
#include "server.h"

struct event;

struct run_instance {
    struct gale_instance in;      /* its name, for log lines and the core */
    const struct gale_server *s;
    void *cfg;                    /* parsed options; the server's state hangs off it */
    unsigned lineno;              /* in the run file; 0 for a command line */
    char *line;                   /* the line's words, for telling a changed line */
    char **argv;                  /* the words the options point into (owned) */
    int checked, started, stopped;
    struct event *drain;          /* while retiring */
    double drain_left;
    struct run_instance *next;
};

/* A new, unstarted instance of s with cfg (taken over).  NULL when out of
 * memory (cfg is then freed). */
struct run_instance *instances_new(const struct gale_server *s, void *cfg, const char *name);

/* Bind and open; -1 and err on failure, the instance then holds nothing
 * open (its cleanup has run). */
int instance_start(struct run_instance *ri, char *err, size_t errlen);

/* The server's SIGHUP. */
void instance_reload(struct run_instance *ri);

/* Stop accepting and close its listening and datagram sockets, so that
 * another instance may bind them; connections finish as at shutdown. */
void instance_stop(struct run_instance *ri);

/* Stop, let its connections finish for up to timeout seconds, abort what
 * is left, then free it.  The caller has unlinked it; returns at once. */
void instance_retire(struct run_instance *ri, double timeout);
/* Exit: free at once those still retiring. */
void instances_free_retiring(void);

/* Cleanup and free, now; the caller has unlinked it. */
void instance_free(struct run_instance *ri);

/* The list's instances, in order, through fn. */
void instances_each(struct run_instance *list, void (*fn)(struct run_instance *));

#endif
