/* sdp_span.c — spans over SDP text and token syntax; see sdp_span.h. */
#include "sdp/sdp_span.h"
#include "sdp/sdp.h"

#include <string.h>
#include <strings.h>

sdp_span_t sdp_span_cstr(const char *s)
{
    return (sdp_span_t){s, strlen(s)};
}

bool sdp_span_eq(sdp_span_t s, const char *lit)
{
    size_t n = strlen(lit);
    return s.n == n && memcmp(s.p, lit, n) == 0;
}

bool sdp_span_ieq(sdp_span_t s, const char *lit)
{
    size_t n = strlen(lit);
    return s.n == n && strncasecmp(s.p, lit, n) == 0;
}

void sdp_span_trim(sdp_span_t *s)
{
    while (s->n && (s->p[0] == ' ' || s->p[0] == '\t'))
        s->p++, s->n--;
    while (s->n && (s->p[s->n - 1] == ' ' || s->p[s->n - 1] == '\t'))
        s->n--;
}

/* Cuts s at the first sep: returns what precedes it, leaves the rest in s. */
sdp_span_t sdp_span_cut(sdp_span_t *s, char sep)
{
    const char *e = s->n ? memchr(s->p, sep, s->n) : NULL;
    sdp_span_t head = {s->p, e ? (size_t)(e - s->p) : s->n};
    s->p += e ? head.n + 1 : head.n;
    s->n -= e ? head.n + 1 : head.n;
    return head;
}

/* Splits s at its first sep into *a and *b; false (a = s) when there is none. */
bool sdp_span_split(sdp_span_t s, char sep, sdp_span_t *a, sdp_span_t *b)
{
    const char *e = s.n ? memchr(s.p, sep, s.n) : NULL;
    *a = (sdp_span_t){s.p, e ? (size_t)(e - s.p) : s.n};
    *b = e ? (sdp_span_t){e + 1, s.n - a->n - 1} : (sdp_span_t){s.p + s.n, 0};
    return e != NULL;
}

/* Next space-separated word (RFC 8866 says one SP; browsers agree, but a
 * doubled space costs nothing to tolerate). */
sdp_span_t sdp_span_word(sdp_span_t *s)
{
    sdp_span_trim(s);
    sdp_span_t w = sdp_span_cut(s, ' ');
    sdp_span_trim(&w);
    return w;
}

bool sdp_span_uint(sdp_span_t s, uint64_t max, uint64_t *out)
{
    uint64_t v = 0;
    if (s.n == 0 || s.n > 20)
        return false;
    for (size_t i = 0; i < s.n; i++) {
        unsigned d = (unsigned char)s.p[i] - '0';
        if (d > 9 || v > (UINT64_MAX - d) / 10)
            return false;
        v = v * 10 + d;
    }
    if (v > max)
        return false;
    *out = v;
    return true;
}

bool sdp_span_int(sdp_span_t s, int lo, int hi, int *out)
{
    uint64_t v;
    if (!sdp_span_uint(s, (uint64_t)hi, &v) || v < (uint64_t)lo)
        return false;
    *out = (int)v;
    return true;
}

/* Copies s into dst[cap] (cap counts the NUL); false if it does not fit. */
bool sdp_span_copy(char *dst, size_t cap, sdp_span_t s)
{
    if (s.n >= cap)
        return false;
    memcpy(dst, s.p, s.n);
    dst[s.n] = '\0';
    return true;
}

/* RFC 8866 §9 token-char. */
static bool is_token_char(unsigned char c)
{
    return c == 0x21 || (c >= 0x23 && c <= 0x27) || c == 0x2A || c == 0x2B || c == 0x2D || c == 0x2E ||
           (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x5E && c <= 0x7E);
}

bool sdp_span_is_token(sdp_span_t s, size_t max)
{
    if (s.n == 0 || s.n > max)
        return false;
    for (size_t i = 0; i < s.n; i++)
        if (!is_token_char((unsigned char)s.p[i]))
            return false;
    return true;
}

/* Token that also may contain '/' (protos such as UDP/TLS/RTP/SAVPF). */
bool sdp_span_is_proto(sdp_span_t s)
{
    if (s.n == 0 || s.n > SDP_PROTO_MAX)
        return false;
    for (size_t i = 0; i < s.n; i++)
        if (s.p[i] != '/' && !is_token_char((unsigned char)s.p[i]))
            return false;
    return true;
}

/* RFC 8839 §5.4 ice-char. */
bool sdp_span_is_ice(sdp_span_t s, size_t lo, size_t hi)
{
    if (s.n < lo || s.n > hi)
        return false;
    for (size_t i = 0; i < s.n; i++) {
        unsigned char c = (unsigned char)s.p[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '+' || c == '/'))
            return false;
    }
    return true;
}

/* Visible ASCII without spaces: URIs and CNAMEs. */
bool sdp_span_is_visible(sdp_span_t s, size_t max)
{
    if (s.n == 0 || s.n > max)
        return false;
    for (size_t i = 0; i < s.n; i++)
        if ((unsigned char)s.p[i] <= 0x20 || (unsigned char)s.p[i] >= 0x7F)
            return false;
    return true;
}

/* RFC 8851 rid-id: alpha-numeric, "-" and "_". */
bool sdp_span_is_rid(sdp_span_t s)
{
    if (s.n == 0 || s.n > SDP_RID_MAX)
        return false;
    for (size_t i = 0; i < s.n; i++) {
        unsigned char c = (unsigned char)s.p[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_'))
            return false;
    }
    return true;
}

int sdp_span_hexval(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* "AB:CD:..." (RFC 8122 §5): returns the byte count, or -1. */
int sdp_span_fingerprint_bytes(sdp_span_t v)
{
    if (v.n < 2 || v.n > SDP_FP_VALUE_MAX || (v.n + 1) % 3 != 0)
        return -1;
    for (size_t i = 0; i < v.n; i++) {
        bool colon = i % 3 == 2;
        if (colon ? v.p[i] != ':' : sdp_span_hexval((unsigned char)v.p[i]) < 0)
            return -1;
    }
    return (int)((v.n + 1) / 3);
}
