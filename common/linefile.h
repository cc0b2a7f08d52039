/*
 * A file of log lines kept apart from the core log (web's access log,
 * socks's connection log).  Lines are gathered in memory and written by
 * the helper thread once a second or when 64 KiB have gathered, so a
 * slow disk never stalls the reactor; the file is reopened on SIGHUP for
 * log rotation.  If the disk falls far behind (4 MiB waiting), further
 * lines are dropped and counted rather than held without bound.
 */
#ifndef GALE_LINEFILE_H
#define GALE_LINEFILE_H

#include <stddef.h>

struct linefile;

/* "-" is standard output.  NULL and err when the file cannot be opened. */
struct linefile *linefile_open(const char *path, char *err, size_t errlen);
/* One line; a newline is added when it lacks one. */
void linefile_write(struct linefile *lf, const char *line, size_t len);
void linefile_reopen(struct linefile *lf);
/* Writes what is left (waiting for the disk) and closes. */
void linefile_close(struct linefile *lf);

#endif
