/*
 * Unit test of servers/mail/pop3_box.c with the real reactor and helper
 * thread: listing a Maildir, marking and unmarking, reading a message in
 * chunks (and its move to cur/ with the S flag), removals at commit, a
 * box freed while its job runs (the job must not touch it), and the
 * maildrop locks.
 */
#include "../../servers/mail/pop3_box.c"

#include "reactor.h"
#include "unit.h"
#include "mail_maildir.h"

static char dir[PATH_MAX + 16];
static int done_calls, done_ok;
static char done_err[200];
static size_t chunk_bytes, chunk_calls;
static int chunk_end, chunk_failed;

static void on_box(void *arg, int ok, const char *err)
{
    (void)arg;
    done_calls++;
    done_ok = ok;
    snprintf(done_err, sizeof done_err, "%s", err ? err : "");
}

static void on_chunk(void *arg, const char *p, size_t n, const char *err)
{
    struct pop3_box *b = arg;
    (void)p;
    chunk_calls++;
    if (err) {
        chunk_failed = 1;
        return;
    }
    chunk_bytes += n;
    if (n == 0) {
        chunk_end = 1;
        pop3_box_read_stop(b);
    } else if (pop3_box_read_more(b) == -1) {
        chunk_failed = 1;
    }
}

static void put(const char *sub, const char *name, size_t size)
{
    char path[PATH_MAX + 300];
    snprintf(path, sizeof path, "%s/%s/%s", dir, sub, name);
    FILE *f = fopen(path, "w");
    for (size_t i = 0; f && i < size; i++)
        fputc(i % 80 == 79 ? '\n' : 'x', f);
    if (f)
        fclose(f);
}

static int exists(const char *sub, const char *name)
{
    char path[PATH_MAX + 300];
    snprintf(path, sizeof path, "%s/%s/%s", dir, sub, name);
    return access(path, F_OK) == 0;
}

static struct pop3_box *scanned(void)
{
    struct pop3_box *b = pop3_box_new(dir);
    int before = done_calls;
    CHECK(b && pop3_box_scan(b, on_box, NULL) == 0, "a scan is queued");
    CHECK(run_until(&done_calls, before + 1) && done_ok, "the scan answers ok (%s)", done_err);
    return b;
}

static void test_list_and_marks(void)
{
    put("new", "1000.M1P1Q1.h,S=100", 100);
    put("cur", "1001.M1P1Q2.h,S=200:2,S", 200);
    put("new", "1002.M1P1Q3.h", 300);
    struct pop3_box *b = scanned();
    CHECK(pop3_box_count(b) == 3 && pop3_box_live(b) == 3, "three messages");
    CHECK(pop3_box_live_size(b) == 600, "600 octets (%llu)",
          (unsigned long long)pop3_box_live_size(b));
    const struct maildir_entry *e = pop3_box_get(b, 2, NULL);
    CHECK(e && strcmp(e->uidl, "1001.M1P1Q2.h,S=200") == 0, "message 2 by delivery order");
    int marked = 5;
    CHECK(!pop3_box_get(b, 0, &marked) && marked == 0, "no message 0");
    CHECK(!pop3_box_get(b, 4, &marked) && marked == 0, "no message 4");
    CHECK(pop3_box_mark(b, 2) == 0 && pop3_box_mark(b, 2) == -1, "DELE twice: the second fails");
    CHECK(!pop3_box_get(b, 2, &marked) && marked == 1, "a marked message is gone, and says so");
    CHECK(pop3_box_live(b) == 2 && pop3_box_live_size(b) == 400 && pop3_box_marked(b) == 1,
          "counts leave the marked one out");
    pop3_box_unmark(b);
    CHECK(pop3_box_live(b) == 3 && pop3_box_marked(b) == 0 && pop3_box_get(b, 2, NULL),
          "RSET brings it back");
    pop3_box_free(b);
}

static void test_read(void)
{
    put("new", "1003.M1P1Q4.h,S=100000", 100000);
    struct pop3_box *b = scanned();
    unsigned long n = pop3_box_count(b);
    chunk_bytes = chunk_calls = 0;
    chunk_end = chunk_failed = 0;
    CHECK(pop3_box_read(b, n, on_chunk, b) == 0, "a read is queued");
    CHECK(pop3_box_read(b, 1, on_chunk, b) == -1, "one job at a time");
    CHECK(run_until(&chunk_end, 1) && !chunk_failed, "the message is read to its end");
    CHECK(chunk_bytes == 100000 && chunk_calls == 5, "100000 bytes in 4 chunks and the end (%zu, %zu)",
          chunk_bytes, chunk_calls);
    CHECK(exists("cur", "1003.M1P1Q4.h,S=100000:2,S") && !exists("new", "1003.M1P1Q4.h,S=100000"),
          "moved to cur/ with the S flag");
    CHECK(strcmp(pop3_box_get(b, n, NULL)->name, "1003.M1P1Q4.h,S=100000:2,S") == 0,
          "the box knows the new name");
    /* read again under its new name */
    chunk_end = 0;
    CHECK(pop3_box_read(b, n, on_chunk, b) == 0 && run_until(&chunk_end, 1) && !chunk_failed,
          "read again from cur/");
    /* a message removed meanwhile */
    char path[PATH_MAX + 300];
    snprintf(path, sizeof path, "%s/new/1002.M1P1Q3.h", dir);
    unlink(path);
    chunk_failed = 0;
    CHECK(pop3_box_read(b, 3, on_chunk, b) == 0, "reading one that is gone is queued");
    CHECK(run_until(&chunk_failed, 1), "and fails with an error");
    pop3_box_free(b);
}

static void test_commit(void)
{
    struct pop3_box *b = scanned();
    unsigned long n = pop3_box_count(b);
    CHECK(n == 3, "three left (%lu)", n);
    pop3_box_mark(b, 1);
    pop3_box_mark(b, 3);
    int before = done_calls;
    CHECK(pop3_box_commit(b, on_box, NULL) == 0, "commit queued");
    CHECK(run_until(&done_calls, before + 1) && done_ok, "commit answers ok (%s)", done_err);
    pop3_box_free(b);
    b = scanned();
    CHECK(pop3_box_count(b) == 1 &&
          strcmp(pop3_box_get(b, 1, NULL)->uidl, "1001.M1P1Q2.h,S=200") == 0,
          "only the unmarked one is left");
    pop3_box_free(b);
}

static void test_free_while_running(void)
{
    put("new", "1004.M1P1Q5.h,S=5000", 5000);
    int before = done_calls;
    struct pop3_box *b = pop3_box_new(dir);
    CHECK(pop3_box_scan(b, on_box, NULL) == 0, "scan queued");
    pop3_box_free(b);                /* the job finishes on its own */
    b = scanned();
    CHECK(done_calls == before + 1, "the freed box's scan never answered");
    chunk_calls = 0;
    CHECK(pop3_box_read(b, 2, on_chunk, b) == 0, "read queued");
    pop3_box_free(b);
    b = scanned();
    CHECK(chunk_calls == 0, "nor did its read");
    pop3_box_mark(b, 1);
    CHECK(pop3_box_commit(b, on_box, NULL) == 0, "commit queued");
    before = done_calls;
    pop3_box_free(b);
    b = scanned();
    CHECK(done_calls == before + 1 && pop3_box_count(b) == 1,
          "a commit whose box went still removes");
    pop3_box_free(b);
}

static void test_locks(void)
{
    struct pop3_locks l = { 0 };
    char name[32];
    CHECK(pop3_lock_take(&l, "alice@example.org") == 0, "alice's maildrop locked");
    CHECK(pop3_lock_take(&l, "alice@example.org") == -1, "not twice");
    CHECK(pop3_lock_take(&l, "bob@example.org") == 0, "bob's is another");
    for (int i = 0; i < 40; i++) {
        snprintf(name, sizeof name, "u%d@example.org", i);
        pop3_lock_take(&l, name);
    }
    pop3_lock_release(&l, "alice@example.org");
    CHECK(pop3_lock_take(&l, "alice@example.org") == 0, "free again once released");
    CHECK(pop3_lock_take(&l, "u39@example.org") == -1, "the table grew and kept its entries");
    pop3_locks_free(&l);
}

int main(void)
{
    char err[256];
    const char *tmp = getenv("TMPDIR");
    snprintf(base, sizeof base, "%s/gale-pop3box-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(base) || reactor_init(NULL, err, sizeof err) == -1) {
        perror("set-up");
        return 1;
    }
    snprintf(dir, sizeof dir, "%s/alice", base);
    if (maildir_ensure(dir, err, sizeof err) == -1) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    test_list_and_marks();
    test_read();
    test_commit();
    test_free_while_running();
    test_locks();
    worker_shutdown();
    reactor_free();
    rm_tree(base);
    return unit_done();
}
