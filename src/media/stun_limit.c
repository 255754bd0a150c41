/*
 * stun_limit.c — per-source and per-worker budgets for STUN error answers;
 * see stun_limit.h.  Media worker, packet path: a hash of the address, at
 * most STUN_LIMIT_PROBE slots looked at, no allocation.
 */
#include "media/stun_limit.h"

#include <netinet/in.h>
#include <string.h>

/* Slots probed per address; a new source takes an empty one or the one
 * least recently used among them. */
#define STUN_LIMIT_PROBE 4

void stun_limit_init(stun_limit_t *l, uint64_t now_ms)
{
    memset(l, 0, sizeof(*l));
    tbucket_init(&l->total, STUN_LIMIT_TOTAL_BURST, now_ms);
}

static void key_of(const struct sockaddr *a, uint8_t key[16])
{
    if (a->sa_family == AF_INET6) {
        memcpy(key, ((const struct sockaddr_in6 *)a)->sin6_addr.s6_addr, 16);
    } else {
        memset(key, 0, 10);
        key[10] = key[11] = 0xff;
        memcpy(key + 12, &((const struct sockaddr_in *)a)->sin_addr.s_addr, 4);
    }
}

static stun_limit_slot_t *slot_for(stun_limit_t *l, const uint8_t key[16], uint64_t now_ms)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (int i = 0; i < 16; i++)
        h = (h ^ key[i]) * 16777619u;
    stun_limit_slot_t *victim = NULL;
    for (uint32_t k = 0; k < STUN_LIMIT_PROBE; k++) {
        stun_limit_slot_t *s = &l->slots[(h + k) & (STUN_LIMIT_SLOTS - 1)];
        if (s->used && memcmp(s->key, key, 16) == 0)
            return s;
        if (!s->used) {
            if (victim == NULL || victim->used)
                victim = s; /* an empty slot beats any used one */
        } else if (victim == NULL || (victim->used && s->bucket.last_ms < victim->bucket.last_ms)) {
            victim = s; /* else the least recently used */
        }
    }
    memcpy(victim->key, key, 16);
    victim->used = true;
    tbucket_init(&victim->bucket, STUN_LIMIT_BURST, now_ms);
    return victim;
}

bool stun_limit_allow(stun_limit_t *l, const struct sockaddr *from, uint64_t now_ms)
{
    uint8_t key[16];
    key_of(from, key);
    stun_limit_slot_t *s = slot_for(l, key, now_ms);
    /* The source's budget first: a single noisy source must not use up the
     * worker's total for everybody else. */
    if (!tbucket_take(&s->bucket, STUN_LIMIT_RATE, STUN_LIMIT_BURST, now_ms) ||
        !tbucket_take(&l->total, STUN_LIMIT_TOTAL_RATE, STUN_LIMIT_TOTAL_BURST, now_ms)) {
        l->refused++;
        return false;
    }
    l->allowed++;
    return true;
}
