/* api_record.h — the REST handlers about recording (api_record.c). */
#ifndef IRTC_HTTP_API_RECORD_H
#define IRTC_HTTP_API_RECORD_H

#include "http/api_reply.h"

int api_capture_video(api_call_t *c);
int api_capture_image(api_call_t *c);
int api_stop_capture(api_call_t *c);
int api_start_auto_record(api_call_t *c);
int api_stop_auto_record(api_call_t *c);
int api_query_recordings(api_call_t *c); /* ours */

#endif
