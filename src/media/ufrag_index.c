/*
 * ufrag_index.c — chained hash table of ICE ufrags; see ufrag_index.h.
 * Runs on one media worker.  A lookup is one FNV-1a over the USERNAME's
 * first half and a chain kept short by doubling the table when it holds
 * as many entries as slots; entries are allocated only by put.
 */
#include "media/ufrag_index.h"
#include "core/common.h"

#include <stdlib.h>
#include <string.h>

#define UFRAG_INITIAL_SLOTS 64

struct ufrag_entry {
    ufrag_entry_t *next;
    const char *key;
    size_t len;
    uint64_t hash;
    void *value;
};

static uint64_t hash_bytes(const uint8_t *p, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 1099511628211ull;
    return h;
}

void ufrag_index_init(ufrag_index_t *x)
{
    x->nslots = UFRAG_INITIAL_SLOTS;
    x->slots = xcalloc(x->nslots, sizeof(*x->slots));
    x->count = 0;
}

void ufrag_index_dispose(ufrag_index_t *x)
{
    for (size_t i = 0; i < x->nslots; i++)
        for (ufrag_entry_t *e = x->slots[i], *next; e != NULL; e = next) {
            next = e->next;
            free(e);
        }
    free(x->slots);
    memset(x, 0, sizeof(*x));
}

static void grow(ufrag_index_t *x)
{
    size_t n = x->nslots * 2;
    ufrag_entry_t **slots = xcalloc(n, sizeof(*slots));
    for (size_t i = 0; i < x->nslots; i++)
        for (ufrag_entry_t *e = x->slots[i], *next; e != NULL; e = next) {
            next = e->next;
            e->next = slots[e->hash & (n - 1)];
            slots[e->hash & (n - 1)] = e;
        }
    free(x->slots);
    x->slots = slots;
    x->nslots = n;
}

static ufrag_entry_t *find(const ufrag_index_t *x, const uint8_t *ufrag, size_t len, uint64_t h)
{
    for (ufrag_entry_t *e = x->slots[h & (x->nslots - 1)]; e != NULL; e = e->next)
        if (e->hash == h && e->len == len && memcmp(e->key, ufrag, len) == 0)
            return e;
    return NULL;
}

void *ufrag_index_get(const ufrag_index_t *x, const uint8_t *ufrag, size_t len)
{
    const ufrag_entry_t *e = find(x, ufrag, len, hash_bytes(ufrag, len));
    return e != NULL ? e->value : NULL;
}

int ufrag_index_put(ufrag_index_t *x, const char *ufrag, void *value)
{
    size_t len = strlen(ufrag);
    uint64_t h = hash_bytes((const uint8_t *)ufrag, len);
    if (find(x, (const uint8_t *)ufrag, len, h) != NULL)
        return IRTC_ECONFLICT;
    if (x->count >= x->nslots)
        grow(x);
    ufrag_entry_t *e = xmalloc(sizeof(*e));
    e->key = ufrag;
    e->len = len;
    e->hash = h;
    e->value = value;
    e->next = x->slots[h & (x->nslots - 1)];
    x->slots[h & (x->nslots - 1)] = e;
    x->count++;
    return IRTC_OK;
}

void ufrag_index_del(ufrag_index_t *x, const char *ufrag, const void *value)
{
    size_t len = strlen(ufrag);
    uint64_t h = hash_bytes((const uint8_t *)ufrag, len);
    for (ufrag_entry_t **pp = &x->slots[h & (x->nslots - 1)]; *pp != NULL; pp = &(*pp)->next) {
        ufrag_entry_t *e = *pp;
        if (e->hash == h && e->len == len && memcmp(e->key, ufrag, len) == 0 && (value == NULL || e->value == value)) {
            *pp = e->next;
            free(e);
            x->count--;
            return;
        }
    }
}

size_t ufrag_index_longest_chain(const ufrag_index_t *x)
{
    size_t longest = 0;
    for (size_t i = 0; i < x->nslots; i++) {
        size_t n = 0;
        for (const ufrag_entry_t *e = x->slots[i]; e != NULL; e = e->next)
            n++;
        longest = n > longest ? n : longest;
    }
    return longest;
}
