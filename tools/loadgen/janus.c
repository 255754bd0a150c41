/* janus.c — placeholder until the Janus client lands (see janus.h). */
#include "janus.h"

#include <stdio.h>

janus_t *janus_new(lg_t *lg, const char *url, char *err, size_t errcap)
{
    snprintf(err, errcap, "not built yet");
    return NULL;
}
void janus_free(janus_t *j) {}
void janus_user_start(janus_t *j, lg_user_t *u) {}
void janus_user_stop(janus_t *j, lg_user_t *u) {}
void janus_user_stats(janus_t *j, lg_user_t *u, ic_recv_stats_t *rx) {}
void janus_poll(janus_t *j) {}
