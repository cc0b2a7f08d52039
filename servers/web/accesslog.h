/* The access log of --logfile: Apache's Combined Log Format, or one JSON
 * object per request with the core's --log-format json. */
#ifndef GALE_WEB_ACCESSLOG_H
#define GALE_WEB_ACCESSLOG_H

#include <stddef.h>
#include <stdint.h>

struct http_request;
struct linefile;

/* One server's log; "-" is stdout.  NULL and err when it cannot be opened. */
struct linefile *accesslog_open(const char *path, char *err, size_t errlen);
void accesslog_reopen(struct linefile *log);     /* SIGHUP; NULL: nothing */
void accesslog_close(struct linefile *log);      /* NULL: nothing */
/* One request; req may be NULL for a request that could not be parsed. */
void accesslog_write(struct linefile *log, const char *peer_ip, const struct http_request *req,
                     int status, uint64_t bytes);

#endif
