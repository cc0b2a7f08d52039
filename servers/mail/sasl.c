/*
 * SASL messages (sasl.h).  Base64 is strict: padding required, no
 * whitespace, and the bits a final "=" leaves over must be zero, so each
 * octet string has exactly one encoding.  Pure: no I/O, no allocation.
 */
#include "sasl.h"

#include <string.h>

static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* The 6-bit value of an alphabet character, -1 for anything else. */
static int b64_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    return c == '+' ? 62 : c == '/' ? 63 : -1;
}

/* One group of four characters, the last one perhaps padded, into up to
 * three octets.  Returns how many, or -1. */
static int decode_quad(const char *q, int last, unsigned char *out)
{
    int v[4], pad = 0;
    for (int i = 0; i < 4; i++) {
        v[i] = b64_value((unsigned char)q[i]);
        if (v[i] < 0) {
            /* "=" only at the end of the last group, and only in 3 and 4. */
            if (q[i] != '=' || !last || i < 2 || (i == 2 && q[3] != '='))
                return -1;
            v[i] = 0;
            pad++;
        }
    }
    if ((pad == 1 && (v[2] & 0x3)) || (pad == 2 && (v[1] & 0xf)))
        return -1;
    unsigned long bits = (unsigned long)v[0] << 18 | (unsigned long)v[1] << 12 |
                         (unsigned long)v[2] << 6 | (unsigned long)v[3];
    out[0] = (unsigned char)(bits >> 16);
    out[1] = (unsigned char)(bits >> 8);
    out[2] = (unsigned char)bits;
    return 3 - pad;
}

long sasl_b64_decode(const char *in, size_t len, unsigned char *out, size_t room)
{
    if (len == 1 && in[0] == '=')
        return 0;
    if (len % 4)
        return -1;
    size_t o = 0;
    for (size_t i = 0; i < len; i += 4) {
        unsigned char tmp[3];
        int n = decode_quad(in + i, i + 4 == len, tmp);
        if (n < 0 || room - o < (size_t)n)
            return -1;
        memcpy(out + o, tmp, (size_t)n);
        o += (size_t)n;
    }
    return (long)o;
}

long sasl_b64_encode(const unsigned char *in, size_t len, char *out, size_t room)
{
    if (room == 0 || len > (room - 1) / 4 * 3)
        return -1;
    size_t o = 0;
    for (size_t i = 0; i < len; i += 3) {
        size_t n = len - i < 3 ? len - i : 3;
        unsigned long bits = (unsigned long)in[i] << 16 |
                             (n > 1 ? (unsigned long)in[i + 1] << 8 : 0) | (n > 2 ? in[i + 2] : 0);
        out[o++] = b64_alphabet[bits >> 18 & 63];
        out[o++] = b64_alphabet[bits >> 12 & 63];
        out[o++] = n > 1 ? b64_alphabet[bits >> 6 & 63] : '=';
        out[o++] = n > 2 ? b64_alphabet[bits & 63] : '=';
    }
    out[o] = '\0';
    return (long)o;
}

/* Copies a field that must fit with its NUL in room. */
static int put_field(const unsigned char *p, size_t n, char *out, size_t room)
{
    if (n > SASL_PLAIN_FIELD_MAX || n >= room)
        return -1;
    memcpy(out, p, n);
    out[n] = '\0';
    return 0;
}

int sasl_plain_decode(const char *b64, size_t len, char *authzid, size_t authzid_room,
                      char *user, size_t user_room, char *pass, size_t pass_room)
{
    unsigned char msg[3 * SASL_PLAIN_FIELD_MAX + 2];
    if (len > SASL_PLAIN_B64_MAX)
        return -1;
    long n = sasl_b64_decode(b64, len, msg, sizeof msg);
    if (n < 0)
        return -1;
    const unsigned char *end = msg + n;
    const unsigned char *nul1 = memchr(msg, '\0', (size_t)n);
    if (!nul1)
        return -1;
    const unsigned char *nul2 = memchr(nul1 + 1, '\0', (size_t)(end - nul1 - 1));
    if (!nul2 || memchr(nul2 + 1, '\0', (size_t)(end - nul2 - 1)))
        return -1;
    size_t zn = (size_t)(nul1 - msg), un = (size_t)(nul2 - nul1 - 1), pn = (size_t)(end - nul2 - 1);
    if (un == 0 || pn == 0)
        return -1;
    if (put_field(msg, zn, authzid, authzid_room) < 0 || put_field(nul1 + 1, un, user, user_room) < 0 ||
        put_field(nul2 + 1, pn, pass, pass_room) < 0)
        return -1;
    return 0;
}

int sasl_login_decode(const char *b64, size_t len, char *out, size_t room)
{
    if (room == 0)
        return -1;
    long n = sasl_b64_decode(b64, len, (unsigned char *)out, room - 1);
    if (n < 0 || memchr(out, '\0', (size_t)n))
        return -1;
    out[n] = '\0';
    return 0;
}

int sasl_is_cancel(const char *line, size_t len)
{
    return len == 1 && line[0] == '*';
}
