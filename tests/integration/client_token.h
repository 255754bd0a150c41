/*
 * client_token.h — the join token a test client of the C client core
 * presents (client_irtcd.c, client_pipe.c): signed with the app's access
 * key, naming the room's media endpoint as getMediaEndpoint would (the
 * server checks it).
 */
#ifndef IRTC_TEST_CLIENT_TOKEN_H
#define IRTC_TEST_CLIENT_TOKEN_H

typedef struct {
    const char *host, *app, *key, *tenant;
    unsigned media_port, workers;
} test_token_env_t;

/* A malloc'd role-1 token for user in channel, valid from now. */
char *test_client_token(const test_token_env_t *env, const char *channel, const char *user);

#endif
