/*
 * The SOCKS wire formats, with no I/O: incremental parsers for what a
 * client sends and builders for what the proxy answers.
 *
 *   SOCKS4:  https://www.openssh.com/txt/socks4.protocol
 *   SOCKS4a: https://www.openssh.com/txt/socks4a.protocol
 *   SOCKS5:  RFC 1928; username/password: RFC 1929
 *
 * Every parser takes the bytes received so far and returns the length of
 * the complete message (> 0), 0 when more bytes are needed, or a negative
 * enum socks_error.  An error is reported as soon as the bytes that show
 * it are in, and a parser never looks past the message it returns.
 */
#ifndef GALE_SOCKS_PROTO_H
#define GALE_SOCKS_PROTO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define SOCKS_NAME_MAX 255          /* a host name, SOCKS4a or SOCKS5 */
#define SOCKS4_USERID_MAX 255
#define SOCKS5_CRED_MAX 255         /* RFC 1929 user or password */
/* The longest message a client sends in a handshake: a SOCKS4a request
 * with both strings at their bounds and their NULs. */
#define SOCKS_MSG_MAX (8 + SOCKS4_USERID_MAX + 1 + SOCKS_NAME_MAX + 1)
#define SOCKS5_REPLY_MAX 22         /* an IPv6 reply or UDP header */
#define SOCKS4_REPLY_LEN 8

enum socks_error {
    SOCKS_EVERSION = -1,   /* not the version this message must carry */
    SOCKS_EBAD = -2,       /* malformed: a zero length, RSV not 0, NUL in a name */
    SOCKS_ETOOLONG = -3,   /* a SOCKS4 string past its bound */
    SOCKS_ECMD = -4,       /* a command we do not know */
    SOCKS_EATYP = -5,      /* a SOCKS5 address type we do not know */
};

enum socks_cmd { SOCKS_CONNECT = 1, SOCKS_BIND = 2, SOCKS_UDP_ASSOCIATE = 3 };
enum socks_atyp { SOCKS_ATYP_IPV4 = 1, SOCKS_ATYP_NAME = 3, SOCKS_ATYP_IPV6 = 4 };

enum socks5_method {
    SOCKS5_METHOD_NONE = 0x00,
    SOCKS5_METHOD_USERPASS = 0x02,
    SOCKS5_METHOD_UNACCEPTABLE = 0xFF,
};

/* RFC 1928 section 6. */
enum socks5_rep {
    SOCKS5_SUCCEEDED = 0,
    SOCKS5_GENERAL_FAILURE = 1,
    SOCKS5_NOT_ALLOWED = 2,
    SOCKS5_NET_UNREACHABLE = 3,
    SOCKS5_HOST_UNREACHABLE = 4,
    SOCKS5_CONN_REFUSED = 5,
    SOCKS5_TTL_EXPIRED = 6,
    SOCKS5_CMD_UNSUPPORTED = 7,
    SOCKS5_ATYP_UNSUPPORTED = 8,
};

enum socks4_cd { SOCKS4_GRANTED = 90, SOCKS4_REJECTED = 91 };

/* A destination as the client gave it. */
struct socks_addr {
    int atyp;                          /* enum socks_atyp */
    uint8_t ip[16];                    /* IPv4 in the first 4 bytes */
    char name[SOCKS_NAME_MAX + 1];     /* ATYP_NAME: NUL-terminated, no NUL inside */
    uint16_t port;                     /* host order */
};

struct socks4_request {
    int cmd;                           /* CONNECT or BIND */
    struct socks_addr dst;             /* IPV4, or NAME for SOCKS4a */
    char userid[SOCKS4_USERID_MAX + 1];
};

struct socks5_greeting {
    uint8_t n_methods;                 /* >= 1 */
    uint8_t methods[255];
};

struct socks5_auth {                   /* RFC 1929 */
    size_t ulen, plen;                 /* ulen >= 1; plen may be 0 */
    char user[SOCKS5_CRED_MAX + 1];    /* NUL-terminated copies */
    char pass[SOCKS5_CRED_MAX + 1];
};

struct socks5_request {
    int cmd;                           /* CONNECT, BIND or UDP_ASSOCIATE */
    struct socks_addr dst;
};

struct socks5_udp_header {
    int frag;                          /* 0: a whole datagram */
    struct socks_addr dst;
};

int socks4_parse_request(const uint8_t *p, size_t len, struct socks4_request *r);
int socks5_parse_greeting(const uint8_t *p, size_t len, struct socks5_greeting *g);
int socks5_greeting_offers(const struct socks5_greeting *g, uint8_t method);
int socks5_parse_auth(const uint8_t *p, size_t len, struct socks5_auth *a);
int socks5_parse_request(const uint8_t *p, size_t len, struct socks5_request *r);
/* A datagram is whole: 0 (too short) is as bad as an error.  The payload
 * starts at the returned length. */
int socks5_parse_udp(const uint8_t *p, size_t len, struct socks5_udp_header *h);

/* The reply builders take the address to show (NULL: all zeros); an
 * IPv4-mapped IPv6 address is shown as IPv4.  SOCKS4 shows zeros for an
 * address it cannot carry (IPv6).  They return the length written, 0 when
 * out is too small. */
size_t socks4_reply(uint8_t *out, size_t cap, int cd, const struct sockaddr *sa, socklen_t len);
size_t socks5_reply(uint8_t *out, size_t cap, int rep, const struct sockaddr *sa, socklen_t len);
/* RSV, FRAG 0, ATYP, ADDR, PORT of sa before a datagram's payload. */
size_t socks5_udp_header_build(uint8_t *out, size_t cap, const struct sockaddr *sa,
                               socklen_t len);

/* The RFC's words for a reply code, for the log. */
const char *socks5_rep_text(int rep);
/* What a failed connect's errno (connector.h) tells the client. */
int socks5_rep_for_errno(int err);

/* An IP destination as a sockaddr with its port: 0, or -1 for a name. */
int socks_addr_to_sockaddr(const struct socks_addr *a, struct sockaddr_storage *ss,
                           socklen_t *len);
/* What to resolve: the name, or the address in text ("::1"). */
void socks_addr_host(const struct socks_addr *a, char *buf, size_t len);
/* "host:port" or "[v6]:port" for the log; bytes below 0x20 or above 0x7e
 * in a name become '?'. */
void socks_addr_format(const struct socks_addr *a, char *buf, size_t len);
/* The same IP address, ports aside; mapped and plain IPv4 are not the same:
 * unmap both first. */
int socks_same_ip(const struct sockaddr *a, const struct sockaddr *b);
/* An IPv4-mapped IPv6 address becomes plain IPv4; anything else is copied. */
void socks_unmap(const struct sockaddr *sa, socklen_t len, struct sockaddr_storage *out,
                 socklen_t *outlen);

#endif
