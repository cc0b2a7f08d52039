/*
 * gale web: what the files of the web server share.  The configuration
 * comes from the option table in web.c.
 */
#ifndef GALE_WEB_WEB_H
#define GALE_WEB_WEB_H

#include <stddef.h>
#include <stdint.h>
#include "opt.h"

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
};

#endif
