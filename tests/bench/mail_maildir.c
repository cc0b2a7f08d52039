/*
 * Benchmark (not a test) of Maildir delivery: deliveries per second of
 * 10 KiB messages through maildir_deliver() with 20 in flight, every one
 * fsynced into new/ as the SMTP side needs before it answers 250.  The
 * figure is the disk's fsync rate as much as gale's.
 *
 *     cmake --build build --target bench_mail_maildir
 *     build/tests/bench_mail_maildir [DIR [COUNT]]
 *
 * DIR (default $TMPDIR or /tmp) is where a scratch Maildir is made and
 * removed afterwards; COUNT deliveries (default 5000).
 */
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "maildir.h"
#include "reactor.h"
#include "worker.h"

#define IN_FLIGHT 20
#define MESSAGE_SIZE 10240

struct bench {
    char dir[4096];
    char body[MESSAGE_SIZE];
    int count, submitted, done, failed;
};

static void submit(struct bench *b);

static void delivered(int ok, const char *error, void *arg)
{
    struct bench *b = arg;
    if (!ok && b->failed++ == 0)
        fprintf(stderr, "delivery failed: %s\n", error);
    b->done++;
    if (b->submitted < b->count)
        submit(b);
}

static void submit(struct bench *b)
{
    const char *dirs[] = { b->dir };
    struct evbuffer *body = evbuffer_new();
    evbuffer_add(body, b->body, sizeof b->body);
    b->submitted++;
    if (maildir_deliver(dirs, 1, NULL, 0, body, "bench", delivered, b) == -1) {
        b->failed++;
        b->done++;
    }
    evbuffer_free(body);
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
    (void)st, (void)flag, (void)f;
    return remove(p);
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    static struct bench b;
    const char *tmp = getenv("TMPDIR");
    char err[256];
    snprintf(b.dir, sizeof b.dir, "%s/gale-bench-maildir-XXXXXX",
             argc > 1 ? argv[1] : tmp && *tmp ? tmp : "/tmp");
    b.count = argc > 2 ? atoi(argv[2]) : 5000;
    for (size_t i = 0; i < sizeof b.body; i++)
        b.body[i] = i % 78 == 76 ? '\r' : i % 78 == 77 ? '\n' : (char)('a' + i % 26);
    if (b.count <= 0 || !mkdtemp(b.dir) || reactor_init(NULL, err, sizeof err) == -1) {
        fprintf(stderr, "usage: %s [DIR [COUNT]]: cannot set up\n", argv[0]);
        return 1;
    }
    double start = now();
    for (int i = 0; i < IN_FLIGHT && i < b.count; i++)
        submit(&b);
    while (b.done < b.count)
        event_base_loop(reactor_base(), EVLOOP_ONCE);
    double secs = now() - start;
    worker_shutdown();
    reactor_free();
    nftw(b.dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    printf("%d deliveries of %d bytes, %d in flight: %.2f s, %.0f deliveries/s, %d failed\n",
           b.count, MESSAGE_SIZE, IN_FLIGHT, secs, b.count / secs, b.failed);
    return b.failed ? 1 : 0;
}
