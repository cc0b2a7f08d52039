/*
 * Dot-stuffing and line ends for POP3's RETR and TOP (pop3_stuff.h).
 * Pure: the state carries a line across the chunks the file is read in.
 */
#include "pop3_stuff.h"

#include <string.h>

void pop3_stuff_init(struct pop3_stuff *st, long body_lines)
{
    memset(st, 0, sizeof *st);
    st->body_left = body_lines;
}

/* A line has ended: count it against TOP's limit. */
static void end_line(struct pop3_stuff *st, int empty)
{
    if (st->in_body) {
        if (st->body_left > 0)
            st->body_left--;
    } else if (empty) {
        st->in_body = 1;
    }
    if (st->in_body && st->body_left == 0)
        st->done = 1;
    st->line_len = 0;
}

size_t pop3_stuff_feed(struct pop3_stuff *st, const char *in, size_t n, char *out,
                       size_t *used)
{
    size_t o = 0, i = 0;
    for (; i < n && !st->done; i++) {
        char c = in[i];
        if (c == '\n') {
            /* "\r\n" or "\n" alone: the line held nothing else */
            int empty = st->line_len == 0 || (st->line_len == 1 && st->cr);
            if (!st->cr)
                out[o++] = '\r';
            out[o++] = '\n';
            st->cr = 0;
            end_line(st, empty);
            continue;
        }
        if (st->line_len == 0 && c == '.')
            out[o++] = '.';
        out[o++] = c;
        st->cr = c == '\r';
        st->line_len++;
    }
    *used = i;
    return o;
}

size_t pop3_stuff_end(const struct pop3_stuff *st, char *out)
{
    size_t o = 0;
    if (st->line_len > 0 && !st->done) {
        if (!st->cr)
            out[o++] = '\r';
        out[o++] = '\n';
    }
    memcpy(out + o, ".\r\n", 3);
    return o + 3;
}
