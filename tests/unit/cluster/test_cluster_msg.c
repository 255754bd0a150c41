/*
 * test_cluster_msg.c — cluster mode's pure formats: heartbeat records, the
 * node-to-node request and reply, the least-loaded choice and the media
 * endpoint → node lookup, including what a foreign or broken value does.
 */
#include <stdlib.h>
#include <string.h>

#include "cluster/cluster_msg.h"
#include "core/common.h"
#include "unit/tap.h"

static void test_keys(void)
{
    buf_t b;
    buf_init(&b);
    cmsg_key_room(&b, "app1", "ch-1");
    is_str(b.base, "irtc:room:app1:ch-1", "room key");
    buf_reset(&b);
    cmsg_key_node(&b, "n1");
    is_str(b.base, "irtc:node:n1", "node key");
    buf_reset(&b);
    cmsg_key_rooms(&b, "n1");
    is_str(b.base, "irtc:rooms:n1", "a node's rooms");
    buf_reset(&b);
    cmsg_key_rpc(&b, "n1");
    is_str(b.base, "irtc:rpc:n1", "a node's channel");
    buf_dispose(&b);
}

static void test_node(void)
{
    cluster_node_t n = {.id = "node-a",
                        .advertise = "10.0.0.1:8443",
                        .media_ip = "10.0.0.1",
                        .media_port = 20000,
                        .workers = 4,
                        .rooms = 3,
                        .peers = 17,
                        .pkts_per_s = 123456,
                        .cpu_pct = 250};
    cluster_node_t back;
    buf_t b;
    buf_init(&b);
    cmsg_node_write(&b, &n);
    ok(cmsg_node_parse(b.base, b.len, &back), "a heartbeat parses back (%s)", b.base);
    ok(memcmp(&n, &back, sizeof(n)) == 0, "every field survives");
    ok(!cmsg_node_parse("{\"id\":\"x\"}", 10, &back), "missing fields: refused");
    ok(!cmsg_node_parse("hello", 5, &back), "not JSON: refused");
    const char *zero = "{\"id\":\"x\",\"advertise\":\"a\",\"mediaIp\":\"1.2.3.4\",\"mediaPort\":1,\"workers\":0,"
                       "\"rooms\":0,\"peers\":0,\"pktsPerS\":0,\"cpuPct\":0}";
    ok(!cmsg_node_parse(zero, strlen(zero), &back), "zero workers: refused");
    const char *neg = "{\"id\":\"x\",\"advertise\":\"a\",\"mediaIp\":\"1.2.3.4\",\"mediaPort\":-1,\"workers\":1,"
                      "\"rooms\":0,\"peers\":0,\"pktsPerS\":0,\"cpuPct\":0}";
    ok(!cmsg_node_parse(neg, strlen(neg), &back), "negative port: refused");
    buf_dispose(&b);
}

static void test_choice(void)
{
    cluster_node_t n[3] = {
        {.id = "b", .rooms = 2, .peers = 0}, {.id = "a", .rooms = 1, .peers = 5}, {.id = "c", .rooms = 0, .peers = 8}};
    unsigned extra[3] = {0, 0, 0};
    is_int(cmsg_least_loaded(n, extra, 3), 0, "rooms*4 + peers: b (8) ties c (8) and a (9): lower id wins");
    extra[0] = 1;
    is_int(cmsg_least_loaded(n, extra, 3), 2, "a placement just made counts: c");
    is_int(cmsg_least_loaded(n, NULL, 0), -1, "no node: -1");
    cluster_node_t m[2] = {{.id = "a", .media_ip = "10.0.0.1", .media_port = 20000, .workers = 2},
                           {.id = "b", .media_ip = "10.0.0.1", .media_port = 20002, .workers = 2}};
    is_int(cmsg_node_for_media(m, 2, "10.0.0.1", 20001), 0, "20001 is a's second worker");
    is_int(cmsg_node_for_media(m, 2, "10.0.0.1", 20002), 1, "20002 is b's first");
    is_int(cmsg_node_for_media(m, 2, "10.0.0.1", 20004), -1, "20004 is nobody's");
    is_int(cmsg_node_for_media(m, 2, "10.0.0.2", 20000), -1, "another address is nobody's");
}

static void test_rpc(void)
{
    buf_t b;
    json_value_t *root = NULL;
    cmsg_rpc_t q = {.id = 42,
                    .from = "node-c",
                    .route = "releaseUser",
                    .app_id = "app1",
                    .body = "{\"channelId\":\"x\\\"y\"}",
                    .body_len = 20};
    cmsg_rpc_t m;
    buf_init(&b);
    cmsg_rpc_write(&b, &q);
    ok(cmsg_rpc_parse(b.base, b.len, &m, &root), "a request parses back (%s)", b.base);
    ok(!m.reply && m.id == 42 && strcmp(m.from, "node-c") == 0 && strcmp(m.route, "releaseUser") == 0 &&
           strcmp(m.app_id, "app1") == 0 && m.body_len == q.body_len && memcmp(m.body, q.body, q.body_len) == 0,
       "its fields, the body byte for byte");
    json_free(root);
    buf_reset(&b);
    cmsg_rpc_t a = {.reply = true,
                    .id = 18446744073709551615ULL,
                    .from = "node-b",
                    .code = 1001010,
                    .msg = "no such user",
                    .msg_len = 12,
                    .body = "",
                    .body_len = 0};
    cmsg_rpc_write(&b, &a);
    ok(cmsg_rpc_parse(b.base, b.len, &m, &root), "a reply parses back (%s)", b.base);
    ok(m.reply && m.id == a.id && m.code == 1001010 && m.msg_len == 12 && m.body_len == 0,
       "its id (64-bit), code, message and empty data");
    json_free(root);
    static const char *const bad[] = {
        "",
        "[]",
        "{\"t\":\"req\"}",
        "{\"t\":\"x\",\"id\":\"1\",\"from\":\"a\"}",
        "{\"t\":\"req\",\"id\":\"1x\",\"from\":\"a\",\"route\":\"r\",\"app\":\"p\",\"body\":\"\"}",
        "{\"t\":\"rep\",\"id\":\"1\",\"from\":\"a\",\"code\":-1,\"msg\":\"\",\"data\":\"\"}",
        "{\"t\":\"req\",\"id\":\"1\",\"from\":\"a\",\"route\":\"r\",\"app\":\"p\",\"body\":{}}",
    };
    for (size_t i = 0; i < IRTC_ARRAY_SIZE(bad); i++) {
        ok(!cmsg_rpc_parse(bad[i], strlen(bad[i]), &m, &root), "malformed message %zu refused", i);
        json_free(root);
    }
    buf_dispose(&b);
}

static void test_outbox(void)
{
    buf_t b;
    json_value_t *root = NULL;
    cmsg_outbox_t m;
    buf_init(&b);
    cmsg_key_outbox(&b, "n1");
    is_str(b.base, "irtc:outbox:n1", "a node's mirrored outbox");
    buf_reset(&b);
    cmsg_outbox_write(&b, "app1", "https://cb.example/x?a=1", "{\"recordingId\":\"9\"}", "c2lnbg==", 1700000000123);
    ok(cmsg_outbox_parse(b.base, b.len, &m, &root), "an outbox row parses back (%s)", b.base);
    ok(strcmp(m.app_id, "app1") == 0 && strcmp(m.url, "https://cb.example/x?a=1") == 0 &&
           strcmp(m.body, "{\"recordingId\":\"9\"}") == 0 && strcmp(m.signature, "c2lnbg==") == 0 &&
           m.created_at_ms == 1700000000123,
       "app, URL, body, signature and creation time");
    json_free(root);
    buf_reset(&b);
    cmsg_outbox_write(&b, "app1", "http://h/", "{}", NULL, 1);
    ok(cmsg_outbox_parse(b.base, b.len, &m, &root) && m.signature[0] == '\0', "no signature: \"\"");
    json_free(root);
    static const char *const bad[] = {
        "{\"app\":\"a\",\"url\":\"\",\"body\":\"{}\",\"sig\":\"\",\"created\":1}",
        "{\"app\":\"a\",\"url\":\"u\",\"body\":\"{}\",\"sig\":\"\",\"created\":-1}",
        "{\"app\":\"a\",\"url\":\"u\",\"sig\":\"\",\"created\":1}",
        "{\"url\":\"u\",\"body\":\"{}\",\"sig\":\"\",\"created\":1}",
    };
    for (size_t i = 0; i < IRTC_ARRAY_SIZE(bad); i++) {
        ok(!cmsg_outbox_parse(bad[i], strlen(bad[i]), &m, &root), "malformed outbox row %zu refused", i);
        json_free(root);
    }
    buf_dispose(&b);
}

int main(void)
{
    test_outbox();
    test_keys();
    test_node();
    test_choice();
    test_rpc();
    return done_testing();
}
