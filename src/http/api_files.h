/*
 * api_files.h — GET /openapi/v1/rtcLive/files/{fileId}: a recording of
 * storage type ISDP, downloaded by its app.  Internal to src/http.
 *
 * Threading: control thread only.
 * Does not: authenticate or rate-limit (api.c does, before calling it).
 */
#ifndef IRTC_HTTP_API_FILES_H
#define IRTC_HTTP_API_FILES_H

#include "http/api_reply.h"

/* The route's prefix; the fileId (a recordingId) follows it. */
#define API_FILES_PREFIX "/openapi/v1/rtcLive/files/"

/* Sends the file named by the request path to c->app_id's client (h2o
 * answers Range requests: 206, or 416 past the end): API_OK once the answer
 * is on its way, else a code with c->msg set (API_FILE_NOT_FOUND for an
 * unknown id, another app's, a NAS, snapshot or still running recording). */
int api_file_send(api_call_t *c);

#endif
