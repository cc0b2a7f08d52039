/*
 * Starting a CGI script's process (RFC 3875 section 7.2): private to
 * cgi.c, which owns the pipes and watches the child.
 */
#ifndef GALE_WEB_CGI_SPAWN_H
#define GALE_WEB_CGI_SPAWN_H

#include <sys/types.h>

struct cgi_params;

/*
 * Runs p's script (or p->program with the script as its argument) in
 * the script's directory, leading a process group of its own, with envp
 * and with kid[0] as its stdin and kid[1] as its stdout.  ours: the
 * server's ends of those pipes (close-on-exec).  Returns the pid, or -1
 * with errno set.
 */
pid_t cgi_spawn(const struct cgi_params *p, char *const envp[], const int kid[2],
                const int ours[2]);

#endif
