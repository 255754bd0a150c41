/*
 * test_json.c — unit tests for core/json: the DOM parser (valid documents and
 * every error path with its message and offset), number handling for ids
 * beyond 2^53, and the writer (escaping, UTF-8, compact round trip).
 * Single-threaded; touches no files or network.
 */
#include "core/json.h"
#include "core/common.h"
#include "unit/tap.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Parses a NUL-terminated literal; the document is NULL on failure. */
static json_value_t *parse(const char *s)
{
    const char *err = NULL;
    size_t pos = 0;
    json_value_t *v = json_parse(s, strlen(s), &err, &pos);
    if (v == NULL)
        printf("#   parse of %s failed: %s at %zu\n", s, err, pos);
    return v;
}

/* Expects len bytes of s to fail with exactly msg at byte offset pos. */
static void fails_n(const char *s, size_t len, const char *msg, size_t pos, const char *name)
{
    const char *err = "(unset)";
    size_t at = 12345;
    json_value_t *v = json_parse(s, len, &err, &at);
    ok(v == NULL, "%s: rejected", name);
    json_free(v);
    is_str(err, msg, "%s: message", name);
    is_int(at, pos, "%s: offset", name);
}

static void fails(const char *s, const char *msg, size_t pos, const char *name)
{
    fails_n(s, strlen(s), msg, pos, name);
}

/* Parses s, writes it back compactly and compares with want. */
static void writes_as(const char *s, const char *want, const char *name)
{
    json_value_t *v = parse(s);
    buf_t b;
    buf_init(&b);
    json_write_value(&b, v);
    is_str(b.base, want, "%s", name);
    buf_dispose(&b);
    json_free(v);
}

static void test_scalars(void)
{
    json_value_t *v = parse(" \t\r\nnull\n");
    ok(v && json_type(v) == JSON_NULL, "null with surrounding whitespace");
    ok(!json_is_bool(v) && !json_bool(v), "null is not a bool");
    json_free(v);
    v = parse("true");
    ok(json_type(v) == JSON_TRUE && json_is_bool(v) && json_bool(v), "true");
    json_free(v);
    v = parse("false");
    ok(json_type(v) == JSON_FALSE && json_is_bool(v) && !json_bool(v), "false");
    json_free(v);
    v = parse("\"\"");
    ok(json_type(v) == JSON_STRING, "empty string type");
    is_str(json_string(v), "", "empty string text");
    is_int(json_string_len(v), 0, "empty string length");
    json_free(v);
    v = parse("-0");
    is_str(json_number_text(v), "-0", "-0 literal kept");
    json_free(v);
    v = parse("-12.50e+010");
    is_str(json_number_text(v), "-12.50e+010", "fraction and exponent literal kept verbatim");
    json_free(v);
    ok(json_type(NULL) == JSON_NULL, "json_type(NULL) is JSON_NULL");
    json_free(NULL);
}

static void test_containers(void)
{
    json_value_t *v = parse("{\"zeta\":1,\"alpha\":[true,null,\"x\",{}],\"mid\":{\"k\":\"v\"},\"e\":[]}");
    ok(json_type(v) == JSON_OBJECT, "object type");
    is_int(json_size(v), 4, "member count");
    is_str(json_key_at(v, 0), "zeta", "member order 0");
    is_str(json_key_at(v, 1), "alpha", "member order 1");
    is_str(json_key_at(v, 2), "mid", "member order 2");
    is_str(json_key_at(v, 3), "e", "member order 3");
    ok(json_key_at(v, 4) == NULL && json_value_at(v, 4) == NULL, "member index out of range");
    ok(json_value_at(v, 0) == json_get(v, "zeta"), "json_value_at matches json_get");
    const json_value_t *a = json_get(v, "alpha");
    is_int(json_size(a), 4, "array length");
    ok(json_type(json_at(a, 0)) == JSON_TRUE && json_type(json_at(a, 1)) == JSON_NULL, "array elements in order");
    is_str(json_string(json_at(a, 2)), "x", "string element");
    ok(json_type(json_at(a, 3)) == JSON_OBJECT && json_size(json_at(a, 3)) == 0, "empty object element");
    ok(json_at(a, 4) == NULL, "array index out of range");
    is_str(json_string(json_get(json_get(v, "mid"), "k")), "v", "nested lookup");
    ok(json_type(json_get(v, "e")) == JSON_ARRAY && json_size(json_get(v, "e")) == 0, "empty array");
    ok(json_get(v, "missing") == NULL, "missing key");
    ok(json_get(a, "zeta") == NULL, "json_get on an array");
    ok(json_get(NULL, "zeta") == NULL, "json_get on NULL");
    ok(json_at(v, 0) == NULL, "json_at on an object");
    ok(json_key_at(a, 0) == NULL, "json_key_at on an array");
    ok(json_string(json_get(v, "zeta")) == NULL && json_string_len(json_get(v, "zeta")) == 0,
       "json_string on a number");
    ok(json_number_text(json_at(a, 2)) == NULL, "json_number_text on a string");
    is_int(json_size(json_at(a, 2)), 0, "json_size on a string");
    json_free(v);
    v = parse("{\"a\":{\"a\":{\"a\":1}},\"b\":[{\"a\":1},{\"a\":2}]}");
    ok(v != NULL, "same key in different objects is not a duplicate");
    json_free(v);
}

static void test_numbers(void)
{
    int64_t i = 0;
    double d = 0;
    json_value_t *v = parse("{\"id\":202212311431169569,\"big\":99999999999999999999}");
    const json_value_t *id = json_get(v, "id"), *big = json_get(v, "big");
    is_str(json_number_text(id), "202212311431169569", "id beyond 2^53 keeps its literal");
    is_int(json_int64(id, &i), IRTC_OK, "json_int64 of the id");
    ok(i == INT64_C(202212311431169569), "json_int64 value exact");
    is_str(json_number_text(big), "99999999999999999999", "out-of-range literal preserved");
    i = 7;
    is_int(json_int64(big, &i), IRTC_EINVAL, "json_int64 overflow rejected");
    is_int(i, 7, "output untouched on overflow");
    is_int(json_double(big, &d), IRTC_OK, "json_double of a big integer");
    ok(d == 1e20, "json_double value");
    json_free(v);

    v = parse("[9223372036854775807,-9223372036854775808,9223372036854775808,-9223372036854775809,"
              "1.0,1e2,-0,0,\"5\",1e400,1e-400,2.5]");
    ok(json_int64(json_at(v, 0), &i) == IRTC_OK && i == INT64_MAX, "INT64_MAX");
    ok(json_int64(json_at(v, 1), &i) == IRTC_OK && i == INT64_MIN, "INT64_MIN");
    is_int(json_int64(json_at(v, 2), &i), IRTC_EINVAL, "INT64_MAX + 1 rejected");
    is_int(json_int64(json_at(v, 3), &i), IRTC_EINVAL, "INT64_MIN - 1 rejected");
    is_int(json_int64(json_at(v, 4), &i), IRTC_EINVAL, "fraction is not an integer literal");
    is_int(json_int64(json_at(v, 5), &i), IRTC_EINVAL, "exponent is not an integer literal");
    ok(json_int64(json_at(v, 6), &i) == IRTC_OK && i == 0, "-0 is 0");
    ok(json_int64(json_at(v, 7), &i) == IRTC_OK && i == 0, "0");
    is_int(json_int64(json_at(v, 8), &i), IRTC_EINVAL, "json_int64 on a string");
    is_int(json_double(json_at(v, 8), &d), IRTC_EINVAL, "json_double on a string");
    is_int(json_int64(NULL, &i), IRTC_EINVAL, "json_int64 on NULL");
    is_int(json_double(json_at(v, 9), &d), IRTC_EINVAL, "json_double overflow to infinity rejected");
    ok(json_double(json_at(v, 10), &d) == IRTC_OK && d == 0, "json_double underflow rounds to 0");
    ok(json_double(json_at(v, 11), &d) == IRTC_OK && d == 2.5, "json_double 2.5");
    ok(json_double(json_at(v, 5), &d) == IRTC_OK && d == 100, "json_double 1e2");
    json_free(v);
}

static void test_strings(void)
{
    json_value_t *v =
        parse("[\"\\\"\\\\\\/\\b\\f\\n\\r\\t\",\"\\u00e9\\u20AC\\uD83D\\uDE00\",\"caf\xC3\xA9 \xE2\x82\xAC "
              "\xF0\x9F\x98\x80\",\"\\u0001\\u001F\x7F\"]");
    is_str(json_string(json_at(v, 0)), "\"\\/\b\f\n\r\t", "simple escapes");
    is_int(json_string_len(json_at(v, 0)), 8, "simple escapes length");
    is_str(json_string(json_at(v, 1)), "\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80", "\\u escapes and surrogate pair");
    is_str(json_string(json_at(v, 2)), "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80", "raw UTF-8 kept");
    is_str(json_string(json_at(v, 3)), "\x01\x1F\x7F", "escaped controls and raw DEL");
    json_free(v);
    v = parse("{\"\\u006b\\u0065\\u0079\":1}");
    ok(json_get(v, "key") != NULL, "escaped key unescaped");
    json_free(v);
    v = parse("\"\\uDBFF\\uDFFF\"");
    is_str(json_string(v), "\xF4\x8F\xBF\xBF", "highest code point via surrogates");
    json_free(v);
}

static void test_depth(void)
{
    char deep[2 * (JSON_MAX_DEPTH + 1) + 1];
    memset(deep, '[', JSON_MAX_DEPTH);
    memset(deep + JSON_MAX_DEPTH, ']', JSON_MAX_DEPTH);
    deep[2 * JSON_MAX_DEPTH] = '\0';
    json_value_t *v = parse(deep);
    ok(v != NULL, "nesting of exactly JSON_MAX_DEPTH accepted");
    json_free(v);
    memset(deep, '[', JSON_MAX_DEPTH + 1);
    memset(deep + JSON_MAX_DEPTH + 1, ']', JSON_MAX_DEPTH + 1);
    deep[2 * (JSON_MAX_DEPTH + 1)] = '\0';
    fails(deep, "nesting too deep", JSON_MAX_DEPTH, "arrays one level too deep");

    buf_t b;
    buf_init(&b);
    size_t last = 0;
    for (int i = 0; i <= JSON_MAX_DEPTH; i++) {
        last = b.len;
        buf_puts(&b, i % 2 ? "[" : "{\"k\":");
    }
    fails(b.base, "nesting too deep", last, "mixed objects/arrays too deep (truncated after)");
    buf_dispose(&b);
    buf_init(&b);
    for (int i = 0; i < 100000; i++)
        buf_putc(&b, '[');
    fails(b.base, "nesting too deep", JSON_MAX_DEPTH, "100000 brackets do not recurse");
    buf_dispose(&b);
}

static void test_structure_errors(void)
{
    fails("", "unexpected end of input", 0, "empty input");
    fails_n(NULL, 0, "unexpected end of input", 0, "NULL input");
    fails(" \n ", "unexpected end of input", 3, "only whitespace");
    fails("[1,", "unexpected end of input", 3, "truncated after comma");
    fails("[1", "unexpected end of input", 2, "truncated array");
    fails("[", "unexpected end of input", 1, "lone bracket");
    fails("{", "unexpected end of input", 1, "lone brace");
    fails("{\"a\"", "unexpected end of input", 4, "truncated after key");
    fails("{\"a\":", "unexpected end of input", 5, "truncated after colon");
    fails("{\"a\":1", "unexpected end of input", 6, "truncated object");
    fails("{\"a\":1,", "unexpected end of input", 7, "truncated after member comma");
    fails("tru", "unexpected end of input", 3, "truncated true");
    fails("nul", "unexpected end of input", 3, "truncated null");
    fails("trux", "invalid literal", 0, "bad literal");
    fails("fals", "unexpected end of input", 4, "truncated false");
    fails("falsy", "invalid literal", 0, "falsy");
    fails("True", "unexpected character", 0, "capitalised literal");
    fails("[1 2]", "expected ',' or ']'", 3, "missing comma in array");
    fails("{\"a\" 1}", "expected ':'", 5, "missing colon");
    fails("{\"a\":1 \"b\":2}", "expected ',' or '}'", 7, "missing comma in object");
    fails("{1:2}", "expected string key", 1, "number as key");
    fails("{'a':2}", "expected string key", 1, "single-quoted key");
    fails("{\"a\":1,}", "expected string key", 7, "trailing comma in object");
    fails("[1,]", "unexpected character", 3, "trailing comma in array");
    fails("[,1]", "unexpected character", 1, "leading comma");
    fails("[1}", "expected ',' or ']'", 2, "mismatched close");
    fails("'a'", "unexpected character", 0, "single quotes");
    fails("NaN", "unexpected character", 0, "NaN");
    fails("Infinity", "unexpected character", 0, "Infinity");
    fails("/*c*/1", "unexpected character", 0, "comment");
    fails("\xEF\xBB\xBF{}", "unexpected character", 0, "byte order mark");
    fails("\xC3\xA9", "unexpected character", 0, "UTF-8 outside a string");
    fails("\f1", "unexpected character", 0, "form feed is not whitespace");
    fails("1 2", "trailing characters after value", 2, "two values");
    fails("[] []", "trailing characters after value", 3, "two arrays");
    fails("{}x", "trailing characters after value", 2, "garbage after object");
    fails_n("1\0", 2, "trailing characters after value", 1, "NUL after value");
    fails("{\"a\":1,\"a\":2}", "duplicate key in object", 7, "duplicate key");
    fails("{\"a\":1,\"\\u0061\":2}", "duplicate key in object", 7, "duplicate key spelled with an escape");
    fails("{\"k00\":0,\"k01\":0,\"k02\":0,\"k03\":0,\"k04\":0,\"k05\":0,\"k06\":0,\"k07\":0,\"k08\":0,\"k09\":0,"
          "\"k10\":0,\"k11\":0,\"k12\":0,\"k13\":0,\"k14\":0,\"k15\":0,\"k16\":0,\"k03\":0,\"k01\":0}",
          "duplicate key in object", 137, "duplicate key in a large object (earliest repeat)");
    const char *err = "x";
    size_t pos = 9;
    json_value_t *v = json_parse("[1]", 3, &err, &pos);
    ok(v != NULL && err == NULL && pos == 0, "success clears err and err_pos");
    json_free(v);
    ok(json_parse("[", 1, NULL, NULL) == NULL, "err and err_pos may be NULL");
}

static void test_number_errors(void)
{
    fails("01", "invalid number: leading zero", 0, "01");
    fails("-01", "invalid number: leading zero", 1, "-01");
    fails("[00]", "invalid number: leading zero", 1, "00 in array");
    fails("1.", "invalid number: digit expected after '.'", 2, "1.");
    fails("1.e5", "invalid number: digit expected after '.'", 2, "1.e5");
    fails("-", "invalid number: digit expected", 1, "lone minus");
    fails("-a", "invalid number: digit expected", 1, "minus letter");
    fails("--1", "invalid number: digit expected", 1, "double minus");
    fails("1e", "invalid number: digit expected in exponent", 2, "1e");
    fails("1e+", "invalid number: digit expected in exponent", 3, "1e+");
    fails("1E-x", "invalid number: digit expected in exponent", 3, "1E-x");
    fails("+1", "unexpected character", 0, "leading plus");
    fails(".5", "unexpected character", 0, "leading dot");
    fails("0x10", "trailing characters after value", 1, "hex");
    fails("1x", "trailing characters after value", 1, "letter after number");
}

static void test_string_errors(void)
{
    fails("\"abc", "unterminated string", 0, "unterminated string");
    fails("[\"a\\", "unterminated string", 1, "backslash at end of input");
    fails("\"\\x\"", "invalid escape in string", 1, "\\x escape");
    fails("\"\\'\"", "invalid escape in string", 1, "\\' escape");
    fails("\"ab\\U0041\"", "invalid escape in string", 3, "\\U escape");
    fails("\"\\u12\"", "invalid \\u escape", 1, "short \\u escape");
    fails("\"\\u12G4\"", "invalid \\u escape", 1, "non-hex \\u escape");
    fails("\"\\u12", "invalid \\u escape", 1, "truncated \\u escape");
    fails("\"\\uD800\"", "unpaired surrogate in \\u escape", 1, "lone high surrogate");
    fails("\"a\\uDC00\"", "unpaired surrogate in \\u escape", 2, "lone low surrogate");
    fails("\"\\uD800\\u0041\"", "unpaired surrogate in \\u escape", 1, "high surrogate then non-surrogate");
    fails("\"\\uD800\\uD800\"", "unpaired surrogate in \\u escape", 1, "two high surrogates");
    fails("\"\\uD83Dx\"", "unpaired surrogate in \\u escape", 1, "high surrogate then text");
    fails("\"\\uDE00\\uD83D\"", "unpaired surrogate in \\u escape", 1, "swapped surrogates");
    fails("\"\\u0000\"", "\\u0000 is not allowed in strings", 1, "escaped NUL");
    fails("{\"a\\u0000b\":1}", "\\u0000 is not allowed in strings", 3, "escaped NUL in a key");
    fails_n("\"a\0b\"", 5, "NUL byte in string", 2, "raw NUL");
    fails("\"a\nb\"", "unescaped control character in string", 2, "raw newline");
    fails("\"\x1f\"", "unescaped control character in string", 1, "raw 0x1f");
    fails("\"\t\"", "unescaped control character in string", 1, "raw tab");
}

static void test_utf8_errors(void)
{
    static const struct {
        const char *s;
        size_t pos;
        const char *name;
    } bad[] = {
        {"\"\x80\"", 1, "lone continuation byte"},
        {"\"a\xBF\"", 2, "continuation byte after ASCII"},
        {"\"\xC0\xAF\"", 1, "overlong 2-byte (C0)"},
        {"\"\xC1\xBF\"", 1, "overlong 2-byte (C1)"},
        {"\"\xE0\x80\xAF\"", 1, "overlong 3-byte"},
        {"\"\xF0\x80\x80\xAF\"", 1, "overlong 4-byte"},
        {"\"\xED\xA0\x80\"", 1, "encoded surrogate"},
        {"\"\xF4\x90\x80\x80\"", 1, "above U+10FFFF"},
        {"\"\xF5\x80\x80\x80\"", 1, "F5 lead byte"},
        {"\"\xFF\"", 1, "FF byte"},
        {"\"\xC3\"", 1, "truncated 2-byte before quote"},
        {"\"\xE2\x82\"", 1, "truncated 3-byte before quote"},
        {"\"\xF0\x9F\x98\"", 1, "truncated 4-byte before quote"},
        {"\"\xC3", 1, "truncated 2-byte at end of input"},
        {"\"ok\xE2\x82\x41\"", 3, "bad third byte"},
    };
    for (size_t i = 0; i < IRTC_ARRAY_SIZE(bad); i++)
        fails(bad[i].s, "invalid UTF-8 in string", bad[i].pos, bad[i].name);
    json_value_t *v = parse("\"\xED\x9F\xBF\xEE\x80\x80\xF4\x8F\xBF\xBF\xF0\x90\x80\x80\"");
    ok(v != NULL, "UTF-8 boundary code points accepted (U+D7FF U+E000 U+10FFFF U+10000)");
    json_free(v);
}

static void test_writer(void)
{
    buf_t b;
    buf_init(&b);
    json_write_string(&b, "a\"b\\c/\n\r\t\b\f\x01\x1f\x7f");
    is_str(b.base, "\"a\\\"b\\\\c/\\n\\r\\t\\b\\f\\u0001\\u001f\x7f\"", "escapes");
    buf_reset(&b);
    json_write_string(&b, "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80");
    is_str(b.base, "\"caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80\"", "valid UTF-8 passes through");
    buf_reset(&b);
    json_write_string(&b, "a\xFF"
                          "b\xC3");
    is_str(b.base,
           "\"a\xEF\xBF\xBD"
           "b\xEF\xBF\xBD\"",
           "invalid UTF-8 replaced by U+FFFD");
    buf_reset(&b);
    json_write_string(&b, "\xED\xA0\x80");
    is_str(b.base, "\"\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\"", "encoded surrogate replaced byte by byte");
    buf_reset(&b);
    json_write_string_n(&b, "a\0b", 3);
    is_str(b.base, "\"a\\u0000b\"", "json_write_string_n escapes NUL");
    buf_reset(&b);
    json_write_string(&b, "");
    is_str(b.base, "\"\"", "empty string");
    buf_reset(&b);
    buf_puts(&b, "[");
    json_write_string(&b, "x");
    is_str(b.base, "[\"x\"", "writer appends");
    buf_reset(&b);
    json_write_value(&b, NULL);
    is_str(b.base, "null", "json_write_value(NULL) writes null");
    buf_dispose(&b);

    writes_as(" { \"b\" : [ 1 , 2.50 , -0 , 1E+2 , 202212311431169569 ] ,\n \"a\" : null , \"t\":true,\"f\":false, "
              "\"s\" : \"\\u00e9\\n\\/\\uD83D\\uDE00\" , \"o\":{ } , \"e\":[ ] } ",
              "{\"b\":[1,2.50,-0,1E+2,202212311431169569],\"a\":null,\"t\":true,\"f\":false,"
              "\"s\":\"\xC3\xA9\\n/\xF0\x9F\x98\x80\",\"o\":{},\"e\":[]}",
              "compact output keeps order and literals");
    writes_as("\"\\u0001\\u001F\"", "\"\\u0001\\u001f\"", "control escapes normalised");
    writes_as("{\"\\n\\\"k\":1}", "{\"\\n\\\"k\":1}", "keys escaped");
}

static void test_round_trip(void)
{
    static const char *docs[] = {
        ("{\"code\":0,\"data\":{\"roomId\":\"r-1\",\"uid\":202212311431169569,\"list\":[1,-2.5e-3,true,null]},"
         "\"msg\":\"\xE4\xB8\xAD\xE6\x96\x87 \\\"q\\\" \\\\\"}"),
        "[[[[[]]]],{},\"\\t\\u0002\"]",
        "99999999999999999999",
    };
    for (size_t i = 0; i < IRTC_ARRAY_SIZE(docs); i++) {
        json_value_t *v = parse(docs[i]);
        buf_t one, two;
        buf_init(&one);
        buf_init(&two);
        json_write_value(&one, v);
        json_value_t *w = parse(one.base ? one.base : "");
        ok(w != NULL, "round trip %zu: output parses", i);
        json_write_value(&two, w);
        is_str(two.base, one.base, "round trip %zu: output stable", i);
        if (i == 0)
            is_str(one.base, docs[i], "round trip 0: compact input written back byte for byte");
        buf_dispose(&one);
        buf_dispose(&two);
        json_free(v);
        json_free(w);
    }
}

static void test_large(void)
{
    /* Enough values to need several arena chunks and scratch growth. */
    buf_t b;
    buf_init(&b);
    buf_putc(&b, '{');
    for (int i = 0; i < 5000; i++)
        buf_printf(&b, "%s\"key%d\":[%d,\"v%d\",{\"n\":%d}]", i ? "," : "", i, i, i, i);
    buf_putc(&b, '}');
    json_value_t *v = parse(b.base);
    is_int(json_size(v), 5000, "5000 members");
    is_str(json_key_at(v, 4321), "key4321", "member order in a large object");
    int64_t n = 0;
    ok(json_int64(json_get(json_at(json_get(v, "key4999"), 2), "n"), &n) == IRTC_OK && n == 4999, "deep lookup");
    buf_t out;
    buf_init(&out);
    json_write_value(&out, v);
    is_str(out.base, b.base, "large document written back identically");
    buf_dispose(&out);
    json_free(v);
    buf_dispose(&b);
}

int main(void)
{
    test_scalars();
    test_containers();
    test_numbers();
    test_strings();
    test_depth();
    test_structure_errors();
    test_number_errors();
    test_string_errors();
    test_utf8_errors();
    test_writer();
    test_round_trip();
    test_large();
    return done_testing();
}
