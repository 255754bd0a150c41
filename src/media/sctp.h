/*
 * sctp.h — WebRTC data channels of one transport: an SCTP association
 * (usrsctp, RFC 8261: SCTP over the transport's DTLS association), the
 * channels the client opens with DCEP (RFC 8832: DATA_CHANNEL_OPEN answered
 * by DATA_CHANNEL_ACK) and whole messages in and out with their PPIDs
 * (RFC 8831 §8: string, binary, empty string, empty binary).
 *
 * Threads.  usrsctp is one process-wide stack: sctp_library_init (any
 * thread, once) starts it without threads of its own (usrsctp_init_nothreads);
 * its timers advance when any worker calls sctp_clock, which hands each
 * elapsed interval to exactly one caller.  An association belongs to the
 * worker that owns its transport: every sctp_assoc_* call runs there.
 * usrsctp may emit an association's packets on whichever thread drives it
 * (a timer fired on another worker), so packets are queued (one mutex, never
 * held across a usrsctp call) and leave only on the owner, through send, in
 * sctp_assoc_input and sctp_assoc_poll; received messages are read there
 * too (non-blocking usrsctp_recvv, no upcalls), so every callback runs on
 * the owner.
 *
 * Bounds: the socket's send buffer (SCTP_SEND_BUFFER) is the association's
 * backlog towards a slow client; a message that does not fit is refused
 * (IRTC_EAGAIN), never queued elsewhere.  Packets queued for the owner are
 * capped (SCTP_OUT_QUEUE_MAX; beyond it they are dropped, as the network
 * would, and SCTP retransmits).  Received messages larger than max_message
 * are discarded whole.
 *
 * Does not: speak DTLS (the owner's send callback does), decide where a
 * message goes (the transport's owner does), open channels itself.
 */
#ifndef IRTC_MEDIA_SCTP_H
#define IRTC_MEDIA_SCTP_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SCTP_PORT 5000                  /* a=sctp-port of our answers and the default of offers */
#define SCTP_MAX_MESSAGE_DEFAULT 262144 /* a=max-message-size we answer unless configured */
#define SCTP_SEND_BUFFER (1u << 20)     /* bytes one association may hold unacknowledged towards its client */
#define SCTP_OUT_QUEUE_MAX 256          /* packets waiting for the owner worker */
#define SCTP_STREAMS 1024               /* streams (channels) per direction */
#define SCTP_PATH_MTU 1100              /* SCTP packets fit one DTLS record in a DTLS_MTU datagram */

/* PPIDs (RFC 8831 §8, RFC 8832 §8.1). */
enum {
    SCTP_PPID_DCEP = 50,
    SCTP_PPID_STRING = 51,
    SCTP_PPID_BINARY = 53,
    SCTP_PPID_STRING_EMPTY = 56,
    SCTP_PPID_BINARY_EMPTY = 57,
};

/* DCEP (RFC 8832 §5). */
enum { SCTP_DCEP_ACK = 0x02, SCTP_DCEP_OPEN = 0x03 };
enum { SCTP_CHANNEL_RELIABLE = 0x00, SCTP_CHANNEL_PR_REXMIT = 0x01, SCTP_CHANNEL_PR_TIMED = 0x02,
       SCTP_CHANNEL_UNORDERED = 0x80 };

/* Counters the owner gives (atomic: /metrics reads them from the control thread). */
typedef struct {
    _Atomic uint64_t *out_queue_drops; /* packets dropped waiting for the owner */
    _Atomic uint64_t *too_big;         /* received messages over max_message, discarded */
    _Atomic uint64_t *malformed;       /* DCEP messages, PPIDs or streams that made no sense */
} sctp_counters_t;

/* What an association asks of its owner, on the owner's thread, from inside
 * sctp_assoc_input / sctp_assoc_poll.  None may free the association. */
typedef struct {
    void (*send)(void *user, const uint8_t *pkt, size_t len); /* one SCTP packet for the DTLS association */
    /* One whole message on an open channel; reliable: the channel is
     * reliable and ordered.  data is valid during the call. */
    void (*on_message)(void *user, bool reliable, bool binary, const uint8_t *data, size_t len);
} sctp_callbacks_t;

typedef struct sctp_link sctp_link_t;

/* Starts usrsctp once per process (later calls do nothing).  Any thread. */
void sctp_library_init(void);
/* Advances usrsctp's timers to now_ms (a monotonic clock); any worker may
 * call it as often as it likes: each interval is run by one caller. */
void sctp_clock(uint64_t now_ms);

/* An association to the client's port remote_port, receiving messages of up
 * to max_message bytes.  Starts at once (INIT goes out on the next poll). */
sctp_link_t *sctp_assoc_new(const sctp_callbacks_t *cb, void *user, uint16_t remote_port, size_t max_message,
                             const sctp_counters_t *counters);
/* Aborts the association (the client sees its channels close) and frees it. */
void sctp_assoc_free(sctp_link_t *a);
/* One SCTP packet from the DTLS association. */
void sctp_assoc_input(sctp_link_t *a, const uint8_t *pkt, size_t len);
/* True when packets or messages wait for sctp_assoc_poll (any thread). */
bool sctp_assoc_pending(sctp_link_t *a);
/* Sends what usrsctp queued and delivers what it received. */
void sctp_assoc_poll(sctp_link_t *a);
/*
 * Sends one message: on the client's first open reliable ordered channel, or
 * (reliable false) its first partially reliable one, falling back to the
 * other kind.  IRTC_OK; IRTC_ENOTFOUND (no channel open yet), IRTC_EINVAL
 * (larger than the client's max_message), IRTC_EAGAIN (the send buffer is
 * full: refused).
 */
int sctp_assoc_send(sctp_link_t *a, bool reliable, bool binary, const uint8_t *data, size_t len);
/* Opens channel sid as the DCEP initiator (DATA_CHANNEL_OPEN; type
 * SCTP_CHANNEL_*, rel its retransmissions or lifetime), usable at once: what
 * a client side does (the server only answers; tests and the fuzzer drive
 * the server from it).  IRTC_OK, IRTC_EINVAL (sid or type out of range,
 * already open), IRTC_ENOTFOUND / IRTC_EAGAIN as sctp_assoc_send. */
int sctp_assoc_open(sctp_link_t *a, uint16_t sid, uint8_t type, uint32_t rel);
/* The client's a=max-message-size (0: none said, 65536 assumed, RFC 8841 §6.1). */
void sctp_assoc_set_remote_max(sctp_link_t *a, size_t max_message);
/* The association is established (and not ended). */
bool sctp_assoc_up(const sctp_link_t *a);
/* Channels open now. */
unsigned sctp_assoc_channels(const sctp_link_t *a);

#endif
