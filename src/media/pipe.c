/*
 * pipe.c — the rings between a track's home worker and a remote worker.
 * See pipe.h.
 */
#include "media/pipe.h"
#include "core/common.h"

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

mx_pipe_t *pipe_new(int wake_fd)
{
    mx_pipe_t *p = xcalloc(1, sizeof(*p));
    p->fwd = spsc_ring_new(PIPE_FWD_SLOTS);
    p->back = spsc_ring_new(PIPE_BACK_SLOTS);
    p->wake_fd = wake_fd;
    atomic_init(&p->refs, 1);
    return p;
}

void pipe_ref(mx_pipe_t *p)
{
    atomic_fetch_add(&p->refs, 1);
}

void pipe_unref(mx_pipe_t *p)
{
    if (p == NULL || atomic_fetch_sub(&p->refs, 1) != 1)
        return;
    spsc_ring_unref(p->fwd);
    spsc_ring_unref(p->back);
    free(p);
}

void pipe_push_sr(mx_pipe_t *p, unsigned ei, uint32_t ntp_sec, uint32_t ntp_frac, uint32_t rtp_ts, uint64_t now_us)
{
    uint8_t b[12];
    uint32_t v[3] = {ntp_sec, ntp_frac, rtp_ts};
    memcpy(b, v, sizeof(b)); /* same process: host order */
    spsc_ring_push_tag(p->fwd, (uint8_t)(PIPE_TAG_SR | ei), b, sizeof(b), now_us);
    p->pending = true;
}

void pipe_wake(mx_pipe_t *p)
{
    if (!p->pending)
        return;
    p->pending = false;
    uint64_t one = 1;
    /* EAGAIN: the counter is saturated, the remote is woken anyway */
    while (write(p->wake_fd, &one, sizeof(one)) < 0 && errno == EINTR)
        ;
}

bool pipe_push_keyframe(mx_pipe_t *p, unsigned ei, bool force)
{
    uint8_t f = force;
    return spsc_ring_push_tag(p->back, (uint8_t)ei, &f, 1, 0);
}
