/*
 * Unit test of servers/mail/pop3_stuff.c: dot-stuffing, CRLF line ends
 * (bare LF gains its CR, bare CR stays), the end of the reply, TOP's
 * count of body lines, and all of it with the message cut into chunks
 * at every byte.
 */
#include "../../servers/mail/pop3_stuff.c"

#include <stdlib.h>

#include "unit.h"

static char got[4096];

/* The whole reply body for msg, fed in pieces of chunk bytes (each a
 * heap copy, so that ASan sees a read past it). */
static const char *stuff(const char *msg, long lines, size_t chunk)
{
    struct pop3_stuff st;
    size_t n = strlen(msg), at = 0, o = 0;
    pop3_stuff_init(&st, lines);
    while (at < n && !st.done) {
        size_t take = n - at < chunk ? n - at : chunk, used;
        char *copy = malloc(take);
        memcpy(copy, msg + at, take);
        o += pop3_stuff_feed(&st, copy, take, got + o, &used);
        free(copy);
        at += used;
        if (used < take && !st.done)
            return "(stopped early)";
    }
    o += pop3_stuff_end(&st, got + o);
    got[o] = '\0';
    return got;
}

static void check_all_chunks(const char *msg, long lines, const char *want, const char *what)
{
    for (size_t chunk = 1; chunk <= strlen(msg) + 1; chunk++)
        if (strcmp(stuff(msg, lines, chunk), want) != 0) {
            CHECK_STR(got, want, "%s (chunks of %zu)", what, chunk);
            return;
        }
    CHECK(1, "%s, in chunks of every size", what);
}

static void test_retr(void)
{
    check_all_chunks("Subject: a\r\n\r\nbody\r\n", -1, "Subject: a\r\n\r\nbody\r\n.\r\n",
                     "a plain message");
    check_all_chunks("S: a\r\n\r\n.\r\n..x\r\n.y\r\nz.\r\n", -1,
                     "S: a\r\n\r\n..\r\n...x\r\n..y\r\nz.\r\n.\r\n", "lines starting with a dot");
    check_all_chunks(".first\r\n", -1, "..first\r\n.\r\n", "a dot as the first byte");
    check_all_chunks("a\nb\n\nc\n", -1, "a\r\nb\r\n\r\nc\r\n.\r\n", "bare LF gains a CR");
    check_all_chunks("a\rb\r\n", -1, "a\rb\r\n.\r\n", "bare CR stays");
    check_all_chunks("no end", -1, "no end\r\n.\r\n", "a last line without CRLF gets one");
    check_all_chunks("ends in CR\r", -1, "ends in CR\r\n.\r\n", "a last CR gets its LF");
    check_all_chunks("", -1, ".\r\n", "an empty message");
    check_all_chunks(".", -1, "..\r\n.\r\n", "a lone dot");
}

static void test_top(void)
{
    const char *m = "A: 1\r\nB: 2\r\n\r\nl1\r\n.l2\r\nl3\r\n";
    check_all_chunks(m, 0, "A: 1\r\nB: 2\r\n\r\n.\r\n", "TOP 0: the headers and the blank line");
    check_all_chunks(m, 1, "A: 1\r\nB: 2\r\n\r\nl1\r\n.\r\n", "TOP 1");
    check_all_chunks(m, 2, "A: 1\r\nB: 2\r\n\r\nl1\r\n..l2\r\n.\r\n", "TOP 2, stuffed");
    check_all_chunks(m, 99, "A: 1\r\nB: 2\r\n\r\nl1\r\n..l2\r\nl3\r\n.\r\n", "TOP past the end");
    check_all_chunks("A: 1\r\nB: 2", 0, "A: 1\r\nB: 2\r\n.\r\n", "no body at all");
    check_all_chunks("A: 1\n\nb1\nb2\n", 1, "A: 1\r\n\r\nb1\r\n.\r\n", "TOP over bare LFs");
    check_all_chunks("A: 1\r\n\r\n\r\n\r\nx\r\n", 2, "A: 1\r\n\r\n\r\n\r\n.\r\n",
                     "empty body lines count");
}

static void test_worst_case(void)
{
    /* ".\n" is the most growth: 2 bytes become 4 */
    char in[64], out[128];
    for (size_t i = 0; i < sizeof in; i += 2)
        memcpy(in + i, ".\n", 2);
    struct pop3_stuff st;
    size_t used;
    pop3_stuff_init(&st, -1);
    size_t o = pop3_stuff_feed(&st, in, sizeof in, out, &used);
    CHECK(o == 2 * sizeof in && used == sizeof in, "\".\\n\" doubles, no more (%zu)", o);
}

int main(void)
{
    test_retr();
    test_top();
    test_worst_case();
    return unit_done();
}
