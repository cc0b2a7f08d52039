/*
 * Running a CGI/1.1 script for one request (RFC 3875); see cgi.h.
 *
 * The script's stdin and stdout are pipes served by reactor events: the
 * request body is written as the pipe takes it, stdout is read into a
 * header block (cgi_env.c parses it, RFC 3875 section 6) and then copied
 * to the client, framed by Content-Length when the script gave one,
 * chunked for HTTP/1.1 (RFC 9112 section 7.1), else by closing the
 * connection (RFC 9112 section 6.3).  The child leads its own process
 * group, so a timeout or a client that leaves kills whatever it started.
 *
 * A job lives until both the session has let go of it (done called, or
 * cgi_abort) and the reactor has reaped the child: the reap callback's
 * argument therefore never dangles, and the timeout still applies to a
 * script that closed stdout but keeps running.  Each job is listed in its
 * server's cgi_group: when the server is cleaned up its children are
 * killed and their jobs cut loose from it, left to the reap alone.
 *
 * https://www.rfc-editor.org/rfc/rfc3875
 * https://www.rfc-editor.org/rfc/rfc9112#section-6.3
 */
#include "cgi.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>
#include <event2/buffer.h>
#include <event2/event.h>

#include "cgi_int.h"
#include "cgi_spawn.h"
#include "gale_session.h"
#include "http.h"
#include "instance.h"
#include "log.h"
#include "reactor.h"
#include "response.h"

#define CGI_READ_MAX (64 * 1024)      /* one read of the script's stdout */
#define CGI_WRITE_MAX (64 * 1024)     /* one write to its stdin */
#define CGI_CLIENT_HIGH (256 * 1024)  /* stop reading the script above this */

enum cgi_body {
    BODY_NONE,      /* HEAD, 204, 304: read the script's body and drop it */
    BODY_LENGTH,    /* the script's Content-Length */
    BODY_CHUNKED,   /* HTTP/1.1 without a length */
    BODY_CLOSE,     /* HTTP/1.0 without a length: the end is the close */
};

struct cgi_job {
    pid_t pid;
    int in_fd, out_fd;            /* our ends of the pipes; -1 once closed */
    struct event *ev_in, *ev_out, *ev_timer;
    struct evbuffer *body;        /* request body not yet written */
    struct evbuffer *chunk;       /* the last read of stdout */
    struct gale_session *client;
    cgi_done_cb done;
    void *arg;
    char *head;                   /* the header block as it comes */
    size_t head_len, head_scan;
    int head_sent;
    enum cgi_body mode;
    uint64_t left;                /* BODY_LENGTH: bytes still due */
    uint64_t bytes;               /* body bytes queued for the client */
    int status, keep_alive, version_minor, head_only;
    int paused;                   /* stdout not watched: the client is behind */
    int detached;                 /* the session has let go */
    int reaped;
    int killed;                   /* we sent SIGKILL: no failure to report */
    int busy;                     /* in on_stdout, which frees a job let go of meanwhile */
    uint64_t conn_id;
    struct gale_instance *owner;  /* the web instance: current in the job's own events */
    const struct opt_list *headers;   /* --add-header lines */
    struct cgi_group *group;      /* NULL once the server has let go */
    struct cgi_job *prev, *next;  /* in group */
    char script[];                /* for log lines */
};

static void finish(struct cgi_job *j, int ok, int status, int keep_alive);

static void kill_group(struct cgi_job *j)
{
    if (j->pid <= 0)
        return;     /* kill(0) would be our own group */
    j->killed = 1;
    /* The group is there from the fork on (both sides call setpgid); the
     * plain kill covers a group already emptied but a leader unreaped. */
    if (kill(-j->pid, SIGKILL) == -1 && !j->reaped)
        kill(j->pid, SIGKILL);
}

static void close_stdin(struct cgi_job *j)
{
    if (j->ev_in)
        event_free(j->ev_in);
    j->ev_in = NULL;
    if (j->in_fd != -1)
        close(j->in_fd);
    j->in_fd = -1;
    if (j->body)
        evbuffer_free(j->body);
    j->body = NULL;
}

/* Everything but the child watch and the timer, which may outlive the
 * session's interest (see the file comment). */
static void close_io(struct cgi_job *j)
{
    close_stdin(j);
    if (j->ev_out)
        event_free(j->ev_out);
    j->ev_out = NULL;
    if (j->out_fd != -1)
        close(j->out_fd);
    j->out_fd = -1;
    if (j->chunk)
        evbuffer_free(j->chunk);
    j->chunk = NULL;
    free(j->head);
    j->head = NULL;
}

static void group_add(struct cgi_group *g, struct cgi_job *j)
{
    j->group = g;
    j->next = g->head;
    if (g->head)
        g->head->prev = j;
    g->head = j;
    g->count++;
}

static void group_remove(struct cgi_job *j)
{
    if (!j->group)
        return;
    if (j->prev)
        j->prev->next = j->next;
    else
        j->group->head = j->next;
    if (j->next)
        j->next->prev = j->prev;
    j->group->count--;
    j->group = NULL;
    j->prev = j->next = NULL;
}

static void job_free(struct cgi_job *j)
{
    group_remove(j);
    close_io(j);
    if (j->ev_timer)
        event_free(j->ev_timer);
    free(j);
}

/* ---- Output to the client ---- */

/* A failure before the head went out is an error page; after, the
 * response can only be cut short. */
static void fail(struct cgi_job *j, int status, const char *why)
{
    char reply[16] = "cut-short";
    if (!j->head_sent)
        snprintf(reply, sizeof reply, "%d", status);
    log_warnx("id=%" PRIu64 " event=cgi-error script=%s reason=%s reply=%s", j->conn_id,
              j->script, why, reply);
    kill_group(j);
    if (j->head_sent) {
        finish(j, 0, j->status, 0);
        return;
    }
    /* The body was read in full before the script started, so the
     * connection is still in step and may carry another request. */
    struct evbuffer *out = session_output(j->client);
    size_t n = response_error_with(out, j->headers, status, j->keep_alive, j->version_minor,
                                   j->head_only, NULL);
    j->bytes = j->head_only ? 0 : n;
    finish(j, 1, status, j->keep_alive);
}

/* Writes what was queued; a client behind pauses the script's output
 * until the session says it has drained.  Outside the session's own
 * callbacks a failed write closes the session at once, and it lets go
 * of the job (cgi_abort): j->client is gone then. */
static void pause_if_behind(struct cgi_job *j)
{
    session_send(j->client);
    if (j->detached)
        return;
    if (session_pending(j->client) > CGI_CLIENT_HIGH) {
        event_del(j->ev_out);
        j->paused = 1;
        session_notify_drained(j->client);
    }
}

/* Moves what j->chunk holds to the client, framed for the mode. */
static void forward(struct cgi_job *j)
{
    struct evbuffer *out = session_output(j->client);
    size_t n = evbuffer_get_length(j->chunk);
    if (n == 0)
        return;
    switch (j->mode) {
    case BODY_NONE:
        evbuffer_drain(j->chunk, n);
        return;
    case BODY_LENGTH:
        /* More than announced would be read as the next response. */
        if (n > j->left)
            n = (size_t)j->left;
        evbuffer_remove_buffer(j->chunk, out, n);
        evbuffer_drain(j->chunk, evbuffer_get_length(j->chunk));
        j->left -= n;
        break;
    case BODY_CHUNKED:
        evbuffer_add_printf(out, "%zx\r\n", n);
        evbuffer_add_buffer(out, j->chunk);
        evbuffer_add(out, "\r\n", 2);
        break;
    case BODY_CLOSE:
        evbuffer_add_buffer(out, j->chunk);
        break;
    }
    j->bytes += n;
    pause_if_behind(j);
}

/* The framing for the script's response; returns the keep-alive. */
static int choose_framing(struct cgi_job *j, const struct cgi_head *h)
{
    if (h->status == 204 || h->status == 304)
        j->mode = BODY_NONE;
    else if (h->has_length)
        j->mode = BODY_LENGTH;
    else if (j->version_minor >= 1)
        j->mode = BODY_CHUNKED;
    else
        j->mode = BODY_CLOSE;
    j->left = h->content_length;
    return j->mode == BODY_CLOSE ? 0 : j->keep_alive;
}

static void send_head(struct cgi_job *j, const struct cgi_head *h)
{
    struct evbuffer *out = session_output(j->client);
    int keep = choose_framing(j, h);
    response_start_with(out, h->status, j->headers);
    for (size_t i = 0; i < h->n_fields; i++)
        response_header(out, h->fields[i].name, h->fields[i].value);
    /* RFC 9110 8.6: never a Content-Length on a 204. */
    if (h->has_length && h->status != 204) {
        char n[24];
        snprintf(n, sizeof n, "%" PRIu64, h->content_length);
        response_header(out, "Content-Length", n);
    }
    if (j->mode == BODY_CHUNKED)
        response_header(out, "Transfer-Encoding", "chunked");
    response_end_head(out, keep, j->version_minor);
    j->status = h->status;
    j->keep_alive = keep;
    j->head_sent = 1;
    /* HEAD gets the head a GET would get (RFC 9110 9.3.2), no body. */
    if (j->head_only)
        j->mode = BODY_NONE;
    session_send(j->client);
}

/* The block is complete at j->head[0..end): answer, then pass on what
 * followed it in the same reads. */
static void begin_response(struct cgi_job *j, size_t end)
{
    struct cgi_head h;
    if (cgi_head_parse(j->head, end, &h) == -1) {
        fail(j, 502, "bad-header");
        return;
    }
    send_head(j, &h);
    if (j->detached)
        return;                     /* the client went away: see pause_if_behind */
    evbuffer_add(j->chunk, j->head + end, j->head_len - end);
    free(j->head);
    j->head = NULL;
    forward(j);
}

/* ---- Reading the script ---- */

/* Returns 1 when the reader may go on, 0 when the job has finished or
 * nothing more can be read now. */
static int read_head(struct cgi_job *j)
{
    ssize_t n = read(j->out_fd, j->head + j->head_len, CGI_HEAD_MAX - j->head_len);
    if (n == -1 && (errno == EAGAIN || errno == EINTR))
        return 0;
    if (n <= 0) {
        fail(j, 502, n == 0 ? "no-header" : "read-error");
        return 0;
    }
    j->head_len += (size_t)n;
    size_t end = cgi_head_end(j->head, j->head_len, &j->head_scan);
    if (end) {
        begin_response(j, end);
        return 0;
    }
    if (j->head_len == CGI_HEAD_MAX) {
        fail(j, 502, "header-too-large");
        return 0;
    }
    return 1;
}

static void end_body(struct cgi_job *j, int read_failed)
{
    if (read_failed || (j->mode == BODY_LENGTH && j->left > 0)) {
        finish(j, 0, j->status, 0);     /* the client must see it cut short */
        return;
    }
    if (j->mode == BODY_CHUNKED)
        evbuffer_add(session_output(j->client), "0\r\n\r\n", 5);
    finish(j, 1, j->status, j->keep_alive);
}

static void read_stdout(struct cgi_job *j, evutil_socket_t fd)
{
    if (!j->head_sent) {
        read_head(j);
        return;
    }
    int n = evbuffer_read(j->chunk, fd, CGI_READ_MAX);
    if (n == -1 && (errno == EAGAIN || errno == EINTR))
        return;
    if (n <= 0) {
        end_body(j, n < 0);
        return;
    }
    forward(j);
}

/* The job may be let go of while it writes to the client (finish, or the
 * session's cgi_abort); one whose child is already reaped is freed only
 * once nothing below still uses it. */
static void on_stdout(evutil_socket_t fd, short what, void *arg)
{
    struct cgi_job *j = arg;
    (void)what;
    instance_push(j->owner);
    j->busy = 1;
    read_stdout(j, fd);
    j->busy = 0;
    if (j->detached && j->reaped)
        job_free(j);
    instance_pop();
}

static void on_stdin(evutil_socket_t fd, short what, void *arg)
{
    struct cgi_job *j = arg;
    (void)what;
    int n = evbuffer_write_atmost(j->body, fd, CGI_WRITE_MAX);
    if (n == -1 && (errno == EAGAIN || errno == EINTR))
        return;
    /* EPIPE: the script stopped reading, which is its right. */
    if (n == -1 || evbuffer_get_length(j->body) == 0) {
        instance_push(j->owner);
        close_stdin(j);
        instance_pop();
    }
}

/* ---- The child's life ---- */

/* The session hears of the job for the last time; what remains is
 * waiting for the reap (with the timer still armed against a script
 * that lingers). */
static void finish(struct cgi_job *j, int ok, int status, int keep_alive)
{
    cgi_done_cb done = j->done;
    void *arg = j->arg;
    uint64_t bytes = j->bytes;
    close_io(j);
    j->detached = 1;
    if (j->reaped && !j->busy)
        job_free(j);
    done(ok, status, bytes, keep_alive, arg);
}

static void on_timeout(evutil_socket_t fd, short what, void *arg)
{
    struct cgi_job *j = arg;
    (void)fd; (void)what;
    instance_push(j->owner);
    if (j->detached) {
        log_info("id=%" PRIu64 " event=cgi-timeout script=%s after=response", j->conn_id,
                 j->script);
        kill_group(j);
    } else {
        fail(j, 504, "timeout");
    }
    instance_pop();
}

static int exited_ok(int status)
{
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

static void log_exit(const struct cgi_job *j, int status)
{
    if (WIFSIGNALED(status) && j->killed)
        log_debug("id=%" PRIu64 " event=cgi-killed script=%s", j->conn_id, j->script);
    else if (WIFSIGNALED(status))
        log_warnx("id=%" PRIu64 " event=cgi-failed script=%s signal=%d", j->conn_id, j->script,
                  WTERMSIG(status));
    else if (WEXITSTATUS(status) != 0)
        log_warnx("id=%" PRIu64 " event=cgi-failed script=%s status=%d", j->conn_id, j->script,
                  WEXITSTATUS(status));
    else
        log_debug("id=%" PRIu64 " event=cgi-exit script=%s status=0", j->conn_id, j->script);
}

static void on_reap(pid_t pid, int status, void *arg)
{
    struct cgi_job *j = arg;
    (void)pid;
    log_exit(j, status);
    if (!j->detached && !j->head_sent && !exited_ok(status)) {
        /* Whatever it wrote before dying is in the pipe now; a block
         * that is complete there still counts.  reaped is not yet set,
         * so nothing below frees the job. */
        while (read_head(j))
            ;
        if (!j->detached && !j->head_sent)
            fail(j, 502, "exit");
    }
    j->reaped = 1;
    if (j->detached)
        job_free(j);
}

/* ---- Starting ---- */

static struct cgi_job *job_new(const struct cgi_params *p, struct evbuffer *body,
                               struct gale_session *client, cgi_done_cb done, void *arg)
{
    size_t sl = strlen(p->script_file);
    struct cgi_job *j = calloc(1, sizeof *j + sl + 1);
    if (!j)
        return NULL;
    memcpy(j->script, p->script_file, sl + 1);
    j->in_fd = j->out_fd = -1;
    j->body = body;
    j->client = client;
    j->done = done;
    j->arg = arg;
    j->keep_alive = p->keep_alive;
    j->version_minor = p->req->version_minor;
    j->head_only = p->req->method == HTTP_HEAD;
    j->conn_id = p->conn_id;
    j->owner = instance_current();
    j->headers = p->headers;
    j->head = malloc(CGI_HEAD_MAX);
    j->chunk = evbuffer_new();
    if (!j->head || !j->chunk) {
        j->body = NULL;     /* the caller frees it */
        job_free(j);
        return NULL;
    }
    return j;
}

static int make_events(struct cgi_job *j, double timeout)
{
    struct event_base *base = reactor_base();
    j->ev_out = event_new(base, j->out_fd, EV_READ | EV_PERSIST, on_stdout, j);
    if (!j->ev_out)
        return -1;
    if (j->body && evbuffer_get_length(j->body) > 0) {
        j->ev_in = event_new(base, j->in_fd, EV_WRITE | EV_PERSIST, on_stdin, j);
        if (!j->ev_in)
            return -1;
    }
    if (timeout > 0 && !(j->ev_timer = evtimer_new(base, on_timeout, j)))
        return -1;
    return 0;
}

static int arm(struct cgi_job *j, double timeout)
{
    if (event_add(j->ev_out, NULL) == -1)
        return -1;
    if (j->ev_in && event_add(j->ev_in, NULL) == -1)
        return -1;
    if (!j->ev_in)
        close_stdin(j);     /* no body: the script reads EOF at once */
    if (j->ev_timer) {
        struct timeval tv = { (time_t)timeout, (suseconds_t)((timeout - (time_t)timeout) * 1e6) };
        if (evtimer_add(j->ev_timer, &tv) == -1)
            return -1;
    }
    return 0;
}

/* Our ends in j, non-blocking; the child's in kid[0] (its stdin) and
 * kid[1] (its stdout), left blocking as scripts expect. */
static int open_pipes(struct cgi_job *j, int kid[2])
{
    int in[2], out[2];
    if (pipe2(in, O_CLOEXEC) == -1)
        return -1;
    if (pipe2(out, O_CLOEXEC) == -1) {
        close(in[0]);
        close(in[1]);
        return -1;
    }
    kid[0] = in[0];
    kid[1] = out[1];
    j->in_fd = in[1];
    j->out_fd = out[0];
    if (fcntl(j->in_fd, F_SETFL, O_NONBLOCK) == -1 || fcntl(j->out_fd, F_SETFL, O_NONBLOCK) == -1)
        return -1;
    return 0;
}

/* Pipes, events and the child; on failure err says why and whatever was
 * opened is j's to close. */
static int launch(struct cgi_job *j, const struct cgi_params *p, struct cgi_env *env,
                  char *err, size_t errlen)
{
    int kid[2] = { -1, -1 };
    int r = open_pipes(j, kid) == -1 || make_events(j, p->timeout) == -1 ? -1 : 0;
    if (r == 0) {
        int ours[2] = { j->in_fd, j->out_fd };
        j->pid = cgi_spawn(p, env->vars, kid, ours);
        r = j->pid == -1 ? -1 : 0;
    }
    if (r == -1)
        snprintf(err, errlen, "cannot start %s: %s", p->script_file, strerror(errno));
    if (kid[0] != -1)
        close(kid[0]);
    if (kid[1] != -1)
        close(kid[1]);
    return r;
}

struct cgi_job *cgi_start(const struct cgi_params *p, struct evbuffer *body,
                          struct gale_session *client, cgi_done_cb done, void *arg,
                          char *err, size_t errlen)
{
    size_t len = body ? evbuffer_get_length(body) : 0;
    /* A GET comes with an empty buffer: no CONTENT_LENGTH for it. */
    int has_body = len > 0 || p->req->has_length || p->req->chunked;
    struct cgi_env *env = cgi_env_build(p, has_body, len, err, errlen);
    struct cgi_job *j = env ? job_new(p, body, client, done, arg) : NULL;
    if (!j) {
        if (env)
            snprintf(err, errlen, "out of memory");
        free(env);
        if (body)
            evbuffer_free(body);    /* taken over even on failure */
        return NULL;
    }
    int r = launch(j, p, env, err, errlen);
    free(env);
    if (r == 0 && reactor_watch_child(j->pid, on_reap, j) == -1) {
        snprintf(err, errlen, "too many child processes");
        kill_group(j);      /* the reactor's next waitpid(-1) reaps it */
        r = -1;
    }
    if (r == -1) {
        job_free(j);
        return NULL;
    }
    if (p->group)
        group_add(p->group, j);
    if (arm(j, p->timeout) == -1) {
        snprintf(err, errlen, "cannot watch the pipes of %s", p->script_file);
        cgi_abort(j);       /* the reap frees it */
        return NULL;
    }
    return j;
}

void cgi_client_drained(struct cgi_job *j)
{
    if (!j || j->detached || !j->paused)
        return;
    j->paused = 0;
    event_add(j->ev_out, NULL);
}

void cgi_abort(struct cgi_job *j)
{
    if (!j || j->detached)
        return;
    kill_group(j);
    close_io(j);
    if (j->ev_timer)
        event_del(j->ev_timer);
    j->detached = 1;
    if (j->reaped && !j->busy)
        job_free(j);
}

void cgi_group_end(struct cgi_group *g)
{
    while (g->head) {
        struct cgi_job *j = g->head;
        group_remove(j);
        kill_group(j);
        close_io(j);
        if (j->ev_timer)
            event_free(j->ev_timer);
        j->ev_timer = NULL;
        j->detached = 1;
        j->headers = NULL;
        if (j->reaped)
            job_free(j);
    }
}
