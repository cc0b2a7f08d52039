/*
 * SMTP command lines (smtp_cmd.h): the verb, and for each verb the
 * argument rules of RFC 5321 4.1 with the ESMTP extensions gale speaks.
 * Pure: no I/O, no allocation, every length checked against the line.
 *
 * Paths follow RFC 5321 4.1.2: a dot-string or quoted-string local part
 * of at most 64 octets, a domain of letter-digit-hyphen labels (at most
 * 63 each, 255 in all) or an address literal ([1.2.3.4], [IPv6:...]).
 * A source route is parsed and dropped (RFC 5321 C.).  Non-ASCII is
 * taken in an address only under SMTPUTF8 (RFC 6531), and must be UTF-8.
 */
#include "smtp_cmd.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define LABEL_MAX 63
#define SIZE_DIGITS_MAX 20           /* RFC 1870: size-value = 1*20DIGIT */

/* The part of a line a parser works on. */
struct text {
    const char *p;
    size_t n;
};

/* --- characters ------------------------------------------------------ */

static int is_alpha(unsigned char c) { return (c | 0x20) >= 'a' && (c | 0x20) <= 'z'; }
static int is_digit(unsigned char c) { return c >= '0' && c <= '9'; }
static int is_ldh(unsigned char c) { return is_alpha(c) || is_digit(c) || c == '-'; }
static char lower(char c) { return c >= 'A' && c <= 'Z' ? (char)(c + 32) : c; }
static char upper(char c) { return c >= 'a' && c <= 'z' ? (char)(c - 32) : c; }

/* RFC 5322 atext. */
static int is_atext(unsigned char c)
{
    return is_alpha(c) || is_digit(c) || (c && strchr("!#$%&'*+-/=?^_`{|}~", c));
}

/* RFC 5321 qtextSMTP. */
static int is_qtext(unsigned char c) { return c >= 32 && c <= 126 && c != '"' && c != '\\'; }

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

static int has_prefix(struct text t, const char *word)
{
    size_t n = strlen(word);
    return t.n >= n && same_word((struct text){ t.p, n }, word);
}

/* Well-formed UTF-8 (RFC 3629).  The bounds on a sequence's second
 * octet shut out overlong forms, surrogates and values past U+10FFFF. */
static int utf8_valid(const unsigned char *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        unsigned char c = s[i++];
        size_t more = c < 0x80 ? 0 : c < 0xc2 ? 4 : c < 0xe0 ? 1 : c < 0xf0 ? 2 : c < 0xf5 ? 3 : 4;
        unsigned char lo = c == 0xe0 ? 0xa0 : c == 0xf0 ? 0x90 : 0x80;
        unsigned char hi = c == 0xed ? 0x9f : c == 0xf4 ? 0x8f : 0xbf;
        if (more == 4 || more > n - i)
            return 0;
        for (size_t k = 0; k < more; k++, i++)
            if (s[i] < (k ? 0x80 : lo) || s[i] > (k ? 0xbf : hi))
                return 0;
    }
    return 1;
}

__attribute__((format(printf, 4, 5)))
static int fail(int code, char *err, size_t errlen, const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return code;
}

/* --- domains ----------------------------------------------------------- */

/* An address literal starting at t.p[0] == '['; its text, the tag
 * spelt "IPv6:", goes to out.  Returns its length or 0 if malformed. */
static size_t parse_literal(struct text t, char *out)
{
    const char *close = memchr(t.p, ']', t.n);
    if (!close)
        return 0;
    size_t n = (size_t)(close - t.p) + 1;
    char addr[SMTP_DOMAIN_MAX + 1];
    struct in6_addr a6;
    int v6 = has_prefix((struct text){ t.p + 1, n - 2 }, "IPv6:");
    size_t skip = v6 ? 6 : 1;
    size_t alen = n - 1 - skip;
    if (n > SMTP_DOMAIN_MAX || alen == 0)
        return 0;
    memcpy(addr, t.p + skip, alen);
    addr[alen] = '\0';
    if (inet_pton(v6 ? AF_INET6 : AF_INET, addr, &a6) != 1)
        return 0;
    /* n <= SMTP_DOMAIN_MAX: "[", the tag, the address and "]" fit. */
    out[0] = '[';
    memcpy(out + 1, "IPv6:", skip - 1);
    for (size_t i = 0; i < alen; i++)
        out[skip + i] = lower(addr[i]);
    out[n - 1] = ']';
    out[n] = '\0';
    return n;
}

/* Letter-digit-hyphen labels joined by dots, lowercased into out (room
 * SMTP_DOMAIN_MAX + 1); octets >= 0x80 count as letters when utf8.
 * Returns the length taken, 0 when there is no valid domain here. */
static size_t parse_name(struct text t, int utf8, char *out)
{
    size_t i = 0, label = 0;
    while (i < t.n) {
        unsigned char c = (unsigned char)t.p[i];
        if (c == '.') {
            if (label == 0 || t.p[i - 1] == '-')
                return 0;
            label = 0;
        } else if (is_ldh(c) || (utf8 && c >= 0x80)) {
            if ((label == 0 && c == '-') || ++label > LABEL_MAX)
                return 0;
        } else {
            break;
        }
        if (i >= SMTP_DOMAIN_MAX)
            return 0;
        out[i++] = lower((char)c);
    }
    if (i == 0 || label == 0 || t.p[i - 1] == '-')
        return 0;
    out[i] = '\0';
    return i;
}

/* A domain or an address literal at the start of t. */
static size_t parse_domain(struct text t, int utf8, char *out, int *literal)
{
    *literal = t.n > 0 && t.p[0] == '[';
    return *literal ? parse_literal(t, out) : parse_name(t, utf8, out);
}

/* --- paths ------------------------------------------------------------- */

/* A quoted-string local part at t.p[0] == '"', dequoted into a->local.
 * Returns its length with the quotes (past SMTP_LOCAL_MAX only the
 * first octets are kept: the caller refuses it), 0 if malformed. */
static size_t parse_quoted(struct text t, struct smtp_addr *a)
{
    size_t i = 1, o = 0;
    while (i < t.n && t.p[i] != '"') {
        unsigned char c = (unsigned char)t.p[i];
        if (c == '\\') {
            if (i + 1 >= t.n || (unsigned char)t.p[i + 1] < 32 || (unsigned char)t.p[i + 1] > 126)
                return 0;
            c = (unsigned char)t.p[++i];
        } else if (!is_qtext(c) && c < 0x80) {
            return 0;
        }
        if (o < SMTP_LOCAL_MAX)
            a->local[o++] = (char)c;
        i++;
    }
    if (i >= t.n)
        return 0;
    a->local[o] = '\0';
    a->quoted = 1;
    return i + 1;
}

/* A dot-string local part (octets >= 0x80 taken as atext, checked later). */
static size_t parse_dotstring(struct text t, struct smtp_addr *a)
{
    size_t i = 0;
    while (i < t.n) {
        unsigned char c = (unsigned char)t.p[i];
        if (c == '.' ? i == 0 || t.p[i - 1] == '.' : !(is_atext(c) || c >= 0x80))
            break;
        if (i >= SMTP_LOCAL_MAX + 1)
            break;
        a->local[i++] = (char)c;
    }
    a->local[i] = '\0';
    return i && a->local[i - 1] != '.' ? i : 0;
}

/* local "@" domain, or a bare Postmaster when allowed; stops before what
 * follows.  Returns the length or a negative error. */
static int parse_mailbox(struct text t, int postmaster_ok, struct smtp_addr *a,
                         char *err, size_t errlen)
{
    size_t n = t.n && t.p[0] == '"' ? parse_quoted(t, a) : parse_dotstring(t, a);
    if (n == 0)
        return fail(SMTP_E_PATH, err, errlen, "bad local part");
    if (n > SMTP_LOCAL_MAX)
        return fail(SMTP_E_PATH, err, errlen, "local part longer than %d octets", SMTP_LOCAL_MAX);
    if (n == t.n || t.p[n] != '@') {
        if (postmaster_ok && !a->quoted && same_word((struct text){ t.p, n }, "postmaster"))
            return (int)n;
        return fail(SMTP_E_PATH, err, errlen, "address without a domain");
    }
    struct text d = { t.p + n + 1, t.n - n - 1 };
    size_t dn = parse_domain(d, 1, a->domain, &a->literal);
    if (dn == 0 || (dn < d.n && d.p[dn] != '>' && d.p[dn] != ' '))
        return fail(SMTP_E_PATH, err, errlen, "bad domain");
    return (int)(n + 1 + dn);
}

/* "@a,@b:" before the mailbox: checked, then dropped. */
static int skip_route(struct text t, struct smtp_addr *a, char *err, size_t errlen)
{
    char scratch[SMTP_DOMAIN_MAX + 1];
    int literal;
    size_t i = 0;
    for (;;) {
        if (i >= t.n || t.p[i] != '@')
            return fail(SMTP_E_ARGS, err, errlen, "bad source route");
        size_t dn = parse_domain((struct text){ t.p + i + 1, t.n - i - 1 }, 0, scratch, &literal);
        i += 1 + dn;
        if (dn == 0 || i >= t.n || (t.p[i] != ',' && t.p[i] != ':'))
            return fail(SMTP_E_ARGS, err, errlen, "bad source route");
        if (t.p[i++] == ':')
            break;
    }
    a->had_route = 1;
    return (int)i;
}

/* "<...>" at the start of t.  Returns the length or a negative error. */
static int parse_bracketed(struct text t, int is_mail, struct smtp_addr *a,
                           char *err, size_t errlen)
{
    size_t i = 1;
    int r;
    if (t.n > 1 && t.p[1] == '>') {
        if (!is_mail)
            return fail(SMTP_E_PATH, err, errlen, "null recipient");
        a->null = 1;
        return 2;
    }
    if (t.n > 1 && t.p[1] == '@') {
        if ((r = skip_route((struct text){ t.p + 1, t.n - 1 }, a, err, errlen)) < 0)
            return r;
        i += (size_t)r;
    }
    if ((r = parse_mailbox((struct text){ t.p + i, t.n - i }, !is_mail, a, err, errlen)) < 0)
        return r;
    i += (size_t)r;
    if (i >= t.n || t.p[i] != '>')
        return fail(SMTP_E_ARGS, err, errlen, "bad path: '>' expected");
    return (int)i + 1;
}

/* A path: bracketed, or for old clients a bare mailbox up to a space. */
static int parse_path(struct text t, int is_mail, struct smtp_addr *a, char *err, size_t errlen)
{
    if (t.n == 0)
        return fail(SMTP_E_ARGS, err, errlen, "no address given");
    if (t.p[0] == '<')
        return parse_bracketed(t, is_mail, a, err, errlen);
    const char *sp = memchr(t.p, ' ', t.n);
    struct text word = { t.p, sp ? (size_t)(sp - t.p) : t.n };
    int r = parse_mailbox(word, !is_mail, a, err, errlen);
    if (r >= 0 && (size_t)r != word.n)
        return fail(SMTP_E_ARGS, err, errlen, "bad address syntax");
    return r;
}

/* Sets a->utf8; refuses malformed UTF-8, and non-ASCII unless allowed. */
static int check_utf8(struct smtp_addr *a, int allowed, char *err, size_t errlen)
{
    const char *const parts[] = { a->local, a->domain };
    for (size_t k = 0; k < 2; k++) {
        size_t n = strlen(parts[k]);
        if (!utf8_valid((const unsigned char *)parts[k], n))
            return fail(SMTP_E_PATH, err, errlen, "address is not UTF-8");
        for (size_t i = 0; i < n; i++)
            a->utf8 |= (unsigned char)parts[k][i] >= 0x80;
    }
    if (a->utf8 && !allowed)
        return fail(SMTP_E_PATH, err, errlen, "non-ASCII address needs SMTPUTF8");
    return 0;
}

/* --- parameters -------------------------------------------------------- */

/* Digits only, at most max of them; saturates at UINT64_MAX. */
static int parse_u64(struct text t, size_t max, uint64_t *v)
{
    if (t.n == 0 || t.n > max)
        return -1;
    *v = 0;
    for (size_t i = 0; i < t.n; i++) {
        if (!is_digit((unsigned char)t.p[i]))
            return -1;
        unsigned d = (unsigned)(t.p[i] - '0');
        *v = *v > (UINT64_MAX - d) / 10 ? UINT64_MAX : *v * 10 + d;
    }
    return 0;
}

/* esmtp-keyword ["=" esmtp-value] (RFC 5321 4.1.2). */
static int split_param(struct text t, struct text *key, struct text *val)
{
    const char *eq = memchr(t.p, '=', t.n);
    *key = (struct text){ t.p, eq ? (size_t)(eq - t.p) : t.n };
    *val = eq ? (struct text){ eq + 1, t.n - key->n - 1 } : (struct text){ "", 0 };
    if (key->n == 0 || key->p[0] == '-' || (eq && val->n == 0))
        return -1;
    for (size_t i = 0; i < key->n; i++)
        if (!is_ldh((unsigned char)key->p[i]))
            return -1;
    for (size_t i = 0; i < val->n; i++)
        if (val->p[i] == '=' || (unsigned char)val->p[i] < 33 || (unsigned char)val->p[i] > 126)
            return -1;
    return 0;
}

enum { SEEN_SIZE = 1, SEEN_BODY = 2, SEEN_UTF8 = 4, SEEN_AUTH = 8 };

/* One parameter: MAIL's may each be given once (RFC 5321 4.1.2), RCPT
 * has none of ours (no DSN). */
static int one_param(struct text key, struct text val, unsigned *seen, struct smtp_cmd *c,
                      char *err, size_t errlen)
{
    unsigned bit = c->verb != SMTP_MAIL ? 0 : same_word(key, "SIZE") ? SEEN_SIZE
                 : same_word(key, "BODY") ? SEEN_BODY : same_word(key, "SMTPUTF8") ? SEEN_UTF8
                 : same_word(key, "AUTH") ? SEEN_AUTH : 0;
    if (bit == 0)
        return fail(SMTP_E_PARAM, err, errlen, "unknown parameter %.*s", (int)(key.n > 32 ? 32 : key.n), key.p);
    if (*seen & bit)
        return fail(SMTP_E_ARGS, err, errlen, "parameter %.*s given twice", (int)key.n, key.p);
    *seen |= bit;
    if (bit == SEEN_SIZE) {
        if (parse_u64(val, SIZE_DIGITS_MAX, &c->size) < 0)
            return fail(SMTP_E_ARGS, err, errlen, "bad SIZE parameter");
        c->has_size = 1;
    } else if (bit == SEEN_BODY) {
        /* BINARYMIME needs CHUNKING's companion extension, not offered. */
        if (!same_word(val, "8BITMIME") && !same_word(val, "7BIT"))
            return fail(SMTP_E_ARGS, err, errlen, "bad BODY parameter");
        c->body_8bit = same_word(val, "8BITMIME");
    } else if (bit == SEEN_UTF8) {
        if (val.n)
            return fail(SMTP_E_ARGS, err, errlen, "SMTPUTF8 takes no value");
        c->smtputf8 = 1;
    } else {
        if (val.n == 0)
            return fail(SMTP_E_ARGS, err, errlen, "bad AUTH parameter");
        c->auth_param = 1;
    }
    return 0;
}

/* The parameters after a path: each after one or more spaces. */
static int parse_params(struct text t, struct smtp_cmd *c, char *err, size_t errlen)
{
    unsigned seen = 0;
    size_t i = 0;
    while (i < t.n) {
        if (t.p[i] != ' ')
            return fail(SMTP_E_ARGS, err, errlen, "junk after the address");
        while (i < t.n && t.p[i] == ' ')
            i++;
        const char *sp = memchr(t.p + i, ' ', t.n - i);
        struct text word = { t.p + i, sp ? (size_t)(sp - t.p) - i : t.n - i }, key, val;
        if (split_param(word, &key, &val) < 0)
            return fail(SMTP_E_ARGS, err, errlen, "bad parameter syntax");
        int r = one_param(key, val, &seen, c, err, errlen);
        if (r < 0)
            return r;
        i += word.n;
    }
    return 0;
}

/* --- verbs ------------------------------------------------------------- */

/* MAIL FROM:<path> [params], RCPT TO:<path> [params]. */
static int parse_mail_rcpt(struct smtp_cmd *c, int utf8_txn, char *err, size_t errlen)
{
    int is_mail = c->verb == SMTP_MAIL;
    const char *kw = is_mail ? "FROM:" : "TO:";
    struct text t = { c->arg, c->arg_len };
    if (!has_prefix(t, kw))
        return fail(SMTP_E_ARGS, err, errlen, "Syntax: %s", is_mail ? "MAIL FROM:<address>" : "RCPT TO:<address>");
    size_t i = strlen(kw);
    while (i < t.n && t.p[i] == ' ')
        i++;
    int r = parse_path((struct text){ t.p + i, t.n - i }, is_mail, &c->addr, err, errlen);
    if (r < 0)
        return r;
    i += (size_t)r;
    if ((r = parse_params((struct text){ t.p + i, t.n - i }, c, err, errlen)) < 0)
        return r;
    return check_utf8(&c->addr, is_mail ? c->smtputf8 : utf8_txn, err, errlen);
}

static int parse_helo(struct smtp_cmd *c, char *err, size_t errlen)
{
    struct text t = { c->arg, c->arg_len };
    if (t.n == 0 || memchr(t.p, ' ', t.n) || t.n > SMTP_DOMAIN_MAX)
        return fail(SMTP_E_ARGS, err, errlen, "Syntax: %s hostname", smtp_verb_name(c->verb));
    char strict[SMTP_DOMAIN_MAX + 1];
    int literal;
    c->helo_valid = parse_domain(t, 0, strict, &literal) == t.n;
    for (size_t i = 0; i < t.n; i++)
        c->addr.domain[i] = lower(t.p[i]);
    c->addr.domain[t.n] = '\0';
    return 0;
}

/* "first [second]", one or more spaces between; -1 if more follows. */
static int two_words(struct text t, struct text *first, struct text *second)
{
    const char *sp = memchr(t.p, ' ', t.n);
    *first = (struct text){ t.p, sp ? (size_t)(sp - t.p) : t.n };
    size_t i = first->n;
    while (i < t.n && t.p[i] == ' ')
        i++;
    *second = (struct text){ t.p + i, t.n - i };
    return memchr(second->p, ' ', second->n) ? -1 : 0;
}

/* AUTH mechanism [initial-response] (RFC 4954 4). */
static int parse_auth(struct smtp_cmd *c, char *err, size_t errlen)
{
    struct text mech, resp;
    if (two_words((struct text){ c->arg, c->arg_len }, &mech, &resp) < 0 || mech.n == 0 ||
        mech.n > SMTP_MECH_MAX)
        return fail(SMTP_E_ARGS, err, errlen, "Syntax: AUTH mechanism [initial-response]");
    for (size_t i = 0; i < mech.n; i++) {
        if (!is_ldh((unsigned char)mech.p[i]) && mech.p[i] != '_')
            return fail(SMTP_E_ARGS, err, errlen, "bad mechanism name");
        c->mech[i] = upper(mech.p[i]);
    }
    c->mech[mech.n] = '\0';
    if (resp.n) {
        c->initial = resp.p;
        c->initial_len = resp.n;
    }
    return 0;
}

/* BDAT chunk-size [LAST] (RFC 3030 2). */
static int parse_bdat(struct smtp_cmd *c, char *err, size_t errlen)
{
    struct text num, last;
    if (two_words((struct text){ c->arg, c->arg_len }, &num, &last) < 0 ||
        parse_u64(num, SIZE_DIGITS_MAX, &c->chunk_size) < 0 || c->chunk_size == UINT64_MAX ||
        (last.n && !same_word(last, "LAST")))
        return fail(SMTP_E_ARGS, err, errlen, "Syntax: BDAT size [LAST]");
    c->last = last.n > 0;
    return 0;
}

enum arg_rule { ARG_NONE, ARG_ANY, ARG_NEEDED, ARG_OWN };

static const struct verb {
    const char *name;
    enum smtp_verb verb;
    enum arg_rule rule;
} verbs[] = {
    { "HELO", SMTP_HELO, ARG_OWN },      { "EHLO", SMTP_EHLO, ARG_OWN },
    { "MAIL", SMTP_MAIL, ARG_OWN },      { "RCPT", SMTP_RCPT, ARG_OWN },
    { "DATA", SMTP_DATA, ARG_NONE },     { "RSET", SMTP_RSET, ARG_NONE },
    { "NOOP", SMTP_NOOP, ARG_ANY },      { "QUIT", SMTP_QUIT, ARG_NONE },
    { "VRFY", SMTP_VRFY, ARG_NEEDED },   { "EXPN", SMTP_EXPN, ARG_NEEDED },
    { "HELP", SMTP_HELP, ARG_ANY },      { "STARTTLS", SMTP_STARTTLS, ARG_NONE },
    { "AUTH", SMTP_AUTH, ARG_OWN },      { "BDAT", SMTP_BDAT, ARG_OWN },
};

static const struct verb *find_verb(struct text word)
{
    for (size_t i = 0; i < sizeof verbs / sizeof verbs[0]; i++)
        if (same_word(word, verbs[i].name))
            return &verbs[i];
    return NULL;
}

/* Control characters and DEL end the command: bare CR and LF among them,
 * so no line can carry a second one. */
static int has_control(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)p[i] < 0x20 || (unsigned char)p[i] == 0x7f)
            return 1;
    return 0;
}

static int parse_args(const struct verb *v, struct smtp_cmd *c, int utf8_txn, char *err, size_t errlen)
{
    switch (v->rule) {
    case ARG_NONE:
        return c->arg_len ? fail(SMTP_E_ARGS, err, errlen, "%s takes no arguments", v->name) : 0;
    case ARG_NEEDED:
        return c->arg_len ? 0 : fail(SMTP_E_ARGS, err, errlen, "Syntax: %s argument", v->name);
    case ARG_ANY:
        return 0;
    case ARG_OWN:
        break;
    }
    if (c->verb == SMTP_HELO || c->verb == SMTP_EHLO)
        return parse_helo(c, err, errlen);
    if (c->verb == SMTP_AUTH)
        return parse_auth(c, err, errlen);
    if (c->verb == SMTP_BDAT)
        return parse_bdat(c, err, errlen);
    return parse_mail_rcpt(c, utf8_txn, err, errlen);
}

/* --- entry points ------------------------------------------------------ */

int smtp_cmd_parse_txn(const char *line, size_t len, int utf8_txn, struct smtp_cmd *cmd,
                       char *err, size_t errlen)
{
    memset(cmd, 0, sizeof *cmd);
    cmd->arg = "";
    if (err && errlen)
        err[0] = '\0';
    if (len > SMTP_CMD_MAX)
        return fail(SMTP_E_SYNTAX, err, errlen, "line too long");
    if (has_control(line, len))
        return fail(SMTP_E_SYNTAX, err, errlen, "control character in command");
    const char *sp = memchr(line, ' ', len);
    struct text word = { line, sp ? (size_t)(sp - line) : len };
    const struct verb *v = find_verb(word);
    if (!v)
        return fail(SMTP_E_SYNTAX, err, errlen, "command unrecognized");
    cmd->verb = v->verb;
    if (sp) {
        size_t n = len - word.n - 1;
        while (n > 0 && sp[n] == ' ')
            n--;
        cmd->arg = sp + 1;
        cmd->arg_len = n;
    }
    return parse_args(v, cmd, utf8_txn, err, errlen);
}

int smtp_cmd_parse(const char *line, size_t len, struct smtp_cmd *cmd, char *err, size_t errlen)
{
    return smtp_cmd_parse_txn(line, len, 0, cmd, err, errlen);
}

const char *smtp_error_code(int err)
{
    static const char *const codes[] = { "500 5.5.2", "501 5.5.4", "555 5.5.4", "553 5.1.3" };
    return err <= SMTP_E_SYNTAX && err >= SMTP_E_PATH ? codes[-err - 1] : "451 4.3.0";
}

const char *smtp_verb_name(enum smtp_verb v)
{
    for (size_t i = 0; i < sizeof verbs / sizeof verbs[0]; i++)
        if (verbs[i].verb == v)
            return verbs[i].name;
    return "UNKNOWN";
}

/* A local part that can go out unquoted. */
static int is_dotstring(const char *s, size_t n)
{
    if (n == 0 || s[0] == '.' || s[n - 1] == '.')
        return 0;
    for (size_t i = 0; i < n; i++)
        if (s[i] == '.' ? s[i + 1] == '.' : !(is_atext((unsigned char)s[i]) || (unsigned char)s[i] >= 0x80))
            return 0;
    return 1;
}

int smtp_addr_format(const struct smtp_addr *a, char *out, size_t room)
{
    /* Room for any struct's contents, not only what the parser fills. */
    char buf[2 * sizeof a->local + 3 + sizeof a->domain];
    size_t o = 0, ln = strnlen(a->local, sizeof a->local - 1);
    size_t dn = strnlen(a->domain, sizeof a->domain - 1);
    if (!a->null && is_dotstring(a->local, ln)) {
        memcpy(buf, a->local, ln);
        o = ln;
    } else if (!a->null) {
        buf[o++] = '"';
        for (size_t i = 0; i < ln; i++) {
            if (a->local[i] == '"' || a->local[i] == '\\')
                buf[o++] = '\\';
            buf[o++] = a->local[i];
        }
        buf[o++] = '"';
    }
    if (!a->null && dn) {
        buf[o++] = '@';
        memcpy(buf + o, a->domain, dn);
        o += dn;
    }
    if (o >= room)
        return -1;
    memcpy(out, buf, o);
    out[o] = '\0';
    return (int)o;
}
