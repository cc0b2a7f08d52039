/*
 * Detaching, pidfiles and privileges; see daemon.h.
 *
 * --daemon forks once; the child does all the work (binding, opening
 * files) and reports through a pipe, so the parent's exit status says
 * whether the server really started.
 */
#include "daemon.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>

static int ready_fd = -1;
static int pid_fd = -1;
static char *pid_path;
static uid_t drop_uid;
static gid_t drop_gid;
static int drop_user, drop_group;

int daemon_detach(char *err, size_t errlen)
{
    int p[2];
    if (pipe2(p, O_CLOEXEC) == -1) {
        snprintf(err, errlen, "cannot detach: %s", strerror(errno));
        return -1;
    }
    pid_t pid = fork();
    if (pid == -1) {
        snprintf(err, errlen, "cannot detach: fork: %s", strerror(errno));
        return -1;
    }
    if (pid == 0) {
        close(p[0]);
        ready_fd = p[1];
        setsid();
        return 0;
    }
    close(p[1]);
    char c;
    ssize_t n;
    do
        n = read(p[0], &c, 1);
    while (n == -1 && errno == EINTR);
    if (n == 1)
        _exit(0);
    /* The child failed before it was ready; it has said why on stderr. */
    int status;
    if (waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status))
        _exit(WEXITSTATUS(status));
    _exit(1);
}

void daemon_ready(void)
{
    if (ready_fd == -1)
        return;
    int null = open("/dev/null", O_RDWR);
    if (null >= 0) {
        dup2(null, STDIN_FILENO);
        dup2(null, STDOUT_FILENO);
        dup2(null, STDERR_FILENO);
        if (null > STDERR_FILENO)
            close(null);
    }
    ssize_t w = write(ready_fd, "", 1);
    (void)w;
    close(ready_fd);
    ready_fd = -1;
}

static int read_pid(int fd)
{
    char buf[32] = "";
    ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
    return n > 0 ? atoi(buf) : 0;
}

int pidfile_take(const char *path, char *err, size_t errlen)
{
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd == -1) {
        snprintf(err, errlen, "cannot open pidfile %s: %s", path, strerror(errno));
        return -1;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) == -1) {
        int pid = read_pid(fd);
        if (pid > 0)
            snprintf(err, errlen, "already running as pid %d (pidfile %s is locked)", pid, path);
        else
            snprintf(err, errlen, "pidfile %s is locked by another process", path);
        close(fd);
        return -1;
    }
    /* The lock is ours, so whatever pid is written there is stale. */
    char buf[32];
    int n = snprintf(buf, sizeof buf, "%ld\n", (long)getpid());
    if (ftruncate(fd, 0) == -1 || pwrite(fd, buf, (size_t)n, 0) != n) {
        snprintf(err, errlen, "cannot write pidfile %s: %s", path, strerror(errno));
        close(fd);
        return -1;
    }
    pid_fd = fd;
    pid_path = realpath(path, NULL);
    return 0;
}

void pidfile_release(void)
{
    if (pid_fd == -1)
        return;
    if (pid_path)
        unlink(pid_path);
    close(pid_fd);
    pid_fd = -1;
    free(pid_path);
    pid_path = NULL;
}

static int lookup_user(const char *user, char *err, size_t errlen)
{
    struct passwd *pw = getpwnam(user);
    char *end;
    if (!pw) {
        long v = strtol(user, &end, 10);
        if (*user == '\0' || *end || v < 0) {
            snprintf(err, errlen, "--uid: no user named '%s'", user);
            return -1;
        }
        drop_uid = (uid_t)v;
        pw = getpwuid(drop_uid);
    } else {
        drop_uid = pw->pw_uid;
    }
    if (pw && !drop_group) {
        drop_gid = pw->pw_gid;   /* --uid alone takes that user's group */
        drop_group = 1;
    }
    drop_user = 1;
    return 0;
}

static int lookup_group(const char *group, char *err, size_t errlen)
{
    struct group *gr = getgrnam(group);
    char *end;
    if (gr) {
        drop_gid = gr->gr_gid;
    } else {
        long v = strtol(group, &end, 10);
        if (*group == '\0' || *end || v < 0) {
            snprintf(err, errlen, "--gid: no group named '%s'", group);
            return -1;
        }
        drop_gid = (gid_t)v;
    }
    drop_group = 1;
    return 0;
}

int privileges_prepare(const char *user, const char *group, char *err, size_t errlen)
{
    if (group && lookup_group(group, err, errlen) == -1)
        return -1;
    if (user && lookup_user(user, err, errlen) == -1)
        return -1;
    return 0;
}

int privileges_drop(char *err, size_t errlen)
{
    if (drop_group) {
        if (setgroups(1, &drop_gid) == -1 || setgid(drop_gid) == -1) {
            snprintf(err, errlen, "cannot change group to %ld: %s", (long)drop_gid,
                     strerror(errno));
            return -1;
        }
    }
    if (drop_user && setuid(drop_uid) == -1) {
        snprintf(err, errlen, "cannot change user to %ld: %s", (long)drop_uid, strerror(errno));
        return -1;
    }
    if (drop_user && drop_uid != 0 && setuid(0) == 0) {
        snprintf(err, errlen, "privileges were not dropped: setuid(0) still works");
        return -1;
    }
    return 0;
}
