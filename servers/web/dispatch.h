/* Routing one parsed request: CGI, redirect, listing, file, or error. */
#ifndef GALE_WEB_DISPATCH_H
#define GALE_WEB_DISPATCH_H

#include "http.h"

struct web_session;

/* Whether the connection can carry another request after this one: not
 * when the client asked for 100 Continue before a body nobody reads. */
int can_keep_alive(const struct http_request *req);

/* Queues the response (or starts a CGI through web_session_run_cgi). */
void dispatch_request(struct web_session *s, const struct http_request *req);

#endif
