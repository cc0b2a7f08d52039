/*
 * The commands of pycached's HTTP service: a POST / body in
 * application/x-www-form-urlencoded (fields command, key, value, ttl)
 * run through pyc_run, the answer made into the text HTTP clients get.
 */
#ifndef GALE_PYCACHED_HTTPFORM_H
#define GALE_PYCACHED_HTTPFORM_H

#include <stddef.h>

struct evbuffer;
struct pyc_server;

/* Decodes body[0..n) and runs its command on the instance srv.  As pyc_run: 1 with the
 * value in out (a JSON string as its decoded text, any other value as
 * JSON), 0 when the command gives no value, -1 with a message for the
 * client in err (a malformed form, a missing command, what pyc_run
 * refuses). */
int httpform_run(struct pyc_server *srv, const char *body, size_t n, struct evbuffer *out,
                 char *err, size_t errlen);

#endif
