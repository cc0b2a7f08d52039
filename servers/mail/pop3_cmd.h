/*
 * POP3 command lines, with no I/O: one line in (its CRLF taken off), the
 * keyword and its arguments out, or an error for "-ERR".
 *
 *   POP3:        RFC 1939 (commands, 3 for the line syntax)
 *   CAPA, limits: RFC 2449 (4: 255 octets a command line)
 *   AUTH:        RFC 5034          STLS:   RFC 2595
 *
 * Keywords in any case; message numbers decimal, 1 to 2^31-1.
 */
#ifndef GALE_MAIL_POP3_CMD_H
#define GALE_MAIL_POP3_CMD_H

#include <stddef.h>

enum pop3_verb { POP3_UNKNOWN, POP3_USER, POP3_PASS, POP3_STAT, POP3_LIST, POP3_RETR, POP3_DELE,
                 POP3_NOOP, POP3_RSET, POP3_QUIT, POP3_TOP, POP3_UIDL, POP3_CAPA, POP3_STLS, POP3_AUTH, POP3_APOP };

#define POP3_LINE_MAX 255        /* RFC 2449: 255 octets with CRLF; AUTH responses may be longer: allow a separate AUTH continuation limit */
#define POP3_CMD_MAX (POP3_LINE_MAX - 2)  /* the longest line pop3_cmd_parse takes */
/* A client's answer to a SASL challenge is no command line: taken up to
 * this, as RFC 4954 has SMTP servers do. */
#define POP3_AUTH_LINE_MAX 12288
#define POP3_MSG_MAX 2147483647UL /* the highest message number */
#define POP3_MECH_MAX 20          /* a SASL mechanism name (RFC 4422 3.1) */
#define POP3_DIGEST_LEN 32        /* APOP: MD5 in lowercase hex */

struct pop3_cmd {
    enum pop3_verb verb;
    const char *arg; size_t arg_len;     /* raw argument text (USER name, PASS secret may contain spaces) */
    int has_n, has_m; unsigned long n, m; /* message number(s) for LIST/RETR/DELE/TOP/UIDL */
    /* AUTH: the mechanism uppercased ("" for a bare AUTH, which lists
     * them), and the initial response as sent ("=": empty) or NULL.
     * APOP: the name in arg/arg_len, the digest lowercased in digest. */
    char mech[POP3_MECH_MAX + 1];
    const char *initial; size_t initial_len;
    char digest[POP3_DIGEST_LEN + 1];
};

/* Parses one line (without its CRLF; len <= POP3_CMD_MAX).  Returns 0,
 * or -1 with a short reason in err for "-ERR ...".  PASS keeps its
 * argument whole, spaces and all (RFC 1939 7); the others lose trailing
 * blanks. */
int pop3_cmd_parse(const char *line, size_t len, struct pop3_cmd *cmd, char *err, size_t errlen);  /* 0 or -1 ("-ERR ...") */

/* "USER", "RETR", ...; "UNKNOWN". */
const char *pop3_verb_name(enum pop3_verb v);

#endif
