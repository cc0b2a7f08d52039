/*
 * Unit test of the pure parts of the web server's CGI runner
 * (servers/web/cgi_env.c): the environment a script gets (RFC 3875
 * section 4.1) and the parser of the header block it writes back
 * (section 6.3).  The file is compiled into the test, as the web server
 * is not part of galecore.  TAP output; exits non-zero when a check
 * fails.
 */
#include "../../servers/web/cgi_env.c"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"

static struct http_str S(const char *s)
{
    return (struct http_str){ s, s ? strlen(s) : 0 };
}

static void add_header(struct http_request *r, const char *name, const char *value)
{
    r->headers[r->n_headers].name = S(name);
    r->headers[r->n_headers].value = S(value);
    r->n_headers++;
}

static struct http_request req;
static struct cgi_params params;
static char err[256];

/* A GET /cgi/env.cgi/extra?a=1&b=%20 over HTTP/1.1 with a few headers. */
static void base_request(void)
{
    memset(&req, 0, sizeof req);
    req.method = HTTP_GET;
    req.method_text = S("GET");
    req.target = S("/cgi/env.cgi/extra?a=1&b=%20");
    req.path = S("/cgi/env.cgi/extra");
    req.query = S("a=1&b=%20");
    req.version_minor = 1;
    add_header(&req, "Host", "example.org:8080");
    add_header(&req, "User-Agent", "test/1");
    params = (struct cgi_params){
        .req = &req, .script_file = "/srv/www/cgi/env.cgi", .script_name = "/cgi/env.cgi",
        .path_info = "/extra", .document_root = "/srv/www/", .remote_addr = "127.0.0.1",
        .remote_port = 40112, .server_name = "example.org", .server_port = 8080,
    };
}

static struct cgi_env *build(int has_body, uint64_t len)
{
    err[0] = '\0';
    return cgi_env_build(&params, has_body, len, err, sizeof err);
}

static void test_env_fixed(void)
{
    base_request();
    struct cgi_env *e = build(0, 0);
    CHECK(e != NULL, "environment built");
    if (!e)
        return;
    CHECK_STR(cgi_env_get(e, "GATEWAY_INTERFACE"), "CGI/1.1", "GATEWAY_INTERFACE");
    CHECK_STR(cgi_env_get(e, "SERVER_SOFTWARE"), "gale/" GALE_VERSION, "SERVER_SOFTWARE");
    CHECK_STR(cgi_env_get(e, "SERVER_PROTOCOL"), "HTTP/1.1", "SERVER_PROTOCOL");
    CHECK_STR(cgi_env_get(e, "SERVER_NAME"), "example.org", "SERVER_NAME");
    CHECK_STR(cgi_env_get(e, "SERVER_PORT"), "8080", "SERVER_PORT");
    CHECK_STR(cgi_env_get(e, "REQUEST_METHOD"), "GET", "REQUEST_METHOD");
    CHECK_STR(cgi_env_get(e, "REQUEST_URI"), "/cgi/env.cgi/extra?a=1&b=%20", "REQUEST_URI raw");
    CHECK_STR(cgi_env_get(e, "QUERY_STRING"), "a=1&b=%20", "QUERY_STRING raw");
    CHECK_STR(cgi_env_get(e, "SCRIPT_NAME"), "/cgi/env.cgi", "SCRIPT_NAME");
    CHECK_STR(cgi_env_get(e, "SCRIPT_FILENAME"), "/srv/www/cgi/env.cgi", "SCRIPT_FILENAME");
    CHECK_STR(cgi_env_get(e, "PATH_INFO"), "/extra", "PATH_INFO");
    CHECK_STR(cgi_env_get(e, "PATH_TRANSLATED"), "/srv/www/extra", "PATH_TRANSLATED, one slash");
    CHECK_STR(cgi_env_get(e, "DOCUMENT_ROOT"), "/srv/www/", "DOCUMENT_ROOT");
    CHECK_STR(cgi_env_get(e, "REMOTE_ADDR"), "127.0.0.1", "REMOTE_ADDR");
    CHECK_STR(cgi_env_get(e, "REMOTE_PORT"), "40112", "REMOTE_PORT");
    CHECK_STR(cgi_env_get(e, "REDIRECT_STATUS"), "200", "REDIRECT_STATUS for php-cgi");
    CHECK_STR(cgi_env_get(e, "PATH"), "/usr/local/bin:/usr/bin:/bin", "PATH");
    CHECK(cgi_env_get(e, "HTTPS") == NULL, "no HTTPS over plain HTTP");
    CHECK(cgi_env_get(e, "CONTENT_LENGTH") == NULL, "no CONTENT_LENGTH without a body");
    CHECK(cgi_env_get(e, "CONTENT_TYPE") == NULL, "no CONTENT_TYPE without the header");
    CHECK_STR(cgi_env_get(e, "HTTP_HOST"), "example.org:8080", "HTTP_HOST");
    CHECK_STR(cgi_env_get(e, "HTTP_USER_AGENT"), "test/1", "HTTP_USER_AGENT");
    CHECK(e->vars[e->n] == NULL, "vars end in NULL for execve");
    free(e);
}

static void test_env_variants(void)
{
    base_request();
    req.version_minor = 0;
    req.method_text = S("POST");
    req.query = (struct http_str){ NULL, 0 };
    params.path_info = "";
    params.https = 1;
    add_header(&req, "Content-Type", "application/x-www-form-urlencoded");
    add_header(&req, "Content-Length", "11");
    struct cgi_env *e = build(1, 11);
    CHECK(e != NULL, "POST environment built");
    if (!e)
        return;
    CHECK_STR(cgi_env_get(e, "SERVER_PROTOCOL"), "HTTP/1.0", "HTTP/1.0");
    CHECK_STR(cgi_env_get(e, "QUERY_STRING"), "", "QUERY_STRING empty without '?'");
    CHECK_STR(cgi_env_get(e, "PATH_INFO"), "", "PATH_INFO empty");
    CHECK(cgi_env_get(e, "PATH_TRANSLATED") == NULL, "no PATH_TRANSLATED without PATH_INFO");
    CHECK_STR(cgi_env_get(e, "HTTPS"), "on", "HTTPS=on");
    CHECK_STR(cgi_env_get(e, "CONTENT_LENGTH"), "11", "CONTENT_LENGTH");
    CHECK_STR(cgi_env_get(e, "CONTENT_TYPE"), "application/x-www-form-urlencoded",
              "CONTENT_TYPE");
    CHECK(cgi_env_get(e, "HTTP_CONTENT_TYPE") == NULL, "no HTTP_CONTENT_TYPE");
    CHECK(cgi_env_get(e, "HTTP_CONTENT_LENGTH") == NULL, "no HTTP_CONTENT_LENGTH");
    free(e);

    base_request();
    e = build(1, 0);
    CHECK(e && cgi_env_get(e, "CONTENT_LENGTH") && !strcmp(cgi_env_get(e, "CONTENT_LENGTH"), "0"),
          "CONTENT_LENGTH=0 for an empty body");
    free(e);
}

static void test_env_headers(void)
{
    base_request();
    add_header(&req, "Proxy", "http://evil.example:3128");
    add_header(&req, "X_Forwarded_For", "10.0.0.1");
    add_header(&req, "X-Forwarded-For", "192.0.2.1");
    add_header(&req, "Accept", "text/html");
    add_header(&req, "x-forwarded-for", "192.0.2.2");
    add_header(&req, "Cookie", "a=1");
    add_header(&req, "Bad Name", "x");
    add_header(&req, "X-Dot.Name", "x");
    add_header(&req, "cookie", "b=2");
    add_header(&req, "Accept", "text/plain");
    req.headers[req.n_headers].name = S("X-Nul");
    req.headers[req.n_headers].value = (struct http_str){ "a\0b", 3 };
    req.n_headers++;
    struct cgi_env *e = build(0, 0);
    CHECK(e != NULL, "environment with odd headers built");
    if (!e)
        return;
    CHECK(cgi_env_get(e, "HTTP_PROXY") == NULL, "httpoxy: no HTTP_PROXY");
    CHECK_STR(cgi_env_get(e, "HTTP_X_FORWARDED_FOR"), "192.0.2.1, 192.0.2.2",
              "underscore name skipped, repeats joined");
    CHECK_STR(cgi_env_get(e, "HTTP_ACCEPT"), "text/html, text/plain", "Accept joined with ', '");
    CHECK_STR(cgi_env_get(e, "HTTP_COOKIE"), "a=1; b=2", "Cookie joined with '; '");
    CHECK(cgi_env_get(e, "HTTP_X_NUL") == NULL, "a value with NUL is left out");
    size_t http = 0;
    for (size_t i = 0; i < e->n; i++)
        http += strncmp(e->vars[i], "HTTP_", 5) == 0;
    CHECK(http == 5, "five HTTP_ variables (got %zu)", http);
    free(e);
}

static void test_env_bounds(void)
{
    static char big[20000];
    memset(big, 'v', sizeof big - 1);
    base_request();
    for (int i = 0; i < 8; i++)
        add_header(&req, i % 2 ? "X-Big-A" : "X-Big", big);
    add_header(&req, "X-Small", "s");
    struct cgi_env *e = build(0, 0);
    CHECK(e != NULL, "oversized headers do not fail the request");
    if (!e)
        return;
    CHECK(e->used <= CGI_ENV_MAX, "block within %d bytes (used %zu)", CGI_ENV_MAX, e->used);
    CHECK(cgi_env_get(e, "HTTP_X_BIG") == NULL, "joined header too large: left out");
    CHECK(cgi_env_get(e, "HTTP_X_BIG_A") == NULL, "second one too: left out");
    CHECK_STR(cgi_env_get(e, "HTTP_X_SMALL"), "s", "later small header still there");
    CHECK_STR(cgi_env_get(e, "GATEWAY_INTERFACE"), "CGI/1.1", "fixed variables kept");
    free(e);

    base_request();
    for (int i = 0; i < HTTP_MAX_HEADERS - 2; i++) {
        static char names[HTTP_MAX_HEADERS][16];
        snprintf(names[i], sizeof names[i], "X-H%d", i);
        add_header(&req, names[i], big + sizeof big - 700);
    }
    e = build(0, 0);
    CHECK(e && e->used <= CGI_ENV_MAX && e->n <= CGI_ENV_VARS && e->vars[e->n] == NULL,
          "a hundred 700-byte headers stay within the bounds");
    CHECK(e && cgi_env_get(e, "HTTP_X_H0") && !cgi_env_get(e, "HTTP_X_H97"),
          "the first headers kept, the last ones skipped");
    free(e);

    static char target[CGI_ENV_MAX];
    memset(target, '/', sizeof target - 1);
    base_request();
    req.target = S(target);
    e = build(0, 0);
    CHECK(e == NULL, "a target larger than the block fails");
    CHECK_HAS(err, "too large", "and says why");
    free(e);
}

/* ---- The header block ---- */

static char hbuf[CGI_HEAD_MAX + 1];
static struct cgi_head head;

/* cgi_head_end then cgi_head_parse on a copy of text; -2 when no end. */
static int parse(const char *text)
{
    size_t len = strlen(text), scan = 0;
    memcpy(hbuf, text, len + 1);
    size_t end = cgi_head_end(hbuf, len, &scan);
    if (!end)
        return -2;
    return cgi_head_parse(hbuf, end, &head);
}

static const char *field(const char *name)
{
    for (size_t i = 0; i < head.n_fields; i++)
        if (strcasecmp(head.fields[i].name, name) == 0)
            return head.fields[i].value;
    return NULL;
}

/* text with control characters escaped, for the check's name */
static const char *show(const char *text)
{
    static char out[256];
    size_t n = 0;
    for (const char *c = text; *c && n < sizeof out - 5; c++) {
        if ((unsigned char)*c < 0x20 || *c == 0x7f)
            n += (size_t)snprintf(out + n, sizeof out - n, "\\%03o", (unsigned char)*c);
        else
            out[n++] = *c;
    }
    out[n] = '\0';
    return out;
}

static void test_head_end(void)
{
    size_t scan = 0;
    CHECK(cgi_head_end("Content-Type: a\n\nbody", 21, &scan) == 17, "LF block ends after LF LF");
    scan = 0;
    CHECK(cgi_head_end("A: b\r\n\r\nX", 9, &scan) == 8, "CRLF block");
    scan = 0;
    CHECK(cgi_head_end("A: b\n\r\nX", 8, &scan) == 7, "mixed LF then CRLF");
    scan = 0;
    CHECK(cgi_head_end("\nbody", 5, &scan) == 1, "empty block");
    scan = 0;
    CHECK(cgi_head_end("\r\nbody", 6, &scan) == 2, "empty block, CRLF");
    scan = 0;
    CHECK(cgi_head_end("A: b\r\r\nc", 8, &scan) == 0, "CR CR LF is not an empty line");
    scan = 0;
    CHECK(cgi_head_end("A: b\nC: d\n", 10, &scan) == 0 && scan == 10, "incomplete block");

    /* Fed a byte at a time, the answer comes at the same place. */
    const char *t = "Status: 200 OK\r\nContent-Type: text/plain\r\n\r\nhello";
    size_t found = 0;
    scan = 0;
    for (size_t n = 1; n <= strlen(t) && !found; n++)
        found = cgi_head_end(t, n, &scan);
    CHECK(found == strlen(t) - 5, "byte by byte: %zu", found);
}

static void test_head_parse(void)
{
    CHECK(parse("Content-Type: text/plain\n\n") == 0 && head.status == 200, "document: 200");
    CHECK_STR(field("Content-Type"), "text/plain", "Content-Type passes through");
    CHECK(parse("Status: 404 Not Found\r\nContent-type: text/html\r\n\r\n") == 0 &&
          head.status == 404, "Status 404");
    CHECK(field("Status") == NULL, "Status itself is not passed on");
    CHECK(parse("Location: http://example.org/\n\n") == 0 && head.status == 302,
          "client redirect: 302");
    CHECK(parse("Location: /local/path?x\n\n") == 0 && head.status == 302 &&
          strcmp(head.location, "/local/path?x") == 0, "local redirect: also 302");
    CHECK(parse("Status: 301 Moved\nLocation: /x\n\n") == 0 && head.status == 301,
          "Location with Status keeps the status");
    CHECK(parse("Status: 204 No Content\n\n") == 0 && head.status == 204, "204 without type");
    CHECK(parse("Status: 304\n\n") == 0 && head.status == 304, "304 without reason or type");
    CHECK(parse("X-A: 1\n\n") == -1, "document without Content-Type: invalid");
    CHECK(parse("\n") == -1, "empty block: invalid");
    CHECK(parse("Content-Type:   text/plain \t\nX-Empty:\n\n") == 0, "whitespace, empty value");
    CHECK_STR(field("Content-Type"), "text/plain", "value trimmed");
    CHECK_STR(field("X-Empty"), "", "empty value kept");

    const char *bad[] = {
        "Status: abc\nContent-Type: a\n\n", "Status: 99\nContent-Type: a\n\n",
        "Status: 1000\nContent-Type: a\n\n", "Status: 100 Continue\nContent-Type: a\n\n",
        "Status: 600 x\nContent-Type: a\n\n", "Status: 200\nStatus: 200\nContent-Type: a\n\n",
        "Content-Type: a\nno colon\n\n", "Content-Type : a\n\n", ": a\nContent-Type: a\n\n",
        "Content-Type: a\n folded\n\n", "Content-Type: a\nX: b\rc\n\n",
        "Content-Type: a\nX: b\001c\n\n", "Content-Type: a\nX: b\177\n\n",
        "Content-Type: a\nContent-Type: b\n\n", "Content-Type:\n\n",
        "Content-Type: a\nContent-Length: 1x\n\n", "Content-Type: a\nContent-Length: -1\n\n",
        "Content-Type: a\nContent-Length: \n\n",
        "Content-Type: a\nContent-Length: 1\nContent-Length: 2\n\n",
        "Content-Type: a\nContent-Length: 99999999999999999999\n\n",
        "Location:\n\n", "Location: /a\nLocation: /b\n\n", "X(y): 1\nContent-Type: a\n\n",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK(parse(bad[i]) == -1, "rejected: %s", show(bad[i]));
}

static void test_head_fields(void)
{
    int r = parse("Content-Type: text/plain\nContent-Length: 5\nContent-Length: 5\n"
                  "Connection: keep-alive\nTransfer-Encoding: chunked\nKeep-Alive: 5\n"
                  "Server: evil\nDate: x\nTE: x\nUpgrade: h2c\nX-One: 1\nSet-Cookie: a=1\n"
                  "Set-Cookie: b=2\n\nbody");
    CHECK(r == 0, "block with dropped fields parses");
    CHECK(head.has_length && head.content_length == 5, "Content-Length 5 (repeated, same)");
    CHECK(head.n_fields == 4, "four fields pass (got %zu)", head.n_fields);
    CHECK(field("Connection") == NULL && field("Transfer-Encoding") == NULL &&
          field("Keep-Alive") == NULL && field("Server") == NULL && field("Date") == NULL &&
          field("Upgrade") == NULL && field("Content-Length") == NULL,
          "hop-by-hop, Server, Date and Content-Length not passed as fields");
    CHECK(head.n_fields == 4 && strcmp(head.fields[2].value, "a=1") == 0 &&
          strcmp(head.fields[3].value, "b=2") == 0, "repeated Set-Cookie kept, in order");

    static char many[CGI_HEAD_MAX];
    size_t n = 0;
    n += (size_t)snprintf(many + n, sizeof many - n, "Content-Type: a\n");
    for (int i = 1; i < CGI_HEAD_LINES; i++)
        n += (size_t)snprintf(many + n, sizeof many - n, "X-%d: %d\n", i, i);
    snprintf(many + n, sizeof many - n, "\n");
    CHECK(parse(many) == 0 && head.n_fields == CGI_HEAD_LINES, "100 lines accepted");
    snprintf(many + n, sizeof many - n, "X-Last: 1\n\n");
    CHECK(parse(many) == -1, "101 lines rejected");
}

/* Random blocks under the sanitizers: no crash, no read past the end. */
static void test_head_noise(void)
{
    static const char alphabet[] = "ab:Ss \t\r\n\n\001:0123456789Content-Type";
    unsigned seed = 12345;
    int survived = 1;
    for (int round = 0; round < 20000; round++) {
        size_t len = (seed = seed * 1103515245u + 12345u) % 200, scan = 0;
        char *b = malloc(len ? len : 1);
        for (size_t i = 0; i < len; i++) {
            seed = seed * 1103515245u + 12345u;
            b[i] = alphabet[(seed >> 16) % (sizeof alphabet - 1)];
        }
        size_t end = cgi_head_end(b, len, &scan);
        if (end > len)
            survived = 0;
        if (end) {
            struct cgi_head h;
            if (cgi_head_parse(b, end, &h) == 0 && !h.content_type && !h.location &&
                h.status != 204 && h.status != 304)
                survived = 0;
        }
        free(b);
    }
    CHECK(survived, "20000 random blocks");
}

int main(void)
{
    test_env_fixed();
    test_env_variants();
    test_env_headers();
    test_env_bounds();
    test_head_end();
    test_head_parse();
    test_head_fields();
    test_head_noise();
    return unit_done();
}
