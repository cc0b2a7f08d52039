/*
 * Logging for every server: ISO 8601 UTC timestamp, level, server name,
 * message; text or JSON lines; stderr, a file (reopened on SIGHUP) or
 * syslog.  Each line goes out in one write() so that child processes
 * sharing the file never interleave.
 *
 * Session lines are written as "key=value" pairs ("id=7 event=close");
 * in JSON mode each pair becomes a key of the object.
 */
#ifndef GALE_LOG_H
#define GALE_LOG_H

#include <stdarg.h>
#include <stddef.h>

enum log_level { LOG_LVL_ERROR, LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG };
enum log_format { LOG_FMT_TEXT, LOG_FMT_JSON };

extern int log_threshold;   /* lines above this level are not formatted */

/* Startup: returns -1 and fills err when the file cannot be opened. */
int log_open_file(const char *path, char *err, size_t errlen);
void log_open_syslog(const char *ident);
void log_set_format(enum log_format fmt);
enum log_format log_get_format(void);
void log_set_name(const char *name);      /* the server name on every line */
int log_reopen(void);                     /* SIGHUP: reopen the file, -1 on failure */
void log_route_libevent(void);
void log_close(void);

void log_write(enum log_level lvl, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void log_vwrite(enum log_level lvl, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));
/* Like log_write at LOG_LVL_ERROR, with ": strerror(errno)" appended. */
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
_Noreturn void fatalx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The level is checked before the arguments are evaluated. */
#define log_error(...) log_write(LOG_LVL_ERROR, __VA_ARGS__)
#define log_warnx(...) \
    do { if (log_threshold >= LOG_LVL_WARN) log_write(LOG_LVL_WARN, __VA_ARGS__); } while (0)
#define log_info(...) \
    do { if (log_threshold >= LOG_LVL_INFO) log_write(LOG_LVL_INFO, __VA_ARGS__); } while (0)
#define log_debug(...) \
    do { if (log_threshold >= LOG_LVL_DEBUG) log_write(LOG_LVL_DEBUG, __VA_ARGS__); } while (0)

#endif
