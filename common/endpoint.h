/*
 * Endpoint descriptions in Twisted's "strports" syntax, the same wherever
 * a server listens:
 *   PORT                       tcp:PORT
 *   tcp:PORT[:interface=ADDR][:backlog=N]
 *   tcp6:PORT[:interface=ADDR][:backlog=N]
 *   unix:PATH[:mode=OCTAL][:lockfile=0|1][:backlog=N]
 *   ssl:PORT:privateKey=FILE[:certKey=FILE][:interface=ADDR][:backlog=N]
 *   systemd:domain=INET|INET6|UNIX:index=N   or   systemd:name=NAME
 * A backslash escapes a colon or an equals sign inside a value.
 * endpoint_parse() is pure: text in, struct or error out.
 */
#ifndef GALE_ENDPOINT_H
#define GALE_ENDPOINT_H

#include <stddef.h>
#include <sys/socket.h>

enum endpoint_kind { EP_TCP, EP_TCP6, EP_UNIX, EP_SSL, EP_SYSTEMD };

#define EP_PATH_MAX 108     /* sun_path */
#define EP_VALUE_MAX 1024

struct endpoint {
    enum endpoint_kind kind;
    int port;                          /* tcp, tcp6, ssl */
    int has_interface;
    char interface[64];                /* numeric address, as given */
    int backlog;
    char path[EP_PATH_MAX];            /* unix */
    unsigned mode;                     /* unix, default 0666 */
    int lockfile;                      /* unix */
    char private_key[EP_VALUE_MAX];    /* ssl */
    char cert_key[EP_VALUE_MAX];       /* ssl, defaults to private_key */
    int sd_domain;                     /* systemd: AF_INET, AF_INET6, AF_UNIX or 0 */
    int sd_index;                      /* systemd, -1 when name is used */
    char sd_name[256];                 /* systemd */
};

int endpoint_parse(const char *desc, struct endpoint *ep, char *err, size_t errlen);
/* An opt_check_fn for OPT_ENDPOINT options: the description's form. */
int endpoint_check(const char *desc, char *err, size_t errlen);
/* Its check_disk: the key and certificate of an ssl: endpoint can be read. */
int endpoint_check_files(const char *desc, char *err, size_t errlen);

/* "127.0.0.1:8080", "[::1]:53", "/run/x.sock"; IPv4-mapped shown as IPv4. */
void sockaddr_format(const struct sockaddr *sa, socklen_t len, char *buf, size_t buflen);

#endif
