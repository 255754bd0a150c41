/*
 * events.c — the signaling wire format going out: response and error
 * envelopes, server events, stream descriptors, and the events room events
 * become; see events.h.  Pure; any thread (the control thread in practice).
 *
 * It does not parse requests, decide anything or send (session.c does).  The
 * format is documented in docs/API.md ("Signaling protocol").
 */
#include "signal/events.h"
#include "core/common.h"
#include "core/json.h"

#include <stdio.h>

void events_write_ok(buf_t *b, int v, int64_t id, const buf_t *data)
{
    buf_printf(b, "{\"v\":%d,\"id\":%lld,\"type\":\"response\",\"ok\":true,\"data\":%s}", v, (long long)id,
               data != NULL && data->len > 0 ? data->base : "{}");
}

void events_write_redirect(buf_t *b, int v, int64_t id, int code, const char *msg, const char *node_id,
                           const char *domain)
{
    buf_printf(b, "{\"v\":%d,\"id\":%lld,\"type\":\"response\",\"ok\":false,\"errorCode\":%d,\"errorMsg\":", v,
               (long long)id, code);
    json_write_string(b, msg);
    buf_puts(b, ",\"redirect\":{\"nodeId\":");
    json_write_string(b, node_id);
    buf_puts(b, ",\"domain\":");
    json_write_string(b, domain);
    char url[300];
    snprintf(url, sizeof(url), "wss://%s/v1/signal", domain);
    buf_puts(b, ",\"url\":");
    json_write_string(b, url);
    buf_puts(b, "}}");
}

void events_write_error(buf_t *b, int v, int64_t id, int code, const char *msg)
{
    if (id >= 0) {
        buf_printf(b, "{\"v\":%d,\"id\":%lld,\"type\":\"response\",\"ok\":false,\"errorCode\":%d,\"errorMsg\":", v,
                   (long long)id, code);
        json_write_string(b, msg);
        buf_putc(b, '}');
    } else {
        buf_printf(b, "{\"v\":%d,\"type\":\"event\",\"event\":\"error\",\"data\":{\"errorCode\":%d,\"errorMsg\":", v,
                   code);
        json_write_string(b, msg);
        buf_puts(b, "}}");
    }
}

void events_write_event(buf_t *b, int v, const char *event, const buf_t *data)
{
    buf_printf(b, "{\"v\":%d,\"type\":\"event\",\"event\":\"%s\",\"data\":%s}", v, event,
               data != NULL && data->len > 0 ? data->base : "{}");
}

void events_write_stream(buf_t *b, const room_stream_t *st)
{
    buf_printf(b, "{\"streamId\":\"%llu\",\"userId\":", (unsigned long long)st->id);
    json_write_string(b, st->user_id);
    buf_printf(b,
               ",\"type\":\"%s\",\"hasAudio\":%s,\"hasVideo\":%s,\"audioMuted\":%s,\"videoMuted\":%s,"
               "\"videoCodec\":",
               room_stream_type_name(st->type), st->has_audio ? "true" : "false", st->has_video ? "true" : "false",
               st->audio_muted ? "true" : "false", st->video_muted ? "true" : "false");
    json_write_string(b, st->video_codec);
    buf_printf(b, ",\"simulcast\":%d}", st->simulcast_layers > 1 ? st->simulcast_layers : 1);
}

static void write_reason(buf_t *b, int reason)
{
    buf_printf(b, "\"reason\":{\"code\":%d,\"msg\":", reason);
    json_write_string(b, room_reason_text(reason));
    buf_putc(b, '}');
}

static void write_user(buf_t *b, const char *user_id)
{
    buf_puts(b, "{\"userId\":");
    json_write_string(b, user_id);
}

const char *events_write_removed(buf_t *d, const char *user_id, int reason)
{
    if (reason == ROOM_REASON_KICKED || reason == ROOM_REASON_DISSOLVED) {
        buf_putc(d, '{');
        write_reason(d, reason);
        buf_putc(d, '}');
        return "client-banned";
    }
    write_user(d, user_id);
    buf_putc(d, ',');
    write_reason(d, reason);
    buf_putc(d, '}');
    return "peer-leave";
}

static const char *mute_event_name(const room_event_t *ev)
{
    if (ev->audio)
        return ev->muted ? "mute-audio" : "unmute-audio";
    return ev->muted ? "mute-video" : "unmute-video";
}

const char *events_write_room_event(buf_t *d, const room_event_t *ev)
{
    const char *name = NULL;
    switch (ev->type) {
    case ROOM_EV_PEER_JOIN:
        name = "peer-join";
        write_user(d, ev->user_id);
        break;
    case ROOM_EV_PEER_LEAVE:
        name = "peer-leave";
        write_user(d, ev->user_id);
        buf_putc(d, ',');
        write_reason(d, ev->reason);
        break;
    case ROOM_EV_STREAM_ADDED:
    case ROOM_EV_STREAM_REMOVED:
    case ROOM_EV_STREAM_UPDATED:
    case ROOM_EV_STREAM_PUBLISHED:
        name = ev->type == ROOM_EV_STREAM_ADDED     ? "stream-added"
               : ev->type == ROOM_EV_STREAM_REMOVED ? "stream-removed"
               : ev->type == ROOM_EV_STREAM_UPDATED ? "stream-updated"
                                                    : "stream-published";
        buf_puts(d, "{\"stream\":");
        events_write_stream(d, ev->stream);
        break;
    case ROOM_EV_STREAM_SUBSCRIBED:
        name = "stream-subscribed";
        buf_printf(d, "{\"subscriptionId\":\"%llu\",\"stream\":", (unsigned long long)ev->sub_id);
        events_write_stream(d, ev->stream);
        break;
    case ROOM_EV_MUTE:
        name = mute_event_name(ev);
        buf_puts(d, "{\"roomId\":");
        json_write_string(d, room_channel_id(ev->room));
        buf_puts(d, ",\"userId\":");
        json_write_string(d, ev->user_id);
        if (ev->stream != NULL)
            buf_printf(d, ",\"streamId\":\"%llu\"", (unsigned long long)ev->stream->id);
        break;
    case ROOM_EV_SUB_LAYER:
        name = ev->layer < 0 ? "subscription-paused" : "subscription-layer";
        buf_printf(d, "{\"subscriptionId\":\"%llu\",\"streamId\":\"%llu\"", (unsigned long long)ev->sub_id,
                   (unsigned long long)ev->stream->id);
        if (ev->layer < 0)
            buf_puts(d, ",\"reason\":\"bandwidth\"");
        else
            buf_printf(d, ",\"layer\":%d,\"of\":%d", ev->layer, ev->layers);
        break;
    case ROOM_EV_TRANSPORT_STATS:
        name = "transport-stats";
        buf_printf(d, "{\"pc\":\"%s\",\"rttMs\":", ev->recv_pc ? "recv" : "send");
        if (ev->rtt_ms)
            buf_printf(d, "%u", (unsigned)ev->rtt_ms);
        else
            buf_puts(d, "null");
        buf_printf(d, ",\"lossPct\":%u.%u,\"availableKbps\":", (unsigned)ev->loss_permille / 10,
                   (unsigned)ev->loss_permille % 10);
        if (ev->avail_kbps)
            buf_printf(d, "%u", (unsigned)ev->avail_kbps);
        else
            buf_puts(d, "null");
        break;
    case ROOM_EV_ACTIVE_SPEAKER:
        name = "active-speaker";
        write_user(d, ev->user_id);
        buf_printf(d, ",\"streamId\":\"%llu\"", (unsigned long long)ev->stream->id);
        break;
    case ROOM_EV_REMOVED:
        return NULL;
    }
    buf_putc(d, '}');
    return name;
}
