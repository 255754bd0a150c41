/*
 * txbatch.h — a media worker's outgoing UDP datagrams between the engine
 * writing them and the sendmmsg that hands them to the kernel.
 *
 * The engine builds (and SRTP-protects, in place) each datagram straight in
 * one of TXB_SLOTS slots, in the order the pacer releases them.  At flush,
 * txb_group orders the slots by destination (each destination's datagrams
 * keep their order; order between destinations carries no meaning, they are
 * different 5-tuples) and txb_build turns them into sendmmsg messages: with
 * UDP GSO a run of datagrams to one destination, all of one size but for a
 * shorter last one, becomes one message with a UDP_SEGMENT control message,
 * and the kernel cuts it back into datagrams after one trip through its UDP
 * send path instead of one per datagram.  GSO only groups what leaves in the
 * same flush: what leaves when is still the pacer's decision.
 *
 * Pure: builds msghdrs, makes no system call (worker.c sends and falls back
 * to txb_build without GSO when the kernel refuses it).  Thread: the owning
 * worker's.  Memory: the caller allocates one txbatch_t (~0.6 MiB); nothing
 * is allocated per datagram.
 */
#ifndef IRTC_MEDIA_TXBATCH_H
#define IRTC_MEDIA_TXBATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "media/mx.h"

/* Datagrams per flush (at most UIO_MAXIOV).  256 × 2 KiB stays in the L2
 * cache between the engine writing a slot and the kernel copying it out;
 * 1,024 slots measured 0.2–0.6 µs more user time per forwarded packet for
 * the same grouping gain (docs/BENCHMARKS.md, "The packet path"). */
#define TXB_SLOTS 256
#define TXB_MTU ENGINE_TX_CAP
#define TXB_GSO_MAX_SEGS 64 /* the kernel's UDP_MAX_SEGMENTS on older kernels */
/* A GSO segment must fit the path's MTU or the kernel refuses the whole
 * message: 1500 - IPv6 (40) - UDP (8).  WebRTC keeps its packets under
 * ~1250 bytes; a bigger one is sent alone. */
#define TXB_GSO_MAX_SEG 1452
#define TXB_GSO_MAX_BYTES 65000 /* one UDP datagram's payload before segmentation */
#define TXB_BUCKETS 512         /* destination hash table, 2 × TXB_SLOTS */

typedef struct {
    /* filled by the engine (txb_slot / txb_commit) */
    unsigned count;
    uint16_t len[TXB_SLOTS];
    uint64_t *sent_us[TXB_SLOTS]; /* where to write when the slot left (NULL: nowhere) */
    mx_tuple_t to[TXB_SLOTS];
    uint8_t buf[TXB_SLOTS][TXB_MTU];

    /* txb_group: ord[p] is the slot sent at position p, gid[p] its
     * destination's group (positions of one group are contiguous) */
    uint16_t ord[TXB_SLOTS], gid[TXB_SLOTS];
    uint16_t next[TXB_SLOTS];                              /* slot → next slot to the same destination, +1 */
    uint16_t head[TXB_BUCKETS], tail[TXB_BUCKETS];         /* bucket → first/last slot, +1; 0: empty */
    uint16_t used[TXB_SLOTS];                              /* buckets in use, in order of first use */

    /* txb_build: message m sends positions first[m] .. first[m] + segs[m] - 1 */
    struct mmsghdr msgs[TXB_SLOTS];
    struct iovec iov[TXB_SLOTS];
    uint16_t first[TXB_SLOTS], segs[TXB_SLOTS];
    union {
        struct cmsghdr align;
        uint8_t b[CMSG_SPACE(sizeof(uint16_t))];
    } ctrl[TXB_SLOTS];
} txbatch_t;

static inline bool txb_full(const txbatch_t *b)
{
    return b->count == TXB_SLOTS;
}

/* The next free slot (TXB_MTU bytes); the caller checks txb_full first. */
static inline uint8_t *txb_slot(txbatch_t *b)
{
    return b->buf[b->count];
}

/* The slot txb_slot returned now holds a datagram of len bytes for to;
 * txb_stamp will write its send time to *sent_us (when not NULL). */
void txb_commit(txbatch_t *b, const mx_tuple_t *to, size_t len, uint64_t *sent_us);

/* Messages first .. first + n - 1 of the last txb_build were sent between
 * t0_us and t1_us: each of their datagrams' send times is written, spread
 * evenly over that interval by message (the kernel sends them in order). */
void txb_stamp(txbatch_t *b, unsigned first, unsigned n, uint64_t t0_us, uint64_t t1_us);

/* Orders the slots for sending: by destination when by_dest (for GSO), as
 * filled otherwise. */
void txb_group(txbatch_t *b, bool by_dest);

/* Builds sendmmsg messages for positions from .. count - 1 into msgs[0..]:
 * with gso, runs of one group's datagrams of one size (the last may be
 * shorter) up to TXB_GSO_MAX_SEGS / TXB_GSO_MAX_BYTES become one message.
 * Returns the number of messages. */
unsigned txb_build(txbatch_t *b, unsigned from, bool gso);

/* Bytes in message m. */
size_t txb_msg_bytes(const txbatch_t *b, unsigned m);

static inline void txb_reset(txbatch_t *b)
{
    b->count = 0;
}

#endif
