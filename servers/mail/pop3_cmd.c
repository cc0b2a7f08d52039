/*
 * POP3 command lines (pop3_cmd.h): the keyword, then each keyword's
 * arguments as RFC 1939 and its extensions give them.  Pure: no I/O, no
 * allocation, every length checked against the line.
 *
 * Arguments are separated by one space in the RFC; runs of spaces are
 * taken too.  A line with a control character is refused whole.
 */
#include "pop3_cmd.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

struct text {
    const char *p;
    size_t n;
};

enum arg_rule { ARG_NONE, ARG_ONE, ARG_OPT_NUM, ARG_NUM, ARG_TWO_NUM, ARG_OWN };

static const struct verb {
    const char *name;
    enum pop3_verb verb;
    enum arg_rule rule;
} verbs[] = {
    { "USER", POP3_USER, ARG_ONE },     { "PASS", POP3_PASS, ARG_ONE },
    { "STAT", POP3_STAT, ARG_NONE },    { "LIST", POP3_LIST, ARG_OPT_NUM },
    { "RETR", POP3_RETR, ARG_NUM },     { "DELE", POP3_DELE, ARG_NUM },
    { "NOOP", POP3_NOOP, ARG_NONE },    { "RSET", POP3_RSET, ARG_NONE },
    { "QUIT", POP3_QUIT, ARG_NONE },    { "TOP", POP3_TOP, ARG_TWO_NUM },
    { "UIDL", POP3_UIDL, ARG_OPT_NUM }, { "CAPA", POP3_CAPA, ARG_NONE },
    { "STLS", POP3_STLS, ARG_NONE },    { "AUTH", POP3_AUTH, ARG_OWN },
    { "APOP", POP3_APOP, ARG_OWN },
};

static char lower(char c) { return c >= 'A' && c <= 'Z' ? (char)(c + 32) : c; }
static char upper(char c) { return c >= 'a' && c <= 'z' ? (char)(c - 32) : c; }

static int same_word(struct text t, const char *word)
{
    size_t n = strlen(word);
    if (t.n != n)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (lower(t.p[i]) != lower(word[i]))
            return 0;
    return 1;
}

__attribute__((format(printf, 3, 4)))
static int fail(char *err, size_t errlen, const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return -1;
}

/* The next space-separated word of t from *pos; an empty word at the end. */
static struct text next_word(struct text t, size_t *pos)
{
    size_t i = *pos;
    while (i < t.n && t.p[i] == ' ')
        i++;
    const char *sp = memchr(t.p + i, ' ', t.n - i);
    size_t end = sp ? (size_t)(sp - t.p) : t.n;
    *pos = end;
    return (struct text){ t.p + i, end - i };
}

/* Decimal digits, no sign, min..POP3_MSG_MAX. */
static int parse_number(struct text w, unsigned long min, unsigned long *v)
{
    if (w.n == 0)
        return -1;
    *v = 0;
    for (size_t i = 0; i < w.n; i++) {
        if (w.p[i] < '0' || w.p[i] > '9')
            return -1;
        *v = *v * 10 + (unsigned long)(w.p[i] - '0');
        if (*v > POP3_MSG_MAX)
            return -1;
    }
    return *v >= min ? 0 : -1;
}

/* Up to two numbers (need of them required): the message number, and
 * for TOP the count of lines, which may be 0. */
static int parse_numbers(struct pop3_cmd *c, size_t need, size_t most, char *err, size_t errlen)
{
    struct text t = { c->arg, c->arg_len };
    size_t pos = 0;
    struct text w1 = next_word(t, &pos), w2 = next_word(t, &pos), w3 = next_word(t, &pos);
    size_t have = (w1.n > 0) + (w2.n > 0) + (w3.n > 0);
    if (have < need || have > most)
        return fail(err, errlen, "%s takes %s", pop3_verb_name(c->verb),
                    most == 2 ? "a message number and a line count" : "a message number");
    if (have >= 1 && parse_number(w1, 1, &c->n) < 0)
        return fail(err, errlen, "invalid message number");
    if (have == 2 && parse_number(w2, 0, &c->m) < 0)
        return fail(err, errlen, "invalid line count");
    c->has_n = have >= 1;
    c->has_m = have == 2;
    return 0;
}

/* AUTH [mechanism [initial-response]] (RFC 5034 4); a bare AUTH asks
 * for the list, as many clients do. */
static int parse_auth(struct pop3_cmd *c, char *err, size_t errlen)
{
    struct text t = { c->arg, c->arg_len };
    size_t pos = 0;
    struct text mech = next_word(t, &pos), resp = next_word(t, &pos), more = next_word(t, &pos);
    if (mech.n > POP3_MECH_MAX || more.n)
        return fail(err, errlen, "Syntax: AUTH mechanism [initial-response]");
    for (size_t i = 0; i < mech.n; i++) {
        char ch = mech.p[i];
        if (!((ch | 0x20) >= 'a' && (ch | 0x20) <= 'z') && !(ch >= '0' && ch <= '9') && ch != '-' && ch != '_')
            return fail(err, errlen, "invalid mechanism name");
        c->mech[i] = upper(ch);
    }
    c->mech[mech.n] = '\0';
    if (resp.n) {
        c->initial = resp.p;
        c->initial_len = resp.n;
    }
    return 0;
}

/* APOP name digest (RFC 1939 7): the digest is the last word. */
static int parse_apop(struct pop3_cmd *c, char *err, size_t errlen)
{
    struct text t = { c->arg, c->arg_len };
    size_t d = t.n;
    while (d > 0 && t.p[d - 1] != ' ')
        d--;
    size_t name = d;
    while (name > 0 && t.p[name - 1] == ' ')
        name--;
    if (name == 0 || t.n - d != POP3_DIGEST_LEN)
        return fail(err, errlen, "Syntax: APOP name digest");
    for (size_t i = 0; i < POP3_DIGEST_LEN; i++) {
        char ch = lower(t.p[d + i]);
        if (!(ch >= '0' && ch <= '9') && !(ch >= 'a' && ch <= 'f'))
            return fail(err, errlen, "invalid digest");
        c->digest[i] = ch;
    }
    c->digest[POP3_DIGEST_LEN] = '\0';
    c->arg_len = name;
    return 0;
}

static int parse_args(const struct verb *v, struct pop3_cmd *c, char *err, size_t errlen)
{
    switch (v->rule) {
    case ARG_NONE:
        return c->arg_len ? fail(err, errlen, "%s takes no arguments", v->name) : 0;
    case ARG_ONE:
        return c->arg_len ? 0 : fail(err, errlen, "Syntax: %s argument", v->name);
    case ARG_OPT_NUM:
        return parse_numbers(c, 0, 1, err, errlen);
    case ARG_NUM:
        return parse_numbers(c, 1, 1, err, errlen);
    case ARG_TWO_NUM:
        return parse_numbers(c, 2, 2, err, errlen);
    case ARG_OWN:
        break;
    }
    return c->verb == POP3_AUTH ? parse_auth(c, err, errlen) : parse_apop(c, err, errlen);
}

int pop3_cmd_parse(const char *line, size_t len, struct pop3_cmd *cmd, char *err, size_t errlen)
{
    memset(cmd, 0, sizeof *cmd);
    cmd->arg = "";
    if (err && errlen)
        err[0] = '\0';
    if (len > POP3_CMD_MAX)
        return fail(err, errlen, "line too long");
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)line[i] < 0x20 || (unsigned char)line[i] == 0x7f)
            return fail(err, errlen, "control character in command");
    const char *sp = memchr(line, ' ', len);
    struct text word = { line, sp ? (size_t)(sp - line) : len };
    const struct verb *v = NULL;
    for (size_t i = 0; i < sizeof verbs / sizeof verbs[0] && !v; i++)
        if (same_word(word, verbs[i].name))
            v = &verbs[i];
    if (!v)
        return fail(err, errlen, "unknown command");
    cmd->verb = v->verb;
    if (sp) {
        size_t n = len - word.n - 1;
        /* A password may end in spaces (RFC 1939 7). */
        while (v->verb != POP3_PASS && n > 0 && sp[n] == ' ')
            n--;
        cmd->arg = sp + 1;
        cmd->arg_len = n;
    }
    return parse_args(v, cmd, err, errlen);
}

const char *pop3_verb_name(enum pop3_verb v)
{
    for (size_t i = 0; i < sizeof verbs / sizeof verbs[0]; i++)
        if (verbs[i].verb == v)
            return verbs[i].name;
    return "UNKNOWN";
}
