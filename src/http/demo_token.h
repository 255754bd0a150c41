/*
 * demo_token.h — POST /demo/token: join tokens for the built-in "demo" app,
 * so the demo page works without a back end (server.demo_token).  Not part
 * of the vendor's contract.  Control thread.  Internal to src/http.
 */
#ifndef IRTC_HTTP_DEMO_TOKEN_H
#define IRTC_HTTP_DEMO_TOKEN_H

#include "http/api_reply.h"

/* Routes /demo/token on ctx->env.http; ctx must outlive the server. */
void demo_token_register(const api_ctx_t *ctx);

#endif
