/*
 * events.c — the signaling wire format going out: response and error
 * envelopes, server events, stream descriptors, and the room sink that turns
 * room events into those events.  Control thread.
 *
 * It does not parse requests or decide anything (session.c does); the sink
 * only writes and queues, as room.h requires of sinks.  The format is
 * documented in docs/API.md ("Signaling protocol").
 */
#include "signal/session.h"
#include "core/common.h"
#include "core/json.h"

#include <stdarg.h>
#include <stdio.h>

#define SIG_PROTOCOL_VERSION 1

static void send_and_dispose(sig_session_t *s, buf_t *b)
{
    sig_send(s, b);
    buf_dispose(b);
}

void sess_reply_ok(sig_session_t *s, int64_t id, const buf_t *data)
{
    buf_t b;
    buf_init(&b);
    buf_printf(&b, "{\"v\":%d,\"id\":%lld,\"type\":\"response\",\"ok\":true,\"data\":%s}", SIG_PROTOCOL_VERSION,
               (long long)id, data != NULL && data->len > 0 ? data->base : "{}");
    send_and_dispose(s, &b);
}

void sess_reply_error(sig_session_t *s, int64_t id, int code, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    s->srv->errors_total++;
    buf_t b;
    buf_init(&b);
    if (id >= 0) {
        buf_printf(&b, "{\"v\":%d,\"id\":%lld,\"type\":\"response\",\"ok\":false,\"errorCode\":%d,\"errorMsg\":",
                   SIG_PROTOCOL_VERSION, (long long)id, code);
        json_write_string(&b, msg);
        buf_putc(&b, '}');
    } else {
        buf_printf(&b, "{\"v\":%d,\"type\":\"event\",\"event\":\"error\",\"data\":{\"errorCode\":%d,\"errorMsg\":",
                   SIG_PROTOCOL_VERSION, code);
        json_write_string(&b, msg);
        buf_puts(&b, "}}");
    }
    send_and_dispose(s, &b);
}

void sess_send_event(sig_session_t *s, const char *event, const buf_t *data)
{
    buf_t b;
    buf_init(&b);
    buf_printf(&b, "{\"v\":%d,\"type\":\"event\",\"event\":\"%s\",\"data\":%s}", SIG_PROTOCOL_VERSION, event,
               data != NULL && data->len > 0 ? data->base : "{}");
    send_and_dispose(s, &b);
}

void sess_write_stream(buf_t *b, const room_stream_t *st)
{
    buf_printf(b, "{\"streamId\":\"%llu\",\"userId\":", (unsigned long long)st->id);
    json_write_string(b, st->user_id);
    buf_printf(b,
               ",\"type\":\"%s\",\"hasAudio\":%s,\"hasVideo\":%s,\"audioMuted\":%s,\"videoMuted\":%s,"
               "\"videoCodec\":",
               room_stream_type_name(st->type), st->has_audio ? "true" : "false", st->has_video ? "true" : "false",
               st->audio_muted ? "true" : "false", st->video_muted ? "true" : "false");
    json_write_string(b, st->video_codec);
    buf_putc(b, '}');
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

void sess_removed(sig_session_t *s, int reason)
{
    s->removed = true;
    s->removed_reason = reason;
    buf_t d;
    buf_init(&d);
    if (reason == ROOM_REASON_KICKED || reason == ROOM_REASON_DISSOLVED) {
        buf_putc(&d, '{');
        write_reason(&d, reason);
        buf_putc(&d, '}');
        sess_send_event(s, "client-banned", &d);
    } else {
        write_user(&d, s->token.user_id);
        buf_putc(&d, ',');
        write_reason(&d, reason);
        buf_putc(&d, '}');
        sess_send_event(s, "peer-leave", &d);
    }
    buf_dispose(&d);
    char text[64];
    snprintf(text, sizeof(text), "left the room: %s", room_reason_text(reason));
    /* 4000 + the reason code: a native client reads why from the close frame too. */
    sig_close(s, (uint16_t)(4000 + reason), text);
}

static const char *mute_event_name(const room_event_t *ev)
{
    if (ev->audio)
        return ev->muted ? "mute-audio" : "unmute-audio";
    return ev->muted ? "mute-video" : "unmute-video";
}

void sess_on_room_event(void *ctx, const room_event_t *ev)
{
    sig_session_t *s = ctx;
    const char *name = NULL;
    buf_t d;
    buf_init(&d);
    switch (ev->type) {
    case ROOM_EV_PEER_JOIN:
        name = "peer-join";
        write_user(&d, ev->user_id);
        break;
    case ROOM_EV_PEER_LEAVE:
        name = "peer-leave";
        write_user(&d, ev->user_id);
        buf_putc(&d, ',');
        write_reason(&d, ev->reason);
        break;
    case ROOM_EV_STREAM_ADDED:
    case ROOM_EV_STREAM_REMOVED:
    case ROOM_EV_STREAM_UPDATED:
    case ROOM_EV_STREAM_PUBLISHED:
        name = ev->type == ROOM_EV_STREAM_ADDED     ? "stream-added"
               : ev->type == ROOM_EV_STREAM_REMOVED ? "stream-removed"
               : ev->type == ROOM_EV_STREAM_UPDATED ? "stream-updated"
                                                    : "stream-published";
        buf_puts(&d, "{\"stream\":");
        sess_write_stream(&d, ev->stream);
        break;
    case ROOM_EV_STREAM_SUBSCRIBED:
        name = "stream-subscribed";
        buf_printf(&d, "{\"subscriptionId\":\"%llu\",\"stream\":", (unsigned long long)ev->sub_id);
        sess_write_stream(&d, ev->stream);
        break;
    case ROOM_EV_MUTE:
        name = mute_event_name(ev);
        buf_puts(&d, "{\"roomId\":");
        json_write_string(&d, room_channel_id(ev->room));
        buf_puts(&d, ",\"userId\":");
        json_write_string(&d, ev->user_id);
        if (ev->stream != NULL)
            buf_printf(&d, ",\"streamId\":\"%llu\"", (unsigned long long)ev->stream->id);
        break;
    case ROOM_EV_REMOVED:
        /* The peer is freed when this returns. */
        s->peer = NULL;
        buf_dispose(&d);
        sess_removed(s, ev->reason);
        return;
    }
    buf_putc(&d, '}');
    if (name != NULL)
        sess_send_event(s, name, &d);
    buf_dispose(&d);
}
