/*
 * SMTP command lines, with no I/O: one line in (its CRLF already taken
 * off), the verb, its argument and for MAIL and RCPT the address and the
 * ESMTP parameters out, or the error the server answers with.
 *
 *   SMTP:        RFC 5321 (4.1 commands, 4.1.2 syntax, 4.5.3.1 limits)
 *   SIZE:        RFC 1870          8BITMIME:  RFC 6152
 *   SMTPUTF8:    RFC 6531          AUTH:      RFC 4954
 *   CHUNKING:    RFC 3030 (BDAT)   STARTTLS:  RFC 3207
 *
 * Strict where hostile input could hurt (control characters, lengths,
 * address syntax), liberal where real clients differ from the grammar:
 * verbs and parameters in any case, "MAIL FROM: <a@b>" with spaces after
 * the colon, an unbracketed path without spaces, trailing blanks.
 */
#ifndef GALE_MAIL_SMTP_CMD_H
#define GALE_MAIL_SMTP_CMD_H

#include <stddef.h>
#include <stdint.h>

enum smtp_verb { SMTP_UNKNOWN, SMTP_HELO, SMTP_EHLO, SMTP_MAIL, SMTP_RCPT, SMTP_DATA, SMTP_RSET,
                 SMTP_NOOP, SMTP_QUIT, SMTP_VRFY, SMTP_EXPN, SMTP_HELP, SMTP_STARTTLS, SMTP_AUTH, SMTP_BDAT };

#define SMTP_LINE_MAX 512        /* a command line with its CRLF (RFC 5321 4.5.3.1.4) */
#define SMTP_CMD_MAX (SMTP_LINE_MAX - 2)  /* the longest line smtp_cmd_parse takes */
#define SMTP_PATH_MAX 256        /* reverse- or forward-path (4.5.3.1.3) */
#define SMTP_LOCAL_MAX 64
#define SMTP_DOMAIN_MAX 255
#define SMTP_MECH_MAX 20         /* a SASL mechanism name (RFC 4422 3.1) */
/* A client's answer to a SASL challenge is not a command line: RFC 4954
 * section 4 has servers take at least this much. */
#define SMTP_AUTH_LINE_MAX 12288
/* smtp_addr_format's output: a local part quoted with every octet
 * escaped, "@", the domain and the NUL. */
#define SMTP_ADDR_TEXT_MAX (2 * SMTP_LOCAL_MAX + 2 + 1 + SMTP_DOMAIN_MAX + 1)

enum smtp_error {
    SMTP_E_SYNTAX = -1,    /* 500 5.5.2: unknown verb, control characters, line too long */
    SMTP_E_ARGS = -2,      /* 501 5.5.4: arguments missing, extra or malformed */
    SMTP_E_PARAM = -3,     /* 555 5.5.4: a MAIL or RCPT parameter we do not know */
    SMTP_E_PATH = -4,      /* 553 5.1.3: an address we cannot take */
};

struct smtp_addr {              /* a mailbox split for the server's rules */
    char local[SMTP_LOCAL_MAX * 2 + 3];  /* as received, dequoted: "john.doe", "a b" from "\"a b\"" */
    char domain[SMTP_DOMAIN_MAX + 1];    /* lowercased; an address literal kept as "[1.2.3.4]" */
    int quoted;                 /* the local part was a quoted-string */
    int null;                   /* "<>" (MAIL only) */
    int had_route;              /* a source route "@a,@b:" was given and dropped (RFC 5321 4.1.1.3, C.) */
    int utf8;                   /* the address holds non-ASCII (only with SMTPUTF8) */
    int literal;                /* the domain is an address literal */
};

struct smtp_cmd {
    enum smtp_verb verb;
    const char *arg;            /* points into the caller's line: the text after the verb and one space, trimmed of trailing blanks; "" when none */
    size_t arg_len;
    struct smtp_addr addr;      /* MAIL, RCPT */
    uint64_t size;              /* MAIL SIZE= (0: not given) */
    int has_size;
    int body_8bit;              /* BODY=8BITMIME */
    int smtputf8;               /* SMTPUTF8 parameter */
    int auth_param;             /* AUTH= param on MAIL (accepted, ignored) */
    /* HELO, EHLO: the name, lowercased, in addr.domain; helo_valid says
     * whether it is an RFC 5321 domain or address literal (clients send
     * Windows host names with "_" too: policy may insist or not). */
    int helo_valid;
    uint64_t chunk_size;        /* BDAT: the chunk's octets */
    int last;                   /* BDAT ... LAST */
    char mech[SMTP_MECH_MAX + 1];   /* AUTH: the mechanism, uppercased */
    const char *initial;        /* AUTH: the initial response as sent ("=": empty), or NULL */
    size_t initial_len;
};

/* Parses one command line (without its CRLF; len < SMTP_LINE_MAX).  Returns 0, or a
 * negative error: SMTP_E_SYNTAX (500 5.5.2), SMTP_E_ARGS (501 5.5.4), SMTP_E_PARAM (555 5.5.4 unknown MAIL/RCPT parameter),
 * SMTP_E_PATH (553 5.1.3 bad address).  err gets a short human reason.
 * A RCPT address with non-ASCII is refused: see smtp_cmd_parse_txn. */
int smtp_cmd_parse(const char *line, size_t len, struct smtp_cmd *cmd, char *err, size_t errlen);

/* As smtp_cmd_parse, inside a transaction whose MAIL carried SMTPUTF8
 * (utf8_txn != 0): a RCPT may then name a UTF-8 address. */
int smtp_cmd_parse_txn(const char *line, size_t len, int utf8_txn, struct smtp_cmd *cmd,
                       char *err, size_t errlen);

/* "500 5.5.2" and so on for an enum smtp_error; "451 4.3.0" for anything else. */
const char *smtp_error_code(int err);

/* "MAIL", "RCPT", ... ; "UNKNOWN". */
const char *smtp_verb_name(enum smtp_verb v);

/* Writes the address as local@domain, the local part quoted again when it
 * is not a dot-string; "" for the null path, "Postmaster" alone for a bare
 * postmaster.  Returns the length, or -1 when it does not fit in room. */
int smtp_addr_format(const struct smtp_addr *a, char *out, size_t room);

#endif
