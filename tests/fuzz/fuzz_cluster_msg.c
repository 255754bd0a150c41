/*
 * fuzz_cluster_msg.c — libFuzzer target for cluster/cluster_msg: what a
 * node reads back from Redis (heartbeat records, node-to-node requests and
 * replies, mirrored outbox rows) can be anything another program wrote
 * there.  For every input, each parser either refuses it or accepts it, and
 * what it accepted is written back and must parse to the same fields.
 * Single-threaded; any failed check aborts.  Built and run by
 * `make check-fuzz` (tests/fuzz/local.mk).
 */
#include "cluster/cluster_msg.h"
#include "core/common.h"
#include "fuzz/fuzz.h"

#include <string.h>

static void node_round_trip(const uint8_t *data, size_t size)
{
    cluster_node_t n, back;
    if (!cmsg_node_parse((const char *)data, size, &n))
        return;
    CHECK(n.id[0] != '\0' && n.workers >= 1 && n.workers <= 256 && n.media_port <= 65535);
    buf_t b;
    buf_init(&b);
    cmsg_node_write(&b, &n);
    CHECK(cmsg_node_parse(b.base, b.len, &back));
    CHECK(memcmp(&n, &back, sizeof(n)) == 0);
    buf_dispose(&b);
}

static void rpc_round_trip(const uint8_t *data, size_t size)
{
    cmsg_rpc_t m, back;
    json_value_t *root = NULL, *root2 = NULL;
    if (cmsg_rpc_parse((const char *)data, size, &m, &root)) {
        buf_t b;
        buf_init(&b);
        cmsg_rpc_write(&b, &m);
        CHECK(cmsg_rpc_parse(b.base, b.len, &back, &root2));
        CHECK(back.reply == m.reply && back.id == m.id && strcmp(back.from, m.from) == 0);
        CHECK(back.body_len == m.body_len && memcmp(back.body, m.body, m.body_len) == 0);
        if (m.reply)
            CHECK(back.code == m.code && back.msg_len == m.msg_len && memcmp(back.msg, m.msg, m.msg_len) == 0);
        else
            CHECK(strcmp(back.route, m.route) == 0 && strcmp(back.app_id, m.app_id) == 0);
        buf_dispose(&b);
    }
    json_free(root);
    json_free(root2);
}

static void outbox_round_trip(const uint8_t *data, size_t size)
{
    cmsg_outbox_t m, back;
    json_value_t *root = NULL, *root2 = NULL;
    if (cmsg_outbox_parse((const char *)data, size, &m, &root)) {
        buf_t b;
        buf_init(&b);
        cmsg_outbox_write(&b, m.app_id, m.url, m.body, m.signature, m.created_at_ms);
        CHECK(cmsg_outbox_parse(b.base, b.len, &back, &root2));
        CHECK(strcmp(back.app_id, m.app_id) == 0 && strcmp(back.url, m.url) == 0 && strcmp(back.body, m.body) == 0 &&
              strcmp(back.signature, m.signature) == 0 && back.created_at_ms == m.created_at_ms);
        buf_dispose(&b);
    }
    json_free(root);
    json_free(root2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    node_round_trip(data, size);
    rpc_round_trip(data, size);
    outbox_round_trip(data, size);
    return 0;
}
