/*
 * The store on disk: every live item with its flags, expiry, time set
 * and read count, in one file closed by a count and a CRC-32 of all that
 * comes before, so that a truncated or damaged file is recognised.
 */
#ifndef GALE_PYCACHED_SNAPSHOT_H
#define GALE_PYCACHED_SNAPSHOT_H

#include <stddef.h>

struct store;

/* Loads path into the (empty) store st.  A missing file is an empty store
 * (*loaded = 0, returns 0).  A damaged file is refused as a whole
 * before anything is loaded: -1 and the reason in err. */
int snapshot_load(struct store *st, const char *path, size_t *loaded, char *err,
                  size_t errlen);

/* Writes the store st to a temporary file beside path, fsyncs it and
 * renames it over path, so that path always holds a whole snapshot.
 * -1 and err on failure (path is then left as it was). */
int snapshot_write(const struct store *st, const char *path, size_t *written, char *err,
                   size_t errlen);

/* The temporary file the writer with this pid uses beside path; -1 when
 * it does not fit in outlen. */
int snapshot_tmp_path(const char *path, long pid, char *out, size_t outlen);

#endif
