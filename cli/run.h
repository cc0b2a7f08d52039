/* Starting a server: the process set-up around it, in a fixed order. */
#ifndef GALE_RUN_H
#define GALE_RUN_H

#include "globals.h"
#include "server.h"

/* Returns the process exit status. */
int run_server(const struct gale_server *s, void *cfg, const struct global_cfg *g);

#endif
