/*
 * The access log: Apache's Combined Log Format,
 *   127.0.0.1 - - [22/Nov/2026:03:42:58 +0000] "GET / HTTP/1.1" 200 1234 "-" "curl/8.0"
 * or, with --log-format json, one object per line with the same fields.
 * Lines go through the core's linefile: gathered, and written off the
 * reactor once a second or per 64 KiB.
 */
#include "accesslog.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "http.h"
#include "json.h"
#include "linefile.h"
#include "log.h"

#define LINE_MAX_BYTES 8192

struct linefile *accesslog_open(const char *p, char *err, size_t errlen)
{
    return linefile_open(p, err, errlen);
}

void accesslog_reopen(struct linefile *log)
{
    linefile_reopen(log);
}

void accesslog_close(struct linefile *log)
{
    linefile_close(log);
}

static struct http_str header_or_dash(const struct http_request *req, const char *name)
{
    const struct http_str *v = req ? http_header_get(req, name) : NULL;
    return v ? *v : (struct http_str){ "-", 1 };
}

/* Quotes and backslashes in logged strings are escaped as Apache does. */
static size_t clf_escape(char *out, size_t room, struct http_str s)
{
    size_t n = 0;
    for (size_t i = 0; i < s.len && n + 5 < room; i++) {
        unsigned char c = (unsigned char)s.p[i];
        if (c == '"' || c == '\\') {
            out[n++] = '\\';
            out[n++] = (char)c;
        } else if (c < 0x20 || c >= 0x7f) {
            n += (size_t)snprintf(out + n, room - n, "\\x%02x", c);
        } else {
            out[n++] = (char)c;
        }
    }
    out[n] = '\0';
    return n;
}

static size_t format_clf(char *line, const char *ip, const struct http_request *req,
                         int status, uint64_t bytes)
{
    char when[40], rl[2048], ref[1024], ua[1024];
    time_t now = time(NULL);
    struct tm tm;
    localtime_r(&now, &tm);
    strftime(when, sizeof when, "%d/%b/%Y:%H:%M:%S %z", &tm);
    if (req) {
        char method[64], target[1900];
        clf_escape(method, sizeof method, req->method_text);
        clf_escape(target, sizeof target, req->target);
        snprintf(rl, sizeof rl, "%s %s HTTP/1.%d", method, target, req->version_minor);
    } else {
        snprintf(rl, sizeof rl, "-");
    }
    clf_escape(ref, sizeof ref, header_or_dash(req, "Referer"));
    clf_escape(ua, sizeof ua, header_or_dash(req, "User-Agent"));
    char size[24] = "-";
    if (bytes)
        snprintf(size, sizeof size, "%" PRIu64, bytes);
    int n = snprintf(line, LINE_MAX_BYTES, "%s - - [%s] \"%s\" %d %s \"%s\" \"%s\"\n", ip, when,
                     rl, status, size, ref, ua);
    return n < 0 ? 0 : (size_t)n < LINE_MAX_BYTES ? (size_t)n : LINE_MAX_BYTES - 1;
}

static void json_field(char *line, size_t *pos, const char *key, struct http_str v)
{
    size_t k = strlen(key);
    if (*pos + k + 4 >= LINE_MAX_BYTES)
        return;
    line[(*pos)++] = ',';
    json_quote(line, LINE_MAX_BYTES - 2, pos, key, k);
    line[(*pos)++] = ':';
    json_quote(line, LINE_MAX_BYTES - 2, pos, v.p, v.len);
}

static size_t format_json(char *line, const char *ip, const struct http_request *req,
                          int status, uint64_t bytes)
{
    char when[40];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
    size_t pos = (size_t)snprintf(line, LINE_MAX_BYTES,
                                  "{\"time\":\"%s\",\"status\":%d,\"bytes\":%" PRIu64, when,
                                  status, bytes);
    json_field(line, &pos, "client", (struct http_str){ ip, strlen(ip) });
    if (req) {
        char proto[16];
        snprintf(proto, sizeof proto, "HTTP/1.%d", req->version_minor);
        json_field(line, &pos, "method", req->method_text);
        json_field(line, &pos, "target", req->target);
        json_field(line, &pos, "protocol", (struct http_str){ proto, strlen(proto) });
        json_field(line, &pos, "referer", header_or_dash(req, "Referer"));
        json_field(line, &pos, "user_agent", header_or_dash(req, "User-Agent"));
    }
    line[pos++] = '}';
    line[pos++] = '\n';
    return pos;
}

void accesslog_write(struct linefile *log, const char *ip, const struct http_request *req,
                     int status, uint64_t bytes)
{
    char line[LINE_MAX_BYTES];
    size_t n = log_get_format() == LOG_FMT_JSON ? format_json(line, ip, req, status, bytes)
                                                : format_clf(line, ip, req, status, bytes);
    linefile_write(log, line, n);
}
