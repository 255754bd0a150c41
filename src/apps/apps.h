/*
 * apps.h — tenant apps (an appId with its appToken and accessKey): creating
 * and changing them, the built-in demo app, and the join tokens an app's
 * back end would sign.  Shared by the command line (irtcd app ..., irtcd
 * token), the daemon's start-up and POST /demo/token.  Runs on whichever
 * thread owns the store_t it is given.
 *
 * "app" always means a tenant app in this tree; the process is the daemon.
 * Does not: verify join tokens (src/signal does, with jointoken.h).
 */
#ifndef IRTC_APPS_H
#define IRTC_APPS_H

#include <stdbool.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/config.h"
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
void apps_write_json(buf_t *b, const store_app_t *app, bool show_secrets, const char *app_token);

/*
 * Makes a join token for user_id in channel_id of app, issued at now_ms, with
 * the media endpoint of the channel's worker (media_ips[0], media_port + the
 * sfu_worker_for_channel index), and appends the JSON object that `irtcd token`
 * prints and POST /demo/token answers: {appId, channelId, userId, role, host,
 * port, ctime, signature}.  role is "0" or "1".  IRTC_OK, or IRTC_EINVAL with
 * *why naming the bad field (nothing appended).
 */
int apps_join_token(const cfg_t *cfg, const store_app_t *app, const char *channel_id, const char *user_id,
                    const char *role, int64_t now_ms, buf_t *out, const char **why);

/* Makes sure the built-in demo app (named "demo", for server.demo_token)
 * exists; logs its credentials when it is created. */
int apps_ensure_demo(store_t *st);

#endif
