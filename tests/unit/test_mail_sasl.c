/*
 * Unit test of servers/mail/sasl.c: base64 on RFC 4648's vectors and
 * every malformed form, the PLAIN message as clients build it and each
 * way it can be wrong, LOGIN steps, and the cancel line.
 */
#include "../../servers/mail/sasl.c"

#include <stdlib.h>

#include "unit.h"

/* Decodes a heap copy of exactly the text (ASan sees reads past it). */
static long dec(const char *s, unsigned char *out, size_t room)
{
    size_t n = strlen(s);
    char *copy = malloc(n ? n : 1);
    memcpy(copy, s, n);
    long r = sasl_b64_decode(copy, n, out, room);
    free(copy);
    return r;
}

static void test_base64(void)
{
    static const char *const vec[][2] = {
        { "", "" }, { "f", "Zg==" }, { "fo", "Zm8=" }, { "foo", "Zm9v" },
        { "foob", "Zm9vYg==" }, { "fooba", "Zm9vYmE=" }, { "foobar", "Zm9vYmFy" },
    };
    for (size_t i = 0; i < sizeof vec / sizeof vec[0]; i++) {
        unsigned char out[16];
        char enc[16];
        size_t n = strlen(vec[i][0]);
        CHECK(dec(vec[i][1], out, sizeof out) == (long)n && memcmp(out, vec[i][0], n) == 0,
              "decode '%s'", vec[i][1]);
        CHECK(sasl_b64_encode((const unsigned char *)vec[i][0], n, enc, sizeof enc) == (long)strlen(vec[i][1]),
              "encode '%s': length", vec[i][0]);
        CHECK_STR(enc, vec[i][1], "encode '%s'", vec[i][0]);
    }

    static const char *const bad[] = {
        "Zg=", "Zg", "Z", "Zm9vY", "Z===", "====", "==", "Zh==", "Zm9=", "Zg==Zg==", "Zm=v",
        "Zm9v\n", " Zm9v", "Zm9v ", "Zm9v*", "Zm9v\r\n", "Zm9-", "Zm9_", "Zg=a", "=Zg=",
        "*",
    };
    unsigned char out[16];
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK(dec(bad[i], out, sizeof out) == -1, "decode refuses malformed text %zu", i);
    CHECK(dec("=", out, sizeof out) == 0, "\"=\" alone: empty (RFC 4954)");
    CHECK(dec("+/+/", out, sizeof out) == 3 && out[0] == 0xfb && out[1] == 0xff && out[2] == 0xbf, "+ and /");

    CHECK(dec("Zm9vYmFy", out, 6) == 6, "room exactly");
    CHECK(dec("Zm9vYmFy", out, 5) == -1, "room one short");
    CHECK(dec("Zm9vYg==", out, 4) == 4, "padded: room exactly");
    CHECK(dec("Zm9vYg==", out, 3) == -1, "padded: room one short");
    CHECK(dec("", out, 0) == 0, "empty in no room");

    char enc[16];
    CHECK(sasl_b64_encode((const unsigned char *)"foo", 3, enc, 5) == 4, "encode: room exactly");
    CHECK(sasl_b64_encode((const unsigned char *)"foo", 3, enc, 4) == -1, "encode: no room for the NUL");
    CHECK(sasl_b64_encode((const unsigned char *)"f", 1, enc, 4) == -1, "encode: padding needs room too");
    CHECK(sasl_b64_encode((const unsigned char *)"", 0, enc, 1) == 0 && enc[0] == '\0', "encode nothing");
    CHECK(sasl_b64_encode((const unsigned char *)"", 0, enc, 0) == -1, "encode into no room");

    /* every byte value, every length up to 64, both ways */
    unsigned char raw[64], back[64];
    char text[100];
    for (size_t i = 0; i < sizeof raw; i++)
        raw[i] = (unsigned char)(i * 37 + 11);
    int all = 1;
    for (size_t n = 0; n <= sizeof raw; n++) {
        long e = sasl_b64_encode(raw, n, text, sizeof text);
        long d = e < 0 ? -1 : sasl_b64_decode(text, (size_t)e, back, sizeof back);
        if (e != (long)(4 * ((n + 2) / 3)) || d != (long)n || memcmp(raw, back, n) != 0)
            all = 0;
    }
    CHECK(all, "encode then decode: the same, every length to 64");
    CHECK_STR(SASL_LOGIN_USER_PROMPT, "VXNlcm5hbWU6", "LOGIN user prompt");
    CHECK(dec(SASL_LOGIN_USER_PROMPT, out, sizeof out) == 9 && memcmp(out, "Username:", 9) == 0,
          "...is Username:");
    CHECK(dec(SASL_LOGIN_PASS_PROMPT, out, sizeof out) == 9 && memcmp(out, "Password:", 9) == 0,
          "...Password:");
}

static char zid[256], user[256], pass[256];

static int plain_raw(const char *msg, size_t n)
{
    char b64[2048];
    long e = sasl_b64_encode((const unsigned char *)msg, n, b64, sizeof b64);
    if (e < 0)
        return -2;
    char *copy = malloc((size_t)e ? (size_t)e : 1);
    memcpy(copy, b64, (size_t)e);
    int r = sasl_plain_decode(copy, (size_t)e, zid, sizeof zid, user, sizeof user, pass, sizeof pass);
    free(copy);
    return r;
}

#define PLAIN(lit) plain_raw(lit, sizeof(lit) - 1)

static void test_plain(void)
{
    /* Thunderbird, smtplib, swaks: no authzid */
    const char *tb = "AGJvYgBzZWNyZXQ=";
    CHECK(sasl_plain_decode(tb, strlen(tb), zid, sizeof zid, user, sizeof user, pass, sizeof pass) == 0,
          "\\0bob\\0secret");
    CHECK(zid[0] == '\0', "...no authzid");
    CHECK_STR(user, "bob", "...user");
    CHECK_STR(pass, "secret", "...password");
    CHECK(PLAIN("admin\0bob\0pw") == 0, "with an authzid");
    CHECK_STR(zid, "admin", "...authzid");
    CHECK_STR(user, "bob", "...user");
    CHECK(PLAIN("\0bob\0pass with spaces") == 0, "a password with spaces");
    CHECK_STR(pass, "pass with spaces", "...kept");
    CHECK(PLAIN("\0b\xc3\xb6" "b\0p\xc3\xa4ss") == 0, "UTF-8 user and password");

    CHECK(PLAIN("bob\0secret") == -1, "one NUL: -1");
    CHECK(PLAIN("bobsecret") == -1, "no NUL: -1");
    CHECK(PLAIN("\0bob\0sec\0ret") == -1, "three NULs: -1");
    CHECK(PLAIN("\0\0secret") == -1, "empty user: -1");
    CHECK(PLAIN("\0bob\0") == -1, "empty password: -1");
    CHECK(PLAIN("\0\0") == -1, "all empty: -1");
    CHECK(PLAIN("") == -1, "nothing: -1");
    CHECK(sasl_plain_decode("=", 1, zid, sizeof zid, user, sizeof user, pass, sizeof pass) == -1,
          "\"=\" (empty response): -1");
    CHECK(sasl_plain_decode("AGJvYgBzZWNyZXQ", 15, zid, sizeof zid, user, sizeof user, pass, sizeof pass) == -1,
          "bad base64: -1");
    CHECK(sasl_plain_decode("*", 1, zid, sizeof zid, user, sizeof user, pass, sizeof pass) == -1, "\"*\": -1");

    char msg[3 * 256 + 2];
    memset(msg, 'u', sizeof msg);
    msg[0] = '\0';
    msg[256] = '\0';
    CHECK(plain_raw(msg, 256 + 1 + 255) == 0 && strlen(user) == 255 && strlen(pass) == 255,
          "user and password of 255 octets");
    msg[256] = 'u';
    msg[257] = '\0';
    CHECK(plain_raw(msg, 257 + 1 + 10) == -1, "user of 256 octets: -1");
    memset(msg, 'z', sizeof msg);
    msg[255] = '\0';
    msg[257] = '\0';
    CHECK(plain_raw(msg, 255 + 1 + 1 + 1 + 255) == 0 && strlen(zid) == 255, "all three at 255: the longest");
    CHECK(plain_raw(msg, 255 + 1 + 1 + 1 + 256) == -1, "password of 256: -1");

    char small[4];
    CHECK(sasl_plain_decode(tb, strlen(tb), zid, sizeof zid, small, 4, pass, sizeof pass) == 0, "user fits 4");
    CHECK(sasl_plain_decode(tb, strlen(tb), zid, sizeof zid, small, 3, pass, sizeof pass) == -1,
          "user does not fit 3");
    CHECK(sasl_plain_decode(tb, strlen(tb), zid, sizeof zid, user, sizeof user, small, 4) == -1,
          "password does not fit 4");
    CHECK(sasl_plain_decode(tb, strlen(tb), zid, 0, user, sizeof user, pass, sizeof pass) == -1,
          "authzid with no room at all");
}

static void test_login(void)
{
    char out[16];
    CHECK(sasl_login_decode("dXNlcg==", 8, out, sizeof out) == 0, "LOGIN user");
    CHECK_STR(out, "user", "...decoded");
    CHECK(sasl_login_decode("", 0, out, sizeof out) == 0 && out[0] == '\0', "empty line: empty");
    CHECK(sasl_login_decode("=", 1, out, sizeof out) == 0 && out[0] == '\0', "\"=\": empty");
    CHECK(sasl_login_decode("dQB4", 4, out, sizeof out) == -1, "NUL inside: -1");
    CHECK(sasl_login_decode("dXNlcg", 6, out, sizeof out) == -1, "bad base64: -1");
    CHECK(sasl_login_decode("dXNlcg==", 8, out, 5) == 0, "room exactly");
    CHECK(sasl_login_decode("dXNlcg==", 8, out, 4) == -1, "room one short");
    CHECK(sasl_login_decode("", 0, out, 0) == -1, "no room at all");

    CHECK(sasl_is_cancel("*", 1), "\"*\" cancels");
    CHECK(!sasl_is_cancel("**", 2), "\"**\" does not");
    CHECK(!sasl_is_cancel("", 0), "an empty line does not");
    CHECK(!sasl_is_cancel("* ", 2), "\"* \" does not");
}

int main(void)
{
    test_base64();
    test_plain();
    test_login();
    return unit_done();
}
