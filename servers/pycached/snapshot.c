/*
 * The snapshot file format; see snapshot.h.  All numbers little-endian:
 *   header   "GALEPYC1" u32 version u32 0 u64 written_at
 *   record   u8 nkey u8 kind u16 0 u32 flags u32 exptime u32 time_set
 *            u32 reads u32 nval, then the key and the value
 *   trailer  "GALEEND1" u64 count u32 crc32 u32 0
 * The CRC covers everything before it.
 */
#include "snapshot.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>

#include "store.h"

#define VERSION 1
#define HEADER_LEN 24
#define RECORD_LEN 24
#define TRAILER_LEN 24
#define WRITE_BUFFER (1 << 20)

static const char header_magic[8] = "GALEPYC1";
static const char trailer_magic[8] = "GALEEND1";

/* --- CRC-32 (IEEE 802.3, as zlib) ------------------------------------ */

/* The table of the byte-at-a-time CRC, made by the compiler: entry i is
 * i shifted through the polynomial eight times, one bit at a time. */
#define CRC_BIT(c) (((c) >> 1) ^ (0xedb88320u & (0u - ((c) & 1u))))
#define CRC_BYTE(i) \
    CRC_BIT(CRC_BIT(CRC_BIT(CRC_BIT(CRC_BIT(CRC_BIT(CRC_BIT(CRC_BIT((uint32_t)(i)))))))))
#define CRC_4(i) CRC_BYTE(i), CRC_BYTE((i) + 1), CRC_BYTE((i) + 2), CRC_BYTE((i) + 3)
#define CRC_16(i) CRC_4(i), CRC_4((i) + 4), CRC_4((i) + 8), CRC_4((i) + 12)
#define CRC_64(i) CRC_16(i), CRC_16((i) + 16), CRC_16((i) + 32), CRC_16((i) + 48)

static const uint32_t crc_table[256] = { CRC_64(0), CRC_64(64), CRC_64(128), CRC_64(192) };

static uint32_t crc_update(uint32_t crc, const void *data, size_t n)
{
    const unsigned char *p = data;
    crc = ~crc;
    while (n--)
        crc = crc_table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
    return ~crc;
}

/* --- little-endian fields -------------------------------------------- */

static void put32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static void put64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static uint32_t get32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get64(const unsigned char *p)
{
    return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

/* --- writing --------------------------------------------------------- */

struct writer {
    FILE *f;
    uint32_t crc;
    uint64_t count;
    int failed;
};

static void emit(struct writer *w, const void *p, size_t n)
{
    if (w->failed)
        return;
    w->crc = crc_update(w->crc, p, n);
    if (fwrite(p, 1, n, w->f) != n)
        w->failed = 1;
}

static int write_item(const struct item *it, void *arg)
{
    struct writer *w = arg;
    unsigned char r[RECORD_LEN] = { 0 };
    r[0] = it->nkey;
    r[1] = it->kind;
    put32(r + 4, it->flags);
    put32(r + 8, it->exptime);
    put32(r + 12, it->time_set);
    put32(r + 16, it->reads);
    put32(r + 20, it->nval);
    emit(w, r, sizeof r);
    emit(w, item_key(it), it->nkey);
    emit(w, item_value(it), it->nval);
    w->count++;
    return w->failed;
}

static int write_all(const struct store *st, struct writer *w)
{
    unsigned char h[HEADER_LEN] = { 0 };
    memcpy(h, header_magic, 8);
    put32(h + 8, VERSION);
    put64(h + 16, (uint64_t)time(NULL));
    emit(w, h, sizeof h);
    store_foreach(st, write_item, w);
    unsigned char t[TRAILER_LEN] = { 0 };
    memcpy(t, trailer_magic, 8);
    put64(t + 8, w->count);
    emit(w, t, 16);
    put32(t + 16, w->crc);
    if (!w->failed && fwrite(t + 16, 1, 8, w->f) != 8)
        w->failed = 1;
    return w->failed ? -1 : 0;
}

/* The rename is durable only once the folder itself is synced. */
static void sync_folder(const char *path)
{
    char copy[PATH_MAX];
    snprintf(copy, sizeof copy, "%s", path);
    int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

int snapshot_tmp_path(const char *path, long pid, char *out, size_t outlen)
{
    int n = snprintf(out, outlen, "%s.tmp.%ld", path, pid);
    return n < 0 || (size_t)n >= outlen ? -1 : 0;
}

int snapshot_write(const struct store *st, const char *path, size_t *written, char *err,
                   size_t errlen)
{
    char tmp[PATH_MAX];
    if (snapshot_tmp_path(path, (long)getpid(), tmp, sizeof tmp) == -1) {
        snprintf(err, errlen, "%s: path too long", path);
        return -1;
    }
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        snprintf(err, errlen, "cannot create %s: %s", tmp, strerror(errno));
        return -1;
    }
    struct writer w = { fdopen(fd, "w"), 0, 0, 0 };
    if (!w.f) {
        close(fd);
        unlink(tmp);
        snprintf(err, errlen, "cannot write %s: %s", tmp, strerror(errno));
        return -1;
    }
    setvbuf(w.f, NULL, _IOFBF, WRITE_BUFFER);
    int bad = write_all(st, &w) == -1 || fflush(w.f) != 0 || fsync(fd) != 0;
    int saved = errno;
    if (fclose(w.f) != 0 && !bad) {
        bad = 1;
        saved = errno;
    }
    if (bad || rename(tmp, path) != 0) {
        if (!bad)
            saved = errno;
        unlink(tmp);
        snprintf(err, errlen, "cannot write %s: %s", path, strerror(saved));
        return -1;
    }
    sync_folder(path);
    if (written)
        *written = (size_t)w.count;
    return 0;
}

/* --- reading --------------------------------------------------------- */

static int damaged(const char *path, const char *why, char *err, size_t errlen)
{
    snprintf(err, errlen,
             "snapshot %s is damaged (%s); it was left as it is: move it away to start "
             "with an empty store", path, why);
    return -1;
}

/* Every record lies inside the file and the count matches: checked
 * before anything is loaded. */
static const char *check_records(const unsigned char *p, size_t len, uint64_t count)
{
    size_t pos = HEADER_LEN;
    uint64_t n = 0;
    while (pos < len) {
        if (len - pos < RECORD_LEN)
            return "a record is cut short";
        size_t nkey = p[pos], nval = get32(p + pos + 20);
        if (nkey == 0 || p[pos + 1] > ITEM_JSON)
            return "a record is malformed";
        if (len - pos - RECORD_LEN < nkey + (uint64_t)nval)
            return "a record is cut short";
        pos += RECORD_LEN + nkey + nval;
        n++;
    }
    return n == count ? NULL : "the item count does not match";
}

static size_t load_records(struct store *st, const unsigned char *p, size_t len)
{
    size_t pos = HEADER_LEN, loaded = 0;
    while (pos < len) {
        const unsigned char *r = p + pos;
        struct store_value v = {
            .key = (const char *)r + RECORD_LEN, .nkey = r[0],
            .val = (const char *)r + RECORD_LEN + r[0], .nval = get32(r + 20),
            .flags = get32(r + 4), .exptime = get32(r + 8), .kind = (enum item_kind)r[1],
        };
        if (store_restore(st, &v, get32(r + 12), get32(r + 16)) == STORE_STORED &&
            store_peek(st, v.key, v.nkey))
            loaded++;
        pos += RECORD_LEN + v.nkey + v.nval;
    }
    return loaded;
}

static int read_whole(int fd, unsigned char *buf, size_t len)
{
    size_t got = 0;
    while (got < len) {
        ssize_t n = read(fd, buf + got, len - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        got += (size_t)n;
    }
    return 0;
}

static int verify_and_load(struct store *st, const char *path, const unsigned char *p,
                           size_t len, size_t *loaded, char *err, size_t errlen)
{
    if (len < 8 || memcmp(p, header_magic, 7) != 0)
        return damaged(path, "not a gale pycached snapshot", err, errlen);
    if (p[7] != header_magic[7] || len < HEADER_LEN || get32(p + 8) != VERSION)
        return damaged(path, "unknown version", err, errlen);
    if (len < HEADER_LEN + TRAILER_LEN)
        return damaged(path, "truncated", err, errlen);
    const unsigned char *t = p + len - TRAILER_LEN;
    if (memcmp(t, trailer_magic, 8) != 0)
        return damaged(path, "truncated: no end marker", err, errlen);
    if (crc_update(0, p, len - 8) != get32(t + 16))
        return damaged(path, "checksum mismatch", err, errlen);
    const char *why = check_records(p, len - TRAILER_LEN, get64(t + 8));
    if (why)
        return damaged(path, why, err, errlen);
    *loaded = load_records(st, p, len - TRAILER_LEN);
    return 0;
}

int snapshot_load(struct store *st, const char *path, size_t *loaded, char *err,
                  size_t errlen)
{
    *loaded = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            return 0;
        snprintf(err, errlen, "cannot read snapshot %s: %s", path, strerror(errno));
        return -1;
    }
    struct stat sb;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        close(fd);
        snprintf(err, errlen, "snapshot %s is not a regular file", path);
        return -1;
    }
    size_t len = (size_t)sb.st_size;
    unsigned char *buf = malloc(len ? len : 1);
    if (!buf) {
        close(fd);
        snprintf(err, errlen, "snapshot %s: out of memory reading %zu bytes", path, len);
        return -1;
    }
    int r;
    if (read_whole(fd, buf, len) == -1) {
        snprintf(err, errlen, "cannot read snapshot %s: %s", path,
                 errno ? strerror(errno) : "file shrank while read");
        r = -1;
    } else {
        r = verify_and_load(st, path, buf, len, loaded, err, errlen);
    }
    free(buf);
    close(fd);
    return r;
}
