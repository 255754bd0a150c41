/*
 * test_api_fields.c — the REST API's pure request checks: every field getter
 * (types, lengths, charsets, aliases, null, big-number ids), the first-failure
 * rule, JSON bodies, form-urlencoded decoding, Content-Type and bearer parsing.
 */
#include <stdlib.h>
#include <string.h>

#include "core/common.h"
#include "http/api_fields.h"
#include "unit/tap.h"

static json_value_t *doc(const char *text)
{
    json_value_t *v = json_parse(text, strlen(text), NULL, NULL);
    if (v == NULL)
        printf("# bad test JSON: %s\n", text);
    return v;
}

/* Parses {"k": <value_json>} into *d and points f at it. */
static bool with_field(const char *value_json, af_t *f, json_value_t **d)
{
    char text[4096];
    snprintf(text, sizeof(text), "{\"k\":%s}", value_json);
    *d = doc(text);
    af_init(f, *d);
    return *d != NULL;
}

static bool id_ok(const char *value_json, char *out)
{
    af_t f;
    json_value_t *d;
    af_id_t id = "";
    bool r = with_field(value_json, &f, &d) && af_id(&f, "k", AF_REQUIRED, id);
    strcpy(out, r ? id : f.err);
    json_free(d);
    return r;
}

static void test_ids(void)
{
    char out[300];
    ok(id_ok("\"room_1-A\"", out) && strcmp(out, "room_1-A") == 0, "id: a string of the SDK charset");
    ok(id_ok("202212311431169569", out) && strcmp(out, "202212311431169569") == 0,
       "id: a number above 2^53 keeps its literal digits");
    ok(id_ok("\"1234567890123456789012345678901234567890123456789012345678901234\"", out), "id: 64 chars");
    ok(!id_ok("\"12345678901234567890123456789012345678901234567890123456789012345\"", out), "id: 65 chars refused");
    is_str(out, "k must be 1-64 characters of [A-Za-z0-9_-]", "id: the message names the field and the rule");
    ok(!id_ok("\"\"", out), "id: empty refused");
    ok(!id_ok("\"a b\"", out), "id: space refused");
    ok(!id_ok("\"caf\xc3\xa9\"", out), "id: non-ASCII refused");
    ok(!id_ok("\"a/b\"", out), "id: slash refused");
    ok(!id_ok("-5", out), "id: negative number refused");
    ok(!id_ok("1.5", out), "id: fraction refused");
    ok(!id_ok("1e5", out), "id: exponent refused");
    ok(!id_ok("true", out), "id: boolean refused");
    ok(!id_ok("[\"a\"]", out), "id: array refused");
    ok(!id_ok("{}", out), "id: object refused");
}

static void test_presence_and_aliases(void)
{
    json_value_t *d = doc("{\"a\":null,\"callBackUrl\":\"http://h/x\",\"other\":1}");
    af_t f;
    af_id_t id;
    const char *url = NULL;
    af_init(&f, d);
    ok(!af_id(&f, "missing", AF_OPTIONAL, id) && !f.failed, "optional absent: false, no failure");
    ok(!af_id(&f, "a", AF_OPTIONAL, id) && !f.failed, "optional null counts as absent");
    ok(af_url(&f, "callbackUrl|callBackUrl", AF_REQUIRED, &url) && strcmp(url, "http://h/x") == 0,
       "alias found when the first name is absent");
    ok(!af_id(&f, "a", AF_REQUIRED, id) && f.failed, "required null: failure");
    is_str(f.err, "a is required", "message names the missing field");
    ok(!af_id(&f, "other", AF_REQUIRED, id), "after a failure every getter does nothing");
    is_str(f.err, "a is required", "and the first failure is kept");
    json_free(d);

    d = doc("{}");
    af_init(&f, d);
    ok(!af_url(&f, "callbackUrl|callBackUrl", AF_REQUIRED, &url), "no alias present");
    is_str(f.err, "callbackUrl is required", "message uses the first name");
    json_free(d);
}

static void test_id_array(void)
{
    json_value_t *d = doc("{\"c\":[\"a\",123456789012345678901234],\"e\":[],\"bad\":[\"ok\",\"no way\"],\"s\":\"x\"}");
    af_t f;
    af_id_t *ids = NULL;
    size_t n = 0;
    af_init(&f, d);
    ok(af_id_array(&f, "c", AF_REQUIRED, 10, &ids, &n) && n == 2, "array of a string and a number");
    ok(ids && strcmp(ids[1], "123456789012345678901234") == 0, "the number's digits are kept exactly");
    free(ids);
    ok(!af_id_array(&f, "c", AF_REQUIRED, 1, &ids, &n) && ids == NULL, "more than max refused");
    is_str(f.err, "c must be an array of 1-1 ids", "message says how many");
    af_init(&f, d);
    ok(!af_id_array(&f, "e", AF_REQUIRED, 10, &ids, &n), "empty array refused");
    af_init(&f, d);
    ok(!af_id_array(&f, "bad", AF_REQUIRED, 10, &ids, &n), "a bad element refused");
    is_str(f.err, "bad[1] must be 1-64 characters of [A-Za-z0-9_-]", "message names the element");
    af_init(&f, d);
    ok(!af_id_array(&f, "s", AF_REQUIRED, 10, &ids, &n), "a string is not an array");
    json_free(d);
}

static bool i64_ok(const char *value_json, int64_t *out)
{
    af_t f;
    json_value_t *d;
    bool r = with_field(value_json, &f, &d) && af_int64_id(&f, "k", AF_REQUIRED, out);
    json_free(d);
    return r;
}

static void test_int64_ids(void)
{
    int64_t v = 0;
    ok(i64_ok("202212311431169569", &v) && v == 202212311431169569LL, "rule id as a number above 2^53, exact");
    ok(i64_ok("\"202212311431169569\"", &v) && v == 202212311431169569LL, "rule id as a string");
    ok(i64_ok("9223372036854775807", &v) && v == INT64_MAX, "2^63-1 accepted");
    ok(!i64_ok("9223372036854775808", &v), "2^63 refused");
    ok(!i64_ok("0", &v), "0 refused");
    ok(!i64_ok("-1", &v), "negative refused");
    ok(!i64_ok("\"12a\"", &v), "letters refused");
    ok(!i64_ok("\"\"", &v), "empty refused");
    ok(!i64_ok("1.0", &v), "1.0 refused");
}

static void test_digits(void)
{
    json_value_t *d = doc("{\"n\":202212311431169569,\"s\":\"42\",\"e\":\"\",\"x\":\"4a\",\"l\":12345678901234567890}");
    af_t f;
    char out[8];
    char big[32];
    af_init(&f, d);
    ok(af_digits(&f, "n", AF_REQUIRED, big, sizeof(big)) && strcmp(big, "202212311431169569") == 0,
       "digits from a big number, exact");
    ok(af_digits(&f, "s", AF_REQUIRED, out, sizeof(out)) && strcmp(out, "42") == 0, "digits from a string");
    ok(af_digits(&f, "e", AF_ALLOW_EMPTY, out, sizeof(out)) && out[0] == '\0', "empty allowed when asked");
    ok(!af_digits(&f, "e", AF_OPTIONAL, out, sizeof(out)), "empty refused otherwise");
    af_init(&f, d);
    ok(!af_digits(&f, "x", AF_OPTIONAL, out, sizeof(out)), "non-digits refused");
    af_init(&f, d);
    ok(!af_digits(&f, "l", AF_OPTIONAL, out, sizeof(out)), "too many digits for the buffer refused");
    is_str(f.err, "l must be 1-7 decimal digits (as a number or a string)", "message gives the length");
    json_free(d);
}

static void test_ints_bools(void)
{
    json_value_t *d = doc("{\"n\":1,\"s\":\"0\",\"neg\":\"-3\",\"big\":5,\"f\":1.5,\"b\":true,\"str\":\"yes\","
                          "\"t\":\"true\",\"z\":0}");
    af_t f;
    int v = -1;
    bool b = false;
    af_init(&f, d);
    ok(af_int(&f, "n", AF_REQUIRED, 0, 1, &v) && v == 1, "int from a number");
    ok(af_int(&f, "s", AF_REQUIRED, 0, 1, &v) && v == 0, "int from a string (the guide types it both ways)");
    ok(af_int(&f, "neg", AF_REQUIRED, -5, 5, &v) && v == -3, "negative int from a string");
    ok(!af_int(&f, "big", AF_REQUIRED, 0, 1, &v), "out of range refused");
    is_str(f.err, "big must be an integer from 0 to 1", "message gives the range");
    af_init(&f, d);
    ok(!af_int(&f, "f", AF_REQUIRED, 0, 9, &v), "fraction refused");
    af_init(&f, d);
    ok(!af_int(&f, "b", AF_REQUIRED, 0, 9, &v), "boolean is not an int");
    af_init(&f, d);
    ok(af_switch(&f, "b", AF_REQUIRED, &v) && v == 1, "switch from true");
    ok(af_switch(&f, "z", AF_REQUIRED, &v) && v == 0, "switch from 0");
    ok(af_switch(&f, "s", AF_REQUIRED, &v) && v == 0, "switch from \"0\"");
    ok(!af_switch(&f, "big", AF_REQUIRED, &v), "switch refuses 5");
    af_init(&f, d);
    ok(af_bool(&f, "b", AF_REQUIRED, &b) && b, "bool from true");
    ok(!af_bool(&f, "t", AF_REQUIRED, &b), "bool refuses the string \"true\"");
    is_str(f.err, "t must be true or false", "message");
    af_init(&f, d);
    ok(!af_bool(&f, "n", AF_REQUIRED, &b), "bool refuses 1");
    json_free(d);
}

static void test_text_choice(void)
{
    char text[2100];
    static const char *const types[] = {"NAS", "ISDP", NULL};
    const char *s = NULL;
    af_t f;
    memset(text, 0, sizeof(text));
    strcpy(text, "{\"ok\":\"");
    memset(text + strlen(text), 'x', 1000);
    strcat(text, "\",\"long\":\"");
    memset(text + strlen(text), 'y', 1001);
    strcat(text, "\",\"utf\":\"\xe4\xb8\xad\",\"n\":5,\"t\":\"NAS\",\"lower\":\"nas\"}");
    json_value_t *d = doc(text);
    af_init(&f, d);
    ok(af_text(&f, "ok", AF_REQUIRED, 1000, &s) && strlen(s) == 1000, "1000 bytes accepted");
    ok(af_text(&f, "utf", AF_REQUIRED, 3, &s), "length is in bytes: one CJK character is 3");
    ok(!af_text(&f, "long", AF_REQUIRED, 1000, &s), "1001 bytes refused");
    is_str(f.err, "long must be at most 1000 bytes", "message");
    af_init(&f, d);
    ok(!af_text(&f, "n", AF_REQUIRED, 10, &s), "a number is not a string");
    is_str(f.err, "n must be a string", "message");
    af_init(&f, d);
    ok(af_choice(&f, "t", AF_REQUIRED, types, &s) && strcmp(s, "NAS") == 0, "choice");
    ok(!af_choice(&f, "lower", AF_REQUIRED, types, &s), "choice is case-sensitive");
    is_str(f.err, "lower must be \"NAS\" or \"ISDP\"", "message lists the choices");
    json_free(d);
}

static bool url_ok(const char *url_json)
{
    af_t f;
    json_value_t *d;
    const char *s = NULL;
    bool r = with_field(url_json, &f, &d) && af_url(&f, "k", AF_REQUIRED, &s);
    json_free(d);
    return r;
}

static void test_urls(void)
{
    ok(url_ok("\"https://example.com/cb\""), "https URL");
    ok(url_ok("\"http://localhost:8900/receive/recipeVideo\""), "http URL with a port (the guide's example)");
    ok(url_ok("\"HTTPS://h\""), "scheme is case-insensitive");
    ok(url_ok("\"http://[::1]:80/x?y=1#z\""), "IPv6 literal, query and fragment");
    ok(url_ok("\"http://user:pw@h/x\""), "userinfo");
    ok(!url_ok("\"ftp://example.com/\""), "ftp refused");
    ok(!url_ok("\"example.com/cb\""), "no scheme refused");
    ok(!url_ok("\"http://\""), "no host refused");
    ok(!url_ok("\"http:///path\""), "empty host refused");
    ok(!url_ok("\"http://h:99999/\""), "port out of range refused");
    ok(!url_ok("\"http://h:/\""), "empty port refused");
    ok(!url_ok("\"http://h:8a/\""), "non-numeric port refused");
    ok(!url_ok("\"http://h/a b\""), "space refused");
    ok(!url_ok("\" http://h/\""), "leading space refused");
    ok(!url_ok("\"http://h/\xc3\xa9\""), "raw non-ASCII refused (must be percent-encoded)");
    ok(!url_ok("\"javascript:alert(1)\""), "javascript: refused");
}

static bool path_ok(const char *json, bool file)
{
    af_t f;
    json_value_t *d;
    const char *s = NULL;
    bool r = with_field(json, &f, &d) && (file ? af_file_name(&f, "k", AF_REQUIRED, &s) : af_path(&f, "k", AF_REQUIRED, &s));
    json_free(d);
    return r;
}

static void test_paths(void)
{
    ok(path_ok("\"/saas/application/{app_id}/{date_time}\"", false), "recordPath with variables");
    ok(path_ok("\"/saas/{channel_id}/{file_start_time}/\"", false), "every variable");
    ok(path_ok("\"\"", false), "empty recordPath (the rule's base path)");
    ok(path_ok("\"/a..b/c\"", false), "dots inside a name are fine");
    ok(!path_ok("\"/saas/../etc\"", false), "\"..\" segment refused");
    ok(!path_ok("\"..\"", false), "bare \"..\" refused");
    ok(!path_ok("\"/x/..\"", false), "trailing \"..\" refused");
    ok(!path_ok("\"/x/{App_Id}\"", false), "variables are case-sensitive");
    ok(!path_ok("\"/x/{nope}\"", false), "unknown variable refused");
    ok(!path_ok("\"/x/}\"", false), "stray brace refused");
    ok(!path_ok("\"/x\\\\y\"", false), "backslash refused");
    ok(!path_ok("\"/x\\ty\"", false), "control character refused");
    ok(path_ok("\"AICC_{date_time}_{channel_id}\"", true), "fileName with the guide's variables");
    ok(!path_ok("\"\"", true), "empty fileName refused");
    ok(!path_ok("\"a/b\"", true), "slash in fileName refused");
    ok(!path_ok("\".hidden\"", true), "fileName starting with '.' refused");
    ok(!path_ok("\"..\"", true), "fileName \"..\" refused");
}

static json_value_t *form(const char *body, int *rc)
{
    buf_t b;
    const char *why = NULL;
    char err[200];
    buf_init(&b);
    *rc = af_form_to_json(body, strlen(body), &b, &why);
    json_value_t *v = *rc == IRTC_OK ? af_parse_object(b.base, b.len, err, sizeof(err)) : NULL;
    if (*rc == IRTC_OK && v == NULL)
        *rc = IRTC_EPROTO;
    buf_dispose(&b);
    return v;
}

static void test_form(void)
{
    int rc;
    json_value_t *v = form("client_id=isdp-saas-openapi&grant_type=password&password=a%2Bb%3D%3D+c&empty=&bare", &rc);
    ok(rc == IRTC_OK && v != NULL, "form decodes");
    is_str(json_string(json_get(v, "client_id")), "isdp-saas-openapi", "plain value");
    is_str(json_string(json_get(v, "password")), "a+b== c", "%XX and '+' decoded");
    is_str(json_string(json_get(v, "empty")), "", "empty value");
    is_str(json_string(json_get(v, "bare")), "", "key without '='");
    json_free(v);
    v = form("", &rc);
    ok(rc == IRTC_OK && json_size(v) == 0, "empty body is an empty object");
    json_free(v);
    v = form("a=1&&b=2&", &rc);
    ok(rc == IRTC_OK && json_size(v) == 2, "empty pairs skipped");
    json_free(v);
    v = form("a=%zz", &rc);
    ok(rc == IRTC_EINVAL && v == NULL, "bad escape refused");
    v = form("a=%4", &rc);
    ok(rc == IRTC_EINVAL, "truncated escape refused");
    v = form("a=1&a=2", &rc);
    ok(rc == IRTC_EPROTO && v == NULL, "repeated key refused (as in JSON)");
    v = form("a=%00", &rc);
    ok(rc == IRTC_EPROTO && v == NULL, "NUL byte refused");
    v = form("k%C3%A9=%E4%B8%AD", &rc);
    ok(rc == IRTC_OK && json_get(v, "k\xc3\xa9") != NULL, "UTF-8 escapes decode");
    json_free(v);
}

static void test_bodies_headers(void)
{
    char err[200];
    json_value_t *v = af_parse_object("[1]", 3, err, sizeof(err));
    ok(v == NULL, "an array body is refused");
    is_str(err, "the body must be a JSON object", "message");
    v = af_parse_object("{\"a\":", 5, err, sizeof(err));
    ok(v == NULL && strncmp(err, "malformed JSON at byte 5", 24) == 0, "malformed JSON: position given (%s)", err);
    v = af_parse_object("", 0, err, sizeof(err));
    ok(v == NULL, "empty body refused");
    v = af_parse_object(" {\"a\":1} ", 9, err, sizeof(err));
    ok(v != NULL, "object with whitespace accepted");
    json_free(v);

    const char *ct = "Application/JSON; charset=utf-8";
    ok(af_content_type_is(ct, strlen(ct), "application/json"), "content type with parameters, any case");
    ok(af_content_type_is("application/json", 16, "application/json"), "plain content type");
    ok(!af_content_type_is("application/jsonx", 17, "application/json"), "prefix is not a match");
    ok(!af_content_type_is("text/plain", 10, "application/json"), "other type");
    ok(!af_content_type_is(NULL, 0, "application/json"), "missing header");

    const char *tok = NULL;
    size_t n = 0;
    ok(af_bearer("bearer abc", 10, &tok, &n) && n == 3 && memcmp(tok, "abc", 3) == 0, "bearer token");
    ok(af_bearer("Bearer  abc  ", 13, &tok, &n) && n == 3, "scheme case-insensitive, spaces trimmed");
    ok(af_bearer("BEARER abc", 10, &tok, &n), "upper case");
    ok(!af_bearer("Basic abc", 9, &tok, &n), "another scheme refused");
    ok(!af_bearer("bearer", 6, &tok, &n), "no token refused");
    ok(!af_bearer("bearer   ", 9, &tok, &n), "blank token refused");
    ok(!af_bearer("bearerabc", 9, &tok, &n), "no space after the scheme refused");
}

int main(void)
{
    test_ids();
    test_presence_and_aliases();
    test_id_array();
    test_int64_ids();
    test_digits();
    test_ints_bools();
    test_text_choice();
    test_urls();
    test_paths();
    test_form();
    test_bodies_headers();
    return done_testing();
}
