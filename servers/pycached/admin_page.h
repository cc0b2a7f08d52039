/*
 * The HTML of pycached's admin page, served as is by the HTTP service.
 */
#ifndef GALE_PYCACHED_ADMIN_PAGE_H
#define GALE_PYCACHED_ADMIN_PAGE_H

#include <stddef.h>

extern const char admin_page_html[];
extern const size_t admin_page_len;      /* without the terminating NUL */

#endif
