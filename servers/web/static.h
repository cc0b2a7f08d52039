/* Responses from files: conditional requests, ranges, HEAD (RFC 9110
 * sections 13 and 14). */
#ifndef GALE_WEB_STATIC_H
#define GALE_WEB_STATIC_H

#include "http.h"

struct web_session;
struct file_entry;

/* GET or HEAD of a regular file; queues the response and reports it
 * through web_session_responded. */
void static_respond(struct web_session *s, const struct http_request *req,
                    struct file_entry *e);

#endif
