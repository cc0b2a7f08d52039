/*
 * The message text after DATA (RFC 5321 4.1.1.4, 4.5.2), with no I/O:
 * an incremental reader that takes the bytes as they come, in any split,
 * undoes the dot-stuffing and stops at the "CRLF . CRLF" that ends it.
 *
 * A LF not after CR or a CR not before LF stops the reader with an
 * error, whatever the line: servers that take one of them as a line end
 * where the next hop does not let a client smuggle a second message
 * past the first one's end (CVE-2023-51764 and kin).  The server answers
 * 554 5.6.0 or 550 5.6.0 and closes.
 */
#ifndef GALE_MAIL_SMTP_DATA_H
#define GALE_MAIL_SMTP_DATA_H

#include <stddef.h>
#include <stdint.h>

#define SMTP_TEXT_LINE_MAX 1000  /* a text line with its CRLF (RFC 5321 4.5.3.1.6) */

struct smtp_data {              /* incremental, any split of the input */
    int state;                  /* private */
    uint64_t size, max;         /* bytes of message kept so far; the limit (0: none) */
    int too_big;                /* passed max: the rest is read and dropped, the reply is 552 */
    int bare_lf, bare_cr;       /* seen: a LF not after CR, a CR not before LF */
    uint64_t long_lines;        /* lines over SMTP_TEXT_LINE_MAX octets, let through */
    uint64_t lines;             /* lines of the message, its last CRLF included */
    int eight_bit;              /* an octet >= 0x80 (against BODY=7BIT) */
    int nul;                    /* a NUL octet */
    uint64_t line_len;          /* private: octets of the current line as sent */
};

void smtp_data_init(struct smtp_data *d, uint64_t max);

/* Feeds in[0..len): unstuffed message bytes go to out (room out_room; lines end in CRLF),
 * *used and *made set.  Returns 1 once the ending "CRLF.CRLF" has been consumed (the bytes
 * after it stay unconsumed: pipelined commands), 0 when more input is needed, -1 on a bare
 * LF or bare CR: the reader stops at the first one, which stays unconsumed.
 * Every octet taken gives at most one octet of output (made <= used), so
 * with out_room >= len all of in is taken; when out fills first, 0 comes
 * back with *used < len: drain out and feed the rest.  Once it has returned
 * 1 or -1, the reader returns the same again without taking anything.
 * Past max, nothing more goes to out. */
int smtp_data_feed(struct smtp_data *d, const char *in, size_t len, size_t *used,
                   char *out, size_t out_room, size_t *made);

#endif
