/*
 * engine_int.h — what the engine's parts (transport, producer, consumer)
 * ask of the engine that owns them: its I/O, its counters, its event sink,
 * and its lookup tables, which only the engine changes.  Internal to
 * src/media; worker thread only.
 */
#ifndef IRTC_MEDIA_ENGINE_INT_H
#define IRTC_MEDIA_ENGINE_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "media/engine.h"

typedef struct transport transport_t;
typedef struct producer producer_t;
typedef struct consumer consumer_t;
struct dtls_ctx;

engine_stats_t *engine_stats_of(engine_t *e);
void engine_emit(engine_t *e, const engine_event_t *ev);
/* The outgoing datagram buffer (ENGINE_TX_CAP bytes) and its commit. */
uint8_t *engine_tx_reserve(engine_t *e);
void engine_tx_commit(engine_t *e, const struct sockaddr *to, socklen_t tolen, size_t len);
struct dtls_ctx *engine_dtls(engine_t *e);
/* Makes addr t's address in the lookup table.  False (nothing changed) when
 * another transport owns that address: a valid check cannot take over
 * someone else's 5-tuple. */
bool engine_bind_addr(engine_t *e, transport_t *t, const struct sockaddr *addr, socklen_t len);
/* Re-indexes t under its (new) local ufrag. */
void engine_reindex_ufrag(engine_t *e, transport_t *t, const char *old_ufrag);
/* The time of the event being handled (one clock read per datagram batch,
 * command or timer run). */
uint64_t engine_now_us(const engine_t *e);
static inline uint64_t engine_now_ms(const engine_t *e)
{
    return engine_now_us(e) / 1000;
}
bool engine_addr_equal(const struct sockaddr_storage *a, const struct sockaddr *b);
/* Asks for t's timer no later than due_ms. */
void engine_schedule(engine_t *e, transport_t *t, uint64_t due_ms);

#endif
