/*
 * dtls.c — DTLS-SRTP over OpenSSL 3: certificate, per-worker SSL_CTX, and
 * the per-transport connection (handshake, fingerprint check, SRTP key
 * export, application data for SCTP).
 *
 * Runs on the media worker owning each connection (certificate and context
 * creation: at start, any thread).  Datagrams come in through a memory BIO
 * and leave through a BIO of ours that hands each write — one datagram, as
 * OpenSSL's DTLS layer flushes at most DTLS_MTU at a time — to the send
 * callback, so nothing is queued here.  OpenSSL errors are translated into
 * static reasons and the error queue is cleared before returning.
 *
 * Does not: decide roles (the SDP answer does), run timers, touch SRTP
 * packets, or log per packet (failures are logged rate-limited).
 */
#include "media/dtls.h"

#include <pthread.h>
#include <string.h>
#include <strings.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "core/common.h"
#include "core/log.h"

#define DEFAULT_PROFILES "SRTP_AEAD_AES_128_GCM:SRTP_AES128_CM_SHA1_80"
/* ECDSA first (our certificate); RSA suites only matter as a client.  AEAD
 * only: every browser with DTLS-SRTP offers these. */
#define CIPHERS                                                                                                        \
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-ECDSA-AES256-GCM-SHA384:"                       \
    "ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-CHACHA20-POLY1305:ECDHE-RSA-AES256-GCM-SHA384"
#define GROUPS "X25519:P-256"
#define EXPORTER_LABEL "EXTRACTOR-dtls_srtp" /* RFC 5764 §4.2 */
#define CERT_DAYS 30
#define MAX_DIGEST 64
/* One DTLS record's plaintext at most (RFC 6347 §4.1). */
#define MAX_RECORD 16384

/* Record content types (RFC 6347 §4.1) and what an epoch-0 record may hold. */
enum { REC_CCS = 20, REC_ALERT = 21, REC_HANDSHAKE = 22, REC_APP_DATA = 23 };
#define REC_HEADER_LEN 13
#define HS_HEADER_LEN 12
/* Larger than any handshake message of ours or a browser's (a certificate
 * chain is a few KB), far below OpenSSL's own limits. */
#define HS_MAX_MESSAGE (64 * 1024)

#define R_FP_MISMATCH "certificate fingerprint mismatch"
#define R_NO_CERT "peer sent no certificate"
#define R_NO_PROFILE "no SRTP profile negotiated"
#define R_EXPORT "SRTP key export failed"
#define R_TIMEOUT "handshake timed out"
#define R_RETRANSMIT "handshake retransmissions exhausted"
#define R_PEER_CLOSED "closed by peer"
#define R_PROTO "DTLS protocol error"

struct dtls_cert {
    X509 *x509;
    EVP_PKEY *key;
    char fingerprint[DTLS_FINGERPRINT_LEN + 1];
};

struct dtls_ctx {
    SSL_CTX *ssl_ctx;
};

struct dtls_conn {
    SSL *ssl;
    BIO *rbio; /* owned by ssl */
    dtls_callbacks_t cb;
    void *user;
    dtls_role_t role;
    dtls_state_t state;
    uint64_t deadline_ms;
    unsigned rto_ms;
    const EVP_MD *fp_md;
    uint8_t fp[MAX_DIGEST];
    unsigned fp_len;
    bool fp_mismatch;
    unsigned depth; /* nesting of calls that may run callbacks */
    bool dead;      /* dtls_conn_free was called from a callback */
    dtls_ctx_t *ctx;
    bool sent_handshake; /* a handshake record went out: a peer's handshake is under way */
    uint32_t hello_len;  /* length of a ClientHello buffered in fragments, not answered yet */
    bool hello_fed;      /* a ClientHello (whole or a fragment) went into this SSL, not answered yet */
};

/* ---- errors -------------------------------------------------------------- */

/* Maps the first queued OpenSSL error to a static reason and logs the
 * library's own text (rate-limited: a scanner can fail many handshakes). */
static const char *drain_errors(const dtls_conn_t *c)
{
    unsigned long e = ERR_get_error();
    const char *reason = R_PROTO;
    if (c->fp_mismatch) {
        reason = R_FP_MISMATCH;
    } else if (e != 0 && ERR_GET_LIB(e) == ERR_LIB_SSL) {
        int r = ERR_GET_REASON(e);
        if (r == SSL_R_NO_SHARED_CIPHER)
            reason = "no shared cipher suite";
        else if (r == SSL_R_UNSUPPORTED_PROTOCOL || r == SSL_R_WRONG_VERSION_NUMBER || r == SSL_R_VERSION_TOO_LOW)
            reason = "DTLS version not supported";
        else if (r == SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE)
            reason = R_NO_CERT;
        else if (r == SSL_R_SSLV3_ALERT_BAD_CERTIFICATE || r == SSL_R_SSLV3_ALERT_CERTIFICATE_UNKNOWN)
            reason = "peer rejected our certificate";
        else if (r >= SSL_AD_REASON_OFFSET)
            reason = "peer sent a fatal alert";
    }
    char detail[200] = "";
    if (e != 0)
        ERR_error_string_n(e, detail, sizeof(detail));
    ERR_clear_error();
    log_ratelimited(LOG_LEVEL_WARN, "dtls", 10000, "handshake/record failure: %s (%s)", reason,
                    detail[0] ? detail : "no OpenSSL detail");
    return reason;
}

static void ssl_err(char *err, size_t cap, const char *what)
{
    char buf[200] = "unknown error";
    unsigned long e = ERR_get_error();
    if (e != 0)
        ERR_error_string_n(e, buf, sizeof(buf));
    snprintf(err, cap, "%s: %s", what, buf);
    ERR_clear_error();
}

/* ---- certificate --------------------------------------------------------- */

static void format_fingerprint(const uint8_t *d, unsigned n, char *out)
{
    static const char hex[] = "0123456789ABCDEF";
    for (unsigned i = 0; i < n; i++) {
        out[i * 3] = hex[d[i] >> 4];
        out[i * 3 + 1] = hex[d[i] & 15];
        out[i * 3 + 2] = i + 1 < n ? ':' : '\0';
    }
}

static int build_x509(X509 *x, EVP_PKEY *key)
{
    uint8_t serial[16];
    if (RAND_bytes(serial, sizeof(serial)) != 1)
        return -1;
    serial[0] = (serial[0] & 0x7f) | 0x01; /* positive, never zero (RFC 5280 §4.1.2.2) */
    BIGNUM *bn = BN_bin2bn(serial, sizeof(serial), NULL);
    int ok = bn != NULL && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) != NULL;
    BN_free(bn);
    /* Browsers ignore validity for DTLS; the day of slack covers skewed peers
     * that do not. */
    ok = ok && X509_set_version(x, 2) && X509_gmtime_adj(X509_getm_notBefore(x), -86400L) &&
         X509_gmtime_adj(X509_getm_notAfter(x), 86400L * CERT_DAYS);
    X509_NAME *name = X509_get_subject_name(x);
    ok = ok && X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"irtc", -1, -1, 0);
    ok = ok && X509_set_issuer_name(x, name) && X509_set_pubkey(x, key) && X509_sign(x, key, EVP_sha256()) > 0;
    return ok ? 0 : -1;
}

dtls_cert_t *dtls_cert_new(char *err, size_t cap)
{
    dtls_cert_t *cert = xcalloc(1, sizeof(*cert));
    cert->key = EVP_EC_gen("P-256");
    if (cert->key == NULL) {
        ssl_err(err, cap, "generating P-256 key");
        goto fail;
    }
    cert->x509 = X509_new();
    if (cert->x509 == NULL || build_x509(cert->x509, cert->key) != 0) {
        ssl_err(err, cap, "building self-signed certificate");
        goto fail;
    }
    uint8_t md[EVP_MAX_MD_SIZE];
    unsigned n = 0;
    if (X509_digest(cert->x509, EVP_sha256(), md, &n) != 1 || n != 32) {
        ssl_err(err, cap, "hashing certificate");
        goto fail;
    }
    format_fingerprint(md, n, cert->fingerprint);
    return cert;
fail:
    dtls_cert_free(cert);
    return NULL;
}

const char *dtls_cert_fingerprint(const dtls_cert_t *cert)
{
    return cert->fingerprint;
}

void dtls_cert_free(dtls_cert_t *cert)
{
    if (cert == NULL)
        return;
    X509_free(cert->x509);
    EVP_PKEY_free(cert->key);
    free(cert);
}

/* ---- context ------------------------------------------------------------- */

/* Accepts any chain (WebRTC certificates are self-signed) unless the leaf
 * fails the SDP fingerprint, which aborts the handshake with an alert before
 * we send our Finished; the post-handshake check in keys_ready repeats it. */
static int verify_cb(int preverify_ok, X509_STORE_CTX *xs)
{
    SSL *ssl = X509_STORE_CTX_get_ex_data(xs, SSL_get_ex_data_X509_STORE_CTX_idx());
    dtls_conn_t *c = ssl ? SSL_get_app_data(ssl) : NULL;
    X509 *leaf = X509_STORE_CTX_get0_cert(xs);
    if (c == NULL || leaf == NULL)
        return 0;
    uint8_t md[EVP_MAX_MD_SIZE];
    unsigned n = 0;
    if (X509_digest(leaf, c->fp_md, md, &n) != 1 || n != c->fp_len || CRYPTO_memcmp(md, c->fp, n) != 0) {
        c->fp_mismatch = true;
        X509_STORE_CTX_set_error(xs, X509_V_ERR_CERT_REJECTED);
        return 0;
    }
    return 1;
}

static bool profiles_supported(const char *list)
{
    char buf[256];
    snprintf(buf, sizeof(buf), "%s", list);
    char *save = NULL;
    for (char *p = strtok_r(buf, ":", &save); p != NULL; p = strtok_r(NULL, ":", &save)) {
        if (strcmp(p, "SRTP_AEAD_AES_128_GCM") != 0 && strcmp(p, "SRTP_AES128_CM_SHA1_80") != 0)
            return false;
    }
    return list[0] != '\0' && strlen(list) < sizeof(buf);
}

static int configure_ctx(SSL_CTX *sc, const dtls_cert_t *cert, const char *profiles, char *err, size_t cap)
{
    /* Chrome and Firefox negotiate DTLS 1.2 with use_srtp; 1.0 is obsolete. */
    if (!SSL_CTX_set_min_proto_version(sc, DTLS1_2_VERSION) || !SSL_CTX_set_max_proto_version(sc, DTLS1_2_VERSION)) {
        ssl_err(err, cap, "DTLS 1.2");
        return -1;
    }
    /* No resumption: every handshake must present the certificate the SDP
     * fingerprint names. */
    SSL_CTX_set_options(sc, SSL_OP_NO_QUERY_MTU | SSL_OP_NO_TICKET | SSL_OP_NO_RENEGOTIATION |
                                SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_NO_COMPRESSION);
    SSL_CTX_set_session_cache_mode(sc, SSL_SESS_CACHE_OFF);
    if (SSL_CTX_set_cipher_list(sc, CIPHERS) != 1 || SSL_CTX_set1_groups_list(sc, GROUPS) != 1) {
        ssl_err(err, cap, "cipher suites / groups");
        return -1;
    }
    /* Returns 0 on success, unlike the rest of OpenSSL. */
    if (SSL_CTX_set_tlsext_use_srtp(sc, profiles) != 0) {
        ssl_err(err, cap, "use_srtp profiles");
        return -1;
    }
    if (SSL_CTX_use_certificate(sc, cert->x509) != 1 || SSL_CTX_use_PrivateKey(sc, cert->key) != 1 ||
        SSL_CTX_check_private_key(sc) != 1) {
        ssl_err(err, cap, "certificate");
        return -1;
    }
    SSL_CTX_set_verify(sc, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, verify_cb);
    return 0;
}

dtls_ctx_t *dtls_ctx_new(const dtls_cert_t *cert, const char *srtp_profiles, char *err, size_t cap)
{
    const char *profiles = srtp_profiles ? srtp_profiles : DEFAULT_PROFILES;
    if (!profiles_supported(profiles)) {
        snprintf(err, cap, "SRTP profiles \"%s\": only SRTP_AEAD_AES_128_GCM and SRTP_AES128_CM_SHA1_80", profiles);
        return NULL;
    }
    SSL_CTX *sc = SSL_CTX_new(DTLS_method());
    if (sc == NULL) {
        ssl_err(err, cap, "SSL_CTX_new");
        return NULL;
    }
    if (configure_ctx(sc, cert, profiles, err, cap) != 0) {
        SSL_CTX_free(sc);
        return NULL;
    }
    dtls_ctx_t *ctx = xcalloc(1, sizeof(*ctx));
    ctx->ssl_ctx = sc;
    return ctx;
}

void dtls_ctx_free(dtls_ctx_t *ctx)
{
    if (ctx == NULL)
        return;
    SSL_CTX_free(ctx->ssl_ctx); /* each SSL holds its own reference */
    free(ctx);
}

/* ---- the outgoing BIO ---------------------------------------------------- */

static BIO_METHOD *out_method;
static pthread_once_t out_method_once = PTHREAD_ONCE_INIT;

static int out_write(BIO *b, const char *data, int len)
{
    dtls_conn_t *c = BIO_get_data(b);
    if (len > 0 && data[0] == REC_HANDSHAKE)
        c->sent_handshake = true;
    /* A server's alert before its first flight answers garbage (a forged or
     * broken ClientHello, discarded below): sending it to the address the
     * real client uses could end that client's handshake. */
    if (len > 0 && data[0] == REC_ALERT && c->role == DTLS_SERVER && !c->sent_handshake)
        return len;
    if (len > 0 && c->cb.send != NULL)
        c->cb.send(c->user, (const uint8_t *)data, (size_t)len);
    return len;
}

static long out_ctrl(BIO *b, int cmd, long num, void *ptr)
{
    switch (cmd) {
    case BIO_CTRL_FLUSH:
        return 1;
    case BIO_CTRL_DGRAM_QUERY_MTU:
    case BIO_CTRL_DGRAM_GET_FALLBACK_MTU:
        return DTLS_MTU;
    default:
        return 0; /* nothing pending, no MTU overhead, no peer address */
    }
}

static int out_create(BIO *b)
{
    BIO_set_init(b, 1);
    return 1;
}

static void make_out_method(void)
{
    out_method = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "irtc dtls datagram out");
    if (out_method == NULL || !BIO_meth_set_write(out_method, out_write) || !BIO_meth_set_ctrl(out_method, out_ctrl) ||
        !BIO_meth_set_create(out_method, out_create))
        abort(); /* only on OOM at start-up */
}

/* ---- connection: lifecycle --------------------------------------------- */

static int parse_fingerprint(dtls_conn_t *c, const char *alg, const char *hex, const char **why)
{
    static const struct {
        const char *name;
        const char *md;
    } algs[] = {
        {"sha-1", "SHA1"}, {"sha-224", "SHA224"}, {"sha-256", "SHA256"}, {"sha-384", "SHA384"}, {"sha-512", "SHA512"}};
    c->fp_md = NULL;
    for (size_t i = 0; alg != NULL && i < IRTC_ARRAY_SIZE(algs); i++)
        if (strcasecmp(alg, algs[i].name) == 0)
            c->fp_md = EVP_get_digestbyname(algs[i].md);
    if (c->fp_md == NULL) {
        *why = "unsupported fingerprint hash algorithm";
        return IRTC_EINVAL;
    }
    size_t want = (size_t)EVP_MD_get_size(c->fp_md);
    c->fp_len = 0;
    for (const char *p = hex ? hex : ""; c->fp_len < want; p += 3) {
        int hi = OPENSSL_hexchar2int((unsigned char)p[0]);
        int lo = hi < 0 ? -1 : OPENSSL_hexchar2int((unsigned char)p[1]);
        char sep = c->fp_len + 1 < want ? ':' : '\0';
        if (lo < 0 || p[2] != sep) {
            *why = "malformed certificate fingerprint";
            return IRTC_EINVAL;
        }
        c->fp[c->fp_len++] = (uint8_t)(hi << 4 | lo);
    }
    return IRTC_OK;
}

/* The caller's timer decides when; this decides how long (RFC 6347
 * §4.2.4.1: start at the initial value, double on every timeout). */
static unsigned int rto_cb(SSL *ssl, unsigned int timer_us)
{
    dtls_conn_t *c = SSL_get_app_data(ssl);
    if (timer_us == 0)
        return c->rto_ms * 1000u;
    return timer_us >= DTLS_MAX_RTO_MS * 500u ? DTLS_MAX_RTO_MS * 1000u : timer_us * 2;
}

/* A fresh SSL for c: at creation, and again when garbage killed one that had
 * not started a handshake yet (discard_before_handshake). */
static void ssl_open(dtls_conn_t *c)
{
    c->ssl = SSL_new(c->ctx->ssl_ctx);
    c->rbio = BIO_new(BIO_s_mem());
    BIO *wbio = BIO_new(out_method);
    if (c->ssl == NULL || c->rbio == NULL || wbio == NULL)
        abort(); /* OpenSSL allocation failure: same policy as xmalloc */
    /* An empty read BIO means "wait for the next datagram", not EOF. */
    BIO_set_mem_eof_return(c->rbio, -1);
    BIO_set_data(wbio, c);
    SSL_set_app_data(c->ssl, c);
    SSL_set_bio(c->ssl, c->rbio, wbio);
    if (c->role == DTLS_SERVER)
        SSL_set_accept_state(c->ssl);
    else
        SSL_set_connect_state(c->ssl);
    SSL_set_mtu(c->ssl, DTLS_MTU); /* after the BIOs: it asks wbio for overhead */
    DTLS_set_timer_cb(c->ssl, rto_cb);
}

int dtls_conn_new(dtls_ctx_t *ctx, dtls_role_t role, const char *remote_fp_alg, const char *remote_fp_hex,
                  const dtls_callbacks_t *cb, void *user, dtls_conn_t **out, const char **why)
{
    *out = NULL;
    dtls_conn_t *c = xcalloc(1, sizeof(*c));
    if (parse_fingerprint(c, remote_fp_alg, remote_fp_hex, why) != IRTC_OK) {
        free(c);
        return IRTC_EINVAL;
    }
    pthread_once(&out_method_once, make_out_method);
    c->cb = *cb;
    c->user = user;
    c->role = role;
    c->rto_ms = DTLS_INITIAL_RTO_MS;
    c->ctx = ctx;
    ssl_open(c);
    *out = c;
    return IRTC_OK;
}

void dtls_conn_set_initial_rto_ms(dtls_conn_t *c, unsigned rto_ms)
{
    c->rto_ms = IRTC_MAX(DTLS_MIN_RTO_MS, IRTC_MIN(rto_ms, DTLS_MAX_RTO_MS));
}

dtls_state_t dtls_conn_state(const dtls_conn_t *c)
{
    return c->state;
}

static void destroy(dtls_conn_t *c)
{
    SSL_free(c->ssl); /* frees both BIOs */
    ERR_clear_error();
    OPENSSL_cleanse(c, sizeof(*c));
    free(c);
}

void dtls_conn_set_callbacks(dtls_conn_t *c, const dtls_callbacks_t *cb)
{
    c->cb = *cb;
}

void dtls_conn_free(dtls_conn_t *c)
{
    if (c == NULL)
        return;
    if (c->depth > 0) {
        c->dead = true;
        return;
    }
    destroy(c);
}

/* Every entry point that may run callbacks brackets itself with these so a
 * callback may free the connection; leave() returns true if it is gone. */
static void enter(dtls_conn_t *c)
{
    c->depth++;
    ERR_clear_error(); /* SSL_get_error needs an empty queue before the call */
}

static bool leave(dtls_conn_t *c)
{
    ERR_clear_error();
    if (--c->depth == 0 && c->dead) {
        destroy(c);
        return true;
    }
    return false;
}

static void fail(dtls_conn_t *c, const char *reason)
{
    if (c->state == DTLS_STATE_FAILED || c->state == DTLS_STATE_CLOSED)
        return;
    c->state = DTLS_STATE_FAILED;
    if (c->cb.on_failed != NULL && !c->dead)
        c->cb.on_failed(c->user, reason);
}

/* ---- connection: handshake and records ----------------------------------- */

/* RFC 5764 §4.2: client key, server key, client salt, server salt. */
static int export_keys(dtls_conn_t *c, dtls_srtp_keys_t *k)
{
    SRTP_PROTECTION_PROFILE *p = SSL_get_selected_srtp_profile(c->ssl);
    if (p == NULL)
        return -1;
    if (p->id == SRTP_AEAD_AES_128_GCM) {
        k->profile = SEC_PROFILE_AEAD_AES_128_GCM;
        k->salt_len = SEC_SALT_LEN_GCM;
    } else if (p->id == SRTP_AES128_CM_SHA1_80) {
        k->profile = SEC_PROFILE_AES128_CM_SHA1_80;
        k->salt_len = SEC_SALT_LEN_CM;
    } else {
        return -1; /* dtls_ctx_new allows no other profile */
    }
    k->key_len = SEC_KEY_LEN;
    uint8_t m[2 * (SEC_KEY_LEN + SEC_MAX_SALT_LEN)];
    size_t kl = k->key_len, sl = k->salt_len, total = 2 * (kl + sl);
    if (SSL_export_keying_material(c->ssl, m, total, EXPORTER_LABEL, strlen(EXPORTER_LABEL), NULL, 0, 0) != 1)
        return -2;
    bool server = c->role == DTLS_SERVER;
    const uint8_t *client_key = m, *server_key = m + kl;
    const uint8_t *client_salt = m + 2 * kl, *server_salt = m + 2 * kl + sl;
    memcpy(k->local_key, server ? server_key : client_key, kl);
    memcpy(k->remote_key, server ? client_key : server_key, kl);
    memcpy(k->local_salt, server ? server_salt : client_salt, sl);
    memcpy(k->remote_salt, server ? client_salt : server_salt, sl);
    OPENSSL_cleanse(m, sizeof(m));
    return 0;
}

/* Returns IRTC_OK with on_connected called, or fails the connection. */
static int keys_ready(dtls_conn_t *c)
{
    X509 *peer = SSL_get0_peer_certificate(c->ssl);
    uint8_t md[EVP_MAX_MD_SIZE];
    unsigned n = 0;
    if (peer == NULL) {
        fail(c, R_NO_CERT);
        return IRTC_ECRYPTO;
    }
    if (X509_digest(peer, c->fp_md, md, &n) != 1 || n != c->fp_len || CRYPTO_memcmp(md, c->fp, n) != 0) {
        fail(c, R_FP_MISMATCH);
        return IRTC_ECRYPTO;
    }
    dtls_srtp_keys_t keys;
    memset(&keys, 0, sizeof(keys));
    int rc = export_keys(c, &keys);
    if (rc != 0) {
        SSL_shutdown(c->ssl); /* tell the peer rather than leave it waiting */
        fail(c, rc == -1 ? R_NO_PROFILE : R_EXPORT);
        return rc == -1 ? IRTC_EPROTO : IRTC_ECRYPTO;
    }
    c->state = DTLS_STATE_CONNECTED;
    if (c->cb.on_connected != NULL)
        c->cb.on_connected(c->user, &keys);
    OPENSSL_cleanse(&keys, sizeof(keys));
    return IRTC_OK;
}

/* Handles a non-positive SSL_do_handshake / SSL_read result. */
static int ssl_failure(dtls_conn_t *c, int ret)
{
    int e = SSL_get_error(c->ssl, ret);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
        return IRTC_OK;
    if (e == SSL_ERROR_ZERO_RETURN) {
        /* CLOSED before the callback, so it can tell a close_notify from a failure. */
        if (c->state != DTLS_STATE_FAILED && c->state != DTLS_STATE_CLOSED) {
            c->state = DTLS_STATE_CLOSED;
            if (c->cb.on_failed != NULL && !c->dead)
                c->cb.on_failed(c->user, R_PEER_CLOSED);
        }
        return IRTC_OK;
    }
    bool mismatch = c->fp_mismatch;
    fail(c, drain_errors(c));
    return mismatch ? IRTC_ECRYPTO : IRTC_EPROTO;
}

static int read_app(dtls_conn_t *c)
{
    uint8_t buf[MAX_RECORD];
    while (c->state == DTLS_STATE_CONNECTED && !c->dead) {
        int n = SSL_read(c->ssl, buf, sizeof(buf));
        if (n <= 0)
            return ssl_failure(c, n);
        if (c->cb.on_app_data != NULL)
            c->cb.on_app_data(c->user, buf, (size_t)n);
    }
    return IRTC_OK;
}

int dtls_conn_start(dtls_conn_t *c, uint64_t now_ms)
{
    if (c->state != DTLS_STATE_NEW)
        return IRTC_ECONFLICT;
    c->state = DTLS_STATE_HANDSHAKING;
    c->deadline_ms = now_ms + DTLS_HANDSHAKE_TIMEOUT_MS;
    if (c->role == DTLS_SERVER)
        return IRTC_OK;
    enter(c);
    int ret = SSL_do_handshake(c->ssl); /* writes the ClientHello */
    int rc = ret == 1 ? IRTC_OK : ssl_failure(c, ret);
    leave(c);
    return rc;
}

/* RFC 7983 §7: DTLS records start with a content type 20..63; 13 bytes of
 * record header is the least a datagram can hold. */
static bool looks_like_dtls(const uint8_t *d, size_t len)
{
    return len >= REC_HEADER_LEN && d[0] >= 20 && d[0] <= 63;
}

static uint32_t rd24(const uint8_t *p)
{
    return (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
}

/* Handshake messages the peer of a role sends in the clear (RFC 5246 §7.4,
 * RFC 6347 §4.2.1); Finished travels in epoch 1. */
static bool hs_type_expected(dtls_role_t role, uint8_t t)
{
    if (role == DTLS_SERVER) /* from a client: ClientHello, Certificate, CertificateVerify, ClientKeyExchange */
        return t == 1 || t == 11 || t == 15 || t == 16;
    /* from a server: ServerHello, HelloVerifyRequest, NewSessionTicket, Certificate,
     * ServerKeyExchange, CertificateRequest, ServerHelloDone */
    return t == 2 || t == 3 || t == 4 || t == 11 || t == 12 || t == 13 || t == 14;
}

/* One record of a datagram (RFC 6347 §4.1). */
typedef struct {
    uint8_t type, version_major;
    uint16_t epoch;
    const uint8_t *body;
    size_t len;
} dtls_rec_t;

/* Takes the next record off d[0..*len): false at the end, or when its
 * header or body does not fit in what is left. */
static bool next_record(const uint8_t **d, size_t *len, dtls_rec_t *r)
{
    if (*len < REC_HEADER_LEN)
        return false;
    const uint8_t *h = *d;
    size_t rlen = (size_t)h[11] << 8 | h[12];
    if (rlen > *len - REC_HEADER_LEN)
        return false;
    *r = (dtls_rec_t){.type = h[0], .version_major = h[1], .epoch = (uint16_t)(h[3] << 8 | h[4]),
                      .body = h + REC_HEADER_LEN, .len = rlen};
    *d += REC_HEADER_LEN + rlen;
    *len -= REC_HEADER_LEN + rlen;
    return true;
}

/* One handshake message fragment of a record (RFC 6347 §4.2.2). */
typedef struct {
    uint8_t type;
    uint16_t message_seq;
    uint32_t msg_len, frag_off, frag_len;
} dtls_frag_t;

/* Takes the next fragment off p[0..*n): false at the end, or when its
 * header or body does not fit in what is left. */
static bool next_fragment(const uint8_t **p, size_t *n, dtls_frag_t *f)
{
    if (*n < HS_HEADER_LEN)
        return false;
    const uint8_t *h = *p;
    *f = (dtls_frag_t){.type = h[0], .message_seq = (uint16_t)(h[4] << 8 | h[5]), .msg_len = rd24(h + 1),
                       .frag_off = rd24(h + 6), .frag_len = rd24(h + 9)};
    if (f->frag_len > *n - HS_HEADER_LEN)
        return false;
    *p += HS_HEADER_LEN + f->frag_len;
    *n -= HS_HEADER_LEN + f->frag_len;
    return true;
}

/* The handshake fragments of one epoch-0 record must tile it exactly, each
 * inside its message (RFC 6347 §4.2.2). */
static bool hs_fragments_ok(dtls_role_t role, const uint8_t *p, size_t n)
{
    dtls_frag_t f;
    while (n > 0)
        if (!next_fragment(&p, &n, &f) || !hs_type_expected(role, f.type) || f.msg_len > HS_MAX_MESSAGE ||
            f.frag_off + f.frag_len > f.msg_len)
            return false;
    return true;
}

/*
 * RFC 6347 §4.1.2.7: invalid records are discarded silently, and only an
 * authenticated alert may end an association.  OpenSSL already drops
 * records that fail decryption, but treats anything it cannot parse in
 * epoch 0 (the clear) as fatal: one forged datagram from the peer's address
 * would end the call.  So the clear part of a datagram is checked here first
 * and the whole datagram dropped when a record is malformed (header, version,
 * length, handshake framing, a message this role never receives), is an
 * alert (unauthenticated), or is application data (never in the clear).
 * Records of later epochs are left to OpenSSL's MAC check.
 */
static bool datagram_acceptable(dtls_role_t role, const uint8_t *d, size_t len)
{
    dtls_rec_t r;
    while (len > 0) {
        if (!next_record(&d, &len, &r) || r.version_major != 0xFE || r.type < REC_CCS || r.type > REC_APP_DATA)
            return false;
        if (r.epoch == 0) {
            if (r.type == REC_ALERT || r.type == REC_APP_DATA)
                return false;
            if (r.type == REC_CCS && (r.len != 1 || r.body[0] != 1))
                return false;
            if (r.type == REC_HANDSHAKE && (r.len == 0 || !hs_fragments_ok(role, r.body, r.len)))
                return false;
        }
    }
    return true;
}

/* Forgets what the SSL of a server that has not answered yet holds: its
 * errors are logged (rate-limited) and cleared, a fresh SSL takes its place. */
static void ssl_reopen(dtls_conn_t *c)
{
    (void)drain_errors(c);
    SSL_free(c->ssl);
    ssl_open(c);
    c->hello_len = 0;
    c->hello_fed = false;
}

/* Before any handshake of ours is under way, a datagram that passed the
 * checks above can still be garbage to OpenSSL (a well-framed ClientHello
 * full of nonsense).  Nothing is lost by forgetting it: the SSL is replaced
 * and the real peer's ClientHello is still welcome.  True when it did so. */
static bool discard_before_handshake(dtls_conn_t *c)
{
    if (c->state != DTLS_STATE_HANDSHAKING || c->role != DTLS_SERVER || c->sent_handshake || c->fp_mismatch)
        return false;
    ssl_reopen(c);
    return true;
}

/* The length of the first ClientHello fragment (epoch 0) in an acceptable
 * datagram, and whether that fragment is the whole message; 0 when none. */
static uint32_t client_hello_in(const uint8_t *d, size_t len, bool *whole)
{
    dtls_rec_t r;
    dtls_frag_t f;
    while (next_record(&d, &len, &r)) {
        if (r.type != REC_HANDSHAKE || r.epoch != 0)
            continue;
        const uint8_t *p = r.body;
        for (size_t n = r.len; next_fragment(&p, &n, &f);)
            if (f.type == 1) {
                *whole = f.frag_off == 0 && f.frag_len == f.msg_len;
                return f.msg_len;
            }
    }
    return 0;
}

/* Until a server has answered, its peer can only have sent a ClientHello:
 * message 0, or 1 after a HelloVerifyRequest (RFC 6347 §4.2.2), in the
 * clear.  OpenSSL would buffer anything else for later — a "Certificate"
 * fragment numbered 0, a ClientHello numbered 36 — and then refuse the real
 * ClientHello as not fitting what it holds (fuzz_dtls found both), so such
 * a datagram is dropped before it gets there.  Framing was checked by
 * datagram_acceptable. */
static bool fits_before_answer(const dtls_conn_t *c, const uint8_t *d, size_t len)
{
    if (c->role != DTLS_SERVER || c->sent_handshake)
        return true;
    dtls_rec_t r;
    dtls_frag_t f;
    while (next_record(&d, &len, &r)) {
        if (r.type != REC_HANDSHAKE || r.epoch != 0)
            return false;
        const uint8_t *p = r.body;
        for (size_t n = r.len; next_fragment(&p, &n, &f);)
            if (f.type != 1 || f.message_seq > 1)
                return false;
    }
    return true;
}

/* OpenSSL reassembles a fragmented ClientHello under its message length; a
 * forged fragment of another length (or a stale partial one) would make it
 * discard the real peer's ClientHello and every retransmission of it.  Until
 * we answered, a whole ClientHello, or a fragment that does not fit the one
 * being reassembled, therefore starts from a fresh SSL. */
static void restart_on_new_hello(dtls_conn_t *c, const uint8_t *d, size_t len)
{
    if (c->state != DTLS_STATE_HANDSHAKING || c->role != DTLS_SERVER || c->sent_handshake)
        return;
    bool whole = false;
    uint32_t hello = client_hello_in(d, len, &whole);
    if (hello == 0)
        return;
    /* An unanswered whole ClientHello counts too: OpenSSL may have kept it
     * without answering (a future message_seq it buffers), and the real
     * one would then never complete (fuzz_dtls found it). */
    if (c->hello_fed && (whole || hello != c->hello_len))
        ssl_reopen(c);
    c->hello_len = whole ? 0 : hello;
    c->hello_fed = true;
}

int dtls_conn_input(dtls_conn_t *c, const uint8_t *d, size_t len)
{
    if (c->state != DTLS_STATE_HANDSHAKING && c->state != DTLS_STATE_CONNECTED)
        return IRTC_ECONFLICT;
    if (!looks_like_dtls(d, len) || len > INT32_MAX || !datagram_acceptable(c->role, d, len) ||
        !fits_before_answer(c, d, len))
        return IRTC_EINVAL;
    enter(c);
    restart_on_new_hello(c, d, len);
    int rc = IRTC_OK;
    if (BIO_write(c->rbio, d, (int)len) != (int)len)
        abort(); /* memory BIO: fails only on OOM */
    if (c->state == DTLS_STATE_HANDSHAKING) {
        int ret = SSL_do_handshake(c->ssl);
        if (ret == 1) {
            rc = keys_ready(c);
        } else {
            int e = SSL_get_error(c->ssl, ret);
            if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE && discard_before_handshake(c)) {
                leave(c);
                return IRTC_EINVAL;
            }
            rc = ssl_failure(c, ret);
        }
    }
    if (rc == IRTC_OK)
        rc = read_app(c);
    /* One datagram in, one out: leftovers of a discarded datagram must not
     * be glued to the next one. */
    if (!c->dead)
        (void)BIO_reset(c->rbio);
    leave(c);
    return rc;
}

int dtls_conn_send_app(dtls_conn_t *c, const uint8_t *data, size_t len)
{
    if (c->state != DTLS_STATE_CONNECTED)
        return IRTC_ECONFLICT;
    if (len == 0 || len > dtls_conn_max_app_len(c))
        return IRTC_EINVAL;
    enter(c);
    int n = SSL_write(c->ssl, data, (int)len);
    int rc = IRTC_OK;
    if (n <= 0) /* DTLS writes whole records or nothing */
        rc = ssl_failure(c, n) == IRTC_OK ? IRTC_EAGAIN : IRTC_EPROTO;
    leave(c);
    return rc;
}

size_t dtls_conn_max_app_len(const dtls_conn_t *c)
{
    return c->state == DTLS_STATE_CONNECTED ? DTLS_get_data_mtu(c->ssl) : 0;
}

uint64_t dtls_conn_next_timeout_ms(dtls_conn_t *c, uint64_t now_ms)
{
    uint64_t next = UINT64_MAX;
    if (c->state == DTLS_STATE_HANDSHAKING)
        next = c->deadline_ms;
    if (c->state == DTLS_STATE_HANDSHAKING || c->state == DTLS_STATE_CONNECTED) {
        struct timeval tv;
        if (DTLSv1_get_timeout(c->ssl, &tv) == 1) {
            uint64_t at = now_ms + (uint64_t)tv.tv_sec * 1000 + ((uint64_t)tv.tv_usec + 999) / 1000;
            next = IRTC_MIN(next, at);
        }
    }
    return next;
}

void dtls_conn_handle_timeout(dtls_conn_t *c, uint64_t now_ms)
{
    if (c->state != DTLS_STATE_HANDSHAKING && c->state != DTLS_STATE_CONNECTED)
        return;
    enter(c);
    if (c->state == DTLS_STATE_HANDSHAKING && now_ms >= c->deadline_ms) {
        fail(c, R_TIMEOUT);
    } else if (DTLSv1_handle_timeout(c->ssl) < 0) {
        drain_errors(c);
        fail(c, R_RETRANSMIT);
    }
    leave(c);
}

void dtls_conn_close(dtls_conn_t *c)
{
    if (c->state != DTLS_STATE_HANDSHAKING && c->state != DTLS_STATE_CONNECTED) {
        if (c->state == DTLS_STATE_NEW)
            c->state = DTLS_STATE_CLOSED;
        return;
    }
    enter(c);
    if (c->state == DTLS_STATE_CONNECTED)
        SSL_shutdown(c->ssl); /* close_notify; we do not wait for the peer's */
    c->state = DTLS_STATE_CLOSED;
    leave(c);
}

int dtls_srtp_sessions(const dtls_srtp_keys_t *k, sec_session_t *out, sec_session_t *in)
{
    int rc = sec_session_init(out, k->profile, k->local_key, k->key_len, k->local_salt, k->salt_len, false);
    if (rc == IRTC_OK)
        rc = sec_session_init(in, k->profile, k->remote_key, k->key_len, k->remote_salt, k->salt_len, true);
    if (rc != IRTC_OK) {
        sec_session_dispose(out);
        sec_session_dispose(in);
    }
    return rc;
}
