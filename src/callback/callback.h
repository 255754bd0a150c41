/*
 * callback.h — recording callbacks (contract §4, guide §8.5.4/8.5.5): the
 * JSON bodies, the X-HW-SIGN signature, and their delivery through the
 * durable outbox table.
 *
 * Two halves.  The control thread builds, signs and enqueues (cb_body_*,
 * cb_sign, cb_enqueue, cb_notify, here): one SQLite row per callback,
 * written before anything is sent, so a callback survives a crash or
 * restart.  The sender thread (cb_sender.h) owns its own store connection
 * and one HTTP(S) client; it POSTs due rows one at a time, marks a 2xx
 * delivered (never sent again) and anything else failed with a backoff,
 * until the give-up window after the row's creation has passed.  Nothing
 * here blocks the control thread or a media worker: the control thread only
 * inserts a row and kicks the sender (an eventfd).
 *
 * Does not: decide when a recording is complete, read files or pictures,
 * interpret the receiver's response body (any 2xx means delivered).
 * docs/CALLBACKS.md describes the bodies, the signature, retries and HTTPS.
 */
#ifndef IRTC_CALLBACK_H
#define IRTC_CALLBACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/config.h"

struct store;

/* ---- bodies and signature (pure; any thread) ---- */

typedef enum { CB_VIDEO = 0, CB_IMAGE = 1 } cb_kind_t;

/* One callback's content.  NULL strings are sent as "".  Fields that do not
 * apply to the kind or storage are sent as "" (as in the guide's examples). */
typedef struct {
    cb_kind_t kind;
    const char *app_id, *channel_id, *recording_id, *user_id, *extra_data;
    int64_t auth_ts;       /* authTimestamp, UNIX seconds (cb_notify: 0 = now) */
    const char *file_id;   /* video, storage ISDP */
    const char *file_path; /* storage NAS: the video file or the picture */
    const char *file_name; /* video, storage NAS: "name.mp4" */
    const uint8_t *image;  /* image, storage ISDP: the JPEG bytes (sent Base64) */
    size_t image_len;
} cb_event_t;

/* Appends the captureVideo callback body: channelId, appId, recordingId,
 * userId, extraData, authTimestamp, fileId, filePath, fileName (all strings). */
void cb_body_video(buf_t *out, const cb_event_t *ev);
/* Appends the captureImage callback body: channelId, appId, recordingId,
 * userId, extraData, imageData (Base64 of ev->image), authTimestamp, filePath. */
void cb_body_image(buf_t *out, const cb_event_t *ev);

/* Base64 of a SHA-256 HMAC, with its NUL. */
#define CB_SIGN_LEN 45
/* X-HW-SIGN = Base64(HMAC-SHA256(key = access_key, appId + accessKey +
 * channelId + userId + extraData + authTimestamp)); NULL strings are "". */
void cb_sign(const char *access_key, const char *app_id, const char *channel_id, const char *user_id,
             const char *extra_data, int64_t auth_ts, char out[CB_SIGN_LEN]);

/* ---- URLs (pure) ---- */

typedef struct {
    bool tls;        /* https */
    char host[256];  /* name or literal address, without brackets */
    bool host_is_ip; /* IPv4 or IPv6 literal: no SNI, IP-address verification */
    bool host_is_ipv6;
    uint16_t port;     /* default 80 / 443 */
    char target[2048]; /* path and query as given, "/" when empty; fragment dropped */
} cb_url_t;

/* Parses an absolute http:// or https:// URL strictly: scheme (any case),
 * host (name of [A-Za-z0-9.-_], IPv4, or [IPv6] without zone), optional
 * :port 1..65535, then path/query of printable ASCII.  Refuses user:pass@,
 * spaces and control characters, an empty host or port, and anything
 * longer than the fields.  Returns IRTC_OK, or IRTC_EINVAL and *why. */
int cb_url_parse(const char *url, cb_url_t *out, const char **why);

/* ---- the outbox (control thread, or any thread with its own store) ---- */

/* Inserts one outbox row due now (body and signature are copied); *id (may
 * be NULL) gets the row id.  cb_sender_kick then sends it at once (without a
 * kick the sender finds it within a second).  IRTC_EINVAL for a NULL or
 * empty app_id/url/body or an app_id over 32 characters; store errors
 * otherwise.  The URL is not checked
 * here: a bad one is given up by the sender with the reason in last_error. */
int cb_enqueue(struct store *st, const char *app_id, const char *url, const char *body, const char *signature,
               int64_t *id);

/* Builds the body for ev->kind, signs it with ev->app_id's accessKey (read
 * from st) and enqueues it for url.  ev->auth_ts 0 means now.
 * IRTC_ENOTFOUND when the app no longer exists. */
int cb_notify(struct store *st, const char *url, const cb_event_t *ev, int64_t *id);

/* ---- retry policy (pure) ---- */

typedef struct {
    uint64_t retry_min_ms; /* wait after the first failure */
    uint64_t retry_max_ms; /* the doubling stops here */
    uint64_t give_up_ms;   /* no attempt starts later than this after creation */
} cb_retry_policy_t;

/* When to try again after failed attempt number attempts (1 = the first):
 * now + min(retry_min * 2^(attempts-1), retry_max), but never after
 * created + give_up (one last attempt exactly then).  INT64_MAX when now is
 * already at or past created + give_up: give up. */
int64_t cb_retry_next(const cb_retry_policy_t *p, int attempts, int64_t created_ms, int64_t now_ms);

#endif
