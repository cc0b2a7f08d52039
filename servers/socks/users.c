/*
 * Proxy users; see users.h.  The table is built at startup and never
 * changes afterwards, so the helper thread reads it without a lock.
 */
#include "users.h"

#include <crypt.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "opt.h"
#include "worker.h"

#define FIELD_MAX 255               /* RFC 1929: one length byte each */
#define LINE_MAX_BYTES 4096

struct socks_user {
    char *name;
    char *secret;                   /* a password, or a crypt(3) hash */
    int hashed;
};

/* The helper thread reads the table while a check runs; a reload builds
 * a new one and swaps it in only when no check is running. */
struct users_check {
    const struct socks_users *table;
    char user[FIELD_MAX + 1];
    char pass[FIELD_MAX + 1];
    users_verify_cb cb;
    void *arg;
    int ok;
    int cancelled;
};

int users_configured(const struct socks_users *t) { return t->n > 0; }

/* "name:secret" into t; -1 and why when malformed. */
static int add_user(struct socks_users *t, const char *entry, size_t len, char *why, size_t whylen)
{
    const char *colon = memchr(entry, ':', len);
    if (!colon || colon == entry) {
        snprintf(why, whylen, "expected USER:PASSWORD");
        return -1;
    }
    size_t nlen = (size_t)(colon - entry), slen = len - nlen - 1;
    if (nlen > FIELD_MAX || slen == 0 || slen > (colon[1] == '$' ? 512 : FIELD_MAX)) {
        snprintf(why, whylen, "the user name and the password must be 1 to %d bytes", FIELD_MAX);
        return -1;
    }
    struct socks_user *grown = realloc(t->v, (t->n + 1) * sizeof *t->v);
    if (!grown) {
        snprintf(why, whylen, "out of memory");
        return -1;
    }
    t->v = grown;
    struct socks_user *u = &t->v[t->n];
    u->name = strndup(entry, nlen);
    u->secret = strndup(colon + 1, slen);
    u->hashed = colon[1] == '$';
    if (!u->name || !u->secret) {
        free(u->name);
        free(u->secret);
        snprintf(why, whylen, "out of memory");
        return -1;
    }
    t->n++;
    return 0;
}

static int load_file(struct socks_users *t, const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "re");
    if (!f) {
        snprintf(err, errlen, "--users: cannot read %s: %s", path, strerror(errno));
        return -1;
    }
    char line[LINE_MAX_BYTES], why[128];
    int lineno = 0, r = 0;
    while (r == 0 && fgets(line, sizeof line, f)) {
        lineno++;
        size_t len = strcspn(line, "\r\n");
        if (len == sizeof line - 1) {
            snprintf(err, errlen, "%s:%d: line too long", path, lineno);
            r = -1;
        } else if (len > 0 && line[0] != '#' && add_user(t, line, len, why, sizeof why) == -1) {
            snprintf(err, errlen, "%s:%d: %s", path, lineno, why);
            r = -1;
        }
    }
    fclose(f);
    return r;
}

static void free_table(struct socks_users *t)
{
    for (size_t i = 0; i < t->n; i++) {
        free(t->v[i].name);
        free(t->v[i].secret);
    }
    free(t->v);
    *t = (struct socks_users){ NULL, 0 };
}

static int build(struct socks_users *t, const struct opt_list *inline_users, const char *file,
                 char *err, size_t errlen)
{
    char why[128];
    for (size_t i = 0; i < inline_users->n; i++) {
        const char *u = inline_users->v[i];
        if (add_user(t, u, strlen(u), why, sizeof why) == -1) {
            snprintf(err, errlen, "--user: %s", why);
            return -1;
        }
    }
    return file ? load_file(t, file, err, errlen) : 0;
}

int users_load(struct socks_users *t, const struct opt_list *inline_users, const char *file,
               char *err, size_t errlen)
{
    free_table(t);
    return build(t, inline_users, file, err, errlen);
}

int users_reload(struct socks_users *t, const struct opt_list *inline_users, const char *file,
                 char *err, size_t errlen)
{
    struct socks_users fresh = { NULL, 0 };
    if (build(&fresh, inline_users, file, err, errlen) == -1) {
        free_table(&fresh);
        return -1;
    }
    worker_shutdown();               /* no check may be reading the old table */
    free_table(t);
    *t = fresh;
    return 0;
}

void users_free(struct socks_users *t)
{
    free_table(t);
}

/* Compares in time that depends on the lengths only. */
static int same(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    unsigned char diff = (unsigned char)(la != lb);
    for (size_t i = 0; i < la && i < lb; i++)
        diff |= (unsigned char)(a[i] ^ b[i]);
    return diff == 0;
}

static const struct socks_user *find(const struct socks_users *t, const char *name)
{
    for (size_t i = 0; i < t->n; i++)
        if (strcmp(t->v[i].name, name) == 0)
            return &t->v[i];
    return NULL;
}

/* On the helper thread. */
static void check_password(void *arg)
{
    struct users_check *c = arg;
    const struct socks_user *u = find(c->table, c->user);
    struct crypt_data *data;
    if (!u) {
        c->ok = 0;
    } else if (u->hashed) {
        data = calloc(1, sizeof *data);   /* large: not on the helper's stack */
        const char *h = data ? crypt_r(c->pass, u->secret, data) : NULL;
        c->ok = h && h[0] != '*' && same(h, u->secret);
        free(data);
    } else {
        c->ok = same(c->pass, u->secret);
    }
    memset(c->pass, 0, sizeof c->pass);
}

static void checked(void *arg)
{
    struct users_check *c = arg;
    if (!c->cancelled)
        c->cb(c->ok, c->arg);
    free(c);
}

struct users_check *users_verify(const struct socks_users *t, const char *user, size_t ulen,
                                 const char *pass, size_t plen, users_verify_cb cb, void *arg)
{
    struct users_check *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->table = t;
    /* A name or password with a NUL or over the limit matches nobody. */
    if (ulen <= FIELD_MAX && plen <= FIELD_MAX && !memchr(user, '\0', ulen) &&
        !memchr(pass, '\0', plen)) {
        memcpy(c->user, user, ulen);
        memcpy(c->pass, pass, plen);
    }
    c->cb = cb;
    c->arg = arg;
    if (worker_submit(check_password, checked, c) == -1) {
        free(c);
        return NULL;
    }
    return c;
}

void users_cancel(struct users_check *c)
{
    if (c)
        c->cancelled = 1;
}
