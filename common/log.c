/*
 * The logging core; see log.h.  One line is built in a stack buffer and
 * written with a single write() (or syslog() call), so lines from several
 * processes sharing a file never interleave.
 */
#include "log.h"
#include "instance.h"
#include "json.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>
#include <sys/time.h>
#include <event2/event.h>

#define LINE_MAX_BYTES 4096

int log_threshold = LOG_LVL_INFO;

static int log_fd = STDERR_FILENO;
static char *log_path;               /* NULL: stderr */
static int use_syslog;
static enum log_format log_fmt = LOG_FMT_TEXT;
static const char *log_name = "gale";

static const char *const level_names[] = { "error", "warn", "info", "debug" };

void log_set_format(enum log_format fmt) { log_fmt = fmt; }
enum log_format log_get_format(void) { return log_fmt; }
void log_set_name(const char *name) { log_name = name; }

int log_open_file(const char *path, char *err, size_t errlen)
{
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd == -1) {
        snprintf(err, errlen, "cannot open log file %s: %s", path, strerror(errno));
        return -1;
    }
    if (log_fd != STDERR_FILENO)
        close(log_fd);
    log_fd = fd;
    free(log_path);
    log_path = strdup(path);
    return 0;
}

void log_open_syslog(const char *ident)
{
    openlog(ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
    use_syslog = 1;
}

int log_reopen(void)
{
    char err[256];
    if (!log_path)
        return 0;
    char *path = strdup(log_path);
    int r = path ? log_open_file(path, err, sizeof err) : -1;
    free(path);
    if (r == -1)
        log_error("%s", err);   /* the old file stays open and in use */
    return r;
}

void log_close(void)
{
    if (log_fd != STDERR_FILENO)
        close(log_fd);
    log_fd = STDERR_FILENO;
    free(log_path);
    log_path = NULL;
    if (use_syslog)
        closelog();
    use_syslog = 0;
}

static size_t put_timestamp(char *buf, size_t len)
{
    struct timeval tv;
    struct tm tm;
    gettimeofday(&tv, NULL);
    gmtime_r(&tv.tv_sec, &tm);
    size_t n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
    int m = snprintf(buf + n, len - n, ".%03ldZ", (long)(tv.tv_usec / 1000));
    return n + (m > 0 ? (size_t)m : 0);
}

/* Appends to buf at *pos, never past len - 2 (room for "\n" and NUL). */
static void put(char *buf, size_t len, size_t *pos, const char *s, size_t n)
{
    if (*pos + 2 >= len)
        return;
    size_t room = len - 2 - *pos;
    if (n > room)
        n = room;
    memcpy(buf + *pos, s, n);
    *pos += n;
}

static void put_json_string(char *buf, size_t len, size_t *pos, const char *s, size_t n)
{
    json_quote(buf, len - 1, pos, s, n);   /* len - 1: room for the newline */
}

/* Length of a key=value token at s (value may be "quoted"), 0 if s does
 * not start with one.  *klen and the value span are filled in. */
static size_t scan_pair(const char *s, size_t *klen, const char **v, size_t *vlen)
{
    size_t k = 0;
    while ((s[k] >= 'a' && s[k] <= 'z') || (s[k] >= '0' && s[k] <= '9') || s[k] == '_')
        k++;
    if (k == 0 || s[k] != '=')
        return 0;
    const char *p = s + k + 1;
    size_t n;
    if (*p == '"') {
        const char *end = strchr(p + 1, '"');
        if (!end)
            return 0;
        *v = p + 1;
        *vlen = (size_t)(end - p - 1);
        n = (size_t)(end + 1 - s);
    } else {
        n = strcspn(p, " ");
        *v = p;
        *vlen = n;
        n += k + 1;
    }
    if (s[n] != ' ' && s[n] != '\0')
        return 0;
    *klen = k;
    return n;
}

/* Leading key=value pairs become keys; whatever follows is "msg". */
/* Whom the line speaks for: the current instance, else the process. */
struct speaker {
    const char *server;
    const char *instance;      /* NULL when the process runs one server */
};

static struct speaker current_speaker(void)
{
    const struct gale_instance *in = instance_current();
    if (!in)
        return (struct speaker){ log_name, NULL };
    return (struct speaker){ in->server, in->name[0] ? in->name : NULL };
}

/* "web", or "web[docs]" for an instance named otherwise. */
static void speaker_label(const struct speaker *sp, char *buf, size_t len)
{
    if (sp->instance && strcmp(sp->instance, sp->server) != 0)
        snprintf(buf, len, "%s[%s]", sp->server, sp->instance);
    else
        snprintf(buf, len, "%s", sp->server);
}

static size_t format_json(char *buf, size_t len, const char *ts, enum log_level lvl,
                          const struct speaker *sp, const char *msg)
{
    size_t pos = 0;
    put(buf, len, &pos, "{\"time\":\"", 9);
    put(buf, len, &pos, ts, strlen(ts));
    put(buf, len, &pos, "\",\"level\":\"", 11);
    put(buf, len, &pos, level_names[lvl], strlen(level_names[lvl]));
    put(buf, len, &pos, "\",\"server\":", 11);
    put_json_string(buf, len, &pos, sp->server, strlen(sp->server));
    if (sp->instance) {
        put(buf, len, &pos, ",\"instance\":", 12);
        put_json_string(buf, len, &pos, sp->instance, strlen(sp->instance));
    }
    const char *s = msg;
    for (;;) {
        size_t klen, vlen;
        const char *v;
        size_t n = scan_pair(s, &klen, &v, &vlen);
        if (n == 0)
            break;
        put(buf, len, &pos, ",", 1);
        put_json_string(buf, len, &pos, s, klen);
        put(buf, len, &pos, ":", 1);
        put_json_string(buf, len, &pos, v, vlen);
        s += n;
        while (*s == ' ')
            s++;
    }
    if (*s) {
        put(buf, len, &pos, ",\"msg\":", 7);
        put_json_string(buf, len, &pos, s, strlen(s));
    }
    put(buf, len, &pos, "}", 1);
    return pos;
}

static size_t format_text(char *buf, size_t len, const char *ts, enum log_level lvl,
                          const struct speaker *sp, const char *msg)
{
    char label[2 * INSTANCE_NAME_MAX];
    speaker_label(sp, label, sizeof label);
    int n = snprintf(buf, len - 1, "%s %s %s: %s", ts, level_names[lvl], label, msg);
    if (n < 0)
        return 0;
    return (size_t)n < len - 1 ? (size_t)n : len - 2;
}

static void emit(enum log_level lvl, const char *msg)
{
    static const int prio[] = { LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG };
    char ts[40], line[LINE_MAX_BYTES];
    struct speaker sp = current_speaker();
    if (use_syslog) {
        char label[2 * INSTANCE_NAME_MAX];
        speaker_label(&sp, label, sizeof label);
        syslog(prio[lvl], "%s: %s", label, msg);
        return;
    }
    put_timestamp(ts, sizeof ts);
    size_t n = log_fmt == LOG_FMT_JSON ? format_json(line, sizeof line, ts, lvl, &sp, msg)
                                       : format_text(line, sizeof line, ts, lvl, &sp, msg);
    line[n++] = '\n';
    ssize_t w = write(log_fd, line, n);
    (void)w;   /* nowhere left to report a failing log */
}

void log_vwrite(enum log_level lvl, const char *fmt, va_list ap)
{
    if ((int)lvl > log_threshold)
        return;
    int saved = errno;
    char msg[LINE_MAX_BYTES - 200];
    vsnprintf(msg, sizeof msg, fmt, ap);
    emit(lvl, msg);
    errno = saved;
}

void log_write(enum log_level lvl, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_vwrite(lvl, fmt, ap);
    va_end(ap);
}

void log_warn(const char *fmt, ...)
{
    int saved = errno;
    char msg[LINE_MAX_BYTES - 400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    log_write(LOG_LVL_ERROR, "%s: %s", msg, strerror(saved));
    errno = saved;
}

void fatalx(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_vwrite(LOG_LVL_ERROR, fmt, ap);
    va_end(ap);
    abort();
}

static void libevent_log(int severity, const char *msg)
{
    switch (severity) {
    case EVENT_LOG_DEBUG: log_debug("libevent: %s", msg); break;
    case EVENT_LOG_MSG:   log_info("libevent: %s", msg); break;
    case EVENT_LOG_WARN:  log_warnx("libevent: %s", msg); break;
    default:              log_error("libevent: %s", msg); break;
    }
}

void log_route_libevent(void)
{
    event_set_log_callback(libevent_log);
}
