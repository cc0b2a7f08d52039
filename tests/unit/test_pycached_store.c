/*
 * Unit tests for servers/pycached/store.c and snapshot.c: memcached's
 * storage modes, expiry on a test clock, incr/decr edges, LRU eviction
 * under the memory bound, growth past many rehashes, and the snapshot
 * round trip with damaged files refused.
 */
#include "../../servers/pycached/stats.c"
#include "../../servers/pycached/store.c"
#include "../../servers/pycached/snapshot.c"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "unit.h"

static double test_now = 1700000000.5;
static double test_clock(void) { return test_now; }

static enum store_result put(enum store_mode mode, const char *key, const char *val,
                             uint32_t exptime, uint64_t cas)
{
    struct store_value v = { .key = key, .nkey = strlen(key), .val = val, .nval = strlen(val),
                             .flags = 7, .exptime = exptime, .kind = ITEM_RAW, .cas = cas };
    return store_put(mode, &v, NULL);
}

/* The value of key as a C string ("" when absent). */
static const char *value_of(const char *key)
{
    static char buf[256];
    struct item *it = store_peek(key, strlen(key));
    if (!it)
        return "";
    snprintf(buf, sizeof buf, "%.*s", (int)it->nval, item_value(it));
    return buf;
}

static void test_modes(void)
{
    store_init(64 << 20, 1 << 20);
    CHECK(put(STORE_ADD, "a", "1", 0, 0) == STORE_STORED, "add of a new key stores");
    CHECK(put(STORE_ADD, "a", "2", 0, 0) == STORE_NOT_STORED, "add of an existing key does not");
    CHECK(put(STORE_REPLACE, "b", "1", 0, 0) == STORE_NOT_STORED, "replace of a missing key does not");
    CHECK(put(STORE_REPLACE, "a", "3", 0, 0) == STORE_STORED, "replace of an existing key stores");
    CHECK_STR(value_of("a"), "3", "replaced value");
    CHECK(put(STORE_APPEND, "a", "45", 0, 0) == STORE_STORED, "append");
    CHECK(put(STORE_PREPEND, "a", "12", 0, 0) == STORE_STORED, "prepend");
    CHECK_STR(value_of("a"), "12345", "appended and prepended");
    CHECK(store_peek("a", 1)->flags == 7, "flags kept");
    CHECK(put(STORE_APPEND, "zz", "x", 0, 0) == STORE_NOT_STORED, "append to a missing key");
    uint64_t cas = store_peek("a", 1)->cas;
    CHECK(put(STORE_CAS, "a", "x", 0, cas + 1) == STORE_EXISTS, "cas with a stale number");
    CHECK(put(STORE_CAS, "a", "x", 0, cas) == STORE_STORED, "cas with the right number");
    CHECK(put(STORE_CAS, "q", "x", 0, 1) == STORE_NOT_FOUND, "cas of a missing key");
    CHECK(store_count() == 1, "one item");
    CHECK(store_delete("a", 1) == 1 && store_delete("a", 1) == 0, "delete once");
    char big[2000];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    store_destroy();
    store_init(64 << 20, 1024);
    CHECK(put(STORE_SET, "big", big, 0, 0) == STORE_TOO_LARGE, "over the item size");
    store_destroy();
}

static void test_expiry(void)
{
    store_init(64 << 20, 1 << 20);
    CHECK(put(STORE_SET, "t", "v", store_exptime(2), 0) == STORE_STORED, "set with exptime 2");
    test_now += 1.9;
    CHECK_STR(value_of("t"), "v", "alive before its time");
    test_now += 0.7;
    CHECK_STR(value_of("t"), "", "gone after it");
    CHECK(store_reclaimed() == 1, "reclaimed on lookup");
    CHECK(put(STORE_SET, "n", "v", store_exptime(-1), 0) == STORE_STORED, "negative exptime stores");
    CHECK(store_peek("n", 1) == NULL, "and is gone at once");
    CHECK(store_exptime(0) == 0, "0 never expires");
    CHECK(store_exptime(2592001) == 2592001, "beyond 30 days is absolute");
    CHECK(put(STORE_SET, "abs", "v", store_exptime(2592001), 0) == STORE_STORED &&
          !store_peek("abs", 3), "an absolute time in the past has expired");
    CHECK(put(STORE_SET, "ttl", "v", store_ttl(1.5), 0) == STORE_STORED, "ttl 1.5 s");
    test_now += 1.4;
    CHECK(store_peek("ttl", 3) != NULL, "alive at 1.4 s");
    test_now += 1.2;
    CHECK(store_peek("ttl", 3) == NULL, "gone at 2.6 s");
    put(STORE_SET, "r1", "v", store_exptime(1), 0);
    put(STORE_SET, "r2", "v", 0, 0);
    test_now += 5;
    store_reap_expired(TABLE_MIN);
    CHECK(store_count() == 1, "the reaper frees expired items, leaves others");
    CHECK(store_touch("r2", 2, store_exptime(1)) != NULL, "touch a live item");
    test_now += 3;
    CHECK(store_peek("r2", 2) == NULL, "touched item expires");
    store_destroy();
}

static void test_incr(void)
{
    store_init(64 << 20, 1 << 20);
    uint64_t v = 0;
    put(STORE_SET, "c", "18446744073709551615", 0, 0);
    CHECK(store_incr("c", 1, 0, 2, &v) == INCR_OK && v == 1, "incr wraps at 2^64");
    CHECK(store_incr("c", 1, 1, 5, &v) == INCR_OK && v == 0, "decr stops at 0");
    put(STORE_SET, "c", "10", 0, 0);
    CHECK(store_incr("c", 1, 1, 1, &v) == INCR_OK && v == 9, "decr 10 by 1");
    CHECK_STR(value_of("c"), "9", "stored without padding");
    put(STORE_SET, "s", "abc", 0, 0);
    CHECK(store_incr("s", 1, 0, 1, &v) == INCR_NON_NUMERIC, "non-numeric value");
    CHECK(store_incr("nope", 4, 0, 1, &v) == INCR_NOT_FOUND, "missing key");
    store_destroy();
}

static void test_eviction(void)
{
    store_init(1 << 20, 64 << 10);
    char key[32], val[1000];
    memset(val, 'v', sizeof val - 1);
    val[sizeof val - 1] = '\0';
    int refused = 0;
    for (int i = 0; i < 3000; i++) {
        snprintf(key, sizeof key, "key%d", i);
        if (put(STORE_SET, key, val, 0, 0) != STORE_STORED)
            refused++;
        if (i % 100 == 0)
            store_get("key0", 4);     /* keeps key0 warm */
    }
    CHECK(refused == 0, "every set stored, evicting as needed (%d refused)", refused);
    CHECK(store_bytes() <= (1 << 20), "memory bound kept: %llu", (unsigned long long)store_bytes());
    CHECK(store_evictions() > 1000, "items were evicted: %llu", (unsigned long long)store_evictions());
    CHECK(store_peek("key1", 4) == NULL, "the coldest key went");
    CHECK(store_peek("key0", 4) != NULL, "a key in use stayed");
    CHECK(store_peek("key2999", 7) != NULL, "the newest key stayed");
    store_destroy();
}

static void test_growth(void)
{
    store_init(256 << 20, 1 << 20);
    char key[32];
    int missing = 0;
    for (int i = 0; i < 100000; i++) {
        snprintf(key, sizeof key, "k%d", i);
        put(STORE_SET, key, key, 0, 0);
    }
    for (int i = 0; i < 100000; i++) {
        snprintf(key, sizeof key, "k%d", i);
        if (strcmp(value_of(key), key) != 0)
            missing++;
    }
    CHECK(missing == 0, "100000 keys all found through rehashing (%d missing)", missing);
    CHECK(store_count() == 100000, "count is 100000");
    store_destroy();
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
    store_init(64 << 20, 1 << 20);
    put(STORE_SET, "one", "1", 0, 0);
    put(STORE_SET, "two", "22", store_exptime(100), 0);
    struct store_value j = { .key = "j", .nkey = 1, .val = "{\"a\": [1]}", .nval = 10,
                             .kind = ITEM_JSON };
    store_put(STORE_SET, &j, NULL);
    store_get("one", 3);
    size_t n = 0, loaded = 0;
    CHECK(snapshot_write(path, &n, err, sizeof err) == 0 && n == 3, "wrote 3 items");
    store_destroy();
    store_init(64 << 20, 1 << 20);
    CHECK(snapshot_load(path, &loaded, err, sizeof err) == 0 && loaded == 3, "loaded 3");
    CHECK_STR(value_of("two"), "22", "value back");
    CHECK(store_peek("two", 3)->exptime != 0, "expiry back");
    CHECK(store_peek("one", 3)->reads == 1, "read count back");
    CHECK(store_peek("j", 1)->kind == ITEM_JSON, "kind back");
    int seen = 0;
    store_foreach(count_items, &seen);
    CHECK(seen == 3, "foreach sees 3");
    store_destroy();

    store_init(64 << 20, 1 << 20);
    corrupt(path, 30, 'X');
    CHECK(snapshot_load(path, &loaded, err, sizeof err) == -1, "a flipped byte is refused");
    CHECK_HAS(err, "checksum", "and the error says why");
    CHECK(store_count() == 0, "nothing was loaded");
    CHECK(truncate(path, 40) == 0, "truncate");
    CHECK(snapshot_load(path, &loaded, err, sizeof err) == -1, "a truncated file is refused");
    CHECK_HAS(err, "damaged", "as damaged");
    corrupt(path, 0, 'Z');
    CHECK(snapshot_load(path, &loaded, err, sizeof err) == -1, "another file is refused");
    CHECK_HAS(err, "not a gale pycached snapshot", "as not a snapshot");
    unlink(path);
    CHECK(snapshot_load(path, &loaded, err, sizeof err) == 0 && loaded == 0,
          "a missing file is an empty store");
    store_destroy();
}

int main(void)
{
    store_clock = test_clock;
    test_modes();
    test_expiry();
    test_incr();
    test_eviction();
    test_growth();
    test_snapshot();
    return unit_done();
}
