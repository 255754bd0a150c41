/* api_rules.h — the REST handlers of recording rules (api_rules.c). */
#ifndef IRTC_HTTP_API_RULES_H
#define IRTC_HTTP_API_RULES_H

#include "http/api_reply.h"

int api_add_rule(api_call_t *c);
int api_update_rule(api_call_t *c);
int api_delete_rule(api_call_t *c);
int api_query_rules(api_call_t *c);

#endif
