/* OpenSSL contexts for ssl: endpoints (TLS 1.2 and later). */
#ifndef GALE_TLS_H
#define GALE_TLS_H

#include <stddef.h>

typedef struct ssl_ctx_st SSL_CTX;

SSL_CTX *tls_server_ctx(const char *cert_file, const char *key_file, char *err, size_t errlen);

#endif
