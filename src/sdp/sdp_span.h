/*
 * sdp_span.h — a (pointer, length) view into SDP text, and the syntax checks
 * of its tokens (RFC 8866 token-char, RFC 8839 ice-char, RFC 8851 rid-id,
 * RFC 8122 fingerprints) that the parser applies to an offer and the
 * negotiator to what the server puts in an answer.  Internal to src/sdp.
 *
 * Pure; any thread.  Never reads past n; never allocates.
 */
#ifndef IRTC_SDP_SPAN_H
#define IRTC_SDP_SPAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    const char *p;
    size_t n;
} sdp_span_t;

sdp_span_t sdp_span_cstr(const char *s);
bool sdp_span_eq(sdp_span_t s, const char *lit);
bool sdp_span_ieq(sdp_span_t s, const char *lit);
void sdp_span_trim(sdp_span_t *s);
/* Cuts s at the first sep: returns what precedes it, leaves the rest in s. */
sdp_span_t sdp_span_cut(sdp_span_t *s, char sep);
/* Splits s at its first sep into *a and *b; false (a = s) when there is none. */
bool sdp_span_split(sdp_span_t s, char sep, sdp_span_t *a, sdp_span_t *b);
sdp_span_t sdp_span_word(sdp_span_t *s);
bool sdp_span_uint(sdp_span_t s, uint64_t max, uint64_t *out);
bool sdp_span_int(sdp_span_t s, int lo, int hi, int *out);
/* Copies s into dst[cap] (cap counts the NUL); false if it does not fit. */
bool sdp_span_copy(char *dst, size_t cap, sdp_span_t s);
bool sdp_span_is_token(sdp_span_t s, size_t max);
/* Token that also may contain '/' (protos such as UDP/TLS/RTP/SAVPF). */
bool sdp_span_is_proto(sdp_span_t s);
/* RFC 8839 §5.4 ice-char. */
bool sdp_span_is_ice(sdp_span_t s, size_t lo, size_t hi);
/* Visible ASCII without spaces: URIs and CNAMEs. */
bool sdp_span_is_visible(sdp_span_t s, size_t max);
/* RFC 8851 rid-id: alpha-numeric, "-" and "_". */
bool sdp_span_is_rid(sdp_span_t s);
/* The value of a hex digit, or -1. */
int sdp_span_hexval(unsigned char c);
/* "AB:CD:..." (RFC 8122 §5): returns the byte count, or -1. */
int sdp_span_fingerprint_bytes(sdp_span_t v);

#endif
