/*
 * test_sctp.c — media/sctp: two associations of ours in-process (usrsctp on
 * both ends), one opening channels as a browser does (DCEP OPEN), the other
 * answering as the server; their packets cross in memory.  Checks the
 * association coming up, DCEP, the four PPIDs both ways, reliable and
 * partially reliable channels, messages in parts, max-message-size on both
 * sides and the send buffer's cap.
 */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/clock.h"
#include "core/common.h"
#include "core/log.h"
#include "media/sctp.h"
#include "unit/tap.h"

#define QCAP 4096

typedef struct {
    uint8_t *pkt[QCAP];
    size_t len[QCAP];
    int n;
} queue_t;

typedef struct {
    bool reliable, binary;
    size_t len;
    uint8_t first; /* first byte, 0 when empty */
    uint8_t *data;
} msg_t;

typedef struct {
    sctp_link_t *link;
    queue_t out;
    msg_t got[64];
    int n_got;
} end_t;

static _Atomic uint64_t too_big, malformed, drops;

static void on_send(void *user, const uint8_t *pkt, size_t len)
{
    end_t *e = user;
    if (e->out.n == QCAP)
        return;
    e->out.pkt[e->out.n] = xmalloc(len);
    memcpy(e->out.pkt[e->out.n], pkt, len);
    e->out.len[e->out.n++] = len;
}

static void on_message(void *user, bool reliable, bool binary, const uint8_t *data, size_t len)
{
    end_t *e = user;
    if (e->n_got == 64)
        return;
    msg_t *m = &e->got[e->n_got++];
    *m = (msg_t){reliable, binary, len, len ? data[0] : 0, xmalloc(len ? len : 1)};
    memcpy(m->data, data, len);
}

static void clear_got(end_t *e)
{
    for (int i = 0; i < e->n_got; i++)
        free(e->got[i].data);
    e->n_got = 0;
}

static const sctp_callbacks_t cbs = {on_send, on_message};

/* Hands each side's packets to the other. */
static int deliver(end_t *from, end_t *to)
{
    int n = from->out.n;
    from->out.n = 0;
    uint8_t *pkt[QCAP];
    size_t len[QCAP];
    memcpy(pkt, from->out.pkt, sizeof(pkt[0]) * (size_t)n);
    memcpy(len, from->out.len, sizeof(len[0]) * (size_t)n);
    for (int i = 0; i < n; i++) {
        sctp_assoc_input(to->link, pkt[i], len[i]);
        free(pkt[i]);
    }
    return n;
}

/* Runs both ends until cond holds or ms pass. */
static bool pump(end_t *a, end_t *b, bool (*cond)(end_t *, end_t *), unsigned ms)
{
    uint64_t end = clock_mono_ms() + ms;
    while (clock_mono_ms() < end) {
        sctp_clock(clock_mono_ms());
        if (sctp_assoc_pending(a->link))
            sctp_assoc_poll(a->link);
        if (sctp_assoc_pending(b->link))
            sctp_assoc_poll(b->link);
        int moved = deliver(a, b) + deliver(b, a);
        if (cond != NULL && cond(a, b))
            return true;
        if (!moved)
            nanosleep(&(struct timespec){0, 1000000}, NULL);
    }
    return cond == NULL;
}

static bool both_up(end_t *a, end_t *b)
{
    return sctp_assoc_up(a->link) && sctp_assoc_up(b->link);
}
static bool two_channels(end_t *a, end_t *b)
{
    (void)a;
    return sctp_assoc_channels(b->link) == 2;
}
static bool b_got1(end_t *a, end_t *b)
{
    (void)a;
    return b->n_got >= 1;
}
static bool b_got2(end_t *a, end_t *b)
{
    (void)a;
    return b->n_got >= 2;
}
static bool a_got1(end_t *a, end_t *b)
{
    (void)b;
    return a->n_got >= 1;
}

int main(void)
{
    sctp_counters_t n = {&drops, &too_big, &malformed};
    static end_t client, server;
    end_t *c = &client, *s = &server;
    c->link = sctp_assoc_new(&cbs, c, SCTP_PORT, 1u << 20, &n);
    s->link = sctp_assoc_new(&cbs, s, SCTP_PORT, SCTP_MAX_MESSAGE_DEFAULT, &n);
    sctp_assoc_set_remote_max(c->link, 1u << 20); /* the client may try more than the server takes */
    ok(pump(c, s, both_up, 5000), "both ends connect (INITs cross: both sides connect, as WebRTC does)");
    uint8_t x = 1;
    is_int(sctp_assoc_send(s->link, true, false, &x, 1), IRTC_ENOTFOUND, "the server has nothing to send on before a channel");

    ok(sctp_assoc_open(c->link, 0, SCTP_CHANNEL_RELIABLE, 0) == IRTC_OK &&
           sctp_assoc_open(c->link, 2, SCTP_CHANNEL_PR_REXMIT | SCTP_CHANNEL_UNORDERED, 0) == IRTC_OK,
       "the client opens a reliable and an unreliable (maxRetransmits 0, unordered) channel");
    is_int(sctp_assoc_open(c->link, 0, SCTP_CHANNEL_RELIABLE, 0), IRTC_EINVAL, "a stream already open cannot open again");
    bool opened = pump(c, s, two_channels, 3000);
    ok(opened, "the server acknowledges both (DCEP OPEN → ACK): %u channels", sctp_assoc_channels(s->link));

    /* the four PPIDs, client → server */
    ok(sctp_assoc_send(c->link, true, false, (const uint8_t *)"hello", 5) == IRTC_OK, "a string goes out");
    ok(pump(c, s, b_got1, 3000) && s->got[0].reliable && !s->got[0].binary && s->got[0].len == 5 &&
           memcmp(s->got[0].data, "hello", 5) == 0,
       "string (PPID 51) on the reliable channel arrives as such");
    clear_got(s);
    const uint8_t bin[3] = {0, 0xff, 7};
    sctp_assoc_send(c->link, false, true, bin, 3);
    ok(pump(c, s, b_got1, 3000) && !s->got[0].reliable && s->got[0].binary && s->got[0].len == 3 &&
           memcmp(s->got[0].data, bin, 3) == 0,
       "binary (PPID 53) on the unreliable channel arrives as such, marked unreliable");
    clear_got(s);
    sctp_assoc_send(c->link, true, false, NULL, 0);
    sctp_assoc_send(c->link, true, true, NULL, 0);
    ok(pump(c, s, b_got2, 3000) && s->got[0].len == 0 && !s->got[0].binary && s->got[1].len == 0 &&
           s->got[1].binary,
       "empty string (PPID 56) and empty binary (PPID 57) arrive empty, in order");
    clear_got(s);

    /* server → client */
    ok(sctp_assoc_send(s->link, true, false, (const uint8_t *)"pong", 4) == IRTC_OK, "the server sends a string");
    ok(pump(c, s, a_got1, 3000) && c->got[0].reliable && !c->got[0].binary && c->got[0].len == 4,
       "the client gets it on its reliable channel");
    clear_got(c);

    /* large messages */
    size_t big_len = 200000;
    uint8_t *big = xmalloc(300000);
    for (size_t i = 0; i < 300000; i++)
        big[i] = (uint8_t)(i * 13);
    sctp_assoc_send(c->link, true, true, big, big_len);
    ok(pump(c, s, b_got1, 5000) && s->got[0].len == big_len && memcmp(s->got[0].data, big, big_len) == 0,
       "a 200,000-byte message arrives whole (read in parts, reassembled)");
    clear_got(s);
    sctp_assoc_send(c->link, true, true, big, 300000);
    sctp_assoc_send(c->link, true, false, (const uint8_t *)"after", 5);
    ok(pump(c, s, b_got1, 5000) && s->got[0].len == 5 && s->n_got == 1,
       "one over the server's max-message-size is discarded whole; the next arrives");
    is_int(atomic_load(&too_big), 1, "and counted");
    clear_got(s);
    is_int(sctp_assoc_send(s->link, true, true, big, 70000), IRTC_EINVAL,
       "the server refuses to send more than the client's max-message-size (65536 unless it says)");

    /* the send buffer is the backlog's cap: without the client reading, the server soon refuses */
    sctp_assoc_set_remote_max(s->link, 1u << 20);
    int sent = 0, rc = IRTC_OK;
    while (sent < 100 && (rc = sctp_assoc_send(s->link, true, true, big, 60000)) == IRTC_OK)
        sent++;
    ok(rc == IRTC_EAGAIN && sent * 60000 <= (int)SCTP_SEND_BUFFER + 60000,
       "a client that does not acknowledge: refused (EAGAIN) after %d x 60,000 bytes (cap %u)", sent,
       SCTP_SEND_BUFFER);
    for (int i = 0; i < c->out.n; i++)
        free(c->out.pkt[i]);
    for (int i = 0; i < s->out.n; i++)
        free(s->out.pkt[i]);
    s->out.n = c->out.n = 0;
    is_int(atomic_load(&malformed), 0, "nothing counted as malformed");

    free(big);
    clear_got(c);
    clear_got(s);
    sctp_assoc_free(c->link);
    sctp_assoc_free(s->link);
    for (int i = 0; i < c->out.n; i++)
        free(c->out.pkt[i]);
    for (int i = 0; i < s->out.n; i++)
        free(s->out.pkt[i]);
    return done_testing();
}
