/*
 * fuzz_json.c — libFuzzer target for core/json.  For every input: parse it;
 * if it parses, write it back, re-parse the output and require the same DOM
 * and a byte-identical second write (the writer and parser agree); if it does
 * not, require a sane error.  Also feeds the raw bytes to the string writer
 * and requires the result to parse back to the same bytes exactly when they
 * were valid UTF-8 without NUL (checked by a second, independent validator).  Single-threaded; any failed check aborts.
 * Built and run by `make check-fuzz` (tests/fuzz/local.mk).
 */
#include "core/json.h"
#include "core/common.h"
#include "fuzz/fuzz.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool same_value(const json_value_t *a, const json_value_t *b)
{
    if (json_type(a) != json_type(b))
        return false;
    switch (json_type(a)) {
    case JSON_NUMBER: {
        int64_t x, y;
        int rx = json_int64(a, &x), ry = json_int64(b, &y);
        return strcmp(json_number_text(a), json_number_text(b)) == 0 && rx == ry && (rx != IRTC_OK || x == y);
    }
    case JSON_STRING:
        return json_string_len(a) == json_string_len(b) &&
               memcmp(json_string(a), json_string(b), json_string_len(a)) == 0 &&
               strlen(json_string(a)) == json_string_len(a); /* no NUL inside */
    case JSON_ARRAY:
        if (json_size(a) != json_size(b))
            return false;
        for (size_t i = 0; i < json_size(a); i++)
            if (!same_value(json_at(a, i), json_at(b, i)))
                return false;
        return true;
    case JSON_OBJECT:
        if (json_size(a) != json_size(b))
            return false;
        for (size_t i = 0; i < json_size(a); i++) {
            if (strcmp(json_key_at(a, i), json_key_at(b, i)) != 0 ||
                !same_value(json_value_at(a, i), json_value_at(b, i)))
                return false;
            if (json_get(a, json_key_at(a, i)) != json_value_at(a, i)) /* keys are unique */
                return false;
        }
        return true;
    default:
        return true;
    }
}

/* An independent UTF-8 check (decode, then range-check the code point), so a
 * bug in the parser's table-driven validator shows up as a disagreement. */
static bool valid_utf8_no_nul(const uint8_t *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        uint32_t cp, min;
        size_t len;
        if (s[i] == 0)
            return false;
        if (s[i] < 0x80) {
            i++;
            continue;
        } else if ((s[i] & 0xE0) == 0xC0) {
            cp = s[i] & 0x1F, len = 2, min = 0x80;
        } else if ((s[i] & 0xF0) == 0xE0) {
            cp = s[i] & 0x0F, len = 3, min = 0x800;
        } else if ((s[i] & 0xF8) == 0xF0) {
            cp = s[i] & 0x07, len = 4, min = 0x10000;
        } else {
            return false;
        }
        if (n - i < len)
            return false;
        for (size_t k = 1; k < len; k++) {
            if ((s[i + k] & 0xC0) != 0x80)
                return false;
            cp = (cp << 6) | (s[i + k] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return false;
        i += len;
    }
    return true;
}

/* Raw bytes through the string writer must always give a parseable string,
 * equal to the input whenever the input was valid UTF-8 without NUL. */
static void check_string_writer(const uint8_t *data, size_t size)
{
    buf_t b;
    buf_init(&b);
    json_write_string_n(&b, (const char *)data, size);
    json_value_t *v = json_parse(b.base, b.len, NULL, NULL);
    /* The writer emits \u0000 for NUL, which the parser refuses on purpose. */
    bool has_nul = memchr(data, 0, size) != NULL;
    CHECK(has_nul ? v == NULL : v != NULL);
    if (v != NULL) {
        CHECK(json_type(v) == JSON_STRING);
        bool same = json_string_len(v) == size && memcmp(json_string(v), data, size) == 0;
        CHECK(same == valid_utf8_no_nul(data, size));
    }
    json_free(v);
    buf_dispose(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *err = NULL;
    size_t pos = 0;
    json_value_t *v = json_parse((const char *)data, size, &err, &pos);
    if (v == NULL) {
        CHECK(err != NULL && pos <= size);
    } else {
        CHECK(err == NULL);
        buf_t one, two;
        buf_init(&one);
        buf_init(&two);
        json_write_value(&one, v);
        json_value_t *w = json_parse(one.base, one.len, &err, &pos);
        CHECK(w != NULL);
        CHECK(same_value(v, w));
        json_write_value(&two, w);
        CHECK(one.len == two.len && memcmp(one.base, two.base, one.len) == 0);
        /* Every token is written no longer than any way of spelling it. */
        CHECK(one.len <= size);
        json_free(w);
        buf_dispose(&one);
        buf_dispose(&two);
        json_free(v);
    }
    check_string_writer(data, size);
    return 0;
}
