/*
 * fuzz.h — shared by the libFuzzer targets in tests/fuzz/: a CHECK that
 * aborts (libFuzzer keeps the input) and a reader that cuts one input into
 * the pieces a target feeds its parser.  Header-only; single-threaded.
 */
#ifndef IRTC_FUZZ_H
#define IRTC_FUZZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define CHECK(cond)                                                                                                    \
    do {                                                                                                               \
        if (!(cond)) {                                                                                                 \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);                                   \
            abort();                                                                                                   \
        }                                                                                                              \
    } while (0)

typedef struct {
    const uint8_t *p;
    size_t left;
} fuzz_in_t;

static inline fuzz_in_t fuzz_in(const uint8_t *data, size_t size)
{
    return (fuzz_in_t){data, size};
}

/* The next byte, 0 once the input is used up. */
static inline uint8_t fuzz_u8(fuzz_in_t *in)
{
    if (in->left == 0)
        return 0;
    in->left--;
    return *in->p++;
}

static inline uint16_t fuzz_u16(fuzz_in_t *in)
{
    uint16_t hi = fuzz_u8(in);
    return (uint16_t)(hi << 8 | fuzz_u8(in));
}

/* The next piece: a 2-byte big-endian length (cut to what is left) then that
 * many bytes.  False once nothing is left. */
static inline bool fuzz_piece(fuzz_in_t *in, const uint8_t **p, size_t *n)
{
    if (in->left == 0)
        return false;
    size_t want = fuzz_u16(in);
    *n = want < in->left ? want : in->left;
    *p = in->p;
    in->p += *n;
    in->left -= *n;
    return true;
}

/* A copy of n bytes in an exact-size heap block (so ASan sees any read past
 * it), NUL-terminated one byte further when nul is set; free() it. */
static inline char *fuzz_dup(const uint8_t *p, size_t n, bool nul)
{
    char *s = malloc(n + (nul ? 1 : 0) + (n == 0 && !nul));
    if (s == NULL)
        abort();
    for (size_t i = 0; i < n; i++)
        s[i] = (char)p[i];
    if (nul)
        s[n] = '\0';
    return s;
}

#endif
