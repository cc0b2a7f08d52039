/*
 * The pure parts of the CGI runner (RFC 3875), private to cgi.c,
 * cgi_env.c and their unit test: building the child's environment
 * (section 4.1) and parsing the header block a script writes (section
 * 6.3).  No I/O here; the parser works in place on its buffer.
 */
#ifndef GALE_WEB_CGI_INT_H
#define GALE_WEB_CGI_INT_H

#include <stddef.h>
#include <stdint.h>

#include "cgi.h"

#define CGI_ENV_MAX (64 * 1024)   /* bytes of "NAME=value\0" in all */
#define CGI_ENV_VARS 160          /* ~25 fixed variables and HTTP_MAX_HEADERS */
#define CGI_HEAD_MAX (64 * 1024)  /* a script's header block, blank line included */
#define CGI_HEAD_LINES 100

/* "NAME=value" strings in one block, NULL-ended for execve(). */
struct cgi_env {
    char *vars[CGI_ENV_VARS + 1];
    size_t n;
    size_t used;
    char buf[CGI_ENV_MAX];
};

/*
 * The meta-variables for p->req.  has_body: the request framed a body
 * (Content-Length or chunked), of body_len decoded bytes.  Request
 * headers that do not fit are left out; NULL with err filled when even
 * the fixed variables do not fit (a huge target) or memory runs out.
 */
struct cgi_env *cgi_env_build(const struct cgi_params *p, int has_body, uint64_t body_len,
                              char *err, size_t errlen);
/* The value of NAME, or NULL (the unit test's view). */
const char *cgi_env_get(const struct cgi_env *e, const char *name);

struct cgi_field {
    const char *name, *value;
};

/* A parsed header block: the final status and what passes through. */
struct cgi_head {
    int status;                        /* Status, or 302 for Location, or 200 */
    const char *location;              /* NULL when absent */
    const char *content_type;          /* NULL when absent */
    int has_length;
    uint64_t content_length;
    struct cgi_field fields[CGI_HEAD_LINES];   /* for the client, in order */
    size_t n_fields;
};

/*
 * Looks for the empty line ending the header block in buf[0..len),
 * resuming at *scan (0 at first; kept at the start of the last
 * incomplete line, so that the whole search stays linear).  Returns the
 * length of the block with its empty line, or 0 when it is not complete.
 */
size_t cgi_head_end(const char *buf, size_t len, size_t *scan);

/*
 * Parses a complete block buf[0..len) (as cgi_head_end measured it),
 * writing NULs into buf; the strings in h point into it.  Returns -1
 * when the block is malformed or is not a valid CGI response: the
 * server then answers 502.
 */
int cgi_head_parse(char *buf, size_t len, struct cgi_head *h);

#endif
