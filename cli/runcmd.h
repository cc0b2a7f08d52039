/*
 * `gale [GLOBAL OPTIONS] run [--check] FILE`: every server FILE lists, in
 * one process on one reactor (the counterpart of twistd's .tac files).
 * Loading checks every line and reports each mistake as FILE:LINE; start
 * is all or nothing; SIGHUP reads FILE again and starts, stops or
 * replaces only the lines that changed.
 */
#ifndef GALE_RUNCMD_H
#define GALE_RUNCMD_H

#include "globals.h"

/* argv[i] is the first word after "run"; argv[1..globals_end) held the
 * global options already parsed into g.  Returns the exit status. */
int runcmd_main(int argc, char **argv, int i, struct global_cfg *g);

/* For `gale run --help`, the man page and the completions. */
struct gale_opt;
extern const char runcmd_synopsis[];
extern const char runcmd_description[];
extern const struct gale_opt runcmd_opts[];          /* after "run" */
extern const struct gale_opt *const runcmd_line_opts; /* --name, on a line of FILE or
                                                         after any subcommand */
struct run_line_opts {
    const char *name;
};

#endif
