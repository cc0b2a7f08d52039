/*
 * libFuzzer target for the endpoint description parser, common/endpoint.c.
 * Arbitrary bytes, cut at the first NUL, go to endpoint_parse(); beyond
 * what the sanitizers catch, it aborts when a result breaks the promises
 * of endpoint.h: strings not terminated, a port out of range, an ssl
 * endpoint without keys, an error not starting with "bad endpoint '".
 *   clang -g -fsanitize=fuzzer,address -D_GNU_SOURCE -Icommon \
 *       tests/fuzz/fuzz_endpoint.c -o fuzz_endpoint
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../common/endpoint.c"
#include "../../common/opt.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_result(const struct endpoint *ep)
{
    if (memchr(ep->interface, '\0', sizeof ep->interface) == NULL ||
        memchr(ep->path, '\0', sizeof ep->path) == NULL ||
        memchr(ep->private_key, '\0', sizeof ep->private_key) == NULL ||
        memchr(ep->cert_key, '\0', sizeof ep->cert_key) == NULL ||
        memchr(ep->sd_name, '\0', sizeof ep->sd_name) == NULL)
        abort();
    switch (ep->kind) {
    case EP_TCP: case EP_TCP6: case EP_SSL:
        if (ep->port < 0 || ep->port > 65535 || ep->backlog < 1)
            abort();
        if (ep->kind == EP_SSL && (!ep->private_key[0] || !ep->cert_key[0]))
            abort();
        break;
    case EP_UNIX:
        if (!ep->path[0] || ep->mode > 0777 || (ep->lockfile != 0 && ep->lockfile != 1))
            abort();
        break;
    case EP_SYSTEMD:
        if (ep->sd_index < 0 ? !ep->sd_name[0] : !ep->sd_domain)
            abort();
        break;
    default:
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *desc = malloc(size + 1);
    if (!desc)
        return 0;
    memcpy(desc, data, size);
    desc[size] = '\0';

    struct endpoint ep;
    char err[512];
    if (endpoint_parse(desc, &ep, err, sizeof err) == 0)
        check_result(&ep);
    else if (strncmp(err, "bad endpoint '", 14) != 0 || memchr(err, '\0', sizeof err) == NULL)
        abort();

    char tiny[8];
    if (endpoint_check(desc, tiny, sizeof tiny) == -1 && strlen(tiny) >= sizeof tiny)
        abort();
    free(desc);
    return 0;
}
