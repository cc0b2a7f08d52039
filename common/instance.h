/*
 * Which server instance the process is working for right now.  One
 * process may run several servers (`gale run FILE`), each an instance
 * with a name; every log line names the instance it was written for, and
 * listeners, datagram sockets and connections remember the instance that
 * opened them, so that one instance can be stopped and freed while the
 * others keep serving.
 *
 * The core sets the current instance around every callback it makes into
 * a server (accept, session callbacks, datagrams, resolver answers, relay
 * and connector results, worker jobs, child exits) to the instance that
 * asked for it.  A server that arms an event of its own (a timer, a pipe)
 * keeps instance_current() from its start and wraps the callback in
 * instance_push() / instance_pop().
 */
#ifndef GALE_INSTANCE_H
#define GALE_INSTANCE_H

#define INSTANCE_NAME_MAX 64

struct gale_instance {
    const char *server;                 /* the subcommand: "web" */
    char name[INSTANCE_NAME_MAX];       /* "docs"; "" when the process runs one server */
};

/* NULL outside any instance (process-wide work). */
struct gale_instance *instance_current(void);

/* Makes in current until the matching instance_pop (calls nest). */
void instance_push(struct gale_instance *in);
void instance_pop(void);

#endif
