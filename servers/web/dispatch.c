/*
 * Routing a request: OPTIONS, CGI scripts (*.cgi and --processor
 * extensions, with PATH_INFO), directory redirects and listings, files,
 * and the errors in between (RFC 9110 sections 9 and 15).
 */
#include "dispatch.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <event2/buffer.h>

#include "files.h"
#include "listing.h"
#include "path.h"
#include "response.h"
#include "session.h"
#include "static.h"
#include "web.h"

#define ALLOW_STATIC "Allow: GET, HEAD, OPTIONS\r\n"

static int has_body(const struct http_request *req)
{
    return req->chunked || (req->has_length && req->content_length > 0);
}

/* The session reads and drops a body no script takes, after the
 * response; but a client waiting for 100 Continue may never send it. */
int can_keep_alive(const struct http_request *req)
{
    return req->keep_alive && !(has_body(req) && req->expect_continue);
}

static void error_reply(struct web_session *s, const struct http_request *req, int status,
                        const char *extra)
{
    int ka = can_keep_alive(req) && status < 500;
    int head = req->method == HTTP_HEAD;
    size_t n = response_error_with(web_session_output(s), web_session_headers(s), status, ka,
                                   req->version_minor, head, extra);
    web_session_responded(s, req, status, head ? 0 : n, ka);
}

static void options_reply(struct web_session *s, const struct http_request *req,
                          const char *allow)
{
    struct evbuffer *out = web_session_output(s);
    int ka = can_keep_alive(req);
    response_start_with(out, 204, web_session_headers(s));
    evbuffer_add_printf(out, "Allow: %s\r\n", allow);
    response_end_head(out, ka, req->version_minor);
    web_session_responded(s, req, 204, 0, ka);
}

/* The --processor program for name, "" for a plain .cgi, NULL for neither. */
static const char *cgi_program(const struct web_cfg *w, const char *name)
{
    size_t n = strlen(name);
    for (size_t i = 0; i < w->processor.n; i++) {
        const char *spec = w->processor.v[i];
        const char *eq = strchr(spec, '=');
        size_t elen = (size_t)(eq - spec);
        if (elen <= n && memcmp(name + n - elen, spec, elen) == 0)
            return eq + 1;
    }
    if (n > 4 && strcmp(name + n - 4, ".cgi") == 0)
        return "";
    return NULL;
}

static char *url_prefix(const char *rel, size_t len)
{
    char *p = malloc(len + 2);
    if (p) {
        p[0] = '/';
        memcpy(p + 1, rel, len);
        p[len + 1] = '\0';
    }
    return p;
}

static void run_cgi(struct web_session *s, const struct http_request *req,
                    struct file_entry *e, const char *program, const char *path_info)
{
    struct cgi_target t = {
        .program = *program ? program : NULL,
        .script_file = strdup(e->fs_path),
        .script_name = url_prefix(e->rel_path, strlen(e->rel_path)),
        .path_info = strdup(path_info),
    };
    files_release(e);
    if (!t.script_file || !t.script_name || !t.path_info) {
        free(t.script_file);
        free(t.script_name);
        free(t.path_info);
        error_reply(s, req, 500, NULL);
        return;
    }
    web_session_run_cgi(s, req, &t);   /* req is gone after this */
}

/* "/cgi/env.cgi/extra/path": find the script at the front. */
static int try_path_info(struct web_session *s, const struct http_request *req, char *rel)
{
    const struct web_instance *w = web_session_web(s);
    for (char *slash = strchr(rel, '/'); slash; slash = strchr(slash + 1, '/')) {
        *slash = '\0';
        int st;
        const char *program = cgi_program(w->cfg, rel);
        struct file_entry *e = program ? files_lookup(w->files, rel, 0, &st) : NULL;
        *slash = '/';
        if (!e)
            continue;
        if (e->kind == FILE_REGULAR) {
            run_cgi(s, req, e, program, slash);
            return 1;
        }
        files_release(e);
    }
    return 0;
}

/* The Location is made from the normalised path, never echoed: a raw
 * "//host/.." would send the browser to another site. */
static void redirect_to_dir(struct web_session *s, const struct http_request *req,
                            const char *rel)
{
    struct evbuffer *out = web_session_output(s);
    int ka = can_keep_alive(req);
    char url[3 * PATH_MAX];
    path_url_encode(rel, url, sizeof url);
    response_start_with(out, 301, web_session_headers(s));
    evbuffer_add_printf(out, "Location: /%s/%s%.*s\r\nContent-Length: 0\r\n", url,
                        req->query.len ? "?" : "", (int)req->query.len, req->query.p);
    response_end_head(out, ka, req->version_minor);
    web_session_responded(s, req, 301, 0, ka);
}

static void listing_reply(struct web_session *s, const struct http_request *req,
                          struct file_entry *e, const char *rel)
{
    char url[PATH_MAX + 2];
    snprintf(url, sizeof url, "/%s%s", rel, *rel ? "/" : "");
    struct evbuffer *page = evbuffer_new();
    if (!page || listing_html(e->fs_path, url, page) == -1) {
        if (page)
            evbuffer_free(page);
        error_reply(s, req, 403, NULL);
        return;
    }
    struct evbuffer *out = web_session_output(s);
    int ka = can_keep_alive(req);
    size_t n = evbuffer_get_length(page);
    response_start_with(out, 200, web_session_headers(s));
    evbuffer_add_printf(out, "Content-Type: text/html; charset=utf-8\r\n"
                        "Content-Length: %zu\r\nCache-Control: no-cache\r\n", n);
    response_end_head(out, ka, req->version_minor);
    if (req->method != HTTP_HEAD)
        evbuffer_add_buffer(out, page);
    evbuffer_free(page);
    web_session_responded(s, req, 200, req->method == HTTP_HEAD ? 0 : n, ka);
}

static void serve_entry(struct web_session *s, const struct http_request *req,
                        struct file_entry *e, const char *rel, int dir_slash)
{
    if (req->method == HTTP_OPTIONS)
        options_reply(s, req, "GET, HEAD, OPTIONS");
    else if (req->method != HTTP_GET && req->method != HTTP_HEAD)
        error_reply(s, req, 405, ALLOW_STATIC);
    else if (e->kind == FILE_REGULAR)
        static_respond(s, req, e);
    else if (!dir_slash)
        redirect_to_dir(s, req, rel);
    else if (web_session_web(s)->cfg->no_listing)
        error_reply(s, req, 403, NULL);
    else
        listing_reply(s, req, e, rel);
}

void dispatch_request(struct web_session *s, const struct http_request *req)
{
    char rel[PATH_MAX];
    int dir_slash = 0, status;
    if (req->target.len == 1 && req->target.p[0] == '*') {
        if (req->method == HTTP_OPTIONS)
            options_reply(s, req, "GET, HEAD, OPTIONS, POST");
        else
            error_reply(s, req, 400, NULL);
        return;
    }
    int r = path_normalise(req->path.p, req->path.len, rel, sizeof rel, &dir_slash);
    if (r < 0) {
        error_reply(s, req, -r, NULL);
        return;
    }
    const struct web_instance *w = web_session_web(s);
    struct file_entry *e = files_lookup(w->files, rel, dir_slash, &status);
    if (!e) {
        if (status != 404 || !try_path_info(s, req, rel))
            error_reply(s, req, status, NULL);
        return;
    }
    const char *program = e->kind == FILE_REGULAR ? cgi_program(w->cfg, e->rel_path) : NULL;
    if (program) {
        run_cgi(s, req, e, program, "");
        return;
    }
    serve_entry(s, req, e, rel, dir_slash);
    files_release(e);
}
