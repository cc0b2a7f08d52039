/*
 * libFuzzer target for the `gale run` file parser, cli/runfile.c.
 * Arbitrary bytes go to runfile_parse(); beyond what the sanitizers
 * catch, it aborts when a result breaks the promises of runfile.h:
 * (with or without errors, for the lines that parsed) an argv not NULL-terminated or not matching argc, line numbers not
 * increasing or past the text, words with control characters or longer
 * than the line bound, too many entries, or errors not NUL-terminated
 * within errlen (for a large and a tiny buffer).
 *   clang -g -fsanitize=fuzzer,address -D_GNU_SOURCE \
 *       tests/fuzz/fuzz_runfile.c -o fuzz_runfile
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../cli/runfile.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_word(const char *w)
{
    size_t len = strlen(w);
    if (len > RUNFILE_MAX_LINE)
        abort();
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)w[i];
        if ((c < 0x20 && c != '\t' && c != '\n') || c == 0x7f)
            abort();
    }
}

static void check_result(const struct runfile *rf, const uint8_t *data, size_t size)
{
    unsigned lines = 1;
    for (size_t i = 0; i < size; i++)
        lines += data[i] == '\n';
    if (rf->n > RUNFILE_MAX_LINES || (rf->n > 0) != (rf->lines != NULL))
        abort();
    unsigned last = 0;
    for (size_t i = 0; i < rf->n; i++) {
        const struct runfile_line *l = &rf->lines[i];
        if (l->lineno <= last || l->lineno > lines)
            abort();
        last = l->lineno;
        if (l->argc < 1 || l->argc > RUNFILE_MAX_WORDS || !l->argv || l->argv[l->argc])
            abort();
        for (int k = 0; k < l->argc; k++) {
            if (!l->argv[k])
                abort();
            check_word(l->argv[k]);
        }
    }
}

/* Errors: NUL-terminated within len, and (when there is room) "NAME:". */
static void check_errors(const char *errs, size_t len, int failed)
{
    const char *nul = memchr(errs, '\0', len);
    if (!nul)
        abort();
    if (len > 64 && failed != (nul != errs))
        abort();
    if (len > 64 && failed && strncmp(errs, "f.conf:", 7) != 0 && strncmp(errs, "(", 1) != 0)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct runfile rf;
    char errs[2048], tiny[7];
    memset(errs, 'x', sizeof errs);
    memset(tiny, 'x', sizeof tiny);

    int r = runfile_parse("f.conf", (const char *)data, size, &rf, errs, sizeof errs);
    if (r != 0 && r != -1)
        abort();
    check_result(&rf, data, size);     /* after errors too: the good lines */
    check_errors(errs, sizeof errs, r == -1);
    runfile_free(&rf);

    if (runfile_parse("f.conf", (const char *)data, size, &rf, tiny, sizeof tiny) != r)
        abort();
    check_errors(tiny, sizeof tiny, r == -1);
    runfile_free(&rf);
    return 0;
}
