/*
 * Private to gendoc.c and gendoc_shell.c: the option table helpers they
 * share and the shell completion generators that gendoc_run dispatches to.
 */
#ifndef GALE_GENDOC_INT_H
#define GALE_GENDOC_INT_H

#include <stdio.h>

struct gale_opt;
struct gale_server;

/* Every subcommand: the servers, then run. NULL-ended. */
const struct gale_server *const *gendoc_commands(void);

/* A server's option table, empty (never NULL) when it has none. */
const struct gale_opt *gendoc_opts_of(const struct gale_server *s);

/* A global long option is accepted after the subcommand unless shadowed. */
int gendoc_shadowed(const struct gale_server *s, const struct gale_opt *g);

/* The argument's name, with opt_synopsis's fallback; never NULL. */
const char *gendoc_metavar(const struct gale_opt *o);

/* The help line; never NULL. */
const char *gendoc_help_of(const struct gale_opt *o);

/* The completion scripts, each whole (see gendoc_shell.c). */
void gendoc_bash(FILE *out);
void gendoc_zsh(FILE *out);
void gendoc_fish(FILE *out);

#endif
