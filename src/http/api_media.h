/* api_media.h — the REST handlers about the media plane (api_media.c). */
#ifndef IRTC_HTTP_API_MEDIA_H
#define IRTC_HTTP_API_MEDIA_H

#include "http/api_reply.h"

int api_get_media_endpoint(api_call_t *c);
int api_release_room(api_call_t *c);
int api_release_user(api_call_t *c);
int api_check_health(api_call_t *c);

#endif
