/*
 * What files.c keeps per path it found, and the check, in files_fresh.c,
 * that a kept entry still matches the disk.  Internal to the web server's
 * file lookup.
 */
#ifndef GALE_WEB_FILES_NODE_H
#define GALE_WEB_FILES_NODE_H

#include <sys/types.h>
#include <time.h>

#include "files.h"

struct node {
    struct file_entry e;             /* first: files_release() finds the node from it */
    char *key;                       /* the rel asked for; NULL when not cached */
    int key_slash;
    unsigned hash;
    int cached;
    char *stat_path;                 /* root/rel unresolved: stat() sees a retargeted symlink */
    char *dir_path;                  /* the directory whose contents chose this file (an
                                        index or an ignored extension), else NULL */
    struct stat dir_st;
    unsigned long long checked_ms;   /* wall clock when e.data was last read or compared */
    struct node *hnext;              /* hash chain */
    struct node *prev, *next;        /* LRU list, most recent first */
};

/* The wall clock in milliseconds: the clock file times come from. */
unsigned long long files_wall_ms(void);
/* Up to len bytes from the start of fd: how many, or -1. */
ssize_t files_read_upto(int fd, char *buf, size_t len);
/* 1 when n may be served as it is: same file, same directory, bytes that
 * are not those of a write still in progress; 0 when it must be dropped. */
int files_node_fresh(struct node *n);

#endif
