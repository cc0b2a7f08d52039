/*
 * gale web: what the files of the web server share.  The configuration
 * comes from the option table in web.c; everything a running server
 * holds is in its struct web_instance, made by start and freed by
 * cleanup, so that several web servers can run in one process.
 */
#ifndef GALE_WEB_WEB_H
#define GALE_WEB_WEB_H

#include <stddef.h>
#include <stdint.h>
#include "cgi.h"
#include "http.h"
#include "opt.h"

struct files;
struct linefile;
struct mime_table;
struct session_service;
struct web_instance;

struct web_cfg {
    struct opt_list listen, port;
    const char *https;
    const char *certificate, *privkey;
    const char *path;
    struct opt_list index;
    const char *mime_type;
    struct opt_list add_header;
    struct opt_list ignore_ext;
    int allow_ignore_ext;
    const char *logfile;
    struct opt_list processor;
    int no_listing;
    int follow_symlinks;
    long max_request_line;
    uint64_t max_header_size;
    uint64_t max_body;
    long max_headers;
    double header_timeout;
    double keepalive_timeout;
    double cgi_timeout;
    double send_timeout;
    struct web_instance *inst;    /* not an option: made by start, freed by cleanup */
};

/* One running web server; every session reaches it with session_server(). */
struct web_instance {
    const struct web_cfg *cfg;
    struct http_limits limits;
    struct session_service *service;   /* every listener's */
    struct files *files;               /* the served tree and its cache */
    struct mime_table *mime;           /* content types, for files */
    struct linefile *access_log;       /* --logfile, or NULL */
    struct cgi_group cgi;              /* the scripts it started */
};

#endif
