/*
 * Unit test of servers/mail/pop3_cmd.c: what fetchmail, python poplib,
 * Thunderbird and Outlook send, every error, message numbers at their
 * bounds, the line limit, PASS with spaces, AUTH and APOP.
 */
#include "../../servers/mail/pop3_cmd.c"

#include <stdlib.h>

#include "unit.h"

static struct pop3_cmd cmd;
static char err[128];
static char *line_copy;

/* Parses a heap copy of exactly the line's bytes (ASan sees reads past
 * it); kept until the next call, as cmd.arg points into it. */
static int parse_n(const char *s, size_t n)
{
    free(line_copy);
    line_copy = malloc(n ? n : 1);
    memcpy(line_copy, s, n);
    return pop3_cmd_parse(line_copy, n, &cmd, err, sizeof err);
}

static int parse(const char *s) { return parse_n(s, strlen(s)); }

static int arg_is(const char *want)
{
    return cmd.arg_len == strlen(want) && memcmp(cmd.arg, want, cmd.arg_len) == 0;
}

struct expect {
    const char *line;
    int rc;
    enum pop3_verb verb;
};

static void check_table(const struct expect *t, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int rc = parse(t[i].line);
        CHECK(rc == t[i].rc && cmd.verb == t[i].verb, "'%s' gives %d (got %d, verb %d: %s)",
              t[i].line, t[i].rc, rc, cmd.verb, err);
        if (rc < 0)
            CHECK(err[0] != '\0', "'%s' says why", t[i].line);
    }
}

static void test_clients(void)
{
    /* fetchmail, poplib */
    CHECK(parse("CAPA") == 0 && cmd.verb == POP3_CAPA, "CAPA");
    CHECK(parse("USER alice") == 0 && cmd.verb == POP3_USER && arg_is("alice"), "USER");
    CHECK(parse("PASS s3cret") == 0 && cmd.verb == POP3_PASS && arg_is("s3cret"), "PASS");
    CHECK(parse("STAT") == 0 && cmd.verb == POP3_STAT, "STAT");
    CHECK(parse("LIST") == 0 && cmd.verb == POP3_LIST && !cmd.has_n, "LIST");
    CHECK(parse("LIST 3") == 0 && cmd.has_n && cmd.n == 3 && !cmd.has_m, "LIST 3");
    CHECK(parse("UIDL") == 0 && cmd.verb == POP3_UIDL && !cmd.has_n, "UIDL");
    CHECK(parse("UIDL 1") == 0 && cmd.has_n && cmd.n == 1, "UIDL 1");
    CHECK(parse("RETR 1") == 0 && cmd.verb == POP3_RETR && cmd.n == 1, "RETR 1");
    CHECK(parse("DELE 1") == 0 && cmd.verb == POP3_DELE && cmd.n == 1, "DELE 1");
    CHECK(parse("TOP 1 0") == 0 && cmd.verb == POP3_TOP && cmd.n == 1 && cmd.has_m && cmd.m == 0,
          "TOP 1 0 (fetchmail's header probe)");
    CHECK(parse("TOP 2 10") == 0 && cmd.n == 2 && cmd.m == 10, "TOP 2 10");
    CHECK(parse("NOOP") == 0 && cmd.verb == POP3_NOOP, "NOOP");
    CHECK(parse("RSET") == 0 && cmd.verb == POP3_RSET, "RSET");
    CHECK(parse("QUIT") == 0 && cmd.verb == POP3_QUIT, "QUIT");
    CHECK(parse("STLS") == 0 && cmd.verb == POP3_STLS, "STLS");
    /* keywords in any case (RFC 1939 3) */
    CHECK(parse("user bob") == 0 && cmd.verb == POP3_USER, "lowercase keyword");
    CHECK(parse("Retr 7") == 0 && cmd.verb == POP3_RETR && cmd.n == 7, "mixed-case keyword");
    /* Thunderbird, Outlook */
    CHECK(parse("AUTH PLAIN") == 0 && cmd.verb == POP3_AUTH && !cmd.initial, "AUTH PLAIN");
    CHECK_STR(cmd.mech, "PLAIN", "...mechanism");
    CHECK(parse("AUTH PLAIN AGJvYgBzZWNyZXQ=") == 0 && cmd.initial_len == 16 &&
          memcmp(cmd.initial, "AGJvYgBzZWNyZXQ=", 16) == 0, "AUTH PLAIN with initial response");
    CHECK(parse("AUTH") == 0 && cmd.verb == POP3_AUTH && cmd.mech[0] == '\0', "bare AUTH lists mechanisms");
    CHECK(parse("auth login") == 0, "auth login");
    CHECK_STR(cmd.mech, "LOGIN", "...uppercased");
    CHECK(parse("AUTH XOAUTH2 =") == 0 && cmd.initial_len == 1, "AUTH with \"=\"");
    CHECK(parse("APOP mrose c4c9334bac560ecc979e58001b3e22fb") == 0 && cmd.verb == POP3_APOP &&
          arg_is("mrose"), "APOP (RFC 1939's example)");
    CHECK_STR(cmd.digest, "c4c9334bac560ecc979e58001b3e22fb", "...digest");
    CHECK(parse("APOP mrose C4C9334BAC560ECC979E58001B3E22FB") == 0, "APOP digest in uppercase");
    CHECK_STR(cmd.digest, "c4c9334bac560ecc979e58001b3e22fb", "...lowercased");
    CHECK(parse("APOP john smith  c4c9334bac560ecc979e58001b3e22fb  ") == 0 && arg_is("john smith"),
          "APOP name with a space");
}

static void test_errors(void)
{
    static const struct expect t[] = {
        { "", -1, POP3_UNKNOWN },
        { " USER a", -1, POP3_UNKNOWN },
        { "FOO", -1, POP3_UNKNOWN },
        { "USERS a", -1, POP3_UNKNOWN },
        { "US", -1, POP3_UNKNOWN },
        { "LAST", -1, POP3_UNKNOWN },
        { "HELO x", -1, POP3_UNKNOWN },
        { "USER", -1, POP3_USER },
        { "USER ", -1, POP3_USER },
        { "USER    ", -1, POP3_USER },
        { "PASS", -1, POP3_PASS },
        { "PASS ", -1, POP3_PASS },
        { "STAT x", -1, POP3_STAT },
        { "STAT   ", 0, POP3_STAT },
        { "QUIT now", -1, POP3_QUIT },
        { "QUIT ", 0, POP3_QUIT },
        { "NOOP x", -1, POP3_NOOP },
        { "RSET 1", -1, POP3_RSET },
        { "CAPA x", -1, POP3_CAPA },
        { "STLS x", -1, POP3_STLS },
        { "LIST 0", -1, POP3_LIST },
        { "LIST x", -1, POP3_LIST },
        { "LIST 1 2", -1, POP3_LIST },
        { "LIST -1", -1, POP3_LIST },
        { "LIST +1", -1, POP3_LIST },
        { "LIST 1x", -1, POP3_LIST },
        { "LIST 1.0", -1, POP3_LIST },
        { "LIST 0x10", -1, POP3_LIST },
        { "UIDL 0", -1, POP3_UIDL },
        { "UIDL 1 2", -1, POP3_UIDL },
        { "RETR", -1, POP3_RETR },
        { "RETR ", -1, POP3_RETR },
        { "RETR 0", -1, POP3_RETR },
        { "RETR 1 2", -1, POP3_RETR },
        { "RETR a", -1, POP3_RETR },
        { "DELE", -1, POP3_DELE },
        { "DELE -5", -1, POP3_DELE },
        { "TOP", -1, POP3_TOP },
        { "TOP 1", -1, POP3_TOP },
        { "TOP 0 1", -1, POP3_TOP },
        { "TOP 1 -1", -1, POP3_TOP },
        { "TOP 1 2 3", -1, POP3_TOP },
        { "TOP 1 x", -1, POP3_TOP },
        { "AUTH PL@IN", -1, POP3_AUTH },
        { "AUTH PLAIN a b", -1, POP3_AUTH },
        { "AUTH ABCDEFGHIJKLMNOPQRSTU", -1, POP3_AUTH },
        { "AUTH ABCDEFGHIJKLMNOPQRST", 0, POP3_AUTH },
        { "APOP", -1, POP3_APOP },
        { "APOP mrose", -1, POP3_APOP },
        { "APOP c4c9334bac560ecc979e58001b3e22fb", -1, POP3_APOP },
        { "APOP mrose c4c9334bac560ecc979e58001b3e22f", -1, POP3_APOP },
        { "APOP mrose c4c9334bac560ecc979e58001b3e22fbb", -1, POP3_APOP },
        { "APOP mrose g4c9334bac560ecc979e58001b3e22fb", -1, POP3_APOP },
    };
    check_table(t, sizeof t / sizeof t[0]);

    CHECK(parse("FOO") == -1 && cmd.arg && cmd.arg_len == 0, "unknown: arg \"\"");
    static const char *const ctl[] = { "USER a\tb", "PASS a\rb", "PASS a\nb", "QUIT\x1b", "NOOP\x7f", "LIST 1\r" };
    for (size_t i = 0; i < sizeof ctl / sizeof ctl[0]; i++)
        CHECK(parse(ctl[i]) == -1, "control character refused (%zu)", i);
    CHECK(parse_n("PASS a\0b", 8) == -1, "NUL in a password refused");
    CHECK(pop3_cmd_parse("FOO", 3, &cmd, NULL, 0) == -1, "no error buffer: fine");
}

static void test_numbers(void)
{
    CHECK(parse("RETR 2147483647") == 0 && cmd.n == 2147483647UL, "RETR 2^31-1");
    CHECK(parse("RETR 2147483648") == -1, "RETR 2^31: refused");
    CHECK(parse("RETR 99999999999999999999999") == -1, "RETR huge: refused");
    CHECK(parse("RETR 007") == 0 && cmd.n == 7, "leading zeros");
    CHECK(parse("TOP 1 2147483647") == 0 && cmd.m == 2147483647UL, "TOP m at 2^31-1");
    CHECK(parse("TOP 1 2147483648") == -1, "TOP m past 2^31-1");
    CHECK(parse("TOP  3   4  ") == 0 && cmd.n == 3 && cmd.m == 4, "runs of spaces between numbers");
    CHECK(parse("LIST   ") == 0 && !cmd.has_n, "LIST with trailing blanks: no number");
}

static void test_args(void)
{
    CHECK(parse("PASS my secret pass") == 0 && arg_is("my secret pass"), "PASS with spaces");
    CHECK(parse("PASS  lead") == 0 && arg_is(" lead"), "PASS keeps a leading space");
    CHECK(parse("PASS trail  ") == 0 && arg_is("trail  "), "PASS keeps trailing spaces");
    CHECK(parse("PASS    ") == 0 && arg_is("   "), "PASS of spaces");
    CHECK(parse("PASS p\xc3\xa4ss") == 0, "PASS with UTF-8");
    CHECK(parse("USER john smith  ") == 0 && arg_is("john smith"), "USER: spaces kept, trailing trimmed");
    CHECK(parse("USER a@example.com") == 0 && arg_is("a@example.com"), "USER with a domain");

    char buf[POP3_LINE_MAX + 8];
    memset(buf, 'p', sizeof buf);
    memcpy(buf, "PASS ", 5);
    CHECK(parse_n(buf, POP3_CMD_MAX) == 0 && cmd.arg_len == POP3_CMD_MAX - 5,
          "a 253-octet line (255 with CRLF) is taken");
    CHECK(parse_n(buf, POP3_CMD_MAX + 1) == -1, "a 254-octet line is too long");
    CHECK_HAS(err, "too long", "...says so");
    CHECK(parse_n(buf, POP3_LINE_MAX) == -1, "a 255-octet line is too long");

    CHECK_STR(pop3_verb_name(POP3_STLS), "STLS", "verb name");
    CHECK_STR(pop3_verb_name(POP3_UNKNOWN), "UNKNOWN", "unknown verb name");
}

int main(void)
{
    test_clients();
    test_errors();
    test_numbers();
    test_args();
    free(line_copy);
    return unit_done();
}
