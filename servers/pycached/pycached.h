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

#endif
