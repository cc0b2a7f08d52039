/*
 * Unit tests for servers/pycached/store.c and snapshot.c: memcached's
 * storage modes, expiry on a test clock, incr/decr edges, LRU eviction
 * under the memory bound, growth past many rehashes, two stores that
 * share nothing, and the snapshot round trip (its CRC-32 zlib's) with
 * damaged files refused.
 */
#include "../../servers/pycached/stats.c"
#include "../../servers/pycached/store.c"
#include "../../servers/pycached/snapshot.c"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "unit.h"

static double test_now = 1700000000.5;
static double test_clock(void) { return test_now; }

static struct pyc_stats stats;      /* the counters of the store under test */

/* A store on the test clock. */
static struct store *new_store(uint64_t max_memory, uint64_t max_item_size)
{
    struct store *st = store_create(max_memory, max_item_size, &stats);
    if (!st) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
    store_set_clock(st, test_clock);
    return st;
}

static enum store_result put(struct store *st, enum store_mode mode, const char *key,
                             const char *val, uint32_t exptime, uint64_t cas)
{
    struct store_value v = { .key = key, .nkey = strlen(key), .val = val, .nval = strlen(val),
                             .flags = 7, .exptime = exptime, .kind = ITEM_RAW, .cas = cas };
    return store_put(st, mode, &v, NULL);
}

/* The value of key as a C string ("" when absent). */
static const char *value_of(struct store *st, const char *key)
{
    static char buf[256];
    struct item *it = store_peek(st, key, strlen(key));
    if (!it)
        return "";
    snprintf(buf, sizeof buf, "%.*s", (int)it->nval, item_value(it));
    return buf;
}

static void test_modes(void)
{
    struct store *st = new_store(64 << 20, 1 << 20);
    CHECK(put(st, STORE_ADD, "a", "1", 0, 0) == STORE_STORED, "add of a new key stores");
    CHECK(put(st, STORE_ADD, "a", "2", 0, 0) == STORE_NOT_STORED, "add of an existing key does not");
    CHECK(put(st, STORE_REPLACE, "b", "1", 0, 0) == STORE_NOT_STORED, "replace of a missing key does not");
    CHECK(put(st, STORE_REPLACE, "a", "3", 0, 0) == STORE_STORED, "replace of an existing key stores");
    CHECK_STR(value_of(st, "a"), "3", "replaced value");
    CHECK(put(st, STORE_APPEND, "a", "45", 0, 0) == STORE_STORED, "append");
    CHECK(put(st, STORE_PREPEND, "a", "12", 0, 0) == STORE_STORED, "prepend");
    CHECK_STR(value_of(st, "a"), "12345", "appended and prepended");
    CHECK(store_peek(st, "a", 1)->flags == 7, "flags kept");
    CHECK(put(st, STORE_APPEND, "zz", "x", 0, 0) == STORE_NOT_STORED, "append to a missing key");
    uint64_t cas = store_peek(st, "a", 1)->cas;
    CHECK(put(st, STORE_CAS, "a", "x", 0, cas + 1) == STORE_EXISTS, "cas with a stale number");
    CHECK(put(st, STORE_CAS, "a", "x", 0, cas) == STORE_STORED, "cas with the right number");
    CHECK(put(st, STORE_CAS, "q", "x", 0, 1) == STORE_NOT_FOUND, "cas of a missing key");
    CHECK(store_count(st) == 1, "one item");
    CHECK(store_delete(st, "a", 1) == 1 && store_delete(st, "a", 1) == 0, "delete once");
    char big[2000];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    store_destroy(st);
    st = new_store(64 << 20, 1024);
    CHECK(put(st, STORE_SET, "big", big, 0, 0) == STORE_TOO_LARGE, "over the item size");
    store_destroy(st);
}

static void test_expiry(void)
{
    struct store *st = new_store(64 << 20, 1 << 20);
    CHECK(put(st, STORE_SET, "t", "v", store_exptime(st, 2), 0) == STORE_STORED, "set with exptime 2");
    test_now += 1.9;
    CHECK_STR(value_of(st, "t"), "v", "alive before its time");
    test_now += 0.7;
    CHECK_STR(value_of(st, "t"), "", "gone after it");
    CHECK(store_reclaimed(st) == 1, "reclaimed on lookup");
    CHECK(put(st, STORE_SET, "n", "v", store_exptime(st, -1), 0) == STORE_STORED, "negative exptime stores");
    CHECK(store_peek(st, "n", 1) == NULL, "and is gone at once");
    CHECK(store_exptime(st, 0) == 0, "0 never expires");
    CHECK(store_exptime(st, 2592001) == 2592001, "beyond 30 days is absolute");
    CHECK(put(st, STORE_SET, "abs", "v", store_exptime(st, 2592001), 0) == STORE_STORED &&
          !store_peek(st, "abs", 3), "an absolute time in the past has expired");
    CHECK(put(st, STORE_SET, "ttl", "v", store_ttl(st, 1.5), 0) == STORE_STORED, "ttl 1.5 s");
    test_now += 1.4;
    CHECK(store_peek(st, "ttl", 3) != NULL, "alive at 1.4 s");
    test_now += 1.2;
    CHECK(store_peek(st, "ttl", 3) == NULL, "gone at 2.6 s");
    put(st, STORE_SET, "r1", "v", store_exptime(st, 1), 0);
    put(st, STORE_SET, "r2", "v", 0, 0);
    test_now += 5;
    store_reap_expired(st, TABLE_MIN);
    CHECK(store_count(st) == 1, "the reaper frees expired items, leaves others");
    CHECK(store_touch(st, "r2", 2, store_exptime(st, 1)) != NULL, "touch a live item");
    test_now += 3;
    CHECK(store_peek(st, "r2", 2) == NULL, "touched item expires");
    store_destroy(st);
}

static void test_incr(void)
{
    struct store *st = new_store(64 << 20, 1 << 20);
    uint64_t v = 0;
    put(st, STORE_SET, "c", "18446744073709551615", 0, 0);
    CHECK(store_incr(st, "c", 1, 0, 2, &v) == INCR_OK && v == 1, "incr wraps at 2^64");
    CHECK(store_incr(st, "c", 1, 1, 5, &v) == INCR_OK && v == 0, "decr stops at 0");
    put(st, STORE_SET, "c", "10", 0, 0);
    CHECK(store_incr(st, "c", 1, 1, 1, &v) == INCR_OK && v == 9, "decr 10 by 1");
    CHECK_STR(value_of(st, "c"), "9", "stored without padding");
    put(st, STORE_SET, "s", "abc", 0, 0);
    CHECK(store_incr(st, "s", 1, 0, 1, &v) == INCR_NON_NUMERIC, "non-numeric value");
    CHECK(store_incr(st, "nope", 4, 0, 1, &v) == INCR_NOT_FOUND, "missing key");
    store_destroy(st);
}

static void test_eviction(void)
{
    struct store *st = new_store(1 << 20, 64 << 10);
    char key[32], val[1000];
    memset(val, 'v', sizeof val - 1);
    val[sizeof val - 1] = '\0';
    int refused = 0;
    for (int i = 0; i < 3000; i++) {
        snprintf(key, sizeof key, "key%d", i);
        if (put(st, STORE_SET, key, val, 0, 0) != STORE_STORED)
            refused++;
        if (i % 100 == 0)
            store_get(st, "key0", 4);     /* keeps key0 warm */
    }
    CHECK(refused == 0, "every set stored, evicting as needed (%d refused)", refused);
    CHECK(store_bytes(st) <= (1 << 20), "memory bound kept: %llu", (unsigned long long)store_bytes(st));
    CHECK(store_evictions(st) > 1000, "items were evicted: %llu", (unsigned long long)store_evictions(st));
    CHECK(store_peek(st, "key1", 4) == NULL, "the coldest key went");
    CHECK(store_peek(st, "key0", 4) != NULL, "a key in use stayed");
    CHECK(store_peek(st, "key2999", 7) != NULL, "the newest key stayed");
    store_destroy(st);
}

static void test_growth(void)
{
    struct store *st = new_store(256 << 20, 1 << 20);
    char key[32];
    int missing = 0;
    for (int i = 0; i < 100000; i++) {
        snprintf(key, sizeof key, "k%d", i);
        put(st, STORE_SET, key, key, 0, 0);
    }
    for (int i = 0; i < 100000; i++) {
        snprintf(key, sizeof key, "k%d", i);
        if (strcmp(value_of(st, key), key) != 0)
            missing++;
    }
    CHECK(missing == 0, "100000 keys all found through rehashing (%d missing)", missing);
    CHECK(store_count(st) == 100000, "count is 100000");
    store_destroy(st);
}

/* Two stores, each with its own counters and clock, share nothing. */
static void test_two_stores(void)
{
    struct pyc_stats stats_a, stats_b;
    stats_init(&stats_a);
    stats_init(&stats_b);
    struct store *a = store_create(64 << 20, 1 << 20, &stats_a);
    struct store *b = store_create(1 << 20, 1024, &stats_b);
    CHECK(a && b, "two stores made");
    store_set_clock(a, test_clock);
    store_set_clock(b, test_clock);
    CHECK(put(a, STORE_SET, "k", "in a", 0, 0) == STORE_STORED, "a key set in a");
    CHECK_STR(value_of(b, "k"), "", "is absent in b");
    CHECK(put(b, STORE_SET, "k", "in b", store_exptime(b, 1), 0) == STORE_STORED,
          "the same key set in b");
    CHECK_STR(value_of(a, "k"), "in a", "leaves a's value alone");
    CHECK(store_count(a) == 1 && store_count(b) == 1, "one item each");
    CHECK(store_max_memory(a) == 64 << 20 && store_max_item_size(b) == 1024,
          "each keeps its own bounds");
    test_now += 2;
    CHECK(store_get(b, "k", 1) == NULL && store_get(a, "k", 1) != NULL,
          "b's key expired, a's did not");
    CHECK(stats_b.get_expired == 1 && stats_a.get_expired == 0,
          "the expired read is counted in b's stats only");
    CHECK(store_reclaimed(b) == 1 && store_reclaimed(a) == 0, "and reclaimed in b only");
    store_clear(a);
    CHECK(store_count(a) == 0 && store_total_items(b) == 1, "clearing a leaves b");
    CHECK(store_delete(b, "k", 1) == 0, "b's key is already gone");
    CHECK(store_peek(a, "k", 1) == NULL, "and a's too, cleared");
    store_destroy(a);
    CHECK(put(b, STORE_SET, "x", "y", 0, 0) == STORE_STORED && store_count(b) == 1,
          "b works on once a is destroyed");
    store_destroy(b);
    store_destroy(NULL);
}

/* The snapshot's CRC is zlib's: the check value of CRC-32/ISO-HDLC. */
static void test_crc(void)
{
    CHECK(crc_update(0, "123456789", 9) == 0xcbf43926u, "crc32(\"123456789\")");
    CHECK(crc_update(crc_update(0, "1234", 4), "56789", 5) == 0xcbf43926u,
          "crc32 in two pieces");
    CHECK(crc_table[1] == 0x77073096u && crc_table[255] == 0x2d02ef8du, "table entries");
}

static int count_items(const struct item *it, void *arg)
{
    (void)it;
    ++*(int *)arg;
    return 0;
}

static void corrupt(const char *path, long at, int byte)
{
    FILE *f = fopen(path, "r+b");
    fseek(f, at, SEEK_SET);
    fputc(byte, f);
    fclose(f);
}

static void test_snapshot(void)
{
    char path[] = "/tmp/gale-snap-XXXXXX", err[512];
    int fd = mkstemp(path);
    close(fd);
    struct store *st = new_store(64 << 20, 1 << 20);
    put(st, STORE_SET, "one", "1", 0, 0);
    put(st, STORE_SET, "two", "22", store_exptime(st, 100), 0);
    struct store_value j = { .key = "j", .nkey = 1, .val = "{\"a\": [1]}", .nval = 10,
                             .kind = ITEM_JSON };
    store_put(st, STORE_SET, &j, NULL);
    store_get(st, "one", 3);
    size_t n = 0, loaded = 0;
    CHECK(snapshot_write(st, path, &n, err, sizeof err) == 0 && n == 3, "wrote 3 items");
    store_destroy(st);
    st = new_store(64 << 20, 1 << 20);
    CHECK(snapshot_load(st, path, &loaded, err, sizeof err) == 0 && loaded == 3, "loaded 3");
    CHECK_STR(value_of(st, "two"), "22", "value back");
    CHECK(store_peek(st, "two", 3)->exptime != 0, "expiry back");
    CHECK(store_peek(st, "one", 3)->reads == 1, "read count back");
    CHECK(store_peek(st, "j", 1)->kind == ITEM_JSON, "kind back");
    int seen = 0;
    store_foreach(st, count_items, &seen);
    CHECK(seen == 3, "foreach sees 3");
    store_destroy(st);

    st = new_store(64 << 20, 1 << 20);
    corrupt(path, 30, 'X');
    CHECK(snapshot_load(st, path, &loaded, err, sizeof err) == -1, "a flipped byte is refused");
    CHECK_HAS(err, "checksum", "and the error says why");
    CHECK(store_count(st) == 0, "nothing was loaded");
    CHECK(truncate(path, 40) == 0, "truncate");
    CHECK(snapshot_load(st, path, &loaded, err, sizeof err) == -1, "a truncated file is refused");
    CHECK_HAS(err, "damaged", "as damaged");
    corrupt(path, 0, 'Z');
    CHECK(snapshot_load(st, path, &loaded, err, sizeof err) == -1, "another file is refused");
    CHECK_HAS(err, "not a gale pycached snapshot", "as not a snapshot");
    unlink(path);
    CHECK(snapshot_load(st, path, &loaded, err, sizeof err) == 0 && loaded == 0,
          "a missing file is an empty store");
    store_destroy(st);
}

int main(void)
{
    test_modes();
    test_expiry();
    test_incr();
    test_eviction();
    test_growth();
    test_two_stores();
    test_crc();
    test_snapshot();
    return unit_done();
}
