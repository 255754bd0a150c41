/*
 * json.c — strict RFC 8259 parser into a DOM, and the compact writer.
 *
 * Owns: the DOM of each parsed document, allocated from one arena per document
 * so json_free is one walk over a short chunk list, never a walk over the tree.
 * Thread: any; a document belongs to whoever parsed it.
 * Does not: stream, build documents by hand, or limit input size (the HTTP
 * layer caps bodies before they reach us).
 *
 * Strictness is deliberate: these bytes come from the network, and any input
 * two parsers read differently (duplicate keys, lone surrogates, overlong
 * UTF-8, NUL inside keys) is a way to smuggle a value past validation.
 */
#include "core/json.h"
#include "core/common.h"

#include <errno.h>
#include <math.h>
#include <stdalign.h>
#include <stdlib.h>
#include <string.h>

typedef struct json_member json_member_t;

struct json_value {
    json_type_t type;
    size_t len; /* bytes of text for strings and numbers, element count for containers */
    union {
        const char *text; /* JSON_STRING: unescaped UTF-8; JSON_NUMBER: the literal; NUL-terminated */
        json_value_t *items;
        json_member_t *members;
    } u;
};

struct json_member {
    const char *key;
    size_t key_pos; /* input offset of the key, to report a duplicate where it is */
    json_value_t value;
};

/* ---- arena ---- */

typedef struct json_chunk {
    struct json_chunk *next;
    size_t used, cap;
    alignas(max_align_t) unsigned char data[];
} json_chunk_t;

typedef struct {
    json_chunk_t *head;
    size_t next_cap;
} json_arena_t;

/* What json_parse returns a pointer into: json_free finds the arena from the root. */
typedef struct {
    json_arena_t arena;
    json_value_t root;
} json_doc_t;

static void *arena_alloc(json_arena_t *a, size_t n, size_t align)
{
    json_chunk_t *c = a->head;
    if (c != NULL) {
        size_t off = (c->used + align - 1) & ~(align - 1);
        if (off <= c->cap && n <= c->cap - off) {
            c->used = off + n;
            return c->data + off;
        }
    }
    /* Doubling keeps the chunk count logarithmic in the document size. */
    size_t cap = IRTC_MAX(a->next_cap, n);
    c = xmalloc(sizeof(*c) + cap);
    c->next = a->head;
    c->cap = cap;
    c->used = n;
    a->head = c;
    a->next_cap = a->next_cap < ((size_t)1 << 24) ? a->next_cap * 2 : a->next_cap;
    return c->data;
}

static char *arena_strndup(json_arena_t *a, const char *s, size_t n)
{
    char *p = arena_alloc(a, n + 1, 1);
    if (n)
        memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

static void arena_dispose(json_arena_t *a)
{
    json_chunk_t *c = a->head;
    while (c != NULL) {
        json_chunk_t *next = c->next;
        free(c);
        c = next;
    }
    a->head = NULL;
}

/* ---- UTF-8 ---- */

/* Length of the well-formed UTF-8 sequence at s (Unicode 15, table 3-7: no
 * overlongs, no surrogates, nothing above U+10FFFF), or 0 when it is not one. */
static size_t utf8_seq_len(const unsigned char *s, size_t avail)
{
    unsigned char c = s[0], lo = 0x80, hi = 0xBF;
    size_t n;
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF)
        n = 2;
    else if (c >= 0xE0 && c <= 0xEF)
        n = 3;
    else if (c >= 0xF0 && c <= 0xF4)
        n = 4;
    else
        return 0;
    if (c == 0xE0)
        lo = 0xA0;
    else if (c == 0xED)
        hi = 0x9F;
    else if (c == 0xF0)
        lo = 0x90;
    else if (c == 0xF4)
        hi = 0x8F;
    if (avail < n || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < n; i++)
        if (s[i] < 0x80 || s[i] > 0xBF)
            return 0;
    return n;
}

static void utf8_put(buf_t *b, uint32_t cp)
{
    char out[4];
    size_t n;
    if (cp < 0x80) {
        out[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        n = 2;
    } else if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        n = 3;
    } else {
        out[0] = (char)(0xF0 | (cp >> 18));
        out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[3] = (char)(0x80 | (cp & 0x3F));
        n = 4;
    }
    buf_append(b, out, n);
}

/* ---- parser ---- */

typedef struct {
    const char *start, *p, *end;
    json_arena_t *arena;
    int depth;
    const char *err;
    size_t err_pos;
    buf_t str; /* unescaped bytes of the string being parsed */
    /* Children of every open container, innermost last; a container copies
     * its own run into the arena when it closes, so each DOM array is
     * allocated once at its final size. */
    json_value_t *vals;
    size_t nvals, capvals;
    json_member_t *mems;
    size_t nmems, capmems;
} parser_t;

static int fail(parser_t *ps, const char *where, const char *msg)
{
    ps->err = msg;
    ps->err_pos = (size_t)(where - ps->start);
    return -1;
}

static void skip_ws(parser_t *ps)
{
    while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r'))
        ps->p++;
}

static int parse_value(parser_t *ps, json_value_t *out);

static int parse_literal(parser_t *ps, const char *word, json_type_t type, json_value_t *out)
{
    size_t n = strlen(word), avail = (size_t)(ps->end - ps->p);
    if (avail < n) {
        if (memcmp(ps->p, word, avail) == 0)
            return fail(ps, ps->end, "unexpected end of input");
        return fail(ps, ps->p, "invalid literal");
    }
    if (memcmp(ps->p, word, n) != 0)
        return fail(ps, ps->p, "invalid literal");
    ps->p += n;
    out->type = type;
    return 0;
}

static bool at_digit(const parser_t *ps)
{
    return ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9';
}

static void skip_digits(parser_t *ps)
{
    while (at_digit(ps))
        ps->p++;
}

/* RFC 8259 section 6: -? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)? */
static int parse_number(parser_t *ps, json_value_t *out)
{
    const char *begin = ps->p;
    if (*ps->p == '-')
        ps->p++;
    if (!at_digit(ps))
        return fail(ps, ps->p, "invalid number: digit expected");
    if (*ps->p == '0') {
        ps->p++;
        if (at_digit(ps))
            return fail(ps, ps->p - 1, "invalid number: leading zero");
    } else {
        skip_digits(ps);
    }
    if (ps->p < ps->end && *ps->p == '.') {
        ps->p++;
        if (!at_digit(ps))
            return fail(ps, ps->p, "invalid number: digit expected after '.'");
        skip_digits(ps);
    }
    if (ps->p < ps->end && (*ps->p == 'e' || *ps->p == 'E')) {
        ps->p++;
        if (ps->p < ps->end && (*ps->p == '+' || *ps->p == '-'))
            ps->p++;
        if (!at_digit(ps))
            return fail(ps, ps->p, "invalid number: digit expected in exponent");
        skip_digits(ps);
    }
    out->type = JSON_NUMBER;
    out->len = (size_t)(ps->p - begin);
    out->u.text = arena_strndup(ps->arena, begin, out->len);
    return 0;
}

static int hex4(const char *s, uint32_t *out)
{
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) {
        char c = s[i];
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= (uint32_t)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v |= (uint32_t)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            v |= (uint32_t)(c - 'A' + 10);
        else
            return -1;
    }
    *out = v;
    return 0;
}

/* ps->p is on the 'u' of a \u escape; leaves ps->p after the last hex digit. */
static int parse_u_escape(parser_t *ps)
{
    const char *esc = ps->p - 1;
    uint32_t cp, lo;
    if (ps->end - ps->p < 5 || hex4(ps->p + 1, &cp) < 0)
        return fail(ps, esc, "invalid \\u escape");
    ps->p += 5;
    if (cp == 0)
        return fail(ps, esc, "\\u0000 is not allowed in strings");
    if (cp >= 0xDC00 && cp <= 0xDFFF)
        return fail(ps, esc, "unpaired surrogate in \\u escape");
    if (cp >= 0xD800 && cp <= 0xDBFF) {
        if (ps->end - ps->p < 6 || ps->p[0] != '\\' || ps->p[1] != 'u' || hex4(ps->p + 2, &lo) < 0 || lo < 0xDC00 ||
            lo > 0xDFFF)
            return fail(ps, esc, "unpaired surrogate in \\u escape");
        ps->p += 6;
        cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
    }
    utf8_put(&ps->str, cp);
    return 0;
}

/* The single-character escapes of RFC 8259 section 7, both directions. */
static const char esc_name[] = "\"\\/bfnrt";
static const char esc_byte[] = "\"\\/\b\f\n\r\t";

static int parse_escape(parser_t *ps, const char *open)
{
    const char *esc = ps->p++;
    if (ps->p >= ps->end)
        return fail(ps, open, "unterminated string");
    if (*ps->p == 'u')
        return parse_u_escape(ps);
    const char *hit = *ps->p ? strchr(esc_name, *ps->p) : NULL;
    if (hit == NULL)
        return fail(ps, esc, "invalid escape in string");
    buf_putc(&ps->str, esc_byte[hit - esc_name]);
    ps->p++;
    return 0;
}

/* ps->p is on the opening quote.  The unescaped text goes to the arena. */
static int parse_string(parser_t *ps, const char **text, size_t *len)
{
    const char *open = ps->p++;
    buf_reset(&ps->str);
    for (;;) {
        if (ps->p >= ps->end)
            return fail(ps, open, "unterminated string");
        unsigned char c = (unsigned char)*ps->p;
        if (c == '"')
            break;
        if (c == '\\') {
            if (parse_escape(ps, open) < 0)
                return -1;
            continue;
        }
        if (c < 0x20)
            return fail(ps, ps->p, c ? "unescaped control character in string" : "NUL byte in string");
        size_t n = utf8_seq_len((const unsigned char *)ps->p, (size_t)(ps->end - ps->p));
        if (n == 0)
            return fail(ps, ps->p, "invalid UTF-8 in string");
        buf_append(&ps->str, ps->p, n);
        ps->p += n;
    }
    ps->p++;
    *len = ps->str.len;
    *text = arena_strndup(ps->arena, ps->str.base ? ps->str.base : "", ps->str.len);
    return 0;
}

static void push_value(parser_t *ps, const json_value_t *v)
{
    if (ps->nvals == ps->capvals) {
        ps->capvals = ps->capvals ? ps->capvals * 2 : 32;
        ps->vals = xrealloc(ps->vals, ps->capvals * sizeof(*ps->vals));
    }
    ps->vals[ps->nvals++] = *v;
}

static void push_member(parser_t *ps, const json_member_t *m)
{
    if (ps->nmems == ps->capmems) {
        ps->capmems = ps->capmems ? ps->capmems * 2 : 32;
        ps->mems = xrealloc(ps->mems, ps->capmems * sizeof(*ps->mems));
    }
    ps->mems[ps->nmems++] = *m;
}

static int enter(parser_t *ps)
{
    if (++ps->depth > JSON_MAX_DEPTH)
        return fail(ps, ps->p, "nesting too deep");
    ps->p++;
    skip_ws(ps);
    return 0;
}

/* After an element: ',' continues, close ends, anything else is an error. */
static int next_or_close(parser_t *ps, char close, const char *msg, bool *closed)
{
    skip_ws(ps);
    if (ps->p >= ps->end)
        return fail(ps, ps->p, "unexpected end of input");
    if (*ps->p != ',' && *ps->p != close)
        return fail(ps, ps->p, msg);
    *closed = *ps->p++ == close;
    skip_ws(ps);
    return 0;
}

static int parse_array(parser_t *ps, json_value_t *out)
{
    size_t base = ps->nvals;
    bool closed = false;
    if (enter(ps) < 0)
        return -1;
    if (ps->p < ps->end && *ps->p == ']') {
        ps->p++;
        closed = true;
    }
    while (!closed) {
        json_value_t v;
        if (parse_value(ps, &v) < 0)
            return -1;
        push_value(ps, &v);
        if (next_or_close(ps, ']', "expected ',' or ']'", &closed) < 0)
            return -1;
    }
    out->type = JSON_ARRAY;
    out->len = ps->nvals - base;
    out->u.items = arena_alloc(ps->arena, out->len * sizeof(json_value_t), alignof(json_value_t));
    if (out->len)
        memcpy(out->u.items, ps->vals + base, out->len * sizeof(json_value_t));
    ps->nvals = base;
    ps->depth--;
    return 0;
}

static int member_cmp(const void *a, const void *b)
{
    const json_member_t *x = *(const json_member_t *const *)a, *y = *(const json_member_t *const *)b;
    int c = strcmp(x->key, y->key);
    return c ? c : (x->key_pos > y->key_pos) - (x->key_pos < y->key_pos);
}

/* Duplicate keys are rejected (RFC 8259 section 4 leaves them undefined, and
 * parsers disagree on which one wins).  Reports the earliest repeat. */
static int check_duplicates(parser_t *ps, const json_member_t *m, size_t n)
{
    size_t bad = SIZE_MAX;
    if (n <= 16) {
        for (size_t j = 1; j < n && bad == SIZE_MAX; j++)
            for (size_t i = 0; i < j; i++)
                if (strcmp(m[i].key, m[j].key) == 0) {
                    bad = m[j].key_pos;
                    break;
                }
    } else {
        /* Sorting keeps a hostile object with thousands of keys O(n log n). */
        const json_member_t **idx = xmalloc(n * sizeof(*idx));
        for (size_t i = 0; i < n; i++)
            idx[i] = &m[i];
        qsort(idx, n, sizeof(*idx), member_cmp);
        for (size_t i = 1; i < n; i++)
            if (strcmp(idx[i - 1]->key, idx[i]->key) == 0 && idx[i]->key_pos < bad)
                bad = idx[i]->key_pos;
        free(idx);
    }
    return bad == SIZE_MAX ? 0 : fail(ps, ps->start + bad, "duplicate key in object");
}

static int parse_member(parser_t *ps)
{
    json_member_t m;
    size_t key_len;
    if (ps->p >= ps->end)
        return fail(ps, ps->p, "unexpected end of input");
    if (*ps->p != '"')
        return fail(ps, ps->p, "expected string key");
    m.key_pos = (size_t)(ps->p - ps->start);
    if (parse_string(ps, &m.key, &key_len) < 0)
        return -1;
    skip_ws(ps);
    if (ps->p >= ps->end)
        return fail(ps, ps->p, "unexpected end of input");
    if (*ps->p != ':')
        return fail(ps, ps->p, "expected ':'");
    ps->p++;
    skip_ws(ps);
    if (parse_value(ps, &m.value) < 0)
        return -1;
    push_member(ps, &m);
    return 0;
}

static int parse_object(parser_t *ps, json_value_t *out)
{
    size_t base = ps->nmems;
    bool closed = false;
    if (enter(ps) < 0)
        return -1;
    if (ps->p < ps->end && *ps->p == '}') {
        ps->p++;
        closed = true;
    }
    while (!closed)
        if (parse_member(ps) < 0 || next_or_close(ps, '}', "expected ',' or '}'", &closed) < 0)
            return -1;
    out->type = JSON_OBJECT;
    out->len = ps->nmems - base;
    if (out->len > 1 && check_duplicates(ps, ps->mems + base, out->len) < 0)
        return -1;
    out->u.members = arena_alloc(ps->arena, out->len * sizeof(json_member_t), alignof(json_member_t));
    if (out->len)
        memcpy(out->u.members, ps->mems + base, out->len * sizeof(json_member_t));
    ps->nmems = base;
    ps->depth--;
    return 0;
}

static int parse_value(parser_t *ps, json_value_t *out)
{
    memset(out, 0, sizeof(*out));
    if (ps->p >= ps->end)
        return fail(ps, ps->p, "unexpected end of input");
    switch (*ps->p) {
    case '{':
        return parse_object(ps, out);
    case '[':
        return parse_array(ps, out);
    case '"':
        out->type = JSON_STRING;
        return parse_string(ps, &out->u.text, &out->len);
    case 't':
        return parse_literal(ps, "true", JSON_TRUE, out);
    case 'f':
        return parse_literal(ps, "false", JSON_FALSE, out);
    case 'n':
        return parse_literal(ps, "null", JSON_NULL, out);
    default:
        if (*ps->p == '-' || (*ps->p >= '0' && *ps->p <= '9'))
            return parse_number(ps, out);
        return fail(ps, ps->p, "unexpected character");
    }
}

json_value_t *json_parse(const char *text, size_t len, const char **err, size_t *err_pos)
{
    json_doc_t *doc = xcalloc(1, sizeof(*doc));
    parser_t ps = {.start = text, .p = text, .end = text ? text + len : text, .arena = &doc->arena};
    doc->arena.next_cap = 1024;
    buf_init(&ps.str);
    skip_ws(&ps);
    int rc = parse_value(&ps, &doc->root);
    if (rc == 0) {
        skip_ws(&ps);
        if (ps.p != ps.end)
            rc = fail(&ps, ps.p, "trailing characters after value");
    }
    buf_dispose(&ps.str);
    free(ps.vals);
    free(ps.mems);
    if (err)
        *err = rc == 0 ? NULL : ps.err;
    if (err_pos)
        *err_pos = rc == 0 ? 0 : ps.err_pos;
    if (rc == 0)
        return &doc->root;
    json_free(&doc->root);
    return NULL;
}

void json_free(json_value_t *v)
{
    if (v == NULL)
        return;
    json_doc_t *doc = (json_doc_t *)((char *)v - offsetof(json_doc_t, root));
    arena_dispose(&doc->arena);
    free(doc);
}

/* ---- accessors ---- */

json_type_t json_type(const json_value_t *v)
{
    return v ? v->type : JSON_NULL;
}

const json_value_t *json_get(const json_value_t *obj, const char *key)
{
    if (obj == NULL || obj->type != JSON_OBJECT || key == NULL)
        return NULL;
    for (size_t i = 0; i < obj->len; i++)
        if (strcmp(obj->u.members[i].key, key) == 0)
            return &obj->u.members[i].value;
    return NULL;
}

size_t json_size(const json_value_t *v)
{
    return v && (v->type == JSON_ARRAY || v->type == JSON_OBJECT) ? v->len : 0;
}

const json_value_t *json_at(const json_value_t *arr, size_t i)
{
    return arr && arr->type == JSON_ARRAY && i < arr->len ? &arr->u.items[i] : NULL;
}

const char *json_key_at(const json_value_t *obj, size_t i)
{
    return obj && obj->type == JSON_OBJECT && i < obj->len ? obj->u.members[i].key : NULL;
}

const json_value_t *json_value_at(const json_value_t *obj, size_t i)
{
    return obj && obj->type == JSON_OBJECT && i < obj->len ? &obj->u.members[i].value : NULL;
}

const char *json_string(const json_value_t *v)
{
    return v && v->type == JSON_STRING ? v->u.text : NULL;
}

size_t json_string_len(const json_value_t *v)
{
    return v && v->type == JSON_STRING ? v->len : 0;
}

const char *json_number_text(const json_value_t *v)
{
    return v && v->type == JSON_NUMBER ? v->u.text : NULL;
}

int json_int64(const json_value_t *v, int64_t *out)
{
    if (v == NULL || v->type != JSON_NUMBER)
        return IRTC_EINVAL;
    const char *s = v->u.text;
    bool neg = *s == '-';
    uint64_t limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX, acc = 0;
    for (s += neg; *s; s++) {
        if (*s < '0' || *s > '9')
            return IRTC_EINVAL; /* fraction or exponent: not an integer literal */
        unsigned d = (unsigned)(*s - '0');
        if (acc > (limit - d) / 10)
            return IRTC_EINVAL;
        acc = acc * 10 + d;
    }
    /* -2^63 has no positive int64 counterpart, so negate in unsigned space. */
    *out = neg ? (int64_t)(0 - acc) : (int64_t)acc;
    return IRTC_OK;
}

int json_double(const json_value_t *v, double *out)
{
    if (v == NULL || v->type != JSON_NUMBER)
        return IRTC_EINVAL;
    char *end;
    errno = 0;
    double d = strtod(v->u.text, &end);
    if (*end != '\0' || (errno == ERANGE && isinf(d)))
        return IRTC_EINVAL;
    *out = d;
    return IRTC_OK;
}

bool json_is_bool(const json_value_t *v)
{
    return v && (v->type == JSON_TRUE || v->type == JSON_FALSE);
}

bool json_bool(const json_value_t *v)
{
    return v && v->type == JSON_TRUE;
}

/* ---- writer ---- */

void json_write_string_n(buf_t *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = (const unsigned char *)s, *end = p + n;
    buf_reserve(b, n + 2);
    buf_putc(b, '"');
    while (p < end) {
        const unsigned char *run = p;
        /* Copy runs of bytes that need no escaping in one append. */
        while (p < end && *p >= 0x20 && *p != '"' && *p != '\\' && *p < 0x80)
            p++;
        if (p > run)
            buf_append(b, run, (size_t)(p - run));
        if (p == end)
            break;
        unsigned char c = *p;
        if (c >= 0x80) {
            size_t len = utf8_seq_len(p, (size_t)(end - p));
            /* Invalid bytes become U+FFFD so the output is always valid JSON. */
            buf_append(b, len ? (const char *)p : "\xEF\xBF\xBD", len ? len : 3);
            p += len ? len : 1;
            continue;
        }
        /* Only '"', '\\' and controls get here; '/' stays in the run above. */
        const char *hit = c ? strchr(esc_byte, c) : NULL;
        char esc[7] = {'\\', 0};
        size_t elen = 2;
        if (hit != NULL) {
            esc[1] = esc_name[hit - esc_byte];
        } else {
            memcpy(esc + 1, "u00", 3);
            esc[4] = hex[c >> 4];
            esc[5] = hex[c & 0xF];
            elen = 6;
        }
        buf_append(b, esc, elen);
        p++;
    }
    buf_putc(b, '"');
}

void json_write_string(buf_t *b, const char *s)
{
    json_write_string_n(b, s, strlen(s));
}

void json_write_value(buf_t *b, const json_value_t *v)
{
    switch (json_type(v)) {
    case JSON_NULL:
        buf_puts(b, "null");
        break;
    case JSON_FALSE:
        buf_puts(b, "false");
        break;
    case JSON_TRUE:
        buf_puts(b, "true");
        break;
    case JSON_NUMBER:
        buf_append(b, v->u.text, v->len);
        break;
    case JSON_STRING:
        json_write_string_n(b, v->u.text, v->len);
        break;
    case JSON_ARRAY:
        buf_putc(b, '[');
        for (size_t i = 0; i < v->len; i++) {
            if (i)
                buf_putc(b, ',');
            json_write_value(b, &v->u.items[i]);
        }
        buf_putc(b, ']');
        break;
    case JSON_OBJECT:
        buf_putc(b, '{');
        for (size_t i = 0; i < v->len; i++) {
            if (i)
                buf_putc(b, ',');
            json_write_string(b, v->u.members[i].key);
            buf_putc(b, ':');
            json_write_value(b, &v->u.members[i].value);
        }
        buf_putc(b, '}');
        break;
    }
}
