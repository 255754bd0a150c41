/*
 * test_jointoken.c — apps/jointoken.c against vectors computed by
 * tests/vectors/jointoken_vectors.py (the guide's Java reference transcribed,
 * independent of this C code), the guide's own example token, and every way
 * a token can be refused.  Reads $top_srcdir/tests/vectors/jointoken_vectors.txt.
 */
#include "apps/jointoken.h"
#include "core/crypto.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unit/tap.h"

#define KEY "secret-key"
#define TS 1700000000000LL
#define DAY_MS (24LL * 3600 * 1000)
#define SKEW_MS (5LL * 60 * 1000)
/* Well-formed (32 zero bytes) but wrong signature, for bodies that must be
 * refused before the signature is looked at. */
#define SIG0 "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="

static jt_payload_t base_payload(void)
{
    jt_payload_t p = {.timestamp_ms = TS};
    strcpy(p.user_id, "alice");
    strcpy(p.channel_id, "room-1");
    strcpy(p.app_id, "App1");
    strcpy(p.host, "10.0.0.5");
    strcpy(p.port, "443");
    strcpy(p.role, "1");
    strcpy(p.tenant_id, "2012");
    return p;
}

static char *b64_of(const char *raw, size_t n)
{
    char *out = xmalloc(crypto_b64_enc_len(n));
    crypto_b64_encode(raw, n, out);
    return out;
}

/* The body as the guide's getBody() writes it, without jt_make's checks, so
 * invalid payloads can be put on the wire. */
static void raw_token(const jt_payload_t *p, const char *sig, char *out, size_t cap)
{
    snprintf(out, cap,
             "{\"timeStamp\":%" PRId64 ",\"role\":\"%s\",\"port\":\"%s\",\"appId\":\"%s\",\"host\":\"%s\","
             "\"tenantId\":\"%s\",\"userId\":\"%s\",\"channelId\":\"%s\"}@#@%s",
             p->timestamp_ms, p->role, p->port, p->app_id, p->host, p->tenant_id, p->user_id, p->channel_id, sig);
}

static int verify_raw(const char *raw, const char *key, int64_t now, jt_payload_t *out, const char **why)
{
    char *tok = b64_of(raw, strlen(raw));
    int rc = jt_verify(tok, strlen(tok), key, now, DAY_MS, SKEW_MS, out, why);
    free(tok);
    return rc;
}

/* Expects jt_verify(Base64(raw)) to fail with want and a reason naming sub. */
static void refuse(const char *raw, int want, const char *sub, const char *desc)
{
    const char *why = NULL;
    jt_payload_t p;

    memset(&p, 'x', sizeof(p));
    is_int(verify_raw(raw, KEY, TS, &p, &why), want, "%s: refused", desc);
    ok(why != NULL && strstr(why, sub) != NULL, "%s: reason \"%s\" mentions \"%s\"", desc, why ? why : "(null)", sub);
    if (want == IRTC_EINVAL)
        ok(p.user_id[0] == '\0' && p.timestamp_ms == 0, "%s: payload cleared", desc);
}

/* ---- vectors from the Python transcription of the Java reference ---- */

typedef struct {
    char name[64], key[256], sig[64], token[4096];
    jt_payload_t p;
    int fields;
} vector_t;

static int vec_set(vector_t *v, const char *name, const char *val)
{
    static const struct {
        const char *name;
        size_t off, cap;
    } map[] = {
        {"vector", offsetof(vector_t, name), sizeof(((vector_t *)0)->name)},
        {"accessKey", offsetof(vector_t, key), sizeof(((vector_t *)0)->key)},
        {"signature", offsetof(vector_t, sig), sizeof(((vector_t *)0)->sig)},
        {"token", offsetof(vector_t, token), sizeof(((vector_t *)0)->token)},
        {"userId", offsetof(vector_t, p.user_id), sizeof(((jt_payload_t *)0)->user_id)},
        {"channelId", offsetof(vector_t, p.channel_id), sizeof(((jt_payload_t *)0)->channel_id)},
        {"appId", offsetof(vector_t, p.app_id), sizeof(((jt_payload_t *)0)->app_id)},
        {"host", offsetof(vector_t, p.host), sizeof(((jt_payload_t *)0)->host)},
        {"port", offsetof(vector_t, p.port), sizeof(((jt_payload_t *)0)->port)},
        {"role", offsetof(vector_t, p.role), sizeof(((jt_payload_t *)0)->role)},
        {"tenantId", offsetof(vector_t, p.tenant_id), sizeof(((jt_payload_t *)0)->tenant_id)},
    };
    size_t i;

    if (strcmp(name, "timeStamp") == 0) {
        v->p.timestamp_ms = strtoll(val, NULL, 10);
        return ++v->fields, 0;
    }
    for (i = 0; i < IRTC_ARRAY_SIZE(map); i++)
        if (strcmp(name, map[i].name) == 0) {
            if (strlen(val) >= map[i].cap)
                return -1;
            strcpy((char *)v + map[i].off, val);
            return ++v->fields, 0;
        }
    return 0; /* message, body: for people reading the file */
}

static size_t load_vectors(vector_t *vecs, size_t max)
{
    const char *top = getenv("top_srcdir");
    char path[1024], line[8192];
    size_t n = 0;
    int open_block = 0;
    FILE *f;

    snprintf(path, sizeof(path), "%s/tests/vectors/jointoken_vectors.txt", top ? top : ".");
    if (!ok((f = fopen(path, "r")) != NULL, "open %s", path))
        return 0;
    while (fgets(line, sizeof(line), f) != NULL) {
        char *eq;
        line[strcspn(line, "\n")] = '\0';
        if (line[0] == '#')
            continue;
        if (line[0] == '\0') {
            n += open_block;
            open_block = 0;
            continue;
        }
        if (n >= max || (eq = strchr(line, '=')) == NULL)
            break;
        if (!open_block)
            memset(&vecs[n], 0, sizeof(vecs[n]));
        open_block = 1;
        *eq = '\0';
        if (vec_set(&vecs[n], line, eq + 1) < 0)
            break;
    }
    n += open_block;
    ok(feof(f), "read the whole vector file");
    fclose(f);
    return n;
}

static void test_vectors(void)
{
    static vector_t vecs[32];
    size_t n = load_vectors(vecs, IRTC_ARRAY_SIZE(vecs)), i;
    int have_guide = 0;

    ok(n >= 6, "at least 6 vectors (got %zu)", n);
    for (i = 0; i < n; i++) {
        vector_t *v = &vecs[i];
        char sig[JT_SIG_B64_SIZE], psig[JT_SIG_B64_SIZE], *tok = NULL, *wrong;
        jt_payload_t got;
        const char *why = NULL;

        have_guide |= strcmp(v->name, "guide-example") == 0;
        is_int(v->fields, 12, "[%s] all 12 fields present", v->name);
        is_int(jt_validate(&v->p, &why), IRTC_OK, "[%s] payload valid", v->name);
        jt_sign(&v->p, v->key, sig);
        is_str(sig, v->sig, "[%s] jt_sign matches the Java reference", v->name);
        is_int(jt_make(&v->p, v->key, &tok), IRTC_OK, "[%s] jt_make", v->name);
        is_str(tok, v->token, "[%s] jt_make token is byte-identical", v->name);
        free(tok);

        is_int(jt_parse(v->token, strlen(v->token), &got, psig, sizeof(psig), &why), IRTC_OK, "[%s] jt_parse", v->name);
        is_str(psig, v->sig, "[%s] jt_parse returns the signature text", v->name);
        is_int(jt_verify(v->token, strlen(v->token), v->key, v->p.timestamp_ms, DAY_MS, SKEW_MS, &got, &why), IRTC_OK,
               "[%s] jt_verify accepts it", v->name);
        ok(memcmp(&got, &v->p, sizeof(got)) == 0, "[%s] parsed payload equals the inputs", v->name);

        wrong = xmalloc(strlen(v->key) + 2);
        sprintf(wrong, "%sx", v->key);
        is_int(jt_verify(v->token, strlen(v->token), wrong, v->p.timestamp_ms, DAY_MS, SKEW_MS, NULL, &why),
               IRTC_ECRYPTO, "[%s] another key is refused", v->name);
        free(wrong);
    }
    ok(have_guide, "the guide-example vector is among them");
}

/* The token printed in the guide (§7.4.1) with its masked accessKey: we can
 * read it exactly, but not verify it. */
static void test_guide_token(void)
{
    static const char tok[] =
        "eyJ0aW1lU3RhbXAiOjE2NDg2NDE0NzQxNzEsInJvbGUiOiIxIiwicG9ydCI6IjQ0MyIsImFwcElkIjoic2RjcGZXcU1jT"
        "UdKSDVsa2lFakNmcEd0TXpsWlBNMFQiLCJob3N0IjoiMTEuMjIuMzMuNDQiLCJ0ZW5hbnRJZCI6IjIwMTIiLCJ1c2VySWQiOiIxMjEyMzEy"
        "MzEyMzEyMyIsImNoYW5uZWxJZCI6IjIyMjUwNzMwMjUzMTE0MSJ9QCNAbTJ1UGJDdFBtSzdJQ2J1bHp6ZnptVFQ3RXZTbG9WY0lhcldyMWlW"
        "OUkzMD0=";
    jt_payload_t p;
    char sig[JT_SIG_B64_SIZE];
    const char *why = NULL;

    is_int(jt_parse(tok, strlen(tok), &p, sig, sizeof(sig), &why), IRTC_OK, "guide token parses");
    is_str(p.user_id, "12123123123123", "guide userId");
    is_str(p.channel_id, "222507302531141", "guide channelId");
    is_str(p.app_id, "sdcpfWqMcMGJH5lkiEjCfpGtMzlZPM0T", "guide appId");
    is_str(p.host, "11.22.33.44", "guide host");
    is_str(p.port, "443", "guide port");
    is_str(p.role, "1", "guide role");
    is_str(p.tenant_id, "2012", "guide tenantId");
    is_int(p.timestamp_ms, 1648641474171LL, "guide timeStamp");
    is_str(sig, "m2uPbCtPmK7ICbulzzfzmTT7EvSloVcIarWr1iV9I30=", "guide signature");
    is_int(jt_check(&p, sig, KEY, p.timestamp_ms, DAY_MS, SKEW_MS, &why), IRTC_ECRYPTO,
           "guide token does not verify under another key");
}

static void test_envelope_errors(void)
{
    jt_payload_t p = base_payload();
    char raw[2048], sig[JT_SIG_B64_SIZE], big[JT_TOKEN_MAX + 5], *tok;
    const char *why = NULL;
    size_t n;

    is_int(jt_verify("", 0, KEY, TS, DAY_MS, SKEW_MS, NULL, &why), IRTC_EINVAL, "empty token");
    ok(why && strstr(why, "empty"), "empty token reason");
    memset(big, 'A', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    is_int(jt_verify(big, strlen(big), KEY, TS, DAY_MS, SKEW_MS, NULL, &why), IRTC_EINVAL, "oversized token");
    ok(why && strstr(why, "too long"), "oversized token reason");
    is_int(jt_verify("eyJ0!!!!", 8, KEY, TS, DAY_MS, SKEW_MS, NULL, &why), IRTC_EINVAL, "not Base64");
    ok(why && strstr(why, "Base64"), "not Base64 reason");
    is_int(jt_verify("eyJ0 aW1l", 9, KEY, TS, DAY_MS, SKEW_MS, NULL, &why), IRTC_EINVAL, "whitespace in Base64");

    raw_token(&p, SIG0, raw, sizeof(raw));
    *strstr(raw, "@#@") = '#';
    refuse(raw, IRTC_EINVAL, "@#@", "no separator");
    refuse("{}@#", IRTC_EINVAL, "@#@", "half a separator");
    raw_token(&p, "AAAA", raw, sizeof(raw));
    refuse(raw, IRTC_EINVAL, "signature", "short signature");
    raw_token(&p, SIG0 "AAAA", raw, sizeof(raw));
    refuse(raw, IRTC_EINVAL, "signature", "long signature");
    raw_token(&p, "!AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", raw, sizeof(raw));
    refuse(raw, IRTC_EINVAL, "signature", "signature not Base64");
    raw_token(&p, "", raw, sizeof(raw));
    refuse(raw, IRTC_EINVAL, "signature", "empty signature");

    /* An embedded NUL must not let a C string comparison stop early. */
    raw_token(&p, SIG0, raw, sizeof(raw));
    n = strlen(raw);
    raw[10] = '\0';
    tok = b64_of(raw, n);
    is_int(jt_verify(tok, strlen(tok), KEY, TS, DAY_MS, SKEW_MS, NULL, &why), IRTC_EINVAL, "NUL inside token");
    ok(why && strstr(why, "NUL"), "NUL reason");
    free(tok);

    jt_sign(&p, KEY, sig);
    raw_token(&p, sig, raw, sizeof(raw));
    tok = b64_of(raw, strlen(raw));
    is_int(jt_parse(tok, strlen(tok), &p, sig, JT_SIG_B64_SIZE - 1, &why), IRTC_EINVAL, "signature buffer too small");
    free(tok);
}

static void test_json_errors(void)
{
    static const struct {
        const char *body, *why, *desc;
    } bad[] = {
        {"[]", "JSON", "array instead of object"},
        {"", "JSON", "empty body"},
        {"{\"userId\":\"alice\"", "JSON", "unterminated object"},
        {"{\"userId\":\"alice}", "JSON", "unterminated string"},
        {"{\"userId\" \"alice\"}", "JSON", "missing colon"},
        {"{\"userId\":\"alice\",}", "JSON", "trailing comma"},
        {"{\"userId\":\"alice\" \"x\":1}", "JSON", "missing comma"},
        {"{userId:\"alice\"}", "JSON", "unquoted key"},
        {"{\"userId\":\"al\tice\"}", "JSON", "raw control character"},
        {"{\"userId\":\"al\\xice\"}", "JSON", "invalid escape"},
        {"{\"userId\":\"al\\u00\"}", "JSON", "short \\u escape"},
        {"{\"userId\":\"al\\u0000ice\"}", "JSON", "escaped NUL"},
        {"{\"x\":tru}", "JSON", "bad literal in unknown member"},
        {"{\"x\":01}", "JSON", "bad number in unknown member"},
        {"{\"x\":1.}", "JSON", "bad fraction in unknown member"},
        {"{\"x\":[1,]}", "JSON", "bad array in unknown member"},
        {"{\"x\":[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]}", "JSON", "nesting too deep"},
        {"{} {}", "JSON", "trailing data"},
        {"{}", "userId is missing", "empty object"},
        {"{\"userId\":\"a\",\"userId\":\"b\"}", "userId appears twice", "duplicate member"},
    };
    char raw[512];
    size_t i;

    for (i = 0; i < IRTC_ARRAY_SIZE(bad); i++) {
        snprintf(raw, sizeof(raw), "%s@#@" SIG0, bad[i].body);
        refuse(raw, IRTC_EINVAL, bad[i].why, bad[i].desc);
    }
}

/* Replaces the text of member `name` (value included) in a good body. */
static void with_member(const char *name, const char *json_value, char *raw, size_t cap)
{
    static const char *names[] = {"timeStamp", "role", "port", "appId", "host", "tenantId", "userId", "channelId"};
    const char *vals[] = {"1700000000000", "\"1\"",    "\"443\"",   "\"App1\"",
                          "\"10.0.0.5\"",  "\"2012\"", "\"alice\"", "\"room-1\""};
    size_t i, o = 0;

    o += (size_t)snprintf(raw + o, cap - o, "{");
    for (i = 0; i < IRTC_ARRAY_SIZE(names); i++) {
        const char *v = strcmp(names[i], name) == 0 ? json_value : vals[i];
        if (v == NULL)
            continue; /* omit the member */
        o += (size_t)snprintf(raw + o, cap - o, "%s\"%s\":%s", o > 1 ? "," : "", names[i], v);
    }
    snprintf(raw + o, cap - o, "}@#@" SIG0);
}

static void test_members(void)
{
    static const char *names[] = {"timeStamp", "role", "port", "appId", "host", "tenantId", "userId", "channelId"};
    static const struct {
        const char *name, *value, *why;
    } bad[] = {
        {"userId", "123", "userId must be a string"},
        {"channelId", "null", "channelId must be a string"},
        {"appId", "[\"App1\"]", "appId must be a string"},
        {"host", "{}", "host must be a string"},
        {"port", "443", "port must be a string"},
        {"role", "1", "role must be a string"},
        {"tenantId", "true", "tenantId must be a string"},
        {"timeStamp", "\"1700000000000\"", "timeStamp must be a non-negative integer"},
        {"timeStamp", "-1", "timeStamp must be"},
        {"timeStamp", "1.5", "timeStamp must be"},
        {"timeStamp", "1e3", "timeStamp must be"},
        {"timeStamp", "01", "timeStamp must be"},
        {"timeStamp", "9223372036854775808", "timeStamp must be"},
        {"timeStamp", "null", "timeStamp must be"},
        {"userId", "\"uuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuuu\"", "userId is too long"},
        {"role", "\"01\"", "role is too long"},
        {"userId", "\"\"", "userId must be 1-64"},
        {"userId", "\"al ice\"", "userId must be"},
        {"userId", "\"al.ice\"", "userId must be"},
        {"userId", "\"\\u00e9\"", "userId must be"},
        {"userId", "\"caf\xc3\xa9\"", "userId must be"},
        {"channelId", "\"room#1\"", "channelId must be"},
        {"channelId", "\"\"", "channelId must be"},
        {"appId", "\"App_1\"", "appId must be 1-64 characters of [A-Za-z0-9]"},
        {"appId", "\"App-1\"", "appId must be"},
        {"appId", "\"\"", "appId must be"},
        {"role", "\"2\"", "role must be \"0\" or \"1\""},
        {"role", "\"\"", "role must be"},
        {"port", "\"0\"", "port must be"},
        {"port", "\"65536\"", "port must be"},
        {"port", "\"44a\"", "port must be"},
        {"port", "\"\"", "port must be"},
        {"host", "\"\"", "host must be"},
        {"host", "\"a b\"", "host must be"},
        {"host", "\"a\\\"b\"", "host must be"},
        {"host", "\"a&port=1\"", "host must be"},
        {"tenantId", "\"t=1\"", "tenantId must be"},
        {"tenantId", "\"t\\\\1\"", "tenantId must be"},
    };
    char raw[1024], msg[64];
    size_t i;

    for (i = 0; i < IRTC_ARRAY_SIZE(names); i++) {
        snprintf(msg, sizeof(msg), "%s is missing", names[i]);
        with_member(names[i], NULL, raw, sizeof(raw));
        refuse(raw, IRTC_EINVAL, msg, msg);
    }
    for (i = 0; i < IRTC_ARRAY_SIZE(bad); i++) {
        with_member(bad[i].name, bad[i].value, raw, sizeof(raw));
        snprintf(msg, sizeof(msg), "%s = %.40s", bad[i].name, bad[i].value);
        refuse(raw, IRTC_EINVAL, bad[i].why, msg);
    }
}

/* jt_make refuses to sign what jt_parse would refuse. */
static void test_make_validates(void)
{
    static const struct {
        size_t off;
        const char *value;
    } bad[] = {
        {offsetof(jt_payload_t, user_id), "a/b"},     {offsetof(jt_payload_t, channel_id), ""},
        {offsetof(jt_payload_t, app_id), "a-b"},      {offsetof(jt_payload_t, host), "h\"x"},
        {offsetof(jt_payload_t, port), "99999"},      {offsetof(jt_payload_t, role), "2"},
        {offsetof(jt_payload_t, tenant_id), "a&b=c"},
    };
    jt_payload_t p;
    char *tok = (char *)"unchanged";
    const char *why = NULL;
    size_t i;

    for (i = 0; i < IRTC_ARRAY_SIZE(bad); i++) {
        p = base_payload();
        strcpy((char *)&p + bad[i].off, bad[i].value);
        is_int(jt_make(&p, KEY, &tok), IRTC_EINVAL, "jt_make refuses \"%s\"", bad[i].value);
        ok(tok == NULL, "no token for \"%s\"", bad[i].value);
        is_int(jt_validate(&p, &why), IRTC_EINVAL, "jt_validate refuses \"%s\" (%s)", bad[i].value, why);
    }
    p = base_payload();
    tok = (char *)"unchanged";
    is_int(jt_make(&p, NULL, &tok), IRTC_EINVAL, "jt_make refuses a NULL accessKey");
    ok(tok == NULL, "no token without a key");
    p.timestamp_ms = -1;
    is_int(jt_make(&p, KEY, &tok), IRTC_EINVAL, "jt_make refuses a negative timeStamp");
    ok(jt_validate(&p, &why) == IRTC_EINVAL && strstr(why, "timeStamp"), "negative timeStamp reason");
}

static void test_signature(void)
{
    jt_payload_t p = base_payload(), got;
    char raw[2048], sig[JT_SIG_B64_SIZE];
    const char *why = NULL;
    size_t i;

    jt_sign(&p, KEY, sig);
    raw_token(&p, sig, raw, sizeof(raw));
    is_int(verify_raw(raw, KEY, TS, &got, &why), IRTC_OK, "hand-built token verifies");

    /* Flip one signature character at a time (to another Base64 symbol). */
    for (i = 0; i < 43; i += 7) {
        char tampered[JT_SIG_B64_SIZE];
        strcpy(tampered, sig);
        tampered[i] = tampered[i] == 'A' ? 'B' : 'A';
        raw_token(&p, tampered, raw, sizeof(raw));
        refuse(raw, IRTC_ECRYPTO, "signature does not match", "signature char flipped");
    }
    /* Change one signed field but keep the old signature. */
    got = p;
    strcpy(got.user_id, "alicf");
    raw_token(&got, sig, raw, sizeof(raw));
    refuse(raw, IRTC_ECRYPTO, "signature", "userId changed after signing");
    got = p;
    got.timestamp_ms++;
    raw_token(&got, sig, raw, sizeof(raw));
    refuse(raw, IRTC_ECRYPTO, "signature", "timeStamp changed after signing");
    got = p;
    strcpy(got.role, "0");
    raw_token(&got, sig, raw, sizeof(raw));
    refuse(raw, IRTC_ECRYPTO, "signature", "role changed after signing");

    raw_token(&p, sig, raw, sizeof(raw));
    is_int(verify_raw(raw, "secret-kez", TS, NULL, &why), IRTC_ECRYPTO, "wrong accessKey");
    is_int(verify_raw(raw, "", TS, NULL, &why), IRTC_ECRYPTO, "empty accessKey");
    is_int(verify_raw(raw, NULL, TS, NULL, &why), IRTC_EINVAL, "no accessKey");
    is_int(jt_check(&p, SIG0 "A", KEY, TS, DAY_MS, SKEW_MS, &why), IRTC_ECRYPTO, "jt_check: overlong signature");
    is_int(jt_check(&p, "", KEY, TS, DAY_MS, SKEW_MS, &why), IRTC_ECRYPTO, "jt_check: empty signature");
    is_int(jt_check(&p, sig, KEY, TS, DAY_MS, SKEW_MS, &why), IRTC_OK, "jt_check: right signature");
}

static void test_time_window(void)
{
    jt_payload_t p = base_payload(), got;
    char raw[2048], sig[JT_SIG_B64_SIZE];
    const char *why = NULL;

    jt_sign(&p, KEY, sig);
    raw_token(&p, sig, raw, sizeof(raw));
    is_int(verify_raw(raw, KEY, TS + DAY_MS, NULL, &why), IRTC_OK, "valid at exactly timeStamp + ttl");
    memset(&got, 0, sizeof(got));
    is_int(verify_raw(raw, KEY, TS + DAY_MS + 1, &got, &why), JT_EXPIRED, "expired 1 ms after timeStamp + ttl");
    ok(why && strstr(why, "expired"), "expired reason");
    is_str(got.user_id, "alice", "payload still returned for an expired token");
    is_int(jt_check(&p, sig, KEY, TS + 1000, 999, SKEW_MS, &why), JT_EXPIRED, "ttl is honoured");
    is_int(jt_check(&p, sig, KEY, TS + 1000, 0, SKEW_MS, &why), JT_EXPIRED, "ttl 0 expires at once");
    is_int(jt_check(&p, sig, KEY, TS, 0, 0, &why), IRTC_OK, "ttl 0 is valid at timeStamp");

    is_int(verify_raw(raw, KEY, TS - SKEW_MS, NULL, &why), IRTC_OK, "timeStamp exactly skew ahead is accepted");
    is_int(verify_raw(raw, KEY, TS - SKEW_MS - 1, NULL, &why), IRTC_EINVAL, "timeStamp beyond skew is refused");
    ok(why && strstr(why, "future"), "future reason");
    is_int(jt_check(&p, sig, KEY, 0, DAY_MS, SKEW_MS, &why), IRTC_EINVAL, "far-future timeStamp refused");

    /* A forged token is told it is forged, never that it expired. */
    is_int(jt_check(&p, SIG0, KEY, TS + 10 * DAY_MS, DAY_MS, SKEW_MS, &why), IRTC_ECRYPTO,
           "bad signature wins over expiry");

    p.timestamp_ms = INT64_MAX;
    jt_sign(&p, KEY, sig);
    is_int(jt_check(&p, sig, KEY, INT64_MAX, INT64_MAX, INT64_MAX, &why), IRTC_OK, "no overflow at INT64_MAX");
    is_int(jt_check(&p, sig, KEY, 0, INT64_MAX, INT64_MAX, &why), IRTC_OK, "no overflow with huge skew");
    p.timestamp_ms = 0;
    jt_sign(&p, KEY, sig);
    is_int(jt_check(&p, sig, KEY, INT64_MAX, INT64_MAX - 1, 0, &why), JT_EXPIRED, "no overflow with huge now");

    is_int(jt_check(&p, sig, KEY, -1, DAY_MS, SKEW_MS, &why), IRTC_EINVAL, "negative now refused");
    is_int(jt_check(&p, sig, KEY, TS, -1, SKEW_MS, &why), IRTC_EINVAL, "negative ttl refused");
    is_int(jt_check(&p, sig, KEY, TS, DAY_MS, -1, &why), IRTC_EINVAL, "negative skew refused");
    is_int(jt_check(&p, NULL, KEY, TS, DAY_MS, SKEW_MS, &why), IRTC_EINVAL, "NULL signature refused");
}

/* Bodies written by other JSON producers: any member order, whitespace,
 * escapes, and members the contract does not define. */
static void test_lenient_json(void)
{
    jt_payload_t p = base_payload(), got;
    char raw[2048], sig[JT_SIG_B64_SIZE];
    const char *why = NULL;

    strcpy(p.user_id, "Alice");
    strcpy(p.tenant_id, "a/b");
    jt_sign(&p, KEY, sig);
    snprintf(raw, sizeof(raw),
             " {\n \"authToken\" : \"ignored\", \"channelId\":\"room-1\",\"userId\":\"\\u0041lice\",\r\n"
             "\"x\":{\"a\":[1,-2.5e+3,{\"b\":null},true,false,\"\\u4e2d\"]},\t\"appId\":\"App1\",\"host\":\"10.0.0.5\","
             "\"port\":\"443\",\"role\":\"1\",\"tenantId\":\"a\\/b\",\"timeStamp\" : %" PRId64 ",\"y\":[]} @#@%s",
             p.timestamp_ms, sig);
    is_int(verify_raw(raw, KEY, TS, &got, &why), IRTC_OK, "reordered body with extras verifies");
    ok(memcmp(&got, &p, sizeof(p)) == 0, "escapes decoded, extras ignored");

    snprintf(raw, sizeof(raw),
             "{\"timeStamp\":0,\"role\":\"1\",\"port\":\"1\",\"appId\":\"a\",\"host\":\"h\","
             "\"tenantId\":\"\",\"userId\":\"u\",\"channelId\":\"c\"}@#@" SIG0);
    is_int(verify_raw(raw, KEY, 0, &got, &why), IRTC_ECRYPTO, "minimal body parses (timeStamp 0, empty tenant)");
    is_str(got.tenant_id, "", "empty tenantId kept");
}

int main(void)
{
    test_vectors();
    test_guide_token();
    test_envelope_errors();
    test_json_errors();
    test_members();
    test_make_validates();
    test_signature();
    test_time_window();
    test_lenient_json();
    return done_testing();
}
