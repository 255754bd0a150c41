/* ring.c — allocation and reference counting of recorder rings; see ring.h. */
#include "record/ring.h"
#include "core/common.h"

#include <stdlib.h>

rec_ring_t *rec_ring_new(size_t slots)
{
    size_t n = 1;
    while (n < slots)
        n <<= 1;
    rec_ring_t *r = xcalloc(1, sizeof(*r));
    r->slots = xcalloc(n, sizeof(rec_slot_t));
    r->mask = n - 1;
    atomic_store(&r->refs, 1);
    return r;
}

void rec_ring_ref(rec_ring_t *r)
{
    atomic_fetch_add(&r->refs, 1);
}

void rec_ring_unref(rec_ring_t *r)
{
    if (r != NULL && atomic_fetch_sub(&r->refs, 1) == 1) {
        free(r->slots);
        free(r);
    }
}
