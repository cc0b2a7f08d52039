/*
 * The memcached text protocol's command lines (mcproto.h): framing,
 * tokenising and the argument rules of memcached 1.6's proto_text.c,
 * including which error line each mistake earns.  Pure: no I/O, no
 * allocation, every length checked.
 *
 * Where memcached is looser, this is stricter, on purpose: flags over 32
 * bits are refused ("CLIENT_ERROR bad command line format") rather than
 * truncated, and a line over
 * 2048 bytes always closes, whether or not its newline came in the same
 * read.  Meta commands (mg, ms, ...) are not spoken: "ERROR".
 * https://github.com/memcached/memcached/blob/master/doc/protocol.txt
 */
#include "mcproto.h"

#include <string.h>

/* More than any fixed-arity command takes (cas has 7); the tokens beyond
 * are counted, not kept. */
#define TOKENS_KEPT 8
#define UNBOUNDED ((size_t)-1)
#define LEADING_SPACES_MAX 100       /* before a long get, as memcached */

struct tokens {
    struct mc_str t[TOKENS_KEPT];
    size_t n;                        /* every token, kept or not */
};

typedef enum mc_status (*parse_fn)(const struct tokens *tk, const char *end,
                                   struct mc_request *r);

struct command {
    const char *name;
    enum mc_cmd cmd;
    size_t min, max;                 /* tokens, the command's own included */
    parse_fn parse;                  /* NULL: no arguments to look at */
};

/* --- tokens and numbers ---------------------------------------------- */

static void tokenize(const char *p, size_t len, struct tokens *tk)
{
    size_t i = 0;
    tk->n = 0;
    while (i < len) {
        while (i < len && p[i] == ' ')
            i++;
        size_t start = i;
        const char *space = memchr(p + i, ' ', len - i);
        i = space ? (size_t)(space - p) : len;
        if (i == start)
            break;
        if (tk->n < TOKENS_KEPT)
            tk->t[tk->n] = (struct mc_str){ p + start, i - start };
        tk->n++;
    }
}

static int tok_is(struct mc_str t, const char *s)
{
    size_t n = strlen(s);
    return t.len == n && memcmp(t.p, s, n) == 0;
}

/* strtol's idea of white space, which memcached's safe_strto* allow
 * around a number (a tab, or a stray "\r" when lines end in "\r\r\n"). */
static int is_space(char c)
{
    return c == ' ' || (c >= '\t' && c <= '\r');
}

/* Digits with an optional sign and white space around: the magnitude in
 * *v and the sign in *neg.  -1 when malformed or beyond 64 bits. */
static int parse_number(struct mc_str t, uint64_t *v, int *neg)
{
    size_t i = 0, digits = 0;
    uint64_t n = 0;
    while (i < t.len && is_space(t.p[i]))
        i++;
    *neg = i < t.len && t.p[i] == '-';
    if (i < t.len && (t.p[i] == '-' || t.p[i] == '+'))
        i++;
    for (; i < t.len && t.p[i] >= '0' && t.p[i] <= '9'; i++, digits++) {
        unsigned d = (unsigned)(t.p[i] - '0');
        if (n > (UINT64_MAX - d) / 10)
            return -1;
        n = n * 10 + d;
    }
    while (i < t.len && is_space(t.p[i]))
        i++;
    if (digits == 0 || i != t.len)
        return -1;
    *v = n;
    return 0;
}

static int parse_u64(struct mc_str t, uint64_t *out)
{
    int neg;
    uint64_t v;
    if (parse_number(t, &v, &neg) == -1 || neg)
        return -1;
    *out = v;
    return 0;
}

/* memcached truncates flags above 32 bits; refusing them is kinder. */
static int parse_u32(struct mc_str t, uint32_t *out)
{
    uint64_t v;
    if (parse_u64(t, &v) == -1 || v > UINT32_MAX)
        return -1;
    *out = (uint32_t)v;
    return 0;
}

static int parse_i64(struct mc_str t, int64_t *out)
{
    int neg;
    uint64_t v;
    if (parse_number(t, &v, &neg) == -1)
        return -1;
    if (neg ? v > (uint64_t)INT64_MAX + 1 : v > (uint64_t)INT64_MAX)
        return -1;
    *out = neg ? (int64_t)(0 - v) : (int64_t)v;
    return 0;
}

/* Only the length is checked, as memcached does: protocol.txt forbids
 * control characters in keys, but memcached stores them and clients
 * (memcaslap among them) send them. */
static int key_ok(struct mc_str k)
{
    return k.len > 0 && k.len <= MC_KEY_MAX;
}

/* memcached's set_noreply_maybe(): the last token decides. */
static int last_is_noreply(const struct tokens *tk)
{
    return tk->n >= 2 && tk->n <= TOKENS_KEPT && tok_is(tk->t[tk->n - 1], "noreply");
}

/* --- one function per argument shape --------------------------------- */

/* The keys from k to the end of the line, every one checked. */
static enum mc_status take_keys(const char *k, const char *end, struct mc_request *r)
{
    struct mc_str rest = { k, (size_t)(end - k) }, key;
    r->keys = rest;
    mc_next_key(&rest, &r->key);     /* none ("gat 10" alone) leaves len 0 */
    rest = r->keys;
    /* Checked before any is answered: memcached drops the VALUEs it has
     * queued when a later key is bad, so the reply is the error alone. */
    while (mc_next_key(&rest, &key))
        if (!key_ok(key))
            return MC_BAD_FORMAT;
    return MC_OK;
}

static enum mc_status parse_get(const struct tokens *tk, const char *end, struct mc_request *r)
{
    return take_keys(tk->t[1].p, end, r);
}

static enum mc_status parse_gat(const struct tokens *tk, const char *end, struct mc_request *r)
{
    if (parse_i64(tk->t[1], &r->exptime) == -1)
        return MC_BAD_EXPTIME;
    if (tk->n < 3)
        return MC_OK;
    return take_keys(tk->t[2].p, end, r);
}

static enum mc_status parse_storage(const struct tokens *tk, const char *end,
                                    struct mc_request *r)
{
    int64_t bytes;
    (void)end;
    r->noreply = last_is_noreply(tk);
    r->key = tk->t[1];
    if (!key_ok(r->key) || parse_u32(tk->t[2], &r->flags) == -1 ||
        parse_i64(tk->t[3], &r->exptime) == -1 || parse_i64(tk->t[4], &bytes) == -1)
        return MC_BAD_FORMAT;
    if (r->cmd == MC_CAS && parse_u64(tk->t[5], &r->cas) == -1)
        return MC_BAD_FORMAT;
    if (bytes < 0 || bytes > MC_BYTES_MAX)
        return MC_BAD_FORMAT;
    r->bytes = (uint32_t)bytes;
    return MC_OK;
}

/* "delete <key> [0] [noreply]": memcached 1.6 took away the hold time
 * but still accepts a zero. */
static enum mc_status parse_delete(const struct tokens *tk, const char *end,
                                   struct mc_request *r)
{
    (void)end;
    if (tk->n > 2) {
        int zero = tok_is(tk->t[2], "0");
        r->noreply = last_is_noreply(tk);
        int valid = (tk->n == 3 && (zero || r->noreply)) || (tk->n == 4 && zero && r->noreply);
        if (!valid)
            return MC_BAD_DELETE;
    }
    r->key = tk->t[1];
    return key_ok(r->key) ? MC_OK : MC_BAD_FORMAT;
}

static enum mc_status parse_arith(const struct tokens *tk, const char *end,
                                  struct mc_request *r)
{
    (void)end;
    r->noreply = last_is_noreply(tk);
    r->key = tk->t[1];
    if (!key_ok(r->key))
        return MC_BAD_FORMAT;
    return parse_u64(tk->t[2], &r->delta) == -1 ? MC_BAD_DELTA : MC_OK;
}

static enum mc_status parse_touch(const struct tokens *tk, const char *end,
                                  struct mc_request *r)
{
    (void)end;
    r->noreply = last_is_noreply(tk);
    r->key = tk->t[1];
    if (!key_ok(r->key))
        return MC_BAD_FORMAT;
    return parse_i64(tk->t[2], &r->exptime) == -1 ? MC_BAD_EXPTIME : MC_OK;
}

/* "flush_all [delay] [noreply]": a lone "noreply" is not a delay. */
static enum mc_status parse_flush(const struct tokens *tk, const char *end,
                                  struct mc_request *r)
{
    (void)end;
    r->noreply = last_is_noreply(tk);
    if (tk->n == (r->noreply ? 2u : 1u))
        return MC_OK;
    r->has_delay = 1;
    return parse_i64(tk->t[1], &r->exptime) == -1 ? MC_BAD_EXPTIME : MC_OK;
}

static enum mc_status parse_verbosity(const struct tokens *tk, const char *end,
                                      struct mc_request *r)
{
    (void)end;
    r->noreply = last_is_noreply(tk);
    return parse_u32(tk->t[1], &r->verbosity) == -1 ? MC_BAD_FORMAT : MC_OK;
}

static enum mc_status parse_stats(const struct tokens *tk, const char *end,
                                  struct mc_request *r)
{
    (void)end;
    if (tk->n >= 2)
        r->group = tk->t[1];
    if (tk->n >= 3)
        r->arg = tk->t[2];
    return MC_OK;
}

/* The token counts are memcached's WANT_TOKENS less its terminal token. */
static const struct command commands[] = {
    { "get", MC_GET, 2, UNBOUNDED, parse_get },
    { "gets", MC_GETS, 2, UNBOUNDED, parse_get },
    { "gat", MC_GAT, 2, UNBOUNDED, parse_gat },
    { "gats", MC_GATS, 2, UNBOUNDED, parse_gat },
    { "set", MC_SET, 5, 6, parse_storage },
    { "add", MC_ADD, 5, 6, parse_storage },
    { "replace", MC_REPLACE, 5, 6, parse_storage },
    { "append", MC_APPEND, 5, 6, parse_storage },
    { "prepend", MC_PREPEND, 5, 6, parse_storage },
    { "cas", MC_CAS, 6, 7, parse_storage },
    { "delete", MC_DELETE, 2, 4, parse_delete },
    { "incr", MC_INCR, 3, 4, parse_arith },
    { "decr", MC_DECR, 3, 4, parse_arith },
    { "touch", MC_TOUCH, 3, 4, parse_touch },
    { "flush_all", MC_FLUSH_ALL, 1, 3, parse_flush },
    { "stats", MC_STATS, 1, UNBOUNDED, parse_stats },
    { "version", MC_VERSION, 1, UNBOUNDED, NULL },
    { "verbosity", MC_VERBOSITY, 2, 3, parse_verbosity },
    { "quit", MC_QUIT, 1, UNBOUNDED, NULL },
};

#define N_COMMANDS (sizeof commands / sizeof commands[0])

static const struct command *find_command(struct mc_str name)
{
    for (size_t i = 0; i < N_COMMANDS; i++)
        if (tok_is(name, commands[i].name))
            return &commands[i];
    return NULL;
}

/* --- the interface --------------------------------------------------- */

int mc_next_key(struct mc_str *keys, struct mc_str *key)
{
    size_t i = 0;
    while (i < keys->len && keys->p[i] == ' ')
        i++;
    if (i == keys->len) {            /* none left; p may be NULL ("gat 10" alone) */
        *key = (struct mc_str){ keys->p, 0 };
        return 0;
    }
    size_t start = i;
    const char *space = memchr(keys->p + start, ' ', keys->len - start);
    i = space ? (size_t)(space - keys->p) : keys->len;
    *key = (struct mc_str){ keys->p + start, i - start };
    keys->p += i;
    keys->len -= i;
    return key->len > 0;
}

enum mc_status mc_parse(const char *line, size_t len, struct mc_request *r)
{
    struct tokens tk;
    memset(r, 0, sizeof *r);
    const char *nul = memchr(line, '\0', len);
    if (nul)
        len = (size_t)(nul - line);  /* memcached reads the line as a C string */
    tokenize(line, len, &tk);
    if (tk.n == 0)
        return MC_ERROR;
    const struct command *c = find_command(tk.t[0]);
    if (!c)
        return MC_ERROR;
    r->cmd = c->cmd;
    if (tk.n < c->min || tk.n > c->max)
        return MC_ERROR;
    return c->parse ? c->parse(&tk, line + len, r) : MC_OK;
}

/* A get's key list may be long.  memcached looks past at most 100
 * leading spaces, which also makes the answer the same for every prefix
 * longer than MC_LINE_MAX: framing does not depend on how input trickles. */
static int is_keylist(const char *buf, size_t len)
{
    static const char *const prefixes[] = { "get ", "gets ", "gat ", "gats " };
    size_t i = 0;
    while (i < len && buf[i] == ' ')
        i++;
    if (i > LEADING_SPACES_MAX)
        return 0;
    for (size_t k = 0; k < sizeof prefixes / sizeof prefixes[0]; k++) {
        size_t n = strlen(prefixes[k]);
        if (len - i >= n && memcmp(buf + i, prefixes[k], n) == 0)
            return 1;
    }
    return 0;
}

enum mc_frame mc_frame(const char *buf, size_t len, size_t *scanned, size_t *line_len,
                       size_t *total)
{
    size_t from = *scanned < len ? *scanned : len;
    size_t limit = len > MC_LINE_MAX && is_keylist(buf, len) ? MC_KEYLIST_MAX : MC_LINE_MAX;
    const char *nl = memchr(buf + from, '\n', len - from);
    if (!nl) {
        *scanned = len;
        return len > limit ? MC_FRAME_TOO_LONG : MC_FRAME_MORE;
    }
    size_t end = (size_t)(nl - buf);
    if (end > limit)
        return MC_FRAME_TOO_LONG;
    *scanned = 0;
    *total = end + 1;
    *line_len = end > 0 && buf[end - 1] == '\r' ? end - 1 : end;
    return MC_FRAME_LINE;
}

const char *mc_status_text(enum mc_status s)
{
    switch (s) {
    case MC_OK:
        return NULL;
    case MC_ERROR:
        return "ERROR";
    case MC_BAD_FORMAT:
        return "CLIENT_ERROR bad command line format";
    case MC_BAD_EXPTIME:
        return "CLIENT_ERROR invalid exptime argument";
    case MC_BAD_DELTA:
        return "CLIENT_ERROR invalid numeric delta argument";
    case MC_BAD_DELETE:
        return "CLIENT_ERROR bad command line format.  Usage: delete <key> [noreply]";
    }
    return "ERROR";
}

const char *mc_cmd_name(enum mc_cmd c)
{
    for (size_t i = 0; i < N_COMMANDS; i++)
        if (commands[i].cmd == c)
            return commands[i].name;
    return "unknown";
}

int mc_cmd_is_storage(enum mc_cmd c)
{
    return c >= MC_SET && c <= MC_CAS;
}
