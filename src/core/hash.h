/*
 * hash.h — the one non-cryptographic hash of the tree: 64-bit FNV-1a, for
 * hash tables keyed by ids and for choosing a worker by channel.  Cheap,
 * stable across restarts and builds (a channel always lands on the same
 * worker), and not a defence against chosen keys: tables keyed by peer input
 * must bound their chains or their size.  Pure; any thread.
 */
#ifndef IRTC_HASH_H
#define IRTC_HASH_H

#include <stddef.h>
#include <stdint.h>

#define HASH_FNV1A_INIT UINT64_C(0xcbf29ce484222325)

/* Continues hash h over len bytes of data (start with HASH_FNV1A_INIT). */
static inline uint64_t hash_fnv1a(uint64_t h, const void *data, size_t len)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < len; i++)
        h = (h ^ p[i]) * UINT64_C(0x100000001b3);
    return h;
}

#endif
