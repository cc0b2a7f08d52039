/*
 * POST / forms of pycached's HTTP service: application/x-www-form-urlencoded
 * (WHATWG URL standard, section 5: '+' is a space, %XX a byte) decoded
 * into a struct pyc_request and run.  A form carries text, so its value
 * becomes a JSON string; a JSON string answer goes back as its text.
 */
#include "httpform.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <event2/buffer.h>

#include "commands.h"
#include "http.h"
#include "jsonval.h"

#define TTL_TEXT_MAX 64

/* The decoded fields of a form; each points into one arena. */
struct form {
    struct http_str command, key, value, ttl;
    int has_command, has_key, has_value, has_ttl;
};

static int hex_value(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = tolower(c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* in[0..n) with '+' as space and %XX decoded into out (room for n
 * bytes: decoding never grows).  Returns the decoded length, or -1 for
 * a '%' not followed by two hex digits. */
static long url_decode(const char *in, size_t n, char *out)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (in[i] == '+') {
            out[o++] = ' ';
        } else if (in[i] != '%') {
            out[o++] = in[i];
        } else {
            int hi = i + 2 < n ? hex_value((unsigned char)in[i + 1]) : -1;
            int lo = hi >= 0 ? hex_value((unsigned char)in[i + 2]) : -1;
            if (lo < 0)
                return -1;
            out[o++] = (char)(hi * 16 + lo);
            i += 2;
        }
    }
    return (long)o;
}

/* Stores a decoded field; unknown names are ignored, a repeated one refused. */
static int form_take(struct form *f, const char *name, size_t nname, struct http_str v)
{
    static const char *const names[] = { "command", "key", "value", "ttl" };
    struct http_str *slot[] = { &f->command, &f->key, &f->value, &f->ttl };
    int *has[] = { &f->has_command, &f->has_key, &f->has_value, &f->has_ttl };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (strlen(names[i]) != nname || memcmp(names[i], name, nname) != 0)
            continue;
        if (*has[i])
            return -1;
        *has[i] = 1;
        *slot[i] = v;
    }
    return 0;
}

/* Splits body[0..n) into fields, decoding each name and value into
 * arena (room for n bytes).  -1 and err when malformed. */
static int form_parse(const char *body, size_t n, char *arena, struct form *f, char *err,
                      size_t errlen)
{
    size_t used = 0;
    memset(f, 0, sizeof *f);
    for (size_t i = 0; i < n;) {
        const char *amp = memchr(body + i, '&', n - i);
        size_t end = amp ? (size_t)(amp - body) : n;
        const char *eq = memchr(body + i, '=', end - i);
        size_t name_end = eq ? (size_t)(eq - body) : end;
        char *name = arena + used;
        long nn = url_decode(body + i, name_end - i, name);
        long nv = nn < 0 ? -1 : 0;
        struct http_str v = { arena + used + (nn > 0 ? nn : 0), 0 };
        if (eq && nn >= 0)
            nv = url_decode(eq + 1, end - name_end - 1, (char *)v.p);
        if (nn < 0 || nv < 0) {
            snprintf(err, errlen, "malformed form: a %% not followed by two hex digits");
            return -1;
        }
        v.len = (size_t)nv;
        used += (size_t)nn + (size_t)nv;
        if (end > i && form_take(f, name, (size_t)nn, v) == -1) {
            snprintf(err, errlen, "a field is given twice: %.*s", nn > 32 ? 32 : (int)nn, name);
            return -1;
        }
        i = end + 1;
    }
    return 0;
}

/* The form's ttl into r; an empty field means none. */
static int form_ttl(const struct form *f, struct pyc_request *r, char *err, size_t errlen)
{
    char text[TTL_TEXT_MAX];
    char *end;
    if (!f->has_ttl || f->ttl.len == 0)
        return 0;
    if (f->ttl.len >= sizeof text) {
        snprintf(err, errlen, "ttl is not a number");
        return -1;
    }
    memcpy(text, f->ttl.p, f->ttl.len);
    text[f->ttl.len] = '\0';
    r->ttl = strtod(text, &end);
    /* All of it a number: a decoded %00 must not end it early. */
    if (end != text + f->ttl.len || end == text || !isfinite(r->ttl)) {
        snprintf(err, errlen, "ttl is not a number");
        return -1;
    }
    r->has_ttl = 1;
    return 0;
}

/* The request pyc_run takes; a form carries text, so the value becomes
 * a JSON string, written into json. */
static int form_request(const struct form *f, struct evbuffer *json, struct pyc_request *r,
                        char *err, size_t errlen)
{
    memset(r, 0, sizeof *r);
    if (!f->has_command || f->command.len == 0) {
        snprintf(err, errlen, "missing command");
        return -1;
    }
    r->command = f->command.p;
    r->ncommand = f->command.len;
    r->has_key = f->has_key;
    r->key = f->key.p;
    r->nkey = f->key.len;
    if (f->has_value) {
        json_put_string(json, f->value.p, f->value.len);
        r->has_value = 1;
        r->nvalue = evbuffer_get_length(json);
        r->value = (const char *)evbuffer_pullup(json, -1);
        if (!r->value) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
    }
    return form_ttl(f, r, err, errlen);
}

/* A JSON string value becomes its text (never longer than its literal);
 * any other value stays JSON.  -1 only when out of memory. */
static int value_as_text(struct evbuffer *val)
{
    size_t n = evbuffer_get_length(val), got = 0;
    const char *lit = (const char *)evbuffer_pullup(val, -1);
    if (n == 0 || !lit || lit[0] != '"')
        return 0;
    char *text = malloc(n);
    if (!text)
        return -1;
    if (json_string_decode(lit, n, text, n, &got) == 0) {
        evbuffer_drain(val, n);
        evbuffer_add(val, text, got);
    }
    free(text);
    return 0;
}

/* Decode, run, then make the answer text; see httpform.h. */
int httpform_run(struct pyc_server *srv, const char *body, size_t n, struct evbuffer *val,
                 char *err, size_t errlen)
{
    struct form f;
    struct pyc_request r;
    char *arena = malloc(n + 1);
    struct evbuffer *json = evbuffer_new();
    int rc = -1;
    if (!arena || !json)
        snprintf(err, errlen, "out of memory");
    else if (form_parse(body, n, arena, &f, err, errlen) == 0 &&
             form_request(&f, json, &r, err, errlen) == 0)
        rc = pyc_run(srv, PROTO_HTTP, &r, val, err, errlen);
    if (rc == 1 && value_as_text(val) == -1) {
        snprintf(err, errlen, "out of memory");
        rc = -1;
    }
    free(arena);
    if (json)
        evbuffer_free(json);
    return rc;
}
