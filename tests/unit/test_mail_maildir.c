/*
 * Unit test of servers/mail/maildir.c, Maildir delivery, against the real
 * reactor and helper thread: delivery to one and to three Maildirs (one on
 * another filesystem when /dev/shm is one), byte-exact content, the name
 * pattern, failures that leave nothing behind, 10000 deliveries without a
 * name collision, and processes killed at random points of a delivery.
 * The POP3 side is tested in test_mail_maildir_pop.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <regex.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "maildir.h"
#include "reactor.h"
#include "unit.h"
#include "worker.h"
#include "mail_maildir.h"

#define CRASH_ROUNDS 200
#define MANY 10000
#define IN_FLIGHT 20

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    *len = 0;
    if (!f)
        return NULL;
    struct stat st;
    if (fstat(fileno(f), &st) == 0 && (buf = malloc((size_t)st.st_size + 1)))
        *len = fread(buf, 1, (size_t)st.st_size, f);
    fclose(f);
    return buf;
}

/* A whole message: HEAD then the body of seed, as long as ",S=" says. */
static int file_complete(const char *path, const char *name, unsigned seed)
{
    const char *s = strstr(name, ",S=");
    size_t len, want = s ? strtoull(s + 3, NULL, 10) : 0;
    char *p = slurp(path, &len);
    int ok = p && len == want && len >= strlen(HEAD) && memcmp(p, HEAD, strlen(HEAD)) == 0 &&
             body_ok(p + strlen(HEAD), len - strlen(HEAD), seed);
    free(p);
    return ok;
}

static int name_matches(const char *name)
{
    regex_t re;
    regcomp(&re, "^[0-9]+\\.M[0-9]+P[0-9]+Q[0-9]+\\.[^/:,]+,S=[0-9]+$", REG_EXTENDED | REG_NOSUB);
    int ok = regexec(&re, name, 0, NULL, 0) == 0;
    regfree(&re);
    return ok;
}

/* ---- Before the parent starts its own reactor (children fork cleanly) ---- */

static void crash_child(const char *dir)
{
    char err[256];
    const char *dirs[] = { dir };
    if (reactor_init(NULL, err, sizeof err) == -1)
        _exit(2);
    srand((unsigned)getpid());
    for (;;) {
        struct result r;
        if (deliver_wait(dirs, 1, 1024 + (size_t)rand() % (256 * 1024), 7, "crash", &r) == -1)
            _exit(3);
    }
}

/* Complete files in new/ are checked and removed; -1 for a partial one. */
static int sweep_new(const char *dir, int *complete)
{
    static char names[64][MAILDIR_NAME_CAP];
    int n = names_in(path_of(dir, "new", NULL), names, 64), bad = 0;
    for (int i = 0; i < n && i < 64; i++) {
        const char *p = path_of(dir, "new", names[i]);
        if (file_complete(p, names[i], 7) && name_matches(names[i]))
            ++*complete;
        else
            bad++;
        unlink(p);
    }
    return bad ? -1 : 0;
}

static void test_crash(void)
{
    const char *dir = in_base("crash");
    char err[256];
    int complete = 0, bad = 0, left_in_tmp;
    maildir_ensure(dir, err, sizeof err);
    srand(1);
    for (int i = 0; i < CRASH_ROUNDS; i++) {
        pid_t pid = fork();
        if (pid == 0)
            crash_child(dir);
        usleep((useconds_t)(rand() % 20000));
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        bad += sweep_new(dir, &complete) == -1;
    }
    left_in_tmp = count_in(path_of(dir, "tmp", NULL));
    CHECK(bad == 0, "kill -9 at random points: new/ never held a partial file (%d rounds bad)", bad);
    CHECK(complete > 0, "the killed children completed %d deliveries (%d left in tmp/)", complete,
          left_in_tmp);
}

/* A Maildir the delivering process may not write into: new/ or tmp/. */
static void test_read_only(const char *sub)
{
    const char *dir = in_base(sub[0] == 'n' ? "ro-new" : "ro-tmp");
    char err[256];
    maildir_ensure(dir, err, sizeof err);
    int root = geteuid() == 0;
    /* root writes anywhere: the child drops to nobody, who owns the Maildir. */
    if (root && (chmod(base, 0711) == -1 || chown(dir, 65534, 65534) == -1 ||
                 chown(path_of(dir, "tmp", NULL), 65534, 65534) == -1 ||
                 chown(path_of(dir, "new", NULL), 65534, 65534) == -1))
        CHECK(0, "cannot hand %s to nobody: %s", dir, strerror(errno));
    chmod(path_of(dir, sub, NULL), 0500);
    pid_t pid = fork();
    if (pid == 0) {
        const char *dirs[] = { dir };
        struct result r;
        if (root && (setgroups(0, NULL) == -1 || setgid(65534) == -1 || setuid(65534) == -1))
            _exit(4);
        if (reactor_init(NULL, err, sizeof err) == -1 || deliver_wait(dirs, 1, 500, 1, NULL, &r) == -1)
            _exit(3);
        _exit(!r.ok && strstr(r.error, "Permission denied") ? 0 : 1);
    }
    int status = -1;
    waitpid(pid, &status, 0);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0,
          "%s/ not writable: done reports \"Permission denied\" (status %d)", sub, status);
    CHECK(count_in(path_of(dir, "new", NULL)) == 0 && count_in(path_of(dir, "tmp", NULL)) == 0,
          "%s/ not writable: nothing left in new/ or tmp/", sub);
    chmod(path_of(dir, sub, NULL), 0700);
}

/* ---- With the reactor ---- */

static void test_paths(void)
{
    CHECK(!maildir_path_valid("/a/../b") && !maildir_path_valid("../a") &&
          !maildir_path_valid("/a/..") && !maildir_path_valid("..") &&
          !maildir_path_valid("") && !maildir_path_valid(NULL) &&
          !maildir_path_valid("/a/b\nc"), "paths with a .. component or a control byte are refused");
    CHECK(maildir_path_valid("/a/..b/c") && maildir_path_valid("/a/b../c") &&
          maildir_path_valid("rel/Maildir"), "names merely containing dots are taken");
}

static void test_ensure(void)
{
    const char *dir = in_base("ens");
    char err[256] = "";
    struct stat st;
    int ok = maildir_ensure(dir, err, sizeof err) == 0;
    int modes = 1;
    for (int i = 0; i < 3; i++) {
        const char *sub = (const char *[]){ "tmp", "new", "cur" }[i];
        modes &= stat(path_of(dir, sub, NULL), &st) == 0 && S_ISDIR(st.st_mode) &&
                 (st.st_mode & 0777) == 0700;
    }
    CHECK(ok && modes, "maildir_ensure makes PATH/{tmp,new,cur} mode 0700 (%s)", err);
    CHECK(maildir_ensure(dir, err, sizeof err) == 0, "maildir_ensure again: nothing to do");
    CHECK(maildir_ensure(path_of(base, "nothere", "x"), err, sizeof err) == -1,
          "a missing parent is an error");
    CHECK_HAS(err, "nothere/x", "the error names the path");
    CHECK(maildir_ensure(path_of(base, "ens", "../ens"), err, sizeof err) == -1,
          "a path with .. is refused");
    const char *linked = in_base("linked");
    mkdir(linked, 0700);
    CHECK(symlink(path_of(dir, "tmp", NULL), path_of(linked, "tmp", NULL)) == 0 &&
          maildir_ensure(linked, err, sizeof err) == -1, "a tmp/ that is a symbolic link is refused");
}

static void test_one(void)
{
    const char *dir = in_base("one");
    const char *dirs[] = { dir };
    char names[2][MAILDIR_NAME_CAP];
    struct result r;
    CHECK(deliver_wait(dirs, 1, 10000, 3, "mx.example.org", &r) == 0 && r.done == 1 && r.ok,
          "one Maildir, created on the thread: done once, later, ok (%s); body emptied", r.error);
    int n = names_in(path_of(dir, "new", NULL), names, 2);
    char tail[64];
    snprintf(tail, sizeof tail, ".mx.example.org,S=%zu", 10000 + strlen(HEAD));
    CHECK(n == 1 && count_in(path_of(dir, "tmp", NULL)) == 0, "new/ holds the file, tmp/ nothing");
    CHECK(n == 1 && name_matches(names[0]) && strstr(names[0], tail),
          "the name is <sec>.M<usec>P<pid>Q<n>.<host>,S=<size>: %s", names[0]);
    CHECK(n == 1 && file_complete(path_of(dir, "new", names[0]), names[0], 3),
          "the content is head then body, byte for byte");

    struct evbuffer *none = NULL;
    r = (struct result){ 0 };
    CHECK(maildir_deliver(dirs, 1, HEAD, strlen(HEAD), none, "h/o:s,t", on_done, &r) == 0 &&
          run_until(&r.done, 1) && r.ok, "head alone (no body)");
    n = names_in(path_of(dir, "new", NULL), names, 2);
    int escaped = 0;
    snprintf(tail, sizeof tail, ".h\\057o\\072s\\054t,S=%zu", strlen(HEAD));
    for (int i = 0; i < n && i < 2; i++)
        escaped |= strstr(names[i], tail) != NULL;
    CHECK(n == 2 && escaped, "'/', ':' and ',' of the host are written \\057, \\072, \\054");
}

static void test_three(void)
{
    char shm[] = "/dev/shm/gale-maildir-XXXXXX";
    const char *other = mkdtemp(shm) ? shm : in_base("other");
    struct stat a, b;
    mkdir(other, 0700);
    int cross = stat(base, &a) == 0 && stat(other, &b) == 0 && a.st_dev != b.st_dev;
    char *d0 = in_base("three/u0"), *d1 = in_base("three/u1"), d2[PATH_MAX];
    if (snprintf(d2, sizeof d2, "%s/u2", other) >= (int)sizeof d2)
        abort();
    mkdir(in_base("three"), 0700);
    const char *dirs[] = { d0, d1, d2 };
    struct result r;
    CHECK(deliver_wait(dirs, 3, 70000, 5, "mx", &r) == 0 && r.done == 1 && r.ok,
          "three Maildirs (one on %s): ok (%s)", cross ? "another filesystem" : "another directory",
          r.error);
    int all = 1;
    nlink_t links[3] = { 0 };
    char seen[3][MAILDIR_NAME_CAP];
    for (int i = 0; i < 3; i++) {
        char names[2][MAILDIR_NAME_CAP];
        int n = names_in(path_of(dirs[i], "new", NULL), names, 2);
        const char *p = path_of(dirs[i], "new", names[0]);
        all &= n == 1 && count_in(path_of(dirs[i], "tmp", NULL)) == 0 && name_matches(names[0]) &&
               file_complete(p, names[0], 5) && stat(p, &a) == 0;
        links[i] = a.st_nlink;
        snprintf(seen[i], sizeof seen[i], "%s", n == 1 ? names[0] : "");
    }
    CHECK(all, "each new/ holds the whole message, each tmp/ nothing");
    CHECK(strcmp(seen[0], seen[1]) && strcmp(seen[1], seen[2]) && strcmp(seen[0], seen[2]),
          "each copy has a name of its own");
    CHECK(cross ? links[0] == 2 && links[1] == 2 && links[2] == 1
                : links[0] == 3 && links[1] == 3 && links[2] == 3,
          "the same filesystem shares one file (links %lu %lu %lu)", (unsigned long)links[0],
          (unsigned long)links[1], (unsigned long)links[2]);
    rm_tree(other);
}

static void test_refused(void)
{
    const char *bad[] = { in_base("one"), "/tmp/x/../y" };
    struct evbuffer *b = evbuffer_new();
    struct result r = { 0 };
    evbuffer_add(b, "x\r\n", 3);
    CHECK(maildir_deliver(bad, 2, HEAD, strlen(HEAD), b, NULL, on_done, &r) == -1 && errno == EINVAL,
          "a dir with /../ is refused: -1, EINVAL");
    CHECK(maildir_deliver(bad, 0, HEAD, strlen(HEAD), b, NULL, on_done, &r) == -1,
          "no dir at all is refused");
    event_base_loop(reactor_base(), EVLOOP_NONBLOCK);
    CHECK(r.done == 0 && evbuffer_get_length(b) == 3, "refused: done never called, body untouched");
    evbuffer_free(b);
}

static void test_disk_full(void)
{
    const char *dir = in_base("full");
    const char *dirs[] = { dir };
    struct rlimit old, small = { 4096, 4096 };
    struct result r;
    getrlimit(RLIMIT_FSIZE, &old);
    small.rlim_max = old.rlim_max;
    signal(SIGXFSZ, SIG_IGN);
    setrlimit(RLIMIT_FSIZE, &small);
    deliver_wait(dirs, 1, 10000, 1, NULL, &r);
    setrlimit(RLIMIT_FSIZE, &old);
    CHECK(r.done == 1 && !r.ok && strcmp(r.error, "File too large") == 0,
          "a write that fails: ok=0 and the errno text (%s)", r.error);
    CHECK(count_in(path_of(dir, "new", NULL)) == 0 && count_in(path_of(dir, "tmp", NULL)) == 0,
          "a write that fails: nothing left in new/ or tmp/");
}

static void test_rollback(void)
{
    const char *d0 = in_base("rb-good"), *d1 = in_base("rb-broken");
    char err[256];
    maildir_ensure(d1, err, sizeof err);
    rmdir(path_of(d1, "new", NULL));
    int fd = open(path_of(d1, "new", NULL), O_CREAT | O_WRONLY, 0600);   /* new/ is a file */
    close(fd);
    const char *dirs[] = { d0, d1 };
    struct result r;
    deliver_wait(dirs, 2, 100, 1, NULL, &r);
    CHECK(r.done == 1 && !r.ok, "the second Maildir fails: ok=0 (%s)", r.error);
    CHECK(count_in(path_of(d0, "new", NULL)) == 0 && count_in(path_of(d0, "tmp", NULL)) == 0,
          "the copy already in the first Maildir is taken back");
}

static int by_string(const void *a, const void *b)
{
    return strcmp(a, b);
}

struct many {
    const char *dir;
    int submitted, done, failed;
};

static void submit_one(struct many *m);

static void many_done(int ok, const char *error, void *arg)
{
    struct many *m = arg;
    (void)error;
    m->done++;
    m->failed += !ok;
    if (m->submitted < MANY)
        submit_one(m);
}

static void submit_one(struct many *m)
{
    const char *dirs[] = { m->dir };
    struct evbuffer *b = evbuffer_new();
    fill_body(b, 100, 9);
    if (maildir_deliver(dirs, 1, HEAD, strlen(HEAD), b, "many", many_done, m) == -1)
        m->failed++, m->done++;
    m->submitted++;
    evbuffer_free(b);
}

static void test_many(void)
{
    static char names[MANY + 1][MAILDIR_NAME_CAP];
    struct many m = { .dir = in_base("many") };
    char err[256];
    maildir_ensure(m.dir, err, sizeof err);
    for (int i = 0; i < IN_FLIGHT; i++)
        submit_one(&m);
    run_until(&m.done, MANY);
    int n = names_in(path_of(m.dir, "new", NULL), names, MANY + 1), pattern = 1;
    for (int i = 0; i < n && i < MANY; i++)
        pattern &= name_matches(names[i]);
    CHECK(m.done == MANY && m.failed == 0 && n == MANY,
          "%d deliveries, %d in flight: %d files in new/", MANY, IN_FLIGHT, n);
    CHECK(pattern && count_in(path_of(m.dir, "tmp", NULL)) == 0, "every name fits the pattern, tmp/ empty");

    for (int i = 0; i < MANY; i++)
        maildir_unique_name(names[i], MAILDIR_NAME_CAP, "many", 100);
    qsort(names, MANY, sizeof names[0], by_string);
    int dup = 0;
    for (int i = 1; i < MANY; i++)
        dup += strcmp(names[i - 1], names[i]) == 0;
    CHECK(dup == 0, "maildir_unique_name: %d names in a row, no two alike", MANY);
}

static void test_cancel(void)
{
    const char *dirs[] = { in_base("cancel") };
    struct result first = { 0 }, second = { 0 };
    struct maildir_msg *m = maildir_deliver_start(dirs, 1, HEAD, strlen(HEAD), NULL, NULL, on_done, &first);
    maildir_cancel(m);
    maildir_deliver(dirs, 1, HEAD, strlen(HEAD), NULL, NULL, on_done, &second);
    run_until(&second.done, 1);
    CHECK(m && first.done == 0 && second.done == 1, "a cancelled delivery never calls done");
    CHECK(count_in(path_of(dirs[0], "new", NULL)) == 2, "it is still delivered");
}

int main(void)
{
    char err[256];
    const char *tmp = getenv("TMPDIR");
    snprintf(base, sizeof base, "%s/gale-maildir-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(base)) {
        perror("mkdtemp");
        return 1;
    }
    /* The forking tests come first: a child of a process whose helper
     * thread runs would inherit a worker without its thread. */
    test_crash();
    test_read_only("new");
    test_read_only("tmp");
    if (reactor_init(NULL, err, sizeof err) == -1) {
        fprintf(stderr, "reactor_init: %s\n", err);
        return 1;
    }
    test_paths();
    test_ensure();
    test_one();
    test_three();
    test_refused();
    test_disk_full();
    test_rollback();
    test_many();
    test_cancel();
    worker_shutdown();
    reactor_free();
    rm_tree(base);
    return unit_done();
}
