/*
 * tlscert.c — server certificate loading and first-start self-signed
 * generation.  Control thread only.  The generated key never leaves data_dir
 * and is written mode 0600 before any byte of key material is.
 */
#include "tlscert.h"
#include "core/common.h"
#include "core/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include <h2o.h>


static void ssl_error(char *err, size_t cap, const char *what)
{
    char buf[256];
    unsigned long e = ERR_get_error();
    ERR_error_string_n(e, buf, sizeof(buf));
    snprintf(err, cap, "%s: %s", what, e ? buf : "unknown error");
    ERR_clear_error();
}

static int mkdir_p(const char *path, mode_t mode)
{
    char tmp[1024];
    snprintf(tmp, sizeof(tmp), "%s", path);
    for (char *p = tmp + 1; *p; p++) {
        if (*p == '/') {
            *p = '\0';
            if (mkdir(tmp, mode) != 0 && errno != EEXIST)
                return -1;
            *p = '/';
        }
    }
    if (mkdir(tmp, mode) != 0 && errno != EEXIST)
        return -1;
    return 0;
}

static int add_san(X509 *x, const char *domain)
{
    char san[600];
    /* Browsers ignore CN; SAN must list every name the demo is opened by. */
    if (strcmp(domain, "localhost") == 0 || domain[0] == '\0')
        snprintf(san, sizeof(san), "DNS:localhost,IP:127.0.0.1,IP:::1");
    else
        snprintf(san, sizeof(san), "DNS:%s,DNS:localhost,IP:127.0.0.1,IP:::1", domain);
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &ctx, NID_subject_alt_name, san);
    if (ext == NULL)
        return -1;
    X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
    return 0;
}

static int write_pem(const char *path, EVP_PKEY *key, X509 *x)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, key ? 0600 : 0644);
    if (fd < 0)
        return -1;
    FILE *fp = fdopen(fd, "w");
    if (fp == NULL) {
        close(fd);
        return -1;
    }
    int ok = key ? PEM_write_PrivateKey(fp, key, NULL, NULL, 0, NULL, NULL) : PEM_write_X509(fp, x);
    if (fclose(fp) != 0)
        ok = 0;
    return ok ? 0 : -1;
}

static int generate(const char *domain, const char *cert_path, const char *key_path, char *err, size_t errcap)
{
    int ret = IRTC_EIO;
    X509 *x = NULL;
    EVP_PKEY *key = EVP_EC_gen("P-256");
    if (key == NULL) {
        ssl_error(err, errcap, "generating P-256 key");
        goto out;
    }
    x = X509_new();
    X509_set_version(x, 2);
    unsigned char serial[16];
    if (RAND_bytes(serial, sizeof(serial)) != 1)
        goto out;
    serial[0] &= 0x7f;
    BIGNUM *bn = BN_bin2bn(serial, sizeof(serial), NULL);
    BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x));
    BN_free(bn);
    X509_gmtime_adj(X509_getm_notBefore(x), -3600);
    X509_gmtime_adj(X509_getm_notAfter(x), 60L * 60 * 24 * 825); /* Apple's limit for TLS certs */
    X509_NAME *name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, (const unsigned char *)"irtc self-signed", -1, -1, 0);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                               (const unsigned char *)(domain[0] ? domain : "localhost"), -1, -1, 0);
    X509_set_issuer_name(x, name);
    X509_set_pubkey(x, key);
    if (add_san(x, domain) != 0 || X509_sign(x, key, EVP_sha256()) == 0) {
        ssl_error(err, errcap, "signing self-signed certificate");
        goto out;
    }
    if (write_pem(key_path, key, NULL) != 0 || write_pem(cert_path, NULL, x) != 0) {
        snprintf(err, errcap, "writing %s: %s", cert_path, strerror(errno));
        goto out;
    }
    ret = IRTC_OK;
out:
    X509_free(x);
    EVP_PKEY_free(key);
    return ret;
}

int tlscert_ensure_selfsigned(const char *data_dir, const char *domain, char *cert_path, size_t cert_cap,
                              char *key_path, size_t key_cap, char *err, size_t errcap)
{
    char dir[1024];
    snprintf(dir, sizeof(dir), "%s/tls", data_dir);
    if (mkdir_p(dir, 0750) != 0) {
        snprintf(err, errcap, "%s: cannot create: %s", dir, strerror(errno));
        return IRTC_EIO;
    }
    snprintf(cert_path, cert_cap, "%s/cert.pem", dir);
    snprintf(key_path, key_cap, "%s/key.pem", dir);
    if (access(cert_path, R_OK) == 0 && access(key_path, R_OK) == 0)
        return IRTC_OK;
    int rc = generate(domain, cert_path, key_path, err, errcap);
    if (rc == IRTC_OK)
        log_info("tls", "generated self-signed ECDSA P-256 certificate %s", cert_path);
    return rc;
}

SSL_CTX *tlscert_server_ctx(const char *cert_path, const char *key_path, char *err, size_t errcap)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (ctx == NULL) {
        ssl_error(err, errcap, "SSL_CTX_new");
        return NULL;
    }
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
    if (SSL_CTX_use_certificate_chain_file(ctx, cert_path) != 1) {
        ssl_error(err, errcap, cert_path);
        goto fail;
    }
    if (SSL_CTX_use_PrivateKey_file(ctx, key_path, SSL_FILETYPE_PEM) != 1) {
        ssl_error(err, errcap, key_path);
        goto fail;
    }
    if (SSL_CTX_check_private_key(ctx) != 1) {
        ssl_error(err, errcap, "certificate and key do not match");
        goto fail;
    }
    h2o_ssl_register_alpn_protocols(ctx, h2o_alpn_protocols); /* h2 first, then http/1.1 */
    return ctx;
fail:
    SSL_CTX_free(ctx);
    return NULL;
}
