/*
 * One HTTP connection: reading request heads (pipelined requests are
 * answered in order), request bodies (for CGI, or read and dropped),
 * timeouts, keep-alive.
 */
#ifndef GALE_WEB_SESSION_H
#define GALE_WEB_SESSION_H

#include <stddef.h>
#include <stdint.h>
#include "http.h"

struct session_proto;
struct web_instance;
struct web_session;
struct evbuffer;
struct file_entry;
struct opt_list;

enum web_state {
    WS_HEAD,       /* waiting for (the rest of) a request head */
    WS_BODY,       /* reading a request body for a CGI script */
    WS_DISCARD,    /* dropping the body of a request already answered */
    WS_CGI,        /* a CGI script is answering; input waits */
    WS_CLOSING,    /* the last response is queued; close once it is sent */
};

/* The protocol for the session layer's service; its arg is the server's
 * struct web_instance. */
extern const struct session_proto web_session_proto;

/* What dispatch.c and static.c need of the session. */
struct evbuffer *web_session_output(struct web_session *s);
/* The client's address without its port, into buf; returns buf. */
const char *web_session_peer_ip(const struct web_session *s, char *buf, size_t len);
int web_session_peer_port(const struct web_session *s);
int web_session_is_tls(const struct web_session *s);
int web_session_local_port(const struct web_session *s);
const struct web_instance *web_session_web(const struct web_session *s);
/* The server's --add-header lines, for response_start_with. */
const struct opt_list *web_session_headers(const struct web_session *s);
uint64_t web_session_id(const struct web_session *s);

/* A response has been queued for req: log it; keep_alive 0 closes the
 * connection once it is sent. */
void web_session_responded(struct web_session *s, const struct http_request *req, int status,
                       uint64_t body_bytes, int keep_alive);

/* Run a CGI script for the request being handled: the session reads the
 * body, then starts it (dispatch calls this instead of responding). */
struct cgi_target {
    const char *program;         /* --processor program or NULL */
    char *script_file;           /* absolute; taken over */
    char *script_name;           /* taken over */
    char *path_info;             /* taken over */
};
void web_session_run_cgi(struct web_session *s, const struct http_request *req,
                     struct cgi_target *t);

#endif
