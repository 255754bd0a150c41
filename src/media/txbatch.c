/*
 * txbatch.c — grouping a worker's outgoing datagrams by destination and into
 * UDP GSO messages.  See txbatch.h.
 */
#include "media/txbatch.h"

#include <netinet/in.h>
#include <netinet/udp.h>
#include <string.h>

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103 /* linux/udp.h; older libc headers lack it */
#endif

void txb_commit(txbatch_t *b, const mx_tuple_t *to, size_t len, uint64_t *sent_us)
{
    unsigned i = b->count++;
    b->len[i] = (uint16_t)len;
    b->sent_us[i] = sent_us;
    /* the address only: the rest of sockaddr_storage is never read */
    memcpy(&b->to[i].addr, &to->addr, to->len);
    b->to[i].len = to->len;
    b->to[i].conn = 0;
}

static bool same_dest(const mx_tuple_t *a, const mx_tuple_t *b)
{
    return a->len == b->len && memcmp(&a->addr, &b->addr, a->len) == 0;
}

static unsigned dest_hash(const mx_tuple_t *t)
{
    const uint8_t *p = (const uint8_t *)&t->addr;
    uint32_t h = 2166136261u; /* FNV-1a over the address bytes */
    for (socklen_t i = 0; i < t->len; i++)
        h = (h ^ p[i]) * 16777619u;
    return (h ^ h >> 15) & (TXB_BUCKETS - 1);
}

void txb_group(txbatch_t *b, bool by_dest)
{
    unsigned n = b->count;
    if (!by_dest) {
        for (unsigned i = 0; i < n; i++)
            b->ord[i] = b->gid[i] = (uint16_t)i;
        return;
    }
    unsigned n_used = 0;
    for (unsigned i = 0; i < n; i++) {
        unsigned h = dest_hash(&b->to[i]);
        while (b->head[h] != 0 && !same_dest(&b->to[b->head[h] - 1], &b->to[i]))
            h = (h + 1) & (TXB_BUCKETS - 1); /* linear probing: at most TXB_SLOTS of TXB_BUCKETS used */
        b->next[i] = 0;
        if (b->head[h] == 0) {
            b->head[h] = (uint16_t)(i + 1);
            b->used[n_used++] = (uint16_t)h;
        } else {
            b->next[b->tail[h] - 1] = (uint16_t)(i + 1);
        }
        b->tail[h] = (uint16_t)(i + 1);
    }
    unsigned p = 0;
    for (unsigned g = 0; g < n_used; g++) {
        unsigned h = b->used[g];
        for (unsigned s = b->head[h]; s != 0; s = b->next[s - 1]) {
            b->ord[p] = (uint16_t)(s - 1);
            b->gid[p++] = (uint16_t)g;
        }
        b->head[h] = 0; /* empty again for the next flush */
    }
}

unsigned txb_build(txbatch_t *b, unsigned from, bool gso)
{
    unsigned m = 0, n = b->count;
    for (unsigned p = from; p < n;) {
        unsigned s = b->ord[p], k = 1;
        size_t seg = b->len[s], total = seg;
        if (gso && seg > 0 && seg <= TXB_GSO_MAX_SEG) {
            while (p + k < n && k < TXB_GSO_MAX_SEGS && b->gid[p + k] == b->gid[p]) {
                size_t l = b->len[b->ord[p + k]];
                if (l == 0 || l > seg || total + l > TXB_GSO_MAX_BYTES)
                    break;
                k++;
                total += l;
                if (l < seg)
                    break; /* only the last segment may be shorter */
            }
        }
        for (unsigned j = 0; j < k; j++) {
            unsigned sj = b->ord[p + j];
            b->iov[p + j] = (struct iovec){.iov_base = b->buf[sj], .iov_len = b->len[sj]};
        }
        struct msghdr *h = &b->msgs[m].msg_hdr;
        *h = (struct msghdr){
            .msg_name = &b->to[s].addr, .msg_namelen = b->to[s].len, .msg_iov = &b->iov[p], .msg_iovlen = k};
        if (k > 1) {
            h->msg_control = b->ctrl[m].b;
            h->msg_controllen = sizeof(b->ctrl[m].b);
            struct cmsghdr *c = CMSG_FIRSTHDR(h);
            c->cmsg_level = IPPROTO_UDP;
            c->cmsg_type = UDP_SEGMENT;
            c->cmsg_len = CMSG_LEN(sizeof(uint16_t));
            uint16_t gso_size = (uint16_t)seg;
            memcpy(CMSG_DATA(c), &gso_size, sizeof(gso_size));
        }
        b->first[m] = (uint16_t)p;
        b->segs[m] = (uint16_t)k;
        m++;
        p += k;
    }
    return m;
}

size_t txb_msg_bytes(const txbatch_t *b, unsigned m)
{
    size_t bytes = 0;
    for (unsigned j = 0; j < b->segs[m]; j++)
        bytes += b->iov[b->first[m] + j].iov_len;
    return bytes;
}

void txb_stamp(txbatch_t *b, unsigned first, unsigned n, uint64_t t0_us, uint64_t t1_us)
{
    uint64_t span = t1_us > t0_us ? t1_us - t0_us : 0;
    for (unsigned m = first; m < first + n; m++) {
        uint64_t at = t0_us + span * (m - first + 1) / n;
        for (unsigned j = 0; j < b->segs[m]; j++) {
            uint64_t *p = b->sent_us[b->ord[b->first[m] + j]];
            if (p != NULL)
                *p = at;
        }
    }
}
