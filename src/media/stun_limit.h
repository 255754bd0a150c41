/*
 * stun_limit.h — how often a media worker answers a STUN check that fails
 * (unknown USERNAME, bad MESSAGE-INTEGRITY) with a 401.  RFC 8445 §7.3 wants
 * the answer, but it is unauthenticated and larger than the 28-byte request
 * (about 1.7 times): unlimited, anyone could aim the worker at a victim by
 * spoofing its address.  Answers are budgeted per source IP address (any
 * port) and per worker in total; checks over budget are dropped silently.
 *
 * Fixed size (no allocation, no lock: it is embedded in the worker's state
 * and used on the packet path); remembers STUN_LIMIT_SLOTS sources, and a
 * source that is forgotten starts again with a full budget, so the total
 * budget is what bounds a spoofed flood from many addresses.
 *
 * Does not: decide whether a check is valid (the ICE code does).
 */
#ifndef IRTC_MEDIA_STUN_LIMIT_H
#define IRTC_MEDIA_STUN_LIMIT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "core/tbucket.h"

#define STUN_LIMIT_SLOTS 4096 /* power of two */
/* A browser whose session ended keeps checking ~7 times a second for a few
 * seconds: a few answers are enough for it to give up. */
#define STUN_LIMIT_BURST 10
#define STUN_LIMIT_RATE 2
#define STUN_LIMIT_TOTAL_BURST 200
#define STUN_LIMIT_TOTAL_RATE 100

typedef struct {
    uint8_t key[16]; /* IPv6, or IPv4 as ::ffff:a.b.c.d */
    bool used;
    tbucket_t bucket;
} stun_limit_slot_t;

typedef struct stun_limit {
    stun_limit_slot_t slots[STUN_LIMIT_SLOTS];
    tbucket_t total;
    uint64_t allowed, refused; /* for /metrics */
} stun_limit_t;

void stun_limit_init(stun_limit_t *l, uint64_t now_ms);
/* Spends one error answer to from; false when its source or the worker is
 * over budget (counted in refused). */
bool stun_limit_allow(stun_limit_t *l, const struct sockaddr *from, uint64_t now_ms);

#endif
