/*
 * The Range request header, bytes only; see range.h.
 *   RFC 9110 14.1.2 byte ranges, 14.2 Range, 5.6.1 lists (OWS around
 *   commas, empty elements ignored), 15.5.17 416.
 * Pure: no I/O, no allocation.  out must have room for RANGE_MAX ranges.
 *
 * Overlapping and adjacent ranges are merged, as RFC 9110 14.2 suggests,
 * so that "bytes=0-0,0-0,..." cannot make us send one file many times; a
 * merged range takes the place of the first of its parts.  Positions too
 * large for 64 bits are taken as 2^64-1: "0-99999999999999999999" is the
 * whole file, as it would be with any number past the end.
 */
#include "range.h"

#include <string.h>

/* 1*DIGIT, saturating at UINT64_MAX; -1 when empty or not digits. */
static int range_number(const char *s, size_t n, uint64_t *v)
{
    uint64_t x = 0;
    if (n == 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        unsigned d = (unsigned)(s[i] - '0');
        x = x > (UINT64_MAX - d) / 10 ? UINT64_MAX : x * 10 + d;
    }
    *v = x;
    return 0;
}

/* "-N": the last N bytes. */
static int range_suffix(const char *s, size_t n, uint64_t size, struct byte_range *r)
{
    uint64_t count;
    if (range_number(s, n, &count) < 0)
        return -1;
    if (count == 0 || size == 0)
        return 0;
    r->first = count >= size ? 0 : size - count;
    r->last = size - 1;
    return 1;
}

/* One range-spec: 1 satisfiable (in *r, clamped to the file), 0 not,
 * -1 malformed. */
static int range_spec(const char *s, size_t n, uint64_t size, struct byte_range *r)
{
    if (s[0] == '-')
        return range_suffix(s + 1, n - 1, size, r);
    const char *dash = memchr(s, '-', n);
    if (dash == NULL)
        return -1;
    size_t flen = (size_t)(dash - s), llen = n - flen - 1;
    uint64_t first, last = UINT64_MAX;    /* "N-": to the end */
    if (range_number(s, flen, &first) < 0 || (llen > 0 && range_number(dash + 1, llen, &last) < 0))
        return -1;
    if (first > last)
        return -1;    /* invalid, not unsatisfiable (RFC 9110 14.1.1) */
    if (first >= size)
        return 0;
    r->first = first;
    r->last = last < size - 1 ? last : size - 1;
    return 1;
}

/* Overlapping or adjacent.  last < size, so last + 1 cannot wrap. */
static int range_touch(const struct byte_range *a, const struct byte_range *b)
{
    return a->first <= b->last + 1 && b->first <= a->last + 1;
}

static void range_absorb(struct byte_range *into, const struct byte_range *r)
{
    if (r->first < into->first)
        into->first = r->first;
    if (r->last > into->last)
        into->last = r->last;
}

/* Adds r to the n ranges kept so far, which never touch one another: r
 * merges into the first it touches, and that may then swallow later ones. */
static void range_add(struct byte_range *out, int *n, struct byte_range r)
{
    int i = 0;
    while (i < *n && !range_touch(&out[i], &r))
        i++;
    if (i == *n) {
        out[(*n)++] = r;
        return;
    }
    range_absorb(&out[i], &r);
    for (int j = i + 1; j < *n;) {
        if (!range_touch(&out[i], &out[j])) {
            j++;
            continue;
        }
        range_absorb(&out[i], &out[j]);
        memmove(&out[j], &out[j + 1], (size_t)(*n - j - 1) * sizeof *out);
        (*n)--;
        j = i + 1;    /* the grown range may now touch one already passed */
    }
}

/* The unit is a case-insensitive token (RFC 9110 14.1); no space at '='. */
static int range_unit_ok(const char *v, size_t len)
{
    static const char unit[] = "bytes=";
    if (len < sizeof unit - 1)
        return 0;
    for (size_t i = 0; i < sizeof unit - 1; i++) {
        int c = (unsigned char)v[i];
        if ((c >= 'A' && c <= 'Z' ? c + 32 : c) != unit[i])
            return 0;
    }
    return 1;
}

int range_parse(const char *value, size_t len, uint64_t size, struct byte_range *out)
{
    int n = 0, specs = 0;
    if (!range_unit_ok(value, len))
        return -1;
    const char *p = value + 6, *end = value + len;
    for (;;) {
        const char *comma = memchr(p, ',', (size_t)(end - p));
        const char *s = p, *e = comma ? comma : end;
        while (s < e && (*s == ' ' || *s == '\t'))
            s++;
        while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
            e--;
        if (s < e) {
            struct byte_range r;
            if (++specs > RANGE_MAX)
                return -1;
            int ok = range_spec(s, (size_t)(e - s), size, &r);
            if (ok < 0)
                return -1;
            if (ok)
                range_add(out, &n, r);
        }
        if (comma == NULL)
            break;
        p = comma + 1;
    }
    return specs == 0 ? -1 : n;
}
