/*
 * libFuzzer target for the SMTP side of gale mail: command lines
 * (servers/mail/smtp_cmd.c), the DATA reader (smtp_data.c) and the SASL
 * decoders (sasl.c), on arbitrary bytes.  Beyond what the sanitizers
 * catch, it aborts when a result breaks the promises of the headers:
 *  - an error not of ours, an argument outside the line, strings over
 *    their bounds, a domain not lowercased, non-ASCII without SMTPUTF8;
 *  - a parsed address that, formatted and parsed again, differs;
 *  - a DATA feed taking more than it was given, putting out more than it
 *    took or than its room, or giving another message or verdict when
 *    the same bytes come in other pieces;
 *  - a message that, stuffed again and read back, differs;
 *  - base64 that decodes but does not encode back to itself, a decoded
 *    SASL string not terminated within its room.
 *   clang -g -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE \
 *       tests/fuzz/fuzz_mail_smtp.c -o fuzz_mail_smtp
 */
#include "../../servers/mail/smtp_cmd.c"
#include "../../servers/mail/smtp_data.c"
#include "../../servers/mail/sasl.c"

#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define DATA_MAX 4096

static int inside(const char *p, size_t n, const char *line, size_t len)
{
    return p >= line && n <= len && (size_t)(p - line) <= len - n;
}

static void check_addr(const struct smtp_addr *a, int utf8_ok)
{
    size_t ln = strnlen(a->local, sizeof a->local), dn = strnlen(a->domain, sizeof a->domain);
    if (ln > SMTP_LOCAL_MAX || dn > SMTP_DOMAIN_MAX)
        abort();
    for (size_t i = 0; i < dn; i++)
        if ((a->domain[i] >= 'A' && a->domain[i] <= 'Z' && !a->literal) || (unsigned char)a->domain[i] < 0x21)
            abort();
    for (size_t i = 0; i < ln + dn; i++)
        if ((unsigned char)(i < ln ? a->local[i] : a->domain[i - ln]) >= 0x80 && (!utf8_ok || !a->utf8))
            abort();
}

/* Formats the address and parses it back as a RCPT: the same mailbox. */
static void check_roundtrip(const struct smtp_addr *a)
{
    char text[SMTP_ADDR_TEXT_MAX], line[SMTP_ADDR_TEXT_MAX + 16];
    if (a->null)
        return;
    int n = smtp_addr_format(a, text, sizeof text);
    if (n < 0)
        abort();
    int m = snprintf(line, sizeof line, "RCPT TO:<%s>", text);
    struct smtp_cmd again;
    if (m < 0 || (size_t)m > SMTP_CMD_MAX)
        return;
    if (smtp_cmd_parse_txn(line, (size_t)m, 1, &again, NULL, 0) != 0 ||
        strcmp(again.addr.local, a->local) != 0 || strcmp(again.addr.domain, a->domain) != 0)
        abort();
}

static void fuzz_command(const char *line, size_t len, int utf8_txn)
{
    struct smtp_cmd c;
    char err[64];
    int rc = smtp_cmd_parse_txn(line, len, utf8_txn, &c, err, sizeof err);
    if (rc < SMTP_E_PATH || rc > 0 || c.verb > SMTP_BDAT || strnlen(err, sizeof err) == sizeof err)
        abort();
    if (rc < 0 ? err[0] == '\0' : c.arg_len != 0 && !inside(c.arg, c.arg_len, line, len))
        abort();
    if (has_control(line, len) && rc != SMTP_E_SYNTAX)
        abort();
    if (rc != 0)
        return;
    if (c.arg_len && c.arg[c.arg_len - 1] == ' ')
        abort();
    if (c.initial && !inside(c.initial, c.initial_len, line, len))
        abort();
    if (strnlen(c.mech, sizeof c.mech) > SMTP_MECH_MAX)
        abort();
    if (c.verb == SMTP_MAIL || c.verb == SMTP_RCPT) {
        check_addr(&c.addr, c.verb == SMTP_MAIL ? c.smtputf8 : utf8_txn);
        check_roundtrip(&c.addr);
    }
}

/* A small generator for the DATA splits, seeded from the input. */
static uint32_t next_rand(uint32_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 17;
    *s ^= *s << 5;
    return *s;
}

struct reading {
    int rc;
    size_t used, made;
    struct smtp_data d;
};

/* Reads in at most step octets in, room out at a time, both random when
 * seed is not 0.  With room for an octet, a feed must take one. */
static void read_data(const char *in, size_t len, uint64_t max, uint32_t seed, char *out, struct reading *r)
{
    smtp_data_init(&r->d, max);
    r->rc = 0;
    r->used = r->made = 0;
    while (r->rc == 0 && r->used < len) {
        size_t step = seed ? 1 + next_rand(&seed) % 17 : len;
        size_t room = seed ? next_rand(&seed) % 9 : DATA_MAX;
        size_t n = len - r->used < step ? len - r->used : step;
        if (room > DATA_MAX - r->made)
            room = DATA_MAX - r->made;
        size_t used = (size_t)-1, made = (size_t)-1;
        r->rc = smtp_data_feed(&r->d, in + r->used, n, &used, out + r->made, room, &made);
        if (used > n || made > used || made > room || r->rc < -1 || r->rc > 1)
            abort();
        if (used == 0 && room > 0 && r->rc == 0)
            abort();
        r->used += used;
        r->made += made;
    }
}

/* Dot-stuffs a message and ends it: what a client sends. */
static size_t stuff(const char *msg, size_t n, char *out)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (msg[i] == '.' && (i == 0 || msg[i - 1] == '\n'))
            out[o++] = '.';
        out[o++] = msg[i];
    }
    memcpy(out + o, ".\r\n", 3);
    return o + 3;
}

static void fuzz_data(const char *in, size_t len, uint32_t seed)
{
    static char a[DATA_MAX], b[DATA_MAX], sent[2 * DATA_MAX + 3];
    struct reading whole, parts;
    if (len > DATA_MAX)
        len = DATA_MAX;
    uint64_t max = seed % 3 == 0 ? 0 : seed % 64;
    read_data(in, len, max, 0, a, &whole);
    read_data(in, len, max, seed | 1, b, &parts);
    if (whole.rc == 0 && whole.used != len)
        abort();
    if (parts.rc != whole.rc || (whole.rc != 0 && parts.used != whole.used) || parts.made != whole.made ||
        memcmp(a, b, whole.made) != 0 || parts.d.too_big != whole.d.too_big || parts.d.size != whole.d.size ||
        parts.d.lines != whole.d.lines || parts.d.long_lines != whole.d.long_lines)
        abort();
    if (whole.d.size != whole.made || (max && whole.d.size > max))
        abort();
    for (size_t i = 0; i < whole.made; i++)
        if ((a[i] == '\n' && (i == 0 || a[i - 1] != '\r')) || (a[i] == '\r' && i + 1 < whole.made && a[i + 1] != '\n'))
            abort();
    if (whole.rc != 1 || whole.d.too_big)
        return;
    if (whole.made && (whole.made < 2 || memcmp(a + whole.made - 2, "\r\n", 2) != 0))
        abort();
    size_t n = stuff(a, whole.made, sent);
    read_data(sent, n, 0, 0, b, &parts);
    if (parts.rc != 1 || parts.used != n || parts.made != whole.made || memcmp(a, b, whole.made) != 0)
        abort();
}

static void fuzz_sasl(const char *in, size_t len)
{
    unsigned char raw[DATA_MAX];
    char text[DATA_MAX * 2];
    long n = sasl_b64_decode(in, len, raw, sizeof raw);
    if (n >= 0 && !(len == 1 && in[0] == '=')) {
        long e = sasl_b64_encode(raw, (size_t)n, text, sizeof text);
        if (e < 0 || (size_t)e != len || memcmp(text, in, len) != 0)
            abort();
    }
    char z[32], u[64], p[256];
    if (sasl_plain_decode(in, len, z, sizeof z, u, sizeof u, p, sizeof p) == 0 &&
        (strnlen(z, sizeof z) == sizeof z || strnlen(u, sizeof u) == sizeof u || u[0] == '\0' ||
         strnlen(p, sizeof p) == sizeof p || p[0] == '\0'))
        abort();
    if (sasl_login_decode(in, len, u, sizeof u) == 0 && strnlen(u, sizeof u) == sizeof u)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* A copy of exactly size bytes, so ASan sees any read past the end. */
    char *buf = malloc(size ? size : 1);
    if (!buf)
        return 0;
    memcpy(buf, data, size);
    uint32_t seed = 2166136261u;
    for (size_t i = 0; i < size; i++)
        seed = (seed ^ data[i]) * 16777619u;
    fuzz_command(buf, size, 0);
    fuzz_command(buf, size, 1);
    fuzz_data(buf, size, seed);
    fuzz_sasl(buf, size);

    /* Inputs behind the verbs that take addresses, so each part is reached. */
    static const char *const heads[] = { "MAIL FROM:", "RCPT TO:<", "MAIL FROM:<", "EHLO " };
    if (size > 0 && size < SMTP_LINE_MAX) {
        const char *h = heads[data[0] % 4];
        size_t hn = strlen(h);
        char *line = malloc(hn + size - 1 ? hn + size - 1 : 1);
        memcpy(line, h, hn);
        memcpy(line + hn, data + 1, size - 1);
        fuzz_command(line, hn + size - 1, data[0] & 4);
        free(line);
    }
    free(buf);
    return 0;
}
