/*
 * gale web: static files and CGI over HTTP/1.1, with twistd web's
 * options.  This file holds the option table and start-up; the
 * connection state machine is in session.c, request routing in
 * dispatch.c, file responses in static.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "accesslog.h"
#include "conn.h"
#include "endpoint.h"
#include "files.h"
#include "gale_session.h"
#include "log.h"
#include "mime.h"
#include "server.h"
#include "session.h"
#include "web.h"

#define MIME_TYPES_FILE "/etc/mime.types"

static const char *const default_index[] = { "index", "index.html" };

static int check_header_line(const char *s, char *err, size_t errlen)
{
    const char *colon = strchr(s, ':');
    if (!colon || colon == s || strpbrk(s, "\r\n")) {
        snprintf(err, errlen, "'%s' is not \"Name: Value\"", s);
        return -1;
    }
    for (const char *p = s; p < colon; p++)
        if (*p <= ' ' || *p >= 0x7f || strchr("()<>@,;\\\"/[]?={}", *p)) {
            snprintf(err, errlen, "'%.*s' is not a header name", (int)(colon - s), s);
            return -1;
        }
    return 0;
}

static int check_processor(const char *s, char *err, size_t errlen)
{
    const char *eq = strchr(s, '=');
    if (!eq || eq == s || eq[1] == '\0') {
        snprintf(err, errlen, "'%s' is not EXT=PROGRAM (.php=/usr/bin/php-cgi)", s);
        return -1;
    }
    return 0;
}

static int check_port_number(const char *s, char *err, size_t errlen)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (*s == '\0' || *end || v < 0 || v > 65535) {
        snprintf(err, errlen, "'%s' is not a port number", s);
        return -1;
    }
    return 0;
}

static int open_listeners(struct web_instance *w, const struct opt_list *l, char *err,
                          size_t errlen)
{
    for (size_t i = 0; i < l->n; i++)
        if (session_service_listen(w->service, l->v[i], err, errlen) == -1)
            return -1;
    return 0;
}

static int open_https(struct web_instance *w, char *err, size_t errlen)
{
    const struct web_cfg *cfg = w->cfg;
    char endpoint[3 * EP_VALUE_MAX];
    if (!cfg->https)
        return 0;
    /* Twisted's --https is a port; the certificate and key come from -c/-k. */
    snprintf(endpoint, sizeof endpoint, "ssl:%s:privateKey=%s:certKey=%s", cfg->https,
             cfg->privkey, cfg->certificate);
    return session_service_listen(w->service, endpoint, err, errlen);
}

static int open_all_listeners(struct web_instance *w, char *err, size_t errlen)
{
    const struct web_cfg *cfg = w->cfg;
    if (cfg->listen.n == 0 && cfg->port.n == 0 && !cfg->https) {
        static const char *const dflt[] = { "tcp:8080" };
        struct opt_list l = { (const char **)dflt, 1, NULL };
        if (open_listeners(w, &l, err, errlen) == -1)
            return -1;
    }
    if (open_listeners(w, &cfg->listen, err, errlen) == -1 ||
        open_listeners(w, &cfg->port, err, errlen) == -1 || open_https(w, err, errlen) == -1)
        return -1;
    return 0;
}

static void web_listens(const void *p, void (*add)(void *ctx, int udp, const char *endpoint),
                        void *ctx)
{
    const struct web_cfg *cfg = p;
    if (!cfg->listen.n && !cfg->port.n && !cfg->https)
        add(ctx, 0, "tcp:8080");
    for (size_t i = 0; i < cfg->listen.n; i++)
        add(ctx, 0, cfg->listen.v[i]);
    for (size_t i = 0; i < cfg->port.n; i++)
        add(ctx, 0, cfg->port.v[i]);
    if (cfg->https)
        add(ctx, 0, cfg->https);
}

static void fill_files_cfg(const struct web_cfg *cfg, struct mime_table *mime,
                           struct files_cfg *fc)
{
    *fc = (struct files_cfg){
        .root = cfg->path,
        .index = default_index,
        .n_index = sizeof default_index / sizeof default_index[0],
        .ignore_ext = cfg->ignore_ext.v,
        .n_ignore_ext = cfg->ignore_ext.n,
        .allow_ignore_ext = cfg->allow_ignore_ext,
        .follow_symlinks = cfg->follow_symlinks,
        .max_entries = 4096,
        .small_file = 64 * 1024,
        .mime = mime,
    };
    if (cfg->index.n) {
        fc->index = cfg->index.v;
        fc->n_index = cfg->index.n;
    }
}

/* The tree, its types and the access log: what the sessions will use. */
static int open_files(struct web_instance *w, char *err, size_t errlen)
{
    const struct web_cfg *cfg = w->cfg;
    struct files_cfg fc;
    if (!(w->mime = mime_new())) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    mime_load(w->mime, MIME_TYPES_FILE, cfg->mime_type);
    fill_files_cfg(cfg, w->mime, &fc);
    if (!(w->files = files_new(&fc, err, errlen)))
        return -1;
    if (cfg->logfile && !(w->access_log = accesslog_open(cfg->logfile, err, errlen)))
        return -1;
    return 0;
}

/* On failure what was made stays in cfg->inst for cleanup to free. */
static int web_start(void *p, char *err, size_t errlen)
{
    struct web_cfg *cfg = p;
    struct web_instance *w = calloc(1, sizeof *w);
    if (!w) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    cfg->inst = w;
    w->cfg = cfg;
    w->limits.max_request_line = (size_t)cfg->max_request_line;
    w->limits.max_header_bytes = (size_t)cfg->max_header_size;
    w->limits.max_headers = (size_t)cfg->max_headers;
    if (open_files(w, err, errlen) == -1)
        return -1;
    if (!(w->service = session_service_new(&web_session_proto, w))) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (open_all_listeners(w, err, errlen) == -1)
        return -1;
    log_info("event=serving path=\"%s\"", cfg->path);
    return 0;
}

/* SIGHUP: this server's files are read again and its log reopened. */
static void web_reload(void *p)
{
    struct web_cfg *cfg = p;
    struct web_instance *w = cfg->inst;
    if (!w)
        return;
    files_flush(w->files);
    if (w->mime)
        mime_load(w->mime, MIME_TYPES_FILE, cfg->mime_type);
    accesslog_reopen(w->access_log);
}

static void web_stop(void *p)
{
    struct web_cfg *cfg = p;
    if (cfg->inst && cfg->inst->service)
        session_service_stop(cfg->inst->service);
}

/* Sessions first (each lets go of its script and its file entries), then
 * the scripts still running, then what the sessions used.  Safe after a
 * start that failed half-way, or none. */
static void web_cleanup(void *p)
{
    struct web_cfg *cfg = p;
    struct web_instance *w = cfg->inst;
    if (!w)
        return;
    session_service_free(w->service);
    cgi_group_end(&w->cgi);
    files_free(w->files);
    mime_free(w->mime);
    accesslog_close(w->access_log);
    free(w);
    cfg->inst = NULL;
}

/* --https without -c or -k reads server.pem, as twistd does: missing, it
 * is a command-line mistake like any file named there. */
static int web_check(void *p, char *err, size_t errlen)
{
    const struct web_cfg *cfg = p;
    char why[512];
    if (!cfg->https)
        return 0;
    if (opt_check_file(cfg->certificate, why, sizeof why) == -1) {
        snprintf(err, errlen, "--certificate: %s", why);
        return -1;
    }
    if (opt_check_file(cfg->privkey, why, sizeof why) == -1) {
        snprintf(err, errlen, "--privkey: %s", why);
        return -1;
    }
    return 0;
}

#define W(field) OPT_AT(struct web_cfg, field)

static const struct gale_opt web_opts[] = {
    { .name = "listen", .type = OPT_LIST, .offset = W(listen), .metavar = "ENDPOINT",
      .help = "listen on ENDPOINT (tcp:8080 when no --listen, --port or --https is given)",
      .check = endpoint_check, .check_disk = endpoint_check_files },
    { .name = "port", .short_name = 'p', .type = OPT_LIST, .offset = W(port),
      .metavar = "ENDPOINT", .help = "the same as --listen (twistd's name)",
      .check = endpoint_check, .check_disk = endpoint_check_files },
    { .name = "https", .type = OPT_STRING, .offset = W(https), .metavar = "PORT",
      .help = "also serve HTTPS on PORT with -c and -k", .check = check_port_number },
    { .name = "certificate", .short_name = 'c', .type = OPT_FILE, .offset = W(certificate),
      .metavar = "FILE", .help = "certificate for --https (PEM)", .def = "server.pem" },
    { .name = "privkey", .short_name = 'k', .type = OPT_FILE, .offset = W(privkey),
      .metavar = "FILE", .help = "private key for --https (PEM)", .def = "server.pem" },
    { .name = "path", .type = OPT_PATH, .offset = W(path), .metavar = "DIR|FILE",
      .help = "what to serve: a directory, or one file for every path", .def = ".",
      .check_disk = opt_check_readable },
    { .name = "index", .short_name = 'i', .type = OPT_LIST, .offset = W(index),
      .metavar = "NAME", .help = "index file name to look for (default: index, index.html)" },
    { .name = "mime-type", .short_name = 'm', .type = OPT_STRING, .offset = W(mime_type),
      .metavar = "TYPE", .help = "type of files with an unknown extension",
      .def = "application/octet-stream" },
    { .name = "add-header", .type = OPT_LIST, .offset = W(add_header),
      .metavar = "\"NAME: VALUE\"", .help = "add this header to every response",
      .check = check_header_line },
    { .name = "ignore-ext", .type = OPT_LIST, .offset = W(ignore_ext), .metavar = "EXT",
      .help = "let a request for foo find foo.EXT" },
    { .name = "allow-ignore-ext", .type = OPT_FLAG, .offset = W(allow_ignore_ext),
      .help = "let a request for foo find foo with any extension" },
    { .name = "logfile", .short_name = 'l', .type = OPT_PATH, .offset = W(logfile),
      .metavar = "FILE", .help = "access log in Combined Log Format ('-' for stdout)",
      .check_disk = opt_check_new_file },
    { .name = "processor", .type = OPT_LIST, .offset = W(processor),
      .metavar = "EXT=PROGRAM", .help = "run files ending in EXT through PROGRAM as CGI",
      .check = check_processor },
    { .name = "no-listing", .type = OPT_FLAG, .offset = W(no_listing),
      .help = "answer 403 for a directory without an index file" },
    { .name = "follow-symlinks", .type = OPT_FLAG, .offset = W(follow_symlinks),
      .help = "follow symlinks that lead outside --path" },
    { .name = "max-request-line", .type = OPT_INT, .offset = W(max_request_line),
      .metavar = "BYTES", .help = "longest request line (longer: 414)", .def = "8192",
      .min = 64, .max = 1048576 },
    { .name = "max-header-size", .type = OPT_SIZE, .offset = W(max_header_size),
      .metavar = "SIZE", .help = "largest request head (larger: 431)", .def = "32k" },
    { .name = "max-headers", .type = OPT_INT, .offset = W(max_headers), .metavar = "N",
      .help = "most header fields in a request (more: 431)", .def = "100", .min = 1,
      .max = 100 },
    { .name = "max-body", .type = OPT_SIZE, .offset = W(max_body), .metavar = "SIZE",
      .help = "largest request body, for CGI or read and dropped (larger: 413)", .def = "10m" },
    { .name = "header-timeout", .type = OPT_DURATION, .offset = W(header_timeout),
      .metavar = "SECONDS", .help = "time a client has to send a whole request head",
      .def = "30" },
    { .name = "keepalive-timeout", .type = OPT_DURATION, .offset = W(keepalive_timeout),
      .metavar = "SECONDS", .help = "close an idle keep-alive connection after this long",
      .def = "75" },
    { .name = "send-timeout", .type = OPT_DURATION, .offset = W(send_timeout),
      .metavar = "SECONDS", .help = "close a connection whose client reads nothing for this long",
      .def = "60" },
    { .name = "cgi-timeout", .type = OPT_DURATION, .offset = W(cgi_timeout),
      .metavar = "SECONDS", .help = "kill a CGI script that runs longer than this",
      .def = "60" },
    { 0 }
};

const struct gale_server gale_server_web = {
    .name = "web",
    .summary = "static files and CGI over HTTP/1.1 and HTTPS",
    .description =
        "Serves a directory (or one file) over HTTP/1.1: persistent connections and\n"
        "pipelining, conditional and range requests, directory listings, CGI scripts\n"
        "(*.cgi) and --processor programs, an access log in Combined Log Format.",
    .opts = web_opts,
    .cfg_size = sizeof(struct web_cfg),
    .check = web_check,
    .listens = web_listens,
    .start = web_start,
    .reload = web_reload,
    .stop = web_stop,
    .cleanup = web_cleanup,
};
