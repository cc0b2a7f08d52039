/*
 * Work that must not run on the reactor (a deliberately slow password
 * hash, a write to a disk that may stall) done by one helper thread.  The
 * job runs on the thread; its done callback runs afterwards on the
 * reactor, in submission order.
 */
#ifndef GALE_WORKER_H
#define GALE_WORKER_H

typedef void (*worker_fn)(void *job);         /* on the helper thread */
typedef void (*worker_done_fn)(void *job);    /* back on the reactor */

/* The thread starts on first use.  -1 when it or the job cannot be made. */
int worker_submit(worker_fn fn, worker_done_fn done, void *job);
/* Exit: waits for the jobs queued, runs their done callbacks, stops the
 * thread. */
void worker_shutdown(void);

#endif
