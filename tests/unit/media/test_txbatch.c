/*
 * test_txbatch.c — the worker's outgoing batch (media/txbatch.h): grouping
 * keeps each destination's order, GSO runs are one size but for a shorter
 * last one and respect the segment and byte caps, a datagram too big for
 * a GSO segment goes alone, rebuilding from a position without GSO gives one
 * message per datagram, and the UDP_SEGMENT control message carries the size.
 */
#include "media/txbatch.h"
#include "unit/tap.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <stdlib.h>

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif

static mx_tuple_t dest(unsigned port)
{
    mx_tuple_t t;
    memset(&t, 0, sizeof(t));
    struct sockaddr_in *sa = (struct sockaddr_in *)&t.addr;
    sa->sin_family = AF_INET;
    sa->sin_port = htons((uint16_t)port);
    sa->sin_addr.s_addr = htonl(0x7f000001);
    t.len = sizeof(*sa);
    return t;
}

/* Queues a datagram of len bytes for port, its first byte tagged; its send
 * time goes to *sent_us. */
static void put_stamped(txbatch_t *b, unsigned port, size_t len, uint8_t tag, uint64_t *sent_us)
{
    mx_tuple_t t = dest(port);
    uint8_t *p = txb_slot(b);
    memset(p, 0, len);
    p[0] = tag;
    txb_commit(b, &t, len, sent_us);
}

static void put(txbatch_t *b, unsigned port, size_t len, uint8_t tag)
{
    put_stamped(b, port, len, tag, NULL);
}

static unsigned port_of(const struct msghdr *h)
{
    return ntohs(((const struct sockaddr_in *)h->msg_name)->sin_port);
}

static unsigned gso_size(const struct msghdr *h)
{
    const struct cmsghdr *c = h->msg_controllen ? CMSG_FIRSTHDR(h) : NULL;
    if (c == NULL || c->cmsg_level != IPPROTO_UDP || c->cmsg_type != UDP_SEGMENT)
        return 0;
    uint16_t v;
    memcpy(&v, CMSG_DATA(c), sizeof(v));
    return v;
}

int main(void)
{
    txbatch_t *b = calloc(1, sizeof(*b));

    /* Interleaved as the engine writes them: one packet to each of three
     * subscribers, three times; subscriber 2's last one shorter. */
    for (uint8_t r = 0; r < 3; r++)
        for (unsigned s = 1; s <= 3; s++)
            put(b, 5000 + s, s == 2 && r == 2 ? 700 : 1200, (uint8_t)(r * 10 + s));
    txb_group(b, true);
    unsigned n = txb_build(b, 0, true);
    is_int(n, 3, "nine datagrams to three destinations: three GSO messages");
    int order_ok = 1;
    for (unsigned m = 0; m < n && m < 3; m++) {
        const struct msghdr *h = &b->msgs[m].msg_hdr;
        order_ok &= port_of(h) == 5001 + m && h->msg_iovlen == 3 && b->segs[m] == 3;
        for (unsigned j = 0; j < h->msg_iovlen; j++)
            order_ok &= ((const uint8_t *)h->msg_iov[j].iov_base)[0] == j * 10 + m + 1;
    }
    ok(order_ok, "grouped by destination in order of first use, each destination's datagrams in order");
    is_int(gso_size(&b->msgs[0].msg_hdr), 1200, "UDP_SEGMENT carries the segment size");
    is_int(txb_msg_bytes(b, 1), 1200 + 1200 + 700, "a shorter last segment joins the run");
    txb_reset(b);

    /* A longer datagram after a shorter one starts a new message; so does
     * one after a shorter last. */
    put(b, 6000, 800, 1);
    put(b, 6000, 1000, 2);
    put(b, 6000, 1000, 3);
    put(b, 6000, 500, 4);
    put(b, 6000, 1000, 5);
    txb_group(b, true);
    n = txb_build(b, 0, true);
    is_int(n, 3, "800 | 1000 1000 500 | 1000");
    ok(b->segs[0] == 1 && b->msgs[0].msg_hdr.msg_controllen == 0, "a message of one datagram has no UDP_SEGMENT");
    ok(b->segs[1] == 3 && gso_size(&b->msgs[1].msg_hdr) == 1000, "the run of 1000s ends with its shorter 500");
    txb_reset(b);

    /* Caps: segments per message and bytes per message; too big for a segment. */
    for (unsigned i = 0; i < 100; i++)
        put(b, 7000, 200, (uint8_t)i);
    txb_group(b, true);
    n = txb_build(b, 0, true);
    ok(n == 2 && b->segs[0] == TXB_GSO_MAX_SEGS && b->segs[1] == 100 - TXB_GSO_MAX_SEGS,
       "at most %d segments per message", TXB_GSO_MAX_SEGS);
    txb_reset(b);
    for (unsigned i = 0; i < 60; i++)
        put(b, 7000, 1400, (uint8_t)i);
    txb_group(b, true);
    n = txb_build(b, 0, true);
    ok(n == 2 && (size_t)b->segs[0] * 1400 <= TXB_GSO_MAX_BYTES && txb_msg_bytes(b, 0) + 1400 > TXB_GSO_MAX_BYTES,
       "at most %d bytes per message", TXB_GSO_MAX_BYTES);
    txb_reset(b);
    put(b, 7000, 1500, 1);
    put(b, 7000, 1500, 2);
    txb_group(b, true);
    n = txb_build(b, 0, true);
    ok(n == 2 && b->segs[0] == 1 && b->segs[1] == 1, "datagrams over %d bytes are never grouped", TXB_GSO_MAX_SEG);
    txb_reset(b);

    /* Fallback: rebuilt from a message's first position without GSO. */
    for (uint8_t r = 0; r < 4; r++)
        for (unsigned s = 1; s <= 2; s++)
            put(b, 8000 + s, 1100, (uint8_t)(r * 10 + s));
    txb_group(b, true);
    n = txb_build(b, 0, true);
    unsigned from = b->first[1];
    n = txb_build(b, from, false);
    int single = n == 4;
    for (unsigned m = 0; m < n; m++)
        single &= b->segs[m] == 1 && b->msgs[m].msg_hdr.msg_controllen == 0 && port_of(&b->msgs[m].msg_hdr) == 8002;
    ok(single, "rebuilt without GSO from the second destination: its four datagrams one by one");
    txb_reset(b);

    /* Without grouping: the order of filling, one message each. */
    put(b, 9001, 100, 1);
    put(b, 9002, 100, 2);
    put(b, 9001, 100, 3);
    txb_group(b, false);
    n = txb_build(b, 0, false);
    ok(n == 3 && port_of(&b->msgs[0].msg_hdr) == 9001 && port_of(&b->msgs[1].msg_hdr) == 9002 &&
           ((const uint8_t *)b->msgs[2].msg_hdr.msg_iov[0].iov_base)[0] == 3,
       "GSO off: sent as filled");
    txb_reset(b);

    /* A full batch of distinct destinations (the hash table's worst case),
     * twice: the table is left empty after each flush. */
    int all_ok = 1;
    for (int round = 0; round < 2; round++) {
        for (unsigned i = 0; i < TXB_SLOTS; i++)
            put(b, 10000 + i, 100, (uint8_t)i);
        txb_group(b, true);
        n = txb_build(b, 0, true);
        all_ok &= n == TXB_SLOTS;
        for (unsigned m = 0; m < n; m++)
            all_ok &= port_of(&b->msgs[m].msg_hdr) == 10000 + m;
        txb_reset(b);
    }
    ok(all_ok, "%d destinations in one flush, twice", TXB_SLOTS);

    /* Send times: each datagram's, by the message it left in, spread over
     * the sendmmsg call; datagrams committed without a place get none. */
    uint64_t at[6] = {0};
    put_stamped(b, 11001, 1200, 1, &at[0]);
    put_stamped(b, 11002, 1200, 2, &at[1]);
    put(b, 11003, 1200, 3);
    put_stamped(b, 11001, 1200, 4, &at[2]);
    put_stamped(b, 11002, 900, 5, &at[3]);
    put_stamped(b, 11004, 1200, 6, &at[4]);
    txb_group(b, true);
    n = txb_build(b, 0, true);
    is_int(n, 4, "four destinations, two of them with a GSO message");
    txb_stamp(b, 0, 2, 1000, 1100); /* the first two messages went out between 1000 and 1100 µs */
    ok(at[0] == 1050 && at[2] == 1050 && at[1] == 1100 && at[3] == 1100,
       "both datagrams of a GSO message get its time, spread by message: %llu %llu %llu %llu",
       (unsigned long long)at[0], (unsigned long long)at[2], (unsigned long long)at[1], (unsigned long long)at[3]);
    ok(at[4] == 0, "a message not sent yet is not stamped");
    txb_stamp(b, 2, 2, 2000, 2000);
    ok(at[4] == 2000 && at[5] == 0, "the rest, in a later call; nothing written for a datagram without a place");
    txb_reset(b);

    free(b);
    return done_testing();
}
