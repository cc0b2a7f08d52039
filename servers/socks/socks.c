/*
 * gale socks: a SOCKS4, SOCKS4a and SOCKS5 proxy with twistd socks's
 * options (-i, -p, -l), users with RFC 1929 passwords, client and
 * destination rules.  This file holds the configuration, the service,
 * the destination rules and the connection log; session.c speaks the
 * protocols (and refuses clients by address).
 */
#include "socks.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include "endpoint.h"
#include "gale_session.h"
#include "linefile.h"
#include "log.h"
#include "server.h"
#include "users.h"

#define FIELD_TEXT_MAX 600          /* a name of 255 bytes, each escaped */

/* --- options --------------------------------------------------------- */

static int check_user(const char *s, char *err, size_t errlen)
{
    const char *colon = strchr(s, ':');
    if (!colon || colon == s || colon[1] == '\0') {
        snprintf(err, errlen, "'%s' is not USER:PASSWORD", s);
        return -1;
    }
    return 0;
}

static int check_port(const char *s, char *err, size_t errlen)
{
    return endpoint_check(s, err, errlen);
}

static int check_interface(const char *s, char *err, size_t errlen)
{
    struct in6_addr a6;
    struct in_addr a4;
    if (inet_pton(AF_INET, s, &a4) != 1 && inet_pton(AF_INET6, s, &a6) != 1) {
        snprintf(err, errlen, "'%s' is not an IPv4 or IPv6 address", s);
        return -1;
    }
    return 0;
}

static int parse_cidrs(const struct opt_list *l, struct cidr **out, size_t *n, char *err,
                       size_t errlen)
{
    *n = 0;
    if (l->n == 0)
        return 0;
    *out = calloc(l->n, sizeof **out);
    if (!*out) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < l->n; i++)
        if (cidr_parse(l->v[i], &(*out)[(*n)++], err, errlen) == -1)
            return -1;
    return 0;
}

static int socks_check(void *p, char *err, size_t errlen)
{
    struct socks_cfg *cfg = p;
    if (parse_cidrs(&cfg->allow, &cfg->allow_v, &cfg->n_allow, err, errlen) == -1 ||
        parse_cidrs(&cfg->deny_dest, &cfg->deny_v, &cfg->n_deny, err, errlen) == -1)
        return -1;
    if (cfg->handshake_timeout <= 0) {
        snprintf(err, errlen, "--handshake-timeout: must be above 0");
        return -1;
    }
    return users_load(&cfg->users_table, &cfg->users, cfg->users_file, err, errlen);
}

/* -p takes twistd's plain port, listened on at -i; or any endpoint. */
static int listen_desc(const struct socks_cfg *cfg, char *out, size_t outlen)
{
    const char *p = cfg->port;
    if (strspn(p, "0123456789") != strlen(p)) {
        snprintf(out, outlen, "%s", p);
        return 0;
    }
    if (!strchr(cfg->interface, ':'))
        return snprintf(out, outlen, "tcp:%s:interface=%s", p, cfg->interface) < (int)outlen ? 0 : -1;
    size_t n = (size_t)snprintf(out, outlen, "tcp6:%s:interface=", p);
    for (const char *c = cfg->interface; *c && n + 3 < outlen; c++) {
        if (*c == ':')
            out[n++] = '\\';
        out[n++] = *c;
    }
    out[n] = '\0';
    return 0;
}

static void socks_listens(const void *p, void (*add)(void *ctx, int udp, const char *endpoint),
                          void *ctx)
{
    char desc[EP_VALUE_MAX + 64];
    if (listen_desc(p, desc, sizeof desc) == 0)
        add(ctx, 0, desc);
}

/* Whether the listener can be reached from beyond this machine. */
static int open_to_network(const char *desc)
{
    struct endpoint ep;
    char err[256];
    if (endpoint_parse(desc, &ep, err, sizeof err) == -1 || ep.kind == EP_UNIX)
        return 0;
    if (ep.kind == EP_SYSTEMD || !ep.has_interface)
        return 1;
    struct in_addr a4;
    struct in6_addr a6;
    if (inet_pton(AF_INET, ep.interface, &a4) == 1)
        return (ntohl(a4.s_addr) >> 24) != 127;
    if (inet_pton(AF_INET6, ep.interface, &a6) == 1)
        return !IN6_IS_ADDR_LOOPBACK(&a6);
    return 1;
}

/* --- access ---------------------------------------------------------- */

int socks_dest_allowed(const struct socks_cfg *srv, const struct sockaddr *sa, socklen_t len)
{
    (void)len;
    return !cidr_match_any(srv->deny_v, srv->n_deny, sa);
}

/* --- the connection log ---------------------------------------------- */

/* Names and users come from clients: anything but plain printable
 * characters is shown as \xHH, so a line can be neither split nor
 * forged. */
static const char *printable(const char *s, char *buf, size_t len)
{
    size_t n = 0;
    for (; s && *s && n + 5 < len; s++) {
        unsigned char c = (unsigned char)*s;
        if (c > 0x20 && c < 0x7f && c != '"' && c != '\\')
            buf[n++] = (char)c;
        else
            n += (size_t)snprintf(buf + n, len - n, "\\x%02x", c);
    }
    buf[n] = '\0';
    return n ? buf : "-";
}

void socks_log_close(const struct socks_cfg *srv, const struct socks_record *r)
{
    char dest[FIELD_TEXT_MAX], user[FIELD_TEXT_MAX], userpart[FIELD_TEXT_MAX + 8] = "";
    char line[2048];
    if (r->user)
        snprintf(userpart, sizeof userpart, " user=%s", printable(r->user, user, sizeof user));
    int n = snprintf(line, sizeof line,
                     "id=%" PRIu64 " event=close client=%s version=%d command=%s dest=%s "
                     "address=%s%s outcome=\"%s\" to_dest=%" PRIu64 " to_client=%" PRIu64
                     " duration=%.3f",
                     r->id, r->client, r->version, r->command ? r->command : "-",
                     printable(r->dest_name, dest, sizeof dest),
                     r->dest_addr ? r->dest_addr : "-", userpart, r->outcome ? r->outcome : "-",
                     r->to_dest, r->to_client, r->duration);
    if (n < 0)
        return;
    log_info("%s", line);
    if (srv->connlog) {
        char stamped[2100], when[32];
        time_t now = time(NULL);
        struct tm tm;
        gmtime_r(&now, &tm);
        strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
        int m = snprintf(stamped, sizeof stamped, "%s %s", when, line);
        if (m > 0)
            linefile_write(srv->connlog, stamped, (size_t)m < sizeof stamped ? (size_t)m : sizeof stamped - 1);
    }
}

/* --- life cycle ------------------------------------------------------ */

static int socks_start(void *p, char *err, size_t errlen)
{
    struct socks_cfg *cfg = p;
    char desc[EP_VALUE_MAX + 64];
    if (listen_desc(cfg, desc, sizeof desc) == -1) {
        snprintf(err, errlen, "-p: endpoint too long");
        return -1;
    }
    if (!(cfg->dgram = malloc(SOCKS_DGRAM_ROOM + SOCKS_DGRAM_MAX))) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (cfg->log_path && !(cfg->connlog = linefile_open(cfg->log_path, err, errlen)))
        return -1;
    if (!(cfg->svc = session_service_new(&socks_proto, cfg))) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (session_service_listen(cfg->svc, desc, err, errlen) == -1)
        return -1;
    int users = users_configured(&cfg->users_table);
    log_info("event=config endpoint=\"%s\" users=%s deny_dest=%zu allow=%zu", desc,
             users ? "yes" : "no", cfg->n_deny, cfg->n_allow);
    if (open_to_network(desc) && !users)
        log_warnx("event=open-proxy endpoint=\"%s\" note=\"no --user or --users: anyone who "
                  "can reach this address may use the proxy\"", desc);
    return 0;
}

/* Shutdown: see session.c's on_stop. */
static void socks_stop(void *p)
{
    struct socks_cfg *cfg = p;
    if (cfg->svc)
        session_service_stop(cfg->svc);
}

static void socks_reload(void *p)
{
    struct socks_cfg *cfg = p;
    char err[512];
    linefile_reopen(cfg->connlog);
    if (!cfg->users_file)
        return;
    if (users_reload(&cfg->users_table, &cfg->users, cfg->users_file, err, sizeof err) == -1)
        log_error("event=reload-failed error=\"%s\" note=\"the users read before stay\"", err);
    else
        log_info("event=users-reloaded file=\"%s\"", cfg->users_file);
}

static void socks_cleanup(void *p)
{
    struct socks_cfg *cfg = p;
    session_service_free(cfg->svc);   /* first: its close lines go to the log */
    cfg->svc = NULL;
    linefile_close(cfg->connlog);
    cfg->connlog = NULL;
    users_free(&cfg->users_table);
    free(cfg->dgram);
    cfg->dgram = NULL;
    free(cfg->allow_v);
    free(cfg->deny_v);
}

#define C(field) OPT_AT(struct socks_cfg, field)

static const struct gale_opt socks_opts[] = {
    { .name = "interface", .short_name = 'i', .type = OPT_STRING, .offset = C(interface),
      .metavar = "ADDR", .help = "the address to listen on", .def = "127.0.0.1",
      .check = check_interface },
    { .name = "port", .short_name = 'p', .type = OPT_STRING, .offset = C(port),
      .metavar = "PORT|ENDPOINT", .help = "the port to listen on (at -i), or an endpoint",
      .def = "1080", .check = check_port, .check_disk = endpoint_check_files },
    { .name = "log", .short_name = 'l', .type = OPT_PATH, .offset = C(log_path),
      .metavar = "FILE", .help = "write a line per connection to FILE ('-': standard output)",
      .check_disk = opt_check_new_file },
    { .name = "user", .type = OPT_LIST, .offset = C(users), .metavar = "USER:PASSWORD",
      .help = "a user allowed in with SOCKS5 username/password",
      .check = check_user },
    { .name = "users", .type = OPT_FILE, .offset = C(users_file), .metavar = "FILE",
      .help = "users from FILE: 'user:password' or 'user:HASH' lines (crypt(3) hashes)" },
    { .name = "allow", .type = OPT_LIST, .offset = C(allow), .metavar = "CIDR",
      .help = "clients allowed (default: all)", .check = cidr_check },
    { .name = "deny-dest", .type = OPT_LIST, .offset = C(deny_dest), .metavar = "CIDR",
      .help = "destinations refused as 'not allowed by ruleset'",
      .check = cidr_check },
    { .name = "connect-timeout", .type = OPT_DURATION, .offset = C(connect_timeout),
      .metavar = "SECONDS", .help = "give up on each destination address after this long",
      .def = "10" },
    { .name = "handshake-timeout", .type = OPT_DURATION, .offset = C(handshake_timeout),
      .metavar = "SECONDS", .help = "close a client that has not made its request in this long",
      .def = "10" },
    { .name = "idle-timeout", .type = OPT_DURATION, .offset = C(idle_timeout),
      .metavar = "SECONDS", .help = "close a connection when no byte has moved for this long (0: never)",
      .def = "0" },
    { 0 }
};

const struct gale_server gale_server_socks = {
    .name = "socks",
    .summary = "a SOCKS4, SOCKS4a and SOCKS5 proxy",
    .description =
        "A SOCKS proxy with twistd socks's options: SOCKS4 and SOCKS4a CONNECT and BIND, and\n"
        "SOCKS5 (RFC 1928) CONNECT, BIND and UDP ASSOCIATE with IPv4, IPv6 and names the proxy\n"
        "resolves.  With --user or --users, SOCKS5 clients must log in (RFC 1929).  Clients\n"
        "can be limited with --allow and destinations refused with --deny-dest.  Data is\n"
        "relayed as portforward relays it: splice(), half-close, backpressure.",
    .opts = socks_opts,
    .cfg_size = sizeof(struct socks_cfg),
    .check = socks_check,
    .listens = socks_listens,
    .start = socks_start,
    .reload = socks_reload,
    .stop = socks_stop,
    .cleanup = socks_cleanup,
};
