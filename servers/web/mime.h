/* Content types by file extension: /etc/mime.types when present, a
 * built-in table of the common types otherwise. */
#ifndef GALE_WEB_MIME_H
#define GALE_WEB_MIME_H

/* Startup (and SIGHUP): load the table; default_type for unknown
 * extensions.  Returns 0 (a missing /etc/mime.types is not an error). */
int mime_load(const char *mime_types_file, const char *default_type);
/* The type of a file name ("a/b.HTML" -> "text/html"); text types get
 * "; charset=utf-8".  Never NULL. */
const char *mime_type_of(const char *name);
void mime_free(void);

#endif
