/* The access log of --logfile: Apache's Combined Log Format, or one JSON
 * object per request with the core's --log-format json. */
#ifndef GALE_WEB_ACCESSLOG_H
#define GALE_WEB_ACCESSLOG_H

#include <stddef.h>
#include <stdint.h>

struct http_request;

int accesslog_open(const char *path, char *err, size_t errlen);   /* "-": stdout */
void accesslog_reopen(void);
void accesslog_close(void);
int accesslog_enabled(void);
/* One request; req may be NULL for a request that could not be parsed. */
void accesslog_write(const char *peer_ip, const struct http_request *req, int status,
                     uint64_t bytes);

#endif
