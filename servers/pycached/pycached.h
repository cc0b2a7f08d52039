/*
 * What gale pycached's services share: their start functions, called
 * once at startup with an endpoint description (interface already
 * defaulted to loopback).  Each returns -1 and fills err on failure.
 */
#ifndef GALE_PYCACHED_H
#define GALE_PYCACHED_H

#include <stddef.h>

int json_service_start(const char *endpoint, char *err, size_t errlen);
int http_service_start(const char *endpoint, char *err, size_t errlen);
int memcached_service_start(const char *endpoint, char *err, size_t errlen);

/* Shutdown has begun: close idle connections now, busy ones once their
 * current request is answered. */
void json_service_stop(void);
void http_service_stop(void);
void memcached_service_stop(void);

/* Before http_service_start: seconds a client has to send a whole
 * request, and an idle keep-alive connection (or one whose client reads
 * nothing) is kept. */
void http_service_set_timeouts(double request, double idle);

#endif
