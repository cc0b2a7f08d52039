/*
 * What gale socks's parts share: the configuration (parsed by socks.c),
 * the protocol the session layer serves (session.c) and the close record
 * every connection ends with (written by socks.c to the log and to -l
 * FILE).
 */
#ifndef GALE_SOCKS_H
#define GALE_SOCKS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "cidr.h"
#include "opt.h"
#include "users.h"

struct linefile;
struct session_service;

#define SOCKS_DGRAM_MAX 65535        /* the largest UDP datagram relayed */
#define SOCKS_DGRAM_ROOM 262         /* room in front for the longest SOCKS5 header */

struct socks_cfg {
    const char *interface;           /* -i, default 127.0.0.1 */
    const char *port;                /* -p: a port or an endpoint, default 1080 */
    const char *log_path;            /* -l: the connection log, or NULL */
    struct opt_list users;           /* --user USER:PASSWORD */
    const char *users_file;          /* --users FILE */
    struct opt_list allow;           /* --allow CIDR: clients allowed (none: all) */
    struct opt_list deny_dest;       /* --deny-dest CIDR */
    double connect_timeout;          /* per destination address */
    double handshake_timeout;        /* a client must finish its request in this */
    double idle_timeout;             /* 0: never */
    /* filled by check: */
    struct cidr *allow_v, *deny_v;
    size_t n_allow, n_deny;
    struct socks_users users_table;  /* --user and --users */
    /* the running instance, made by start: */
    struct linefile *connlog;        /* -l FILE, or NULL */
    struct session_service *svc;     /* the connections */
    uint8_t *dgram;                  /* UDP: one datagram at a time, SOCKS_DGRAM_ROOM in front */
};

/* session.c: SOCKS on the session layer; the service's argument is the
 * socks_cfg.  Clients not in --allow are refused at once. */
extern const struct session_proto socks_proto;

/* 0 when the destination is refused by --deny-dest. */
int socks_dest_allowed(const struct socks_cfg *srv, const struct sockaddr *sa, socklen_t len);

/* How a connection ended, for its one log line. */
struct socks_record {
    uint64_t id;
    const char *client;              /* "127.0.0.1:40112" */
    int version;                     /* 4 or 5; 0 when the client never said */
    const char *command;             /* "connect", "bind", "udp-associate", "-" */
    const char *dest_name;           /* as the client gave it ("example.org:80"), or "-" */
    const char *dest_addr;           /* the address connected to ("93.184.216.34:80"), or "-" */
    const char *user;                /* authenticated user, or NULL */
    const char *outcome;             /* "succeeded", "connection refused", "not allowed by ruleset", ... */
    uint64_t to_dest, to_client;     /* bytes relayed each way (datagram bytes for UDP) */
    double duration;                 /* seconds since accept */
};

/* Writes the record's line to the core log (info) and to -l FILE. */
void socks_log_close(const struct socks_cfg *srv, const struct socks_record *r);

#endif
