/*
 * Unit test of servers/mail/smtp_data.c: the end marker, dot-stuffing,
 * bare CR and LF, the size limit and long lines; a tricky message fed
 * whole, split at every position, byte by byte and through a small
 * output buffer, always to the same result.
 */
#include "../../servers/mail/smtp_data.c"

#include <stdlib.h>

#include "unit.h"

/* What a whole run gave. */
struct run {
    int rc;
    size_t used;          /* of the input, over every feed */
    char out[8192];
    size_t made;
    struct smtp_data d;
};

/* Feeds msg in pieces of at most step octets (0: whole), out_room octets
 * of output at a time; stops at the first non-zero result. */
static void feed_all(const char *msg, size_t len, size_t step, size_t out_room, uint64_t max, struct run *r)
{
    memset(r, 0, sizeof *r);
    smtp_data_init(&r->d, max);
    char *copy = malloc(len ? len : 1);
    memcpy(copy, msg, len);
    size_t stuck = 0;
    while (r->rc == 0 && r->used < len && stuck < 4) {
        size_t n = step && len - r->used > step ? step : len - r->used;
        size_t used, made;
        char *piece = malloc(n ? n : 1);    /* exactly n octets, for ASan */
        memcpy(piece, copy + r->used, n);
        size_t room = out_room < sizeof r->out - r->made ? out_room : sizeof r->out - r->made;
        r->rc = smtp_data_feed(&r->d, piece, n, &used, r->out + r->made, room, &made);
        free(piece);
        stuck = used ? 0 : stuck + 1;
        if (used > n || made > used || made > room || r->rc < -1 || r->rc > 1)
            r->rc = 99;
        r->used += used;
        r->made += made;
    }
    free(copy);
}

static int same_run(const struct run *a, const struct run *b)
{
    return a->rc == b->rc && a->used == b->used && a->made == b->made &&
           memcmp(a->out, b->out, a->made) == 0 && a->d.size == b->d.size &&
           a->d.too_big == b->d.too_big && a->d.bare_lf == b->d.bare_lf && a->d.bare_cr == b->d.bare_cr &&
           a->d.long_lines == b->d.long_lines && a->d.lines == b->d.lines &&
           a->d.eight_bit == b->d.eight_bit && a->d.nul == b->d.nul;
}

static struct run whole, piece;

/* msg gives rc after used octets of it, and out; the same in every split. */
static void check_msg(const char *msg, size_t len, int rc, size_t used, const char *out, size_t out_len,
                      const char *what)
{
    feed_all(msg, len, 0, SIZE_MAX, 0, &whole);
    CHECK(whole.rc == rc && whole.used == used, "%s: returns %d after %zu octets (got %d after %zu)",
          what, rc, used, whole.rc, whole.used);
    CHECK(whole.made == out_len && memcmp(whole.out, out, out_len) == 0, "%s: the message as expected", what);
    int all = 1;
    for (size_t k = 1; k <= len && all; k++) {
        /* split once at k */
        struct smtp_data d;
        size_t u1, m1, u2 = 0, m2 = 0;
        char o[8192];
        smtp_data_init(&d, 0);
        int r = smtp_data_feed(&d, msg, k, &u1, o, sizeof o, &m1);
        if (r == 0)
            r = smtp_data_feed(&d, msg + u1, len - u1, &u2, o + m1, sizeof o - m1, &m2);
        if (r != rc || u1 + u2 != used || m1 + m2 != out_len || memcmp(o, out, out_len) != 0) {
            printf("# %s: split at %zu differs\n", what, k);
            all = 0;
        }
    }
    CHECK(all, "%s: split at every position, the same", what);
    feed_all(msg, len, 1, SIZE_MAX, 0, &piece);
    CHECK(same_run(&whole, &piece), "%s: byte by byte, the same", what);
    feed_all(msg, len, 7, 3, 0, &piece);
    CHECK(same_run(&whole, &piece), "%s: 7 in, 3 out at a time, the same", what);
    feed_all(msg, len, 0, 1, 0, &piece);
    CHECK(same_run(&whole, &piece), "%s: one octet of room at a time, the same", what);
}

#define MSG(lit, rc, used, out, what) check_msg(lit, sizeof(lit) - 1, rc, used, out, sizeof(out) - 1, what)

static void test_messages(void)
{
    MSG("Subject: x\r\n\r\nbody\r\n.\r\n", 1, 23, "Subject: x\r\n\r\nbody\r\n", "a plain message");
    MSG(".\r\n", 1, 3, "", "an empty message: the first line is a line start");
    MSG("\r\n.\r\n", 1, 5, "\r\n", "one empty line");
    MSG("a\r\n.\r\nQUIT\r\n", 1, 6, "a\r\n", "pipelined command stays unconsumed");
    MSG("..x\r\n.\r\n", 1, 8, ".x\r\n", "a stuffed dot is dropped");
    MSG(".x\r\n.\r\n", 1, 7, "x\r\n", "a lone leading dot is dropped (RFC 5321 4.5.2)");
    MSG("..\r\n.\r\n", 1, 7, ".\r\n", "\"..\" is a line with a dot, not the end");
    MSG("...\r\n.\r\n", 1, 8, "..\r\n", "\"...\" gives \"..\"");
    MSG(". \r\n.\r\n", 1, 7, " \r\n", "\". \" is not the end");
    MSG("a.\r\n.b\r\n.\r\n", 1, 11, "a.\r\nb\r\n", "a dot inside a line stays");
    MSG("a\r\n..\r\n.\r\n", 1, 10, "a\r\n.\r\n", "a stuffed dot line before the end");
    MSG("a\r\n", 0, 3, "a\r\n", "no end yet");
    MSG("a\r\n.\r", 0, 5, "a\r\n", "the end cut before its LF");
    MSG("a\r\n.", 0, 4, "a\r\n", "the end cut after its dot");
    MSG("", 0, 0, "", "nothing");
    MSG("From: a\r\n\r\n.\r\n\r\n.\r\n", 1, 14, "From: a\r\n\r\n", "the first end wins");
    MSG("x\xc3\xa9\x00y\r\n.\r\n", 1, 10, "x\xc3\xa9\x00y\r\n", "8-bit and NUL pass through");
    CHECK(whole.d.eight_bit && whole.d.nul && whole.d.lines == 1, "...seen and counted");
}

static void test_bare(void)
{
    MSG("a\nb\r\n.\r\n", -1, 1, "a", "bare LF");
    CHECK(whole.d.bare_lf && !whole.d.bare_cr, "...is a bare LF");
    MSG("a\rb\r\n.\r\n", -1, 2, "a\r", "bare CR");
    CHECK(whole.d.bare_cr && !whole.d.bare_lf, "...is a bare CR");
    MSG("\n", -1, 0, "", "LF first");
    MSG("a\r\r\n.\r\n", -1, 2, "a\r", "CR CR LF");
    MSG("a\r\n.\n", -1, 4, "a\r\n", "\".\" then bare LF (smuggling)");
    CHECK(whole.d.bare_lf, "...bare LF");
    MSG("a\n.\r\n", -1, 1, "a", "LF . CRLF (smuggling)");
    MSG("a\r\n.\rX", -1, 5, "a\r\n", "\".\" CR then not LF");
    CHECK(whole.d.bare_cr, "...bare CR");
    MSG("a\r.\r\n", -1, 2, "a\r", "CR . CRLF (smuggling)");
    MSG("a\n.\n", -1, 1, "a", "LF . LF (smuggling)");
    MSG("a\r\n.\r\r\n", -1, 5, "a\r\n", "CRLF . CR CR LF");

    struct smtp_data d;
    size_t used, made;
    char o[16];
    smtp_data_init(&d, 0);
    CHECK(smtp_data_feed(&d, "a\r", 2, &used, o, sizeof o, &made) == 0 && used == 2, "CR at the end: wait");
    CHECK(smtp_data_feed(&d, "x", 1, &used, o, sizeof o, &made) == -1 && used == 0 && d.bare_cr,
          "...then not LF: bare CR");
    CHECK(smtp_data_feed(&d, "\r\n.\r\n", 5, &used, o, sizeof o, &made) == -1 && used == 0 && made == 0,
          "after -1: -1 again, nothing taken");

    smtp_data_init(&d, 0);
    CHECK(smtp_data_feed(&d, ".\r\n", 3, &used, o, sizeof o, &made) == 1, "ended");
    CHECK(smtp_data_feed(&d, "more\r\n", 6, &used, o, sizeof o, &made) == 1 && used == 0 && made == 0,
          "after 1: 1 again, nothing taken");
}

static void test_end_split(void)
{
    static const char end[] = "\r\n.\r\n";
    int all = 1;
    for (size_t k = 0; k <= 5; k++) {
        struct smtp_data d;
        size_t u1, m1, u2, m2;
        char o[16];
        smtp_data_init(&d, 0);
        int r1 = smtp_data_feed(&d, "x", 1, &u1, o, sizeof o, &m1);
        r1 |= smtp_data_feed(&d, end, k, &u1, o + 1, sizeof o - 1, &m1);
        int r2 = smtp_data_feed(&d, end + k, 5 - k, &u2, o + 1 + m1, sizeof o - 1 - m1, &m2);
        if (r1 != (k == 5) || r2 != 1 || u1 + u2 != 5 || m1 + m2 != 2 || memcmp(o, "x\r\n", 3) != 0)
            all = 0;
    }
    CHECK(all, "\"\\r\\n.\\r\\n\" split anywhere across two feeds");
}

static void test_size(void)
{
    static const char msg[] = "abc\r\n.\r\n";
    feed_all(msg, 8, 0, SIZE_MAX, 5, &whole);
    CHECK(whole.rc == 1 && !whole.d.too_big && whole.d.size == 5, "exactly max: fine");
    feed_all(msg, 8, 0, SIZE_MAX, 4, &whole);
    CHECK(whole.rc == 1 && whole.d.too_big && whole.d.size == 4 && whole.made == 4,
          "one past max: too big, read to the end, nothing past max kept");
    feed_all(msg, 8, 1, 1, 4, &piece);
    CHECK(same_run(&whole, &piece), "too big, byte by byte: the same");
    feed_all(msg, 8, 0, SIZE_MAX, 1, &whole);
    CHECK(whole.rc == 1 && whole.d.too_big && whole.made == 1, "max 1");
    feed_all(".\r\n", 3, 0, SIZE_MAX, 1, &whole);
    CHECK(whole.rc == 1 && !whole.d.too_big && whole.d.size == 0, "empty message under any max");
    feed_all("..\r\n.\r\n", 7, 0, SIZE_MAX, 3, &whole);
    CHECK(whole.rc == 1 && !whole.d.too_big && whole.d.size == 3, "stuffing dots do not count");
    feed_all("a\nb", 3, 0, SIZE_MAX, 1, &whole);
    CHECK(whole.rc == -1, "too big does not hide a bare LF");

    struct smtp_data d;
    size_t used, made;
    char o[4];
    smtp_data_init(&d, 0);
    CHECK(smtp_data_feed(&d, "..ab\r\n.\r\n", 9, &used, o, 0, &made) == 0 && used == 1 && made == 0,
          "no room: only the stuffing dot is taken");
    CHECK(smtp_data_feed(&d, "..ab\r\n.\r\n" + 1, 8, &used, o, 2, &made) == 0 && used == 2 && made == 2 &&
          memcmp(o, ".a", 2) == 0, "room for 2: 2 out");
}

static void test_long_lines(void)
{
    static char msg[4096];
    size_t n = 0;
    memset(msg, 'x', 998);
    n = 998;
    memcpy(msg + n, "\r\n", 2);
    n += 2;                                    /* 1000 with CRLF: not long */
    memset(msg + n, 'y', 999);
    n += 999;
    memcpy(msg + n, "\r\n", 2);
    n += 2;                                    /* 1001: long */
    msg[n++] = '.';
    memset(msg + n, '.', 998);
    n += 998;
    memcpy(msg + n, "\r\n", 2);
    n += 2;                                    /* stuffed, 1001 as sent: long */
    memcpy(msg + n, ".\r\n", 3);
    n += 3;
    feed_all(msg, n, 0, SIZE_MAX, 0, &whole);
    CHECK(whole.rc == 1 && whole.d.long_lines == 2 && whole.d.lines == 3, "long lines counted, let through");
    CHECK(whole.made == n - 3 - 1, "...all of them kept");
    feed_all(msg, n, 13, 5, 0, &piece);
    CHECK(same_run(&whole, &piece), "long lines in pieces: the same");
}

/* A message with every kind of line start, fed in each split. */
static void test_tricky(void)
{
    static const char tricky[] =
        "From: <a@b.example>\r\n"
        "Subject: dots\r\n"
        "\r\n"
        "..\r\n"
        "...\r\n"
        ".. .\r\n"
        ".x.\r\n"
        "x.\r\n"
        "\r\n"
        "..\r\n"
        "caf\xc3\xa9 .\r\n"
        ".\r\n"
        "RSET\r\n";
    static const char want[] =
        "From: <a@b.example>\r\n"
        "Subject: dots\r\n"
        "\r\n"
        ".\r\n"
        "..\r\n"
        ". .\r\n"
        "x.\r\n"
        "x.\r\n"
        "\r\n"
        ".\r\n"
        "caf\xc3\xa9 .\r\n";
    check_msg(tricky, sizeof tricky - 1, 1, sizeof tricky - 1 - 6, want, sizeof want - 1, "tricky message");
    CHECK(whole.d.lines == 11 && whole.d.eight_bit, "tricky: 11 lines, 8-bit");
}

int main(void)
{
    test_messages();
    test_bare();
    test_end_split();
    test_size();
    test_long_lines();
    test_tricky();
    return unit_done();
}
