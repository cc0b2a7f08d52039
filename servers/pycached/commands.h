/*
 * pycached's own commands (version, count, clear, items, status, get,
 * set, delete), shared by the JSON protocol and the HTTP service's form.
 */
#ifndef GALE_PYCACHED_COMMANDS_H
#define GALE_PYCACHED_COMMANDS_H

#include <stddef.h>
#include "stats.h"

struct evbuffer;
struct pyc_server;

struct pyc_request {
    const char *command;
    size_t ncommand;
    int has_key;
    const char *key;                 /* decoded bytes */
    size_t nkey;
    int has_value;
    const char *value;               /* the value's JSON text */
    size_t nvalue;
    int has_ttl;
    double ttl;                      /* seconds */
};

/* Runs r on the instance srv.  On success appends the value's JSON text to out and returns
 * 1, or returns 0 when the command gives no value.  On failure returns
 * -1 with a message for the client in err ("no such key: k"). */
int pyc_run(struct pyc_server *srv, enum pyc_proto proto, const struct pyc_request *r,
            struct evbuffer *out, char *err, size_t errlen);

#endif
