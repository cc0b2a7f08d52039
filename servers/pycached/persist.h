/*
 * When the snapshot is written: loaded at start, written every interval
 * by a forked child (its copy-on-write view of the store is a consistent
 * moment, and the reactor never waits on the disk), and once more at
 * exit.
 */
#ifndef GALE_PYCACHED_PERSIST_H
#define GALE_PYCACHED_PERSIST_H

#include <stddef.h>

/* Loads path (if present) and starts the interval timer (0: none).
 * -1 and err when the snapshot is damaged or unreadable. */
int persist_start(const char *path, double interval, char *err, size_t errlen);
/* Shutdown: waits for a writer still running, then writes in place. */
void persist_final(void);

#endif
