/*
 * The DATA reader (smtp_data.h): a byte-at-a-time state machine, so that
 * any split of the input gives the same message and the same verdict.
 * Pure: no I/O, no allocation.
 */
#include "smtp_data.h"

#include <string.h>

enum state {
    AT_BOL,        /* at a line start: the first line, or after CRLF */
    AT_DOT,        /* a line start, then "." */
    AT_DOT_CR,     /* a line start, then ".", CR: LF ends the message */
    IN_LINE,       /* inside a line */
    AT_CR,         /* inside a line, after CR: LF must follow */
    DONE,          /* "CRLF.CRLF" taken */
    FAILED,        /* a bare CR or LF met */
};

/* What one octet does: the next state, the octet to put out or -1. */
struct step {
    enum state next;
    int out;
};

void smtp_data_init(struct smtp_data *d, uint64_t max)
{
    memset(d, 0, sizeof *d);
    d->state = AT_BOL;
    d->max = max;
}

/* RFC 5321 4.5.2: a leading "." is dropped, whatever follows it; the
 * line "." alone ends the text. */
static struct step next_step(enum state s, unsigned char c)
{
    switch (s) {
    case AT_BOL:
        if (c == '.')
            return (struct step){ AT_DOT, -1 };
        /* fall through */
    case IN_LINE:
        if (c == '\n')
            return (struct step){ FAILED, -1 };
        return (struct step){ c == '\r' ? AT_CR : IN_LINE, c };
    case AT_CR:
        return c == '\n' ? (struct step){ AT_BOL, c } : (struct step){ FAILED, -1 };
    case AT_DOT:
        if (c == '\r')
            return (struct step){ AT_DOT_CR, -1 };
        if (c == '\n')
            return (struct step){ FAILED, -1 };
        return (struct step){ IN_LINE, c };
    case AT_DOT_CR:
        return (struct step){ c == '\n' ? DONE : FAILED, -1 };
    default:
        return (struct step){ s, -1 };
    }
}

/* Which bare octet stopped the reader: a LF where no CR came before it,
 * or a CR not followed by LF. */
static void note_bare(struct smtp_data *d)
{
    if (d->state == AT_CR || d->state == AT_DOT_CR)
        d->bare_cr = 1;
    else
        d->bare_lf = 1;
}

/* Counts the octet just taken against its line. */
static void count_line(struct smtp_data *d, struct step st)
{
    d->line_len++;
    if (st.next != AT_BOL)
        return;
    if (d->line_len > SMTP_TEXT_LINE_MAX)
        d->long_lines++;
    d->lines++;
    d->line_len = 0;
}

int smtp_data_feed(struct smtp_data *d, const char *in, size_t len, size_t *used,
                   char *out, size_t out_room, size_t *made)
{
    size_t i = 0, o = 0;
    while (i < len && d->state != DONE && d->state != FAILED) {
        unsigned char c = (unsigned char)in[i];
        struct step st = next_step((enum state)d->state, c);
        if (st.next == FAILED) {
            note_bare(d);
            d->state = FAILED;
            break;
        }
        int keep = st.out >= 0 && !(d->max && d->size >= d->max);
        if (keep && o == out_room)
            break;
        if (keep) {
            out[o++] = (char)c;
            d->size++;
        } else if (st.out >= 0) {
            d->too_big = 1;
        }
        d->eight_bit |= c >= 0x80;
        d->nul |= c == 0;
        count_line(d, st);
        d->state = st.next;
        i++;
    }
    *used = i;
    *made = o;
    return d->state == DONE ? 1 : d->state == FAILED ? -1 : 0;
}
