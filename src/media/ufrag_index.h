/*
 * ufrag_index.h — our ICE username fragments → their transports, so that a
 * STUN check from an address not seen yet finds its transport in O(1)
 * instead of a walk over every transport of the worker (a flood of checks
 * with unknown USERNAMEs made that walk the worker's hottest loop).
 *
 * Threading: one index per media worker, used on that worker only.  Lookups
 * run on the packet path and neither allocate nor lock; insertions and
 * removals come with transport creation and teardown (commands, not
 * packets) and may allocate.  Keys are not copied: the string passed to
 * ufrag_index_put must stay valid and unchanged until ufrag_index_del.
 *
 * Does not: validate ufrags (the SDP side makes them) or own the values.
 */
#ifndef IRTC_MEDIA_UFRAG_INDEX_H
#define IRTC_MEDIA_UFRAG_INDEX_H

#include <stddef.h>
#include <stdint.h>

typedef struct ufrag_entry ufrag_entry_t;

typedef struct {
    ufrag_entry_t **slots;
    size_t nslots; /* power of two */
    size_t count;
} ufrag_index_t;

void ufrag_index_init(ufrag_index_t *x);
void ufrag_index_dispose(ufrag_index_t *x);
/* Adds ufrag → value (not NULL).  IRTC_OK, or IRTC_ECONFLICT (nothing changed) when the
 * ufrag is already there. */
int ufrag_index_put(ufrag_index_t *x, const char *ufrag, void *value);
/* The value of the len bytes at ufrag (not NUL-terminated: straight from a
 * STUN USERNAME), or NULL. */
void *ufrag_index_get(const ufrag_index_t *x, const uint8_t *ufrag, size_t len);
/* Removes ufrag if present (with that value, when value is not NULL). */
void ufrag_index_del(ufrag_index_t *x, const char *ufrag, const void *value);
/* Entries in the longest chain: what the worst lookup compares (tests). */
size_t ufrag_index_longest_chain(const ufrag_index_t *x);

#endif
