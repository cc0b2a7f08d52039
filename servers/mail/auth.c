/*
 * stand-in: replaced by the real one.
 *
 * The users of -u USER=PASS, checked in clear, with auth.h's interface:
 * the answer comes from a zero-timeout timer, so callers see it later on
 * the reactor as they will with the real one.  No --passwd-file, no
 * hashing, no delay after failures.
 */
#include "auth.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <event2/event.h>

#include "mail.h"
#include "reactor.h"

struct login {
    const struct mail_domain *dom;
    char user[MAIL_USER_MAX + 1];
    const char *pass;                /* in the options */
};

struct mail_auth {
    const struct mail_cfg *cfg;
    struct login *v;
    size_t n;
};

struct mail_auth_req {
    struct event *ev;
    int ok;
    mail_auth_done done;
    void *arg;
};

static int add_login(struct mail_auth *a, const struct mail_domain *d, const char *spec)
{
    const char *eq = strchr(spec, '=');
    struct login *v = realloc(a->v, (a->n + 1) * sizeof *v);
    if (!v)
        return -1;
    a->v = v;
    struct login *l = &v[a->n++];
    l->dom = d;
    snprintf(l->user, sizeof l->user, "%.*s", (int)(eq - spec), spec);
    for (char *p = l->user; *p; p++)
        *p = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
    l->pass = eq + 1;
    return 0;
}

struct mail_auth *mail_auth_new(struct mail_cfg *cfg, char *err, size_t errlen)
{
    struct mail_auth *a = calloc(1, sizeof *a);
    size_t dom = 0;
    if (!a)
        goto oom;
    a->cfg = cfg;
    for (size_t i = 0; i < cfg->domains.n; i++) {
        if (cfg->domains.tag[i] == 'd')
            dom++;
        else if (dom > 0 && add_login(a, &cfg->dom[dom - 1], cfg->domains.v[i]) == -1)
            goto oom;
    }
    return a;
oom:
    mail_auth_free(a);
    snprintf(err, errlen, "out of memory");
    return NULL;
}

int mail_auth_reload(struct mail_auth *a, char *err, size_t errlen)
{
    (void)a; (void)err; (void)errlen;
    return 0;
}

void mail_auth_free(struct mail_auth *a)
{
    if (!a)
        return;
    free(a->v);
    free(a);
}

/* "alice@example.org", or "alice" of the default or only domain. */
static const struct login *find_login(const struct mail_auth *a, const char *user)
{
    const struct mail_cfg *cfg = a->cfg;
    const char *at = strrchr(user, '@');
    size_t ulen = at ? (size_t)(at - user) : strlen(user);
    const struct mail_domain *d = cfg->dflt ? cfg->dflt : cfg->n_dom == 1 ? cfg->dom : NULL;
    for (size_t i = 0; i < a->n; i++) {
        const struct login *l = &a->v[i];
        if (strlen(l->user) != ulen || strncasecmp(l->user, user, ulen) != 0)
            continue;
        if (at ? strcasecmp(l->dom->name, at + 1) == 0 : l->dom == d)
            return l;
    }
    return NULL;
}

static void answer(evutil_socket_t fd, short what, void *arg)
{
    struct mail_auth_req *r = arg;
    (void)fd; (void)what;
    r->done(r->ok, r->arg);
    mail_auth_cancel(r);
}

struct mail_auth_req *mail_auth_check(struct mail_auth *a, const char *user, const char *pass,
                                      const struct sockaddr *peer, socklen_t peer_len,
                                      mail_auth_done done, void *arg)
{
    (void)peer; (void)peer_len;
    struct mail_auth_req *r = calloc(1, sizeof *r);
    if (!r || !(r->ev = evtimer_new(reactor_base(), answer, r))) {
        free(r);
        return NULL;
    }
    const struct login *l = find_login(a, user);
    r->ok = l && strcmp(l->pass, pass) == 0;
    r->done = done;
    r->arg = arg;
    struct timeval now = { 0, 0 };
    evtimer_add(r->ev, &now);
    return r;
}

void mail_auth_cancel(struct mail_auth_req *r)
{
    if (!r)
        return;
    event_free(r->ev);
    free(r);
}

int mail_auth_maildir(const struct mail_auth *a, const char *user, char *dir, size_t dirlen,
                      char *login, size_t loginlen)
{
    const struct login *l = find_login(a, user);
    if (!l)
        return -1;
    if ((size_t)snprintf(dir, dirlen, "%s/%s", l->dom->path, l->user) >= dirlen)
        return -1;
    snprintf(login, loginlen, "%s@%s", l->user, l->dom->name);
    return 0;
}
