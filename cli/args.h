/*
 * The command line walk over option tables: long options as --name=value
 * or --name value, short options as -x value, -xvalue or bundled flags
 * (-vv), and "--" to end the options.
 */
#ifndef GALE_ARGS_H
#define GALE_ARGS_H

#include <stddef.h>
#include "opt.h"

struct opt_table {
    const struct gale_opt *opts;
    void *cfg;
    int short_ok;        /* its short names count here */
};

/* Parses argv[*i] onward.  stop_at_word: a word that is not an option
 * ends the walk (the subcommand's name); otherwise it is an error.
 * Returns -1 and fills err on the first bad argument. */
int args_walk(int argc, char **argv, int *i, const struct opt_table *tabs, size_t ntabs,
              int stop_at_word, char *err, size_t errlen);

#endif
