/*
 * guard.c — connection caps by source, HTTP/2 frame budgets and the
 * HTTP/1.x framing check; see guard.h.  Control thread; pure bookkeeping.
 *
 * Sources live in a chained hash table keyed by the 16-byte address (IPv4
 * as ::ffff:a.b.c.d), doubling when loaded.  An entry stays while a
 * connection from it is open or its penalty runs; idle, expired entries are
 * dropped when the table would grow.
 */
#include "http/guard.h"
#include "core/common.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define GUARD_INITIAL_SLOTS 256
#define H2_PREFACE_LEN 24
#define H2_FRAME_HEADER_LEN 9

enum { H2_DATA = 0, H2_HEADERS = 1, H2_PRIORITY = 2, H2_RST_STREAM = 3, H2_SETTINGS = 4, H2_PING = 6 };
#define H2_FLAG_ACK 0x1

struct guard_source {
    guard_source_t *next;
    uint8_t key[16];
    uint32_t open;
    uint64_t penalty_until_ms;
};

struct guard {
    unsigned max_total, max_per_source;
    size_t open, count;
    guard_source_t **slots;
    size_t nslots; /* power of two */
};

/* ---- connection caps ---- */

static void make_key(const uint8_t *addr, size_t alen, uint8_t key[16])
{
    if (alen == 4) {
        static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        memcpy(key, mapped, 12);
        memcpy(key + 12, addr, 4);
    } else {
        memset(key, 0, 16);
        memcpy(key, addr, alen < 16 ? alen : 16);
    }
}

static size_t slot_of(const guard_t *g, const uint8_t key[16])
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (int i = 0; i < 16; i++)
        h = (h ^ key[i]) * 1099511628211ull;
    return (size_t)(h & (g->nslots - 1));
}

guard_t *guard_new(unsigned max_total, unsigned max_per_source)
{
    guard_t *g = xcalloc(1, sizeof(*g));
    g->max_total = max_total ? max_total : 1;
    g->max_per_source = max_per_source ? max_per_source : 1;
    g->nslots = GUARD_INITIAL_SLOTS;
    g->slots = xcalloc(g->nslots, sizeof(*g->slots));
    return g;
}

void guard_free(guard_t *g)
{
    if (g == NULL)
        return;
    for (size_t i = 0; i < g->nslots; i++)
        for (guard_source_t *s = g->slots[i], *next; s != NULL; s = next) {
            next = s->next;
            free(s);
        }
    free(g->slots);
    free(g);
}

static bool idle(const guard_source_t *s, uint64_t now_ms)
{
    return s->open == 0 && now_ms >= s->penalty_until_ms;
}

/* Drops idle entries, then doubles the table if it is still loaded. */
static void sweep_or_grow(guard_t *g, uint64_t now_ms)
{
    for (size_t i = 0; i < g->nslots; i++) {
        guard_source_t **pp = &g->slots[i];
        while (*pp != NULL) {
            guard_source_t *s = *pp;
            if (idle(s, now_ms)) {
                *pp = s->next;
                free(s);
                g->count--;
            } else {
                pp = &s->next;
            }
        }
    }
    if (g->count < g->nslots)
        return;
    size_t old_n = g->nslots;
    guard_source_t **old = g->slots;
    g->nslots *= 2;
    g->slots = xcalloc(g->nslots, sizeof(*g->slots));
    for (size_t i = 0; i < old_n; i++)
        for (guard_source_t *s = old[i], *next; s != NULL; s = next) {
            next = s->next;
            size_t k = slot_of(g, s->key);
            s->next = g->slots[k];
            g->slots[k] = s;
        }
    free(old);
}

static guard_source_t *find(const guard_t *g, const uint8_t key[16])
{
    for (guard_source_t *s = g->slots[slot_of(g, key)]; s != NULL; s = s->next)
        if (memcmp(s->key, key, 16) == 0)
            return s;
    return NULL;
}

guard_admit_t guard_admit(guard_t *g, const uint8_t *addr, size_t alen, uint64_t now_ms, guard_source_t **src)
{
    uint8_t key[16];
    make_key(addr, alen, key);
    *src = NULL;
    guard_source_t *s = find(g, key);
    if (s != NULL && now_ms < s->penalty_until_ms)
        return GUARD_PENALIZED;
    if (g->open >= g->max_total)
        return GUARD_FULL;
    if (s != NULL && s->open >= g->max_per_source)
        return GUARD_SOURCE_FULL;
    if (s == NULL) {
        if (g->count >= g->nslots)
            sweep_or_grow(g, now_ms);
        s = xcalloc(1, sizeof(*s));
        memcpy(s->key, key, 16);
        size_t k = slot_of(g, key);
        s->next = g->slots[k];
        g->slots[k] = s;
        g->count++;
    }
    s->open++;
    g->open++;
    *src = s;
    return GUARD_ADMIT;
}

void guard_release(guard_t *g, guard_source_t *src, uint64_t now_ms)
{
    if (src == NULL || src->open == 0)
        return;
    src->open--;
    g->open--;
    (void)now_ms; /* idle entries are reclaimed by sweep_or_grow */
}

void guard_penalize(guard_t *g, guard_source_t *src, uint64_t now_ms)
{
    (void)g;
    if (src != NULL)
        src->penalty_until_ms = now_ms + GUARD_PENALTY_MS;
}

size_t guard_open(const guard_t *g)
{
    return g->open;
}

size_t guard_open_from(const guard_t *g, const uint8_t *addr, size_t alen)
{
    uint8_t key[16];
    make_key(addr, alen, key);
    const guard_source_t *s = find(g, key);
    return s != NULL ? s->open : 0;
}

size_t guard_sources(const guard_t *g)
{
    return g->count;
}

const char *guard_admit_name(guard_admit_t v)
{
    switch (v) {
    case GUARD_ADMIT:
        return "admitted";
    case GUARD_FULL:
        return "total";
    case GUARD_SOURCE_FULL:
        return "source";
    case GUARD_PENALIZED:
        return "penalized";
    }
    return "?";
}

/* ---- HTTP/2 frame budgets ---- */

void guard_h2_init(guard_h2_t *h, uint64_t now_ms)
{
    memset(h, 0, sizeof(*h));
    h->skip = H2_PREFACE_LEN; /* h2o checks the preface itself */
    tbucket_init(&h->resets, GUARD_H2_RESETS_BURST, now_ms);
    tbucket_init(&h->streams, GUARD_H2_STREAMS_BURST, now_ms);
    tbucket_init(&h->settings, GUARD_H2_SETTINGS_BURST, now_ms);
    tbucket_init(&h->pings, GUARD_H2_PINGS_BURST, now_ms);
    tbucket_init(&h->control, GUARD_H2_CONTROL_BURST, now_ms);
}

/* What one frame costs (RFC 9113 §6). */
static guard_h2_verdict_t spend(guard_h2_t *h, const uint8_t hdr[9], uint64_t now_ms)
{
    uint32_t len = (uint32_t)hdr[0] << 16 | (uint32_t)hdr[1] << 8 | hdr[2];
    uint8_t type = hdr[3], flags = hdr[4];
    h->frames++;
    switch (type) {
    case H2_DATA:
        if (len > 0)
            return GUARD_H2_OK;
        break; /* an empty DATA frame costs like a control frame */
    case H2_HEADERS:
        return tbucket_take(&h->streams, GUARD_H2_STREAMS_RATE, GUARD_H2_STREAMS_BURST, now_ms) ? GUARD_H2_OK
                                                                                                : GUARD_H2_STREAMS;
    case H2_RST_STREAM:
        return tbucket_take(&h->resets, GUARD_H2_RESETS_RATE, GUARD_H2_RESETS_BURST, now_ms) ? GUARD_H2_OK
                                                                                             : GUARD_H2_RESETS;
    case H2_SETTINGS:
        if (flags & H2_FLAG_ACK)
            return GUARD_H2_OK;
        return tbucket_take(&h->settings, GUARD_H2_SETTINGS_RATE, GUARD_H2_SETTINGS_BURST, now_ms) ? GUARD_H2_OK
                                                                                                   : GUARD_H2_SETTINGS;
    case H2_PING:
        if (flags & H2_FLAG_ACK)
            return GUARD_H2_OK;
        return tbucket_take(&h->pings, GUARD_H2_PINGS_RATE, GUARD_H2_PINGS_BURST, now_ms) ? GUARD_H2_OK
                                                                                          : GUARD_H2_PINGS;
    case 5: /* PUSH_PROMISE: a protocol error h2o answers itself */
    case 7: /* GOAWAY */
        return GUARD_H2_OK;
    default:
        break; /* PRIORITY, WINDOW_UPDATE, CONTINUATION, unknown */
    }
    return tbucket_take(&h->control, GUARD_H2_CONTROL_RATE, GUARD_H2_CONTROL_BURST, now_ms) ? GUARD_H2_OK
                                                                                            : GUARD_H2_CONTROL;
}

guard_h2_verdict_t guard_h2_feed(guard_h2_t *h, const uint8_t *p, size_t n, uint64_t now_ms)
{
    while (n > 0) {
        if (h->skip > 0) {
            size_t k = n < h->skip ? n : h->skip;
            h->skip -= (uint32_t)k;
            p += k;
            n -= k;
            continue;
        }
        size_t k = H2_FRAME_HEADER_LEN - h->hdr_len;
        if (k > n)
            k = n;
        memcpy(h->hdr + h->hdr_len, p, k);
        h->hdr_len = (uint8_t)(h->hdr_len + k);
        p += k;
        n -= k;
        if (h->hdr_len < H2_FRAME_HEADER_LEN)
            break;
        h->hdr_len = 0;
        h->skip = (uint32_t)h->hdr[0] << 16 | (uint32_t)h->hdr[1] << 8 | h->hdr[2];
        guard_h2_verdict_t v = spend(h, h->hdr, now_ms);
        if (v != GUARD_H2_OK)
            return v;
    }
    return GUARD_H2_OK;
}

const char *guard_h2_name(guard_h2_verdict_t v)
{
    switch (v) {
    case GUARD_H2_OK:
        return "ok";
    case GUARD_H2_RESETS:
        return "rst_stream";
    case GUARD_H2_STREAMS:
        return "headers";
    case GUARD_H2_SETTINGS:
        return "settings";
    case GUARD_H2_PINGS:
        return "ping";
    case GUARD_H2_CONTROL:
        return "control";
    }
    return "?";
}

/* ---- HTTP/1.x framing ---- */

static bool header_is(const char *line, size_t n, const char *name)
{
    size_t k = strlen(name);
    return n > k && line[k] == ':' && strncasecmp(line, name, k) == 0;
}

int guard_http1_framing(const char *req, size_t len, const char **why)
{
    static const char *ignored;
    const char **w = why ? why : &ignored;
    int n_cl = 0, n_te = 0;
    bool first = true;
    for (size_t i = 0; i < len;) {
        const char *nl = memchr(req + i, '\n', len - i);
        if (nl == NULL)
            return IRTC_OK; /* the block does not end here: nothing to judge */
        size_t n = (size_t)(nl - (req + i));
        if (n > 0 && req[i + n - 1] == '\r')
            n--;
        if (n == 0 && !first)
            break; /* end of the header block */
        /* The request line, and obsolete line folding (a continuation), name no header. */
        if (!first && req[i] != ' ' && req[i] != '\t') {
            n_cl += header_is(req + i, n, "content-length");
            n_te += header_is(req + i, n, "transfer-encoding");
        }
        first = false;
        i = (size_t)(nl - req) + 1;
    }
    if (n_cl > 1) {
        *w = "more than one Content-Length header";
        return IRTC_EINVAL;
    }
    if (n_te > 1) {
        *w = "more than one Transfer-Encoding header";
        return IRTC_EINVAL;
    }
    if (n_cl > 0 && n_te > 0) {
        *w = "both Transfer-Encoding and Content-Length";
        return IRTC_EINVAL;
    }
    return IRTC_OK;
}
