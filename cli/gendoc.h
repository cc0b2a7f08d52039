/*
 * The man pages and shell completions, generated from the option tables
 * so they cannot drift from the parser.  Reached through the hidden
 * "gale --gendoc KIND [SERVER]"; tests/gendocs writes the output into
 * packaging/man/ and completions/ and fails when the committed copies are
 * stale.
 */
#ifndef GALE_GENDOC_H
#define GALE_GENDOC_H

#include <stddef.h>
#include <stdio.h>

/*
 * Write one document to out.  kind is "man" (server NULL: gale(1); else
 * gale-SERVER(1)), "bash", "zsh", "fish" (server NULL) or "list" (one
 * server name a line, for tests/gendocs).  Returns 0, or -1 with err
 * filled when kind or server is unknown, a table holds a name unsafe to
 * put in shell code, or the write fails.
 */
int gendoc_run(const char *kind, const char *server, FILE *out, char *err, size_t errlen);

#endif
