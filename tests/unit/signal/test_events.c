/*
 * test_events.c — signal/events.c: the wire format of what the server sends
 * (docs/API.md, "Signaling protocol"), checked by parsing it back: response
 * and error envelopes, events, stream descriptors, and what each room event
 * and each removal reason becomes.
 */
#include "core/buf.h"
#include "core/json.h"
#include "signal/events.h"
#include "unit/tap.h"

#include <stdio.h>
#include <string.h>

/* b parsed as one JSON object (json_free it), or NULL. */
static json_value_t *parse(const buf_t *b)
{
    json_value_t *v = json_parse(b->base, b->len, NULL, NULL);
    return json_type(v) == JSON_OBJECT ? v : (json_free(v), NULL);
}

static int64_t int_at(const json_value_t *o, const char *key)
{
    int64_t n = -1;
    json_int64(json_get(o, key), &n);
    return n;
}

static const char *str_at(const json_value_t *o, const char *key)
{
    return json_string(json_get(o, key));
}

static void test_envelopes(void)
{
    buf_t b, d;
    buf_init(&b);
    buf_init(&d);
    events_write_ok(&b, EVENTS_PROTOCOL_VERSION, 42, NULL);
    json_value_t *v = parse(&b);
    ok(v != NULL && int_at(v, "v") == EVENTS_PROTOCOL_VERSION && int_at(v, "id") == 42 &&
           strcmp(str_at(v, "type"), "response") == 0 && json_bool(json_get(v, "ok")) &&
           json_size(json_get(v, "data")) == 0,
       "ok response without data: data is {}");
    json_free(v);

    buf_reset(&b);
    buf_puts(&d, "{\"x\":1}");
    events_write_ok(&b, EVENTS_PROTOCOL_VERSION, 9007199254740991LL, &d);
    v = parse(&b);
    ok(v != NULL && int_at(v, "id") == 9007199254740991LL && int_at(json_get(v, "data"), "x") == 1,
       "ok response carries data and a 2^53-1 id");
    json_free(v);

    buf_reset(&b);
    events_write_error(&b, EVENTS_PROTOCOL_VERSION, 7, 200006, "sdp: \"quoted\"\nand a newline");
    v = parse(&b);
    ok(v != NULL && int_at(v, "id") == 7 && !json_bool(json_get(v, "ok")) && int_at(v, "errorCode") == 200006 &&
           strcmp(str_at(v, "errorMsg"), "sdp: \"quoted\"\nand a newline") == 0,
       "error response: code and the message escaped");
    json_free(v);

    buf_reset(&b);
    events_write_error(&b, EVENTS_PROTOCOL_VERSION, -1, 200006, "no id");
    v = parse(&b);
    ok(v != NULL && json_get(v, "id") == NULL && strcmp(str_at(v, "type"), "event") == 0 &&
           strcmp(str_at(v, "event"), "error") == 0 && int_at(json_get(v, "data"), "errorCode") == 200006,
       "an error without a request id is an `error` event");
    json_free(v);

    buf_reset(&b);
    events_write_event(&b, EVENTS_PROTOCOL_VERSION, "peer-join", &d);
    v = parse(&b);
    ok(v != NULL && strcmp(str_at(v, "event"), "peer-join") == 0 && int_at(json_get(v, "data"), "x") == 1,
       "an event with its data");
    json_free(v);
    buf_dispose(&b);
    buf_dispose(&d);
}

static void test_room_events(void)
{
    room_stream_t st = {.id = 18446744073709551615ULL,
                        .user_id = "al\"ice",
                        .type = ROOM_STREAM_MAIN,
                        .has_audio = true,
                        .video_muted = true,
                        .video_codec = "VP8"};
    buf_t d;
    buf_init(&d);
    events_write_stream(&d, &st);
    json_value_t *v = parse(&d);
    ok(v != NULL && strcmp(str_at(v, "streamId"), "18446744073709551615") == 0 &&
           strcmp(str_at(v, "userId"), "al\"ice") == 0 && json_bool(json_get(v, "hasAudio")) &&
           !json_bool(json_get(v, "hasVideo")) && json_bool(json_get(v, "videoMuted")) &&
           strcmp(str_at(v, "videoCodec"), "VP8") == 0,
       "stream descriptor: id as a string of digits, flags, codec");
    json_free(v);

    room_event_t ev = {.type = ROOM_EV_PEER_LEAVE, .user_id = "bob", .reason = ROOM_REASON_TIMEOUT};
    buf_reset(&d);
    const char *name = events_write_room_event(&d, &ev);
    v = parse(&d);
    ok(name != NULL && strcmp(name, "peer-leave") == 0 && v != NULL && strcmp(str_at(v, "userId"), "bob") == 0 &&
           int_at(json_get(v, "reason"), "code") == ROOM_REASON_TIMEOUT &&
           strcmp(str_at(json_get(v, "reason"), "msg"), room_reason_text(ROOM_REASON_TIMEOUT)) == 0,
       "peer-leave: user and reason {code, msg}");
    json_free(v);

    ev = (room_event_t){.type = ROOM_EV_STREAM_SUBSCRIBED, .stream = &st, .sub_id = 5};
    buf_reset(&d);
    name = events_write_room_event(&d, &ev);
    v = parse(&d);
    ok(name != NULL && strcmp(name, "stream-subscribed") == 0 && v != NULL &&
           strcmp(str_at(v, "subscriptionId"), "5") == 0 && json_get(v, "stream") != NULL,
       "stream-subscribed: subscriptionId and the stream");
    json_free(v);

    static const struct {
        room_event_type_t type;
        const char *name;
    } streams[] = {{ROOM_EV_STREAM_ADDED, "stream-added"},
                   {ROOM_EV_STREAM_REMOVED, "stream-removed"},
                   {ROOM_EV_STREAM_UPDATED, "stream-updated"},
                   {ROOM_EV_STREAM_PUBLISHED, "stream-published"}};
    int good = 0;
    for (size_t i = 0; i < sizeof(streams) / sizeof(streams[0]); i++) {
        ev = (room_event_t){.type = streams[i].type, .stream = &st};
        buf_reset(&d);
        name = events_write_room_event(&d, &ev);
        v = parse(&d);
        good += name != NULL && strcmp(name, streams[i].name) == 0 && v != NULL && json_get(v, "stream") != NULL;
        json_free(v);
    }
    is_int(good, 4, "each stream event has its name and the stream");

    ev = (room_event_t){.type = ROOM_EV_REMOVED, .reason = ROOM_REASON_KICKED};
    buf_reset(&d);
    ok(events_write_room_event(&d, &ev) == NULL && d.len == 0, "ROOM_EV_REMOVED is left to the session");

    buf_reset(&d);
    name = events_write_removed(&d, "bob", ROOM_REASON_KICKED);
    v = parse(&d);
    ok(strcmp(name, "client-banned") == 0 && v != NULL && json_get(v, "userId") == NULL &&
           int_at(json_get(v, "reason"), "code") == ROOM_REASON_KICKED,
       "kicked: client-banned with the reason only");
    json_free(v);
    buf_reset(&d);
    name = events_write_removed(&d, "bob", ROOM_REASON_EXPIRED);
    v = parse(&d);
    ok(strcmp(name, "peer-leave") == 0 && v != NULL && strcmp(str_at(v, "userId"), "bob") == 0 &&
           int_at(json_get(v, "reason"), "code") == ROOM_REASON_EXPIRED,
       "expired: peer-leave with the user's own id");
    json_free(v);
    buf_dispose(&d);
}

int main(void)
{
    test_envelopes();
    test_room_events();
    return done_testing();
}
