/*
 * OpenSSL server contexts for ssl: endpoints.  TLS 1.2 is the floor;
 * OpenSSL's defaults choose the ciphers.
 */
#include "tls.h"

#include <stdio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

static void tls_error(char *err, size_t errlen, const char *what, const char *file)
{
    char why[256];
    ERR_error_string_n(ERR_get_error(), why, sizeof why);
    snprintf(err, errlen, "%s %s: %s", what, file, why);
    ERR_clear_error();
}

SSL_CTX *tls_server_ctx(const char *cert_file, const char *key_file, char *err, size_t errlen)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (!ctx) {
        tls_error(err, errlen, "cannot create a TLS context", "");
        return NULL;
    }
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
    if (SSL_CTX_use_certificate_chain_file(ctx, cert_file) != 1) {
        tls_error(err, errlen, "cannot load the certificate from", cert_file);
    } else if (SSL_CTX_use_PrivateKey_file(ctx, key_file, SSL_FILETYPE_PEM) != 1) {
        tls_error(err, errlen, "cannot load the private key from", key_file);
    } else if (SSL_CTX_check_private_key(ctx) != 1) {
        tls_error(err, errlen, "the private key does not match the certificate in", cert_file);
    } else {
        return ctx;
    }
    SSL_CTX_free(ctx);
    return NULL;
}
