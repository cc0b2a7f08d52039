/*
 * gale socks sessions: a client's handshake up to its request, the
 * command it asks for (command.c, bind.c, udp_assoc.c) and the one close
 * line every connection ends with.
 *
 *   SOCKS4 and 4a: https://www.openssh.com/txt/socks4.protocol,
 *                  https://www.openssh.com/txt/socks4a.protocol
 *   SOCKS5:        RFC 1928, with RFC 1929 username/password
 *
 * The first byte picks the version.  Each message is parsed from the
 * bytes peeked so far (client_io.c) and only its own bytes are taken.
 * The handshake timer closes a client that stalls before its request is
 * complete; after it, each command bounds its own wait.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <event2/event.h>

#include "conn.h"
#include "connector.h"
#include "log.h"
#include "reactor.h"
#include "session.h"
#include "socks.h"
#include "udp_assoc.h"
#include "users.h"

#define CLOSING_TIMEOUT 5.0    /* seconds for a last reply to go out under TLS */
#define TIMER_MAX 1e7          /* keeps a timeval in range */

union socks_msg {
    struct socks4_request s4;
    struct socks5_greeting greeting;
    struct socks5_auth auth;
    struct socks5_request s5;
};

static void read_messages(struct socks_session *s);

static const char *state_name(enum socks_state st)
{
    static const char *const names[] = {
        "version", "s4-request", "s5-greeting", "s5-auth", "s5-verify", "s5-request",
        "connecting", "bind-wait", "relaying", "udp", "closing",
    };
    return (size_t)st < sizeof names / sizeof names[0] ? names[st] : "?";
}

static const char *command_name(int cmd)
{
    switch (cmd) {
    case SOCKS_CONNECT: return "connect";
    case SOCKS_BIND: return "bind";
    case SOCKS_UDP_ASSOCIATE: return "udp-associate";
    default: return "-";
    }
}

/* States in which the next handshake message is read. */
static int reading(enum socks_state st)
{
    return st <= ST_S5_REQUEST && st != ST_S5_VERIFY;
}

void session_set_state(struct socks_session *s, enum socks_state st)
{
    log_debug("id=%" PRIu64 " event=state from=%s to=%s", s->conn->id, state_name(s->state),
              state_name(st));
    s->state = st;
}

void session_set_timer(struct socks_session *s, double seconds)
{
    if (seconds <= 0) {
        evtimer_del(s->timer);
        return;
    }
    if (seconds > TIMER_MAX)
        seconds = TIMER_MAX;
    struct timeval tv = reactor_timeval(seconds);
    evtimer_add(s->timer, &tv);
}

static void unlink_session(struct socks_session *s)
{
    if (s->prev)
        s->prev->next = s->next;
    else
        s->srv->sessions = s->next;
    if (s->next)
        s->next->prev = s->prev;
}

static void log_record(const struct socks_session *s, const char *outcome)
{
    const struct gale_conn *c = s->conn;
    struct socks_record r = {
        .id = c->id,
        .client = conn_peer(c),
        .version = s->version,
        .command = command_name(s->cmd),
        .dest_name = s->dest_name[0] ? s->dest_name : "-",
        .dest_addr = s->dest_addr[0] ? s->dest_addr : "-",
        .user = s->authenticated ? s->user : NULL,
        .outcome = outcome,
        .to_dest = s->to_dest,
        .to_client = s->to_client,
        .duration = conn_age(c),
    };
    socks_log_close(s->srv, &r);
}

void session_end(struct socks_session *s, const char *outcome)
{
    if (s->check)
        users_cancel(s->check);
    if (s->job)
        connect_cancel(s->job);
    if (s->bind)
        bind_free(s->bind);
    if (s->udp) {
        udp_assoc_counts(s->udp, &s->to_dest, &s->to_client);
        udp_assoc_free(s->udp);
    }
    if (s->timer)
        event_free(s->timer);
    io_close(&s->io);
    log_record(s, outcome ? outcome : "general failure");
    unlink_session(s);
    conn_free(s->conn);
    free(s);
}

/* Under TLS a last reply may still be queued: end once it is written. */
static void end_when_written(struct socks_session *s, const char *outcome)
{
    if (!io_flushing(&s->io)) {
        session_end(s, outcome);
        return;
    }
    s->outcome = outcome;
    io_watch(&s->io, 0);
    session_set_state(s, ST_CLOSING);
    session_set_timer(s, CLOSING_TIMEOUT);
}

static void on_flushed(void *arg)
{
    struct socks_session *s = arg;
    if (s->state == ST_CLOSING)
        session_end(s, s->outcome);
}

int session_reply(struct socks_session *s, int rep, const struct sockaddr *sa, socklen_t len)
{
    uint8_t b[SOCKS5_REPLY_MAX];
    size_t n;
    if (s->version == 4)
        n = socks4_reply(b, sizeof b, rep == SOCKS5_SUCCEEDED ? SOCKS4_GRANTED : SOCKS4_REJECTED,
                         sa, len);
    else
        n = socks5_reply(b, sizeof b, rep, sa, len);
    return io_send(&s->io, b, n);
}

void session_fail(struct socks_session *s, int rep, const char *outcome)
{
    session_reply(s, rep, NULL, 0);   /* a client already gone changes nothing */
    end_when_written(s, outcome);
}

/* Two bytes: a method choice or an RFC 1929 status, and maybe the end. */
static int send_pair(struct socks_session *s, uint8_t a, uint8_t b, const char *outcome)
{
    uint8_t pair[2] = { a, b };
    if (io_send(&s->io, pair, sizeof pair) == -1) {
        session_end(s, "client closed");
        return -1;
    }
    if (outcome) {
        end_when_written(s, outcome);
        return -1;
    }
    return 0;
}

/* ---- the handshake ------------------------------------------------- */

static int start_command(struct socks_session *s, int cmd, const struct socks_addr *dst)
{
    s->cmd = cmd;
    s->dst = *dst;
    socks_addr_format(dst, s->dest_name, sizeof s->dest_name);
    session_set_timer(s, 0);   /* each command bounds its own wait */
    log_debug("id=%" PRIu64 " event=request version=%d command=%s dest=\"%s\"", s->conn->id,
              s->version, command_name(cmd), s->dest_name);
    if (s->version == 4 && users_configured(&s->srv->users_table)) {
        /* SOCKS4 cannot carry a password. */
        session_fail(s, SOCKS5_GENERAL_FAILURE, "authentication failed");
        return -1;
    }
    if (cmd == SOCKS_CONNECT)
        cmd_connect(s);
    else if (cmd == SOCKS_BIND)
        cmd_bind(s);
    else
        cmd_udp_associate(s);
    return -1;   /* no more handshake to read, and s may be gone */
}

static int on_greeting(struct socks_session *s, const struct socks5_greeting *g)
{
    uint8_t want = users_configured(&s->srv->users_table) ? SOCKS5_METHOD_USERPASS
                                                          : SOCKS5_METHOD_NONE;
    if (!socks5_greeting_offers(g, want))
        return send_pair(s, 5, SOCKS5_METHOD_UNACCEPTABLE, "no acceptable methods");
    if (send_pair(s, 5, want, NULL) == -1)
        return -1;
    session_set_state(s, want == SOCKS5_METHOD_USERPASS ? ST_S5_AUTH : ST_S5_REQUEST);
    return 0;
}

static void on_verified(int ok, void *arg)
{
    struct socks_session *s = arg;
    s->check = NULL;
    log_debug("id=%" PRIu64 " event=auth user=\"%s\" ok=%d", s->conn->id, s->user, ok);
    if (send_pair(s, 1, ok ? 0 : 1, ok ? NULL : "authentication failed") == -1)
        return;
    s->authenticated = 1;
    session_set_state(s, ST_S5_REQUEST);
    io_watch(&s->io, 1);
    read_messages(s);   /* a request read ahead (TLS) raises no new event */
}

static int on_auth(struct socks_session *s, const struct socks5_auth *a)
{
    /* The name is kept printable: it only goes to the log. */
    size_t i;
    for (i = 0; i < a->ulen && i < sizeof s->user - 1; i++) {
        unsigned char ch = (unsigned char)a->user[i];
        s->user[i] = ch < 0x20 || ch > 0x7e ? '?' : (char)ch;
    }
    s->user[i] = '\0';
    /* No copy of the password stays behind: the buffer's later bytes are
     * still in the socket and will be peeked again. */
    explicit_bzero(s->in, sizeof s->in);
    io_watch(&s->io, 0);
    session_set_state(s, ST_S5_VERIFY);
    s->check = users_verify(&s->srv->users_table, a->user, a->ulen, a->pass, a->plen,
                            on_verified, s);
    if (!s->check)
        send_pair(s, 1, 1, "general failure");
    return -1;   /* reading resumes once verified */
}

/* A message the parser refused: the reply its state allows, then the end. */
static void reject(struct socks_session *s, int err)
{
    log_debug("id=%" PRIu64 " event=reject state=%s error=%d", s->conn->id,
              state_name(s->state), err);
    switch (s->state) {
    case ST_S4_REQUEST:
        session_fail(s, SOCKS5_GENERAL_FAILURE,
                     err == SOCKS_ECMD ? "command not supported" : "bad request");
        return;
    case ST_S5_GREETING:
        send_pair(s, 5, SOCKS5_METHOD_UNACCEPTABLE, "bad request");
        return;
    case ST_S5_AUTH:
        send_pair(s, 1, 1, "bad request");
        return;
    default:
        if (err == SOCKS_ECMD)
            session_fail(s, SOCKS5_CMD_UNSUPPORTED, socks5_rep_text(SOCKS5_CMD_UNSUPPORTED));
        else if (err == SOCKS_EATYP)
            session_fail(s, SOCKS5_ATYP_UNSUPPORTED, socks5_rep_text(SOCKS5_ATYP_UNSUPPORTED));
        else
            session_fail(s, SOCKS5_GENERAL_FAILURE, "bad request");
    }
}

static int parse_current(struct socks_session *s, size_t have, union socks_msg *m)
{
    switch (s->state) {
    case ST_S4_REQUEST: return socks4_parse_request(s->in, have, &m->s4);
    case ST_S5_GREETING: return socks5_parse_greeting(s->in, have, &m->greeting);
    case ST_S5_AUTH: return socks5_parse_auth(s->in, have, &m->auth);
    case ST_S5_REQUEST: return socks5_parse_request(s->in, have, &m->s5);
    default: return SOCKS_EBAD;
    }
}

/* -1 when the session is gone or reads no more for now. */
static int on_message(struct socks_session *s, union socks_msg *m)
{
    int r;
    switch (s->state) {
    case ST_S4_REQUEST:
        return start_command(s, m->s4.cmd, &m->s4.dst);
    case ST_S5_GREETING:
        return on_greeting(s, &m->greeting);
    case ST_S5_AUTH:
        r = on_auth(s, &m->auth);
        explicit_bzero(&m->auth, sizeof m->auth);   /* users_verify() took a copy */
        return r;
    default:
        return start_command(s, m->s5.cmd, &m->s5.dst);
    }
}

/* The first byte picks the protocol; anything else is not SOCKS, and
 * there is no reply we could word. */
static int pick_version(struct socks_session *s)
{
    if (s->in[0] != 4 && s->in[0] != 5) {
        session_end(s, "bad request");
        return -1;
    }
    s->version = s->in[0];
    session_set_state(s, s->version == 4 ? ST_S4_REQUEST : ST_S5_GREETING);
    return 0;
}

/* Every message the client has sent so far.  Each round takes at least a
 * byte or returns, and the handshake has at most three messages. */
static void read_messages(struct socks_session *s)
{
    while (reading(s->state)) {
        long n = io_peek(&s->io, s->in + s->in_len, sizeof s->in - s->in_len);
        if (n == -2)
            return;
        if (n <= 0) {
            session_end(s, n == 0 ? "client closed" : "client error");
            return;
        }
        size_t have = s->in_len + (size_t)n;
        if (s->state == ST_VERSION && pick_version(s) == -1)
            return;
        union socks_msg m;
        int r = parse_current(s, have, &m);
        if (r == 0 && have == sizeof s->in)
            r = SOCKS_ETOOLONG;   /* the parsers bound their messages below this */
        if (r < 0) {
            reject(s, r);
            return;
        }
        if (r == 0) {
            io_consume(&s->io, (size_t)n);   /* all of it belongs to this message */
            s->in_len = have;
            continue;
        }
        io_consume(&s->io, (size_t)r - s->in_len);
        s->in_len = 0;
        if (on_message(s, &m) == -1)
            return;
    }
}

/* ---- waiting for a command ------------------------------------------ */

void session_watch_client(struct socks_session *s)
{
    io_watch(&s->io, 1);
}

/* CONNECTING, BIND_WAIT: the end of the client is noticed; bytes it sends
 * stay in the socket for the destination, and watching stops. */
static void on_waiting_client(struct socks_session *s)
{
    uint8_t b;
    long n = io_peek(&s->io, &b, 1);
    if (n == -2)
        return;
    if (n > 0) {
        io_watch(&s->io, 0);
        return;
    }
    session_end(s, "client closed");
}

/* UDP: the association lasts as long as its TCP connection; nothing is
 * expected on it, so what comes is dropped. */
static void on_udp_control(struct socks_session *s)
{
    uint8_t scratch[512];
    long n = io_peek(&s->io, scratch, sizeof scratch);
    if (n == -2)
        return;
    if (n > 0) {
        io_consume(&s->io, (size_t)n);
        return;
    }
    session_end(s, s->outcome);
}

static void on_client(void *arg)
{
    struct socks_session *s = arg;
    switch (s->state) {
    case ST_CONNECTING:
    case ST_BIND_WAIT:
        on_waiting_client(s);
        break;
    case ST_UDP:
        on_udp_control(s);
        break;
    case ST_CLOSING:
        if (s->io.closed)
            session_end(s, s->outcome);
        break;
    case ST_S5_VERIFY:
    case ST_RELAYING:
        break;
    default:
        read_messages(s);
    }
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    struct socks_session *s = arg;
    (void)fd; (void)what;
    if (s->state == ST_BIND_WAIT)
        session_fail(s, SOCKS5_TTL_EXPIRED, socks5_rep_text(SOCKS5_TTL_EXPIRED));
    else if (s->state == ST_CLOSING)
        session_end(s, s->outcome);
    else
        session_end(s, "timed out");
}

static void on_abort(struct gale_conn *c, void *arg)
{
    struct socks_session *s = arg;
    (void)c;
    if (s->relay)
        relay_abort(s->relay);   /* its callback ends the session */
    else
        session_end(s, s->outcome ? s->outcome : "aborted");
}

void socks_sessions_stop(struct socks_cfg *srv)
{
    struct socks_session *s = srv->sessions, *next;
    for (; s; s = next) {
        next = s->next;
        if (s->state < ST_CONNECTING)
            session_end(s, "shutting down");
        else if (s->state <= ST_BIND_WAIT)
            session_fail(s, SOCKS5_GENERAL_FAILURE, "shutting down");
    }
}

void socks_session_start(struct socks_cfg *srv, struct gale_conn *c)
{
    struct socks_session *s = calloc(1, sizeof *s);
    if (!s) {
        conn_free(c);
        return;
    }
    s->srv = srv;
    s->conn = c;
    s->next = srv->sessions;
    if (srv->sessions)
        srv->sessions->prev = s;
    srv->sessions = s;
    c->data = s;
    c->abort = on_abort;
    log_debug("id=%" PRIu64 " event=accept client=%s", c->id, conn_peer(c));
    if (io_open(&s->io, c, on_client, on_flushed, s) == -1 ||
        !(s->timer = evtimer_new(reactor_base(), on_timer, s))) {
        session_end(s, "general failure");
        return;
    }
    session_set_timer(s, srv->handshake_timeout);
    io_watch(&s->io, 1);
}
