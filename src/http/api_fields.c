/*
 * api_fields.c — field validators, body parsing, form decoding and header
 * parsing for the REST API; see api_fields.h.  Runs on the control thread
 * (pure functions, no state).  Does not choose error codes or HTTP statuses
 * (api.c does) and knows no endpoint: handlers say which fields they need.
 */
#include "http/api_fields.h"
#include "core/common.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

const char *const af_template_vars[] = {"{app_id}", "{date_time}", "{channel_id}", "{file_start_time}", NULL};

void af_init(af_t *f, const json_value_t *obj)
{
    memset(f, 0, sizeof(*f));
    f->obj = obj;
}

void af_fail(af_t *f, const char *fmt, ...)
{
    if (f->failed)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(f->err, sizeof(f->err), fmt, ap);
    va_end(ap);
    f->failed = true;
}

/* ---- lookup ---- */

typedef struct {
    char name[64];         /* the first (canonical) name, for messages */
    const json_value_t *v; /* NULL when absent or null */
} af_field_t;

/* Finds the first present alias of names; false (and nothing to do) when the
 * af_t already failed, or the field is absent (a failure if required). */
static bool af_find(af_t *f, const char *names, unsigned flags, af_field_t *out)
{
    const char *bar = strchr(names, '|');
    size_t n = bar ? (size_t)(bar - names) : strlen(names);
    snprintf(out->name, sizeof(out->name), "%.*s", (int)n, names);
    out->v = NULL;
    if (f->failed)
        return false;
    for (const char *p = names; p != NULL && out->v == NULL;) {
        const char *end = strchr(p, '|');
        char key[64];
        size_t kl = end ? (size_t)(end - p) : strlen(p);
        snprintf(key, sizeof(key), "%.*s", (int)kl, p);
        const json_value_t *v = json_get(f->obj, key);
        if (v != NULL && json_type(v) != JSON_NULL)
            out->v = v;
        p = end ? end + 1 : NULL;
    }
    if (out->v == NULL && (flags & AF_REQUIRED))
        af_fail(f, "%s is required", out->name);
    return out->v != NULL;
}

/* The text of a string, or of a number written as plain digits; NULL else. */
static const char *af_scalar_digits_or_string(const json_value_t *v)
{
    if (json_type(v) == JSON_STRING)
        return json_string(v);
    if (json_type(v) == JSON_NUMBER) {
        const char *t = json_number_text(v);
        return strspn(t, "0123456789") == strlen(t) ? t : NULL;
    }
    return NULL;
}

static bool is_id_char(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
}

static bool all_digits(const char *s)
{
    return s[0] != '\0' && strspn(s, "0123456789") == strlen(s);
}

/* ---- ids ---- */

static bool af_id_value(af_t *f, const char *name, const json_value_t *v, unsigned flags, af_id_t out)
{
    const char *s = af_scalar_digits_or_string(v);
    size_t n = s ? strlen(s) : 0;
    bool ok = s != NULL && n <= AF_ID_MAX && (n > 0 || (flags & AF_ALLOW_EMPTY));
    for (size_t i = 0; ok && i < n; i++)
        ok = is_id_char((unsigned char)s[i]);
    if (!ok) {
        af_fail(f, "%s must be 1-%d characters of [A-Za-z0-9_-]", name, AF_ID_MAX);
        return false;
    }
    memcpy(out, s, n + 1);
    return true;
}

bool af_id(af_t *f, const char *names, unsigned flags, af_id_t out)
{
    af_field_t fd;
    return af_find(f, names, flags, &fd) && af_id_value(f, fd.name, fd.v, flags, out);
}

bool af_id_array(af_t *f, const char *names, unsigned flags, size_t max, af_id_t **out, size_t *count)
{
    af_field_t fd;
    *out = NULL;
    *count = 0;
    if (!af_find(f, names, flags, &fd))
        return false;
    size_t n = json_size(fd.v);
    if (json_type(fd.v) != JSON_ARRAY || n == 0 || n > max) {
        af_fail(f, "%s must be an array of 1-%zu ids", fd.name, max);
        return false;
    }
    af_id_t *ids = xcalloc(n, sizeof(*ids));
    char name[96];
    for (size_t i = 0; i < n; i++) {
        snprintf(name, sizeof(name), "%s[%zu]", fd.name, i);
        if (!af_id_value(f, name, json_at(fd.v, i), 0, ids[i])) {
            free(ids);
            return false;
        }
    }
    *out = ids;
    *count = n;
    return true;
}

bool af_int64_id(af_t *f, const char *names, unsigned flags, int64_t *out)
{
    af_field_t fd;
    if (!af_find(f, names, flags, &fd))
        return false;
    const char *s = af_scalar_digits_or_string(fd.v);
    int64_t v = 0;
    bool ok = s != NULL && all_digits(s) && strlen(s) <= 19;
    for (const char *p = s; ok && *p; p++) {
        int d = *p - '0';
        ok = v <= (INT64_MAX - d) / 10;
        v = ok ? v * 10 + d : v;
    }
    if (!ok || v <= 0) {
        af_fail(f, "%s must be a positive integer id below 2^63 (digits, as a number or a string)", fd.name);
        return false;
    }
    *out = v;
    return true;
}

bool af_digits(af_t *f, const char *names, unsigned flags, char *out, size_t cap)
{
    af_field_t fd;
    if (!af_find(f, names, flags, &fd))
        return false;
    const char *s = af_scalar_digits_or_string(fd.v);
    size_t n = s ? strlen(s) : 0;
    bool ok = s != NULL && n < cap && (all_digits(s) || (n == 0 && (flags & AF_ALLOW_EMPTY)));
    if (!ok) {
        af_fail(f, "%s must be 1-%zu decimal digits (as a number or a string)", fd.name, cap - 1);
        return false;
    }
    memcpy(out, s, n + 1);
    return true;
}

/* ---- numbers and booleans ---- */

/* Integer value of a JSON integer or of a string holding one. */
static bool af_int_of(const json_value_t *v, int64_t *out)
{
    if (json_type(v) == JSON_NUMBER)
        return json_int64(v, out) == IRTC_OK;
    if (json_type(v) != JSON_STRING)
        return false;
    const char *s = json_string(v);
    const char *digits = s + (s[0] == '-');
    if (!all_digits(digits) || strlen(digits) > 18)
        return false;
    *out = strtoll(s, NULL, 10);
    return true;
}

bool af_int(af_t *f, const char *names, unsigned flags, int min, int max, int *out)
{
    af_field_t fd;
    int64_t v = 0;
    if (!af_find(f, names, flags, &fd))
        return false;
    if (!af_int_of(fd.v, &v) || v < min || v > max) {
        af_fail(f, "%s must be an integer from %d to %d", fd.name, min, max);
        return false;
    }
    *out = (int)v;
    return true;
}

bool af_switch(af_t *f, const char *names, unsigned flags, int *out)
{
    af_field_t fd;
    int64_t v = -1;
    if (!af_find(f, names, flags, &fd))
        return false;
    if (json_is_bool(fd.v))
        v = json_bool(fd.v) ? 1 : 0;
    else if (!af_int_of(fd.v, &v))
        v = -1;
    if (v != 0 && v != 1) {
        af_fail(f, "%s must be 0 or 1 (or false/true)", fd.name);
        return false;
    }
    *out = (int)v;
    return true;
}

bool af_bool(af_t *f, const char *names, unsigned flags, bool *out)
{
    af_field_t fd;
    if (!af_find(f, names, flags, &fd))
        return false;
    if (!json_is_bool(fd.v)) {
        af_fail(f, "%s must be true or false", fd.name);
        return false;
    }
    *out = json_bool(fd.v);
    return true;
}

/* ---- strings ---- */

/* The string value of a present field, or a failure naming its type. */
static const char *af_string_of(af_t *f, const af_field_t *fd)
{
    if (json_type(fd->v) != JSON_STRING) {
        af_fail(f, "%s must be a string", fd->name);
        return NULL;
    }
    return json_string(fd->v);
}

bool af_text(af_t *f, const char *names, unsigned flags, size_t max_bytes, const char **out)
{
    af_field_t fd;
    const char *s;
    if (!af_find(f, names, flags, &fd) || (s = af_string_of(f, &fd)) == NULL)
        return false;
    if (json_string_len(fd.v) > max_bytes) {
        af_fail(f, "%s must be at most %zu bytes", fd.name, max_bytes);
        return false;
    }
    *out = s;
    return true;
}

bool af_choice(af_t *f, const char *names, unsigned flags, const char *const *choices, const char **out)
{
    af_field_t fd;
    const char *s;
    if (!af_find(f, names, flags, &fd) || (s = af_string_of(f, &fd)) == NULL)
        return false;
    for (size_t i = 0; choices[i] != NULL; i++) {
        if (strcmp(s, choices[i]) == 0) {
            *out = choices[i];
            return true;
        }
    }
    char list[128] = "";
    for (size_t i = 0, len = 0; choices[i] != NULL && len < sizeof(list); i++)
        len += (size_t)snprintf(list + len, sizeof(list) - len, "%s\"%s\"", i ? " or " : "", choices[i]);
    af_fail(f, "%s must be %s", fd.name, list);
    return false;
}

/* Checks the authority of an http(s) URL: non-empty host, digits after ':'. */
static bool url_authority_ok(const char *a, size_t n)
{
    const char *at = memchr(a, '@', n);
    if (at != NULL) {
        n -= (size_t)(at + 1 - a);
        a = at + 1;
    }
    size_t host = n;
    if (n > 0 && a[0] == '[') {
        const char *close = memchr(a, ']', n);
        if (close == NULL)
            return false;
        host = (size_t)(close + 1 - a);
    } else {
        const char *colon = memchr(a, ':', n);
        host = colon ? (size_t)(colon - a) : n;
    }
    if (host == 0 || (a[0] == '[' && host < 3))
        return false;
    if (host == n)
        return true;
    if (a[host] != ':' || host + 1 == n || n - host - 1 > 5)
        return false;
    for (size_t i = host + 1; i < n; i++)
        if (a[i] < '0' || a[i] > '9')
            return false;
    return atoi(a + host + 1) >= 1 && atoi(a + host + 1) <= 65535;
}

bool af_url(af_t *f, const char *names, unsigned flags, const char **out)
{
    af_field_t fd;
    const char *s;
    if (!af_find(f, names, flags, &fd) || (s = af_string_of(f, &fd)) == NULL)
        return false;
    size_t n = strlen(s), skip = 0;
    if (strncasecmp(s, "http://", 7) == 0)
        skip = 7;
    else if (strncasecmp(s, "https://", 8) == 0)
        skip = 8;
    bool ok = skip > 0 && n <= AF_URL_MAX;
    for (size_t i = 0; ok && i < n; i++)
        ok = s[i] > ' ' && s[i] < 0x7f;
    if (ok) {
        size_t alen = strcspn(s + skip, "/?#");
        ok = url_authority_ok(s + skip, alen);
    }
    if (!ok) {
        af_fail(f, "%s must be an http:// or https:// URL with a host, at most %d printable ASCII characters", fd.name,
                AF_URL_MAX);
        return false;
    }
    *out = s;
    return true;
}

/* Shared rules of recordPath and fileName; returns a reason or NULL. */
static const char *template_problem(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f || c == '\\')
            return "must not contain control characters or '\\'";
        if (c == '}')
            return "has a '}' without its '{'";
        if (c != '{')
            continue;
        size_t k = 0;
        while (af_template_vars[k] != NULL && strncmp(s + i, af_template_vars[k], strlen(af_template_vars[k])) != 0)
            k++;
        if (af_template_vars[k] == NULL)
            return "may only use the variables {app_id}, {date_time}, {channel_id}, {file_start_time}";
        i += strlen(af_template_vars[k]) - 1;
    }
    /* A ".." segment would climb out of the NAS base path. */
    for (const char *p = s; (p = strstr(p, "..")) != NULL; p += 2) {
        bool starts = p == s || p[-1] == '/';
        bool ends = p[2] == '\0' || p[2] == '/';
        if (starts && ends)
            return "must not contain a \"..\" segment";
    }
    return NULL;
}

bool af_path(af_t *f, const char *names, unsigned flags, const char **out)
{
    af_field_t fd;
    const char *s;
    if (!af_find(f, names, flags, &fd) || (s = af_string_of(f, &fd)) == NULL)
        return false;
    size_t n = json_string_len(fd.v);
    const char *why = n > AF_PATH_MAX ? "is too long" : template_problem(s, n);
    if (why != NULL) {
        af_fail(f, "%s %s (at most %d bytes)", fd.name, why, AF_PATH_MAX);
        return false;
    }
    *out = s;
    return true;
}

bool af_file_name(af_t *f, const char *names, unsigned flags, const char **out)
{
    af_field_t fd;
    const char *s;
    if (!af_find(f, names, flags, &fd) || (s = af_string_of(f, &fd)) == NULL)
        return false;
    size_t n = json_string_len(fd.v);
    const char *why = NULL;
    if (n == 0 || n > AF_FILE_NAME_MAX)
        why = "must be 1-128 bytes";
    else if (memchr(s, '/', n) != NULL || s[0] == '.')
        why = "must not contain '/' nor start with '.'";
    else
        why = template_problem(s, n);
    if (why != NULL) {
        af_fail(f, "%s %s", fd.name, why);
        return false;
    }
    *out = s;
    return true;
}

/* ---- bodies and headers ---- */

json_value_t *af_parse_object(const char *body, size_t len, char *err, size_t cap)
{
    const char *why = NULL;
    size_t pos = 0;
    json_value_t *v = json_parse(body, len, &why, &pos);
    if (v == NULL) {
        snprintf(err, cap, "malformed JSON at byte %zu: %s", pos, why ? why : "syntax error");
        return NULL;
    }
    if (json_type(v) != JSON_OBJECT) {
        snprintf(err, cap, "the body must be a JSON object");
        json_free(v);
        return NULL;
    }
    return v;
}

static int hex_val(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = (char)(c | 0x20);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Percent-decodes s[0..n) ('+' is a space) onto out. */
static int form_decode(const char *s, size_t n, buf_t *out)
{
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '+') {
            c = ' ';
        } else if (c == '%') {
            int hi = i + 2 < n ? hex_val(s[i + 1]) : -1;
            int lo = i + 2 < n ? hex_val(s[i + 2]) : -1;
            if (hi < 0 || lo < 0)
                return IRTC_EINVAL;
            c = (char)(hi << 4 | lo);
            i += 2;
        }
        buf_putc(out, c);
    }
    return IRTC_OK;
}

int af_form_to_json(const char *body, size_t len, buf_t *out, const char **why)
{
    buf_t key, val;
    buf_init(&key);
    buf_init(&val);
    int rc = IRTC_OK;
    bool first = true;
    buf_putc(out, '{');
    for (size_t i = 0; i < len && rc == IRTC_OK;) {
        size_t end = i;
        while (end < len && body[end] != '&')
            end++;
        const char *eq = memchr(body + i, '=', end - i);
        size_t klen = eq ? (size_t)(eq - (body + i)) : end - i;
        buf_reset(&key);
        buf_reset(&val);
        if (end > i) {
            rc = form_decode(body + i, klen, &key);
            if (rc == IRTC_OK && eq != NULL)
                rc = form_decode(eq + 1, (size_t)(body + end - eq - 1), &val);
            if (rc == IRTC_OK) {
                buf_puts(out, first ? "" : ",");
                json_write_string_n(out, key.base ? key.base : "", key.len);
                buf_putc(out, ':');
                json_write_string_n(out, val.base ? val.base : "", val.len);
                first = false;
            }
        }
        i = end + 1;
    }
    buf_putc(out, '}');
    buf_dispose(&key);
    buf_dispose(&val);
    if (rc != IRTC_OK && why != NULL)
        *why = "bad percent escape in a form-urlencoded body";
    return rc;
}

bool af_content_type_is(const char *value, size_t len, const char *mime)
{
    size_t m = strlen(mime);
    if (value == NULL)
        return false;
    while (len > 0 && (*value == ' ' || *value == '\t')) {
        value++;
        len--;
    }
    if (len < m || strncasecmp(value, mime, m) != 0)
        return false;
    for (size_t i = m; i < len; i++) {
        if (value[i] == ';')
            return true;
        if (value[i] != ' ' && value[i] != '\t')
            return false;
    }
    return true;
}

bool af_bearer(const char *value, size_t len, const char **token, size_t *token_len)
{
    while (len > 0 && (*value == ' ' || *value == '\t')) {
        value++;
        len--;
    }
    if (len < 7 || strncasecmp(value, "bearer", 6) != 0 || (value[6] != ' ' && value[6] != '\t'))
        return false;
    value += 7;
    len -= 7;
    while (len > 0 && (*value == ' ' || *value == '\t')) {
        value++;
        len--;
    }
    while (len > 0 && (value[len - 1] == ' ' || value[len - 1] == '\t'))
        len--;
    *token = value;
    *token_len = len;
    return len > 0;
}
