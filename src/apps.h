/*
 * apps.h — creating and changing tenant apps (appId, appToken, accessKey).
 * Shared by the command line (irtcd app ...) and the built-in demo app.
 * Runs on whichever thread owns the store_t it is given.
 */
#ifndef IRTC_APPS_H
#define IRTC_APPS_H

#include <stdbool.h>

#include "store/store.h"

#define APPS_TOKEN_LEN 32

/*
 * Creates app name with fresh credentials.  token_out receives the appToken
 * (shown once; stored only hashed unless keep_plain, used for the demo app).
 * Returns IRTC_OK, IRTC_ECONFLICT (name taken) or IRTC_EIO.
 */
int apps_create(store_t *st, const char *name, bool keep_plain, store_app_t *out, char token_out[APPS_TOKEN_LEN + 1]);
/* Replaces the join-token HMAC key; returns the new key in out (45 bytes). */
int apps_rotate_key(store_t *st, const char *app_id, char *out, size_t cap);
/* Writes an app as a JSON object; secrets only when show_secrets. */
#include "core/buf.h"
void apps_write_json(buf_t *b, const store_app_t *app, bool show_secrets, const char *app_token);

/*
 * Makes a join token for user_id in channel_id of app, issued at now_ms, with
 * the media endpoint of the channel's worker (media_ips[0], media_port + the
 * sfu_worker_for_channel index), and appends the JSON object that `irtcd token`
 * prints and POST /demo/token answers: {appId, channelId, userId, role, host,
 * port, ctime, signature}.  role is "0" or "1".  IRTC_OK, or IRTC_EINVAL with
 * *why naming the bad field (nothing appended).
 */
#include "core/config.h"
int apps_join_token(const cfg_t *cfg, const store_app_t *app, const char *channel_id, const char *user_id,
                    const char *role, int64_t now_ms, buf_t *out, const char **why);

#endif
