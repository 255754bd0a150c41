/*
 * json.h — JSON for the REST API and signaling: a small DOM parser and a
 * writer.  Numbers keep their literal text (the contract's ids exceed 2^53),
 * so json_number_text() returns exactly the digits the peer sent.  Strings are
 * unescaped UTF-8 (NUL bytes inside strings are rejected).  Not thread-safe per
 * document; documents are independent.
 */
#ifndef IRTC_JSON_H
#define IRTC_JSON_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#include "core/buf.h"

typedef enum { JSON_NULL, JSON_FALSE, JSON_TRUE, JSON_NUMBER, JSON_STRING, JSON_ARRAY, JSON_OBJECT } json_type_t;

typedef struct json_value json_value_t;

/* Containers nested deeper than this are a parse error. */
#define JSON_MAX_DEPTH 64

/* Parses len bytes as one RFC 8259 value (whitespace around it allowed,
 * nothing else after it).  Returns NULL on error and sets *err to a static
 * message and *err_pos to the byte offset where the problem was found (either
 * pointer may be NULL; on success *err is NULL).  Rejected on top of the
 * grammar: nesting deeper than JSON_MAX_DEPTH, duplicate keys in an object,
 * invalid UTF-8 (overlongs, encoded surrogates, > U+10FFFF), unpaired \u
 * surrogates, \u0000 and raw control bytes in strings, a leading BOM.  Input
 * size is limited by the caller.  The result is freed with json_free. */
json_value_t *json_parse(const char *text, size_t len, const char **err, size_t *err_pos);
/* Frees a whole document; v must be what json_parse returned (or NULL).
 * Every pointer obtained from the document dies with it. */
void json_free(json_value_t *v);

/* Accessors accept NULL (so json_get chains need no checks): json_type(NULL)
 * is JSON_NULL, so compare json_get's result with NULL to tell a missing key
 * from an explicit null. */
json_type_t json_type(const json_value_t *v);
/* Object member by key; NULL when v is not an object or has no such key.
 * Linear in the member count; keys are unique (the parser rejects repeats). */
const json_value_t *json_get(const json_value_t *obj, const char *key);
size_t json_size(const json_value_t *v); /* array length or object member count */
const json_value_t *json_at(const json_value_t *arr, size_t i);
/* i-th member of an object: key and value. */
const char *json_key_at(const json_value_t *obj, size_t i);
const json_value_t *json_value_at(const json_value_t *obj, size_t i);
const char *json_string(const json_value_t *v); /* NULL unless JSON_STRING */
size_t json_string_len(const json_value_t *v);
const char *json_number_text(const json_value_t *v); /* literal digits; NULL unless JSON_NUMBER */
/* Number as int64 when it is an integer literal within range; else IRTC_EINVAL
 * (also for 1.0 and 1e2: ids must be sent as plain digits). */
int json_int64(const json_value_t *v, int64_t *out);
/* Number via strtod (the daemon runs in the C locale); IRTC_EINVAL when not a
 * number or when it overflows to infinity.  Underflow rounds toward 0. */
int json_double(const json_value_t *v, double *out);
bool json_is_bool(const json_value_t *v);
bool json_bool(const json_value_t *v); /* true only for JSON_TRUE */

/* Writer: appends to a buf_t.  The caller inserts commas via the helpers.
 * Strings are quoted; quote, backslash and bytes < 0x20 are escaped (\n \r \t \b \f,
 * else \u00xx); valid UTF-8 passes through unchanged and each byte that is
 * not part of valid UTF-8 becomes U+FFFD, so the output is always valid JSON. */
void json_write_string(buf_t *b, const char *s);             /* quoted, escaped */
void json_write_string_n(buf_t *b, const char *s, size_t n); /* may contain NUL (\u0000) */
/* Writes v back as compact JSON: member order kept, numbers as their literal
 * text; NULL writes null. */
void json_write_value(buf_t *b, const json_value_t *v);

#endif
