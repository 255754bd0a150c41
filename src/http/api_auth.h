/*
 * api_auth.h — REST access tokens: POST /oauth2/oauth/rest_token issues them
 * (appId + appToken), api_auth_verify checks the bearer token of every other
 * REST call.  Control thread.  Internal to src/http.
 */
#ifndef IRTC_HTTP_API_AUTH_H
#define IRTC_HTTP_API_AUTH_H

#include <stddef.h>

#include "http/api_reply.h"

typedef struct api_auth api_auth_t;

/* Reads (or creates, on first start) the token secret from the settings
 * table and routes /oauth2/oauth/rest_token on ctx->env.http.  IRTC_OK, or
 * the store's error (the secret cannot be read, is damaged, or cannot be
 * stored).  ctx must outlive the result. */
int api_auth_new(const api_ctx_t *ctx, api_auth_t **out);
void api_auth_free(api_auth_t *auth);
/* Checks an access token: IRTC_OK with the app's id, else IRTC_ENOTFOUND
 * (unknown, expired, or its app is gone). */
int api_auth_verify(api_auth_t *auth, const char *token, size_t len, char app_id[33]);

#endif
