/*
 * fuzz_rec_path.c — libFuzzer target for record/rec_path's pure half: the
 * recordPath and fileName templates a REST caller sends, the variables a
 * join token brings (appId, channelId) and the join of a base (an operator's
 * recording.nas_base_path) with them.  Requires what rec_path.h promises: an
 * accepted directory is relative, normalised and cannot climb out of the
 * base; an accepted name is one plain component; a join stays NUL-terminated
 * inside its buffer and says when it was cut short.  Found the out-of-bounds
 * read in rec_path_join (regression: corpus/rec_path/long_base_join).
 * Single-threaded; a failed check aborts.
 */
#include "record/rec_path.h"
#include "core/common.h"
#include "fuzz/fuzz.h"

#include <string.h>

static void check_dir(const char *d)
{
    CHECK(d[0] != '/' && strstr(d, "//") == NULL && strchr(d, '\\') == NULL);
    size_t n = strlen(d);
    CHECK(n < REC_PATH_MAX + 1 && (n == 0 || d[n - 1] != '/'));
    for (const char *p = d; *p;) {
        size_t k = strcspn(p, "/");
        CHECK(k > 0 && k <= 255);
        CHECK(!(k == 1 && p[0] == '.') && !(k == 2 && p[0] == '.' && p[1] == '.'));
        for (size_t i = 0; i < k; i++)
            CHECK((unsigned char)p[i] >= 0x20 && p[i] != 0x7f);
        p += k + (p[k] == '/');
    }
}

static void check_name(const char *s)
{
    size_t n = strlen(s);
    CHECK(n >= 1 && n <= REC_NAME_MAX && s[0] != '.' && strchr(s, '/') == NULL && strchr(s, '\\') == NULL);
    for (size_t i = 0; i < n; i++)
        CHECK((unsigned char)s[i] >= 0x20 && s[i] != 0x7f);
}

/* The join into cap bytes is the full join cut to cap - 1 bytes (give or
 * take the trailing '/' the full join drops), and says whether it was cut. */
static void check_join(const char *base, const char *rel, const char *name, size_t cap)
{
    static char full[4 * 65536 + 8];
    char *out = malloc(cap);
    CHECK(out != NULL);
    CHECK(rec_path_join(full, sizeof(full), base, rel, name) == IRTC_OK);
    int rc = rec_path_join(out, cap, base, rel, name);
    size_t n = strnlen(out, cap);
    CHECK(n < cap);
    CHECK(memcmp(out, full, n) == 0);
    if (rc == IRTC_OK)
        CHECK(strcmp(out, full) == 0);
    else
        CHECK(rc == IRTC_EINVAL && n == cap - 1);
    free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_in_t in = fuzz_in(data, size);
    size_t cap = 1 + fuzz_u16(&in) % 3000;
    uint64_t when = (uint64_t)fuzz_u16(&in) * 86400000ull;
    const uint8_t *p[5] = {0};
    size_t n[5] = {0};
    for (int i = 0; i < 5; i++)
        if (!fuzz_piece(&in, &p[i], &n[i]))
            break;
    char *app = fuzz_dup(p[0], n[0], true), *chan = fuzz_dup(p[1], n[1], true);
    char *path = fuzz_dup(p[2], n[2], false), *name = fuzz_dup(p[3], n[3], false);
    char *base = fuzz_dup(p[4], n[4], true);
    rec_path_vars_t v = {app, chan, when};

    char dir[REC_PATH_MAX + 1], file[REC_NAME_MAX + 1], exp[REC_PATH_MAX + 1];
    const char *why = NULL;
    int rc = rec_path_expand(path, n[2], &v, exp, IRTC_MIN(cap, sizeof(exp)), &why);
    CHECK(rc == IRTC_OK ? strlen(exp) < IRTC_MIN(cap, sizeof(exp)) : (rc == IRTC_EINVAL && why != NULL));
    rc = rec_path_dir(path, n[2], &v, dir, sizeof(dir), &why);
    if (rc == IRTC_OK)
        check_dir(dir);
    else
        CHECK(rc == IRTC_EINVAL && why != NULL);
    int rn = rec_path_name(name, n[3], "{channel_id}_{file_start_time}", &v, file, sizeof(file), &why);
    if (rn == IRTC_OK)
        check_name(file);
    else
        CHECK(rn == IRTC_EINVAL && why != NULL);
    /* The base is whatever the operator wrote (no NUL inside: it came from YAML). */
    base[strnlen(base, n[4])] = '\0';
    check_join(base, rc == IRTC_OK ? dir : chan, rn == IRTC_OK ? file : app, cap);
    free(app);
    free(chan);
    free(path);
    free(name);
    free(base);
    return 0;
}
