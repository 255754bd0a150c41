/*
 * sctp.c — data channels over usrsctp: see sctp.h for the threading.
 *
 * usrsctp names an AF_CONN association by an opaque address; ours is a
 * number (never a pointer), looked up under the queue mutex, so a packet
 * usrsctp emits for an association being freed on another thread finds
 * nothing and is dropped instead of touching freed memory.
 */
#include "media/sctp.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <sys/socket.h>

#include <usrsctp.h>

#include "core/common.h"
#include "core/log.h"

#define RECV_CHUNK 65536 /* one usrsctp_recvv; larger messages arrive in parts */
#define POLL_READS 256   /* reads per poll: the rest waits for the next one */
#define REG_BUCKETS 1024 /* the registry's hash (keys are consecutive: one association per bucket up to this) */

typedef struct out_pkt {
    struct out_pkt *next;
    size_t len;
    uint8_t data[];
} out_pkt_t;

typedef struct {
    bool open;
    uint8_t type; /* SCTP_CHANNEL_* */
    uint32_t rel; /* partial reliability parameter */
} channel_t;

struct sctp_link {
    sctp_callbacks_t cb;
    void *user;
    sctp_counters_t n;
    struct socket *sock;
    uintptr_t key; /* usrsctp's name for it */
    size_t max_in, max_out;
    channel_t ch[SCTP_STREAMS];
    unsigned n_open;
    /* a message arriving in parts */
    uint8_t *msg;
    size_t msg_len, msg_cap;
    bool msg_discard;
    bool up;  /* the association is established */
    bool eof; /* and has ended */
    /* under g.lock */
    struct sctp_link *reg_next;
    out_pkt_t *q_head, *q_tail;
    unsigned q_len;
    _Atomic bool pending;
};

static struct {
    pthread_once_t once;
    pthread_mutex_t lock; /* the registry and every association's packet queue */
    sctp_link_t *reg[REG_BUCKETS];
    uintptr_t next_key;
    _Atomic uint64_t last_ms; /* the clock handed to usrsctp so far (0: not yet) */
} g = {.once = PTHREAD_ONCE_INIT, .lock = PTHREAD_MUTEX_INITIALIZER, .next_key = 1};

static void count(_Atomic uint64_t *c)
{
    if (c != NULL)
        atomic_fetch_add_explicit(c, 1, memory_order_relaxed);
}

/* usrsctp, on any thread: an association's packet. */
static int conn_output(void *addr, void *buf, size_t len, uint8_t tos, uint8_t set_df)
{
    (void)tos;
    (void)set_df;
    uintptr_t key = (uintptr_t)addr;
    pthread_mutex_lock(&g.lock);
    sctp_link_t *a = g.reg[key % REG_BUCKETS];
    while (a != NULL && a->key != key)
        a = a->reg_next;
    if (a != NULL) {
        if (a->q_len >= SCTP_OUT_QUEUE_MAX) {
            count(a->n.out_queue_drops);
        } else {
            out_pkt_t *p = xmalloc(sizeof(*p) + len);
            p->next = NULL;
            p->len = len;
            memcpy(p->data, buf, len);
            if (a->q_tail != NULL)
                a->q_tail->next = p;
            else
                a->q_head = p;
            a->q_tail = p;
            a->q_len++;
            atomic_store_explicit(&a->pending, true, memory_order_release);
        }
    }
    pthread_mutex_unlock(&g.lock);
    return 0;
}

static void lib_init(void)
{
    usrsctp_init_nothreads(0, conn_output, NULL);
    usrsctp_sysctl_set_sctp_ecn_enable(0);
    /* A peer that goes away is noticed by DTLS and ICE; no long heartbeats. */
    usrsctp_sysctl_set_sctp_heartbeat_interval_default(10000);
}

void sctp_library_init(void)
{
    pthread_once(&g.once, lib_init);
}

void sctp_clock(uint64_t now_ms)
{
    uint64_t last = atomic_load_explicit(&g.last_ms, memory_order_relaxed);
    if (last == 0) {
        atomic_compare_exchange_strong(&g.last_ms, &last, now_ms);
        return;
    }
    if (now_ms <= last || now_ms - last < 5)
        return;
    /* The caller that moves the clock runs the interval; another worker
     * arriving at the same moment finds it taken. */
    if (atomic_compare_exchange_strong(&g.last_ms, &last, now_ms))
        usrsctp_handle_timers((uint32_t)IRTC_MIN(now_ms - last, 1000));
}

static int setopt(sctp_link_t *a, int level, int name, const void *v, socklen_t len)
{
    if (usrsctp_setsockopt(a->sock, level, name, v, len) == 0)
        return 0;
    log_warn("sctp", "setsockopt %d/%d: %s", level, name, strerror(errno));
    return -1;
}

sctp_link_t *sctp_assoc_new(const sctp_callbacks_t *cb, void *user, uint16_t remote_port, size_t max_message,
                             const sctp_counters_t *counters)
{
    sctp_library_init();
    sctp_link_t *a = xcalloc(1, sizeof(*a));
    a->cb = *cb;
    a->user = user;
    if (counters != NULL)
        a->n = *counters;
    a->max_in = max_message;
    a->max_out = 65536;
    pthread_mutex_lock(&g.lock);
    a->key = g.next_key++;
    a->reg_next = g.reg[a->key % REG_BUCKETS];
    g.reg[a->key % REG_BUCKETS] = a;
    pthread_mutex_unlock(&g.lock);
    usrsctp_register_address((void *)a->key);

    a->sock = usrsctp_socket(AF_CONN, SOCK_STREAM, IPPROTO_SCTP, NULL, NULL, 0, NULL);
    if (a->sock == NULL) {
        log_warn("sctp", "usrsctp_socket: %s", strerror(errno));
        return a; /* inert: input is ignored, sends fail */
    }
    usrsctp_set_non_blocking(a->sock, 1);
    const int on = 1;
    const struct linger lg = {1, 0}; /* close aborts: nothing lingers after the transport */
    const int sndbuf = SCTP_SEND_BUFFER, rcvbuf = SCTP_SEND_BUFFER;
    struct sctp_assoc_value reset = {.assoc_id = SCTP_ALL_ASSOC, .assoc_value = SCTP_ENABLE_RESET_STREAM_REQ};
    struct sctp_initmsg init = {.sinit_num_ostreams = SCTP_STREAMS, .sinit_max_instreams = SCTP_STREAMS};
    setopt(a, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
    setopt(a, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
    setopt(a, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
    setopt(a, IPPROTO_SCTP, SCTP_RECVRCVINFO, &on, sizeof(on));
    setopt(a, IPPROTO_SCTP, SCTP_NODELAY, &on, sizeof(on));
    setopt(a, IPPROTO_SCTP, SCTP_ENABLE_STREAM_RESET, &reset, sizeof(reset));
    setopt(a, IPPROTO_SCTP, SCTP_INITMSG, &init, sizeof(init));
    static const uint16_t events[] = {SCTP_ASSOC_CHANGE, SCTP_STREAM_RESET_EVENT};
    for (size_t i = 0; i < IRTC_ARRAY_SIZE(events); i++) {
        struct sctp_event ev = {.se_assoc_id = SCTP_ALL_ASSOC, .se_type = events[i], .se_on = 1};
        setopt(a, IPPROTO_SCTP, SCTP_EVENT, &ev, sizeof(ev));
    }
    struct sockaddr_conn local = {.sconn_family = AF_CONN, .sconn_port = htons(SCTP_PORT),
                                  .sconn_addr = (void *)a->key};
    struct sockaddr_conn remote = local;
    remote.sconn_port = htons(remote_port ? remote_port : SCTP_PORT);
    if (usrsctp_bind(a->sock, (struct sockaddr *)&local, sizeof(local)) < 0 ||
        (usrsctp_connect(a->sock, (struct sockaddr *)&remote, sizeof(remote)) < 0 && errno != EINPROGRESS)) {
        log_warn("sctp", "bind/connect: %s", strerror(errno));
        usrsctp_close(a->sock);
        a->sock = NULL;
        return a;
    }
    /* Every packet must fit one DTLS record of one DTLS_MTU datagram. */
    struct sctp_paddrparams pp = {.spp_flags = SPP_PMTUD_DISABLE, .spp_pathmtu = SCTP_PATH_MTU};
    memcpy(&pp.spp_address, &remote, sizeof(remote));
    setopt(a, IPPROTO_SCTP, SCTP_PEER_ADDR_PARAMS, &pp, sizeof(pp));
    return a;
}

static out_pkt_t *take_queue(sctp_link_t *a)
{
    pthread_mutex_lock(&g.lock);
    out_pkt_t *p = a->q_head;
    a->q_head = a->q_tail = NULL;
    a->q_len = 0;
    atomic_store_explicit(&a->pending, false, memory_order_relaxed);
    pthread_mutex_unlock(&g.lock);
    return p;
}

static void flush(sctp_link_t *a)
{
    for (out_pkt_t *p = take_queue(a), *next; p != NULL; p = next) {
        next = p->next;
        a->cb.send(a->user, p->data, p->len);
        free(p);
    }
}

void sctp_assoc_free(sctp_link_t *a)
{
    if (a == NULL)
        return;
    if (a->sock != NULL) {
        usrsctp_close(a->sock); /* an ABORT, sent now if the association was up */
        flush(a);
    }
    usrsctp_deregister_address((void *)a->key);
    pthread_mutex_lock(&g.lock);
    for (sctp_link_t **pp = &g.reg[a->key % REG_BUCKETS]; *pp != NULL; pp = &(*pp)->reg_next) {
        if (*pp == a) {
            *pp = a->reg_next;
            break;
        }
    }
    pthread_mutex_unlock(&g.lock);
    for (out_pkt_t *p = take_queue(a), *next; p != NULL; p = next) {
        next = p->next;
        free(p);
    }
    free(a->msg);
    free(a);
}

bool sctp_assoc_pending(sctp_link_t *a)
{
    return atomic_load_explicit(&a->pending, memory_order_acquire);
}

void sctp_assoc_set_remote_max(sctp_link_t *a, size_t max_message)
{
    a->max_out = max_message ? max_message : 65536;
}

unsigned sctp_assoc_channels(const sctp_link_t *a)
{
    return a->n_open;
}

static int send_on(sctp_link_t *a, uint16_t sid, uint32_t ppid, const uint8_t *data, size_t len, bool ctl)
{
    const channel_t *c = &a->ch[sid];
    struct sctp_sendv_spa spa = {.sendv_flags = SCTP_SEND_SNDINFO_VALID};
    spa.sendv_sndinfo.snd_sid = sid;
    spa.sendv_sndinfo.snd_ppid = htonl(ppid);
    spa.sendv_sndinfo.snd_flags = SCTP_EOR;
    if (!ctl && (c->type & SCTP_CHANNEL_UNORDERED))
        spa.sendv_sndinfo.snd_flags |= SCTP_UNORDERED;
    if (!ctl && (c->type & 0x7f) != SCTP_CHANNEL_RELIABLE) {
        spa.sendv_flags |= SCTP_SEND_PRINFO_VALID;
        spa.sendv_prinfo.pr_policy = (c->type & 0x7f) == SCTP_CHANNEL_PR_REXMIT ? SCTP_PR_SCTP_RTX : SCTP_PR_SCTP_TTL;
        spa.sendv_prinfo.pr_value = c->rel;
    }
    ssize_t r = usrsctp_sendv(a->sock, data, len, NULL, 0, &spa, sizeof(spa), SCTP_SENDV_SPA, 0);
    if (r >= 0)
        return IRTC_OK;
    return errno == EWOULDBLOCK || errno == EAGAIN || errno == ENOBUFS ? IRTC_EAGAIN : IRTC_EPROTO;
}

static void on_dcep(sctp_link_t *a, uint16_t sid, const uint8_t *d, size_t len)
{
    if (len >= 1 && d[0] == SCTP_DCEP_ACK)
        return; /* we open no channels: nothing to acknowledge */
    /* OPEN: type, channel type, priority(2), reliability(4), label len(2), protocol len(2), label, protocol */
    if (len < 12 || d[0] != SCTP_DCEP_OPEN || (size_t)12 + ((d[8] << 8) | d[9]) + ((d[10] << 8) | d[11]) > len) {
        count(a->n.malformed);
        return;
    }
    uint8_t type = d[1];
    if ((type & 0x7f) > SCTP_CHANNEL_PR_TIMED) {
        count(a->n.malformed);
        return;
    }
    channel_t *c = &a->ch[sid];
    if (!c->open)
        a->n_open++;
    *c = (channel_t){.open = true, .type = type,
                     .rel = (uint32_t)d[4] << 24 | (uint32_t)d[5] << 16 | (uint32_t)d[6] << 8 | d[7]};
    const uint8_t ack = SCTP_DCEP_ACK;
    send_on(a, sid, SCTP_PPID_DCEP, &ack, 1, true);
}

static void on_message(sctp_link_t *a, uint16_t sid, uint32_t ppid, const uint8_t *d, size_t len)
{
    if (sid >= SCTP_STREAMS) {
        count(a->n.malformed);
        return;
    }
    if (ppid == SCTP_PPID_DCEP) {
        on_dcep(a, sid, d, len);
        return;
    }
    const channel_t *c = &a->ch[sid];
    bool empty = ppid == SCTP_PPID_STRING_EMPTY || ppid == SCTP_PPID_BINARY_EMPTY;
    if (!c->open || (ppid != SCTP_PPID_STRING && ppid != SCTP_PPID_BINARY && !empty)) {
        count(a->n.malformed); /* deprecated partial PPIDs (52, 54) included */
        return;
    }
    bool binary = ppid == SCTP_PPID_BINARY || ppid == SCTP_PPID_BINARY_EMPTY;
    a->cb.on_message(a->user, c->type == SCTP_CHANNEL_RELIABLE, binary, d, empty ? 0 : len);
}

/* The peer reset its outgoing streams (closed channels): close ours too (RFC 8831 §6.7). */
static void on_stream_reset(sctp_link_t *a, const struct sctp_stream_reset_event *ev, size_t len)
{
    if (!(ev->strreset_flags & SCTP_STREAM_RESET_INCOMING_SSN) || len < sizeof(*ev))
        return;
    size_t n = (len - sizeof(*ev)) / sizeof(uint16_t);
    if (n == 0 || n > SCTP_STREAMS)
        return;
    struct sctp_reset_streams *rs = xcalloc(1, sizeof(*rs) + n * sizeof(uint16_t));
    rs->srs_flags = SCTP_STREAM_RESET_OUTGOING;
    uint16_t k = 0;
    for (size_t i = 0; i < n; i++) {
        uint16_t sid = ev->strreset_stream_list[i];
        if (sid < SCTP_STREAMS && a->ch[sid].open) {
            a->ch[sid].open = false;
            a->n_open--;
            rs->srs_stream_list[k++] = sid;
        }
    }
    rs->srs_number_streams = k;
    if (k > 0)
        usrsctp_setsockopt(a->sock, IPPROTO_SCTP, SCTP_RESET_STREAMS, rs,
                           (socklen_t)(sizeof(*rs) + k * sizeof(uint16_t)));
    free(rs);
}

static void on_notification(sctp_link_t *a, const uint8_t *d, size_t len)
{
    const union sctp_notification *n = (const void *)d;
    if (len < sizeof(n->sn_header))
        return;
    if (n->sn_header.sn_type == SCTP_STREAM_RESET_EVENT)
        on_stream_reset(a, &n->sn_strreset_event, len);
    else if (n->sn_header.sn_type == SCTP_ASSOC_CHANGE && len >= sizeof(n->sn_assoc_change)) {
        uint16_t st = n->sn_assoc_change.sac_state;
        if (st == SCTP_COMM_UP || st == SCTP_RESTART)
            a->up = true;
        else if (st == SCTP_COMM_LOST || st == SCTP_SHUTDOWN_COMP || st == SCTP_CANT_STR_ASSOC)
            a->up = false;
    }
}

static void drain(sctp_link_t *a)
{
    /* One read buffer per worker, not per association (thousands of them). */
    static _Thread_local uint8_t chunk[RECV_CHUNK];
    for (int i = 0; i < POLL_READS && !a->eof; i++) {
        struct sctp_rcvinfo info;
        socklen_t infolen = sizeof(info), fromlen = sizeof(struct sockaddr_conn);
        struct sockaddr_conn from;
        unsigned infotype = 0;
        int flags = 0;
        ssize_t r = usrsctp_recvv(a->sock, chunk, RECV_CHUNK, (struct sockaddr *)&from, &fromlen, &info, &infolen,
                                  &infotype, &flags);
        if (r < 0)
            return; /* EWOULDBLOCK: nothing more now */
        if (r == 0) {
            a->eof = true; /* the association ended */
            return;
        }
        size_t n = (size_t)r;
        if (!a->msg_discard && a->msg_len + n > (flags & MSG_NOTIFICATION ? RECV_CHUNK : a->max_in)) {
            count(a->n.too_big);
            a->msg_discard = true;
        }
        if (!a->msg_discard) {
            if (a->msg_len + n > a->msg_cap) {
                a->msg_cap = IRTC_MAX(a->msg_len + n, a->msg_cap * 2);
                a->msg = xrealloc(a->msg, a->msg_cap);
            }
            memcpy(a->msg + a->msg_len, chunk, n);
            a->msg_len += n;
        }
        if (!(flags & MSG_EOR))
            continue;
        if (!a->msg_discard) {
            if (flags & MSG_NOTIFICATION)
                on_notification(a, a->msg, a->msg_len);
            else if (infotype == SCTP_RECVV_RCVINFO)
                on_message(a, info.rcv_sid, ntohl(info.rcv_ppid), a->msg, a->msg_len);
        }
        a->msg_len = 0;
        a->msg_discard = false;
        if (a->msg_cap > RECV_CHUNK) { /* a large message passed: do not keep its room */
            free(a->msg);
            a->msg = NULL;
            a->msg_cap = 0;
        }
    }
    /* more to read: come back on the next poll */
    atomic_store_explicit(&a->pending, true, memory_order_release);
}

void sctp_assoc_poll(sctp_link_t *a)
{
    if (a->sock == NULL)
        return;
    atomic_store_explicit(&a->pending, false, memory_order_relaxed);
    drain(a);
    flush(a);
}

void sctp_assoc_input(sctp_link_t *a, const uint8_t *pkt, size_t len)
{
    if (a->sock == NULL)
        return;
    usrsctp_conninput((void *)a->key, pkt, len, 0);
    sctp_assoc_poll(a);
}

static int pick_channel(const sctp_link_t *a, bool reliable)
{
    int other = -1;
    for (int i = 0; i < SCTP_STREAMS; i++) {
        if (!a->ch[i].open)
            continue;
        if ((a->ch[i].type == SCTP_CHANNEL_RELIABLE) == reliable)
            return i;
        if (other < 0)
            other = i;
    }
    return other;
}

bool sctp_assoc_up(const sctp_link_t *a)
{
    return a->up && !a->eof;
}

int sctp_assoc_open(sctp_link_t *a, uint16_t sid, uint8_t type, uint32_t rel)
{
    if (!sctp_assoc_up(a))
        return IRTC_ENOTFOUND;
    if (sid >= SCTP_STREAMS || a->ch[sid].open || (type & 0x7f) > SCTP_CHANNEL_PR_TIMED)
        return IRTC_EINVAL;
    /* type, channel type, priority 0, reliability, no label, no protocol */
    const uint8_t open[12] = {SCTP_DCEP_OPEN, type, 0, 0, rel >> 24, rel >> 16, rel >> 8, rel, 0, 0, 0, 0};
    int rc = send_on(a, sid, SCTP_PPID_DCEP, open, sizeof(open), true);
    if (rc == IRTC_OK) {
        a->ch[sid] = (channel_t){.open = true, .type = type, .rel = rel};
        a->n_open++;
    }
    flush(a);
    return rc;
}

int sctp_assoc_send(sctp_link_t *a, bool reliable, bool binary, const uint8_t *data, size_t len)
{
    if (!sctp_assoc_up(a))
        return IRTC_ENOTFOUND;
    if (len > a->max_out)
        return IRTC_EINVAL;
    int sid = a->n_open ? pick_channel(a, reliable) : -1;
    if (sid < 0)
        return IRTC_ENOTFOUND;
    static const uint8_t zero = 0;
    int rc = len == 0 ? send_on(a, (uint16_t)sid, binary ? SCTP_PPID_BINARY_EMPTY : SCTP_PPID_STRING_EMPTY, &zero, 1,
                                false)
                      : send_on(a, (uint16_t)sid, binary ? SCTP_PPID_BINARY : SCTP_PPID_STRING, data, len, false);
    flush(a);
    return rc;
}
