/*
 * jointoken.c — the vendor's join token (guide §7.4, CONTRACT.md §2); see
 * jointoken.h.
 *
 * Runs on any thread (the control thread in practice); keeps no state.  Does
 * not look up apps, compare the payload with the join request, or choose
 * contract error codes.
 *
 * The body is a flat JSON object, so it is read by the small strict parser
 * below rather than core/json: the token path then depends on nothing but
 * core/crypto, and the parser can enforce exactly the rules the token needs
 * (types, duplicates, sizes) while skipping members it does not know.
 */
#include "apps/jointoken.h"
#include "core/buf.h"
#include "core/crypto.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/* ---- field rules ---- */

static int in_set(const char *s, size_t min, size_t max, int (*allowed)(unsigned char))
{
    size_t n = 0;

    for (; s[n] != '\0'; n++)
        if (n >= max || !allowed((unsigned char)s[n]))
            return 0;
    return n >= min;
}

static int is_alnum(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static int is_id(unsigned char c)
{
    return is_alnum(c) || c == '_' || c == '-';
}

/* Printable ASCII minus what would need JSON escaping in the concatenated
 * body ('"', '\\') or make the "k=v&k=v" message ambiguous ('&', '='). */
static int is_token_safe(unsigned char c)
{
    return c > ' ' && c < 0x7f && c != '"' && c != '\\' && c != '&' && c != '=';
}

static int is_digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

int jt_validate(const jt_payload_t *p, const char **why)
{
    const char *w = NULL;

    if (!in_set(p->user_id, 1, 64, is_id))
        w = "userId must be 1-64 characters of [A-Za-z0-9_-]";
    else if (!in_set(p->channel_id, 1, 64, is_id))
        w = "channelId must be 1-64 characters of [A-Za-z0-9_-]";
    else if (!in_set(p->app_id, 1, 64, is_alnum))
        w = "appId must be 1-64 characters of [A-Za-z0-9]";
    else if (!in_set(p->host, 1, 255, is_token_safe))
        w = "host must be 1-255 printable characters without space, '\"', '\\', '&' or '='";
    else if (!in_set(p->port, 1, 5, is_digit) || atoi(p->port) < 1 || atoi(p->port) > 65535)
        w = "port must be a decimal port number 1-65535";
    else if (strcmp(p->role, "0") != 0 && strcmp(p->role, "1") != 0)
        w = "role must be \"0\" or \"1\"";
    else if (!in_set(p->tenant_id, 0, 128, is_token_safe))
        w = "tenantId must be 0-128 printable characters without space, '\"', '\\', '&' or '='";
    else if (p->timestamp_ms < 0)
        w = "timeStamp must be a non-negative integer";
    if (w != NULL) {
        if (why)
            *why = w;
        return IRTC_EINVAL;
    }
    return IRTC_OK;
}

/* ---- strict reader for the flat JSON body ---- */

typedef struct {
    const char *p, *end;
} lexer_t;

#define SKIP_DEPTH_MAX 16

static void lex_ws(lexer_t *lx)
{
    while (lx->p < lx->end && (*lx->p == ' ' || *lx->p == '\t' || *lx->p == '\n' || *lx->p == '\r'))
        lx->p++;
}

static int lex_peek(const lexer_t *lx)
{
    return lx->p < lx->end ? (unsigned char)*lx->p : -1;
}

static void put_byte(char *out, size_t cap, size_t *n, unsigned c)
{
    if (out != NULL && *n + 1 < cap)
        out[*n] = (char)c;
    (*n)++;
}

/* Code points above ASCII are written as UTF-8 of the UTF-16 unit; no field
 * we keep accepts them, so surrogate pairs need no joining. */
static void put_cp(char *out, size_t cap, size_t *n, unsigned cp)
{
    if (cp < 0x80) {
        put_byte(out, cap, n, cp);
    } else if (cp < 0x800) {
        put_byte(out, cap, n, 0xc0 | cp >> 6);
        put_byte(out, cap, n, 0x80 | (cp & 0x3f));
    } else {
        put_byte(out, cap, n, 0xe0 | cp >> 12);
        put_byte(out, cap, n, 0x80 | (cp >> 6 & 0x3f));
        put_byte(out, cap, n, 0x80 | (cp & 0x3f));
    }
}

static int lex_hex4(const char *s, unsigned *out)
{
    unsigned v = 0;
    int i;

    for (i = 0; i < 4; i++) {
        char c = s[i];
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            v |= (unsigned)(c - 'A' + 10);
        else
            return -1;
    }
    *out = v;
    return 0;
}

/* Reads a string (lx->p at '"').  Writes at most cap-1 bytes plus NUL into out
 * (NULL: skip) and the full decoded length into *len.  NUL is refused. */
static int lex_string(lexer_t *lx, char *out, size_t cap, size_t *len)
{
    size_t n = 0;

    if (lex_peek(lx) != '"')
        return -1;
    lx->p++;
    while (lx->p < lx->end) {
        unsigned c = (unsigned char)*lx->p++;
        if (c == '"') {
            if (out != NULL)
                out[n < cap ? n : cap - 1] = '\0';
            *len = n;
            return 0;
        }
        if (c < 0x20)
            return -1;
        if (c != '\\') {
            put_byte(out, cap, &n, c);
            continue;
        }
        if (lx->p >= lx->end)
            return -1;
        switch (c = (unsigned char)*lx->p++) {
        case '"':
        case '\\':
        case '/':
            break;
        case 'b':
            c = '\b';
            break;
        case 'f':
            c = '\f';
            break;
        case 'n':
            c = '\n';
            break;
        case 'r':
            c = '\r';
            break;
        case 't':
            c = '\t';
            break;
        case 'u':
            if (lx->end - lx->p < 4 || lex_hex4(lx->p, &c) < 0 || c == 0)
                return -1;
            lx->p += 4;
            break;
        default:
            return -1;
        }
        put_cp(out, cap, &n, c);
    }
    return -1;
}

static void lex_digits(lexer_t *lx)
{
    while (lx->p < lx->end && is_digit((unsigned char)*lx->p))
        lx->p++;
}

/* Reads a number by RFC 8259 §6 grammar. */
static int lex_number(lexer_t *lx)
{
    if (lex_peek(lx) == '-')
        lx->p++;
    if (lex_peek(lx) == '0')
        lx->p++;
    else if (lex_peek(lx) >= '1' && lex_peek(lx) <= '9')
        lex_digits(lx);
    else
        return -1;
    if (lex_peek(lx) == '.') {
        lx->p++;
        if (lex_peek(lx) < '0' || lex_peek(lx) > '9')
            return -1;
        lex_digits(lx);
    }
    if (lex_peek(lx) == 'e' || lex_peek(lx) == 'E') {
        lx->p++;
        if (lex_peek(lx) == '+' || lex_peek(lx) == '-')
            lx->p++;
        if (lex_peek(lx) < '0' || lex_peek(lx) > '9')
            return -1;
        lex_digits(lx);
    }
    return 0;
}

static int lex_literal(lexer_t *lx, const char *word)
{
    size_t n = strlen(word);

    if ((size_t)(lx->end - lx->p) < n || memcmp(lx->p, word, n) != 0)
        return -1;
    lx->p += n;
    return 0;
}

static int skip_value(lexer_t *lx, int depth);

/* Skips an array or object body after its opening bracket. */
static int skip_container(lexer_t *lx, int close, int depth)
{
    size_t len;

    lex_ws(lx);
    if (lex_peek(lx) == close) {
        lx->p++;
        return 0;
    }
    for (;;) {
        lex_ws(lx);
        if (close == '}') {
            if (lex_string(lx, NULL, 0, &len) < 0)
                return -1;
            lex_ws(lx);
            if (lex_peek(lx) != ':')
                return -1;
            lx->p++;
            lex_ws(lx);
        }
        if (skip_value(lx, depth + 1) < 0)
            return -1;
        lex_ws(lx);
        if (lex_peek(lx) == close) {
            lx->p++;
            return 0;
        }
        if (lex_peek(lx) != ',')
            return -1;
        lx->p++;
    }
}

/* Skips any JSON value, for members the token does not define. */
static int skip_value(lexer_t *lx, int depth)
{
    size_t len;

    if (depth > SKIP_DEPTH_MAX)
        return -1;
    switch (lex_peek(lx)) {
    case '"':
        return lex_string(lx, NULL, 0, &len);
    case '{':
        lx->p++;
        return skip_container(lx, '}', depth);
    case '[':
        lx->p++;
        return skip_container(lx, ']', depth);
    case 't':
        return lex_literal(lx, "true");
    case 'f':
        return lex_literal(lx, "false");
    case 'n':
        return lex_literal(lx, "null");
    default:
        return lex_number(lx);
    }
}

/* ---- the body's members ---- */

typedef struct {
    const char *name;
    size_t off, cap; /* cap 0: the timeStamp number */
    const char *e_type, *e_missing, *e_twice, *e_long;
} field_t;

#define STR_FIELD(name, member)                                                                                        \
    {                                                                                                                  \
        name, offsetof(jt_payload_t, member), sizeof(((jt_payload_t *)0)->member), name " must be a string",           \
            name " is missing", name " appears twice", name " is too long"                                             \
    }

static const field_t fields[] = {
    STR_FIELD("userId", user_id),
    STR_FIELD("channelId", channel_id),
    STR_FIELD("appId", app_id),
    STR_FIELD("host", host),
    STR_FIELD("port", port),
    STR_FIELD("role", role),
    STR_FIELD("tenantId", tenant_id),
    {"timeStamp", 0, 0, "timeStamp must be a non-negative integer", "timeStamp is missing", "timeStamp appears twice",
     NULL},
};

static const char e_syntax[] = "token body is not a valid JSON object";

static int read_timestamp(lexer_t *lx, int64_t *out)
{
    const char *start = lx->p, *q;
    int64_t v = 0;

    /* Digits only: no sign, fraction, exponent or leading zero (the number
     * grammar stops after a leading "0", so a digit may still follow). */
    if (lex_number(lx) < 0 || is_digit((unsigned char)lex_peek(lx)))
        return -1;
    for (q = start; q < lx->p; q++) {
        if (!is_digit((unsigned char)*q) || v > (INT64_MAX - (*q - '0')) / 10)
            return -1;
        v = v * 10 + (*q - '0');
    }
    *out = v;
    return 0;
}

static int read_member(lexer_t *lx, const field_t *f, jt_payload_t *out, const char **why)
{
    size_t len;

    if (f->cap == 0) {
        if (read_timestamp(lx, &out->timestamp_ms) < 0) {
            *why = f->e_type;
            return -1;
        }
        return 0;
    }
    if (lex_peek(lx) != '"') {
        *why = f->e_type;
        return -1;
    }
    if (lex_string(lx, (char *)out + f->off, f->cap, &len) < 0) {
        *why = e_syntax;
        return -1;
    }
    if (len >= f->cap) {
        *why = f->e_long;
        return -1;
    }
    return 0;
}

static const field_t *field_find(const char *key)
{
    size_t i;

    for (i = 0; i < IRTC_ARRAY_SIZE(fields); i++)
        if (strcmp(fields[i].name, key) == 0)
            return &fields[i];
    return NULL;
}

/* Reads one "key": value pair; known keys go into out, others are skipped. */
static int read_pair(lexer_t *lx, jt_payload_t *out, unsigned *seen, const char **why)
{
    const field_t *f;
    char key[16];
    size_t klen;
    unsigned bit;

    lex_ws(lx);
    if (lex_string(lx, key, sizeof(key), &klen) < 0)
        return -1;
    lex_ws(lx);
    if (lex_peek(lx) != ':')
        return -1;
    lx->p++;
    lex_ws(lx);
    f = klen < sizeof(key) ? field_find(key) : NULL;
    if (f == NULL)
        return skip_value(lx, 1);
    /* Two parsers disagreeing on which duplicate wins is how signed data
     * gets reinterpreted, so duplicates are refused. */
    bit = 1u << (f - fields);
    if (*seen & bit) {
        *why = f->e_twice;
        return -1;
    }
    *seen |= bit;
    return read_member(lx, f, out, why);
}

static int parse_body(const char *s, size_t n, jt_payload_t *out, const char **why)
{
    lexer_t lx = {s, s + n};
    unsigned seen = 0;
    size_t i;

    *why = e_syntax;
    lex_ws(&lx);
    if (lex_peek(&lx) != '{')
        return IRTC_EINVAL;
    lx.p++;
    lex_ws(&lx);
    if (lex_peek(&lx) == '}')
        lx.p++;
    else
        for (;;) {
            if (read_pair(&lx, out, &seen, why) < 0)
                return IRTC_EINVAL;
            lex_ws(&lx);
            if (lex_peek(&lx) == '}') {
                lx.p++;
                break;
            }
            if (lex_peek(&lx) != ',')
                return IRTC_EINVAL;
            lx.p++;
        }
    lex_ws(&lx);
    if (lx.p != lx.end)
        return IRTC_EINVAL;
    for (i = 0; i < IRTC_ARRAY_SIZE(fields); i++)
        if (!(seen & 1u << i)) {
            *why = fields[i].e_missing;
            return IRTC_EINVAL;
        }
    return IRTC_OK;
}

/* ---- token ---- */

static const char *find_last_sep(const char *s, size_t n)
{
    size_t i;

    for (i = n; i >= 3; i--)
        if (memcmp(s + i - 3, "@#@", 3) == 0)
            return s + i - 3;
    return NULL;
}

static int sig_well_formed(const char *sig, size_t n)
{
    unsigned char mac[JT_SIG_B64_SIZE];
    size_t len;

    return n == JT_SIG_B64_SIZE - 1 && crypto_b64_decode(sig, n, mac, &len) == IRTC_OK && len == 32;
}

int jt_parse(const char *token, size_t len, jt_payload_t *out, char *sig_b64_out, size_t sig_cap, const char **why)
{
    unsigned char raw[JT_TOKEN_MAX / 4 * 3 + 3];
    const char *body = (const char *)raw, *sep, *w = NULL, *sig;
    size_t n, sig_len;
    int rc = IRTC_EINVAL;

    memset(out, 0, sizeof(*out));
    if (len == 0 || len > JT_TOKEN_MAX)
        w = len == 0 ? "token is empty" : "token is too long";
    else if (sig_cap < JT_SIG_B64_SIZE)
        w = "signature buffer too small";
    else if (crypto_b64_decode(token, len, raw, &n) != IRTC_OK)
        w = "token is not Base64";
    else if (memchr(raw, '\0', n) != NULL)
        w = "token contains a NUL byte";
    else if ((sep = find_last_sep(body, n)) == NULL)
        w = "token has no @#@ separator";
    if (w != NULL)
        goto done;
    sig = sep + 3;
    sig_len = (size_t)(body + n - sig);
    if (!sig_well_formed(sig, sig_len)) {
        w = "signature is not Base64 of an HMAC-SHA256";
        goto done;
    }
    if ((rc = parse_body(body, (size_t)(sep - body), out, &w)) != IRTC_OK || (rc = jt_validate(out, &w)) != IRTC_OK)
        goto done;
    memcpy(sig_b64_out, sig, sig_len);
    sig_b64_out[sig_len] = '\0';
done:
    if (rc != IRTC_OK) {
        memset(out, 0, sizeof(*out));
        if (why != NULL)
            *why = w;
    }
    return rc;
}

void jt_sign(const jt_payload_t *p, const char *access_key, char sig_b64_out[JT_SIG_B64_SIZE])
{
    unsigned char mac[32];
    buf_t key, msg;

    buf_init(&key);
    buf_init(&msg);
    /* Java: key = accessKey + timeStamp (Long.toString); msg = TreeMap order,
     * i.e. the keys sorted by UTF-16 code unit, which for these ASCII names
     * is: appId channelId host port role tenantId timeStamp userId. */
    buf_printf(&key, "%s%" PRId64, access_key, p->timestamp_ms);
    buf_printf(&msg, "appId=%s&channelId=%s&host=%s&port=%s&role=%s&tenantId=%s&timeStamp=%" PRId64 "&userId=%s",
               p->app_id, p->channel_id, p->host, p->port, p->role, p->tenant_id, p->timestamp_ms, p->user_id);
    crypto_hmac_sha256(key.base, key.len, msg.base, msg.len, mac);
    crypto_b64_encode(mac, sizeof(mac), sig_b64_out);
    memset(key.base, 0, key.len);
    buf_dispose(&key);
    buf_dispose(&msg);
}

int jt_make(const jt_payload_t *p, const char *access_key, char **token_out)
{
    char sig[JT_SIG_B64_SIZE];
    buf_t raw;

    *token_out = NULL;
    if (access_key == NULL || jt_validate(p, NULL) != IRTC_OK)
        return IRTC_EINVAL;
    jt_sign(p, access_key, sig);
    buf_init(&raw);
    /* The guide's getBody(): this field order, no spaces, no escaping (the
     * field rules guarantee none is needed). */
    buf_printf(&raw,
               "{\"timeStamp\":%" PRId64 ",\"role\":\"%s\",\"port\":\"%s\",\"appId\":\"%s\",\"host\":\"%s\","
               "\"tenantId\":\"%s\",\"userId\":\"%s\",\"channelId\":\"%s\"}@#@%s",
               p->timestamp_ms, p->role, p->port, p->app_id, p->host, p->tenant_id, p->user_id, p->channel_id, sig);
    *token_out = xmalloc(crypto_b64_enc_len(raw.len));
    crypto_b64_encode(raw.base, raw.len, *token_out);
    buf_dispose(&raw);
    return IRTC_OK;
}

int jt_check(const jt_payload_t *p, const char *sig_b64, const char *access_key, int64_t now_ms, int64_t ttl_ms,
             int64_t skew_ms, const char **why)
{
    char expect[JT_SIG_B64_SIZE];
    const char *w;
    int rc;

    if ((rc = jt_validate(p, &w)) != IRTC_OK)
        goto done;
    rc = IRTC_EINVAL;
    if (access_key == NULL || sig_b64 == NULL || now_ms < 0 || ttl_ms < 0 || skew_ms < 0) {
        w = "verifier called without key, signature or valid time window";
        goto done;
    }
    jt_sign(p, access_key, expect);
    /* The signature is checked before the clock so that only authentic
     * tokens are told they expired (and so may be renewed). */
    if (!crypto_equal(expect, strlen(expect), sig_b64, strnlen(sig_b64, JT_SIG_B64_SIZE))) {
        rc = IRTC_ECRYPTO;
        w = "signature does not match";
    } else if (p->timestamp_ms > now_ms && p->timestamp_ms - now_ms > skew_ms) {
        w = "timeStamp is in the future";
    } else if (now_ms > p->timestamp_ms && now_ms - p->timestamp_ms > ttl_ms) {
        rc = JT_EXPIRED;
        w = "token expired";
    } else {
        rc = IRTC_OK;
    }
done:
    if (rc != IRTC_OK && why != NULL)
        *why = w;
    return rc;
}

int jt_verify(const char *token, size_t len, const char *access_key_of_app, int64_t now_ms, int64_t ttl_ms,
              int64_t skew_ms, jt_payload_t *out, const char **why)
{
    jt_payload_t local;
    char sig[JT_SIG_B64_SIZE];
    jt_payload_t *p = out != NULL ? out : &local;
    int rc;

    if ((rc = jt_parse(token, len, p, sig, sizeof(sig), why)) != IRTC_OK)
        return rc;
    return jt_check(p, sig, access_key_of_app, now_ms, ttl_ms, skew_ms, why);
}
