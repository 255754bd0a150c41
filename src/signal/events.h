/*
 * events.h — the signaling wire format going out (docs/API.md, "Signaling
 * protocol"): response and error envelopes, server events, stream
 * descriptors, and the event a room event becomes.  Pure: each function
 * appends JSON to a buffer; any thread.
 *
 * Does not: send anything or change a session (session.c does both).
 */
#ifndef IRTC_SIGNAL_EVENTS_H
#define IRTC_SIGNAL_EVENTS_H

#include <stdint.h>

#include "core/buf.h"
#include "room/room.h"

/* The version this server speaks ("v" of every message). */
#define EVENTS_PROTOCOL_VERSION 1 /* the first one; a v2 session's messages carry 2 */
#define EVENTS_PROTOCOL_V2 2

/* A successful response to request id; data is a JSON object, or NULL / empty for {}. */
void events_write_ok(buf_t *b, int v, int64_t id, const buf_t *data);
/* An error response to request id, or an `error` event when id < 0. */
void events_write_error(buf_t *b, int v, int64_t id, int code, const char *msg);
/* The error response of a join that reached the wrong node (cluster mode):
 * as events_write_error plus "redirect": {nodeId, domain, url}. */
void events_write_redirect(buf_t *b, int v, int64_t id, int code, const char *msg, const char *node_id,
                           const char *domain);
/* A server event; data is a JSON object, or NULL / empty for {}. */
void events_write_event(buf_t *b, int v, const char *event, const buf_t *data);
/* A stream descriptor: {"streamId", "userId", "type", "hasAudio", ...}. */
void events_write_stream(buf_t *b, const room_stream_t *st);
/* The data of the event telling a user it left for reason (6 expired,
 * 7 timeout, 5 / 10 banned); returns the event's name. */
const char *events_write_removed(buf_t *data, const char *user_id, int reason);
/* The data of the event a room event becomes; returns its name, or NULL for
 * ROOM_EV_REMOVED (the session handles that one: events_write_removed). */
const char *events_write_room_event(buf_t *data, const room_event_t *ev);

#endif
