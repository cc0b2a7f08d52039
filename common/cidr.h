/* Address ranges ("10.0.0.0/8", "::1", "fc00::/7") for access rules. */
#ifndef GALE_CIDR_H
#define GALE_CIDR_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct cidr {
    int family;              /* AF_INET or AF_INET6 */
    uint8_t addr[16];
    int bits;
};

/* A bare address is a /32 or /128.  -1 and err when malformed. */
int cidr_parse(const char *s, struct cidr *out, char *err, size_t errlen);
int cidr_check(const char *s, char *err, size_t errlen);          /* an opt_check_fn */
/* IPv4-mapped IPv6 peers match IPv4 ranges. */
int cidr_match(const struct cidr *c, const struct sockaddr *sa);
int cidr_match_any(const struct cidr *list, size_t n, const struct sockaddr *sa);

#endif
