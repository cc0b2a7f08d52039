/*
 * gale mail's users (auth.h): the users of -u and of --passwd-file, two
 * sorted tables of logins and crypt(3) hashes; a reload builds a new file
 * table and swaps it in.  The checks are in auth_check.c.
 */
#include "auth.h"

#include <crypt.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "auth_delay.h"
#include "auth_int.h"
#include "instance.h"
#include "mail.h"

#define LOGIN_MAX (MAIL_USER_MAX + 1 + MAIL_HOST_MAX)
#define FILE_LINE_MAX 4096
#define FILE_USERS_MAX 100000

/* --- logins ------------------------------------------------------------ */

/* mail.c's rule for a user's name, which becomes a folder's. */
static int local_ok(const char *s, size_t n)
{
    return n > 0 && n <= MAIL_USER_MAX && s[0] != '.' &&
           strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789._+-") >= n;
}

static const struct mail_domain *domain_named(const struct mail_cfg *cfg, const char *name)
{
    for (size_t i = 0; i < cfg->n_dom; i++)
        if (strcasecmp(cfg->dom[i].name, name) == 0)
            return &cfg->dom[i];
    return NULL;
}

/* The login without a domain belongs to -D's domain, or the only one. */
static const struct mail_domain *domain_implied(const struct mail_cfg *cfg)
{
    return cfg->dflt ? cfg->dflt : cfg->n_dom == 1 ? &cfg->dom[0] : NULL;
}

/* "Alice" or "alice@Example.org" into "alice@example.org" and its domain.
 * -1 when it names no user of a served domain (*why says how). */
static int canonical(const struct mail_cfg *cfg, const char *user, size_t len,
                     char out[LOGIN_MAX + 1], const struct mail_domain **dom, const char **why)
{
    char local[MAIL_USER_MAX + 1];
    const char *at = memchr(user, '@', len);
    size_t ln = at ? (size_t)(at - user) : len;
    *why = "not a user name (letters, digits, '.', '_', '+', '-')";
    if (ln > MAIL_USER_MAX)
        return -1;
    for (size_t i = 0; i < ln; i++)
        local[i] = (char)tolower((unsigned char)user[i]);
    local[ln] = '\0';
    if (!local_ok(local, ln))
        return -1;
    char dname[MAIL_HOST_MAX];
    if (at) {
        size_t dn = len - ln - 1;
        *why = "its domain is not served (-d)";
        if (dn == 0 || dn >= sizeof dname || memchr(at + 1, '@', dn))
            return -1;
        memcpy(dname, at + 1, dn);
        dname[dn] = '\0';
        *dom = domain_named(cfg, dname);
    } else {
        *why = "no @domain, and no default domain (-D) or single domain to imply";
        *dom = domain_implied(cfg);
    }
    if (!*dom)
        return -1;
    snprintf(out, LOGIN_MAX + 1, "%s@%s", local, (*dom)->name);
    return 0;
}

static int by_login(const void *x, const void *y)
{
    return strcmp(((const struct auth_user *)x)->login, ((const struct auth_user *)y)->login);
}

static const struct auth_user *set_find(const struct user_set *s, const char *login)
{
    struct auth_user probe = { .login = (char *)login };
    return s->n ? bsearch(&probe, s->v, s->n, sizeof *s->v, by_login) : NULL;
}

const struct auth_user *auth_find_user(const struct mail_auth *a, const char *user)
{
    char login[LOGIN_MAX + 1];
    const struct mail_domain *dom;
    const char *why;
    size_t len = strlen(user);
    if (len > LOGIN_MAX || canonical(a->cfg, user, len, login, &dom, &why) == -1)
        return NULL;
    const struct auth_user *u = set_find(&a->given, login);
    return u ? u : set_find(&a->file, login);
}

/* --- the tables ---------------------------------------------------------- */

static void set_free(struct user_set *s)
{
    for (size_t i = 0; i < s->n; i++) {
        free(s->v[i].login);
        free(s->v[i].hash);
    }
    free(s->v);
    *s = (struct user_set){ NULL, 0, 0 };
}

static int set_add(struct user_set *s, const char *login, const char *hash,
                   const struct mail_domain *dom, unsigned line)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 8;
        struct auth_user *v = realloc(s->v, cap * sizeof *v);
        if (!v)
            return -1;
        s->v = v;
        s->cap = cap;
    }
    struct auth_user *u = &s->v[s->n];
    *u = (struct auth_user){ strdup(login), strdup(hash), dom, line };
    if (!u->login || !u->hash) {
        free(u->login);
        free(u->hash);
        return -1;
    }
    s->n++;
    return 0;
}

/* Sorts the table; a login given twice is an error naming both places. */
static int set_sort(struct user_set *s, const char *file, char *err, size_t errlen)
{
    if (s->n)
        qsort(s->v, s->n, sizeof *s->v, by_login);
    for (size_t i = 1; i < s->n; i++) {
        const struct auth_user *x = &s->v[i - 1], *y = &s->v[i];
        if (strcmp(x->login, y->login) != 0)
            continue;
        if (!file)
            snprintf(err, errlen, "-u: %s given twice", y->login);
        else
            snprintf(err, errlen, "%s:%u: %s given again (line %u)", file,
                     x->line > y->line ? x->line : y->line, y->login,
                     x->line < y->line ? x->line : y->line);
        return -1;
    }
    return 0;
}

/* crypt(3) with a fresh salt of libxcrypt's preferred method (yescrypt). */
static int hash_password(const char *pass, char *out, size_t outlen)
{
    struct crypt_data *data = calloc(1, sizeof *data);   /* large: not on the stack */
    char *salt = crypt_gensalt_ra(NULL, 0, NULL, 0);
    const char *h = data && salt ? crypt_r(pass, salt, data) : NULL;
    int ok = h && h[0] != '*' && strlen(h) < outlen;
    if (ok)
        memcpy(out, h, strlen(h) + 1);
    free(salt);
    if (data) {
        explicit_bzero(data, sizeof *data);
        free(data);
    }
    return ok ? 0 : -1;
}

/* -u USER=PASS, each of the last -d domain before it: the password is
 * hashed and its clear text wiped where the options keep it (argv, or
 * the run file's copy of the line). */
static int read_given(struct mail_auth *a, char *err, size_t errlen)
{
    const struct opt_list *l = &a->cfg->domains;
    char hash[CRYPT_OUTPUT_SIZE], login[LOGIN_MAX + 1];
    size_t d = 0;
    for (size_t i = 0; i < l->n; i++) {
        if (l->tag[i] == 'd') {
            d++;
            continue;
        }
        char *spec = (char *)l->v[i];
        char *eq = strchr(spec, '=');
        if (!eq || d == 0 || d > a->cfg->n_dom || eq[1] == '\0') {
            snprintf(err, errlen, "-u: '%.*s' has no password", eq ? (int)(eq - spec) : 0, spec);
            return -1;
        }
        const struct mail_domain *dom = &a->cfg->dom[d - 1];
        snprintf(login, sizeof login, "%.*s@%s", (int)(eq - spec), spec, dom->name);
        for (char *p = login; *p; p++)
            *p = (char)tolower((unsigned char)*p);
        int r = hash_password(eq + 1, hash, sizeof hash);
        explicit_bzero(eq + 1, strlen(eq + 1));
        if (r == -1 || set_add(&a->given, login, hash, dom, 0) == -1) {
            snprintf(err, errlen, "-u: cannot hash the password of %s", login);
            return -1;
        }
    }
    return set_sort(&a->given, NULL, err, errlen);
}

/* Dovecot's "{SHA512-CRYPT}" and the like name a crypt(3) hash; other
 * schemes ("{PLAIN}") are refused. */
static const char *strip_scheme(const char *hash, const char **why)
{
    if (hash[0] != '{')
        return hash;
    const char *end = strchr(hash, '}');
    if (!end || end - hash < 6 || strncasecmp(end - 5, "CRYPT", 5) != 0) {
        *why = "only crypt(3) hashes are taken ({CRYPT}, {SHA512-CRYPT}, ...)";
        return NULL;
    }
    return end + 1;
}

/* One line of the passwd file: "user[@domain]:HASH[:fields ignored]".
 * 1 for a user added, 0 for a comment or a blank line, -1 and *why. */
static int parse_line(struct mail_auth *a, struct user_set *s, char *line, unsigned lineno,
                      const char **why)
{
    size_t n = strlen(line);
    while (n > 0 && isspace((unsigned char)line[n - 1]))
        line[--n] = '\0';
    char *p = line + strspn(line, " \t");
    if (*p == '\0' || *p == '#')
        return 0;
    char *colon = strchr(p, ':');
    if (!colon) {
        *why = "not user[@domain]:HASH";
        return -1;
    }
    *colon = '\0';
    char *hash = colon + 1, *more = strchr(hash, ':');
    if (more)
        *more = '\0';
    char login[LOGIN_MAX + 1];
    const struct mail_domain *dom;
    if (strlen(p) > LOGIN_MAX || canonical(a->cfg, p, strlen(p), login, &dom, why) == -1)
        return -1;
    const char *h = strip_scheme(hash, why);
    if (!h)
        return -1;
    /* Only the "$id$" forms: traditional DES would take most clear-text
     * passwords as hashes, and mistakes would go unnoticed. */
    int kind = crypt_checksalt(h);
    if (h[0] != '$' || strlen(h) >= CRYPT_OUTPUT_SIZE ||
        (kind != CRYPT_SALT_OK && kind != CRYPT_SALT_METHOD_LEGACY)) {
        *why = "not a crypt(3) hash this system knows (\"$y$\" yescrypt, \"$6$\" sha512-crypt...)";
        return -1;
    }
    if (set_find(&a->given, login)) {
        *why = "this user is also given with -u";
        return -1;
    }
    if (s->n >= FILE_USERS_MAX) {
        *why = "too many users";
        return -1;
    }
    if (set_add(s, login, h, dom, lineno) == -1) {
        *why = "out of memory";
        return -1;
    }
    return 1;
}

/* A line at most FILE_LINE_MAX long, with no NUL: 1, 0 at the end, -1. */
static int read_line(FILE *f, char *buf, const char **why)
{
    size_t n = 0;
    int c;
    while ((c = getc(f)) != EOF && c != '\n') {
        if (c == '\0' || n == FILE_LINE_MAX) {
            *why = c == '\0' ? "a NUL byte" : "line too long";
            return -1;
        }
        buf[n++] = (char)c;
    }
    buf[n] = '\0';
    if (ferror(f)) {
        *why = "read error";
        return -1;
    }
    return c == EOF && n == 0 ? 0 : 1;
}

/* Only a regular file: a FIFO would make a reload wait on the reactor. */
static FILE *open_regular(const char *path)
{
    struct stat st;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (fd == -1)
        return NULL;
    if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
        close(fd);
        errno = EINVAL;
        return NULL;
    }
    FILE *f = fdopen(fd, "r");
    if (!f)
        close(fd);
    return f;
}

static int read_file(struct mail_auth *a, struct user_set *s, char *err, size_t errlen)
{
    const char *path = a->cfg->passwd_file, *why = NULL;
    FILE *f = open_regular(path);
    if (!f) {
        snprintf(err, errlen, "--passwd-file: cannot read %s: %s", path,
                 errno == EINVAL ? "not a regular file" : strerror(errno));
        return -1;
    }
    char *line = malloc(FILE_LINE_MAX + 1);
    unsigned lineno = 0;
    int r = -1;
    why = "out of memory";
    while (line) {
        lineno++;
        if ((r = read_line(f, line, &why)) != 1 || (r = parse_line(a, s, line, lineno, &why)) == -1)
            break;
    }
    fclose(f);
    free(line);
    if (r == -1) {
        snprintf(err, errlen, "%s:%u: %s", path, lineno, why);
        return -1;
    }
    return set_sort(s, path, err, errlen);
}

/* --- the life of the table ------------------------------------------- */

struct mail_auth *mail_auth_new(struct mail_cfg *cfg, char *err, size_t errlen)
{
    struct mail_auth *a = calloc(1, sizeof *a);
    if (!a || !(a->delay = auth_delay_new(AUTH_DELAY_ADDRS))) {
        snprintf(err, errlen, "out of memory");
        free(a);
        return NULL;
    }
    a->cfg = cfg;
    a->in = instance_current();
    if (hash_password("no such user", a->dummy, sizeof a->dummy) == -1) {
        snprintf(err, errlen, "crypt(3) cannot make a hash");
        mail_auth_free(a);
        return NULL;
    }
    if (read_given(a, err, errlen) == -1 ||
        (cfg->passwd_file && read_file(a, &a->file, err, errlen) == -1)) {
        mail_auth_free(a);
        return NULL;
    }
    return a;
}

int mail_auth_reload(struct mail_auth *a, char *err, size_t errlen)
{
    if (!a->cfg->passwd_file)
        return 0;
    struct user_set fresh = { NULL, 0, 0 };
    if (read_file(a, &fresh, err, errlen) == -1) {
        set_free(&fresh);
        return -1;
    }
    set_free(&a->file);
    a->file = fresh;
    return 0;
}

void mail_auth_free(struct mail_auth *a)
{
    if (!a)
        return;
    auth_checks_drop(a);
    set_free(&a->given);
    set_free(&a->file);
    auth_delay_free(a->delay);
    free(a);
}

int mail_auth_maildir(const struct mail_auth *a, const char *user, char *dir, size_t dirlen,
                      char *login, size_t loginlen)
{
    const struct auth_user *u = a ? auth_find_user(a, user) : NULL;
    if (!u)
        return -1;
    const char *at = strchr(u->login, '@');
    if ((size_t)snprintf(dir, dirlen, "%s/%.*s", u->dom->path, (int)(at - u->login),
                         u->login) >= dirlen ||
        (size_t)snprintf(login, loginlen, "%s", u->login) >= loginlen)
        return -1;
    return 0;
}
