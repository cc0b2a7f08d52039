/* Starting a server: the process set-up around it, in a fixed order. */
#ifndef GALE_RUN_H
#define GALE_RUN_H

#include "globals.h"
#include "server.h"

struct run_instance;

/* One server from the command line (cfg is taken over), named in log
 * lines when name is not NULL.  Returns the process exit status. */
int run_server(const struct gale_server *s, void *cfg, const struct global_cfg *g,
               const char *name);

/* Several, from the run file named file (for messages: "FILE:LINE: ...");
 * reload runs on SIGHUP and may change *list.  Returns the exit status. */
int run_instances(struct run_instance **list, const struct global_cfg *g, const char *file,
                  void (*reload)(void));

#endif
