/*
 * Unit test of servers/mail/auth.c and auth_delay.c: -u passwords hashed
 * at start and wiped from the options, the passwd file (comments, schemes,
 * domains, every error naming FILE:LINE), a reload that keeps the old
 * users when the file turns bad, checks on the real reactor and helper
 * thread (a match, a wrong password answered after the delay, an unknown
 * user, cancellation, freeing with checks in flight), and the delay
 * table's growth, forgetting and bound on a clock of the test's own.
 */
#include <crypt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <event2/event.h>

#include "auth.h"
#include "auth_delay.h"
#include "mail.h"
#include "reactor.h"
#include "unit.h"
#include "worker.h"

static char dir[] = "/tmp/test_mail_auth.XXXXXX";

/* ---- a configuration as mail_check leaves it ---- */

struct setup {
    struct mail_cfg cfg;
    struct mail_domain dom[2];
    const char *v[8];
    char tag[8];
    char given[4][64];               /* the -u values, writable as argv is */
};

/* One domain (example.org) or two (and other.org); users "name=pass"
 * of example.org. */
static void setup_init(struct setup *s, int two, const char *const *users, size_t n_users)
{
    memset(s, 0, sizeof *s);
    size_t k = 0;
    snprintf(s->dom[0].name, sizeof s->dom[0].name, "example.org");
    s->dom[0].path = "/srv/mail/example.org";
    s->v[k] = "example.org=/srv/mail/example.org";
    s->tag[k++] = 'd';
    for (size_t i = 0; i < n_users; i++) {
        snprintf(s->given[i], sizeof s->given[i], "%s", users[i]);
        s->v[k] = s->given[i];
        s->tag[k++] = 'u';
    }
    s->cfg.n_dom = 1;
    if (two) {
        snprintf(s->dom[1].name, sizeof s->dom[1].name, "other.org");
        s->dom[1].path = "/srv/mail/other.org";
        s->v[k] = "other.org=/srv/mail/other.org";
        s->tag[k++] = 'd';
        s->cfg.n_dom = 2;
    }
    s->cfg.domains = (struct opt_list){ s->v, k, s->tag };
    s->cfg.dom = s->dom;
}

static const char *write_file(const char *name, const char *text)
{
    static char path[4][512];
    static int turn;
    char *p = path[turn++ % 4];
    snprintf(p, sizeof path[0], "%s/%s", dir, name);
    FILE *f = fopen(p, "w");
    if (!f)
        abort();
    fputs(text, f);
    fclose(f);
    return p;
}

static char *make_hash(const char *pass, const char *prefix)
{
    static char out[4][CRYPT_OUTPUT_SIZE];
    static int turn;
    struct crypt_data *d = calloc(1, sizeof *d);
    char *salt = crypt_gensalt_ra(prefix, 0, NULL, 0);
    char *o = out[turn++ % 4];
    snprintf(o, CRYPT_OUTPUT_SIZE, "%s", crypt_r(pass, salt, d));
    free(salt);
    free(d);
    return o;
}

static int knows(const struct mail_auth *a, const char *user, const char *want_dir)
{
    char d[512], login[400];
    return mail_auth_maildir(a, user, d, sizeof d, login, sizeof login) == 0 &&
           strcmp(d, want_dir) == 0;
}

/* ---- the users ---- */

static void test_given(void)
{
    struct setup s;
    char err[512];
    static const char *const users[] = { "alice=secret", "Bob=pw2" };
    setup_init(&s, 0, users, 2);
    struct mail_auth *a = mail_auth_new(&s.cfg, err, sizeof err);
    CHECK(a != NULL, "-u users hashed at start");
    CHECK_STR(s.given[0], "alice=", "the clear password is wiped from the option");
    CHECK(s.given[0][7] == '\0' && s.given[0][11] == '\0', "every byte of it");
    CHECK_STR(s.given[1], "Bob=", "and the second one");
    CHECK(knows(a, "alice", "/srv/mail/example.org/alice"), "alice without a domain: the only one");
    CHECK(knows(a, "ALICE@Example.ORG", "/srv/mail/example.org/alice"), "case does not matter");
    CHECK(knows(a, "bob@example.org", "/srv/mail/example.org/bob"), "Bob is bob");
    CHECK(!knows(a, "carol", "/srv/mail/example.org/carol"), "an unknown user is unknown");
    CHECK(!knows(a, "alice@other.org", "/srv/mail/other.org/alice"), "a domain not served");
    char d[64], login[64];
    CHECK(mail_auth_maildir(a, "alice", d, sizeof d, login, sizeof login) == 0 &&
          strcmp(login, "alice@example.org") == 0, "the canonical login");
    mail_auth_free(a);

    /* Started again on the same options: the password is gone, refused. */
    a = mail_auth_new(&s.cfg, err, sizeof err);
    CHECK(a == NULL, "a -u whose password was wiped is refused");
    CHECK_HAS(err, "alice", "naming the user: %s", err);

    static const char *const twice[] = { "alice=a", "ALICE=b" };
    setup_init(&s, 0, twice, 2);
    a = mail_auth_new(&s.cfg, err, sizeof err);
    CHECK(a == NULL, "-u given twice for one user");
    CHECK_HAS(err, "alice@example.org given twice", "says so: %s", err);

    static const char *const one[] = { "alice=secret" };
    setup_init(&s, 0, one, 1);
    s.cfg.passwd_file = write_file("clash", "alice:$6$abc$def\n");
    a = mail_auth_new(&s.cfg, err, sizeof err);
    CHECK(a == NULL, "a passwd-file user also given with -u");
    CHECK_HAS(err, "clash:1: this user is also given with -u", "FILE:LINE: %s", err);
}

static void test_file(void)
{
    struct setup s;
    char err[512], text[2048];
    setup_init(&s, 0, NULL, 0);
    snprintf(text, sizeof text,
             "# users of example.org\n"
             "\n"
             "   \t\n"
             "alice:%s\n"
             "bob@example.org:{SHA512-CRYPT}%s:1000:1000::/home/bob::extra\n"
             "  # an indented comment\n"
             "carol@EXAMPLE.org:%s:\r\n"
             "dave:$1$abcdefgh$0123456789abcdefghijkl",
             make_hash("a", "$y$"), make_hash("b", "$6$"), make_hash("c", NULL));
    s.cfg.passwd_file = write_file("passwd", text);
    struct mail_auth *a = mail_auth_new(&s.cfg, err, sizeof err);
    CHECK(a != NULL, "a passwd file with comments, blank lines, schemes, extra fields %s",
          a ? "" : err);
    CHECK(knows(a, "alice@example.org", "/srv/mail/example.org/alice"), "yescrypt user");
    CHECK(knows(a, "bob", "/srv/mail/example.org/bob"), "{SHA512-CRYPT} user");
    CHECK(knows(a, "carol", "/srv/mail/example.org/carol"), "domain in capitals, CRLF line");
    CHECK(knows(a, "dave", "/srv/mail/example.org/dave"), "a last line with no newline");
    mail_auth_free(a);

    /* Two domains: a user needs its domain, unless -D names the default. */
    setup_init(&s, 1, NULL, 0);
    s.cfg.passwd_file = write_file("two", "x@other.org:$6$abc$def\nalice:$6$abc$def\n");
    a = mail_auth_new(&s.cfg, err, sizeof err);
    CHECK(a == NULL, "two domains, no -D: a user without a domain is refused");
    CHECK_HAS(err, "two:2: no @domain", "FILE:LINE: %s", err);
    s.cfg.dflt = &s.dom[1];
    a = mail_auth_new(&s.cfg, err, sizeof err);
    CHECK(a != NULL, "with -D it is the default domain's %s", a ? "" : err);
    CHECK(knows(a, "alice@other.org", "/srv/mail/other.org/alice"), "alice of other.org");
    CHECK(knows(a, "x", "/srv/mail/other.org/x"), "a login without domain: the default's");
    CHECK(!knows(a, "alice@example.org", "/srv/mail/example.org/alice"), "not example.org's");
    mail_auth_free(a);
}

struct bad_file {
    const char *text;
    unsigned line;
    const char *why;
};

static void test_file_errors(void)
{
    static const struct bad_file bad[] = {
        { "# fine\nalice:$6$abc$def\nno colon here\n", 3, "not user[@domain]:HASH" },
        { "alice@nowhere.org:$6$abc$def\n", 1, "its domain is not served (-d)" },
        { "alice:\n", 1, "not a crypt(3) hash" },
        { "\nalice:secret\n", 2, "not a crypt(3) hash" },
        { "alice:abJnggxhB/yWI\n", 1, "not a crypt(3) hash" },     /* traditional DES */
        { "alice:{PLAIN}secret\n", 1, "only crypt(3) hashes" },
        { "alice:$6$a$b\nbob:$6$a$b\n\nalice:$6$a$c\n", 4,
          "alice@example.org given again (line 1)" },
        { "a/b:$6$abc$def\n", 1, "not a user name" },
        { ".hidden:$6$abc$def\n", 1, "not a user name" },
        { "alice@:$6$abc$def\n", 1, "its domain is not served" },
    };
    char err[512] = "", name[16], want[128];
    struct setup s;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        setup_init(&s, 0, NULL, 0);
        snprintf(name, sizeof name, "bad%zu", i + 1);
        snprintf(want, sizeof want, "/%s:%u: %s", name, bad[i].line, bad[i].why);
        s.cfg.passwd_file = write_file(name, bad[i].text);
        struct mail_auth *a = mail_auth_new(&s.cfg, err, sizeof err);
        CHECK(a == NULL, "%s refused", name);
        CHECK_HAS(err, want, "%s: %s", name, err);
        mail_auth_free(a);
    }

    char *longline = malloc(5000);
    memset(longline, 'a', 4999);
    longline[4999] = '\0';
    setup_init(&s, 0, NULL, 0);
    s.cfg.passwd_file = write_file("long", longline);
    free(longline);
    struct mail_auth *a = mail_auth_new(&s.cfg, err, sizeof err);
    CHECK(a == NULL && strstr(err, "long:1: line too long"), "an over-long line: %s", err);

    s.cfg.passwd_file = write_file("nul", "");
    FILE *f = fopen(s.cfg.passwd_file, "w");
    fwrite("ok:$6$a$b\nalice:$6$a\0bc$def\n", 1, 28, f);
    fclose(f);
    a = mail_auth_new(&s.cfg, err, sizeof err);
    CHECK(a == NULL && strstr(err, "nul:2: a NUL byte"), "a NUL byte: %s", err);

    s.cfg.passwd_file = dir;
    a = mail_auth_new(&s.cfg, err, sizeof err);
    CHECK(a == NULL && strstr(err, "not a regular file"), "a directory: %s", err);
    s.cfg.passwd_file = "/nonexistent/passwd";
    a = mail_auth_new(&s.cfg, err, sizeof err);
    CHECK(a == NULL && strstr(err, "/nonexistent/passwd"), "a missing file: %s", err);
}

static void test_reload(void)
{
    struct setup s;
    char err[512] = "";
    setup_init(&s, 0, NULL, 0);
    s.cfg.passwd_file = write_file("reload", "alice:$6$abc$def\n");
    struct mail_auth *a = mail_auth_new(&s.cfg, err, sizeof err);
    CHECK(a && knows(a, "alice", "/srv/mail/example.org/alice"), "before the reload");
    write_file("reload", "alice:$6$abc$def\nbob:not-a-hash\n");
    CHECK(mail_auth_reload(a, err, sizeof err) == -1, "a reload of a bad file fails");
    CHECK_HAS(err, "reload:2: not a crypt(3) hash", "naming FILE:LINE: %s", err);
    CHECK(knows(a, "alice", "/srv/mail/example.org/alice"), "the old users stay");
    CHECK(!knows(a, "bob", "/srv/mail/example.org/bob"), "nothing of the bad file is taken");
    write_file("reload", "bob:$6$abc$def\n");
    CHECK(mail_auth_reload(a, err, sizeof err) == 0, "a good file again");
    CHECK(knows(a, "bob", "/srv/mail/example.org/bob"), "its users come");
    CHECK(!knows(a, "alice", "/srv/mail/example.org/alice"), "those it dropped go");
    mail_auth_free(a);
}

/* ---- checks on the reactor ---- */

struct answer {
    int done, ok;
};

static void on_answer(int ok, void *arg)
{
    struct answer *r = arg;
    r->done++;
    r->ok = ok;
}

static void on_limit(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what;
    *(int *)arg = 1;
}

/* Runs the loop until *flag is set or seconds pass; the seconds taken. */
static double run_until(const int *flag, double seconds)
{
    struct timespec t0, t1;
    int expired = 0;
    struct timeval tv = reactor_timeval(seconds);
    struct event *limit = evtimer_new(reactor_base(), on_limit, &expired);
    evtimer_add(limit, &tv);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    while (!*flag && !expired)
        event_base_loop(reactor_base(), EVLOOP_ONCE);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    event_free(limit);
    return (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
}

static void test_checks(void)
{
    struct setup s;
    char err[512], text[1024];
    static const char *const users[] = { "alice=secret" };
    setup_init(&s, 0, users, 1);
    snprintf(text, sizeof text, "bob:%s\ncarol:%s\n", make_hash("pw-b", "$6$"),
             make_hash("pw-c", "$y$"));
    s.cfg.passwd_file = write_file("checks", text);
    struct mail_auth *a = mail_auth_new(&s.cfg, err, sizeof err);
    CHECK(a != NULL, "users for the checks %s", a ? "" : err);
    struct sockaddr_in peer = { .sin_family = AF_INET, .sin_port = htons(4000) };
    inet_pton(AF_INET, "192.0.2.1", &peer.sin_addr);
    const struct sockaddr *sa = (const struct sockaddr *)&peer;
    static const struct { const char *user, *pass; int ok; } cases[] = {
        { "alice", "secret", 1 },      { "ALICE@example.org", "secret", 1 },
        { "bob", "pw-b", 1 },          { "carol@example.org", "pw-c", 1 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct answer r = { 0 };
        struct mail_auth_req *q = mail_auth_check(a, cases[i].user, cases[i].pass, sa,
                                                  sizeof peer, on_answer, &r);
        CHECK(q && r.done == 0, "%s: the check runs later", cases[i].user);
        double took = run_until(&r.done, 30);
        CHECK(r.done == 1 && r.ok == 1 && took < 1, "%s with the right password: ok at once "
              "(%.3f s)", cases[i].user, took);
    }

    /* Failures from one address: answered after 1 s, then 2 s. */
    struct answer r = { 0 };
    mail_auth_check(a, "alice", "wrong", sa, sizeof peer, on_answer, &r);
    double took = run_until(&r.done, 30);
    CHECK(r.done == 1 && r.ok == 0 && took >= 0.95 && took < 1.9,
          "a wrong password: failed after about 1 s (%.3f s)", took);
    r = (struct answer){ 0 };
    mail_auth_check(a, "nobody", "x", sa, sizeof peer, on_answer, &r);
    took = run_until(&r.done, 30);
    CHECK(r.done == 1 && r.ok == 0 && took >= 1.95 && took < 2.9,
          "an unknown user from the same address: failed after about 2 s (%.3f s)", took);
    struct sockaddr_in6 peer6 = { .sin6_family = AF_INET6 };
    inet_pton(AF_INET6, "::ffff:192.0.2.1", &peer6.sin6_addr);
    r = (struct answer){ 0 };
    mail_auth_check(a, "alice", "secret", (const struct sockaddr *)&peer6, sizeof peer6,
                    on_answer, &r);
    took = run_until(&r.done, 30);
    CHECK(r.done == 1 && r.ok == 1 && took < 1, "a success is never delayed (%.3f s)", took);

    /* Cancelled while crypt(3) runs: done never comes, nothing leaks. */
    r = (struct answer){ 0 };
    struct mail_auth_req *q = mail_auth_check(a, "carol", "pw-c", sa, sizeof peer, on_answer, &r);
    mail_auth_cancel(q);
    struct answer later = { 0 };
    mail_auth_check(a, "bob", "pw-b", NULL, 0, on_answer, &later);
    run_until(&later.done, 30);
    CHECK(r.done == 0 && later.done == 1, "a check cancelled while it runs never answers");

    /* Cancelled during its delay. */
    r = (struct answer){ 0 };
    q = mail_auth_check(a, "bob", "nope", NULL, 0, on_answer, &r);
    int never = 0;
    run_until(&never, 0.5);
    mail_auth_cancel(q);
    run_until(&never, 1.5);
    CHECK(r.done == 0, "a check cancelled during its delay never answers");

    /* The checks on the helper thread at once are bounded, cancelled
     * ones too until the thread lets go of them. */
    struct answer many[40] = { { 0 } };
    struct mail_auth_req *qs[40];
    int taken = 0, all_done = 0;
    for (int i = 0; i < 40; i++)
        taken += (qs[i] = mail_auth_check(a, "bob", "pw-b", NULL, 0, on_answer, &many[i])) != NULL;
    CHECK(taken == 32, "32 checks at once, the others refused (%d taken)", taken);
    for (int i = 0; i < 32; i++)
        mail_auth_cancel(qs[i]);
    r = (struct answer){ 0 };
    CHECK(!mail_auth_check(a, "bob", "pw-b", NULL, 0, on_answer, &r),
          "cancelled checks count while the thread holds them");
    for (int i = 0; i < 40; i++)
        all_done += many[i].done;
    run_until(&never, 2);
    for (int i = 0; i < 40; i++)
        all_done += many[i].done;
    CHECK(all_done == 0, "none of the cancelled ones answers");
    q = mail_auth_check(a, "bob", "pw-b", NULL, 0, on_answer, &r);
    run_until(&r.done, 30);
    CHECK(q && r.done == 1 && r.ok == 1, "once they are back, checks are taken again");

    /* Freed with a check running and one waiting out its delay. */
    struct answer r1 = { 0 }, r2 = { 0 };
    mail_auth_check(a, "bob", "nope", NULL, 0, on_answer, &r1);
    run_until(&never, 0.5);
    mail_auth_check(a, "carol", "pw-c", NULL, 0, on_answer, &r2);
    mail_auth_free(a);
    worker_shutdown();
    run_until(&never, 0.2);
    CHECK(r1.done == 0 && r2.done == 0, "freed with checks in flight: none answers");
}

/* ---- the delay table, on the test's clock ---- */

static void test_delay(void)
{
    struct auth_delay *t = auth_delay_new(4);
    const unsigned char a[] = { 4, 192, 0, 2, 1 }, b[] = { 4, 192, 0, 2, 2 };
    static const double want[] = { 1, 2, 4, 8, 15, 15, 15 };
    double now = 1000;
    int grows = 1;
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        grows &= auth_delay_failed(t, a, sizeof a, now += 1) == want[i];
    CHECK(grows, "1 s, 2 s, 4 s, 8 s, then 15 s each");
    CHECK(auth_delay_failures(t, a, sizeof a, now) == 7, "seven failures remembered");
    CHECK(auth_delay_failed(t, b, sizeof b, now) == 1, "another address starts at 1 s");
    CHECK(auth_delay_failures(t, a, sizeof a, now + 599) == 7, "kept for 10 minutes");
    CHECK(auth_delay_failures(t, a, sizeof a, now + 600) == 0, "forgotten after 10 minutes");
    CHECK(auth_delay_failed(t, a, sizeof a, now + 601) == 1, "and it starts at 1 s again");
    CHECK(auth_delay_count(t) == 1, "only the forgotten one's new entry is left");

    /* Full: the address whose last failure is oldest goes. */
    unsigned char k[5] = { 4, 10, 0, 0, 0 };
    now += 700;
    for (unsigned i = 0; i < 4; i++, now += 1) {
        k[4] = (unsigned char)i;
        auth_delay_failed(t, k, sizeof k, now);
    }
    k[4] = 0;
    auth_delay_failed(t, k, sizeof k, now++);       /* 10.0.0.0 fails again: newest */
    k[4] = 9;
    auth_delay_failed(t, k, sizeof k, now++);       /* a fifth address */
    CHECK(auth_delay_count(t) == 4, "the table holds at most its bound");
    k[4] = 1;
    CHECK(auth_delay_failures(t, k, sizeof k, now) == 0, "the oldest was dropped");
    k[4] = 0;
    CHECK(auth_delay_failures(t, k, sizeof k, now) == 2, "a recent one stays");
    k[4] = 9;
    CHECK(auth_delay_failures(t, k, sizeof k, now) == 1, "the new one is in");
    auth_delay_free(t);

    /* Many addresses through a table of the real bound. */
    t = auth_delay_new(AUTH_DELAY_ADDRS);
    for (unsigned i = 0; i < 3 * AUTH_DELAY_ADDRS; i++) {
        unsigned char key[5] = { 4, 10, (unsigned char)(i >> 16), (unsigned char)(i >> 8),
                                 (unsigned char)i };
        auth_delay_failed(t, key, sizeof key, 5000 + i * 0.001);
    }
    CHECK(auth_delay_count(t) == AUTH_DELAY_ADDRS, "%u addresses: the table stays at %u",
          3 * AUTH_DELAY_ADDRS, AUTH_DELAY_ADDRS);
    auth_delay_free(t);
}

int main(void)
{
    char err[256];
    if (!mkdtemp(dir) || reactor_init(NULL, err, sizeof err) == -1) {
        perror("set-up");
        return 2;
    }
    test_given();
    test_file();
    test_file_errors();
    test_reload();
    test_delay();
    test_checks();
    reactor_free();
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        perror("rm");
    return unit_done();
}
