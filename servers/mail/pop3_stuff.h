/*
 * A stored message on its way out of POP3's RETR and TOP (RFC 1939 3),
 * with no I/O: lines starting with "." get another ".", every line ends
 * in CRLF (a bare LF of a file put into the Maildir by hand gains its
 * CR), and the multi-line reply ends with ".".  For TOP the copy stops
 * after the headers, the blank line and the number of body lines asked.
 */
#ifndef GALE_MAIL_POP3_STUFF_H
#define GALE_MAIL_POP3_STUFF_H

#include <stddef.h>

struct pop3_stuff {
    long body_left;          /* TOP: body lines still to send; -1: all of them */
    size_t line_len;         /* bytes of the current line so far */
    unsigned char cr;        /* the last byte was a CR */
    unsigned char in_body;   /* the blank line after the headers has gone */
    unsigned char done;      /* TOP has sent what it was asked for */
};

/* body_lines: TOP's count, or -1 for the whole message (RETR). */
void pop3_stuff_init(struct pop3_stuff *st, long body_lines);

/* Copies n bytes of the message into out, which has room for 2 * n: the
 * most stuffing and added CRs can make of them.  Returns the bytes
 * written; *used says how many of in were taken (fewer than n only once
 * done is set). */
size_t pop3_stuff_feed(struct pop3_stuff *st, const char *in, size_t n, char *out,
                       size_t *used);

/* The end of the reply: a CRLF when the message's last line had none,
 * then ".\r\n".  out has room for POP3_STUFF_END_MAX bytes.  Returns the
 * bytes written. */
#define POP3_STUFF_END_MAX 5
size_t pop3_stuff_end(const struct pop3_stuff *st, char *out);

#endif
