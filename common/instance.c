/*
 * The current instance; see instance.h.  Logging reads it for the name on
 * each line.
 */
#include "instance.h"

#include <stddef.h>

/* Callbacks nest only a few deep (a session stopped from the runner, a
 * relay ending inside an abort); past this the innermost is not recorded
 * and lines name the one below it. */
#define DEPTH_MAX 32

static _Thread_local struct gale_instance *stack[DEPTH_MAX];
static _Thread_local unsigned depth;   /* the worker thread logs as the process */

struct gale_instance *instance_current(void)
{
    if (depth == 0)
        return NULL;
    return stack[(depth < DEPTH_MAX ? depth : DEPTH_MAX) - 1];
}

void instance_push(struct gale_instance *in)
{
    if (depth < DEPTH_MAX)
        stack[depth] = in;
    depth++;
}

void instance_pop(void)
{
    if (depth > 0)
        depth--;
}
