/* HTML listing of a directory: directories first, then files, sorted by
 * name; names HTML-escaped and URL-encoded; size and modification time. */
#ifndef GALE_WEB_LISTING_H
#define GALE_WEB_LISTING_H

struct evbuffer;

/* fs_path: the directory on disk; url_path: its decoded URL path with a
 * trailing slash ("/docs/").  Appends a complete HTML document to out.
 * Returns 0, or -1 when the directory cannot be read (then out is left
 * as it was). */
int listing_html(const char *fs_path, const char *url_path, struct evbuffer *out);

#endif
