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
#include "response.h"
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

static struct session_cfg session_cfg;
static struct files_cfg files_cfg;
static char https_endpoint[3 * EP_VALUE_MAX];

static int open_listeners(const struct opt_list *l, char *err, size_t errlen)
{
    for (size_t i = 0; i < l->n; i++)
        if (session_service_listen(session_cfg.service, l->v[i], err, errlen) == -1)
            return -1;
    return 0;
}

static int open_https(struct web_cfg *cfg, char *err, size_t errlen)
{
    if (!cfg->https)
        return 0;
    /* Twisted's --https is a port; the certificate and key come from -c/-k. */
    snprintf(https_endpoint, sizeof https_endpoint, "ssl:%s:privateKey=%s:certKey=%s",
             cfg->https, cfg->privkey, cfg->certificate);
    return session_service_listen(session_cfg.service, https_endpoint, err, errlen);
}

static void fill_session_cfg(struct web_cfg *cfg)
{
    session_cfg.web = cfg;
    session_cfg.limits.max_request_line = (size_t)cfg->max_request_line;
    session_cfg.limits.max_header_bytes = (size_t)cfg->max_header_size;
    session_cfg.limits.max_headers = (size_t)cfg->max_headers;
}

static void fill_files_cfg(struct web_cfg *cfg)
{
    files_cfg.root = cfg->path;
    if (cfg->index.n) {
        files_cfg.index = cfg->index.v;
        files_cfg.n_index = cfg->index.n;
    } else {
        files_cfg.index = default_index;
        files_cfg.n_index = sizeof default_index / sizeof default_index[0];
    }
    files_cfg.ignore_ext = cfg->ignore_ext.v;
    files_cfg.n_ignore_ext = cfg->ignore_ext.n;
    files_cfg.allow_ignore_ext = cfg->allow_ignore_ext;
    files_cfg.follow_symlinks = cfg->follow_symlinks;
    files_cfg.max_entries = 4096;
    files_cfg.small_file = 64 * 1024;
}

static int web_start(void *p, char *err, size_t errlen)
{
    struct web_cfg *cfg = p;
    fill_session_cfg(cfg);
    fill_files_cfg(cfg);
    response_set_extra_headers(&cfg->add_header);
    mime_load(MIME_TYPES_FILE, cfg->mime_type);
    if (files_init(&files_cfg, err, errlen) == -1)
        return -1;
    if (cfg->logfile && accesslog_open(cfg->logfile, err, errlen) == -1)
        return -1;
    if (!(session_cfg.service = session_service_new(&web_session_proto, &session_cfg))) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (cfg->listen.n == 0 && cfg->port.n == 0 && !cfg->https) {
        static const char *const dflt[] = { "tcp:8080" };
        struct opt_list l = { (const char **)dflt, 1 };
        if (open_listeners(&l, err, errlen) == -1)
            return -1;
    }
    if (open_listeners(&cfg->listen, err, errlen) == -1 ||
        open_listeners(&cfg->port, err, errlen) == -1 || open_https(cfg, err, errlen) == -1)
        return -1;
    log_info("event=serving path=\"%s\"", cfg->path);
    return 0;
}

static void web_reload(void *p)
{
    struct web_cfg *cfg = p;
    files_flush();
    mime_load(MIME_TYPES_FILE, cfg->mime_type);
    accesslog_reopen();
}

static void web_stop(void *p)
{
    (void)p;
    session_service_stop(session_cfg.service);
}

static void web_cleanup(void *p)
{
    (void)p;
    session_service_free(session_cfg.service);
    session_cfg.service = NULL;
    files_free();
    mime_free();
    accesslog_close();
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
    .start = web_start,
    .reload = web_reload,
    .stop = web_stop,
    .cleanup = web_cleanup,
};
