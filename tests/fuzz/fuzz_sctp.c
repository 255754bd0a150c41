/*
 * fuzz_sctp.c — libFuzzer target for media/sctp: what a client sends inside
 * a valid DTLS association.  A DTLS client and server of ours (handshake done
 * once) carry, per input, a fresh SCTP association between a client end
 * (opening channels as a browser does) and the server end under test.  The
 * input is a list of operations by the client: raw garbage SCTP packets
 * (with its real ports, verification tag and checksum one time in two, so
 * usrsctp parses their chunks), valid packets of its own with bytes flipped
 * (checksum fixed: DATA chunks with wrong PPIDs, streams, DCEP bytes,
 * fragments), messages of any size, and DCEP opens of any stream and type.
 * The server end must never hand up a message over its max-message-size,
 * and must not crash or leak.  Single-threaded; a failed check aborts.
 */
#include "core/common.h"
#include "core/log.h"
#include "fuzz/fuzz.h"
#include "media/dtls.h"
#include "media/sctp.h"

#include <string.h>
#include <usrsctp.h>

#define QMAX 512
#define MAX_IN 65536 /* the server end's max-message-size: small, so large inputs reach the limit */

typedef struct {
    uint8_t *pkt[QMAX];
    size_t len[QMAX];
    int n;
} queue_t;

typedef struct {
    dtls_conn_t *dtls;
    queue_t wire; /* DTLS datagrams towards the other side */
    sctp_link_t *link;
    int connected;
} side_t;

static side_t cli, srv;
static dtls_cert_t *scert, *ccert;
static dtls_ctx_t *sctx, *cctx;
static uint8_t last[2048]; /* the client end's last SCTP packet: its ports, tag and chunks */
static size_t last_len;
static _Atomic uint64_t drops, too_big, malformed;

static void push(queue_t *q, const uint8_t *d, size_t len)
{
    if (q->n == QMAX)
        return;
    q->pkt[q->n] = xmalloc(len);
    memcpy(q->pkt[q->n], d, len);
    q->len[q->n++] = len;
}

static void dtls_send(void *user, const uint8_t *d, size_t len)
{
    push(&((side_t *)user)->wire, d, len);
}

static void dtls_connected(void *user, const dtls_srtp_keys_t *k)
{
    (void)k;
    ((side_t *)user)->connected = 1;
}

static void dtls_app(void *user, const uint8_t *d, size_t len)
{
    side_t *s = user;
    if (s->link != NULL)
        sctp_assoc_input(s->link, d, len);
}

static void dtls_failed(void *user, const char *reason)
{
    (void)user;
    fprintf(stderr, "DTLS failed: %s\n", reason);
    abort();
}

static const dtls_callbacks_t dcbs = {dtls_send, dtls_connected, dtls_app, dtls_failed};

static void sctp_send(void *user, const uint8_t *pkt, size_t len)
{
    side_t *s = user;
    if (s == &cli && len <= sizeof(last)) {
        memcpy(last, pkt, len);
        last_len = len;
    }
    dtls_conn_send_app(s->dtls, pkt, len);
}

static void on_message(void *user, bool reliable, bool binary, const uint8_t *d, size_t len)
{
    (void)reliable;
    (void)binary;
    (void)d;
    if (user == &srv)
        CHECK(len <= MAX_IN);
}

static const sctp_callbacks_t scbs = {sctp_send, on_message};

static int deliver(side_t *from, side_t *to)
{
    int n = from->wire.n;
    from->wire.n = 0;
    uint8_t *pkt[QMAX];
    size_t len[QMAX];
    memcpy(pkt, from->wire.pkt, sizeof(pkt[0]) * (size_t)n);
    memcpy(len, from->wire.len, sizeof(len[0]) * (size_t)n);
    for (int i = 0; i < n; i++) {
        dtls_conn_input(to->dtls, pkt[i], len[i]);
        free(pkt[i]);
    }
    return n;
}

/* Until nothing moves (a bounded number of rounds).  usrsctp's clock
 * advances 20 ms a round: its timers run (retransmissions, and the deferred
 * frees of closed associations). */
static void pump(void)
{
    static uint64_t now_ms = 1;
    for (int round = 0; round < 64; round++) {
        now_ms += 20;
        sctp_clock(now_ms);
        if (cli.link && sctp_assoc_pending(cli.link))
            sctp_assoc_poll(cli.link);
        if (srv.link && sctp_assoc_pending(srv.link))
            sctp_assoc_poll(srv.link);
        if (deliver(&cli, &srv) + deliver(&srv, &cli) == 0)
            return;
    }
}

static void setup(void)
{
    char err[256];
    const char *why = NULL;
    log_setup(LOG_LEVEL_ERROR, LOG_FORMAT_TEXT, NULL);
    scert = dtls_cert_new(err, sizeof(err));
    ccert = dtls_cert_new(err, sizeof(err));
    CHECK(scert && ccert);
    sctx = dtls_ctx_new(scert, NULL, err, sizeof(err));
    cctx = dtls_ctx_new(ccert, NULL, err, sizeof(err));
    CHECK(sctx && cctx);
    CHECK(dtls_conn_new(sctx, DTLS_SERVER, "sha-256", dtls_cert_fingerprint(ccert), &dcbs, &srv, &srv.dtls, &why) ==
          IRTC_OK);
    CHECK(dtls_conn_new(cctx, DTLS_CLIENT, "sha-256", dtls_cert_fingerprint(scert), &dcbs, &cli, &cli.dtls, &why) ==
          IRTC_OK);
    CHECK(dtls_conn_start(srv.dtls, 0) == IRTC_OK && dtls_conn_start(cli.dtls, 0) == IRTC_OK);
    for (int round = 0; round < 10 && !(srv.connected && cli.connected); round++) {
        deliver(&cli, &srv);
        deliver(&srv, &cli);
    }
    CHECK(srv.connected && cli.connected);
}

/* The client's real ports and tag, and a correct CRC32c (RFC 9260 §6.8). */
static void fix_header(uint8_t *p, size_t len, bool header)
{
    if (header && last_len >= 12)
        memcpy(p, last, 8);
    memset(p + 8, 0, 4);
    uint32_t crc = usrsctp_crc32c(p, len);
    memcpy(p + 8, &crc, 4);
}

static uint8_t u8(fuzz_in_t *in)
{
    if (in->left == 0)
        return 0;
    in->left--;
    return *in->p++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (scert == NULL)
        setup();
    sctp_counters_t n = {&drops, &too_big, &malformed};
    last_len = 0;
    cli.link = sctp_assoc_new(&scbs, &cli, SCTP_PORT, 1u << 20, &n);
    srv.link = sctp_assoc_new(&scbs, &srv, SCTP_PORT, MAX_IN, &n);
    sctp_assoc_set_remote_max(cli.link, 1u << 20);
    pump();
    CHECK(sctp_assoc_up(cli.link) && sctp_assoc_up(srv.link));
    sctp_assoc_open(cli.link, 0, SCTP_CHANNEL_RELIABLE, 0);
    pump();

    static uint8_t buf[300000];
    fuzz_in_t in = fuzz_in(data, size);
    for (int ops = 0; in.left > 0 && ops < 64; ops++) {
        uint8_t op = u8(&in);
        size_t len;
        switch (op & 3) {
        case 0: /* garbage, its header made right one time in two */
            len = (size_t)u8(&in) * 8 + 12;
            len = IRTC_MIN(len, IRTC_MIN(in.left, (size_t)1100));
            if (len < 12)
                break;
            memcpy(buf, in.p, len);
            in.p += len;
            in.left -= len;
            if (op & 4)
                fix_header(buf, len, true);
            dtls_conn_send_app(cli.dtls, buf, len);
            break;
        case 1: /* the client's last packet with bytes flipped */
            if (last_len < 16)
                break;
            len = last_len;
            memcpy(buf, last, len);
            for (int k = 0; k < 1 + (op >> 5) && in.left >= 2; k++) {
                size_t at = 12 + u8(&in) % (len - 12);
                buf[at] ^= u8(&in);
            }
            fix_header(buf, len, false);
            dtls_conn_send_app(cli.dtls, buf, len);
            break;
        case 2: { /* a message of any size, reliable or not, string or binary */
            len = ((size_t)u8(&in) << 8 | u8(&in)) * (op & 0x80 ? 5 : 1);
            memset(buf, op, IRTC_MIN(len, sizeof(buf)));
            sctp_assoc_send(cli.link, (op & 4) != 0, (op & 8) != 0, buf, IRTC_MIN(len, sizeof(buf)));
            break;
        }
        default: { /* a DCEP open of any stream and type */
            uint16_t sid = (uint16_t)((u8(&in) << 8 | u8(&in)) % (SCTP_STREAMS + 8));
            sctp_assoc_open(cli.link, sid, u8(&in), u8(&in));
            break;
        }
        }
        pump();
    }
    sctp_assoc_free(cli.link);
    sctp_assoc_free(srv.link);
    cli.link = srv.link = NULL;
    pump(); /* the ABORTs cross, to ends that are gone */
    return 0;
}
