/*
 * Request paths: percent-decoding and normalisation before any file is
 * touched.  Pure.
 */
#ifndef GALE_WEB_PATH_H
#define GALE_WEB_PATH_H

#include <stddef.h>

/*
 * Decodes the path part of a request target ("/a%20b/./c/") into out as
 * a path relative to the served root, with no leading slash: "a b/c".
 * *dir_slash is set when the target ended with '/'.  Returns 0, or a
 * negative HTTP status: -400 for malformed escapes, an encoded slash
 * (%2f) or backslash, a NUL byte (%00), overlong or invalid UTF-8, a
 * control character (below 0x20, or 0x7f), a path not starting with '/',
 * or a ".." segment (encoded or not) that would climb above the root,
 * as nginx does; "." and ".." segments inside the root are resolved
 * ("/a/../b" is "b") and repeated slashes folded; -414 when out is too
 * small.
 * An absolute-form target ("http://host/path") is accepted: the path is
 * taken from it.
 */
int path_normalise(const char *target, size_t len, char *out, size_t outlen, int *dir_slash);

/* Percent-encodes a path for a URL (keeps '/' and unreserved bytes). */
size_t path_url_encode(const char *in, char *out, size_t outlen);
/* Escapes &, <, >, ", ' for HTML text and attribute values. */
size_t path_html_escape(const char *in, char *out, size_t outlen);

#endif
