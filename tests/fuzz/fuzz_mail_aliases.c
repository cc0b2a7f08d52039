/*
 * libFuzzer target for aliases(5) files (servers/mail/aliases.c): the
 * same bytes as an aliases file and as an :include: list.  Beyond what
 * the sanitizers catch, it aborts when a result breaks the promises of
 * aliases.h:
 *  - the errors not NUL-terminated within their room (a room cut to the
 *    exact size, so ASan sees a write past it), empty on failure (with
 *    room for more than the NUL), or not empty on success;
 *  - an entry without a name, with a name over 64 octets, in capitals,
 *    out of order or given twice, not found by aliases_find, or with no
 *    targets;
 *  - a target with an empty value, a control character, a kind it
 *    cannot have (a maildir that is no file, a relative path, a user
 *    over 64 octets or in capitals);
 *  - an expansion failing for anything but a loop or a limit, giving a
 *    target twice, more than the limit, or a user that is an alias
 *    without naming itself.
 *   clang -g -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE \
 *       tests/fuzz/fuzz_mail_aliases.c -o fuzz_mail_aliases
 */
#include "../../servers/mail/aliases.c"
#include "../../servers/mail/aliases_expand.c"

#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_errs(const char *errs, size_t room, int rc)
{
    if (strnlen(errs, room) == room || (rc == 0 && errs[0]) || (rc < 0 && room > 1 && !errs[0]))
        abort();
}

static void check_target(const struct alias_target *t)
{
    size_t n;
    if (t->kind > ALIAS_INCLUDE || !t->value || (n = strlen(t->value)) == 0)
        abort();
    for (size_t i = 0; i < n; i++)
        if (is_control((unsigned char)t->value[i]))
            abort();
    if ((t->maildir && t->kind != ALIAS_FILE) || (t->noalias && t->kind != ALIAS_USER))
        abort();
    if ((t->kind == ALIAS_FILE || t->kind == ALIAS_INCLUDE) && t->value[0] != '/')
        abort();
    if (t->kind == ALIAS_FILE && t->maildir != (t->value[n - 1] == '/'))
        abort();
    if (t->kind == ALIAS_ADDRESS && (!strchr(t->value, '@') || strchr(t->value, '@') != strrchr(t->value, '@') ||
                                     t->value[0] == '@' || t->value[n - 1] == '@'))
        abort();
    if (t->kind == ALIAS_USER && (n > ALIASES_NAME_MAX || strchr(t->value, '@')))
        abort();
    for (size_t i = 0; t->kind == ALIAS_USER && i < n; i++)
        if (t->value[i] >= 'A' && t->value[i] <= 'Z')
            abort();
}

/* The entry found under name in capitals too. */
static void check_find(const struct aliases *a, const struct alias_entry *e)
{
    char upper[ALIASES_NAME_MAX + 1];
    size_t n = strlen(e->name);
    for (size_t i = 0; i <= n; i++)
        upper[i] = e->name[i] >= 'a' && e->name[i] <= 'z' ? (char)(e->name[i] - 32) : e->name[i];
    if (aliases_find(a, e->name) != e || aliases_find(a, upper) != e)
        abort();
}

static void check_entries(const struct aliases *a)
{
    for (size_t i = 0; i < a->n; i++) {
        const struct alias_entry *e = &a->v[i];
        size_t n = e->name ? strlen(e->name) : 0;
        if (n == 0 || n > ALIASES_NAME_MAX || e->n == 0 || e->n > ALIASES_TARGETS_MAX || e->lineno == 0)
            abort();
        if (i > 0 && strcmp(a->v[i - 1].name, e->name) >= 0)
            abort();
        for (size_t k = 0; k < n; k++)
            if (is_control((unsigned char)e->name[k]) || (e->name[k] >= 'A' && e->name[k] <= 'Z'))
                abort();
        for (size_t k = 0; k < e->n; k++)
            check_target(&e->t[k]);
        check_find(a, e);
    }
}

struct results {
    const struct aliases *a;
    const struct alias_target *got[ALIASES_RESULTS_MAX];
    size_t n;
};

/* An alias listing its own name. */
static int names_itself(const struct alias_entry *e)
{
    for (size_t i = 0; i < e->n; i++)
        if (e->t[i].kind == ALIAS_USER && strcmp(e->t[i].value, e->name) == 0)
            return 1;
    return 0;
}

static int on_target(const struct alias_target *t, void *arg)
{
    struct results *r = arg;
    const struct alias_entry *e;

    check_target(t);
    if (r->n == ALIASES_RESULTS_MAX)
        abort();
    for (size_t i = 0; i < r->n; i++)
        if (r->got[i]->kind == t->kind && strcmp(r->got[i]->value, t->value) == 0)
            abort();
    if (t->kind == ALIAS_USER && !t->noalias && (e = aliases_find(r->a, t->value)) && !names_itself(e))
        abort();
    r->got[r->n++] = t;
    return 0;
}

static void check_expand(const struct aliases *a)
{
    static struct results r;
    char err[128];
    for (size_t i = 0; i < a->n; i++) {
        r.a = a;
        r.n = 0;
        if (aliases_expand(a, a->v[i].name, on_target, &r, err, sizeof err) == 0)
            continue;
        if (strncmp(err, "alias loop: ", 12) != 0 && strncmp(err, "aliases nested deeper than 16: ", 31) != 0 &&
            strcmp(err, "more than 1000 targets") != 0)
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* A copy of exactly size bytes, so ASan sees any read past the end;
     * the room for errors from the first byte: small ones cut lines. */
    char *buf = malloc(size ? size : 1);
    size_t room = size && data[0] < 64 ? 1 + data[0] : 4096;
    char *errs = malloc(room);
    struct aliases a;
    struct alias_target *t;
    size_t n;

    if (!buf || !errs)
        abort();
    memcpy(buf, data, size);
    int rc = aliases_parse("fuzz", buf, size, &a, errs, room);
    check_errs(errs, room, rc);
    if (rc == 0) {
        check_entries(&a);
        check_expand(&a);
    } else if (a.n != 0 || a.v != NULL) {
        abort();
    }
    aliases_free(&a);

    rc = aliases_parse_targets("fuzz", buf, size, &t, &n, errs, room);
    check_errs(errs, room, rc);
    if (rc == 0) {
        if (n > ALIASES_TARGETS_MAX || (n == 0) != (t == NULL))
            abort();
        for (size_t i = 0; i < n; i++)
            check_target(&t[i]);
        alias_targets_free(t, n);
    } else if (n != 0 || t != NULL) {
        abort();
    }
    free(errs);
    free(buf);
    return 0;
}
