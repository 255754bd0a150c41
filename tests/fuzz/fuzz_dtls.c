/*
 * fuzz_dtls.c — libFuzzer target for media/dtls: datagrams a peer (or anyone
 * spoofing its address) sends to a transport before and during a handshake.
 * The input is a list of datagrams fed to a fresh server connection; none of
 * them may fail it (RFC 6347 §4.1.2.7: invalid records are discarded) or be
 * answered with an alert, and OpenSSL's error queue must be left empty.  Then
 * a real client still completes a handshake with that server (unless the
 * input itself started one; checked for one input length in eight, as a
 * handshake costs milliseconds).
 * Single-threaded; a failed check aborts.
 */
#include "media/dtls.h"
#include "core/common.h"
#include "core/log.h"
#include "fuzz/fuzz.h"

#include <openssl/err.h>
#include <string.h>

#define QMAX 32

typedef struct {
    dtls_conn_t *conn;
    uint8_t q[QMAX][1500];
    size_t qlen[QMAX];
    int n, sent_alerts, failed, connected;
} peer_t;

static void on_send(void *user, const uint8_t *d, size_t len)
{
    peer_t *p = user;
    if (len > 0 && d[0] == 21)
        p->sent_alerts++;
    if (p->n < QMAX && len <= sizeof(p->q[0])) {
        memcpy(p->q[p->n], d, len);
        p->qlen[p->n++] = len;
    }
}

static void on_connected(void *user, const dtls_srtp_keys_t *keys)
{
    ((peer_t *)user)->connected++;
}

static void on_failed(void *user, const char *reason)
{
    ((peer_t *)user)->failed++;
}

static const dtls_callbacks_t cbs = {on_send, on_connected, NULL, on_failed};
static dtls_cert_t *scert, *ccert;
static dtls_ctx_t *sctx, *cctx;

static void deliver(peer_t *from, peer_t *to)
{
    for (int i = 0; i < from->n; i++)
        dtls_conn_input(to->conn, from->q[i], from->qlen[i]);
    from->n = 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (scert == NULL) {
        char err[256];
        log_setup(LOG_LEVEL_ERROR, LOG_FORMAT_TEXT, NULL);
        scert = dtls_cert_new(err, sizeof(err));
        ccert = dtls_cert_new(err, sizeof(err));
        CHECK(scert && ccert);
        sctx = dtls_ctx_new(scert, NULL, err, sizeof(err));
        cctx = dtls_ctx_new(ccert, NULL, err, sizeof(err));
        CHECK(sctx && cctx);
    }
    static peer_t s, c;
    memset(&s, 0, sizeof(s));
    memset(&c, 0, sizeof(c));
    const char *why = NULL;
    CHECK(dtls_conn_new(sctx, DTLS_SERVER, "sha-256", dtls_cert_fingerprint(ccert), &cbs, &s, &s.conn, &why) ==
          IRTC_OK);
    CHECK(dtls_conn_start(s.conn, 0) == IRTC_OK);
    fuzz_in_t in = fuzz_in(data, size);
    const uint8_t *p;
    size_t n;
    while (fuzz_piece(&in, &p, &n)) {
        uint8_t *d = (uint8_t *)fuzz_dup(p, n, false);
        int rc = dtls_conn_input(s.conn, d, n);
        free(d);
        CHECK(rc == IRTC_OK || rc == IRTC_EINVAL);
        CHECK(s.failed == 0 && s.connected == 0 && dtls_conn_state(s.conn) == DTLS_STATE_HANDSHAKING);
        CHECK(ERR_peek_error() == 0);
    }
    CHECK(s.sent_alerts == 0);
    /* Unless the input held a ClientHello good enough to start a handshake
     * (the server answered), a real client connects after it. */
    bool idle = s.n == 0;
    /* A handshake costs milliseconds: one input in eight runs it. */
    if ((size & 7) != 0) {
        dtls_conn_free(s.conn);
        return 0;
    }
    CHECK(dtls_conn_new(cctx, DTLS_CLIENT, "sha-256", dtls_cert_fingerprint(scert), &cbs, &c, &c.conn, &why) ==
          IRTC_OK);
    CHECK(dtls_conn_start(c.conn, 0) == IRTC_OK);
    for (int round = 0; round < 10 && (s.connected == 0 || c.connected == 0); round++) {
        deliver(&c, &s);
        deliver(&s, &c);
    }
    CHECK(!idle || (s.connected == 1 && c.connected == 1));
    dtls_conn_free(s.conn);
    dtls_conn_free(c.conn);
    return 0;
}
