/*
 * ratelimit.c — per-key token buckets for the REST API; see ratelimit.h.
 * Control thread.  Does not know about HTTP, apps or the clock.
 *
 * Integer arithmetic only: a bucket holds "credit" where one call costs
 * RL_MS_PER_MIN units and every elapsed millisecond earns per_minute units,
 * so N calls per minute are earned back exactly, without rounding drift.
 * Keys live in a chained hash table that doubles when it is loaded; before
 * growing, buckets idle long enough to be full again are dropped (a full
 * bucket and a forgotten one behave the same).
 */
#include "http/ratelimit.h"
#include "core/common.h"
#include "core/hash.h"

#include <stdlib.h>
#include <string.h>

#define RL_MS_PER_MIN 60000u
#define RL_INITIAL_SLOTS 64

typedef struct rl_entry {
    struct rl_entry *next;
    uint64_t credit;  /* 0 .. per_minute * RL_MS_PER_MIN */
    uint64_t last_ms; /* when credit was last brought up to date */
    char key[];
} rl_entry_t;

struct ratelimit {
    uint64_t per_minute;
    uint64_t capacity; /* per_minute * RL_MS_PER_MIN */
    rl_entry_t **slots;
    size_t nslots; /* power of two */
    size_t count;
};

static uint64_t rl_hash(const char *s)
{
    return hash_fnv1a(HASH_FNV1A_INIT, s, strlen(s));
}

ratelimit_t *ratelimit_new(unsigned per_minute)
{
    ratelimit_t *rl = xcalloc(1, sizeof(*rl));
    rl->per_minute = per_minute ? per_minute : 1;
    rl->capacity = rl->per_minute * RL_MS_PER_MIN;
    rl->nslots = RL_INITIAL_SLOTS;
    rl->slots = xcalloc(rl->nslots, sizeof(*rl->slots));
    return rl;
}

void ratelimit_free(ratelimit_t *rl)
{
    if (rl == NULL)
        return;
    for (size_t i = 0; i < rl->nslots; i++) {
        for (rl_entry_t *e = rl->slots[i], *next; e != NULL; e = next) {
            next = e->next;
            free(e);
        }
    }
    free(rl->slots);
    free(rl);
}

size_t ratelimit_size(const ratelimit_t *rl)
{
    return rl->count;
}

/* Brings e's credit up to now_ms (capped at capacity). */
static void rl_refill(const ratelimit_t *rl, rl_entry_t *e, uint64_t now_ms)
{
    uint64_t elapsed = now_ms > e->last_ms ? now_ms - e->last_ms : 0;
    /* A minute refills any bucket; capping first keeps the product small. */
    if (elapsed >= RL_MS_PER_MIN || e->credit + elapsed * rl->per_minute >= rl->capacity)
        e->credit = rl->capacity;
    else
        e->credit += elapsed * rl->per_minute;
    e->last_ms = now_ms;
}

/* Drops entries that are full again at now_ms. */
static void rl_prune(ratelimit_t *rl, uint64_t now_ms)
{
    for (size_t i = 0; i < rl->nslots; i++) {
        rl_entry_t **pp = &rl->slots[i];
        while (*pp != NULL) {
            rl_entry_t *e = *pp;
            rl_refill(rl, e, now_ms);
            if (e->credit == rl->capacity) {
                *pp = e->next;
                free(e);
                rl->count--;
            } else {
                pp = &e->next;
            }
        }
    }
}

static void rl_grow(ratelimit_t *rl)
{
    size_t n = rl->nslots * 2;
    rl_entry_t **slots = xcalloc(n, sizeof(*slots));
    for (size_t i = 0; i < rl->nslots; i++) {
        for (rl_entry_t *e = rl->slots[i], *next; e != NULL; e = next) {
            next = e->next;
            size_t j = rl_hash(e->key) & (n - 1);
            e->next = slots[j];
            slots[j] = e;
        }
    }
    free(rl->slots);
    rl->slots = slots;
    rl->nslots = n;
}

static rl_entry_t *rl_lookup(ratelimit_t *rl, const char *key, uint64_t now_ms)
{
    size_t i = rl_hash(key) & (rl->nslots - 1);
    for (rl_entry_t *e = rl->slots[i]; e != NULL; e = e->next)
        if (strcmp(e->key, key) == 0)
            return e;
    if (rl->count >= rl->nslots) {
        rl_prune(rl, now_ms);
        if (rl->count >= rl->nslots / 2)
            rl_grow(rl);
        i = rl_hash(key) & (rl->nslots - 1);
    }
    size_t len = strlen(key);
    rl_entry_t *e = xmalloc(sizeof(*e) + len + 1);
    memcpy(e->key, key, len + 1);
    e->credit = rl->capacity;
    e->last_ms = now_ms;
    e->next = rl->slots[i];
    rl->slots[i] = e;
    rl->count++;
    return e;
}

bool ratelimit_take(ratelimit_t *rl, const char *key, uint64_t now_ms, uint64_t *retry_after_ms)
{
    rl_entry_t *e = rl_lookup(rl, key, now_ms);
    rl_refill(rl, e, now_ms);
    if (e->credit >= RL_MS_PER_MIN) {
        e->credit -= RL_MS_PER_MIN;
        return true;
    }
    if (retry_after_ms != NULL) {
        uint64_t missing = RL_MS_PER_MIN - e->credit;
        *retry_after_ms = (missing + rl->per_minute - 1) / rl->per_minute;
    }
    return false;
}
