/*
 * fuzz_api_fields.c — libFuzzer target for http/api_fields: every REST body
 * a back end can send (JSON, or form-urlencoded for rest_token), its
 * Content-Type and its Authorization header.  The fields every handler reads
 * are read from whatever parsed, the way the handlers read them (one af_t,
 * first failure kept), under short key names so random bodies hit them; what
 * a getter accepts must obey its rule in api_fields.h.  Single-threaded; a
 * failed check aborts.
 */
#include "http/api_fields.h"
#include "core/common.h"
#include "fuzz/fuzz.h"

#include <string.h>
#include <strings.h>

static bool id_ok(const char *s)
{
    size_t n = strlen(s);
    if (n < 1 || n > AF_ID_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') ||
              s[i] == '_' || s[i] == '-'))
            return false;
    return true;
}

static bool printable(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            return false;
    return true;
}

static void read_fields(const json_value_t *obj)
{
    static const char *const choices[] = {"NAS", "ISDP", NULL};
    af_t f;
    af_id_t id;
    af_id_t *ids = NULL;
    size_t n_ids = 0;
    int64_t rule = 0;
    char digits[24];
    int iv = -1, sw = -1;
    bool b;
    const char *s;
    /* Each getter on its own af_t, so a failure in one does not hide the next. */
    af_init(&f, obj);
    if (af_id(&f, "a|channelId", AF_REQUIRED, id))
        CHECK(id_ok(id) && !f.failed);
    else
        CHECK(f.failed && f.err[0] != '\0');
    af_init(&f, obj);
    if (af_id(&f, "b", AF_ALLOW_EMPTY, id))
        CHECK(id[0] == '\0' || id_ok(id));
    af_init(&f, obj);
    if (af_id_array(&f, "c|channelIds", AF_REQUIRED, 20, &ids, &n_ids)) {
        CHECK(n_ids >= 1 && n_ids <= 20);
        for (size_t i = 0; i < n_ids; i++)
            CHECK(id_ok(ids[i]));
    }
    free(ids);
    af_init(&f, obj);
    if (af_int64_id(&f, "d|ruleId", AF_REQUIRED, &rule))
        CHECK(rule > 0);
    af_init(&f, obj);
    if (af_digits(&f, "e", AF_OPTIONAL, digits, sizeof(digits)))
        CHECK(strlen(digits) >= 1 && strlen(digits) < sizeof(digits) && strspn(digits, "0123456789") == strlen(digits));
    af_init(&f, obj);
    if (af_int(&f, "f|pageSize", AF_OPTIONAL, 1, 100, &iv))
        CHECK(iv >= 1 && iv <= 100);
    af_init(&f, obj);
    if (af_switch(&f, "g", AF_OPTIONAL, &sw))
        CHECK(sw == 0 || sw == 1);
    af_init(&f, obj);
    af_bool(&f, "h", AF_OPTIONAL, &b);
    af_init(&f, obj);
    if (af_text(&f, "i|extraData", AF_OPTIONAL, AF_EXTRA_DATA_MAX, &s))
        CHECK(strlen(s) <= AF_EXTRA_DATA_MAX);
    af_init(&f, obj);
    if (af_choice(&f, "j", AF_REQUIRED, choices, &s))
        CHECK(strcmp(s, "NAS") == 0 || strcmp(s, "ISDP") == 0);
    af_init(&f, obj);
    if (af_url(&f, "k|callbackUrl", AF_REQUIRED, &s))
        /* A scheme is case-insensitive (RFC 3986 §3.1); so is the callback sender. */
        CHECK(strlen(s) <= AF_URL_MAX && (strncasecmp(s, "http://", 7) == 0 || strncasecmp(s, "https://", 8) == 0) &&
              printable(s) && strchr(s, ' ') == NULL);
    af_init(&f, obj);
    if (af_path(&f, "l|recordPath", AF_OPTIONAL, &s))
        CHECK(strlen(s) <= AF_PATH_MAX && printable(s) && strchr(s, '\\') == NULL);
    af_init(&f, obj);
    if (af_file_name(&f, "m|fileName", AF_REQUIRED, &s))
        CHECK(strlen(s) >= 1 && strlen(s) <= AF_FILE_NAME_MAX && s[0] != '.' && strchr(s, '/') == NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[256];
    char *body = fuzz_dup(data, size, false);
    json_value_t *obj = af_parse_object(body, size, err, sizeof(err));
    if (obj != NULL) {
        CHECK(json_type(obj) == JSON_OBJECT);
        read_fields(obj);
        json_free(obj);
    } else {
        CHECK(err[0] != '\0');
    }
    /* The same bytes as a form body: what decodes and parses (duplicate keys and
     * NULs do not) is an object of strings. */
    buf_t out;
    buf_init(&out);
    const char *why = NULL;
    if (af_form_to_json(body, size, &out, &why) == IRTC_OK) {
        json_value_t *o = af_parse_object(out.base, out.len, err, sizeof(err));
        if (o != NULL) {
            for (size_t i = 0; i < json_size(o); i++)
                CHECK(json_type(json_value_at(o, i)) == JSON_STRING);
            read_fields(o);
        }
        json_free(o);
    } else {
        CHECK(why != NULL);
    }
    buf_dispose(&out);
    /* And as header values. */
    const char *tok = NULL;
    size_t tlen = 0;
    if (af_bearer(body, size, &tok, &tlen))
        CHECK(tlen > 0 && tok >= body && tok + tlen <= body + size && tok[0] != ' ' && tok[0] != '\t' &&
              tok[tlen - 1] != ' ' && tok[tlen - 1] != '\t');
    af_content_type_is(body, size, "application/json");
    free(body);
    return 0;
}
