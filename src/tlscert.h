/*
 * tlscert.h — the HTTPS server's certificate: load the configured PEM pair, or
 * generate a self-signed ECDSA P-256 certificate into the data directory on
 * first start.  Control thread only (start-up and SIGHUP).
 */
#ifndef IRTC_TLSCERT_H
#define IRTC_TLSCERT_H

#include <stddef.h>
#include <openssl/ssl.h>

/*
 * Makes sure data_dir/tls/{cert,key}.pem exist (generating a self-signed
 * certificate for domain, localhost and 127.0.0.1 if not) and writes their
 * paths.  Returns IRTC_OK or IRTC_EIO with err set.
 */
int tlscert_ensure_selfsigned(const char *data_dir, const char *domain, char *cert_path, size_t cert_cap,
                              char *key_path, size_t key_cap, char *err, size_t errcap);

/* A server SSL_CTX with the pair loaded and h2 + http/1.1 ALPN; NULL with err set. */
SSL_CTX *tlscert_server_ctx(const char *cert_path, const char *key_path, char *err, size_t errcap);

#endif
