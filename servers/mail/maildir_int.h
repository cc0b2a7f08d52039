/*
 * What maildir.c and maildir_pop.c share and nobody else needs.
 */
#ifndef GALE_MAILDIR_INT_H
#define GALE_MAILDIR_INT_H

#include <stddef.h>

/* PATH/sub (tmp, new or cur) opened as a directory; a sub that is a
 * symbolic link is refused.  -1 and errno. */
int maildir_open_sub(const char *path, const char *sub);

/* The text of errno value e into err, from any thread. */
void maildir_errno_text(int e, char *err, size_t errlen);

#endif
