/*
 * api.h — the REST API: the routes of /openapi/v1/rtcLive/..., the token call
 * /oauth2/oauth/rest_token, POST /demo/token (when server.demo_token is on),
 * and the envelope 404 for unknown paths below /openapi and /oauth2.  The
 * behaviour is documented in docs/API.md.
 *
 * Control thread only, like every h2o handler.
 */
#ifndef IRTC_HTTP_API_H
#define IRTC_HTTP_API_H

#include "core/buf.h"
#include "http/api_env.h"

typedef struct api api_t;

/* Registers every route on env->http (between http_server_new and
 * http_server_start); env is copied, what it points to must outlive the API.
 * IRTC_EIO when the REST token secret cannot be read or created. */
int api_new(const api_env_t *env, api_t **out);
/* Cluster mode: runs a room-bound call (releaseRoom, releaseUser,
 * captureVideo/Image, stopCapture) that another node forwarded, for app_id
 * with the JSON body it received (already authenticated there).  Returns the
 * errorCode (API_OK = 0), with its detail in msg and the envelope's data
 * JSON appended to data ("" = null). */
int api_execute(api_t *api, const char *route_name, const char *app_id, const char *body, size_t len, buf_t *data,
                char *msg, size_t msgcap);
/* Frees the API's state; after the HTTP server is gone. */
void api_free(api_t *api);

#endif
