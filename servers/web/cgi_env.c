/*
 * The pure parts of the CGI runner; see cgi_int.h.
 *
 * The environment follows RFC 3875 section 4.1, with the variables
 * scripts expect in practice (REQUEST_URI, SCRIPT_FILENAME,
 * DOCUMENT_ROOT, HTTPS, REDIRECT_STATUS for php-cgi).  The script's
 * header block is parsed per RFC 3875 section 6.3, with the header
 * syntax of RFC 9110 section 5: anything doubtful is a 502, because a
 * byte passed through wrongly here could split the response.
 *
 * https://www.rfc-editor.org/rfc/rfc3875
 * https://www.rfc-editor.org/rfc/rfc9110#section-5
 * https://httpoxy.org/ (why Proxy never becomes HTTP_PROXY)
 */
#include "cgi_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http.h"

/* One variable being written at the end of the block; committed only
 * once whole, so a header that does not fit leaves nothing behind. */
struct env_var {
    struct cgi_env *e;
    size_t start, at;
    int bad;          /* no room, or a NUL in the value */
};

static void var_begin(struct env_var *v, struct cgi_env *e)
{
    v->e = e;
    v->start = v->at = e->used;
    v->bad = e->n == CGI_ENV_VARS;
}

static void var_put(struct env_var *v, const char *s, size_t len)
{
    /* A NUL would cut the value short where the script reads it. */
    if (v->bad || len >= CGI_ENV_MAX - v->at || memchr(s, '\0', len)) {
        v->bad = 1;
        return;
    }
    memcpy(v->e->buf + v->at, s, len);
    v->at += len;
}

static int var_end(struct env_var *v)
{
    struct cgi_env *e = v->e;
    if (v->bad)
        return -1;
    e->buf[v->at] = '\0';
    e->vars[e->n++] = e->buf + v->start;
    e->vars[e->n] = NULL;
    e->used = v->at + 1;
    return 0;
}

static int env_setn(struct cgi_env *e, const char *name, const char *val, size_t len)
{
    struct env_var v;
    var_begin(&v, e);
    var_put(&v, name, strlen(name));
    var_put(&v, "=", 1);
    var_put(&v, val, len);
    return var_end(&v);
}

static int env_set(struct cgi_env *e, const char *name, const char *val)
{
    return env_setn(e, name, val ? val : "", val ? strlen(val) : 0);
}

static int env_setu(struct cgi_env *e, const char *name, uint64_t n)
{
    char buf[24];
    snprintf(buf, sizeof buf, "%" PRIu64, n);
    return env_set(e, name, buf);
}

static int name_is(struct http_str s, const char *lit)
{
    return s.len == strlen(lit) && strncasecmp(s.p, lit, s.len) == 0;
}

static int same_name(struct http_str a, struct http_str b)
{
    return a.len == b.len && strncasecmp(a.p, b.p, a.len) == 0;
}

/* Only [A-Za-z0-9-]: "X_Forwarded_For" would otherwise pass for
 * X-Forwarded-For once '-' becomes '_', and scripts trust those. */
static int name_ok(struct http_str s)
{
    if (s.len == 0)
        return 0;
    for (size_t i = 0; i < s.len; i++) {
        unsigned char c = (unsigned char)s.p[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '-'))
            return 0;
    }
    return 1;
}

/* Content-Length and Content-Type have their own variables (RFC 3875
 * 4.1.18); Proxy must never reach HTTP_PROXY, which programs take for
 * their outgoing proxy (httpoxy). */
static int header_wanted(struct http_str name)
{
    return name_ok(name) && !name_is(name, "Content-Length") &&
           !name_is(name, "Content-Type") && !name_is(name, "Proxy");
}

/* HTTP_NAME for headers[i], with the values of later headers of the same
 * name joined to it (RFC 3875 4.1.18); Cookie joins with "; " (RFC 6265
 * 5.4), the others with ", ".  Dropped quietly when the block is full. */
static void env_header(struct cgi_env *e, const struct http_request *req, size_t i)
{
    struct http_str name = req->headers[i].name;
    const char *sep = name_is(name, "Cookie") ? "; " : ", ";
    struct env_var v;
    var_begin(&v, e);
    var_put(&v, "HTTP_", 5);
    for (size_t k = 0; k < name.len; k++) {
        char c = name.p[k] == '-' ? '_' : name.p[k];
        if (c >= 'a' && c <= 'z')
            c = (char)(c - 'a' + 'A');
        var_put(&v, &c, 1);
    }
    var_put(&v, "=", 1);
    var_put(&v, req->headers[i].value.p, req->headers[i].value.len);
    for (size_t k = i + 1; k < req->n_headers; k++) {
        if (!same_name(name, req->headers[k].name))
            continue;
        var_put(&v, sep, strlen(sep));
        var_put(&v, req->headers[k].value.p, req->headers[k].value.len);
    }
    var_end(&v);
}

static void env_headers(struct cgi_env *e, const struct http_request *req)
{
    for (size_t i = 0; i < req->n_headers && i < HTTP_MAX_HEADERS; i++) {
        if (!header_wanted(req->headers[i].name))
            continue;
        int seen = 0;   /* already joined into an earlier one */
        for (size_t k = 0; k < i && !seen; k++)
            seen = same_name(req->headers[i].name, req->headers[k].name);
        if (!seen)
            env_header(e, req, i);
    }
}

static const struct http_header *find_header(const struct http_request *req, const char *name)
{
    for (size_t i = 0; i < req->n_headers && i < HTTP_MAX_HEADERS; i++)
        if (name_is(req->headers[i].name, name))
            return &req->headers[i];
    return NULL;
}

/* The variables about the server and the script; -1 when they do not fit. */
static int env_server(struct cgi_env *e, const struct cgi_params *p)
{
    const struct http_request *req = p->req;
    char proto[16];
    snprintf(proto, sizeof proto, "HTTP/1.%d", req->version_minor ? 1 : 0);
    int r = 0;
    r |= env_set(e, "GATEWAY_INTERFACE", "CGI/1.1");
    r |= env_set(e, "SERVER_SOFTWARE", "gale/" GALE_VERSION);
    r |= env_set(e, "SERVER_PROTOCOL", proto);
    r |= env_set(e, "SERVER_NAME", p->server_name);
    r |= env_setu(e, "SERVER_PORT", (uint64_t)(p->server_port > 0 ? p->server_port : 0));
    r |= env_setn(e, "REQUEST_METHOD", req->method_text.p, req->method_text.len);
    r |= env_setn(e, "REQUEST_URI", req->target.p, req->target.len);
    r |= env_set(e, "REQUEST_SCHEME", p->https ? "https" : "http");
    r |= env_set(e, "SCRIPT_NAME", p->script_name);
    r |= env_set(e, "SCRIPT_FILENAME", p->script_file);
    r |= env_set(e, "PATH_INFO", p->path_info);
    r |= env_set(e, "DOCUMENT_ROOT", p->document_root);
    r |= env_setn(e, "QUERY_STRING", req->query.p ? req->query.p : "", req->query.len);
    r |= env_set(e, "REMOTE_ADDR", p->remote_addr);
    /* No reverse lookup: RFC 3875 4.1.9 allows the address instead. */
    r |= env_set(e, "REMOTE_HOST", p->remote_addr);
    r |= env_setu(e, "REMOTE_PORT", (uint64_t)(p->remote_port > 0 ? p->remote_port : 0));
    r |= env_set(e, "REDIRECT_STATUS", "200");
    r |= env_set(e, "PATH", "/usr/local/bin:/usr/bin:/bin");
    if (p->https)
        r |= env_set(e, "HTTPS", "on");
    return r ? -1 : 0;
}

static int env_translated(struct cgi_env *e, const struct cgi_params *p)
{
    if (!p->path_info || !p->path_info[0])
        return 0;
    const char *root = p->document_root ? p->document_root : "";
    size_t rl = strlen(root);
    while (rl > 0 && root[rl - 1] == '/' && p->path_info[0] == '/')
        rl--;       /* "/srv/www/" + "/x": one slash */
    struct env_var v;
    var_begin(&v, e);
    var_put(&v, "PATH_TRANSLATED=", 16);
    var_put(&v, root, rl);
    var_put(&v, p->path_info, strlen(p->path_info));
    return var_end(&v);
}

struct cgi_env *cgi_env_build(const struct cgi_params *p, int has_body, uint64_t body_len,
                              char *err, size_t errlen)
{
    struct cgi_env *e = malloc(sizeof *e);
    if (!e) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    e->n = e->used = 0;
    e->vars[0] = NULL;
    const struct http_header *ct = find_header(p->req, "Content-Type");
    int r = env_server(e, p) | env_translated(e, p);
    if (has_body)
        r |= env_setu(e, "CONTENT_LENGTH", body_len);
    if (ct)
        r |= env_setn(e, "CONTENT_TYPE", ct->value.p, ct->value.len);
    if (r) {
        snprintf(err, errlen, "request too large for a CGI environment");
        free(e);
        return NULL;
    }
    env_headers(e, p->req);
    return e;
}

const char *cgi_env_get(const struct cgi_env *e, const char *name)
{
    size_t len = strlen(name);
    for (size_t i = 0; i < e->n; i++)
        if (strncmp(e->vars[i], name, len) == 0 && e->vars[i][len] == '=')
            return e->vars[i] + len + 1;
    return NULL;
}

/* ---- The script's header block ---- */

size_t cgi_head_end(const char *buf, size_t len, size_t *scan)
{
    size_t p = *scan;
    while (p < len) {
        const char *nl = memchr(buf + p, '\n', len - p);
        if (!nl)
            break;
        size_t at = (size_t)(nl - buf), s = at;
        if (s > 0 && buf[s - 1] == '\r')
            s--;
        /* The line before this LF (or CRLF) is empty when it begins
         * the buffer or follows another LF. */
        if (s == 0 || buf[s - 1] == '\n')
            return at + 1;
        p = at + 1;
    }
    *scan = len;
    return 0;
}

static int is_tchar(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* "NNN reason" or "NNN"; only final statuses, a 1xx cannot end a CGI
 * response. */
static int parse_status(const char *v)
{
    if (!(v[0] >= '1' && v[0] <= '9' && v[1] >= '0' && v[1] <= '9' && v[2] >= '0' &&
          v[2] <= '9'))
        return -1;
    if (v[3] != '\0' && v[3] != ' ' && v[3] != '\t')
        return -1;
    int s = (v[0] - '0') * 100 + (v[1] - '0') * 10 + (v[2] - '0');
    return s >= 200 && s <= 599 ? s : -1;
}

static int parse_length(const char *v, uint64_t *out)
{
    size_t n = strlen(v);
    if (n == 0 || n > 18 || strspn(v, "0123456789") != n)
        return -1;    /* 18 digits cannot overflow */
    *out = strtoull(v, NULL, 10);
    return 0;
}

/* Our own framing and connection handling replace these (RFC 9110
 * 7.6.1 hop-by-hop fields), and Date and Server come from
 * response_start(). */
static int dropped(const char *name)
{
    static const char *const names[] = {
        "Connection", "Keep-Alive", "Transfer-Encoding", "TE", "Trailer", "Upgrade",
        "Proxy-Connection", "Server", "Date",
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcasecmp(name, names[i]) == 0)
            return 1;
    return 0;
}

/* One field; a repeated Status, Location, Content-Type or a conflicting
 * Content-Length leaves us unable to tell what the script meant. */
static int take_field(struct cgi_head *h, const char *name, const char *value, int *has_status)
{
    if (strcasecmp(name, "Status") == 0) {
        if (*has_status || (h->status = parse_status(value)) == -1)
            return -1;
        *has_status = 1;
        return 0;
    }
    if (strcasecmp(name, "Content-Length") == 0) {
        uint64_t n;
        if (parse_length(value, &n) == -1 || (h->has_length && n != h->content_length))
            return -1;
        h->has_length = 1;
        h->content_length = n;
        return 0;
    }
    if (dropped(name))
        return 0;
    if (strcasecmp(name, "Location") == 0) {
        if (h->location || !value[0])
            return -1;
        h->location = value;
    } else if (strcasecmp(name, "Content-Type") == 0) {
        if (h->content_type || !value[0])
            return -1;
        h->content_type = value;
    }
    h->fields[h->n_fields++] = (struct cgi_field){ name, value };
    return 0;
}

/* "Name: value" in line[0..len), NUL-terminated at len by the caller.
 * No space before the colon and no obs-fold (RFC 9112 5.1, 5.2); no
 * control characters but HTAB in the value (RFC 9110 5.5). */
static int parse_line(char *line, size_t len, struct cgi_head *h, int *has_status)
{
    size_t i = 0;
    while (i < len && is_tchar((unsigned char)line[i]))
        i++;
    if (i == 0 || i == len || line[i] != ':')
        return -1;
    line[i] = '\0';
    char *v = line + i + 1, *end = line + len;
    while (v < end && (*v == ' ' || *v == '\t'))
        v++;
    while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
        end--;
    for (const char *c = v; c < end; c++)
        if (((unsigned char)*c < 0x20 && *c != '\t') || *c == 0x7f)
            return -1;
    *end = '\0';
    return take_field(h, line, v, has_status);
}

/* RFC 3875 6.2: a document response needs Content-Type; a redirect
 * (Location) does not, nor a response that never has content.  A local
 * redirect ("Location: /path", 6.2.2) is answered like a client one,
 * 302 to the client, rather than re-run inside the server. */
static int head_finish(struct cgi_head *h, int has_status)
{
    if (!has_status)
        h->status = h->location ? 302 : 200;
    if (!h->content_type && !h->location && h->status != 204 && h->status != 304)
        return -1;
    return 0;
}

int cgi_head_parse(char *buf, size_t len, struct cgi_head *h)
{
    size_t pos = 0, lines = 0;
    int has_status = 0;
    memset(h, 0, sizeof *h);
    for (;;) {
        char *nl = pos < len ? memchr(buf + pos, '\n', len - pos) : NULL;
        if (!nl)
            return -1;     /* no empty line: not a block cgi_head_end measured */
        size_t at = (size_t)(nl - buf), e = at;
        if (e > pos && buf[e - 1] == '\r')
            e--;
        if (e == pos)
            break;
        if (++lines > CGI_HEAD_LINES)
            return -1;
        buf[e] = '\0';
        if (parse_line(buf + pos, e - pos, h, &has_status) == -1)
            return -1;
        pos = at + 1;
    }
    return head_finish(h, has_status);
}
