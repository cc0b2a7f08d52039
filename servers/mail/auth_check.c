/*
 * Password checks (auth.h): crypt(3) on the core's helper thread, the
 * answer on the reactor, a failure only after auth_delay.h's delay.  A
 * check copies the hash it needs, so the helper thread never reads a
 * table a reload may swap or mail_auth_free may free.  One helper thread
 * also writes every message to disk: the checks it holds at once are
 * bounded, so a flood of logins cannot hold up deliveries for long.
 */
#include "auth.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <netinet/in.h>
#include <event2/event.h>
#include <openssl/crypto.h>

#include "auth_delay.h"
#include "auth_int.h"
#include "instance.h"
#include "reactor.h"
#include "worker.h"

#define PASS_MAX 1024                /* longer passwords match nobody */
#define RUNNING_MAX 32               /* beyond: mail_auth_check says no (NULL) */

struct mail_auth_req {
    struct mail_auth *a;             /* NULL once a is freed */
    struct mail_auth_req *prev, *next;
    mail_auth_done done;
    void *arg;
    int running;                     /* on the helper thread */
    int cancelled;                   /* while running: freed when it comes back */
    struct event *timer;             /* the delay before a failure is answered */
    unsigned char key[AUTH_DELAY_KEY_MAX];
    size_t key_len;
    /* What the helper thread reads and writes, nothing else. */
    char hash[CRYPT_OUTPUT_SIZE];
    char pass[PASS_MAX + 1];
    int known, ok;
};

static void unlink_req(struct mail_auth_req *r)
{
    struct mail_auth *a = r->a;
    if (!a)
        return;
    if (r->prev)
        r->prev->next = r->next;
    else
        a->pending = r->next;
    if (r->next)
        r->next->prev = r->prev;
    r->a = NULL;
    r->prev = r->next = NULL;
}

static void free_req(struct mail_auth_req *r)
{
    if (r->timer)
        event_free(r->timer);
    explicit_bzero(r->pass, sizeof r->pass);
    free(r);
}

void auth_checks_drop(struct mail_auth *a)
{
    while (a->pending) {
        struct mail_auth_req *r = a->pending;
        unlink_req(r);
        if (!r->running)
            free_req(r);
    }
}

/* Failures are counted per IPv4 address, per IPv6 /64 (one host's usual
 * share), and for every local (unix socket) client together. */
static size_t peer_key(const struct sockaddr *sa, socklen_t len, unsigned char *key)
{
    key[0] = sa ? (unsigned char)sa->sa_family : 0;
    if (sa && sa->sa_family == AF_INET && len >= (socklen_t)sizeof(struct sockaddr_in)) {
        memcpy(key + 1, &((const struct sockaddr_in *)sa)->sin_addr, 4);
        return 5;
    }
    if (sa && sa->sa_family == AF_INET6 && len >= (socklen_t)sizeof(struct sockaddr_in6)) {
        const struct in6_addr *ip = &((const struct sockaddr_in6 *)sa)->sin6_addr;
        if (IN6_IS_ADDR_V4MAPPED(ip)) {
            key[0] = AF_INET;
            memcpy(key + 1, ip->s6_addr + 12, 4);
            return 5;
        }
        memcpy(key + 1, ip->s6_addr, 8);
        return 9;
    }
    return 1;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* On the helper thread: the same work whether or not the user exists. */
static void run_crypt(void *arg)
{
    struct mail_auth_req *r = arg;
    struct crypt_data *data = calloc(1, sizeof *data);   /* large: not on the stack */
    const char *h = data ? crypt_r(r->pass, r->hash, data) : NULL;
    size_t n = strlen(r->hash);
    r->ok = r->known && h && h[0] != '*' && strlen(h) == n && CRYPTO_memcmp(h, r->hash, n) == 0;
    explicit_bzero(r->pass, sizeof r->pass);
    if (data) {
        explicit_bzero(data, sizeof *data);
        free(data);
    }
}

static void answer(struct mail_auth_req *r, int ok)
{
    mail_auth_done done = r->done;
    void *arg = r->arg;
    unlink_req(r);
    free_req(r);
    done(ok, arg);
}

static void delay_over(evutil_socket_t fd, short what, void *arg)
{
    struct mail_auth_req *r = arg;
    struct gale_instance *in = r->a->in;
    (void)fd, (void)what;
    instance_push(in);
    answer(r, 0);
    instance_pop();
}

/* Back on the reactor: a success is answered now, a failure later. */
static void crypt_done(void *arg)
{
    struct mail_auth_req *r = arg;
    r->running = 0;
    if (r->a)
        r->a->running--;
    if (!r->a || r->cancelled) {
        unlink_req(r);
        free_req(r);
        return;
    }
    if (r->ok) {
        answer(r, 1);
        return;
    }
    double wait = auth_delay_failed(r->a->delay, r->key, r->key_len, now());
    struct timeval tv = reactor_timeval(wait);
    r->timer = evtimer_new(reactor_base(), delay_over, r);
    if (!r->timer || evtimer_add(r->timer, &tv) == -1)
        answer(r, 0);
}

struct mail_auth_req *mail_auth_check(struct mail_auth *a, const char *user, const char *pass,
                                      const struct sockaddr *peer, socklen_t peer_len,
                                      mail_auth_done done, void *arg)
{
    struct mail_auth_req *r = a->running < RUNNING_MAX ? calloc(1, sizeof *r) : NULL;
    if (!r)
        return NULL;
    const struct auth_user *u = auth_find_user(a, user);
    size_t plen = strlen(pass);
    r->known = u && plen <= PASS_MAX;
    snprintf(r->hash, sizeof r->hash, "%s", u ? u->hash : a->dummy);
    memcpy(r->pass, pass, plen <= PASS_MAX ? plen : PASS_MAX);
    r->key_len = peer_key(peer, peer_len, r->key);
    r->done = done;
    r->arg = arg;
    if (worker_submit(run_crypt, crypt_done, r) == -1) {
        free_req(r);
        return NULL;
    }
    r->running = 1;
    a->running++;
    r->a = a;
    r->next = a->pending;
    if (a->pending)
        a->pending->prev = r;
    a->pending = r;
    return r;
}

void mail_auth_cancel(struct mail_auth_req *r)
{
    if (!r)
        return;
    if (r->running) {
        r->cancelled = 1;            /* still counted until the helper thread lets go */
        return;
    }
    unlink_req(r);
    free_req(r);                     /* waiting out its delay: the timer goes with it */
}
