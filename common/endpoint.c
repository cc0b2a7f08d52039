/*
 * The endpoint description parser; see endpoint.h.  Pure: no I/O, no
 * allocation.  Twisted's syntax: fields separated by ':', keyword fields
 * "key=value", a backslash escapes the next character.
 */
#include "endpoint.h"
#include "opt.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stddef.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#define MAX_FIELDS 16
#define FIELD_MAX EP_VALUE_MAX

struct fields {
    char text[MAX_FIELDS][FIELD_MAX];
    size_t n;
};

/* Splits desc at unescaped colons, removing the escapes. */
static int split_fields(const char *desc, struct fields *f, char *err, size_t errlen)
{
    size_t len = 0;
    f->n = 1;
    for (const char *p = desc;; p++) {
        char c = *p;
        if (c == '\\') {
            c = *++p;
            if (c == '\0') {
                snprintf(err, errlen, "a backslash ends the description");
                return -1;
            }
        } else if (c == ':' || c == '\0') {
            f->text[f->n - 1][len] = '\0';
            if (c == '\0')
                return 0;
            if (f->n == MAX_FIELDS) {
                snprintf(err, errlen, "too many fields");
                return -1;
            }
            f->n++;
            len = 0;
            continue;
        }
        if (len + 1 >= FIELD_MAX) {
            snprintf(err, errlen, "a field is longer than %d bytes", FIELD_MAX - 1);
            return -1;
        }
        f->text[f->n - 1][len++] = c;
    }
}

static int parse_int(const char *s, long lo, long hi, long *out)
{
    char *end;
    if (*s < '0' || *s > '9')
        return -1;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (*end || errno || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

static int parse_port(const char *s, struct endpoint *ep, char *err, size_t errlen)
{
    long v;
    if (parse_int(s, 0, 65535, &v) == -1) {
        snprintf(err, errlen, "'%.200s' is not a port number from 0 to 65535", s);
        return -1;
    }
    ep->port = (int)v;
    return 0;
}

static int set_interface(struct endpoint *ep, const char *v, char *err, size_t errlen)
{
    unsigned char buf[sizeof(struct in6_addr)];
    int family = ep->kind == EP_TCP6 ? AF_INET6 : strchr(v, ':') ? AF_INET6 : AF_INET;
    if (strlen(v) >= sizeof ep->interface || inet_pton(family, v, buf) != 1) {
        snprintf(err, errlen, "interface '%.200s' is not an IP%s address", v,
                 ep->kind == EP_TCP6 ? "v6" : "");
        return -1;
    }
    strcpy(ep->interface, v);
    ep->has_interface = 1;
    return 0;
}

static int copy_value(char *dst, size_t len, const char *v, const char *key, char *err,
                      size_t errlen)
{
    if (strlen(v) >= len || *v == '\0') {
        snprintf(err, errlen, "%s must be 1 to %zu bytes", key, len - 1);
        return -1;
    }
    strcpy(dst, v);
    return 0;
}

static int set_systemd(struct endpoint *ep, const char *key, const char *v, char *err,
                       size_t errlen)
{
    long n;
    if (strcmp(key, "domain") == 0) {
        if (strcmp(v, "INET") == 0)
            ep->sd_domain = AF_INET;
        else if (strcmp(v, "INET6") == 0)
            ep->sd_domain = AF_INET6;
        else if (strcmp(v, "UNIX") == 0)
            ep->sd_domain = AF_UNIX;
        else {
            snprintf(err, errlen, "domain '%.200s' is not INET, INET6 or UNIX", v);
            return -1;
        }
        return 0;
    }
    if (strcmp(key, "index") == 0) {
        if (parse_int(v, 0, 1023, &n) == -1) {
            snprintf(err, errlen, "index '%.200s' is not a number from 0 to 1023", v);
            return -1;
        }
        ep->sd_index = (int)n;
        return 0;
    }
    if (strcmp(key, "name") == 0)
        return copy_value(ep->sd_name, sizeof ep->sd_name, v, "name", err, errlen);
    snprintf(err, errlen, "unknown option '%.200s' for systemd (domain, index, name)", key);
    return -1;
}

static int set_keyword(struct endpoint *ep, const char *key, const char *v, char *err,
                       size_t errlen)
{
    long n;
    if (ep->kind == EP_SYSTEMD)
        return set_systemd(ep, key, v, err, errlen);
    if (strcmp(key, "backlog") == 0) {
        if (parse_int(v, 1, 65535, &n) == -1) {
            snprintf(err, errlen, "backlog '%.200s' is not a number from 1 to 65535", v);
            return -1;
        }
        ep->backlog = (int)n;
        return 0;
    }
    if (ep->kind == EP_UNIX) {
        if (strcmp(key, "mode") == 0) {
            char *end;
            n = strtol(v, &end, 8);
            if (*v == '\0' || *end || n < 0 || n > 0777) {
                snprintf(err, errlen, "mode '%.200s' is not an octal mode such as 0660", v);
                return -1;
            }
            ep->mode = (unsigned)n;
            return 0;
        }
        if (strcmp(key, "lockfile") == 0) {
            if (strcmp(v, "0") && strcmp(v, "1")) {
                snprintf(err, errlen, "lockfile '%.200s' is not 0 or 1", v);
                return -1;
            }
            ep->lockfile = v[0] == '1';
            return 0;
        }
        snprintf(err, errlen, "unknown option '%.200s' for unix (mode, lockfile, backlog)", key);
        return -1;
    }
    if (strcmp(key, "interface") == 0)
        return set_interface(ep, v, err, errlen);
    if (ep->kind == EP_SSL && strcmp(key, "privateKey") == 0)
        return copy_value(ep->private_key, sizeof ep->private_key, v, key, err, errlen);
    if (ep->kind == EP_SSL && strcmp(key, "certKey") == 0)
        return copy_value(ep->cert_key, sizeof ep->cert_key, v, key, err, errlen);
    snprintf(err, errlen, "unknown option '%.200s' for %s", key,
             ep->kind == EP_SSL ? "ssl (privateKey, certKey, interface, backlog)"
                                : "tcp (interface, backlog)");
    return -1;
}

static int parse_kind(const char *s, struct endpoint *ep, char *err, size_t errlen)
{
    static const struct { const char *name; enum endpoint_kind kind; } kinds[] = {
        { "tcp", EP_TCP }, { "tcp6", EP_TCP6 }, { "unix", EP_UNIX },
        { "ssl", EP_SSL }, { "systemd", EP_SYSTEMD },
    };
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
        if (strcmp(s, kinds[i].name) == 0) {
            ep->kind = kinds[i].kind;
            return 0;
        }
    snprintf(err, errlen, "unknown endpoint type '%.200s' (tcp, tcp6, unix, ssl, systemd)", s);
    return -1;
}

/* The first field after the type: a port, or a path for unix. */
static int parse_positional(const char *s, struct endpoint *ep, char *err, size_t errlen)
{
    if (ep->kind == EP_UNIX)
        return copy_value(ep->path, sizeof ep->path, s, "the socket path", err, errlen);
    return parse_port(s, ep, err, errlen);
}

static int check_complete(struct endpoint *ep, char *err, size_t errlen)
{
    if (ep->kind == EP_SSL) {
        if (!ep->private_key[0]) {
            snprintf(err, errlen, "ssl needs privateKey=FILE");
            return -1;
        }
        if (!ep->cert_key[0])
            strcpy(ep->cert_key, ep->private_key);
    }
    if (ep->kind == EP_SYSTEMD && ep->sd_index < 0 && !ep->sd_name[0]) {
        snprintf(err, errlen, "systemd needs index=N (with domain=) or name=NAME");
        return -1;
    }
    if (ep->kind == EP_SYSTEMD && ep->sd_index >= 0 && !ep->sd_domain) {
        snprintf(err, errlen, "systemd needs domain=INET, INET6 or UNIX with index=");
        return -1;
    }
    return 0;
}

static int parse_fields(struct fields *f, struct endpoint *ep, char *err, size_t errlen)
{
    if (f->n == 1)
        return parse_port(f->text[0], ep, err, errlen);   /* a plain port */
    if (parse_kind(f->text[0], ep, err, errlen) == -1)
        return -1;
    size_t i = 1;
    if (ep->kind != EP_SYSTEMD) {
        if (strchr(f->text[1], '=') && ep->kind != EP_UNIX) {
            snprintf(err, errlen, "%.20s needs a port first", f->text[0]);
            return -1;
        }
        if (parse_positional(f->text[1], ep, err, errlen) == -1)
            return -1;
        i = 2;
    }
    for (; i < f->n; i++) {
        char *eq = strchr(f->text[i], '=');
        if (!eq) {
            snprintf(err, errlen, "'%.200s' is not key=value", f->text[i]);
            return -1;
        }
        *eq = '\0';
        if (set_keyword(ep, f->text[i], eq + 1, err, errlen) == -1)
            return -1;
    }
    return check_complete(ep, err, errlen);
}

int endpoint_parse(const char *desc, struct endpoint *ep, char *err, size_t errlen)
{
    static struct fields f;   /* large; parsing happens at startup only */
    char why[512];
    memset(ep, 0, sizeof *ep);
    ep->kind = EP_TCP;
    ep->backlog = 511;
    ep->mode = 0666;
    ep->sd_index = -1;
    if (split_fields(desc, &f, why, sizeof why) == 0 && parse_fields(&f, ep, why, sizeof why) == 0)
        return 0;
    snprintf(err, errlen, "bad endpoint '%.300s': %s", desc, why);
    return -1;
}

/* The key and certificate an ssl: endpoint names must be readable when
 * the options are read: a missing one is a command-line mistake. */
static int check_key_files(const struct endpoint *ep, char *err, size_t errlen)
{
    char why[512];
    if (ep->kind != EP_SSL)
        return 0;
    if (opt_check_file(ep->private_key, why, sizeof why) == -1) {
        snprintf(err, errlen, "privateKey: %s", why);
        return -1;
    }
    if (opt_check_file(ep->cert_key, why, sizeof why) == -1) {
        snprintf(err, errlen, "certKey: %s", why);
        return -1;
    }
    return 0;
}

int endpoint_check(const char *desc, char *err, size_t errlen)
{
    struct endpoint ep;
    return endpoint_parse(desc, &ep, err, errlen);
}

int endpoint_check_files(const char *desc, char *err, size_t errlen)
{
    struct endpoint ep;
    if (endpoint_parse(desc, &ep, err, errlen) == -1)
        return -1;
    return check_key_files(&ep, err, errlen);
}

void sockaddr_format(const struct sockaddr *sa, socklen_t len, char *buf, size_t buflen)
{
    char host[INET6_ADDRSTRLEN];
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
        snprintf(buf, buflen, "%s:%u", host, ntohs(in->sin_port));
    } else if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
        if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) {
            inet_ntop(AF_INET, &in6->sin6_addr.s6_addr[12], host, sizeof host);
            snprintf(buf, buflen, "%s:%u", host, ntohs(in6->sin6_port));
        } else {
            inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
            snprintf(buf, buflen, "[%s]:%u", host, ntohs(in6->sin6_port));
        }
    } else if (sa->sa_family == AF_UNIX) {
        const struct sockaddr_un *un = (const struct sockaddr_un *)sa;
        size_t off = offsetof(struct sockaddr_un, sun_path);
        if (len <= off || un->sun_path[0] == '\0')
            snprintf(buf, buflen, "unix");
        else
            snprintf(buf, buflen, "%.*s", (int)(len - off), un->sun_path);
    } else {
        snprintf(buf, buflen, "unknown");
    }
}
