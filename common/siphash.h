/*
 * SipHash-1-3: a keyed hash for tables whose keys come from the network,
 * so that nobody can choose keys that all land in one bucket.
 */
#ifndef GALE_SIPHASH_H
#define GALE_SIPHASH_H

#include <stddef.h>
#include <stdint.h>

struct siphash_key {
    uint64_t k0, k1;
};

/* A key from getrandom(); a fixed one if the kernel has none to give. */
void siphash_random_key(struct siphash_key *k);
uint64_t siphash13(const struct siphash_key *k, const void *data, size_t len);

#endif
