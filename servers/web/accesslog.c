/*
 * The access log: Apache's Combined Log Format,
 *   127.0.0.1 - - [22/Nov/2026:03:42:58 +0000] "GET / HTTP/1.1" 200 1234 "-" "curl/8.0"
 * or, with --log-format json, one object per line with the same fields.
 * Lines are gathered in a buffer and written when it fills or once a
 * second, so a busy server makes few write() calls.
 */
#include "accesslog.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <event2/event.h>

#include "http.h"
#include "json.h"
#include "log.h"
#include "reactor.h"

#define BUF_SIZE (64 * 1024)
#define LINE_MAX_BYTES 8192

static int fd = -1;
static char *path;
static char buf[BUF_SIZE];
static size_t used;
static struct event *flush_timer;

int accesslog_enabled(void) { return fd >= 0; }

static void flush_now(void)
{
    size_t off = 0;
    while (off < used) {
        ssize_t n = write(fd, buf + off, used - off);
        if (n <= 0) {
            if (n == -1 && errno == EINTR)
                continue;
            log_warn("access log %s", path);
            break;
        }
        off += (size_t)n;
    }
    used = 0;
}

static void on_flush(evutil_socket_t f, short what, void *arg)
{
    (void)f; (void)what; (void)arg;
    if (used)
        flush_now();
}

static int open_fd(const char *p, char *err, size_t errlen)
{
    int f = strcmp(p, "-") == 0 ? dup(STDOUT_FILENO)
                                : open(p, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (f == -1) {
        snprintf(err, errlen, "cannot open access log %s: %s", p, strerror(errno));
        return -1;
    }
    if (fd >= 0)
        close(fd);
    fd = f;
    return 0;
}

int accesslog_open(const char *p, char *err, size_t errlen)
{
    if (open_fd(p, err, errlen) == -1)
        return -1;
    path = strdup(p);
    flush_timer = event_new(reactor_base(), -1, EV_PERSIST, on_flush, NULL);
    struct timeval tv = { 1, 0 };
    if (!path || !flush_timer || event_add(flush_timer, &tv) == -1) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    return 0;
}

void accesslog_reopen(void)
{
    char err[512];
    if (fd < 0)
        return;
    if (used)
        flush_now();
    if (strcmp(path, "-") != 0 && open_fd(path, err, sizeof err) == -1)
        log_error("%s", err);
}

void accesslog_close(void)
{
    if (fd < 0)
        return;
    if (used)
        flush_now();
    close(fd);
    fd = -1;
    if (flush_timer)
        event_free(flush_timer);
    flush_timer = NULL;
    free(path);
    path = NULL;
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

void accesslog_write(const char *ip, const struct http_request *req, int status,
                     uint64_t bytes)
{
    char line[LINE_MAX_BYTES];
    size_t n = log_get_format() == LOG_FMT_JSON ? format_json(line, ip, req, status, bytes)
                                                : format_clf(line, ip, req, status, bytes);
    if (used + n > sizeof buf)
        flush_now();
    memcpy(buf + used, line, n);
    used += n;
}
