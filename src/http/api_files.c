/*
 * api_files.c — downloads of ISDP recordings.  Control thread.  The guide's
 * ISDP storage is a file service (play, download); on site the files stay in
 * storage.data_dir/isdp, and this is how an app gets one out: its bearer
 * token, the fileId its callback carried (the recordingId), one byte range
 * if asked (RFC 9110 §14), the bytes read 64 KiB at a time as the
 * connection takes them (never the whole file in memory).  A recording of another app, or
 * of NAS storage (guide: "文件播放、下载接口不再提供服务" for NAS), is
 * simply not found.
 *
 * Does not: authenticate, rate-limit (api.c) or read the file itself.
 */
#include "http/api_files.h"
#include "core/common.h"
#include "core/config.h"
#include "http/server.h"
#include "store/store.h"

#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define FILE_ID_MAX 31         /* recordingIds are decimal digits (store.h) */
#define FILE_CHUNK (64 * 1024) /* bytes read and sent per turn */

/* The response body: the open file, what is left of the range. */
typedef struct {
    h2o_generator_t super;
    int fd;
    uint64_t off, left;
    char buf[FILE_CHUNK];
} file_gen_t;

static void gen_dispose(void *p)
{
    close(((file_gen_t *)p)->fd);
}

static void gen_send_next(file_gen_t *g, h2o_req_t *req)
{
    size_t n = g->left < sizeof(g->buf) ? (size_t)g->left : sizeof(g->buf);
    ssize_t got = n ? pread(g->fd, g->buf, n, (off_t)g->off) : 0;
    if (got < 0 || (n && got == 0)) { /* the file shrank or the disk failed */
        h2o_send(req, NULL, 0, H2O_SEND_STATE_ERROR);
        return;
    }
    g->off += (uint64_t)got;
    g->left -= (uint64_t)got;
    h2o_iovec_t v = h2o_iovec_init(g->buf, (size_t)got);
    h2o_send(req, &v, 1, g->left == 0 ? H2O_SEND_STATE_FINAL : H2O_SEND_STATE_IN_PROGRESS);
}

static void gen_proceed(h2o_generator_t *self, h2o_req_t *req)
{
    gen_send_next((file_gen_t *)self, req);
}

static void gen_stop(h2o_generator_t *self, h2o_req_t *req)
{
    /* nothing in flight: the pool's dispose closes the file */
}

/* One "bytes=" range of a size-byte file: 1 with [*from, *to], 0 when there
 * is none to honour (absent, several, malformed: the whole file, as RFC 9110
 * §14.2 allows), -1 when it starts past the end. */
static int parse_range(h2o_req_t *req, uint64_t size, uint64_t *from, uint64_t *to)
{
    size_t len = 0;
    const char *h = http_req_header(req, "range", &len);
    char v[64], *end;
    if (h == NULL || len < 7 || len >= sizeof(v) || strncmp(h, "bytes=", 6) != 0 || memchr(h, ',', len))
        return 0;
    memcpy(v, h + 6, len - 6);
    v[len - 6] = '\0';
    char *dash = strchr(v, '-');
    if (dash == NULL || strspn(v, "0123456789-") != strlen(v))
        return 0;
    *dash = '\0';
    if (v[0] == '\0') { /* "-N": the last N bytes */
        uint64_t n = strtoull(dash + 1, &end, 10);
        if (dash[1] == '\0' || n == 0)
            return 0;
        *from = n >= size ? 0 : size - n;
        *to = size - 1;
        return size ? 1 : -1;
    }
    *from = strtoull(v, &end, 10);
    *to = dash[1] ? strtoull(dash + 1, &end, 10) : UINT64_MAX;
    if (*to < *from)
        return 0;
    if (*from >= size)
        return -1;
    if (*to >= size)
        *to = size - 1;
    return 1;
}

/* The fileId after the prefix: 1..FILE_ID_MAX digits, copied to out. */
static bool file_id_of(const h2o_req_t *req, char out[FILE_ID_MAX + 1])
{
    const h2o_iovec_t p = req->path_normalized;
    size_t plen = strlen(API_FILES_PREFIX);
    if (p.len <= plen || p.len - plen > FILE_ID_MAX || memcmp(p.base, API_FILES_PREFIX, plen) != 0)
        return false;
    for (size_t i = plen; i < p.len; i++)
        if (p.base[i] < '0' || p.base[i] > '9')
            return false;
    memcpy(out, p.base + plen, p.len - plen);
    out[p.len - plen] = '\0';
    return true;
}

/* Why r cannot be downloaded by app_id, or NULL. */
static const char *refusal(const store_recording_t *r, const char *app_id, const char *isdp_dir)
{
    size_t n = strlen(isdp_dir);
    if (strcmp(r->app_id, app_id) != 0)
        return "no such file in this app";
    if (r->storage_type == NULL || strcmp(r->storage_type, "ISDP") != 0)
        return "a NAS recording is on the share, not downloadable here (guide 8.5.1)";
    if (r->kind != 0)
        return "snapshots of ISDP storage are sent in the callback, not kept";
    if (r->status == STORE_REC_RECORDING)
        return "still recording: the file is downloadable once it has ended";
    if (r->path == NULL || strncmp(r->path, isdp_dir, n) != 0 || r->path[n] != '/')
        return "the recording has no file";
    return NULL;
}

/* Answers with the file (or one range of it); API_OK, or a code with c->msg. */
static int send_file(api_call_t *c, const char *path, const char *id)
{
    h2o_req_t *req = c->req;
    char v[96];
    struct stat st;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        if (fd >= 0)
            close(fd);
        return api_fail(c, API_FILE_NOT_FOUND, "the file could not be opened");
    }
    uint64_t size = (uint64_t)st.st_size, from = 0, to = size ? size - 1 : 0;
    int ranged = parse_range(req, size, &from, &to);
    if (ranged < 0) {
        close(fd);
        snprintf(v, sizeof(v), "bytes */%" PRIu64, size);
        http_add_header(req, "content-range", v);
        return api_fail(c, API_RANGE_NOT_SATISFIABLE, "the range starts past the end of the %" PRIu64 "-byte file",
                        size);
    }
    file_gen_t *g = h2o_mem_alloc_shared(&req->pool, sizeof(*g), gen_dispose);
    g->super = (h2o_generator_t){gen_proceed, gen_stop};
    g->fd = fd;
    g->off = from;
    g->left = size ? to - from + 1 : 0;
    req->res.status = ranged ? 206 : 200;
    req->res.reason = ranged ? "Partial Content" : "OK";
    req->res.content_length = (size_t)g->left;
    http_add_header(req, "content-type", "video/mp4");
    http_add_header(req, "accept-ranges", "bytes");
    snprintf(v, sizeof(v), "attachment; filename=\"%s.mp4\"", id);
    http_add_header(req, "content-disposition", v);
    if (ranged) {
        snprintf(v, sizeof(v), "bytes %" PRIu64 "-%" PRIu64 "/%" PRIu64, from, to, size);
        http_add_header(req, "content-range", v);
    }
    h2o_start_response(req, &g->super);
    if (http_req_method(req) == HTTP_METHOD_HEAD || g->left == 0)
        h2o_send(req, NULL, 0, H2O_SEND_STATE_FINAL);
    else
        gen_send_next(g, req);
    return API_OK;
}

int api_file_send(api_call_t *c)
{
    char id[FILE_ID_MAX + 1], isdp[1100];
    if (!file_id_of(c->req, id))
        return api_fail(c, API_FILE_NOT_FOUND, "a fileId is the recordingId: 1-%d digits", FILE_ID_MAX);
    store_recording_t r;
    int rc = store_recording_get(c->env->store, id, &r);
    if (rc == IRTC_ENOTFOUND)
        return api_fail(c, API_FILE_NOT_FOUND, "no such file in this app");
    if (rc != IRTC_OK)
        return api_fail(c, API_INTERNAL_ERROR, "cannot read the recording");
    cfg_isdp_dir(c->env->cfg, isdp, sizeof(isdp));
    const char *why = refusal(&r, c->app_id, isdp);
    rc = why == NULL ? send_file(c, r.path, id) : api_fail(c, API_FILE_NOT_FOUND, "%s", why);
    store_recording_dispose(&r);
    return rc;
}
