/*
 * When one instance's snapshot is written: loaded at start, written
 * every interval by a forked child (its copy-on-write view of the store
 * is a consistent moment, and the reactor never waits on the disk), and
 * once more when the instance goes.
 */
#ifndef GALE_PYCACHED_PERSIST_H
#define GALE_PYCACHED_PERSIST_H

#include <stddef.h>
#include <sys/types.h>

struct gale_instance;

struct event;
struct store;
struct persist_watch;

/* Zeroed by its owner before persist_start. */
struct persist {
    struct store *store;
    const char *path;             /* the option's string: outlives the instance's state */
    struct event *timer;
    pid_t writer;                 /* the child writing now, or 0 */
    struct persist_watch *watch;  /* what the reactor calls back with when it exits */
    int loaded_ok;                /* never overwrite a file we refused */
    struct gale_instance *owner;  /* current in its timer */
};

/* Loads path (if present) into st and starts the interval timer (0:
 * none).  -1 and err when the snapshot is damaged or unreadable. */
int persist_start(struct persist *p, struct store *st, const char *path, double interval,
                  char *err, size_t errlen);
/* The instance goes: a writer still running is stopped, then the store
 * is written in place.  Frees what persist_start made; twice is harmless,
 * and so is once without persist_start. */
void persist_final(struct persist *p);

#endif
