/*
 * Unit test of servers/mail/smtp_cmd.c: the command lines real clients
 * send (swaks, python smtplib, Postfix, Thunderbird, Outlook), every
 * error with its code, addresses at their length bounds, the MAIL
 * parameters, and smtp_addr_format.
 */
#include "../../servers/mail/smtp_cmd.c"

#include <stdlib.h>

#include "unit.h"

static struct smtp_cmd cmd;
static char err[128];
static char *line_copy;

/* Parses a heap copy of exactly the line's bytes, so ASan sees any read
 * past its end; the copy lives until the next call, as cmd.arg points
 * into it. */
static int parse_n(const char *s, size_t n, int utf8_txn)
{
    free(line_copy);
    line_copy = malloc(n ? n : 1);
    memcpy(line_copy, s, n);
    return smtp_cmd_parse_txn(line_copy, n, utf8_txn, &cmd, err, sizeof err);
}

static int parse(const char *s) { return parse_n(s, strlen(s), 0); }

static int arg_is(const char *want)
{
    return cmd.arg_len == strlen(want) && memcmp(cmd.arg, want, cmd.arg_len) == 0;
}

/* A line and the result it must give. */
struct expect {
    const char *line;
    int rc;
    enum smtp_verb verb;
};

static void check_table(const struct expect *t, size_t n, const char *what)
{
    for (size_t i = 0; i < n; i++) {
        int rc = parse(t[i].line);
        CHECK(rc == t[i].rc && (rc == SMTP_E_SYNTAX || cmd.verb == t[i].verb),
              "%s: '%s' gives %d (got %d, verb %d: %s)", what, t[i].line, t[i].rc, rc, cmd.verb, err);
        if (rc < 0)
            CHECK(err[0] != '\0', "%s: '%s' says why", what, t[i].line);
    }
}

static void test_clients(void)
{
    /* swaks */
    CHECK(parse("EHLO host.example.com") == 0 && cmd.verb == SMTP_EHLO, "swaks EHLO");
    CHECK_STR(cmd.addr.domain, "host.example.com", "EHLO name kept");
    CHECK(cmd.helo_valid, "EHLO name is a valid domain");
    CHECK(parse("MAIL FROM:<user@example.com>") == 0 && cmd.verb == SMTP_MAIL, "swaks MAIL");
    CHECK_STR(cmd.addr.local, "user", "MAIL local part");
    CHECK_STR(cmd.addr.domain, "example.com", "MAIL domain");
    CHECK(!cmd.addr.null && !cmd.addr.quoted && !cmd.has_size, "MAIL: plain address, no params");
    CHECK(parse("RCPT TO:<rcpt@example.net>") == 0 && cmd.verb == SMTP_RCPT, "swaks RCPT");
    CHECK_STR(cmd.addr.local, "rcpt", "RCPT local");
    CHECK(parse("DATA") == 0 && cmd.verb == SMTP_DATA && arg_is(""), "DATA");
    CHECK(parse("QUIT") == 0 && cmd.verb == SMTP_QUIT, "QUIT");

    /* python smtplib: lowercase verbs, parameters after the path */
    CHECK(parse("ehlo [127.0.1.1]") == 0 && cmd.verb == SMTP_EHLO && cmd.helo_valid, "smtplib ehlo literal");
    CHECK_STR(cmd.addr.domain, "[127.0.1.1]", "ehlo literal kept");
    CHECK(parse("mail FROM:<a@b.example> size=1234") == 0 && cmd.has_size && cmd.size == 1234,
          "smtplib mail with size=");
    CHECK(parse("mail FROM:<a@b.example> SMTPUTF8 BODY=8BITMIME") == 0 && cmd.smtputf8 && cmd.body_8bit,
          "smtplib mail with SMTPUTF8 and BODY");
    CHECK(parse("rcpt TO:<x@y.example>") == 0 && cmd.verb == SMTP_RCPT, "smtplib rcpt");
    CHECK(parse("data") == 0 && cmd.verb == SMTP_DATA, "smtplib data");
    CHECK(parse("rset") == 0 && cmd.verb == SMTP_RSET, "smtplib rset");
    CHECK(parse("noop") == 0 && cmd.verb == SMTP_NOOP, "smtplib noop");
    CHECK(parse("quit") == 0 && cmd.verb == SMTP_QUIT, "smtplib quit");
    CHECK(parse("help") == 0 && cmd.verb == SMTP_HELP, "smtplib help");
    CHECK(parse("vrfy alice") == 0 && cmd.verb == SMTP_VRFY && arg_is("alice"), "smtplib vrfy");
    CHECK(parse("starttls") == 0 && cmd.verb == SMTP_STARTTLS, "smtplib starttls");

    /* Postfix as a client */
    CHECK(parse("MAIL FROM:<bounce@example.org> SIZE=5000 BODY=8BITMIME") == 0 &&
          cmd.size == 5000 && cmd.body_8bit, "Postfix MAIL");
    CHECK(parse("MAIL FROM:<> SIZE=5000") == 0 && cmd.addr.null && cmd.size == 5000, "Postfix bounce");
    CHECK(cmd.addr.local[0] == '\0' && cmd.addr.domain[0] == '\0', "null path: empty parts");
    CHECK(parse("MAIL FROM:<a@example.org> SIZE=10 AUTH=<>") == 0 && cmd.auth_param, "Postfix AUTH=<>");

    /* Thunderbird */
    CHECK(parse("EHLO [192.168.1.10]") == 0 && cmd.helo_valid, "Thunderbird EHLO literal");
    CHECK(parse("MAIL FROM:<me@example.com> BODY=8BITMIME SIZE=1234") == 0 && cmd.body_8bit &&
          cmd.size == 1234, "Thunderbird MAIL");
    CHECK(parse("AUTH PLAIN AGJvYgBzZWNyZXQ=") == 0 && cmd.verb == SMTP_AUTH, "Thunderbird AUTH PLAIN");
    CHECK_STR(cmd.mech, "PLAIN", "mechanism");
    CHECK(cmd.initial && cmd.initial_len == 16 && memcmp(cmd.initial, "AGJvYgBzZWNyZXQ=", 16) == 0,
          "initial response points into the line");

    /* Outlook */
    CHECK(parse("EHLO DESKTOP-7F3K2L") == 0 && cmd.helo_valid, "Outlook EHLO");
    CHECK_STR(cmd.addr.domain, "desktop-7f3k2l", "EHLO name lowercased");
    CHECK(parse("MAIL FROM: <me@example.com>") == 0, "space after the colon");
    CHECK_STR(cmd.addr.domain, "example.com", "...same address");
    CHECK(parse("RCPT TO: <you@example.com>") == 0, "space after TO:");
    CHECK(parse("MAIL FROM:   <me@example.com>") == 0, "spaces after the colon");
    CHECK(parse("AUTH LOGIN") == 0 && !cmd.initial, "AUTH LOGIN without initial response");
    CHECK_STR(cmd.mech, "LOGIN", "LOGIN");
}

static void test_verbs(void)
{
    static const struct expect t[] = {
        { "HELO", SMTP_E_ARGS, SMTP_HELO },
        { "HELO ", SMTP_E_ARGS, SMTP_HELO },
        { "HELO a b", SMTP_E_ARGS, SMTP_HELO },
        { "HELO mail.example.com", 0, SMTP_HELO },
        { "EHLO", SMTP_E_ARGS, SMTP_EHLO },
        { "DATA x", SMTP_E_ARGS, SMTP_DATA },
        { "DATA   ", 0, SMTP_DATA },
        { "RSET now", SMTP_E_ARGS, SMTP_RSET },
        { "RSET  ", 0, SMTP_RSET },
        { "QUIT bye", SMTP_E_ARGS, SMTP_QUIT },
        { "QUIT ", 0, SMTP_QUIT },
        { "STARTTLS x", SMTP_E_ARGS, SMTP_STARTTLS },
        { "STARTTLS", 0, SMTP_STARTTLS },
        { "NOOP", 0, SMTP_NOOP },
        { "NOOP anything at all", 0, SMTP_NOOP },
        { "VRFY", SMTP_E_ARGS, SMTP_VRFY },
        { "VRFY   ", SMTP_E_ARGS, SMTP_VRFY },
        { "VRFY bob", 0, SMTP_VRFY },
        { "EXPN", SMTP_E_ARGS, SMTP_EXPN },
        { "EXPN staff", 0, SMTP_EXPN },
        { "HELP", 0, SMTP_HELP },
        { "HELP MAIL", 0, SMTP_HELP },
        { "AUTH", SMTP_E_ARGS, SMTP_AUTH },
        { "AUTH PL@IN", SMTP_E_ARGS, SMTP_AUTH },
        { "AUTH PLAIN a b", SMTP_E_ARGS, SMTP_AUTH },
        { "AUTH ABCDEFGHIJKLMNOPQRST", 0, SMTP_AUTH },
        { "AUTH ABCDEFGHIJKLMNOPQRSTU", SMTP_E_ARGS, SMTP_AUTH },
        { "AUTH SCRAM-SHA-256", 0, SMTP_AUTH },
        { "AUTH X_OAUTH2", 0, SMTP_AUTH },
        { "BDAT", SMTP_E_ARGS, SMTP_BDAT },
        { "BDAT x", SMTP_E_ARGS, SMTP_BDAT },
        { "BDAT -1", SMTP_E_ARGS, SMTP_BDAT },
        { "BDAT +1", SMTP_E_ARGS, SMTP_BDAT },
        { "BDAT 5 LAST x", SMTP_E_ARGS, SMTP_BDAT },
        { "BDAT 5 FIRST", SMTP_E_ARGS, SMTP_BDAT },
        { "BDAT 123456789012345678901", SMTP_E_ARGS, SMTP_BDAT },
        { "BDAT 99999999999999999999", SMTP_E_ARGS, SMTP_BDAT },
        { "MAIL", SMTP_E_ARGS, SMTP_MAIL },
        { "MAIL FROM", SMTP_E_ARGS, SMTP_MAIL },
        { "MAIL FROM:", SMTP_E_ARGS, SMTP_MAIL },
        { "MAIL FROM: ", SMTP_E_ARGS, SMTP_MAIL },
        { "MAIL TO:<a@b.c>", SMTP_E_ARGS, SMTP_MAIL },
        { "MAIL FROM :<a@b.c>", SMTP_E_ARGS, SMTP_MAIL },
        { "MAIL  FROM:<a@b.c>", SMTP_E_ARGS, SMTP_MAIL },
        { "RCPT", SMTP_E_ARGS, SMTP_RCPT },
        { "RCPT TO:", SMTP_E_ARGS, SMTP_RCPT },
        { "RCPT FROM:<a@b.c>", SMTP_E_ARGS, SMTP_RCPT },
        { "", SMTP_E_SYNTAX, SMTP_UNKNOWN },
        { " ", SMTP_E_SYNTAX, SMTP_UNKNOWN },
        { " HELO x", SMTP_E_SYNTAX, SMTP_UNKNOWN },
        { "FOO", SMTP_E_SYNTAX, SMTP_UNKNOWN },
        { "MAILFROM:<a@b.c>", SMTP_E_SYNTAX, SMTP_UNKNOWN },
        { "MAIL:", SMTP_E_SYNTAX, SMTP_UNKNOWN },
        { "HEL", SMTP_E_SYNTAX, SMTP_UNKNOWN },
        { "HELOO x", SMTP_E_SYNTAX, SMTP_UNKNOWN },
        { "TURN", SMTP_E_SYNTAX, SMTP_UNKNOWN },
        { "GET / HTTP/1.1", SMTP_E_SYNTAX, SMTP_UNKNOWN },
    };
    check_table(t, sizeof t / sizeof t[0], "verbs");

    CHECK(parse("hElO x.y") == 0 && cmd.verb == SMTP_HELO, "verbs in any case");
    CHECK(parse("StartTLS") == 0 && cmd.verb == SMTP_STARTTLS, "STARTTLS in any case");
    CHECK(parse("HELP   ") == 0 && arg_is(""), "HELP: trailing blanks trimmed to nothing");
    CHECK(parse("VRFY  bob  ") == 0 && arg_is(" bob"), "arg: after one space, trailing blanks trimmed");
    CHECK(parse("NOOP") == 0 && cmd.arg && cmd.arg_len == 0 && cmd.arg[0] == '\0', "no arg: \"\"");
    CHECK(parse("FOO bar") == SMTP_E_SYNTAX && cmd.verb == SMTP_UNKNOWN && arg_is(""),
          "unknown verb: SMTP_UNKNOWN, arg \"\"");
    CHECK_HAS(err, "unrecognized", "unknown verb: reason");

    CHECK(parse("BDAT 1000") == 0 && cmd.chunk_size == 1000 && !cmd.last, "BDAT 1000");
    CHECK(parse("BDAT 0 LAST") == 0 && cmd.chunk_size == 0 && cmd.last, "BDAT 0 LAST");
    CHECK(parse("bdat 5   last") == 0 && cmd.chunk_size == 5 && cmd.last, "bdat, last in any case");
    CHECK(parse("BDAT 18446744073709551614") == 0 && cmd.chunk_size == UINT64_MAX - 1, "BDAT near 2^64");
    CHECK(parse("AUTH plain =") == 0 && cmd.initial_len == 1 && cmd.initial[0] == '=', "AUTH with \"=\"");
    CHECK_STR(cmd.mech, "PLAIN", "mechanism uppercased");
    CHECK(parse("AUTH LOGIN   dXNlcg==") == 0 && cmd.initial_len == 8, "AUTH: spaces before the response");
    CHECK(parse("EHLO my_pc") == 0 && !cmd.helo_valid, "EHLO with '_': taken, not valid");
    CHECK(parse("EHLO localhost") == 0 && cmd.helo_valid, "EHLO localhost");
    CHECK(parse("EHLO [IPv6:::1]") == 0 && cmd.helo_valid, "EHLO IPv6 literal");
    CHECK(parse("EHLO [999.1.1.1]") == 0 && !cmd.helo_valid, "EHLO bad literal: not valid");
    CHECK(parse("EHLO caf\xc3\xa9.example") == 0 && !cmd.helo_valid, "EHLO non-ASCII: not valid");
    CHECK(parse("EHLO -x.example") == 0 && !cmd.helo_valid, "EHLO leading hyphen: not valid");
}

static void test_line_bounds(void)
{
    char buf[SMTP_LINE_MAX + 8];
    memset(buf, 'x', sizeof buf);
    memcpy(buf, "NOOP ", 5);
    CHECK(parse_n(buf, SMTP_CMD_MAX, 0) == 0, "a 510-octet line (512 with CRLF) is taken");
    CHECK(parse_n(buf, SMTP_CMD_MAX + 1, 0) == SMTP_E_SYNTAX, "a 511-octet line is too long");
    CHECK_HAS(err, "too long", "...says so");
    CHECK(parse_n(buf, SMTP_LINE_MAX, 0) == SMTP_E_SYNTAX, "a 512-octet line is too long");

    static const char *const ctl[] = { "NOOP\tx", "NOOP x\r", "NOOP x\ny", "NOOP \x7f", "MAIL FROM:<a@b.c>\r",
                                       "QUIT\x1b", "HELO a\x01" };
    for (size_t i = 0; i < sizeof ctl / sizeof ctl[0]; i++)
        CHECK(parse(ctl[i]) == SMTP_E_SYNTAX, "control character refused (%zu)", i);
    CHECK(parse_n("NOOP a\0b", 8, 0) == SMTP_E_SYNTAX, "NUL refused");
    CHECK(parse_n("\0", 1, 0) == SMTP_E_SYNTAX, "lone NUL refused");
    CHECK(parse_n("QUIT\0", 5, 0) == SMTP_E_SYNTAX, "NUL after the verb refused");
}

static void test_paths(void)
{
    static const struct expect t[] = {
        { "MAIL FROM:user@example.com", 0, SMTP_MAIL },
        { "MAIL FROM:user@example.com SIZE=10", 0, SMTP_MAIL },
        { "RCPT TO:user@example.com", 0, SMTP_RCPT },
        { "MAIL FROM:<a@b.c", SMTP_E_ARGS, SMTP_MAIL },
        { "MAIL FROM:<a@b.c>x", SMTP_E_ARGS, SMTP_MAIL },
        { "MAIL FROM:<a@b.c>>", SMTP_E_ARGS, SMTP_MAIL },
        { "MAIL FROM:<<a@b.c>>", SMTP_E_PATH, SMTP_MAIL },
        { "MAIL FROM:< a@b.c>", SMTP_E_PATH, SMTP_MAIL },
        { "MAIL FROM:<a@b.c >", SMTP_E_ARGS, SMTP_MAIL },
        { "MAIL FROM:<a @b.c>", SMTP_E_PATH, SMTP_MAIL },
        { "MAIL FROM:<a@b.c> <d@e.f>", SMTP_E_ARGS, SMTP_MAIL },
        { "MAIL FROM:a b@c.d", SMTP_E_PATH, SMTP_MAIL },
        { "MAIL FROM:a@b.c>", SMTP_E_ARGS, SMTP_MAIL },
        { "MAIL FROM:<a>", SMTP_E_PATH, SMTP_MAIL },
        { "MAIL FROM:<a@>", SMTP_E_PATH, SMTP_MAIL },
        { "MAIL FROM:<@b.c>", SMTP_E_ARGS, SMTP_MAIL },
        { "MAIL FROM:<.a@b.c>", SMTP_E_PATH, SMTP_MAIL },
        { "MAIL FROM:<a.@b.c>", SMTP_E_PATH, SMTP_MAIL },
        { "MAIL FROM:<a..b@b.c>", SMTP_E_PATH, SMTP_MAIL },
        { "MAIL FROM:<a(b)@b.c>", SMTP_E_PATH, SMTP_MAIL },
        { "MAIL FROM:<a,b@b.c>", SMTP_E_PATH, SMTP_MAIL },
        { "MAIL FROM:<a@b..c>", SMTP_E_PATH, SMTP_MAIL },
        { "MAIL FROM:<a@.b.c>", SMTP_E_PATH, SMTP_MAIL },
        { "MAIL FROM:<a@b.c.>", SMTP_E_PATH, SMTP_MAIL },
        { "MAIL FROM:<a@-b.c>", SMTP_E_PATH, SMTP_MAIL },
        { "MAIL FROM:<a@b-.c>", SMTP_E_PATH, SMTP_MAIL },
        { "MAIL FROM:<a@b_c.d>", SMTP_E_PATH, SMTP_MAIL },
        { "MAIL FROM:<a@b@c.d>", SMTP_E_PATH, SMTP_MAIL },
        { "MAIL FROM:<\"a@b.c>", SMTP_E_PATH, SMTP_MAIL },
        { "MAIL FROM:<\"a\\", SMTP_E_PATH, SMTP_MAIL },
        { "MAIL FROM:<\"a\"b@c.d>", SMTP_E_PATH, SMTP_MAIL },
        { "MAIL FROM:<a@[1.2.3]>", SMTP_E_PATH, SMTP_MAIL },
        { "MAIL FROM:<a@[256.1.1.1]>", SMTP_E_PATH, SMTP_MAIL },
        { "MAIL FROM:<a@[01.1.1.1]>", SMTP_E_PATH, SMTP_MAIL },
        { "MAIL FROM:<a@[]>", SMTP_E_PATH, SMTP_MAIL },
        { "MAIL FROM:<a@[IPv6:]>", SMTP_E_PATH, SMTP_MAIL },
        { "MAIL FROM:<a@[IPv6:1.2.3.4]>", SMTP_E_PATH, SMTP_MAIL },
        { "MAIL FROM:<a@[IPv6:::g]>", SMTP_E_PATH, SMTP_MAIL },
        { "MAIL FROM:<a@[x-tag:stuff]>", SMTP_E_PATH, SMTP_MAIL },
        { "MAIL FROM:<a@[1.2.3.4>", SMTP_E_PATH, SMTP_MAIL },
        { "MAIL FROM:<a@[1.2.3.4]x>", SMTP_E_PATH, SMTP_MAIL },
        { "MAIL FROM:<@a.b:c@d.e>", 0, SMTP_MAIL },
        { "MAIL FROM:<@a.b>", SMTP_E_ARGS, SMTP_MAIL },
        { "MAIL FROM:<@a.b,c@d.e>", SMTP_E_ARGS, SMTP_MAIL },
        { "MAIL FROM:<@a.b,:c@d.e>", SMTP_E_ARGS, SMTP_MAIL },
        { "MAIL FROM:<@:c@d.e>", SMTP_E_ARGS, SMTP_MAIL },
        { "MAIL FROM:<@a_b:c@d.e>", SMTP_E_ARGS, SMTP_MAIL },
        { "MAIL FROM:<@a.b:<>", SMTP_E_PATH, SMTP_MAIL },
        { "MAIL FROM:<postmaster>", SMTP_E_PATH, SMTP_MAIL },
        { "RCPT TO:<>", SMTP_E_PATH, SMTP_RCPT },
        { "RCPT TO:<a>", SMTP_E_PATH, SMTP_RCPT },
        { "RCPT TO:<postmasterx>", SMTP_E_PATH, SMTP_RCPT },
        { "RCPT TO:<\"postmaster\">", SMTP_E_PATH, SMTP_RCPT },
        { "RCPT TO:<Postmaster>", 0, SMTP_RCPT },
        { "RCPT TO:<POSTMASTER>", 0, SMTP_RCPT },
        { "RCPT TO:postmaster", 0, SMTP_RCPT },
        { "RCPT TO:<@relay.example:Postmaster>", 0, SMTP_RCPT },
    };
    check_table(t, sizeof t / sizeof t[0], "paths");

    CHECK(parse("MAIL FROM:user@example.com") == 0, "unbracketed path");
    CHECK_STR(cmd.addr.local, "user", "...its local part");
    CHECK(parse("RCPT TO:<Postmaster>") == 0 && cmd.addr.domain[0] == '\0', "bare postmaster: no domain");
    CHECK_STR(cmd.addr.local, "Postmaster", "...local part as given");
    CHECK(parse("RCPT TO:<\"a b\"@Example.COM>") == 0 && cmd.addr.quoted, "quoted local part");
    CHECK_STR(cmd.addr.local, "a b", "...dequoted");
    CHECK_STR(cmd.addr.domain, "example.com", "...domain lowercased");
    CHECK(parse("RCPT TO:<\"a\\\"b\\\\c\"@x.y>") == 0, "quoted pairs");
    CHECK_STR(cmd.addr.local, "a\"b\\c", "...unescaped");
    CHECK(parse("RCPT TO:<\"\"@x.y>") == 0 && cmd.addr.quoted && cmd.addr.local[0] == '\0', "empty quoted-string");
    CHECK(parse("RCPT TO:<\"a>b\"@x.y>") == 0, "'>' inside a quoted-string");
    CHECK_STR(cmd.addr.local, "a>b", "...kept");
    CHECK(parse("RCPT TO:<John.Doe@Example.com>") == 0, "mixed case");
    CHECK_STR(cmd.addr.local, "John.Doe", "local part keeps its case");
    CHECK(parse("RCPT TO:<user%other.example@ours.example>") == 0, "%% hack: a local part with '%%'");
    CHECK_STR(cmd.addr.local, "user%other.example", "...taken whole");
    CHECK_STR(cmd.addr.domain, "ours.example", "...our domain");
    CHECK(parse("RCPT TO:<!#$%&'*+-/=?^_`{|}~@x.y>") == 0, "every atext special");
    CHECK(parse("RCPT TO:<@a.example,@[10.0.0.1]:joe@c.example>") == 0 && cmd.addr.had_route,
          "source route dropped");
    CHECK_STR(cmd.addr.local, "joe", "...mailbox after the route");
    CHECK_STR(cmd.addr.domain, "c.example", "...its domain");
    CHECK(parse("RCPT TO:<joe@c.example>") == 0 && !cmd.addr.had_route, "no route");
    CHECK(parse("RCPT TO:<a@[192.0.2.1]>") == 0 && cmd.addr.literal, "IPv4 literal");
    CHECK_STR(cmd.addr.domain, "[192.0.2.1]", "...kept with brackets");
    CHECK(parse("RCPT TO:<a@[ipv6:2001:DB8::1]>") == 0 && cmd.addr.literal, "IPv6 literal");
    CHECK_STR(cmd.addr.domain, "[IPv6:2001:db8::1]", "...tag spelt IPv6:, hex lowercased");
    CHECK(parse("RCPT TO:<a@[IPv6:::ffff:1.2.3.4]>") == 0, "IPv6 literal with IPv4 tail");
    CHECK(parse("RCPT TO:<a@localhost>") == 0 && !cmd.addr.literal, "one-label domain");
    CHECK(parse("RCPT TO:<a@3com.example>") == 0, "label starting with a digit");
    CHECK(parse("RCPT TO:<a@x--y.example>") == 0, "double hyphen inside a label");
    CHECK(parse("MAIL FROM:<>") == 0 && cmd.addr.null, "null sender");
    CHECK(parse("MAIL FROM: <>") == 0 && cmd.addr.null, "null sender after a space");
    CHECK(parse("MAIL FROM:<@a.b:<>") == SMTP_E_PATH, "route before a null path");
}

static void fill_label(char *p, size_t n, char c)
{
    memset(p, c, n);
}

/* "RCPT TO:<" local "@" domain ">" with parts of the given lengths. */
static int parse_sized(size_t local, int quoted, size_t domain)
{
    char buf[1024];
    size_t o = 0;
    o += (size_t)sprintf(buf, "RCPT TO:<");
    if (quoted) {
        buf[o++] = '"';
        fill_label(buf + o, local - 2, 'q');
        o += local - 2;
        buf[o++] = '"';
    } else {
        fill_label(buf + o, local, 'l');
        o += local;
    }
    buf[o++] = '@';
    /* labels of 50 and dots, ending on a label of at least 1 */
    for (size_t d = 0; d < domain; d++)
        buf[o++] = (d % 51 == 50 && d + 1 < domain) ? '.' : 'd';
    buf[o++] = '>';
    return parse_n(buf, o, 0);
}

static void test_lengths(void)
{
    CHECK(parse_sized(64, 0, 10) == 0, "local part of 64 octets");
    CHECK(strlen(cmd.addr.local) == 64, "...kept whole");
    CHECK(parse_sized(65, 0, 10) == SMTP_E_PATH, "local part of 65 octets: 553");
    CHECK_HAS(err, "64", "...says the bound");
    CHECK(parse_sized(64, 1, 10) == 0 && cmd.addr.quoted, "quoted local part of 64 octets with its quotes");
    CHECK(strlen(cmd.addr.local) == 62, "...62 dequoted");
    CHECK(parse_sized(65, 1, 10) == SMTP_E_PATH, "quoted local part of 65 octets: 553");
    CHECK(parse_sized(200, 1, 10) == SMTP_E_PATH, "quoted local part of 200 octets: 553");
    CHECK(parse_sized(10, 0, 255) == 0, "domain of 255 octets");
    CHECK(strlen(cmd.addr.domain) == 255, "...kept whole");
    CHECK(parse_sized(10, 0, 256) == SMTP_E_PATH, "domain of 256 octets: 553");
    CHECK(parse_sized(64, 0, 255) == 0, "both at their bounds");
    CHECK(parse_sized(10, 0, 400) == SMTP_E_PATH, "domain of 400 octets: 553");

    char buf[200];
    int n = sprintf(buf, "RCPT TO:<a@%.*s.example>", 63, "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
    CHECK(parse_n(buf, (size_t)n, 0) == 0, "label of 63 octets");
    n = sprintf(buf, "RCPT TO:<a@%.*s.example>", 64, "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
    CHECK(parse_n(buf, (size_t)n, 0) == SMTP_E_PATH, "label of 64 octets: 553");

    char big[SMTP_LINE_MAX];
    memset(big, 'a', sizeof big);
    memcpy(big, "HELO ", 5);
    CHECK(parse_n(big, 5 + 255, 0) == 0, "HELO name of 255 octets");
    CHECK(parse_n(big, 5 + 256, 0) == SMTP_E_ARGS, "HELO name of 256 octets: 501");
}

static void test_params(void)
{
    static const struct expect t[] = {
        { "MAIL FROM:<a@b.c> SIZE=0", 0, SMTP_MAIL },
        { "MAIL FROM:<a@b.c> SIZE=", SMTP_E_ARGS, SMTP_MAIL },
        { "MAIL FROM:<a@b.c> SIZE", SMTP_E_ARGS, SMTP_MAIL },
        { "MAIL FROM:<a@b.c> SIZE=abc", SMTP_E_ARGS, SMTP_MAIL },
        { "MAIL FROM:<a@b.c> SIZE=-1", SMTP_E_ARGS, SMTP_MAIL },
        { "MAIL FROM:<a@b.c> SIZE=123456789012345678901", SMTP_E_ARGS, SMTP_MAIL },
        { "MAIL FROM:<a@b.c> SIZE=1 SIZE=2", SMTP_E_ARGS, SMTP_MAIL },
        { "MAIL FROM:<a@b.c> SIZE=1=2", SMTP_E_ARGS, SMTP_MAIL },
        { "MAIL FROM:<a@b.c> BODY=7BIT", 0, SMTP_MAIL },
        { "MAIL FROM:<a@b.c> body=8bitmime", 0, SMTP_MAIL },
        { "MAIL FROM:<a@b.c> BODY=BINARYMIME", SMTP_E_ARGS, SMTP_MAIL },
        { "MAIL FROM:<a@b.c> BODY", SMTP_E_ARGS, SMTP_MAIL },
        { "MAIL FROM:<a@b.c> BODY=7BIT BODY=7BIT", SMTP_E_ARGS, SMTP_MAIL },
        { "MAIL FROM:<a@b.c> SMTPUTF8=yes", SMTP_E_ARGS, SMTP_MAIL },
        { "MAIL FROM:<a@b.c> SMTPUTF8 SMTPUTF8", SMTP_E_ARGS, SMTP_MAIL },
        { "MAIL FROM:<a@b.c> AUTH", SMTP_E_ARGS, SMTP_MAIL },
        { "MAIL FROM:<a@b.c> AUTH=", SMTP_E_ARGS, SMTP_MAIL },
        { "MAIL FROM:<a@b.c> AUTH=a+40b.c", 0, SMTP_MAIL },
        { "MAIL FROM:<a@b.c> RET=HDRS", SMTP_E_PARAM, SMTP_MAIL },
        { "MAIL FROM:<a@b.c> ENVID=x", SMTP_E_PARAM, SMTP_MAIL },
        { "MAIL FROM:<a@b.c> X-FOO", SMTP_E_PARAM, SMTP_MAIL },
        { "MAIL FROM:<a@b.c> =x", SMTP_E_ARGS, SMTP_MAIL },
        { "MAIL FROM:<a@b.c> -X=1", SMTP_E_ARGS, SMTP_MAIL },
        { "MAIL FROM:<a@b.c> X_Y=1", SMTP_E_ARGS, SMTP_MAIL },
        { "MAIL FROM:<a@b.c>SIZE=1", SMTP_E_ARGS, SMTP_MAIL },
        { "MAIL FROM:<a@b.c> SIZE=1\xc3\xa9", SMTP_E_ARGS, SMTP_MAIL },
        { "MAIL FROM:<a@b.c>    SIZE=1    BODY=7BIT   ", 0, SMTP_MAIL },
        { "RCPT TO:<a@b.c> NOTIFY=NEVER", SMTP_E_PARAM, SMTP_RCPT },
        { "RCPT TO:<a@b.c> ORCPT=rfc822;a@b.c", SMTP_E_PARAM, SMTP_RCPT },
        { "RCPT TO:<a@b.c> SIZE=1", SMTP_E_PARAM, SMTP_RCPT },
        { "RCPT TO:<a@b.c> =", SMTP_E_ARGS, SMTP_RCPT },
        { "RCPT TO:<a@b.c>  ", 0, SMTP_RCPT },
    };
    check_table(t, sizeof t / sizeof t[0], "params");

    CHECK(parse("MAIL FROM:<a@b.c> SIZE=0") == 0 && cmd.has_size && cmd.size == 0, "SIZE=0 given");
    CHECK(parse("MAIL FROM:<a@b.c> SIZE=18446744073709551615") == 0 && cmd.size == UINT64_MAX, "SIZE=2^64-1");
    CHECK(parse("MAIL FROM:<a@b.c> SIZE=99999999999999999999") == 0 && cmd.size == UINT64_MAX,
          "SIZE of 20 digits past 2^64: saturated");
    CHECK(parse("MAIL FROM:<a@b.c> BODY=7BIT") == 0 && cmd.body_8bit == 0, "BODY=7BIT: not 8-bit");
    CHECK(parse("MAIL FROM:<a@b.c> Body=8BitMime") == 0 && cmd.body_8bit == 1, "BODY=8BITMIME in any case");
    CHECK(parse("MAIL FROM:<a@b.c> smtputf8") == 0 && cmd.smtputf8 == 1, "smtputf8 in any case");
    CHECK(parse("MAIL FROM:<a@b.c> X-FOO=1") == SMTP_E_PARAM, "unknown parameter: 555");
    CHECK_HAS(err, "X-FOO", "...named");
}

static void test_utf8(void)
{
    const char *u = "RCPT TO:<j\xc3\xb6rg@b\xc3\xbc" "cher.example>";
    CHECK(parse("MAIL FROM:<j\xc3\xb6rg@example.com>") == SMTP_E_PATH, "non-ASCII sender without SMTPUTF8: 553");
    CHECK_HAS(err, "SMTPUTF8", "...says why");
    CHECK(parse("MAIL FROM:<j\xc3\xb6rg@example.com> SMTPUTF8") == 0 && cmd.addr.utf8, "with SMTPUTF8: taken");
    CHECK(parse("MAIL FROM:<a@b\xc3\xbc" "cher.example> SMTPUTF8") == 0, "UTF-8 domain with SMTPUTF8");
    CHECK_STR(cmd.addr.domain, "b\xc3\xbc" "cher.example", "...kept");
    CHECK(parse("MAIL FROM:<\"j\xc3\xb6 rg\"@example.com> SMTPUTF8") == 0 && cmd.addr.quoted,
          "UTF-8 in a quoted-string");
    CHECK(parse("MAIL FROM:<j\xc3rg@example.com> SMTPUTF8") == SMTP_E_PATH, "truncated UTF-8: 553");
    CHECK(parse("MAIL FROM:<j\xc0\xafrg@example.com> SMTPUTF8") == SMTP_E_PATH, "overlong UTF-8: 553");
    CHECK(parse("MAIL FROM:<j\xed\xa0\x80@example.com> SMTPUTF8") == SMTP_E_PATH, "surrogate: 553");
    CHECK(parse("MAIL FROM:<j\xf4\x90\x80\x80@example.com> SMTPUTF8") == SMTP_E_PATH, "past U+10FFFF: 553");
    CHECK(parse("MAIL FROM:<j\xf0\x9f\x98\x80@example.com> SMTPUTF8") == 0, "4-octet UTF-8");
    CHECK(parse("MAIL FROM:<j\xef\xbf\xbd@example.com> SMTPUTF8") == 0, "3-octet UTF-8");
    CHECK(parse("MAIL FROM:<j\x80\x80\x80\x80@example.com> SMTPUTF8") == SMTP_E_PATH, "lone continuations: 553");
    CHECK(parse("MAIL FROM:<j\xc1\x81@example.com> SMTPUTF8") == SMTP_E_PATH, "overlong 2-octet: 553");
    CHECK(parse("MAIL FROM:<j\xe0\x81\x81@example.com> SMTPUTF8") == SMTP_E_PATH, "overlong 3-octet: 553");
    CHECK(parse("MAIL FROM:<j\xf8\x88\x80\x80\x80@example.com> SMTPUTF8") == SMTP_E_PATH, "5-octet form: 553");
    CHECK(parse("MAIL FROM:<j\xff@example.com> SMTPUTF8") == SMTP_E_PATH, "0xff: 553");
    CHECK(parse("MAIL FROM:<j\xe2\x82@example.com> SMTPUTF8") == SMTP_E_PATH, "cut 3-octet: 553");
    CHECK(parse("MAIL FROM:<a@[1.2.3.\xc3\xa9]> SMTPUTF8") == SMTP_E_PATH, "UTF-8 in a literal: 553");
    CHECK(parse(u) == SMTP_E_PATH, "UTF-8 RCPT outside an SMTPUTF8 transaction: 553");
    CHECK(parse_n(u, strlen(u), 1) == 0 && cmd.addr.utf8, "UTF-8 RCPT inside one: taken");
    CHECK(parse_n("RCPT TO:<a@b.c>", 15, 1) == 0 && !cmd.addr.utf8, "ASCII RCPT inside one: not utf8");
    CHECK(smtp_cmd_parse("RCPT TO:<a@b.c>", 15, &cmd, NULL, 0) == 0, "no error buffer: fine");
    CHECK(smtp_cmd_parse("FOO", 3, &cmd, NULL, 0) == SMTP_E_SYNTAX, "no error buffer on an error: fine");
}

static void check_format(const char *line, const char *want)
{
    char out[SMTP_ADDR_TEXT_MAX];
    int rc = parse(line);
    int n = rc == 0 ? smtp_addr_format(&cmd.addr, out, sizeof out) : -1;
    CHECK(n >= 0 && (size_t)n == strlen(want) && strcmp(out, want) == 0, "format '%s' -> '%s' (got '%s')",
          line, want, n >= 0 ? out : "(error)");
}

static void test_format(void)
{
    check_format("RCPT TO:<John.Doe@Example.COM>", "John.Doe@example.com");
    check_format("RCPT TO:<\"a b\"@x.y>", "\"a b\"@x.y");
    check_format("RCPT TO:<\"ab\"@x.y>", "ab@x.y");
    check_format("RCPT TO:<\"a\\\"b\"@x.y>", "\"a\\\"b\"@x.y");
    check_format("RCPT TO:<\"a..b\"@x.y>", "\"a..b\"@x.y");
    check_format("RCPT TO:<\".a\"@x.y>", "\".a\"@x.y");
    check_format("RCPT TO:<\"\"@x.y>", "\"\"@x.y");
    check_format("RCPT TO:<Postmaster>", "Postmaster");
    check_format("MAIL FROM:<>", "");
    check_format("RCPT TO:<@r.example:u@[IPv6:::1]>", "u@[IPv6:::1]");

    char small[8];
    parse("RCPT TO:<abc@x.y>");
    CHECK(smtp_addr_format(&cmd.addr, small, 8) == 7 && strcmp(small, "abc@x.y") == 0, "fits exactly");
    CHECK(smtp_addr_format(&cmd.addr, small, 7) == -1, "one short: -1");

    struct smtp_addr a;
    memset(&a, 0, sizeof a);
    memset(a.local, '"', sizeof a.local - 1);
    memset(a.domain, 'd', sizeof a.domain - 1);
    char big[2 * sizeof a.local + 3 + sizeof a.domain];
    int n = smtp_addr_format(&a, big, sizeof big);
    CHECK(n == (int)(2 * (sizeof a.local - 1) + 2 + 1 + sizeof a.domain - 1), "a full struct formats whole");
}

static void test_names(void)
{
    CHECK_STR(smtp_error_code(SMTP_E_SYNTAX), "500 5.5.2", "500");
    CHECK_STR(smtp_error_code(SMTP_E_ARGS), "501 5.5.4", "501");
    CHECK_STR(smtp_error_code(SMTP_E_PARAM), "555 5.5.4", "555");
    CHECK_STR(smtp_error_code(SMTP_E_PATH), "553 5.1.3", "553");
    CHECK_STR(smtp_error_code(-99), "451 4.3.0", "other");
    CHECK_STR(smtp_verb_name(SMTP_STARTTLS), "STARTTLS", "verb name");
    CHECK_STR(smtp_verb_name(SMTP_UNKNOWN), "UNKNOWN", "unknown verb name");
}

int main(void)
{
    test_clients();
    test_verbs();
    test_line_bounds();
    test_paths();
    test_lengths();
    test_params();
    test_utf8();
    test_format();
    test_names();
    free(line_copy);
    return unit_done();
}
