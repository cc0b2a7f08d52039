/* Content types by file extension: /etc/mime.types when present, a
 * built-in table of the common types otherwise.  Each server has its own
 * table. */
#ifndef GALE_WEB_MIME_H
#define GALE_WEB_MIME_H

struct mime_table;

/* An empty table: the built-in types until mime_load.  NULL when out of
 * memory. */
struct mime_table *mime_new(void);
/* Startup (and SIGHUP): load the table; default_type for unknown
 * extensions.  Returns 0 (a missing /etc/mime.types is not an error).
 * Types returned before stay valid until mime_free. */
int mime_load(struct mime_table *m, const char *mime_types_file, const char *default_type);
/* The type of a file name ("a/b.HTML" -> "text/html"); text types get
 * "; charset=utf-8".  Never NULL; valid until mime_free. */
const char *mime_type_of(struct mime_table *m, const char *name);
void mime_free(struct mime_table *m);    /* NULL: nothing */

#endif
