/*
 * auth_delay.h's table: a hash table keyed with SipHash (the keys are
 * client addresses, which an attacker chooses) whose entries also form a
 * list from the oldest last failure to the newest, so both forgetting and
 * evicting take the list's head.
 */
#include "auth_delay.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "siphash.h"

#define NONE UINT32_MAX
#define SHIFT_MAX 16                 /* 2^16 s is far past AUTH_DELAY_MAX */

struct entry {
    unsigned char key[AUTH_DELAY_KEY_MAX];
    unsigned char len;
    unsigned failures;
    double last;                     /* the last failure */
    uint32_t chain;                  /* the next entry in the bucket */
    uint32_t older, newer;           /* the list by last failure */
};

struct auth_delay {
    struct entry *e;
    uint32_t max, used;
    uint32_t *bucket;
    uint32_t mask;
    uint32_t free_head;              /* unused entries, chained through chain */
    uint32_t oldest, newest;
    struct siphash_key k;
};

struct auth_delay *auth_delay_new(size_t max)
{
    if (max == 0 || max > UINT32_MAX / 4)
        return NULL;
    struct auth_delay *t = calloc(1, sizeof *t);
    uint32_t nb = 1;
    while (nb < 2 * max)
        nb <<= 1;
    if (!t || !(t->e = calloc(max, sizeof *t->e)) ||
        !(t->bucket = malloc(nb * sizeof *t->bucket))) {
        auth_delay_free(t);
        return NULL;
    }
    t->max = (uint32_t)max;
    t->mask = nb - 1;
    for (uint32_t i = 0; i < nb; i++)
        t->bucket[i] = NONE;
    for (uint32_t i = 0; i < t->max; i++)
        t->e[i].chain = i + 1 < t->max ? i + 1 : NONE;
    t->free_head = 0;
    t->oldest = t->newest = NONE;
    siphash_random_key(&t->k);
    return t;
}

void auth_delay_free(struct auth_delay *t)
{
    if (!t)
        return;
    free(t->e);
    free(t->bucket);
    free(t);
}

size_t auth_delay_count(const struct auth_delay *t)
{
    return t->used;
}

static uint32_t *bucket_of(struct auth_delay *t, const void *key, size_t len)
{
    return &t->bucket[siphash13(&t->k, key, len) & t->mask];
}

static void list_unlink(struct auth_delay *t, uint32_t i)
{
    struct entry *e = &t->e[i];
    if (e->older != NONE)
        t->e[e->older].newer = e->newer;
    else
        t->oldest = e->newer;
    if (e->newer != NONE)
        t->e[e->newer].older = e->older;
    else
        t->newest = e->older;
}

static void list_append(struct auth_delay *t, uint32_t i)
{
    struct entry *e = &t->e[i];
    e->older = t->newest;
    e->newer = NONE;
    if (t->newest != NONE)
        t->e[t->newest].newer = i;
    else
        t->oldest = i;
    t->newest = i;
}

/* Takes entry i out of the table and back to the unused ones. */
static void drop(struct auth_delay *t, uint32_t i)
{
    struct entry *e = &t->e[i];
    uint32_t *p = bucket_of(t, e->key, e->len);
    while (*p != i)
        p = &t->e[*p].chain;
    *p = e->chain;
    list_unlink(t, i);
    e->chain = t->free_head;
    t->free_head = i;
    t->used--;
}

static void forget_old(struct auth_delay *t, double now)
{
    while (t->oldest != NONE && now - t->e[t->oldest].last >= AUTH_DELAY_FORGET)
        drop(t, t->oldest);
}

static uint32_t find(struct auth_delay *t, const void *key, size_t len)
{
    for (uint32_t i = *bucket_of(t, key, len); i != NONE; i = t->e[i].chain)
        if (t->e[i].len == len && memcmp(t->e[i].key, key, len) == 0)
            return i;
    return NONE;
}

static uint32_t insert(struct auth_delay *t, const void *key, size_t len)
{
    if (t->free_head == NONE)
        drop(t, t->oldest);          /* full: the oldest failure goes */
    uint32_t i = t->free_head;
    struct entry *e = &t->e[i];
    t->free_head = e->chain;
    memcpy(e->key, key, len);
    e->len = (unsigned char)len;
    e->failures = 0;
    uint32_t *b = bucket_of(t, key, len);
    e->chain = *b;
    *b = i;
    list_append(t, i);
    t->used++;
    return i;
}

double auth_delay_failed(struct auth_delay *t, const void *key, size_t len, double now)
{
    if (len > AUTH_DELAY_KEY_MAX)
        len = AUTH_DELAY_KEY_MAX;
    forget_old(t, now);
    uint32_t i = find(t, key, len);
    if (i == NONE)
        i = insert(t, key, len);
    else {
        list_unlink(t, i);
        list_append(t, i);
    }
    struct entry *e = &t->e[i];
    if (e->failures < SHIFT_MAX)
        e->failures++;
    e->last = now;
    double d = AUTH_DELAY_FIRST * (double)(1u << (e->failures - 1));
    return d < AUTH_DELAY_MAX ? d : AUTH_DELAY_MAX;
}

unsigned auth_delay_failures(struct auth_delay *t, const void *key, size_t len, double now)
{
    if (len > AUTH_DELAY_KEY_MAX)
        len = AUTH_DELAY_KEY_MAX;
    forget_old(t, now);
    uint32_t i = find(t, key, len);
    return i == NONE ? 0 : t->e[i].failures;
}
