/*
 * SASL messages for SMTP AUTH (RFC 4954) and POP3 AUTH (RFC 5034), with
 * no I/O: base64 (RFC 4648 4), the PLAIN message (RFC 4616) and the
 * steps of LOGIN (draft-murchison-sasl-login).
 *
 * A client's response "=" is an empty one, "*" cancels the exchange
 * (RFC 4954 4).  Decoded strings never hold a NUL.
 */
#ifndef GALE_MAIL_SASL_H
#define GALE_MAIL_SASL_H

#include <stddef.h>

#define SASL_PLAIN_FIELD_MAX 255    /* authzid, authcid, passwd (RFC 4616 2) */
/* The longest PLAIN response: three fields and two NULs, in base64. */
#define SASL_PLAIN_B64_MAX (((3 * SASL_PLAIN_FIELD_MAX + 2 + 2) / 3) * 4)
/* LOGIN's challenges, "Username:" and "Password:" in base64. */
#define SASL_LOGIN_USER_PROMPT "VXNlcm5hbWU6"
#define SASL_LOGIN_PASS_PROMPT "UGFzc3dvcmQ6"

/* Decodes base64 with its padding ("=" alone: nothing); no spaces or
 * line breaks.  Writes at most room octets.  Returns the length, or -1
 * when the text is not base64 or its octets do not fit. */
long sasl_b64_decode(const char *in, size_t len, unsigned char *out, size_t room);

/* Encodes len octets with padding and a NUL.  Returns the length, or -1
 * when out (room) is too small: it needs 4 * ((len + 2) / 3) + 1. */
long sasl_b64_encode(const unsigned char *in, size_t len, char *out, size_t room);

/* The PLAIN response "authzid NUL authcid NUL passwd" in base64, into
 * three NUL-terminated strings (authzid may be empty, the others may
 * not).  Returns 0, or -1 when it is malformed or a field does not fit. */
int sasl_plain_decode(const char *b64, size_t len, char *authzid, size_t authzid_room,
                      char *user, size_t user_room, char *pass, size_t pass_room);

/* One LOGIN step, the user name or the password, in base64, into a
 * NUL-terminated string (which may be empty).  0, or -1 as above. */
int sasl_login_decode(const char *b64, size_t len, char *out, size_t room);

/* The client gave up: its response was "*". */
int sasl_is_cancel(const char *line, size_t len);

#endif
