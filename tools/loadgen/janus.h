/*
 * janus.h — the same users against Janus's videoroom plugin over its HTTP
 * transport (the reference SFU of the side-by-side run): a session, one
 * handle per PeerConnection, rooms created on demand, publishers offering
 * (the client core's offer) and subscribers answering Janus's offer.  Events
 * come by long poll.  One thread, non-blocking on the loop.
 */
#ifndef IRTC_LOADGEN_JANUS_H
#define IRTC_LOADGEN_JANUS_H

#include <stddef.h>

#include "loadgen.h"

/* url: http://IP:PORT/janus.  NULL with err when Janus does not answer. */
janus_t *janus_new(lg_t *lg, const char *url, char *err, size_t errcap);
void janus_free(janus_t *j);
void janus_user_start(janus_t *j, lg_user_t *u);
void janus_user_stop(janus_t *j, lg_user_t *u);
void janus_user_stats(janus_t *j, lg_user_t *u, ic_recv_stats_t *rx);
/* Drives the HTTP requests and the event poll (call every loop turn). */
void janus_poll(janus_t *j);

#endif
