/*
 * libFuzzer target for the POP3 command parser of gale mail
 * (servers/mail/pop3_cmd.c), on arbitrary bytes.  Beyond what the
 * sanitizers catch, it aborts when a result breaks the promises of
 * pop3_cmd.h:
 *  - a result other than 0 or -1, an error without a reason, a verb out
 *    of the enum, an argument outside the line;
 *  - a line too long or with a control character that is taken;
 *  - message numbers out of 1..2^31-1 (a TOP line count out of
 *    0..2^31-1), numbers on a command that takes none;
 *  - a mechanism not uppercased or too long, a digest not lowercase hex;
 *  - a numbered command that, written out again, parses differently.
 *   clang -g -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE \
 *       tests/fuzz/fuzz_mail_pop3.c -o fuzz_mail_pop3
 */
#include "../../servers/mail/pop3_cmd.c"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int inside(const char *p, size_t n, const char *line, size_t len)
{
    return p >= line && n <= len && (size_t)(p - line) <= len - n;
}

static void check_numbers(const struct pop3_cmd *c)
{
    int numbered = c->verb == POP3_LIST || c->verb == POP3_UIDL || c->verb == POP3_RETR ||
                   c->verb == POP3_DELE || c->verb == POP3_TOP;
    if (!numbered && (c->has_n || c->has_m))
        abort();
    if ((c->verb == POP3_RETR || c->verb == POP3_DELE || c->verb == POP3_TOP) && !c->has_n)
        abort();
    if (c->has_m != (c->verb == POP3_TOP))
        abort();
    if (c->has_n && (c->n < 1 || c->n > POP3_MSG_MAX))
        abort();
    if (c->has_m && c->m > POP3_MSG_MAX)
        abort();
    if (!numbered)
        return;
    /* Written out the canonical way, the same command. */
    char line[64];
    struct pop3_cmd again;
    int n = snprintf(line, sizeof line, "%s", pop3_verb_name(c->verb));
    if (c->has_n)
        n += snprintf(line + n, sizeof line - (size_t)n, " %lu", c->n);
    if (c->has_m)
        n += snprintf(line + n, sizeof line - (size_t)n, " %lu", c->m);
    if (pop3_cmd_parse(line, (size_t)n, &again, NULL, 0) != 0 || again.verb != c->verb ||
        again.has_n != c->has_n || again.has_m != c->has_m || again.n != c->n || again.m != c->m)
        abort();
}

static void check_words(const struct pop3_cmd *c, const char *line, size_t len)
{
    size_t mn = strnlen(c->mech, sizeof c->mech);
    if (mn > POP3_MECH_MAX)
        abort();
    for (size_t i = 0; i < mn; i++)
        if (c->mech[i] >= 'a' && c->mech[i] <= 'z')
            abort();
    if (c->initial && (c->verb != POP3_AUTH || !inside(c->initial, c->initial_len, line, len) ||
                       c->initial_len == 0 || memchr(c->initial, ' ', c->initial_len)))
        abort();
    if (c->verb != POP3_APOP)
        return;
    if (strlen(c->digest) != POP3_DIGEST_LEN || strspn(c->digest, "0123456789abcdef") != POP3_DIGEST_LEN)
        abort();
    if (c->arg_len == 0 || c->arg[c->arg_len - 1] == ' ')
        abort();
}

static void fuzz_line(const char *line, size_t len)
{
    struct pop3_cmd c;
    char err[64];
    int rc = pop3_cmd_parse(line, len, &c, err, sizeof err);
    if ((rc != 0 && rc != -1) || c.verb > POP3_APOP || strnlen(err, sizeof err) == sizeof err)
        abort();
    if (rc < 0) {
        if (err[0] == '\0')
            abort();
        return;
    }
    if (len > POP3_CMD_MAX || c.verb == POP3_UNKNOWN)
        abort();
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)line[i] < 0x20 || (unsigned char)line[i] == 0x7f)
            abort();
    if (c.arg_len && !inside(c.arg, c.arg_len, line, len))
        abort();
    if ((c.verb == POP3_USER || c.verb == POP3_PASS) && c.arg_len == 0)
        abort();
    if (c.verb != POP3_PASS && c.arg_len && c.arg[c.arg_len - 1] == ' ')
        abort();
    check_numbers(&c);
    check_words(&c, line, len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* A copy of exactly size bytes, so ASan sees any read past the end. */
    char *buf = malloc(size ? size : 1);
    if (!buf)
        return 0;
    memcpy(buf, data, size);
    fuzz_line(buf, size);

    /* Behind a known keyword, so each argument parser is reached. */
    static const char *const heads[] = { "TOP ", "LIST ", "RETR ", "APOP ", "AUTH ", "PASS ", "USER ", "UIDL " };
    if (size > 0) {
        const char *h = heads[data[0] % 8];
        size_t hn = strlen(h), n = hn + size - 1;
        char *line = malloc(n);
        memcpy(line, h, hn);
        memcpy(line + hn, data + 1, size - 1);
        fuzz_line(line, n);
        free(line);
    }
    free(buf);
    return 0;
}
