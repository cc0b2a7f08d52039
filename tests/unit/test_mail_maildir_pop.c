/*
 * Unit test of servers/mail/maildir_pop.c, the POP3 side of the Maildir
 * store: listing by delivery time with sizes and UIDLs, RETR's move into
 * cur/ with the S flag, DELE, messages another reader moved meanwhile,
 * what a hostile Maildir may hold, and the cleaning of tmp/.
 */
#include <fcntl.h>
#include <stdint.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "maildir.h"
#include "reactor.h"
#include "unit.h"
#include "worker.h"
#include "mail_maildir.h"

static int is_hex40(const char *s)
{
    return strlen(s) == 40 && strspn(s, "0123456789abcdef") == 40;
}

static int read_fd_ok(int fd, size_t body_len, unsigned seed)
{
    static char buf[8192];
    ssize_t n = read(fd, buf, sizeof buf);
    close(fd);
    return n == (ssize_t)(strlen(HEAD) + body_len) && memcmp(buf, HEAD, strlen(HEAD)) == 0 &&
           body_ok(buf + strlen(HEAD), body_len, seed);
}

static void plant(const char *dir)
{
    int fd = open(path_of(dir, "new", "plain"), O_CREAT | O_WRONLY, 0600);
    CHECK(fd != -1 && write(fd, "x\r\n", 3) == 3, "a message named without S= planted");
    close(fd);
    fd = open(path_of(dir, "new", ".hidden"), O_CREAT | O_WRONLY, 0600);
    close(fd);
    CHECK(symlink("/etc/passwd", path_of(dir, "cur", "link:2,")) == 0 &&
          mkfifo(path_of(dir, "cur", "fifo:2,"), 0600) == 0, "a symlink and a FIFO planted in cur/");
}

static void test_scan(const char *dir, struct maildir_list *l)
{
    char err[256] = "";
    int rc = maildir_scan(dir, l, err, sizeof err);
    CHECK(rc == 0 && l->n == 4,
          "scan: 4 messages, dot files, links and FIFOs skipped (%zu; %s)", l->n, err);
    if (l->n != 4)
        return;
    uint64_t sizes[4] = { 3, strlen(HEAD) + 300, strlen(HEAD) + 500, strlen(HEAD) + 700 };
    int sorted = strcmp(l->v[0].name, "plain") == 0, sized = 1, uidls = 1;
    for (int i = 0; i < 4; i++) {
        char u[41];
        sized &= l->v[i].size == sizes[i] && l->v[i].in_new;
        size_t ulen = strcspn(l->v[i].name, ":");
        uidls &= maildir_uidl(l->v[i].name, u) == 0 && strcmp(u, l->v[i].uidl) == 0 &&
                 (ulen <= 40 ? strncmp(u, l->v[i].name, ulen) == 0 && u[ulen] == '\0'
                             : is_hex40(u));
        if (i > 1)
            sorted &= strcmp(l->v[i - 1].name, l->v[i].name) < 0;
    }
    CHECK(sorted, "oldest delivery first");
    CHECK(sized, "sizes from S= (and from the file without it), all in new/");
    CHECK(l->total == sizes[0] + sizes[1] + sizes[2] + sizes[3], "total is the sum");
    CHECK(uidls, "UIDL: the unique part of the name");
}

static void test_uidl(void)
{
    char u[41], v[41];
    CHECK(maildir_uidl("1.M2P3Q4.h,S=5:2,S", u) == 0 && strcmp(u, "1.M2P3Q4.h,S=5") == 0,
          "UIDL: up to 40 printable bytes before ':' as they are");
    CHECK(maildir_uidl("1796613532.M786490P3265100Q20012.mx.example.org,S=551:2,", u) == 0 &&
          is_hex40(u) && maildir_uidl("1796613532.M786490P3265100Q20012.mx.example.org,S=551", v) == 0 &&
          strcmp(u, v) == 0, "UIDL: a longer unique part as 40 hex of its SHA-1, flags aside");
    CHECK(maildir_uidl("a b", u) == 0 && is_hex40(u), "UIDL: a name with a space is hashed too");
}

static void test_retr_dele(const char *dir, struct maildir_list *l)
{
    char err[256] = "", uidl[41], moved[MAILDIR_NAME_CAP];
    snprintf(uidl, sizeof uidl, "%s", l->v[1].uidl);
    int fd = maildir_open_seen(dir, &l->v[1], err, sizeof err);
    size_t len = strlen(l->v[1].name);
    CHECK(fd != -1 && read_fd_ok(fd, 300, 1), "open_seen: the message, byte for byte (%s)", err);
    CHECK(!l->v[1].in_new && len > 4 && strcmp(l->v[1].name + len - 4, ":2,S") == 0 &&
          access(path_of(dir, "cur", l->v[1].name), F_OK) == 0, "moved to cur/NAME:2,S");

    struct maildir_list again;
    maildir_scan(dir, &again, err, sizeof err);
    int stable = 0;
    for (size_t i = 0; i < again.n; i++)
        stable |= strcmp(again.v[i].uidl, uidl) == 0 && !again.v[i].in_new;
    CHECK(again.n == 4 && stable, "the UIDL stays the same after the move into cur/");
    maildir_list_free(&again);

    /* Another reader takes message 2 into cur/ with flags of its own. */
    snprintf(moved, sizeof moved, "%s:2,FT", l->v[2].name);
    rename(path_of(dir, "new", l->v[2].name), path_of(dir, "cur", moved));
    fd = maildir_open_seen(dir, &l->v[2], err, sizeof err);
    len = strlen(l->v[2].name);
    CHECK(fd != -1 && read_fd_ok(fd, 500, 2) && len > 6 &&
          strcmp(l->v[2].name + len - 6, ":2,FST") == 0,
          "a message another reader moved is found; S joins its flags in order: %s", l->v[2].name);

    CHECK(maildir_remove(dir, &l->v[3]) == 0 && count_in(path_of(dir, "new", NULL)) == 1,
          "remove from new/");
    CHECK(maildir_remove(dir, &l->v[3]) == 0, "removing it again: already gone, 0");
    /* A stale entry: still names the file as it was in new/. */
    struct maildir_entry stale = { .name = strdup(moved), .in_new = 0 };
    CHECK(maildir_remove(dir, &stale) == 0 && count_in(path_of(dir, "cur", NULL)) == 3,
          "remove finds a message renamed within cur/");
    free(stale.name);
    struct maildir_entry hostile = { .name = "../../etc/passwd" };
    CHECK(maildir_open_seen(dir, &hostile, err, sizeof err) == -1 &&
          maildir_remove(dir, &hostile) == -1, "a name with '/' is refused");
}

static void test_doubles(const char *dir)
{
    char err[256], names[4][MAILDIR_NAME_CAP], linked[MAILDIR_NAME_CAP + 8];
    struct maildir_list l;
    struct result r;
    const char *dirs[] = { dir };
    deliver_wait(dirs, 1, 10, 4, NULL, &r);
    int n = names_in(path_of(dir, "new", NULL), names, 4), pick = -1;
    for (int i = 0; i < n && i < 4; i++)
        if (strcmp(names[i], "plain") != 0)
            pick = i;
    const char *name = names[pick >= 0 ? pick : 0];
    size_t ulen = strlen(name);
    if (snprintf(linked, sizeof linked, "%s:2,", name) >= (int)sizeof linked)
        abort();
    if (link(path_of(dir, "new", name), path_of(dir, "cur", linked)) == -1)
        abort();
    maildir_scan(dir, &l, err, sizeof err);
    int once = 0, in_cur = 0;
    for (size_t i = 0; i < l.n; i++)
        if (strncmp(l.v[i].name, name, ulen) == 0 && strchr(":", l.v[i].name[ulen])) {
            once++;
            in_cur = !l.v[i].in_new;
        }
    CHECK(pick >= 0 && once == 1 && in_cur, "a message both in new/ and cur/ is listed once, as in cur/");
    maildir_list_free(&l);
    CHECK(maildir_scan(in_base("never"), &l, err, sizeof err) == 0 && l.n == 0,
          "a Maildir not made yet holds no messages");
}

static void test_pop(void)
{
    const char *dir = in_base("pop");
    const char *dirs[] = { dir };
    struct maildir_list l = { 0 };
    struct result r;
    for (unsigned i = 1; i <= 3; i++)
        deliver_wait(dirs, 1, 100 + 200 * i, i, NULL, &r);
    plant(dir);
    test_scan(dir, &l);
    if (l.n == 4)
        test_retr_dele(dir, &l);
    maildir_list_free(&l);
    test_doubles(dir);
}

static void test_clean_tmp(void)
{
    const char *dir = in_base("pop");
    time_t now = time(NULL);
    struct timespec old[2] = { { now - MAILDIR_TMP_MAX_AGE - 3600, 0 }, { now - MAILDIR_TMP_MAX_AGE - 3600, 0 } };
    close(open(path_of(dir, "tmp", "old"), O_CREAT | O_WRONLY, 0600));
    close(open(path_of(dir, "tmp", "fresh"), O_CREAT | O_WRONLY, 0600));
    utimensat(AT_FDCWD, path_of(dir, "tmp", "old"), old, 0);
    CHECK(maildir_clean_tmp(dir, now) == 1 && access(path_of(dir, "tmp", "old"), F_OK) == -1 &&
          access(path_of(dir, "tmp", "fresh"), F_OK) == 0, "tmp/: a file 37 hours old goes, a fresh one stays");
}

int main(void)
{
    char err[256];
    const char *tmp = getenv("TMPDIR");
    snprintf(base, sizeof base, "%s/gale-maildir-pop-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(base) || reactor_init(NULL, err, sizeof err) == -1) {
        perror("setting up");
        return 1;
    }
    test_uidl();
    test_pop();
    test_clean_tmp();
    worker_shutdown();
    reactor_free();
    rm_tree(base);
    return unit_done();
}
