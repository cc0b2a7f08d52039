/*
 * The helper thread of worker.h.  Jobs go to it through a queue guarded
 * by a mutex; finished jobs come back through a pipe the reactor watches,
 * so the done callbacks run on the reactor like every other event.
 */
#include "worker.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>
#include <event2/event.h>

#include "instance.h"
#include "log.h"
#include "reactor.h"

struct job {
    struct gale_instance *owner;   /* the current instance in done */
    worker_fn fn;
    worker_done_fn done;
    void *arg;
    struct job *next;
};

static pthread_t thread;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake = PTHREAD_COND_INITIALIZER;
static struct job *head, *tail;      /* waiting to run */
static int started, stopping;
static int done_pipe[2] = { -1, -1 };
static struct event *done_ev;
static unsigned in_flight;           /* submitted, done not yet called */

static void *run(void *unused)
{
    (void)unused;
    pthread_mutex_lock(&lock);
    for (;;) {
        while (!head && !stopping)
            pthread_cond_wait(&wake, &lock);
        if (!head)
            break;
        struct job *j = head;
        head = j->next;
        if (!head)
            tail = NULL;
        pthread_mutex_unlock(&lock);
        j->fn(j->arg);
        /* A pointer is well under PIPE_BUF, so the write is atomic. */
        while (write(done_pipe[1], &j, sizeof j) == -1 && errno == EINTR)
            ;
        pthread_mutex_lock(&lock);
    }
    pthread_mutex_unlock(&lock);
    return NULL;
}

/* Runs the done callbacks of what the thread has finished. */
static void collect(void)
{
    struct job *batch[64];
    ssize_t n;
    while ((n = read(done_pipe[0], batch, sizeof batch)) > 0) {
        for (size_t i = 0; i < (size_t)n / sizeof batch[0]; i++) {
            in_flight--;
            instance_push(batch[i]->owner);
            if (batch[i]->done)
                batch[i]->done(batch[i]->arg);
            instance_pop();
            free(batch[i]);
        }
    }
}

static void on_done(evutil_socket_t fd, short what, void *arg)
{
    (void)fd, (void)what, (void)arg;
    collect();
}

static int start(void)
{
    if (pipe2(done_pipe, O_CLOEXEC | O_NONBLOCK) == -1) {
        log_warn("worker: pipe");
        return -1;
    }
    done_ev = event_new(reactor_base(), done_pipe[0], EV_READ | EV_PERSIST, on_done, NULL);
    if (!done_ev || event_add(done_ev, NULL) == -1 ||
        pthread_create(&thread, NULL, run, NULL) != 0) {
        log_error("worker: cannot start the helper thread");
        if (done_ev)
            event_free(done_ev);
        done_ev = NULL;
        close(done_pipe[0]);
        close(done_pipe[1]);
        done_pipe[0] = done_pipe[1] = -1;
        return -1;
    }
    started = 1;
    return 0;
}

int worker_submit(worker_fn fn, worker_done_fn done, void *arg)
{
    if (!started && start() == -1)
        return -1;
    struct job *j = malloc(sizeof *j);
    if (!j)
        return -1;
    *j = (struct job){ instance_current(), fn, done, arg, NULL };
    pthread_mutex_lock(&lock);
    if (tail)
        tail->next = j;
    else
        head = j;
    tail = j;
    in_flight++;
    pthread_cond_signal(&wake);
    pthread_mutex_unlock(&lock);
    return 0;
}

void worker_shutdown(void)
{
    if (!started)
        return;
    pthread_mutex_lock(&lock);
    stopping = 1;
    pthread_cond_signal(&wake);
    pthread_mutex_unlock(&lock);
    pthread_join(thread, NULL);
    /* The thread ran every queued job before it stopped. */
    int flags = fcntl(done_pipe[0], F_GETFL);
    fcntl(done_pipe[0], F_SETFL, flags & ~O_NONBLOCK);
    while (in_flight > 0) {
        struct job *j;
        if (read(done_pipe[0], &j, sizeof j) != (ssize_t)sizeof j)
            break;
        in_flight--;
        instance_push(j->owner);
        if (j->done)
            j->done(j->arg);
        instance_pop();
        free(j);
    }
    event_free(done_ev);
    done_ev = NULL;
    close(done_pipe[0]);
    close(done_pipe[1]);
    done_pipe[0] = done_pipe[1] = -1;
    started = stopping = 0;
}
