/*
 * Forking and executing a CGI script; see cgi_spawn.h.  The child leads
 * its own process group, so that cgi.c can kill whatever the script
 * started.
 */
#include "cgi_spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cgi.h"

/* In the child: no allocation, no logging, async-signal-safe calls only. */
static _Noreturn void child_exec(int in, int out, int fd2_ours, const char *dir,
                                 char *const argv[], char *const envp[])
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_DFL;
    sigemptyset(&sa.sa_mask);
    for (int s = 1; s < NSIG; s++)
        sigaction(s, &sa, NULL);        /* SIGPIPE above all: the reactor ignores it */
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    setpgid(0, 0);
    /* Above 2 first, so that neither dup2 overwrites the other pipe. */
    in = fcntl(in, F_DUPFD, 3);
    out = fcntl(out, F_DUPFD, 3);
    if (in == -1 || out == -1 || dup2(in, 0) == -1 || dup2(out, 1) == -1)
        _exit(127);
    if (fd2_ours) {     /* the server had no stderr and a pipe took fd 2 */
        int null = open("/dev/null", O_WRONLY);
        if (null != -1)
            dup2(null, 2);
    }
    closefrom(3);
    if (chdir(dir) == -1)
        _exit(127);
    execve(argv[0], argv, envp);
    _exit(127);
}

pid_t cgi_spawn(const struct cgi_params *p, char *const envp[], const int kid[2],
                const int ours[2])
{
    char *dir = strdup(p->script_file);
    if (!dir)
        return -1;
    char *slash = strrchr(dir, '/');
    if (slash)
        slash[slash == dir ? 1 : 0] = '\0';     /* "/x.cgi" runs in "/" */
    char *argv[3] = { (char *)p->script_file, NULL, NULL };
    if (p->program) {
        argv[0] = (char *)p->program;
        argv[1] = (char *)p->script_file;
    }
    int fd2_ours = kid[0] == 2 || kid[1] == 2 || ours[0] == 2 || ours[1] == 2;
    /* Signals stay blocked until the child has reset their handlers:
     * libevent's handler, run in the child, would write to the parent's
     * signal pipe. */
    sigset_t all, old;
    sigfillset(&all);
    sigprocmask(SIG_SETMASK, &all, &old);
    pid_t pid = fork();
    if (pid == 0)
        child_exec(kid[0], kid[1], fd2_ours, slash ? dir : ".", argv, envp);
    int saved = errno;
    sigprocmask(SIG_SETMASK, &old, NULL);
    errno = saved;
    free(dir);
    if (pid == -1)
        return -1;
    setpgid(pid, pid);      /* also here, so a kill right away finds the group */
    return pid;
}
