/*
 * client_token.c — see client_token.h.
 */
#include "client_token.h"

#include <stdio.h>
#include <string.h>

#include "apps/jointoken.h"
#include "core/clock.h"
#include "sfu/sfu.h"

char *test_client_token(const test_token_env_t *env, const char *channel, const char *user)
{
    jt_payload_t p;
    memset(&p, 0, sizeof(p));
    snprintf(p.user_id, sizeof(p.user_id), "%s", user);
    snprintf(p.channel_id, sizeof(p.channel_id), "%s", channel);
    snprintf(p.app_id, sizeof(p.app_id), "%s", env->app);
    snprintf(p.host, sizeof(p.host), "%s", env->host);
    snprintf(p.port, sizeof(p.port), "%u", env->media_port + sfu_worker_for_channel(env->app, channel, env->workers));
    snprintf(p.role, sizeof(p.role), "1");
    snprintf(p.tenant_id, sizeof(p.tenant_id), "%s", env->tenant);
    p.timestamp_ms = (int64_t)clock_wall_ms();
    char *t = NULL;
    jt_make(&p, env->key, &t);
    return t;
}
