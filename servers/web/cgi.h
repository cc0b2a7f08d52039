/*
 * CGI/1.1 (RFC 3875): run a script (or --processor program) for one
 * request and stream its response to the client.
 *
 * The child is reaped through the reactor; its stdout is read without
 * blocking and copied to the client as it comes (chunked for HTTP/1.1
 * when the script gives no Content-Length, else ending the connection);
 * the script is killed when the client goes away or the timeout passes.
 * A script that fails before giving a valid header block gets 502.
 */
#ifndef GALE_WEB_CGI_H
#define GALE_WEB_CGI_H

#include <stddef.h>
#include <stdint.h>

struct gale_session;
struct evbuffer;
struct http_request;
struct opt_list;
struct cgi_job;

/* The jobs one server started whose child has not been reaped, so that
 * its cleanup can end them (cgi_group_end); zeroed: empty. */
struct cgi_group {
    struct cgi_job *head;
    size_t count;
};

struct cgi_params {
    const struct http_request *req;
    const char *program;          /* --processor program, or NULL to run the script */
    const char *script_file;      /* absolute path on disk */
    const char *script_name;      /* URL path of the script: "/cgi/env.cgi" */
    const char *path_info;        /* URL path after the script: "/extra" or "" */
    const char *document_root;
    const char *remote_addr;      /* "127.0.0.1" */
    int remote_port;
    const char *server_name;      /* from Host, without the port */
    int server_port;
    int https;
    double timeout;               /* seconds for the whole run; 0: none */
    int keep_alive;               /* the client asked for it */
    uint64_t conn_id;             /* the connection's id, for log lines */
    const struct opt_list *headers;   /* --add-header lines for the response, or NULL */
    struct cgi_group *group;      /* the server's jobs, which this one joins; or NULL */
};

/* Called once the response has been queued in full (ok = 1) or has failed
 * (ok = 0: the session must close the connection).  status is the HTTP
 * status sent, bytes the body bytes sent; keep_alive whether the
 * connection may carry another request. */
typedef void (*cgi_done_cb)(int ok, int status, uint64_t bytes, int keep_alive, void *arg);

/* body: the whole request body (decoded), taken over by the job (it may
 * be NULL).  client: the connection's session, whose output the job
 * writes to; the job does not own it.  Returns
 * NULL with err filled when the child cannot be started (the session
 * answers 500). */
struct cgi_job *cgi_start(const struct cgi_params *p, struct evbuffer *body,
                          struct gale_session *client, cgi_done_cb done, void *arg,
                          char *err, size_t errlen);
/* The client's output has drained: resume. */
void cgi_client_drained(struct cgi_job *j);
/* The client went away: kill the child, free the job, no callback. */
void cgi_abort(struct cgi_job *j);
/* The server is going away, its sessions already closed (each job let
 * go with cgi_abort or finished): every child still running is killed
 * and its job's pipes and timer are freed.  A job whose child is not yet
 * reaped leaves the group and stays only for the reactor's child watch,
 * which frees it at the reap without touching the group or the server. */
void cgi_group_end(struct cgi_group *g);

#endif
