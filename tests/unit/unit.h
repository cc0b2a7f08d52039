/*
 * A tiny test harness shared by the unit tests: one TAP line per check
 * ("ok N - what" or "not ok N - what", with "# got ..." diagnostics for a
 * failed string check), then the plan and a summary.  unit_done() gives
 * the exit status: 0 when every check passed, 1 otherwise.
 *
 *     CHECK(x == 1, "x is %d", 1);
 *     CHECK_STR(buf, "8080", "plain port");
 *     CHECK_HAS(err, "--port", "the error names the option");
 *     return unit_done();
 */
#ifndef GALE_UNIT_H
#define GALE_UNIT_H

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int unit_tests, unit_failures;

static inline void unit_vreport(int ok, const char *file, int line, const char *fmt, va_list ap)
{
    unit_tests++;
    if (!ok)
        unit_failures++;
    printf("%sok %d - ", ok ? "" : "not ", unit_tests);
    vprintf(fmt, ap);
    putchar('\n');
    if (!ok)
        printf("#   at %s line %d\n", file, line);
    fflush(stdout);
}

__attribute__((format(printf, 4, 5)))
static inline int unit_check(int ok, const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    unit_vreport(ok, file, line, fmt, ap);
    va_end(ap);
    return ok;
}

/* want_sub: 0 compares whole strings, 1 looks for want inside got. */
__attribute__((format(printf, 6, 7)))
static inline int unit_check_str(const char *got, const char *want, int want_sub,
                                 const char *file, int line, const char *fmt, ...)
{
    int ok = got && want && (want_sub ? strstr(got, want) != NULL : strcmp(got, want) == 0);
    va_list ap;
    va_start(ap, fmt);
    unit_vreport(ok, file, line, fmt, ap);
    va_end(ap);
    if (!ok) {
        printf("#   got:  '%s'\n", got ? got : "(null)");
        printf("#   %s '%s'\n", want_sub ? "want substring:" : "want:", want ? want : "(null)");
        fflush(stdout);
    }
    return ok;
}

#define CHECK(cond, ...) unit_check(!!(cond), __FILE__, __LINE__, __VA_ARGS__)
#define CHECK_STR(got, want, ...) unit_check_str((got), (want), 0, __FILE__, __LINE__, __VA_ARGS__)
#define CHECK_HAS(got, want, ...) unit_check_str((got), (want), 1, __FILE__, __LINE__, __VA_ARGS__)

/* Prints the plan and a summary; the value is main()'s exit status. */
static inline int unit_done(void)
{
    printf("1..%d\n", unit_tests);
    if (unit_failures)
        printf("# FAILED %d of %d checks\n", unit_failures, unit_tests);
    else
        printf("# passed all %d checks\n", unit_tests);
    return unit_failures ? 1 : 0;
}

#endif
