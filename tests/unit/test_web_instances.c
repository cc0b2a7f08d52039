/*
 * Unit test of gale web as an instance: two web servers started in one
 * process from two option structs, each with its own document root,
 * --add-header lines, default type and access log; one is stopped and
 * cleaned up while the other goes on serving, with a CGI script still
 * running (its child is killed and its job freed at the reap); a start
 * that fails half-way is cleaned up.  The web sources are built into this
 * test (tests/CMakeLists.txt); the client runs on a thread and talks over
 * unix sockets while the reactor turns here.  ASan builds check that
 * nothing is used after it is freed and that nothing leaks.  TAP output;
 * exits non-zero when a check fails.
 */
#include <errno.h>
#include <ftw.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <event2/event.h>

#include "conn.h"
#include "log.h"
#include "reactor.h"
#include "server.h"
#include "web.h"
#include "unit.h"

extern const struct gale_server gale_server_web;

static char top[64];

struct client {
    char sock[100];
    const char *request;
    const char *until;            /* close once the reply holds this; NULL: read to the end */
    char reply[8192];
    atomic_int done;
};

static void *client_run(void *arg)
{
    struct client *c = arg;
    struct sockaddr_un sun = { .sun_family = AF_UNIX };
    size_t got = 0;
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    snprintf(sun.sun_path, sizeof sun.sun_path, "%s", c->sock);
    if (fd != -1 && connect(fd, (struct sockaddr *)&sun, sizeof sun) == 0 &&
        write(fd, c->request, strlen(c->request)) == (ssize_t)strlen(c->request)) {
        ssize_t n;
        while (got < sizeof c->reply - 1 &&
               (n = read(fd, c->reply + got, sizeof c->reply - 1 - got)) > 0) {
            got += (size_t)n;
            c->reply[got] = '\0';
            if (c->until && strstr(c->reply, c->until))
                break;
        }
    }
    c->reply[got] = '\0';
    if (fd != -1)
        close(fd);
    atomic_store(&c->done, 1);
    return NULL;
}

/* Turns the reactor until cond(arg) holds or 5 s pass; 1 when it held. */
static int turn_until(int (*cond)(void *), void *arg)
{
    struct timespec ms = { 0, 1000000 };
    for (int i = 0; i < 5000; i++) {
        if (cond(arg))
            return 1;
        event_base_loop(reactor_base(), EVLOOP_NONBLOCK);
        nanosleep(&ms, NULL);
    }
    return cond(arg);
}

static int client_done(void *arg)
{
    return atomic_load(&((struct client *)arg)->done);
}

static void client_start(struct client *c, pthread_t *t, const char *name, const char *req,
                         const char *until)
{
    memset(c, 0, sizeof *c);
    snprintf(c->sock, sizeof c->sock, "%s/%s.sock", top, name);
    c->request = req;
    c->until = until;
    pthread_create(t, NULL, client_run, c);
}

/* One request answered in full (the server closes after it). */
static const char *ask(struct client *c, const char *name, const char *req)
{
    pthread_t t;
    client_start(c, &t, name, req, NULL);
    turn_until(client_done, c);
    pthread_join(t, NULL);
    return c->reply;
}

static void put(const char *rel, const char *text, mode_t mode)
{
    char p[256];
    snprintf(p, sizeof p, "%s/%s", top, rel);
    FILE *f = fopen(p, "w");
    if (!f || fputs(text, f) < 0 || fclose(f) != 0)
        fprintf(stderr, "cannot write %s\n", p);
    chmod(p, mode);
}

static void make_tree(void)
{
    char p[256];
    snprintf(p, sizeof p, "%s/a", top);
    mkdir(p, 0755);
    snprintf(p, sizeof p, "%s/b", top);
    mkdir(p, 0755);
    put("a/f.txt", "from a", 0644);
    put("b/f.txt", "from b", 0644);
    put("a/x.zz", "zz", 0644);
    put("b/x.zz", "zz", 0644);
    put("b/slow.cgi", "#!/bin/sh\nexec sleep 30\n", 0755);
    put("b/tick.cgi", "#!/bin/sh\nprintf 'Content-Type: text/plain\\r\\n\\r\\n'\n"
        "while :; do echo tick; sleep 0.05; done\n", 0755);
    put("b/linger.cgi", "#!/bin/sh\necho 'Content-Type: text/plain'\necho\necho done\n"
        "exec >&-\nexec sleep 30\n", 0755);
}

/* What gale's option table gives a web server by default. */
static void defaults(struct web_cfg *cfg, const char *name, const char **listen,
                     const char **header, const char *type)
{
    static char paths[3][128];
    char *path = paths[name[0] - 'a'];
    snprintf(path, sizeof paths[0], "%s/%s", top, name);
    memset(cfg, 0, sizeof *cfg);
    cfg->listen = (struct opt_list){ listen, 1, NULL };
    cfg->add_header = (struct opt_list){ header, 1, NULL };
    cfg->path = path;
    cfg->mime_type = type;
    cfg->max_request_line = 8192;
    cfg->max_header_size = 32768;
    cfg->max_headers = 100;
    cfg->max_body = 10 << 20;
    cfg->header_timeout = 30;
    cfg->keepalive_timeout = 75;
    cfg->send_timeout = 60;
    cfg->cgi_timeout = 60;
}

static int two_scripts(void *arg)
{
    return ((struct web_cfg *)arg)->inst->cgi.count == 2;
}

static int no_scripts(void *arg)
{
    return ((struct web_cfg *)arg)->inst->cgi.count == 0;
}

static int no_children(void *arg)
{
    siginfo_t si;
    (void)arg;
    return waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) == -1 && errno == ECHILD;
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st; (void)flag; (void)ftw;
    return remove(p);
}

static char listen_a[160], listen_b[160], listen_c[160], log_a[160];

static void test_two_servers(struct web_cfg *a, struct web_cfg *b)
{
    struct client c;
    char err[512];
    CHECK(gale_server_web.start(a, err, sizeof err) == 0, "server a starts (%s)", err);
    CHECK(gale_server_web.start(b, err, sizeof err) == 0, "server b starts (%s)", err);
    CHECK(a->inst && b->inst && a->inst != b->inst, "each its own instance");

    ask(&c, "a", "GET /f.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    CHECK_HAS(c.reply, "\r\n\r\nfrom a", "a serves its own root");
    CHECK(strstr(c.reply, "X-Server: a\r\n") && !strstr(c.reply, "X-Server: b"),
          "with its own --add-header");
    ask(&c, "b", "GET /f.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    CHECK_HAS(c.reply, "\r\n\r\nfrom b", "b serves its own root");
    CHECK(strstr(c.reply, "X-Server: b\r\n") && !strstr(c.reply, "X-Server: a"),
          "with its own --add-header");
    ask(&c, "a", "GET /x.zz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    CHECK_HAS(c.reply, "Content-Type: application/x-a\r\n", "a's default type");
    ask(&c, "b", "GET /nothing HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    CHECK(strstr(c.reply, " 404 ") && strstr(c.reply, "X-Server: b\r\n"),
          "b's error pages carry b's header");
    ask(&c, "b", "GET /x.zz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    CHECK_HAS(c.reply, "Content-Type: application/x-b\r\n", "b's default type");
    gale_server_web.reload(b);
    ask(&c, "a", "GET /f.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    CHECK_HAS(c.reply, "\r\n\r\nfrom a", "a serves on after b's reload");
}

/* A client that leaves while its script writes: the write fails outside
 * the session's callbacks, the session closes at once and the script is
 * killed. */
static void test_client_leaves(struct web_cfg *b)
{
    struct client c;
    pthread_t t;
    client_start(&c, &t, "b", "GET /tick.cgi HTTP/1.1\r\nHost: x\r\n\r\n", "tick");
    turn_until(client_done, &c);
    pthread_join(t, NULL);
    CHECK_HAS(c.reply, "tick", "a script streams to its client");
    CHECK(turn_until(no_scripts, b) && turn_until(no_children, NULL),
          "the client leaves: the script is killed and reaped");
}

/* b is cleaned up while one script runs for a client and another,
 * whose response is complete, lingers; a serves on. */
static void test_cleanup_one(struct web_cfg *a, struct web_cfg *b)
{
    struct client c, slow;
    pthread_t t;
    ask(&c, "b", "GET /linger.cgi HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    CHECK(strstr(c.reply, " 200 ") && strstr(c.reply, "\r\ndone\n"), "a script answers");
    CHECK(b->inst->cgi.count == 1, "and lingers after its response");
    client_start(&slow, &t, "b", "GET /slow.cgi HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
                 NULL);
    CHECK(turn_until(two_scripts, b), "b runs a script for a client");
    gale_server_web.stop(b);
    gale_server_web.cleanup(b);
    CHECK(b->inst == NULL, "b is gone");
    gale_server_web.cleanup(b);
    CHECK(1, "a second cleanup does nothing");
    turn_until(client_done, &slow);
    pthread_join(t, NULL);
    CHECK(!strstr(slow.reply, " 200 "), "the script's client was cut off");
    CHECK(turn_until(no_children, NULL), "the script was killed and reaped");
    ask(&c, "a", "GET /f.txt HTTP/1.1\r\nHost: x\r\nUser-Agent: t\r\nConnection: close\r\n\r\n");
    CHECK_HAS(c.reply, "\r\n\r\nfrom a", "a serves on");
    gale_server_web.stop(a);
    gale_server_web.cleanup(a);
    FILE *f = fopen(log_a, "r");
    char line[512] = "";
    int lines = 0;
    while (f && fgets(line, sizeof line, f))
        lines++;
    if (f)
        fclose(f);
    CHECK(lines == 4 && strstr(line, "\"GET /f.txt HTTP/1.1\" 200 6 \"-\" \"t\""),
          "a's access log holds a's requests only (%d lines)", lines);
}

static void test_failed_start(void)
{
    static const char *bad[2];
    static const char *hdr[] = { "X-Server: c" };
    struct web_cfg cfg;
    char err[512];
    bad[0] = listen_c;
    bad[1] = "unix:/nonexistent/gale/c.sock";
    defaults(&cfg, "a", bad, hdr, "application/x-c");
    cfg.listen.n = 2;
    cfg.logfile = log_a;
    CHECK(gale_server_web.start(&cfg, err, sizeof err) == -1, "a start that cannot bind: %s",
          err);
    CHECK(cfg.inst != NULL, "what it made is kept for cleanup");
    gale_server_web.cleanup(&cfg);
    CHECK(cfg.inst == NULL, "and cleanup frees it");
    gale_server_web.cleanup(&cfg);
    struct web_cfg never;
    defaults(&never, "a", bad, hdr, NULL);
    gale_server_web.cleanup(&never);
    CHECK(1, "cleanup of a server never started does nothing");
}

int main(void)
{
    static const char *la[1], *lb[1];
    static const char *ha[] = { "X-Server: a" }, *hb[] = { "X-Server: b" };
    struct web_cfg a, b;
    char err[512];
    log_threshold = LOG_LVL_DEBUG;    /* the debug lines run too, on stderr */
    snprintf(top, sizeof top, "/tmp/gale-inst-XXXXXX");
    if (!mkdtemp(top) || reactor_init(NULL, err, sizeof err) == -1)
        return 1;
    make_tree();
    snprintf(listen_a, sizeof listen_a, "unix:%s/a.sock", top);
    snprintf(listen_b, sizeof listen_b, "unix:%s/b.sock", top);
    snprintf(listen_c, sizeof listen_c, "unix:%s/c.sock", top);
    snprintf(log_a, sizeof log_a, "%s/a.log", top);
    la[0] = listen_a;
    lb[0] = listen_b;
    defaults(&a, "a", la, ha, "application/x-a");
    defaults(&b, "b", lb, hb, "application/x-b");
    a.logfile = log_a;
    test_two_servers(&a, &b);
    test_client_leaves(&b);
    test_cleanup_one(&a, &b);
    test_failed_start();
    listeners_close_all();
    reactor_free();
    nftw(top, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    return unit_done();
}
