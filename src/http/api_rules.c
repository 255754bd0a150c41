/*
 * api_rules.c — recording rules over REST: addRule, updateRule, deleteRule and
 * queryRuleList.  Control thread.  Validates every field, then one store call;
 * a rule is only ever reached through the token's own app (the store filters
 * by app_id), so another app's ruleId is simply "not found".
 *
 * Does not start or stop recordings (startAutoRecord is in api_record.c; the
 * recorder acts on what is stored).
 */
#include "http/api_rules.h"
#include "core/common.h"
#include "core/config.h"
#include "store/store.h"

#include <stdlib.h>
#include <string.h>

#define RULES_PAGE_SIZE_DEFAULT 10
#define RULES_CAPTURE_INTERVAL_MAX 3600 /* seconds between snapshots */
#define RULES_CAPTURE_NUMS_MAX 1000     /* snapshots per capture */

static const char *const storage_types[] = {"NAS", "ISDP", NULL};

/* Reads the rule's fields from the body into r (strings point into the body).
 * On add every field the guide marks required must be there; on update the
 * guide's required ones too, while the others keep their stored value when
 * absent. */
static void rules_read(af_t *f, store_rule_t *r, bool update)
{
    unsigned model_flags = update ? AF_OPTIONAL : AF_REQUIRED;
    const char *s = NULL;
    bool status = r->status != 0;
    /* Guide table 8.5.1-2: storageType optional, ISDP by default (the caller
     * presets it); the snake_case and modeType spellings are the guide's
     * recordRule tables' (8.5.1-2, 8.5.2-2). */
    if (af_choice(f, "storageType|storage_type", AF_OPTIONAL, storage_types, &s))
        r->storage_type = (char *)s;
    if (af_path(f, "recordPath", AF_OPTIONAL, &s))
        r->record_path = (char *)s;
    if (af_file_name(f, "fileName|filename", AF_REQUIRED, &s))
        r->file_name = (char *)s;
    af_int(f, "captureInterval|capture_interval", AF_OPTIONAL, 1, RULES_CAPTURE_INTERVAL_MAX, &r->capture_interval);
    af_int(f, "captureNums|capture_nums", AF_OPTIONAL, 1, RULES_CAPTURE_NUMS_MAX, &r->capture_nums);
    af_int(f, "recordingType", model_flags, 0, 1, &r->recording_type);
    if (af_url(f, "callbackUrl|callBackUrl", AF_REQUIRED, &s))
        r->callback_url = (char *)s;
    if (af_text(f, "extraData", AF_OPTIONAL, AF_EXTRA_DATA_MAX, &s))
        r->extra_data = (char *)s;
    af_int(f, "recordingModel|modeType", model_flags, 0, 1, &r->recording_model);
    af_switch(f, "mixingEnabled", AF_OPTIONAL, &r->mixing_enabled);
    if (af_bool(f, "status", AF_REQUIRED, &status))
        r->status = status;
}

/* A string, or null for a field never set. */
static void rules_write_opt(buf_t *b, const char *s)
{
    if (s != NULL)
        json_write_string(b, s);
    else
        buf_puts(b, "null");
}

/* basePath: where this rule's files really go. */
static void rules_write(buf_t *b, const store_rule_t *r, const cfg_t *cfg)
{
    char isdp[1100];
    cfg_isdp_dir(cfg, isdp, sizeof(isdp));
    const char *base_path = r->storage_type && strcmp(r->storage_type, "NAS") == 0 ? cfg->nas_base_path : isdp;
    buf_printf(b, "{\"ruleId\":%lld,\"storageType\":", (long long)r->rule_id);
    json_write_string(b, r->storage_type);
    buf_puts(b, ",\"recordPath\":");
    rules_write_opt(b, r->record_path);
    buf_puts(b, ",\"fileName\":");
    rules_write_opt(b, r->file_name);
    buf_printf(b,
               ",\"captureInterval\":%d,\"captureNums\":%d,\"recordingType\":%d,\"callbackUrl\":", r->capture_interval,
               r->capture_nums, r->recording_type);
    rules_write_opt(b, r->callback_url);
    buf_puts(b, ",\"extraData\":");
    rules_write_opt(b, r->extra_data);
    buf_printf(b, ",\"recordingModel\":%d,\"status\":%s,\"appId\":", r->recording_model, r->status ? "true" : "false");
    json_write_string(b, r->app_id);
    buf_printf(b, ",\"mixingEnabled\":%d,\"basePath\":", r->mixing_enabled);
    json_write_string(b, base_path);
    buf_putc(b, '}');
}

int api_add_rule(api_call_t *c)
{
    store_rule_t r;
    memset(&r, 0, sizeof(r));
    snprintf(r.app_id, sizeof(r.app_id), "%s", c->app_id);
    r.capture_interval = 1;
    r.capture_nums = 1;
    r.storage_type = (char *)"ISDP";
    rules_read(&c->f, &r, false);
    if (c->f.failed)
        return API_PARAM_INVALID;
    int rc = store_rule_insert(c->env->store, &r);
    if (rc != IRTC_OK)
        return api_result(c, rc, "cannot store the rule", API_INTERNAL_ERROR, API_INTERNAL_ERROR);
    buf_printf(&c->data, "{\"recordRuleId\":%lld}", (long long)r.rule_id);
    return API_OK;
}

int api_update_rule(api_call_t *c)
{
    store_rule_t stored, r;
    int64_t rule_id = 0;
    if (!af_int64_id(&c->f, "ruleId", AF_REQUIRED, &rule_id))
        return API_PARAM_INVALID;
    int rc = store_rule_get(c->env->store, c->app_id, rule_id, &stored);
    if (rc != IRTC_OK)
        return api_result(c, rc, "no such rule in this app", API_RULE_NOT_FOUND, API_INTERNAL_ERROR);
    r = stored; /* shallow: the body's strings replace some pointers, stored still owns its own */
    rules_read(&c->f, &r, true);
    if (!c->f.failed)
        rc = store_rule_update(c->env->store, &r);
    store_rule_dispose(&stored);
    if (c->f.failed)
        return API_PARAM_INVALID;
    return api_result(c, rc, "no such rule in this app", API_RULE_NOT_FOUND, API_INTERNAL_ERROR);
}

int api_delete_rule(api_call_t *c)
{
    int64_t rule_id = 0;
    if (!af_int64_id(&c->f, "ruleId", AF_REQUIRED, &rule_id))
        return API_PARAM_INVALID;
    int rc = store_rule_delete(c->env->store, c->app_id, rule_id);
    return api_result(c, rc, "no such rule in this app", API_RULE_NOT_FOUND, API_INTERNAL_ERROR);
}

int api_query_rules(api_call_t *c)
{
    store_rule_query_t q = {.app_id = c->app_id,
                            .rule_id = 0,
                            .recording_type = -1,
                            .recording_model = -1,
                            .page_size = RULES_PAGE_SIZE_DEFAULT,
                            .page_no = 1};
    af_int64_id(&c->f, "ruleId", AF_OPTIONAL, &q.rule_id);
    af_int(&c->f, "recordingType", AF_OPTIONAL, 0, 1, &q.recording_type);
    af_int(&c->f, "recordingModel", AF_OPTIONAL, 0, 1, &q.recording_model);
    af_int(&c->f, "pageSize", AF_OPTIONAL, 1, STORE_PAGE_SIZE_MAX, &q.page_size);
    af_int(&c->f, "pageNo", AF_OPTIONAL, 1, 1000000, &q.page_no);
    if (c->f.failed)
        return API_PARAM_INVALID;
    store_rule_t *rules = NULL;
    size_t n = 0;
    int64_t total = 0;
    int rc = store_rule_query(c->env->store, &q, &rules, &n, &total);
    if (rc != IRTC_OK)
        return api_result(c, rc, "cannot read the rules", API_INTERNAL_ERROR, API_INTERNAL_ERROR);
    buf_puts(&c->data, "{\"list\":[");
    for (size_t i = 0; i < n; i++) {
        if (i)
            buf_putc(&c->data, ',');
        rules_write(&c->data, &rules[i], c->env->cfg);
    }
    buf_printf(&c->data, "],\"pos\":%d,\"totalCount\":%lld}", q.page_no, (long long)total);
    store_rule_list_free(rules, n);
    return API_OK;
}
