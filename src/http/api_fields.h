/*
 * api_fields.h — the pure pieces of checking a REST request: every body field
 * (presence, JSON type, length, charset), the JSON body itself, form-urlencoded
 * bodies, Content-Type and the bearer Authorization header.  No h2o, no store:
 * unit-tested on their own (tests/unit/test_api_fields.c).
 *
 * Field getters share an af_t: the first failure is kept (message naming the
 * field) and every later getter on the same af_t does nothing, so a handler
 * reads all its fields in a row and checks f.failed once.  A key may name
 * aliases, "callbackUrl|callBackUrl" (the guide spells some fields two ways):
 * the first present one is read, and messages use the first name.  An explicit
 * JSON null counts as absent.  Unknown keys are never looked at.
 *
 * Ids may arrive as JSON strings or numbers (the guide's examples do both, and
 * its ids exceed 2^53): a number's literal digits are taken, never a double.
 *
 * Thread-safe: no state.
 */
#ifndef IRTC_HTTP_API_FIELDS_H
#define IRTC_HTTP_API_FIELDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/json.h"

#define AF_ID_MAX 64           /* ids: [A-Za-z0-9_-]{1,64} */
#define AF_URL_MAX 1024        /* callbackUrl */
#define AF_PATH_MAX 512        /* recordPath */
#define AF_FILE_NAME_MAX 128   /* fileName */
#define AF_EXTRA_DATA_MAX 1000 /* extraData, bytes (guide §8.5.1) */

enum {
    AF_OPTIONAL = 0,
    AF_REQUIRED = 1 << 0,
    AF_ALLOW_EMPTY = 1 << 1, /* "" is accepted (out is "") where it would be invalid */
};

typedef struct {
    const json_value_t *obj;
    bool failed;
    char err[256]; /* "<field> <what is wrong>" */
} af_t;

typedef char af_id_t[AF_ID_MAX + 1];

void af_init(af_t *f, const json_value_t *obj);
/* Records a failure by hand (a rule across fields); ignored once failed. */
void af_fail(af_t *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Each getter returns true when the field is present and valid (out filled),
 * false when it is absent (a failure if AF_REQUIRED) or invalid. */

/* [A-Za-z0-9_-]{1,64}: a string, or a number written as plain digits. */
bool af_id(af_t *f, const char *names, unsigned flags, af_id_t out);
/* A non-empty array of at most max ids; *out is malloc'd (free it). */
bool af_id_array(af_t *f, const char *names, unsigned flags, size_t max, af_id_t **out, size_t *count);
/* A positive 64-bit id (rule ids): digits as a number or a string. */
bool af_int64_id(af_t *f, const char *names, unsigned flags, int64_t *out);
/* 1..cap-1 decimal digits (recording ids), as a number or a string. */
bool af_digits(af_t *f, const char *names, unsigned flags, char *out, size_t cap);
/* An integer in min..max: a JSON integer or a string holding one (the guide
 * types recordingType and friends as Integer in one table, String in another). */
bool af_int(af_t *f, const char *names, unsigned flags, int min, int max, int *out);
/* 0 or 1 given as an integer, a string or a boolean (mixingEnabled). */
bool af_switch(af_t *f, const char *names, unsigned flags, int *out);
bool af_bool(af_t *f, const char *names, unsigned flags, bool *out);
/* A string of at most max_bytes bytes; *out points into the document. */
bool af_text(af_t *f, const char *names, unsigned flags, size_t max_bytes, const char **out);
/* A string equal to one of choices (NULL-terminated). */
bool af_choice(af_t *f, const char *names, unsigned flags, const char *const *choices, const char **out);
/* An absolute http:// or https:// URL with a host, printable ASCII, <= AF_URL_MAX. */
bool af_url(af_t *f, const char *names, unsigned flags, const char **out);
/* A storage path (recordPath): <= AF_PATH_MAX bytes, no control bytes, no
 * backslash, no ".." segment, only the known {variables}. */
bool af_path(af_t *f, const char *names, unsigned flags, const char **out);
/* A file name without suffix (fileName): 1..AF_FILE_NAME_MAX bytes, as a path
 * but without '/' and not starting with '.'. */
bool af_file_name(af_t *f, const char *names, unsigned flags, const char **out);

/* The {variables} recordPath and fileName may use. */
extern const char *const af_template_vars[];

/* Parses a request body that must be one JSON object.  NULL on failure with
 * err set ("malformed JSON at byte N: why" or "the body must be a JSON object"). */
json_value_t *af_parse_object(const char *body, size_t len, char *err, size_t cap);

/* Decodes an application/x-www-form-urlencoded body into a JSON object text
 * of string members (percent escapes and '+' decoded), for af_parse_object.
 * IRTC_OK, or IRTC_EINVAL with *why for a bad escape. */
int af_form_to_json(const char *body, size_t len, buf_t *out, const char **why);

/* True when a Content-Type value is mime (case-insensitive), with or
 * without parameters ("application/json; charset=utf-8"). */
bool af_content_type_is(const char *value, size_t len, const char *mime);

/* Splits "bearer <token>" (scheme case-insensitive, spaces around the token
 * tolerated).  False for any other scheme or an empty token. */
bool af_bearer(const char *value, size_t len, const char **token, size_t *token_len);

#endif
