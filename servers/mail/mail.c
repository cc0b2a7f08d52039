/*
 * gale mail: an ESMTP server delivering into Maildir, with twistd mail's
 * options.  This file holds the options, the domains and users they name
 * and where a recipient's mail goes; smtp.c speaks SMTP, pop3.c POP3,
 * maildir.c writes the messages.
 */
#include "mail.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <sys/stat.h>
#include <openssl/ssl.h>

#include "auth.h"
#include "endpoint.h"
#include "log.h"
#include "maildir.h"
#include "server.h"
#include "tls.h"

struct mail_server {
    struct smtp_service *smtp;
    struct smtp_service *submission;
    struct pop3_service *pop3;
    SSL_CTX *tls;
};

/* --- the domains and their users ------------------------------------- */

static void lower(char *s)
{
    for (; *s; s++)
        *s = (char)tolower((unsigned char)*s);
}

/* A user's name becomes a folder's: plain characters only, no dot first. */
static int user_name_ok(const char *s)
{
    size_t n = strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._+-");
    return n > 0 && n <= MAIL_USER_MAX && s[n] == '\0' && s[0] != '.';
}

static int check_pair(const char *s, char *err, size_t errlen)
{
    const char *eq = strchr(s, '=');
    if (!eq || eq == s || eq[1] == '\0') {
        snprintf(err, errlen, "'%s' is not NAME=VALUE", s);
        return -1;
    }
    return 0;
}

static int add_domain(struct mail_cfg *cfg, const char *spec, char *err, size_t errlen)
{
    const char *eq = strchr(spec, '=');
    struct mail_domain *d = &cfg->dom[cfg->n_dom];
    if ((size_t)(eq - spec) >= sizeof d->name) {
        snprintf(err, errlen, "-d: domain name too long in '%s'", spec);
        return -1;
    }
    memcpy(d->name, spec, (size_t)(eq - spec));
    d->name[eq - spec] = '\0';
    lower(d->name);
    d->path = eq + 1;
    for (size_t i = 0; i < cfg->n_dom; i++)
        if (strcmp(cfg->dom[i].name, d->name) == 0) {
            snprintf(err, errlen, "-d: domain %s given twice", d->name);
            return -1;
        }
    cfg->n_dom++;
    return 0;
}

/* twistd's rule: a user belongs to the last domain given before it. */
static int add_user(struct mail_cfg *cfg, const char *spec, char *err, size_t errlen)
{
    if (cfg->n_dom == 0) {
        snprintf(err, errlen, "-u %s: give its domain first with -d DOMAIN=PATH", spec);
        return -1;
    }
    struct mail_domain *d = &cfg->dom[cfg->n_dom - 1];
    const char *eq = strchr(spec, '=');
    char name[MAIL_USER_MAX + 2];
    if ((size_t)(eq - spec) >= sizeof name - 1) {
        snprintf(err, errlen, "-u: user name too long in '%.40s...'", spec);
        return -1;
    }
    memcpy(name, spec, (size_t)(eq - spec));
    name[eq - spec] = '\0';
    lower(name);
    if (!user_name_ok(name)) {
        snprintf(err, errlen, "-u: '%s' is not a user name (letters, digits, '.', '_', "
                 "'+', '-')", name);
        return -1;
    }
    struct mail_user *u = realloc(d->users, (d->n_users + 1) * sizeof *u);
    if (!u) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    d->users = u;
    memcpy(u[d->n_users].name, name, strlen(name) + 1);   /* user_name_ok bounds it */
    d->n_users++;
    return 0;
}

static int read_domains(struct mail_cfg *cfg, char *err, size_t errlen)
{
    const struct opt_list *l = &cfg->domains;
    cfg->dom = calloc(l->n ? l->n : 1, sizeof *cfg->dom);
    if (!cfg->dom) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < l->n; i++) {
        int r = l->tag[i] == 'd' ? add_domain(cfg, l->v[i], err, errlen)
                                 : add_user(cfg, l->v[i], err, errlen);
        if (r == -1)
            return -1;
    }
    if (cfg->n_dom == 0) {
        snprintf(err, errlen, "no domain to serve: give -d DOMAIN=PATH (twistd's "
                 "--maildirdbmdomain)");
        return -1;
    }
    if (cfg->default_domain)
        cfg->dflt = &cfg->dom[cfg->n_dom - 1];
    return 0;
}

static const struct mail_domain *find_domain(const struct mail_cfg *cfg, const char *name)
{
    for (size_t i = 0; i < cfg->n_dom; i++)
        if (strcasecmp(cfg->dom[i].name, name) == 0)
            return &cfg->dom[i];
    return NULL;
}

/* A user of d: named with -u, or with a Maildir of its own there. */
static int user_known(const struct mail_domain *d, const char *user, const char *path)
{
    for (size_t i = 0; i < d->n_users; i++)
        if (strcmp(d->users[i].name, user) == 0)
            return 1;
    return access(path, F_OK) == 0;
}

/* A user of --passwd-file is one before its Maildir exists. */
static int user_logs_in(const struct mail_cfg *cfg, const struct mail_domain *d, const char *user)
{
    char login[MAIL_USER_MAX + MAIL_HOST_MAX + 2], dir[4096], canon[sizeof login];
    snprintf(login, sizeof login, "%s@%s", user, d->name);
    return mail_auth_maildir(cfg->auth, login, dir, sizeof dir, canon, sizeof canon) == 0;
}

int mail_route(const struct mail_cfg *cfg, const char *local, const char *domain, char *out,
               size_t outlen)
{
    char user[MAIL_USER_MAX + 1];
    const struct mail_domain *d = domain[0] ? find_domain(cfg, domain) : cfg->dflt;
    if (!domain[0] && !d && strcasecmp(local, "postmaster") == 0)
        d = &cfg->dom[0];               /* "RCPT TO:<Postmaster>" names no domain */
    if (!d && cfg->dflt)
        d = cfg->dflt;                  /* -D: any other domain is the default's */
    if (!d)
        return -2;
    if (strlen(local) > MAIL_USER_MAX)
        return -1;
    snprintf(user, sizeof user, "%s", local);
    lower(user);
    if (!user_name_ok(user))
        return -1;
    if ((size_t)snprintf(out, outlen, "%s/%s", d->path, user) >= outlen)
        return -1;
    if (strcmp(user, "postmaster") == 0 || user_known(d, user, out) ||
        user_logs_in(cfg, d, user))
        return 0;
    if (cfg->bounce_to_postmaster &&
        (size_t)snprintf(out, outlen, "%s/postmaster", d->path) < outlen)
        return 0;
    return -1;
}

/* --- options --------------------------------------------------------- */

static int mail_check(void *p, char *err, size_t errlen)
{
    struct mail_cfg *cfg = p;
    if (read_domains(cfg, err, errlen) == -1)
        return -1;
    if (!cfg->tls_cert != !cfg->tls_key) {
        snprintf(err, errlen, "--tls-cert and --tls-key go together");
        return -1;
    }
    if (cfg->no_smtp && cfg->no_pop3) {
        snprintf(err, errlen, "nothing to serve: --no-smtp and --no-pop3 together");
        return -1;
    }
    if (cfg->no_smtp && cfg->smtp.n) {
        snprintf(err, errlen, "--smtp and --no-smtp contradict");
        return -1;
    }
    if (cfg->no_pop3 && cfg->pop3.n) {
        snprintf(err, errlen, "--pop3 and --no-pop3 contradict");
        return -1;
    }
    if ((cfg->submission.n || cfg->disable_anonymous) && !cfg->tls_cert &&
        !cfg->allow_plaintext_auth) {
        snprintf(err, errlen, "%s: clients must log in, which needs --tls-cert and --tls-key "
                 "(or --allow-plaintext-auth)",
                 cfg->submission.n ? "--submission" : "--disable-anonymous");
        return -1;
    }
    if (cfg->hostname)
        snprintf(cfg->host, sizeof cfg->host, "%s", cfg->hostname);
    else if (gethostname(cfg->host, sizeof cfg->host - 1) == -1)
        snprintf(cfg->host, sizeof cfg->host, "localhost");
    return 0;
}

/* Each domain's folder and each user's Maildir are made at start, as
 * twistd does. */
static int make_maildirs(const struct mail_cfg *cfg, char *err, size_t errlen)
{
    char path[4096];
    for (size_t i = 0; i < cfg->n_dom; i++) {
        const struct mail_domain *d = &cfg->dom[i];
        if (mkdir(d->path, 0700) == -1 && errno != EEXIST) {
            snprintf(err, errlen, "-d %s: cannot make %s: %s", d->name, d->path,
                     strerror(errno));
            return -1;
        }
        for (size_t k = 0; k < d->n_users; k++) {
            snprintf(path, sizeof path, "%s/%s", d->path, d->users[k].name);
            if (maildir_ensure(path, err, errlen) == -1)
                return -1;
        }
    }
    return 0;
}

static const char *const smtp_default[] = { "tcp:8025" };
static const char *const pop3_default[] = { "tcp:8110" };

/* The endpoints given, or the protocol's default when none is. */
static struct opt_list endpoints(const struct opt_list *given, const char *const *dflt)
{
    struct opt_list d = { (const char **)dflt, 1, NULL };
    return given->n ? *given : d;
}

static int start_smtp(struct mail_cfg *cfg, char *err, size_t errlen)
{
    struct mail_server *srv = cfg->srv;
    if (!(srv->smtp = smtp_service_new(cfg, srv->tls, 0)) ||
        (cfg->submission.n && !(srv->submission = smtp_service_new(cfg, srv->tls, 1)))) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    struct opt_list l = endpoints(&cfg->smtp, smtp_default);
    for (size_t i = 0; i < l.n; i++)
        if (smtp_service_listen(srv->smtp, l.v[i], err, errlen) == -1)
            return -1;
    for (size_t i = 0; i < cfg->submission.n; i++)
        if (smtp_service_listen(srv->submission, cfg->submission.v[i], err, errlen) == -1)
            return -1;
    return 0;
}

static int start_pop3(struct mail_cfg *cfg, char *err, size_t errlen)
{
    struct mail_server *srv = cfg->srv;
    if (!(srv->pop3 = pop3_service_new(cfg, srv->tls, cfg->auth))) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    struct opt_list l = endpoints(&cfg->pop3, pop3_default);
    for (size_t i = 0; i < l.n; i++)
        if (pop3_service_listen(srv->pop3, l.v[i], err, errlen) == -1)
            return -1;
    return 0;
}

static int mail_start(void *p, char *err, size_t errlen)
{
    struct mail_cfg *cfg = p;
    struct mail_server *srv = calloc(1, sizeof *srv);
    if (!srv) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    cfg->srv = srv;
    if (make_maildirs(cfg, err, errlen) == -1)
        return -1;
    if (cfg->tls_cert && !(srv->tls = tls_server_ctx(cfg->tls_cert, cfg->tls_key, err, errlen)))
        return -1;
    if (!(cfg->auth = mail_auth_new(cfg, err, errlen)))
        return -1;
    if (!cfg->no_smtp && start_smtp(cfg, err, errlen) == -1)
        return -1;
    if (!cfg->no_pop3 && start_pop3(cfg, err, errlen) == -1)
        return -1;
    log_info("event=serving host=%s domains=%zu", cfg->host, cfg->n_dom);
    return 0;
}

static void mail_listens(const void *p, void (*add)(void *ctx, int udp, const char *endpoint),
                         void *ctx)
{
    const struct mail_cfg *cfg = p;
    struct opt_list smtp = endpoints(&cfg->smtp, smtp_default);
    struct opt_list pop3 = endpoints(&cfg->pop3, pop3_default);
    for (size_t i = 0; !cfg->no_smtp && i < smtp.n; i++)
        add(ctx, 0, smtp.v[i]);
    for (size_t i = 0; i < cfg->submission.n; i++)
        add(ctx, 0, cfg->submission.v[i]);
    for (size_t i = 0; !cfg->no_pop3 && i < pop3.n; i++)
        add(ctx, 0, pop3.v[i]);
}

static void mail_stop(void *p)
{
    struct mail_cfg *cfg = p;
    if (cfg->srv && cfg->srv->smtp)
        smtp_service_stop(cfg->srv->smtp);
    if (cfg->srv && cfg->srv->submission)
        smtp_service_stop(cfg->srv->submission);
    if (cfg->srv && cfg->srv->pop3)
        pop3_service_stop(cfg->srv->pop3);
}

/* SIGHUP: the passwd file again. */
static void mail_reload(void *p)
{
    struct mail_cfg *cfg = p;
    char err[512];
    if (!cfg->auth || !cfg->passwd_file)
        return;
    if (mail_auth_reload(cfg->auth, err, sizeof err) == -1)
        log_error("event=reload-failed error=\"%s\" note=\"the users read before stay\"", err);
    else
        log_info("event=users-reloaded file=\"%s\"", cfg->passwd_file);
}

static void mail_cleanup(void *p)
{
    struct mail_cfg *cfg = p;
    if (cfg->srv) {
        smtp_service_free(cfg->srv->smtp);
        smtp_service_free(cfg->srv->submission);
        pop3_service_free(cfg->srv->pop3);
        if (cfg->srv->tls)
            SSL_CTX_free(cfg->srv->tls);
        free(cfg->srv);
        cfg->srv = NULL;
    }
    mail_auth_free(cfg->auth);       /* after the sessions, which cancel their checks */
    cfg->auth = NULL;
    for (size_t i = 0; i < cfg->n_dom; i++)
        free(cfg->dom[i].users);
    free(cfg->dom);
    cfg->dom = NULL;
    cfg->n_dom = 0;
}

#define M(field) OPT_AT(struct mail_cfg, field)

static const struct gale_opt mail_opts[] = {
    { .name = "smtp", .short_name = 's', .type = OPT_LIST, .offset = M(smtp),
      .metavar = "ENDPOINT", .help = "listen for SMTP on ENDPOINT (tcp:8025 when none is given)",
      .check = endpoint_check, .check_disk = endpoint_check_files },
    { .name = "submission", .type = OPT_LIST, .offset = M(submission), .metavar = "ENDPOINT",
      .help = "listen for mail submission (RFC 6409) on ENDPOINT: clients log in before MAIL",
      .check = endpoint_check, .check_disk = endpoint_check_files },
    { .name = "esmtp", .short_name = 'E', .type = OPT_FLAG, .offset = M(esmtp),
      .help = "accepted for twistd users: ESMTP is always spoken" },
    { .name = "hostname", .short_name = 'H', .type = OPT_STRING, .offset = M(hostname),
      .metavar = "NAME", .help = "the name in the greeting and Received: lines (default: this host's)" },
    { .name = "maildirdbmdomain", .short_name = 'd', .type = OPT_LIST, .offset = M(domains),
      .metavar = "DOMAIN=PATH", .help = "serve DOMAIN, one Maildir per user in PATH/USER",
      .check = check_pair, .list_tag = 'd' },
    { .name = "user", .short_name = 'u', .type = OPT_LIST, .offset = M(domains),
      .metavar = "USER=PASS", .help = "a user of the last -d domain, PASS its password for AUTH",
      .check = check_pair, .list_tag = 'u' },
    { .name = "default", .short_name = 'D', .type = OPT_FLAG, .offset = M(default_domain),
      .help = "the last -d domain takes mail for every domain not served" },
    { .name = "bounce-to-postmaster", .short_name = 'b', .type = OPT_FLAG,
      .offset = M(bounce_to_postmaster),
      .help = "mail for an unknown user of a served domain goes to its postmaster" },
    { .name = "passwd-file", .type = OPT_FILE, .offset = M(passwd_file), .metavar = "FILE",
      .help = "more users, Dovecot's 'user[@domain]:HASH' lines (crypt(3)); read again on SIGHUP" },
    { .name = "allow-plaintext-auth", .type = OPT_FLAG, .offset = M(allow_plaintext_auth),
      .help = "SMTP AUTH and POP3 logins also without TLS (passwords then cross the network in clear)" },
    { .name = "disable-anonymous", .type = OPT_FLAG, .offset = M(disable_anonymous),
      .help = "clients log in before MAIL on every listener, not only --submission" },
    { .name = "tls-cert", .type = OPT_FILE, .offset = M(tls_cert), .metavar = "FILE",
      .help = "certificate (PEM, with its chain) for STARTTLS and STLS" },
    { .name = "tls-key", .type = OPT_FILE, .offset = M(tls_key), .metavar = "FILE",
      .help = "private key (PEM) for STARTTLS and STLS" },
    { .name = "max-message-size", .type = OPT_SIZE, .offset = M(max_message_size),
      .metavar = "SIZE", .help = "larger messages are refused with 552", .def = "35m" },
    { .name = "max-recipients", .type = OPT_INT, .offset = M(max_recipients), .metavar = "N",
      .help = "recipients per message", .def = "1000", .min = 100, .max = 100000 },
    { .name = "timeout", .type = OPT_DURATION, .offset = M(timeout), .metavar = "SECONDS",
      .help = "a client silent this long is dropped (RFC 5321 4.5.3.2)", .def = "300" },
    { .name = "no-smtp", .type = OPT_FLAG, .offset = M(no_smtp),
      .help = "serve no SMTP (POP3 alone)" },
    { .name = "pop3", .short_name = 'p', .type = OPT_LIST, .offset = M(pop3),
      .metavar = "ENDPOINT", .help = "listen for POP3 on ENDPOINT (tcp:8110 when none is given)",
      .check = endpoint_check, .check_disk = endpoint_check_files },
    { .name = "no-pop3", .type = OPT_FLAG, .offset = M(no_pop3),
      .help = "serve no POP3 (SMTP alone)" },
    { .name = "pop3-timeout", .type = OPT_DURATION, .offset = M(pop3_timeout),
      .metavar = "SECONDS", .help = "a POP3 client silent this long is logged out (RFC 1939: "
      "at least 600)", .def = "600" },
    { 0 }
};

const struct gale_server gale_server_mail = {
    .name = "mail",
    .summary = "an ESMTP server delivering into Maildir",
    .description =
        "Receives mail for the domains given with -d DOMAIN=PATH into one Maildir per\n"
        "user (PATH/USER), as twistd mail does. A message is acknowledged only once it\n"
        "is written, fsynced and renamed into new/. Mail for other domains is refused:\n"
        "it is never an open relay. EHLO offers PIPELINING, SIZE, 8BITMIME,\n"
        "ENHANCEDSTATUSCODES and, with --tls-cert and --tls-key, STARTTLS; once under\n"
        "TLS, AUTH PLAIN and LOGIN for the users of -u and --passwd-file. --submission\n"
        "listens for clients that must log in before they send. POP3 (tcp:8110 unless\n"
        "-p says otherwise) serves each user's Maildir: USER/PASS and AUTH PLAIN (over\n"
        "TLS only, unless --allow-plaintext-auth), STLS, TOP, UIDL, PIPELINING; one\n"
        "session per maildrop at a time.",
    .opts = mail_opts,
    .cfg_size = sizeof(struct mail_cfg),
    .check = mail_check,
    .listens = mail_listens,
    .start = mail_start,
    .reload = mail_reload,
    .stop = mail_stop,
    .cleanup = mail_cleanup,
};
