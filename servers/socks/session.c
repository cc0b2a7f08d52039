/*
 * gale socks sessions on the session layer: a client's handshake up to
 * its request, the command it asks for (command.c, bind.c, udp_assoc.c)
 * and the one close line every connection ends with.
 *
 *   SOCKS4 and 4a: https://www.openssh.com/txt/socks4.protocol,
 *                  https://www.openssh.com/txt/socks4a.protocol
 *   SOCKS5:        RFC 1928, with RFC 1929 username/password
 *
 * The first byte picks the version.  Each message is parsed from the
 * session's input and only its own bytes are taken; the input is bounded
 * by the longest message, and whatever the client sends after its request
 * stays there for the destination.  The handshake timer closes a client
 * that stalls before its request is complete; after it, each command
 * bounds its own wait.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <event2/buffer.h>

#include "connector.h"
#include "gale_session.h"
#include "log.h"
#include "relay.h"
#include "session.h"
#include "socks.h"
#include "udp_assoc.h"
#include "users.h"

union socks_msg {
    struct socks4_request s4;
    struct socks5_greeting greeting;
    struct socks5_auth auth;
    struct socks5_request s5;
};

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

void socks_set_state(struct socks_session *s, enum socks_state st)
{
    log_debug("id=%" PRIu64 " event=state from=%s to=%s", session_id(s->gs),
              state_name(s->state), state_name(st));
    s->state = st;
}

/* ---- the end -------------------------------------------------------- */

/* Stops what works on the session's behalf: nothing may call back into
 * a session that is ending. */
static void drop_work(struct socks_session *s)
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
    s->check = NULL;
    s->job = NULL;
    s->bind = NULL;
    s->udp = NULL;
    if (s->relay)
        relay_abort(s->relay);   /* its callback clears s->relay */
}

/* The end is decided: what is queued goes, then the close.  Lingering
 * lets the client read a last reply before it could be reset. */
static void end_session(struct socks_session *s, const char *outcome, int linger)
{
    if (s->state == ST_CLOSING)
        return;
    s->outcome = outcome;
    socks_set_state(s, ST_CLOSING);
    drop_work(s);
    session_finish(s->gs, linger);
}

void socks_end(struct socks_session *s, const char *outcome)
{
    end_session(s, outcome, 1);
}

int socks_reply(struct socks_session *s, int rep, const struct sockaddr *sa, socklen_t len)
{
    uint8_t b[SOCKS5_REPLY_MAX];
    size_t n;
    if (session_finishing(s->gs))
        return -1;
    if (s->version == 4)
        n = socks4_reply(b, sizeof b, rep == SOCKS5_SUCCEEDED ? SOCKS4_GRANTED : SOCKS4_REJECTED,
                         sa, len);
    else
        n = socks5_reply(b, sizeof b, rep, sa, len);
    session_write(s->gs, b, n);
    return session_finishing(s->gs) ? -1 : 0;   /* a write error ends it */
}

void socks_fail(struct socks_session *s, int rep, const char *outcome)
{
    socks_reply(s, rep, NULL, 0);   /* a client already gone changes nothing */
    socks_end(s, outcome);
}

/* Two bytes: a method choice or an RFC 1929 status, and maybe the end. */
static int send_pair(struct socks_session *s, uint8_t a, uint8_t b, const char *outcome)
{
    uint8_t pair[2] = { a, b };
    session_write(s->gs, pair, sizeof pair);
    if (session_finishing(s->gs)) {
        socks_end(s, "client closed");
        return -1;
    }
    if (outcome) {
        socks_end(s, outcome);
        return -1;
    }
    return 0;
}

int socks_local_addr(const struct socks_session *s, struct sockaddr_storage *ss,
                     socklen_t *len)
{
    struct sockaddr_storage raw;
    socklen_t rl = sizeof raw;
    int fd = session_fd(s->gs);
    if (fd < 0) {
        /* TLS keeps the socket in the layer: the address the kernel
         * answers the client from is the one it reached. */
        const struct sockaddr *peer = session_peer_addr(s->gs, &rl);
        if ((peer->sa_family != AF_INET && peer->sa_family != AF_INET6) || rl > sizeof raw)
            return -1;
        memcpy(&raw, peer, rl);
        return route_source(&raw, rl, ss, len);
    }
    if (getsockname(fd, (struct sockaddr *)&raw, &rl) == -1)
        return -1;
    socks_unmap((struct sockaddr *)&raw, rl, ss, len);
    return ss->ss_family == AF_INET || ss->ss_family == AF_INET6 ? 0 : -1;
}

/* ---- the handshake ------------------------------------------------- */

static void start_command(struct socks_session *s, int cmd, const struct socks_addr *dst)
{
    s->cmd = cmd;
    s->dst = *dst;
    socks_addr_format(dst, s->dest_name, sizeof s->dest_name);
    session_timer(s->gs, SESSION_T_NONE, 0);   /* each command bounds its own wait */
    log_debug("id=%" PRIu64 " event=request version=%d command=%s dest=\"%s\"",
              session_id(s->gs), s->version, command_name(cmd), s->dest_name);
    if (s->version == 4 && users_configured(&s->srv->users_table))
        socks_fail(s, SOCKS5_GENERAL_FAILURE, "authentication failed");  /* no password in SOCKS4 */
    else if (cmd == SOCKS_CONNECT)
        cmd_connect(s);
    else if (cmd == SOCKS_BIND)
        cmd_bind(s);
    else
        cmd_udp_associate(s);
}

static void on_greeting(struct socks_session *s, const struct socks5_greeting *g)
{
    uint8_t want = users_configured(&s->srv->users_table) ? SOCKS5_METHOD_USERPASS
                                                          : SOCKS5_METHOD_NONE;
    if (!socks5_greeting_offers(g, want))
        send_pair(s, 5, SOCKS5_METHOD_UNACCEPTABLE, "no acceptable methods");
    else if (send_pair(s, 5, want, NULL) == 0)
        socks_set_state(s, want == SOCKS5_METHOD_USERPASS ? ST_S5_AUTH : ST_S5_REQUEST);
}

static void on_verified(int ok, void *arg)
{
    struct socks_session *s = arg;
    s->check = NULL;
    log_debug("id=%" PRIu64 " event=auth user=\"%s\" ok=%d", session_id(s->gs), s->user, ok);
    if (send_pair(s, 1, ok ? 0 : 1, ok ? NULL : "authentication failed") == -1)
        return;
    s->authenticated = 1;
    socks_set_state(s, ST_S5_REQUEST);
    session_pause(s->gs, 0);
    session_continue(s->gs);   /* a request already read raises no new event */
}

static void on_auth(struct socks_session *s, const struct socks5_auth *a)
{
    /* The name is kept printable: it only goes to the log. */
    size_t i;
    for (i = 0; i < a->ulen && i < sizeof s->user - 1; i++) {
        unsigned char ch = (unsigned char)a->user[i];
        s->user[i] = ch < 0x20 || ch > 0x7e ? '?' : (char)ch;
    }
    s->user[i] = '\0';
    session_pause(s->gs, 1);
    socks_set_state(s, ST_S5_VERIFY);
    s->check = users_verify(&s->srv->users_table, a->user, a->ulen, a->pass, a->plen,
                            on_verified, s);
    if (!s->check)
        send_pair(s, 1, 1, "general failure");
}

/* A message the parser refused: the reply its state allows, then the end. */
static void reject(struct socks_session *s, int err)
{
    log_debug("id=%" PRIu64 " event=reject state=%s error=%d", session_id(s->gs),
              state_name(s->state), err);
    switch (s->state) {
    case ST_S4_REQUEST:
        socks_fail(s, SOCKS5_GENERAL_FAILURE,
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
            socks_fail(s, SOCKS5_CMD_UNSUPPORTED, socks5_rep_text(SOCKS5_CMD_UNSUPPORTED));
        else if (err == SOCKS_EATYP)
            socks_fail(s, SOCKS5_ATYP_UNSUPPORTED, socks5_rep_text(SOCKS5_ATYP_UNSUPPORTED));
        else
            socks_fail(s, SOCKS5_GENERAL_FAILURE, "bad request");
    }
}

static int parse_current(struct socks_session *s, const uint8_t *p, size_t have,
                         union socks_msg *m)
{
    switch (s->state) {
    case ST_S4_REQUEST: return socks4_parse_request(p, have, &m->s4);
    case ST_S5_GREETING: return socks5_parse_greeting(p, have, &m->greeting);
    case ST_S5_AUTH: return socks5_parse_auth(p, have, &m->auth);
    case ST_S5_REQUEST: return socks5_parse_request(p, have, &m->s5);
    default: return SOCKS_EBAD;
    }
}

static void on_message(struct socks_session *s, union socks_msg *m)
{
    switch (s->state) {
    case ST_S4_REQUEST:
        start_command(s, m->s4.cmd, &m->s4.dst);
        break;
    case ST_S5_GREETING:
        on_greeting(s, &m->greeting);
        break;
    case ST_S5_AUTH:
        on_auth(s, &m->auth);
        explicit_bzero(&m->auth, sizeof m->auth);   /* users_verify() took a copy */
        break;
    default:
        start_command(s, m->s5.cmd, &m->s5.dst);
    }
}

/* The first byte picks the protocol; anything else is not SOCKS, and
 * there is no reply we could word. */
static int pick_version(struct socks_session *s, uint8_t first)
{
    if (first != 4 && first != 5) {
        socks_end(s, "bad request");
        return -1;
    }
    s->version = first;
    socks_set_state(s, s->version == 4 ? ST_S4_REQUEST : ST_S5_GREETING);
    return 0;
}

/* Every whole message the client has sent so far.  The input holds at
 * most SOCKS_MSG_MAX bytes (the input limit), and each round takes a
 * message or returns. */
static void read_messages(struct socks_session *s)
{
    struct evbuffer *in = session_input(s->gs);
    while (reading(s->state) && in && evbuffer_get_length(in) > 0) {
        size_t have = evbuffer_get_length(in);
        if (have > SOCKS_MSG_MAX)
            have = SOCKS_MSG_MAX;
        uint8_t *p = evbuffer_pullup(in, (ev_ssize_t)have);
        if (!p) {
            socks_end(s, "general failure");
            return;
        }
        if (s->state == ST_VERSION && pick_version(s, p[0]) == -1)
            return;
        union socks_msg m;
        int r = parse_current(s, p, have, &m);
        if (r == 0 && have == SOCKS_MSG_MAX)
            r = SOCKS_ETOOLONG;   /* the parsers bound their messages below this */
        if (r < 0) {
            reject(s, r);
            return;
        }
        if (r == 0)
            return;               /* the rest of the message is still to come */
        explicit_bzero(p, (size_t)r);   /* a password leaves no copy behind */
        evbuffer_drain(in, (size_t)r);
        on_message(s, &m);
    }
}

/* ---- the layer's callbacks ------------------------------------------- */

static int socks_open(struct gale_session *gs)
{
    struct socks_session *s = session_data(gs);
    socklen_t len;
    const struct sockaddr *peer = session_peer_addr(gs, &len);
    s->gs = gs;
    s->srv = session_server(gs);
    if (s->srv->n_allow && !cidr_match_any(s->srv->allow_v, s->srv->n_allow, peer)) {
        log_info("id=%" PRIu64 " event=refused client=%s reason=\"not in --allow\"",
                 session_id(gs), session_peer(gs));
        return -1;
    }
    session_set_input_limit(gs, SOCKS_MSG_MAX);
    session_timer(gs, SESSION_T_HANDSHAKE, s->srv->handshake_timeout);
    return 0;
}

/* CONNECTING, BIND_WAIT: what comes is kept for the destination (up to
 * the input limit, then reading waits for the relay). */
static void socks_input(struct gale_session *gs)
{
    struct socks_session *s = session_data(gs);
    struct evbuffer *in = session_input(gs);
    if (reading(s->state)) {
        read_messages(s);
        if (reading(s->state) && session_peer_closed(gs))
            socks_end(s, "client closed");   /* in the middle of a message */
    } else if (s->state == ST_UDP && in) {
        evbuffer_drain(in, evbuffer_get_length(in));   /* nothing is expected on it */
    }
}

/* The client will send nothing more.  While a command waits, bytes it
 * sent before are still to go to the destination, and the relay will see
 * the end itself; with none, it has left. */
static void socks_eof(struct gale_session *gs)
{
    struct socks_session *s = session_data(gs);
    if (reading(s->state))
        socks_input(gs);
    else if (s->state == ST_UDP)
        socks_end(s, s->outcome);
    else if ((s->state == ST_CONNECTING || s->state == ST_BIND_WAIT) &&
             session_input_length(gs) == 0)
        socks_end(s, "client closed");
}

static void socks_timeout(struct gale_session *gs, enum session_timer why)
{
    struct socks_session *s = session_data(gs);
    (void)why;
    if (s->state == ST_BIND_WAIT) {
        socks_fail(s, SOCKS5_TTL_EXPIRED, socks5_rep_text(SOCKS5_TTL_EXPIRED));
        return;
    }
    s->outcome = "timed out";
    session_abort(gs, "timed out");
}

/* Shutdown: a client still in its handshake goes at once, a command still
 * waiting is refused; relays and UDP associations run until they end or
 * the shutdown timeout. */
static void socks_stop(struct gale_session *gs)
{
    struct socks_session *s = session_data(gs);
    if (s->state < ST_CONNECTING)
        end_session(s, "shutting down", 0);
    else if (s->state <= ST_BIND_WAIT)
        socks_fail(s, SOCKS5_GENERAL_FAILURE, "shutting down");
}

/* An end the protocol did not decide: the client's or the core's. */
static const char *outcome_for(const char *why)
{
    if (strcmp(why, "aborted") == 0 || strcmp(why, "timed out") == 0)
        return why;
    if (strstr(why, "error"))
        return "client error";
    return "general failure";
}

static void socks_close(struct gale_session *gs, const char *why)
{
    struct socks_session *s = session_data(gs);
    drop_work(s);
    struct socks_record r = {
        .id = session_id(gs),
        .client = session_peer(gs),
        .version = s->version,
        .command = command_name(s->cmd),
        .dest_name = s->dest_name[0] ? s->dest_name : "-",
        .dest_addr = s->dest_addr[0] ? s->dest_addr : "-",
        .user = s->authenticated ? s->user : NULL,
        .outcome = s->outcome ? s->outcome : outcome_for(why ? why : "-"),
        .to_dest = s->to_dest,
        .to_client = s->to_client,
        .duration = session_age(gs),
    };
    socks_log_close(s->srv, &r);
}

const struct session_proto socks_proto = {
    .name = "socks",
    .data_size = sizeof(struct socks_session),
    .on_open = socks_open,
    .on_input = socks_input,
    .on_eof = socks_eof,
    .on_timeout = socks_timeout,
    .on_stop = socks_stop,
    .on_close = socks_close,
};
