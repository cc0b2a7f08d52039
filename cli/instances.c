/*
 * Starting, stopping and freeing instances; see instances.h.
 */
#include "instances.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <event2/event.h>

#include "conn.h"
#include "log.h"
#include "reactor.h"
#include "udp.h"

#define DRAIN_POLL 0.1     /* seconds between looks at a retiring instance */

static struct run_instance *retiring;

struct run_instance *instances_new(const struct gale_server *s, void *cfg, const char *name)
{
    struct run_instance *ri = calloc(1, sizeof *ri);
    if (!ri) {
        opt_free(s->opts, cfg);
        free(cfg);
        return NULL;
    }
    ri->s = s;
    ri->cfg = cfg;
    ri->in.server = s->name;
    snprintf(ri->in.name, sizeof ri->in.name, "%s", name ? name : "");
    return ri;
}

/* What the instance opened that its own cleanup does not close. */
static void close_owned(struct run_instance *ri)
{
    listeners_close_owned(&ri->in);
    udp_close_owned(&ri->in);
}

static void cleanup(struct run_instance *ri)
{
    instance_push(&ri->in);
    if (ri->s->cleanup)
        ri->s->cleanup(ri->cfg);
    instance_pop();
    close_owned(ri);
}

int instance_start(struct run_instance *ri, char *err, size_t errlen)
{
    instance_push(&ri->in);
    int r = ri->s->start(ri->cfg, err, errlen);
    instance_pop();
    if (r == -1) {
        /* What it bound before failing goes now, so a retry can bind it. */
        listeners_stop_owned(&ri->in);
        conns_abort_owned(&ri->in);
        cleanup(ri);
        ri->started = 0;
        return -1;
    }
    ri->started = 1;
    return 0;
}

void instance_reload(struct run_instance *ri)
{
    if (!ri->started || !ri->s->reload)
        return;
    instance_push(&ri->in);
    ri->s->reload(ri->cfg);
    instance_pop();
}

void instance_stop(struct run_instance *ri)
{
    if (!ri->started || ri->stopped)
        return;
    ri->stopped = 1;
    instance_push(&ri->in);
    if (ri->s->stop)
        ri->s->stop(ri->cfg);
    listeners_stop_owned(&ri->in);
    udp_close_owned(&ri->in);
    instance_pop();
}

void instance_free(struct run_instance *ri)
{
    if (!ri)
        return;
    if (ri->started)
        cleanup(ri);
    if (ri->drain)
        event_free(ri->drain);
    opt_free(ri->s->opts, ri->cfg);
    free(ri->cfg);
    free(ri->line);
    if (ri->argv)
        for (char **w = ri->argv; *w; w++)
            free(*w);
    free(ri->argv);
    free(ri);
}

static void unlink_retiring(struct run_instance *ri)
{
    for (struct run_instance **pp = &retiring; *pp; pp = &(*pp)->next)
        if (*pp == ri) {
            *pp = ri->next;
            return;
        }
}

static void on_drain(evutil_socket_t fd, short what, void *arg)
{
    struct run_instance *ri = arg;
    (void)fd; (void)what;
    unsigned open = conns_open_owned(&ri->in);
    ri->drain_left -= DRAIN_POLL;
    if (open > 0 && ri->drain_left > 0) {
        struct timeval tv = reactor_timeval(DRAIN_POLL);
        evtimer_add(ri->drain, &tv);
        return;
    }
    instance_push(&ri->in);
    log_info("event=stopped open=%u", open);
    instance_pop();
    conns_abort_owned(&ri->in);
    unlink_retiring(ri);
    instance_free(ri);
}

void instance_retire(struct run_instance *ri, double timeout)
{
    instance_stop(ri);
    ri->next = retiring;
    retiring = ri;
    ri->drain_left = timeout;
    ri->drain = evtimer_new(reactor_base(), on_drain, ri);
    struct timeval tv = reactor_timeval(0);
    if (ri->drain)
        evtimer_add(ri->drain, &tv);
    else
        on_drain(-1, 0, ri);       /* out of memory: at once */
}

void instances_free_retiring(void)
{
    while (retiring) {
        struct run_instance *ri = retiring;
        retiring = ri->next;
        conns_abort_owned(&ri->in);
        instance_free(ri);
    }
}

void instances_each(struct run_instance *list, void (*fn)(struct run_instance *))
{
    for (struct run_instance *ri = list; ri; ri = ri->next)
        fn(ri);
}
