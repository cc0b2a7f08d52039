/*
 * The one event loop of the process.  Every listener, connection, timer,
 * signal, child process and resolver query runs on this event_base.
 * SIGTERM and SIGINT start a graceful shutdown, SIGHUP reopens logs and
 * reloads servers, SIGCHLD becomes reactor events, SIGPIPE is ignored.
 */
#ifndef GALE_REACTOR_H
#define GALE_REACTOR_H

#include <sys/types.h>

struct event_base;
struct timeval;

/* method: a libevent backend name, or NULL for the best one. */
int reactor_init(const char *method, char *err, size_t errlen);
struct event_base *reactor_base(void);
/* Seconds (fractions kept) as the timeval libevent's timers take. */
struct timeval reactor_timeval(double seconds);
void reactor_free(void);

/* What the signals call into; set by the command line layer. */
struct reactor_hooks {
    void (*reload)(void);          /* SIGHUP */
    void (*stop_accepting)(void);  /* first step of shutdown */
};
void reactor_set_hooks(const struct reactor_hooks *h);
void reactor_set_shutdown_timeout(double seconds);

int reactor_run(void);             /* until shutdown completes; returns exit status */
void reactor_shutdown(void);       /* begin a graceful shutdown */
int reactor_stopping(void);

/* Called by conn.c as connections come and go, so shutdown knows when
 * every connection is gone. */
void reactor_conn_gone(void);

/* A child process; cb runs from the reactor once it has exited. */
typedef void (*reactor_child_cb)(pid_t pid, int status, void *arg);
int reactor_watch_child(pid_t pid, reactor_child_cb cb, void *arg);

/* systemd's notify protocol: READY=1, STOPPING=1.  No-op without NOTIFY_SOCKET. */
void reactor_notify(const char *state);

/* Names of the backends this libevent was built with, NULL-ended. */
const char **reactor_methods(void);

#endif
