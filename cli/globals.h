/*
 * The global options, twistd's set: they go before the subcommand, and
 * their long forms also after it wherever the subcommand has no option of
 * that name.
 */
#ifndef GALE_GLOBALS_H
#define GALE_GLOBALS_H

#include "opt.h"

struct global_cfg {
    int nodaemon;
    int daemon;
    const char *pidfile;
    const char *logfile;
    int syslog;
    const char *prefix;
    const char *log_format;
    int verbose;
    int quiet;
    const char *uid;
    const char *gid;
    const char *chroot;
    long umask;                 /* -1 when not given */
    const char *rundir;
    const char *reactor;
    int help_reactors;
    double shutdown_timeout;
    long max_connections;
    int help;
    int version;
};

extern const struct gale_opt global_opts[];

#endif
