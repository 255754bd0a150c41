/* spsc_ring.c — allocation and reference counting of SPSC rings; see spsc_ring.h. */
#include "core/spsc_ring.h"
#include "core/common.h"

#include <stdlib.h>

spsc_ring_t *spsc_ring_new(size_t slots)
{
    size_t n = 1;
    while (n < slots)
        n <<= 1;
    spsc_ring_t *r = xcalloc(1, sizeof(*r));
    r->slots = xcalloc(n, sizeof(spsc_slot_t));
    r->mask = n - 1;
    atomic_store(&r->refs, 1);
    return r;
}

void spsc_ring_ref(spsc_ring_t *r)
{
    atomic_fetch_add(&r->refs, 1);
}

void spsc_ring_unref(spsc_ring_t *r)
{
    if (r != NULL && atomic_fetch_sub(&r->refs, 1) == 1) {
        free(r->slots);
        free(r);
    }
}
